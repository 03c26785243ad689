"""The project's own errors, so callers never catch a library's types."""

from __future__ import annotations


class KafkaAccessError(Exception):
    """Base of every error kafka-access raises on purpose."""


class KafkaUnavailable(KafkaAccessError):
    """The brokers did not answer in time, or refused the TLS handshake."""

    reason = "ClusterUnreachable"


class KafkaRequestError(KafkaAccessError):
    """The brokers answered a request with an error."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)

    @property
    def reason(self) -> str:
        return (
            "".join(part.capitalize() for part in self.code.strip("_").lower().split("_"))
            or "KafkaError"
        )
