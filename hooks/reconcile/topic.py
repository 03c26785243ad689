"""KafkaTopic hooks: customize, sync and finalize."""

from __future__ import annotations

import time
from typing import Any

from ..core import cluster as clusters
from ..core import conditions as cond
from ..core import topic as topics
from ..core.clusterkinds import topic_rules
from ..core.plan import AlterConfig, CreatePartitions, CreateTopic, DeleteTopic, Outcome, Refusal
from ..core.request import Parent, SyncRequest
from ..core.specs import SpecError, TopicSpec, parse_topic
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

KIND = "KafkaTopic"


def customize(parent: Parent, env: Env) -> dict[str, Any]:
    """Ask for the KafkaCluster and its credentials Secret.

    Also the cluster recorded in status, where the topic lives, when the spec
    now names another; nothing when neither names a cluster.
    """
    ref = parent.spec.get("clusterRef")
    names = [ref.get("name") if isinstance(ref, dict) else None]
    names.append(topics.Memory.from_status(parent.status).cluster)
    rules = []
    for name in dict.fromkeys(n for n in names if isinstance(n, str) and n):
        rules.extend(clusters.related_rules(name, env.operator_namespace))
    return {"relatedResources": rules}


def sync(request: SyncRequest, env: Env) -> dict[str, Any]:
    parent, now = request.parent, env.clock()
    log = bind(env, parent)
    memory = topics.Memory.from_status(parent.status)
    try:
        spec = parse_topic(parent.spec, parent.name)
    except SpecError as error:
        if request.finalizing and not memory.topic_id and not memory.pending_creation:
            return answer(
                parent, topics.remembered_status(parent.status, None), [], now, None, True
            )
        return _unobserved(parent, now, Refusal("InvalidSpec", str(error)), request.finalizing)

    moved = topics.cluster_change(spec, memory)
    if moved is not None and not request.finalizing:
        return _unobserved(parent, now, moved, False, spec)
    cluster = topics.target_cluster(spec, memory)
    connection = clusters.connection(request, cluster, env.operator_namespace)
    if isinstance(connection, Refusal):
        if request.finalizing and not memory.topic_id and not memory.pending_creation:
            return answer(
                parent,
                topics.remembered_status(parent.status, spec.topic_name),
                [],
                now,
                None,
                True,
            )
        return _unobserved(parent, now, connection, request.finalizing, spec)

    port = env.clients.port(connection)
    budget = env.budget()
    name = topics.target_name(spec, memory)
    try:
        observed = port.describe_topic(name, budget)
        if request.finalizing:
            return _finalize(parent, spec, observed, memory, port, budget, now, log)
        plan = topics.plan(spec, observed, memory, topic_rules(connection.cluster_type))
        outcomes = _apply(plan, port, budget, log)
    except (KafkaUnavailable, KafkaRequestError) as error:
        log.kafka_error(error.reason)
        return _unobserved(parent, now, Refusal(error.reason, str(error)), request.finalizing, spec)
    if any(o.ok for o in outcomes):
        try:
            observed = _observe_after(port, name, budget, outcomes)
        except (KafkaUnavailable, KafkaRequestError) as error:
            # The changes went through; what they left is seen next sync.
            log.kafka_error(error.reason)
            if plan.ownership == "create":
                observed = None

    fields, conditions = topics.status(topics.TopicState(spec, plan, outcomes, observed), memory)
    failed = any(not o.ok for o in outcomes) or plan.ownership == "foreign"
    waiting = fields.get("pendingCreation") is True
    resync = RESYNC_WAITING if waiting else RESYNC_ERROR if failed else RESYNC_HEALTHY
    return answer(parent, fields, conditions, now, resync)


def _apply(plan: topics.TopicPlan, port: Any, budget: Budget, log: Any) -> tuple[Outcome, ...]:
    """Apply actions in order; config changes go to Kafka as one request.

    When the brokers stop answering, the rest is not attempted: what was
    applied so far is still reported, so a created topic stays ours.
    """
    outcomes: list[Outcome] = []
    steps: list[Any] = [a for a in plan.actions if not isinstance(a, AlterConfig)]
    config = [a for a in plan.actions if isinstance(a, AlterConfig)]
    if config:
        steps.append(config)
    for step in steps:
        if isinstance(step, list):
            result = _run(step, lambda: port.alter_topic_config(plan.topic, config, budget), log)
            outcomes.extend(Outcome(change, result.error, result.code) for change in step)
        else:
            result = _run(step, lambda a=step: _call(port, a, budget), log)
            outcomes.append(result)
        if result.code == KafkaUnavailable.reason:
            break
    return tuple(outcomes)


