"""Status conditions that follow the Kubernetes conventions.

A condition keeps the ``lastTransitionTime`` it had while its status stays
the same, so an unchanged world gives a byte-identical status and
Metacontroller has nothing to write. The time of a transition comes from the
shell as ``now``; the core reads no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    type: str
    status: Status
    reason: str
    message: str


def ready(reason: str = "Available", message: str = "") -> Condition:
    return Condition("Ready", "True", reason, message)


def not_ready(reason: str, message: str) -> Condition:
    return Condition("Ready", "False", reason, message)


def synced(reason: str = "ReconcileSuccess", message: str = "") -> Condition:
    return Condition("Synced", "True", reason, message)


def not_synced(reason: str, message: str) -> Condition:
    return Condition("Synced", "False", reason, message)


def render(
    conditions: Sequence[Condition],
    previous: Sequence[Mapping[str, Any]] | None,
    generation: int | None,
    now: str,
) -> list[dict[str, Any]]:
    """Return the conditions as status dicts, sorted by type.

    ``previous`` is the parent's current ``status.conditions``; missing or
    malformed entries count as no previous condition.
    """
    history = previous if isinstance(previous, (list, tuple)) else ()
    before = {
        item.get("type"): item
        for item in history
        if isinstance(item, Mapping) and isinstance(item.get("type"), str)
    }
    out = []
    for condition in sorted(conditions, key=lambda c: c.type):
        old = before.get(condition.type)
        changed = old is None or old.get("status") != condition.status
        when = old.get("lastTransitionTime") if not changed and old else None
        entry: dict[str, Any] = {
            "type": condition.type,
            "status": condition.status,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": when if isinstance(when, str) else now,
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        out.append(entry)
    return out
