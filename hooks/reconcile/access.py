"""KafkaAccess hooks: customize, sync and finalize.

A KafkaAccess talks to no broker: its children do. Sync renders the children
through the composition and sums up their status; a render that fails answers
with the observed children, unchanged. Finalize lets Metacontroller delete
the children and reports done once none is left.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..core import access as accesses
from ..core import conditions as cond
from ..core.request import Parent, SyncRequest
from .common import (
    RESYNC_ERROR,
    RESYNC_HEALTHY,
    RESYNC_WAITING,
    Env,
    answer,
    bind,
    previous_condition,
)

KIND = accesses.KIND


def customize(parent: Parent, env: Env) -> dict[str, Any]:
    return {"relatedResources": accesses.related_rules(parent)}


def sync(request: SyncRequest, env: Env) -> dict[str, Any]:
    request = _sane_status(request)
    parent, now = request.parent, env.clock()
    log = bind(env.logger, parent)
    if request.finalizing:
        return _finalize(request, now, log)

    outcome = accesses.render(request)
    if isinstance(outcome, accesses.Failure):
        shown = accesses.kept_children(request)
    else:
        shown = accesses.children(parent, outcome)
        _log_changes(log, request, shown)
    fields, conditions = accesses.status(request, shown, outcome)
    if isinstance(outcome, accesses.Failure):
        # Once per new failure, not on every resync that finds the same one.
        before = previous_condition(parent, "Synced")
        level = logging.DEBUG if before == conditions[1] else logging.WARNING
        log.log(
            level,
            "render failed; the observed children are kept",
            extra={"reason": outcome.reason, "kept": len(shown), "error": outcome.message},
        )
    ready = conditions[0].status == "True"
    resync: float | None = RESYNC_HEALTHY if ready else RESYNC_ERROR
    if isinstance(outcome, accesses.Failure):
        resync = None  # a change to the spec, composition or Secret syncs again
    return answer(parent, fields, conditions, now, resync, children=shown)


def _sane_status(request: SyncRequest) -> SyncRequest:
    """The request with the parent's ``status.conditions`` cut to the entries that are objects.

    Status is written by the hook, but anyone with access to the status
    subresource may write junk there; it counts as no previous condition.
    """
    status = request.parent.status
    conditions = status.get("conditions")
    if conditions is None or (
        isinstance(conditions, list) and all(isinstance(c, Mapping) for c in conditions)
    ):
        return request
    kept = dict(status)
    if isinstance(conditions, list):
        kept["conditions"] = [c for c in conditions if isinstance(c, Mapping)]
    else:
        del kept["conditions"]
    return dataclasses.replace(request, parent=dataclasses.replace(request.parent, status=kept))


def _finalize(request: SyncRequest, now: str, log: Any) -> dict[str, Any]:
    left = sum(len(request.children_of(group)) for group in request.children)
    fields = accesses.remembered(request)
    if left:
        log.info("deleting the children", extra={"children": left})
        waiting = [
            cond.not_ready("Deleting", f"waiting for {left} child(ren) to be deleted"),
            cond.synced(),
        ]
        return answer(request.parent, fields, waiting, now, RESYNC_WAITING, False)
    return answer(request.parent, fields, [], now, None, True)


def _log_changes(log: Any, request: SyncRequest, shown: Sequence[Mapping[str, Any]]) -> None:
    """One line per child added, changed or removed; nothing for an unchanged render."""
    observed = {
        (str(obj.get("kind")), key): obj
        for group in request.children
        for key, obj in request.children_of(group).items()
        if isinstance(obj, Mapping)
    }
    wanted = set()
    for child in shown:
        meta = child["metadata"]
        key = (child["kind"], f"{meta['namespace']}/{meta['name']}")
        wanted.add(key)
        before = observed.get(key)
        if before is None:
            log.info("child added", extra={"child": f"{key[0]} {key[1]}"})
        elif not accesses.applied(child["spec"], before.get("spec")):
            log.info("child changed", extra={"child": f"{key[0]} {key[1]}"})
    for kind, name in sorted(set(observed) - wanted):
        log.info("child removed", extra={"child": f"{kind} {name}"})
