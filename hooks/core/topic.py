"""KafkaTopic: from a spec and the observed topic to a plan and a status.

Ownership decides everything else. A KafkaTopic owns the topic whose id it
recorded when it created or adopted it; a topic it does not own is reported
and never changed or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import canonical
from . import conditions as cond
from .clusterkinds import TopicRules
from .plan import (
    AlterConfig,
    CreatePartitions,
    CreateTopic,
    DeleteTopic,
    Outcome,
    Refusal,
    TopicAction,
)
from .specs import TopicSpec

DYNAMIC_TOPIC = "DYNAMIC_TOPIC_CONFIG"
# Failure reasons after which a request may have been carried out unanswered.
UNANSWERED = frozenset({"ClusterUnreachable", "RequestTimedOut", "NetworkException"})


@dataclass(frozen=True)
class ConfigEntry:
    value: str | None
    source: str
    read_only: bool = False


@dataclass(frozen=True)
class ObservedTopic:
    name: str
    topic_id: str
    partitions: int
    replication_factor: int
    config: Mapping[str, ConfigEntry]

    def value(self, key: str) -> str | None:
        entry = self.config.get(key)
        return None if entry is None or entry.value is None else canonical.config_value(entry.value)


@dataclass(frozen=True)
class Memory:
    """What earlier syncs recorded in status and this one must keep."""

    topic_name: str | None = None
    topic_id: str | None = None
    managed_config_keys: tuple[str, ...] = ()
    # Set when this resource created the topic but has not yet seen its id.
    pending_creation: bool = False
    # The KafkaCluster the topic lives on; None in status written before it was kept.
    cluster: str | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Memory:
        keys = status.get("managedConfigKeys")
        keys = keys if isinstance(keys, list) else ()
        return cls(
            topic_name=_str_or_none(status.get("topicName")),
            topic_id=_str_or_none(status.get("topicId")),
            cluster=_str_or_none(status.get("cluster")),
            managed_config_keys=tuple(sorted(k for k in keys if isinstance(k, str))),
            pending_creation=status.get("pendingCreation") is True,
        )

    @property
    def holds_topic(self) -> bool:
        """Whether this resource created or adopted a topic it must keep track of."""
        return bool(self.topic_id or self.pending_creation)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class TopicPlan:
    topic: str
    ownership: str  # "owned", "adopt", "create", "foreign"
    actions: tuple[TopicAction, ...]
    refusals: tuple[Refusal, ...]
    desired_config_keys: tuple[str, ...]


def target_name(spec: TopicSpec, memory: Memory) -> str:
    """The topic to observe: the recorded one once created, renames refused."""
    if memory.holds_topic and memory.topic_name:
        return memory.topic_name
    return spec.topic_name


def target_cluster(spec: TopicSpec, memory: Memory) -> str:
    """The cluster to act on: the recorded one once a topic was created there."""
    if memory.holds_topic and memory.cluster:
        return memory.cluster
    return spec.cluster


def cluster_change(spec: TopicSpec, memory: Memory) -> Refusal | None:
    """A clusterRef change after the topic exists is refused: topics do not move."""
    recorded = target_cluster(spec, memory)
    if recorded == spec.cluster:
        return None
    return Refusal(
        "ClusterChangeRefused",
        f"clusterRef: {spec.cluster!r} differs from {recorded!r}, where topic "
        f"{memory.topic_name} lives; a topic cannot move between clusters, so set "
        "clusterRef back, or create a new KafkaTopic for the other cluster",
    )


def plan(
    spec: TopicSpec, observed: ObservedTopic | None, memory: Memory, rules: TopicRules
) -> TopicPlan:
    """Compare the desired topic with the observed one and decide what to do."""
    name = target_name(spec, memory)
    refusals: list[Refusal] = []
    if name != spec.topic_name:
        refusals.append(
            Refusal(
                "TopicRenameRefused",
                f"topicName: {spec.topic_name!r} differs from the existing topic {name!r}; "
                "Kafka cannot rename a topic, so create a new KafkaTopic for the new name",
            )
        )
    current = {key: observed.value(key) or "" for key in observed.config} if observed else None
    allowed, broken = rules.apply(spec, exists=observed is not None, current=current)
    refusals.extend(broken)

    if observed is None:
        create = CreateTopic(name, allowed.partitions, allowed.replication_factor, allowed.config)
        return TopicPlan(name, "create", (create,), tuple(refusals), _keys(allowed))

    ownership = _ownership(spec, observed, memory)
    if ownership == "foreign":
        return TopicPlan(name, ownership, (), (_foreign(observed, memory),), ())

    actions: list[TopicAction] = []
    if allowed.partitions is not None and allowed.partitions > observed.partitions:
        actions.append(CreatePartitions(name, observed.partitions, allowed.partitions))
    elif allowed.partitions is not None and allowed.partitions < observed.partitions:
        refusals.append(
            Refusal(
                "PartitionDecreaseRefused",
                f"partitions: {allowed.partitions} is below the current {observed.partitions}; "
                "Kafka cannot remove partitions",
            )
        )
    rf = allowed.replication_factor
    if rf is not None and rf != observed.replication_factor:
        refusals.append(
            Refusal(
                "ReplicationFactorChangeRefused",
                f"replicationFactor: {rf} differs from the current {observed.replication_factor}; "
                "changing it needs a partition reassignment, which kafka-access does not perform",
            )
        )
    actions.extend(_config_changes(name, allowed, observed, memory, ownership))
    return TopicPlan(name, ownership, tuple(actions), tuple(refusals), _keys(allowed))


def _keys(spec: TopicSpec) -> tuple[str, ...]:
    return tuple(key for key, _ in spec.config)


def _ownership(spec: TopicSpec, observed: ObservedTopic, memory: Memory) -> str:
    if memory.topic_id == observed.topic_id:
        return "owned"
    if memory.pending_creation and not memory.topic_id:
        return "owned"
    return "adopt" if spec.adopt_existing else "foreign"


def _foreign(observed: ObservedTopic, memory: Memory) -> Refusal:
    if memory.topic_id:
        return Refusal(
            "TopicReplaced",
            f"topic {observed.name} now has id {observed.topic_id}, not the id "
            f"{memory.topic_id} this resource created; it was deleted and created again "
            "outside kafka-access and is left alone; set spec.adoptExisting: true to manage it",
        )
    return Refusal(
        "TopicExists",
        f"topic {observed.name} already exists and is not owned by this resource; "
        "it is left unchanged; set spec.adoptExisting: true to adopt it",
    )


def _config_changes(
    name: str, spec: TopicSpec, observed: ObservedTopic, memory: Memory, ownership: str
) -> list[AlterConfig]:
    changes = []
    desired = spec.config_map
    for key in sorted(desired):
        have = observed.value(key)
        if have != desired[key]:
            changes.append(AlterConfig(name, key, "set", have, desired[key]))
    released = () if ownership == "adopt" else memory.managed_config_keys
    for key in sorted(set(released) - set(desired)):
        entry = observed.config.get(key)
        if entry is not None and entry.source == DYNAMIC_TOPIC:
            changes.append(AlterConfig(name, key, "delete", observed.value(key), None))
    return changes


def finalize_plan(
    spec: TopicSpec | None, observed: ObservedTopic | None, memory: Memory
) -> tuple[DeleteTopic, ...]:
    """The deletion a finalize needs: only an owned topic, only under Delete."""
    if observed is None or spec is None or spec.deletion_policy != "Delete":
        return ()
    if memory.topic_id != observed.topic_id and not (
        memory.pending_creation and not memory.topic_id
    ):
        return ()
    return (DeleteTopic(observed.name, observed.topic_id),)


@dataclass(frozen=True)
class TopicState:
    """The inputs of a KafkaTopic status, gathered by the shell."""

    spec: TopicSpec
    plan: TopicPlan
    outcomes: tuple[Outcome, ...]
    observed: ObservedTopic | None  # after the plan was applied


def status(state: TopicState, memory: Memory) -> tuple[dict[str, Any], list[cond.Condition]]:
    """Return the status fields (without conditions) and the conditions."""
    observed, plan_ = state.observed, state.plan
    failures = [o for o in state.outcomes if not o.ok]
    owned = (
        observed is not None
        and plan_.ownership != "foreign"
        and not (
            plan_.ownership == "create" and any(isinstance(o.action, CreateTopic) for o in failures)
        )
    )
    fields: dict[str, Any] = {"topicName": plan_.topic}
    if owned or (plan_.ownership == "create" and not failures):
        fields["cluster"] = state.spec.cluster
    if owned and observed is not None:
        dynamic = {k for k, e in observed.config.items() if e.source == DYNAMIC_TOPIC}
        still_set = (
            set(memory.managed_config_keys) & dynamic if plan_.ownership != "adopt" else set()
        )
        managed = sorted(set(plan_.desired_config_keys) | still_set)
        fields.update(
            topicId=observed.topic_id,
            partitions=observed.partitions,
            replicationFactor=observed.replication_factor,
            config={k: observed.value(k) or "" for k in managed if k in observed.config},
            managedConfigKeys=managed,
        )
    else:
        fields.update(_remembered(memory))
        if plan_.ownership == "foreign":
            fields.pop("managedConfigKeys", None)

    problems = [(r.reason, r.message) for r in plan_.refusals]
    problems += [(o.code or "KafkaError", f"{_describe(o.action)}: {o.error}") for o in failures]
    if problems:
        synced = cond.not_synced(problems[0][0], "; ".join(m for _, m in problems))
    else:
        synced = cond.synced()
    if owned and observed is not None:
        ready = cond.ready(
            "Available", f"topic {observed.name} has {observed.partitions} partitions"
        )
    elif plan_.ownership == "foreign":
        ready = cond.not_ready(plan_.refusals[0].reason, plan_.refusals[0].message)
    elif failures:
        if any(isinstance(o.action, CreateTopic) and o.code in UNANSWERED for o in failures):
            # The create may have happened with its answer lost; claim what appears.
            fields["pendingCreation"] = True
            fields["cluster"] = state.spec.cluster
        ready = cond.not_ready(
            failures[0].code or "KafkaError",
            f"{_describe(failures[0].action)}: {failures[0].error}",
        )
    else:
        fields["pendingCreation"] = True
        ready = cond.not_ready(
            "Creating", f"topic {plan_.topic} was created and is not yet visible"
        )
    return fields, [ready, synced]


def _describe(action: object) -> str:
    describe = getattr(action, "describe", None)
    return describe() if callable(describe) else str(action)


def _remembered(memory: Memory) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if memory.topic_id:
        fields["topicId"] = memory.topic_id
    if memory.topic_name:
        fields["topicName"] = memory.topic_name
    if memory.cluster:
        fields["cluster"] = memory.cluster
    if memory.managed_config_keys:
        fields["managedConfigKeys"] = list(memory.managed_config_keys)
    if memory.pending_creation:
        fields["pendingCreation"] = True
    return fields


def remembered_status(status_: Mapping[str, Any], spec_name: str | None) -> dict[str, Any]:
    """Status fields to carry through an answer that observed nothing."""
    fields = _remembered(Memory.from_status(status_))
    if "topicName" not in fields and spec_name:
        fields["topicName"] = spec_name
    for key, kind in (("partitions", int), ("replicationFactor", int), ("config", dict)):
        value = status_.get(key)
        if isinstance(value, kind) and not isinstance(value, bool):
            fields[key] = value
    return fields
