"""Bootstrap discovery for MSK clusters named by ARN.

A placeholder until MSK lookup lands: it refuses clearly instead of guessing.
"""

from __future__ import annotations

from ..core.specs import MskSource
from ..errors import KafkaAccessError
from .budget import Budget


class MskLookupError(KafkaAccessError):
    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


class MskResolver:
    def bootstrap_servers(self, source: MskSource, budget: Budget) -> str:
        # Missing: the MSK API lookup; clusters by ARN are refused until it exists.
        raise MskLookupError("MskUnsupported", f"looking up {source.cluster_arn} is not built yet")

    def forget(self, source: MskSource) -> None:
        return None
