"""What every reconciler shares: its environment and the shape of an answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ..core import conditions as cond
from ..core.cluster import Connection
from ..core.request import Parent
from ..shell.budget import Budget

RESYNC_HEALTHY = 60.0
RESYNC_ERROR = 15.0
RESYNC_WAITING = 2.0


class PortFactory(Protocol):
    def port(self, connection: Connection) -> Any: ...


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Env:
    """The shell's dependencies, built once by the app factory."""

    clients: PortFactory
    operator_namespace: str = "kafka-access"
    budget_seconds: float = 7.0
    clock: Callable[[], str] = _utc_now
    msk: Any = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("kafka_access"))
    metrics: Any = None

    def budget(self) -> Budget:
        return Budget(self.budget_seconds)


def answer(
    parent: Parent,
    fields: Mapping[str, Any],
    conditions: Sequence[cond.Condition],
    now: str,
    resync: float | None,
    finalized: bool | None = None,
    children: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build a sync or finalize answer that carries the whole status."""
    status = dict(fields)
    status["conditions"] = cond.render(
        conditions, parent.status.get("conditions"), parent.generation, now
    )
    if parent.generation is not None:
        status["observedGeneration"] = parent.generation
    body: dict[str, Any] = {"status": status, "children": list(children)}
    if resync is not None:
        body["resyncAfterSeconds"] = resync
    if finalized is not None:
        body["finalized"] = finalized
    return body


def previous_condition(parent: Parent, kind: str) -> cond.Condition | None:
    """The parent's current condition of ``kind``, to carry when nothing was observed."""
    history = parent.status.get("conditions")
    for item in history if isinstance(history, list) else ():
        if isinstance(item, Mapping) and item.get("type") == kind:
            status = item.get("status")
            if status in ("True", "False", "Unknown"):
                return cond.Condition(
                    kind, status, str(item.get("reason", "")), str(item.get("message", ""))
                )
    return None


class BoundLogger(logging.LoggerAdapter):
    """A logger with the parent's kind, namespace and name bound to every line.

    ``applied`` and ``refused`` also count the change in the app's metrics.
    """

    metrics: Any = None

    def process(self, msg: str, kwargs: Any) -> tuple[str, Any]:
        extra = dict(self.extra or {})
        extra.update(kwargs.pop("extra", {}))
        kwargs["extra"] = {"fields": extra}
        return msg, kwargs

    def applied(self, change: str) -> None:
        self.info("applied change", extra={"change": change})
        if self.metrics is not None:
            self.metrics.changes.labels((self.extra or {}).get("kind")).inc()

    def refused(self, change: str, reason: str, error: str) -> None:
        self.warning(
            "change refused by Kafka", extra={"change": change, "reason": reason, "error": error}
        )
        self.kafka_error(reason)

    def kafka_error(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.kafka_errors.labels((self.extra or {}).get("kind"), reason).inc()


def bind(env_or_logger: Any, parent: Parent) -> BoundLogger:
    """Bind the parent's identity; pass the ``Env`` to count metrics too."""
    logger = getattr(env_or_logger, "logger", env_or_logger)
    bound = BoundLogger(
        logger, {"kind": parent.kind, "namespace": parent.namespace, "name": parent.name}
    )
    bound.metrics = getattr(env_or_logger, "metrics", None)
    return bound
