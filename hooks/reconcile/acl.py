"""KafkaACL hooks: customize, sync and finalize."""

from __future__ import annotations

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


def customize(parent: Parent, env: Env) -> dict[str, Any]:
    """Ask for the KafkaCluster, its credentials and, with principalFrom, the client's Secret."""
    ref = parent.spec.get("clusterRef")
    name = ref.get("name") if isinstance(ref, dict) else None
    rules = []
    if isinstance(name, str) and name:
        rules = clusters.related_rules(name, env.operator_namespace)
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
    if conditions[0].reason == "Propagating":
        resync = RESYNC_WAITING
    elif problem is not None or any(not o.ok for o in outcomes):
        resync = RESYNC_ERROR
    else:
        resync = RESYNC_HEALTHY  # a refused spec waits for a new spec, not for time
    return answer(parent, fields, conditions, now, resync)


def _observe(port: Any, filters: tuple[BindingFilter, ...], budget: Budget) -> frozenset:
    if not filters:
        return frozenset()
    return frozenset().union(*port.describe_acls(list(filters), budget))


def _apply(
    steps: tuple[tuple[AclAction, ...], ...], port: Any, budget: Budget, log: Any
) -> tuple[Outcome, ...]:
    """Apply each step as one request; a step with a failure stops the later ones.

    So no binding is written before the operator's grants exist, and nothing
    is deleted before every new binding exists.
    """
    outcomes: list[Outcome] = []
    for step in steps:
        call = port.create_acls if isinstance(step[0], CreateBinding) else port.delete_acls
        results = call([action.binding for action in step], budget)
        for action in step:
            error = results[action.binding]
            if error is None:
                log.applied(action.describe())
                outcomes.append(Outcome(action))
            else:
                log.refused(action.describe(), error.reason, str(error))
                outcomes.append(Outcome(action, str(error), error.reason))
        if any(not o.ok for o in outcomes):
            break
    return tuple(outcomes)


def _finalize(
    request: SyncRequest, spec: acls.AclSpec, memory: acls.Memory, env: Env, now: str, log: Any
) -> dict[str, Any]:
    """Delete the bindings this resource applied, unless Orphan; done once none is listed."""
    parent = request.parent
    fields = acls.remembered_status(parent.status)
    if spec.deletion_policy == "Orphan" or not memory.bindings:
        return answer(parent, fields, [], now, None, True)
    connection = clusters.connection(request, spec.cluster, env.operator_namespace)
    if isinstance(connection, Refusal):
        return _unobserved(parent, now, connection, True)

    port = env.clients.port(connection)
    budget = env.budget()
    patterns = {binding.pattern for binding in memory.bindings}
    grants = (
        acls.operator_grants(patterns, connection.operator_principal)
        if connection.ensure_operator_acls
        else frozenset()
    )
    filters = acls.filters((), memory.bindings, None)
    deletions = acls.finalize_plan(memory, grants)
    try:
        outcomes = _apply((deletions,) if deletions else (), port, budget, log)
        remaining = _observe(port, filters, budget)
    except (KafkaUnavailable, KafkaRequestError) as error:
        log.kafka_error(error.reason)
        return _unobserved(parent, now, Refusal(error.reason, str(error)), True)

    fields = acls.finalize_status(memory, outcomes, remaining, parent.status)
    failures = [o for o in outcomes if not o.ok]
    if failures:
        message = "; ".join(m for _, m in acls.grouped(failures))
        problem = [
            cond.not_ready("Deleting", message),
            cond.not_synced(failures[0].code or "KafkaError", message),
        ]
        return answer(parent, fields, problem, now, RESYNC_ERROR, False)
    left = {action.binding for action in deletions} & remaining
    if not left:
        return answer(parent, fields, [], now, None, True)
    waiting = [
        cond.not_ready("Deleting", f"waiting for the brokers to drop {len(left)} binding(s)"),
        cond.synced(),
    ]
    return answer(parent, fields, waiting, now, RESYNC_WAITING, False)


def _unobserved(parent: Parent, now: str, problem: Refusal, finalizing: bool) -> dict[str, Any]:
    """An answer for a sync that could not observe the bindings: keep what is remembered."""
    fields = acls.remembered_status(parent.status)
    previous = previous_condition(parent, "Ready")
    ready = (
        previous
        if problem.reason == "InvalidSpec" and previous
        else cond.not_ready(problem.reason, problem.message)
    )
    conditions = [ready, cond.not_synced(problem.reason, problem.message)]
    resync = None if problem.reason == "InvalidSpec" else RESYNC_ERROR
    if finalizing:
        return answer(parent, fields, conditions, now, resync or RESYNC_ERROR, False)
    return answer(parent, fields, conditions, now, resync)
