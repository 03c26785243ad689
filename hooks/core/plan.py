"""Plans: what the shell must do to Kafka, as immutable, ordered values.

A plan is a tuple of small actions, each naming the object it changes and
the value it goes from and to, plus the refusals: the changes that were
asked for and will not be made, each with the reason. The same inputs always
give the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Refusal:
    """A requested change that will not be made, and why (a condition reason)."""

    reason: str
    message: str


@dataclass(frozen=True)
class CreateTopic:
    topic: str
    partitions: int | None
    replication_factor: int | None
    config: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"create topic {self.topic}"


@dataclass(frozen=True)
class CreatePartitions:
    topic: str
    current: int
    desired: int

    def describe(self) -> str:
        return f"grow topic {self.topic} from {self.current} to {self.desired} partitions"


@dataclass(frozen=True)
class AlterConfig:
    topic: str
    key: str
    op: Literal["set", "delete"]
    current: str | None
    desired: str | None

    def describe(self) -> str:
        if self.op == "delete":
            return f"revert {self.key} of topic {self.topic} to its default"
        return f"set {self.key} of topic {self.topic} from {self.current!r} to {self.desired!r}"


@dataclass(frozen=True)
class DeleteTopic:
    topic: str
    topic_id: str | None

    def describe(self) -> str:
        return f"delete topic {self.topic}"


TopicAction = CreateTopic | CreatePartitions | AlterConfig | DeleteTopic


@dataclass(frozen=True)
class Outcome:
    """What happened to one action: ``error`` is None when it succeeded."""

    action: object
    error: str | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