def _call(port: Any, action: Any, budget: Budget) -> None:
    if isinstance(action, CreateTopic):
        port.create_topic(
            action.topic, action.partitions, action.replication_factor, dict(action.config), budget
        )
    elif isinstance(action, CreatePartitions):
        port.create_partitions(action.topic, action.desired, budget)
    elif isinstance(action, DeleteTopic):
        port.delete_topic(action.topic, budget)
    else:  # pragma: no cover - the planner makes no other actions
        raise TypeError(f"unknown action {action!r}")


def _run(action: Any, call: Any, log: Any) -> Outcome:
    try:
        call()
    except KafkaRequestError as error:
        log.warning(
            "change refused by Kafka", extra={"change": _describe(action), "error": str(error)}
        )
        return Outcome(action, str(error), error.reason)
    except KafkaUnavailable as error:
        log.kafka_error(error.reason)
        return Outcome(action, str(error), error.reason)
    for item in action if isinstance(action, list) else [action]:
        log.applied(item.describe())
    return Outcome(action)


def _describe(action: Any) -> str:
    if isinstance(action, list):
        return "; ".join(item.describe() for item in action)
    return action.describe()


def _observe_after(port: Any, name: str, budget: Budget, outcomes: tuple[Outcome, ...]) -> Any:
    """Describe again after changes; a new topic may take a moment to appear."""
    created = any(o.ok and isinstance(o.action, CreateTopic) for o in outcomes)
    while True:
        observed = port.describe_topic(name, budget)
        if observed is not None or not created or budget.remaining() < 1.0:
            return observed
        time.sleep(0.1)


def _finalize(parent, spec: TopicSpec, observed, memory, port, budget, now, log) -> dict[str, Any]:
    fields = topics.remembered_status(parent.status, spec.topic_name)
    deletions = topics.finalize_plan(spec, observed, memory)
    if not deletions:
        reason = "Orphaned" if spec.deletion_policy == "Orphan" else "NotOwned"
        done = [cond.not_ready("Deleting", "the resource is being deleted"), cond.synced(reason)]
        return answer(parent, fields, done if observed else [], now, None, True)
    for action in deletions:
        outcome = _run(action, lambda a=action: _call(port, a, budget), log)
        if not outcome.ok:
            problem = [
                cond.not_ready("Deleting", outcome.error or ""),
                cond.not_synced(outcome.code or "KafkaError", outcome.error or ""),
            ]
            return answer(parent, fields, problem, now, RESYNC_ERROR, False)
    gone = (
        port.describe_topic(spec.topic_name if not memory.topic_name else memory.topic_name, budget)
        is None
    )
    waiting = [
        cond.not_ready("Deleting", f"waiting for the brokers to drop topic {deletions[0].topic}"),
        cond.synced(),
    ]
    return answer(
        parent, fields, [] if gone else waiting, now, None if gone else RESYNC_WAITING, gone
    )


def _unobserved(
    parent: Parent, now: str, problem: Refusal, finalizing: bool, spec: TopicSpec | None = None
) -> dict[str, Any]:
    """An answer for a sync that could not observe the topic: keep what is remembered."""
    fields = topics.remembered_status(parent.status, spec.topic_name if spec else None)
    previous = previous_condition(parent, "Ready")
    # A spec the hook refuses says nothing new about the topic itself.
    refused_spec = problem.reason in ("InvalidSpec", "ClusterChangeRefused")
    ready = (
        previous if refused_spec and previous else cond.not_ready(problem.reason, problem.message)
    )
    conditions = [ready, cond.not_synced(problem.reason, problem.message)]
    resync = None if refused_spec else RESYNC_ERROR
    if finalizing:
        return answer(parent, fields, conditions, now, resync or RESYNC_ERROR, False)
    return answer(parent, fields, conditions, now, resync)
