"""KafkaACL hooks: customize, sync and finalize."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import acl as acls
from ..core import cluster as clusters
from ..core import conditions as cond
from ..core.acl import AclAction, BindingFilter, CreateBinding
from ..core.plan import Outcome, Refusal
from ..core.request import Parent, SyncRequest
from ..core.specs import SpecError
from ..errors import KafkaRequestError, KafkaUnavailable
from ..shell.budget import Budget
from .common import (
    RESYNC_ERROR,
    RESYNC_HEALTHY,
    RESYNC_WAITING,
    Env,
    answer,
    bind,
    previous_condition,
)

KIND = "KafkaACL"
# Refusals of the spec itself: they wait for a new spec, not for time.
SPEC_REFUSALS = ("InvalidSpec", "ClusterChangeRefused")


def customize(parent: Parent, env: Env) -> dict[str, Any]:
    """Ask for the KafkaCluster, its credentials and, with principalFrom, the client's Secret.

    When status records another cluster than the spec names (a refused
    clusterRef change), that cluster is asked for too: a finalize cleans up
    there.
    """
    ref = parent.spec.get("clusterRef")
    name = ref.get("name") if isinstance(ref, dict) else None
    recorded = acls.Memory.from_status(parent.status).cluster
    rules = []
    for cluster in dict.fromkeys(c for c in (name, recorded) if isinstance(c, str) and c):
        rules += clusters.related_rules(cluster, env.operator_namespace)
    secret = acls.principal_secret(parent.spec)
    if secret and parent.namespace:
        rules.append(
            {
                "apiVersion": "v1",
                "resource": "secrets",
                "namespace": parent.namespace,
                "names": [secret],
            }
        )
    return {"relatedResources": rules}


def sync(request: SyncRequest, env: Env) -> dict[str, Any]:
    parent, now = request.parent, env.clock()
    log = bind(env, parent)
    memory = acls.Memory.from_status(parent.status)
    try:
        spec = acls.parse_acl(parent.spec)
    except SpecError as error:
        if request.finalizing and not memory.bindings:
            return answer(parent, acls.remembered_status(parent.status), [], now, None, True)
        return _unobserved(parent, now, Refusal("InvalidSpec", str(error)), request.finalizing)
    if request.finalizing:
        return _finalize(request, spec, memory, env, now, log)

    moved = acls.cluster_change(spec, memory)
    if moved is not None:
        return _unobserved(parent, now, moved, False)
    principal = acls.resolve_principal(spec, request, parent.namespace)
    if isinstance(principal, Refusal):
        return _unobserved(parent, now, principal, False)
    connection = clusters.connection(request, spec.cluster, env.operator_namespace)
    if isinstance(connection, Refusal):
        return _unobserved(parent, now, connection, False)

    port = env.clients.port(connection)
    budget = env.budget()
    operator = connection.operator_principal
    ensure = connection.ensure_operator_acls
    wanted = acls.desired(spec, principal)
    filters = acls.filters(wanted, memory.bindings, operator if ensure else None)
    try:
        observed = _observe(port, filters, budget)
    except (KafkaUnavailable, KafkaRequestError) as error:
        log.kafka_error(error.reason)
        return _unobserved(parent, now, Refusal(error.reason, str(error)), False)

    plan = acls.plan(spec, principal, observed, memory, operator, ensure)
    outcomes = _apply(plan.steps, port, budget, log)
    problem = None
    if any(o.ok for o in outcomes):
        try:
            observed = _observe(port, filters, budget)
        except (KafkaUnavailable, KafkaRequestError) as error:
            # The changes went through; the next sync sees what they left.
            log.kafka_error(error.reason)
            problem = Refusal(error.reason, f"listing the bindings after the changes: {error}")
            observed = acls.expected(observed, outcomes)

    fields, conditions = acls.status(acls.AclState(plan, outcomes, observed, memory, problem))
    _log_refusals(log, outcomes, conditions, parent)
    if conditions[0].reason == "Propagating":
        resync = RESYNC_WAITING
    elif problem is not None or any(not o.ok for o in outcomes):
        resync = RESYNC_ERROR
    else:
        resync = RESYNC_HEALTHY  # a refused spec waits for a new spec, not for time
    return answer(parent, fields, conditions, now, resync)


def _observe(port: Any, filters: Sequence[BindingFilter], budget: Budget) -> frozenset:
    if not filters:
        return frozenset()
    return frozenset().union(*port.describe_acls(list(filters), budget))


def _apply(
    steps: Sequence[Sequence[AclAction]], port: Any, budget: Budget, log: Any
) -> tuple[Outcome, ...]:
    """Apply each step as one request; a step with a failure stops the later ones.

    So no binding is written before the operator's grants exist, and nothing
    is deleted before every new binding exists. A request that fails as a
    whole fails each of its changes, so the changes of earlier steps are
    still reported and remembered. Refusals are logged by ``_log_refusals``
    once the status they lead to is known.
    """
    outcomes: list[Outcome] = []
    for step in steps:
        call = port.create_acls if isinstance(step[0], CreateBinding) else port.delete_acls
        bindings = [action.binding for action in step]
        try:
            results = call(bindings, budget)
        except (KafkaUnavailable, KafkaRequestError) as failed:
            results = {binding: failed for binding in bindings}
        for action in step:
            error = results.get(action.binding, _NO_ANSWER)
            if error is None:
                log.applied(action.describe())
                outcomes.append(Outcome(action))
            else:
                outcomes.append(Outcome(action, str(error), error.reason))
        if any(not o.ok for o in outcomes):
            break
    return tuple(outcomes)


_NO_ANSWER = KafkaRequestError("UNKNOWN", "the admin client gave no answer for this change")


def _log_refusals(
    log: Any,
    outcomes: Sequence[Outcome],
    conditions: Sequence[cond.Condition],
    parent: Parent,
) -> None:
    """One line per refused change: a warning the first time, debug while nothing changes.

    A refusal repeats on every resync until someone acts; when the Synced
    condition it leads to is the one status already shows, it is no news.
    """
    failures = [o for o in outcomes if not o.ok]
    if not failures:
        return
    synced = next((c for c in conditions if c.type == "Synced"), None)
    repeated = synced is not None and previous_condition(parent, "Synced") == synced
    for outcome in failures:
        change, reason = _describe(outcome.action), outcome.code or "KafkaError"
        if repeated:
            log.debug(
                "change refused by Kafka again",
                extra={"change": change, "reason": reason, "error": outcome.error},
            )
            log.kafka_error(reason)
        else:
            log.refused(change, reason, outcome.error or "")


def _describe(action: object) -> str:
    describe = getattr(action, "describe", None)
    return describe() if callable(describe) else str(action)


def _finalize(
    request: SyncRequest, spec: acls.AclSpec, memory: acls.Memory, env: Env, now: str, log: Any
) -> dict[str, Any]:
    """Delete the bindings this resource applied, unless Orphan; done once none is listed.

    Then the operator's topic grants on those patterns go too, when nothing
    needs them any more (see ``acls.stale_grants``). Everything happens on
    the cluster status records, whatever the spec names now.
    """
    parent = request.parent
    fields = acls.remembered_status(parent.status)
    if spec.deletion_policy == "Orphan" or not (memory.bindings or memory.grants):
        return answer(parent, fields, [], now, None, True)
    connection = clusters.connection(request, memory.cluster_of(spec), env.operator_namespace)
    if isinstance(connection, Refusal):
        return _unobserved(parent, now, connection, True)
    operator = connection.operator_principal
    ensure = connection.ensure_operator_acls
    if not memory.bindings and not ensure:
        return answer(parent, fields, [], now, None, True)

    port = env.clients.port(connection)
    budget = env.budget()
    patterns = {binding.pattern for binding in memory.bindings}
    grants = acls.operator_grants(patterns, operator) if ensure else frozenset()
    filters = acls.filters((), memory.bindings, None)
    deletions = acls.finalize_plan(memory, grants)
    try:
        outcomes = _apply((deletions,) if deletions else (), port, budget, log)
        remaining = _observe(port, filters, budget)
    except (KafkaUnavailable, KafkaRequestError) as error:
        log.kafka_error(error.reason)
        return _unobserved(parent, now, Refusal(error.reason, str(error)), True)

    fields = acls.finalize_status(memory, outcomes, remaining, parent.status)
    if any(not o.ok for o in outcomes):
        return _finalize_failed(parent, fields, outcomes, now, log)
    left = {action.binding for action in deletions} & remaining
    if left:
        waiting = [
            cond.not_ready("Deleting", f"waiting for the brokers to drop {len(left)} binding(s)"),
            cond.synced(),
        ]
        return answer(parent, fields, waiting, now, RESYNC_WAITING, False)
    if not ensure:
        return answer(parent, fields, [], now, None, True)

    # This resource's bindings are gone; now the operator's grants.
    try:
        cleanup = _remove_stale_grants(port, budget, log, memory, operator)
    except (KafkaUnavailable, KafkaRequestError) as error:
        log.kafka_error(error.reason)
        fields["operatorBindings"] = acls.as_status(acls.pending_grants(memory, operator, ()))
        problem = Refusal(error.reason, f"checking the operator's grants: {error}")
        return _unobserved(parent, now, problem, True, fields)
    if cleanup:
        fields["operatorBindings"] = acls.as_status(acls.pending_grants(memory, operator, cleanup))
    if any(not o.ok for o in cleanup):
        return _finalize_failed(parent, fields, cleanup, now, log)
    return answer(parent, fields, [], now, None, True)


def _remove_stale_grants(
    port: Any, budget: Budget, log: Any, memory: acls.Memory, operator: str
) -> tuple[Outcome, ...]:
    """Remove the operator's grants on this resource's patterns that nothing needs.

    Other KafkaACLs on the pattern cannot be seen, only their bindings: one
    that creates a binding between the check and the removal finds the
    grants gone. So the bindings are read again after a removal, and the
    grants put back when one appeared; should even that miss it, that
    KafkaACL's next sync puts them back (the operator keeps its Cluster
    grants, and with them the right to write ACLs).
    """
    patterns = acls.grant_patterns(memory)
    if not patterns:
        return ()
    filters = acls.grant_filters(patterns)
    listed = _observe(port, filters, budget)
    removals = acls.stale_grants(patterns, listed, operator, memory.bindings)
    if not removals:
        return ()
    outcomes = _apply((removals,), port, budget, log)
    removed = [action.binding for action in removals[: len(outcomes)] if _ok(action, outcomes)]
    if removed:
        listed = _observe(port, filters, budget)
        restore = acls.grants_to_restore(removed, listed, operator, memory.bindings)
        if restore:
            log.info(
                "a binding appeared while the operator's grants went; putting them back",
                extra={"change": f"{len(restore)} grant(s)"},
            )
            outcomes += _apply((restore,), port, budget, log)
    return outcomes


def _ok(action: AclAction, outcomes: Sequence[Outcome]) -> bool:
    return any(o.action == action and o.ok for o in outcomes)


def _finalize_failed(
    parent: Parent, fields: dict[str, Any], outcomes: Sequence[Outcome], now: str, log: Any
) -> dict[str, Any]:
    failures = [o for o in outcomes if not o.ok]
    message = "; ".join(m for _, m in acls.grouped(failures))
    problem = [
        cond.not_ready("Deleting", message),
        cond.not_synced(failures[0].code or "KafkaError", message),
    ]
    _log_refusals(log, outcomes, problem, parent)
    return answer(parent, fields, problem, now, RESYNC_ERROR, False)


def _unobserved(
    parent: Parent,
    now: str,
    problem: Refusal,
    finalizing: bool,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An answer for a sync that could not observe the bindings: keep what is remembered."""
    if fields is None:
        fields = acls.remembered_status(parent.status)
    previous = previous_condition(parent, "Ready")
    ready = (
        previous
        if problem.reason == "InvalidSpec" and previous
        else cond.not_ready(problem.reason, problem.message)
    )
    conditions = [ready, cond.not_synced(problem.reason, problem.message)]
    resync = None if problem.reason in SPEC_REFUSALS else RESYNC_ERROR
    if finalizing:
        return answer(parent, fields, conditions, now, resync or RESYNC_ERROR, False)
    return answer(parent, fields, conditions, now, resync)
