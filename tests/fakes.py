"""A recording fake of the Kafka port, with the same methods as ``AdminPort``.

It keeps topics in memory, applies changes as a broker would, and records
every call so tests can say exactly what the hook asked Kafka to do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hooks.core.acl import MANAGEABLE_TYPES, Binding, as_status
from hooks.core.cluster import ClusterInfo
from hooks.core.topic import DYNAMIC_TOPIC, ConfigEntry, ObservedTopic
from hooks.errors import KafkaRequestError, KafkaUnavailable

DEFAULTS = {"retention.ms": "604800000", "cleanup.policy": "delete", "min.insync.replicas": "1"}


@dataclass
class FakeTopic:
    topic_id: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


class FakeKafka:
    def __init__(self, topics: dict[str, FakeTopic] | None = None, acls: list[dict] | None = None):
        self.topics = dict(topics or {})
        # ACL bindings, given and compared as status.bindings entries
        self.acls = {b for raw in acls or () if (b := Binding.from_status(raw)) is not None}
        self.refuse_bindings: dict[Binding, KafkaRequestError] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.unavailable = False
        self.refuse: dict[str, KafkaRequestError] = {}
        self.invisible_after_create = 0
        self._ids = (f"fake-id-{n}" for n in itertools.count(1))

    def _enter(self, *call: Any) -> None:
        self.calls.append(call)
        if self.unavailable:
            raise KafkaUnavailable("brokers 127.0.0.1:1 did not answer: Local: Timed out")
        if call[0] in self.refuse:
            raise self.refuse[call[0]]

    @property
    def changes(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if not c[0].startswith("describe")]

    def describe_cluster(self, budget) -> ClusterInfo:
        self._enter("describe_cluster")
        return ClusterInfo("fake-cluster", 1, 1)

    def describe_topic(self, name, budget) -> ObservedTopic | None:
        self._enter("describe_topic", name)
        topic = self.topics.get(name)
        if topic is None:
            return None
        if self.invisible_after_create > 0:
            self.invisible_after_create -= 1
            return None
        config = {k: ConfigEntry(v, "DEFAULT_CONFIG") for k, v in DEFAULTS.items()}
        config.update({k: ConfigEntry(v, DYNAMIC_TOPIC) for k, v in topic.config.items()})
        return ObservedTopic(
            name, topic.topic_id, topic.partitions, topic.replication_factor, config
        )

    def create_topic(self, name, partitions, replication_factor, config, budget) -> None:
        self._enter("create_topic", name, partitions, replication_factor, dict(config))
        if name in self.topics:
            raise KafkaRequestError("TOPIC_ALREADY_EXISTS", f"Topic '{name}' already exists.")
        self.topics[name] = FakeTopic(
            next(self._ids), partitions or 1, replication_factor or 1, dict(config)
        )

    def create_partitions(self, name, total, budget) -> None:
        self._enter("create_partitions", name, total)
        self.topics[name].partitions = total

    def alter_topic_config(self, name, changes, budget) -> None:
        changes = list(changes)
        self._enter("alter_topic_config", name, [(c.op, c.key, c.desired) for c in changes])
        for change in changes:
            if change.op == "set":
                self.topics[name].config[change.key] = change.desired
            else:
                self.topics[name].config.pop(change.key, None)

    def delete_topic(self, name, budget) -> None:
        self._enter("delete_topic", name)
        self.topics.pop(name, None)

    def describe_acls(self, filters, budget) -> list[frozenset[Binding]]:
        """Each filter's bindings; recorded as [type, name, pattern type, principal(, scope)]."""
        filters = list(filters)
        self._enter(
            "describe_acls",
            [
                [f.pattern.resource_type, f.pattern.name, f.pattern.pattern_type, f.principal]
                + ([f.scope] if f.scope != "Exact" else [])
                for f in filters
            ],
        )
        # Like AdminPort: a filter the admin client cannot express matches nothing.
        return [
            frozenset(b for b in self.acls if f.matches(b))
            if f.pattern.resource_type in MANAGEABLE_TYPES
            else frozenset()
            for f in filters
        ]

    def create_acls(self, bindings, budget) -> dict[Binding, Any]:
        return self._per_binding("create_acls", list(bindings), self.acls.add)

    def delete_acls(self, bindings, budget) -> dict[Binding, Any]:
        return self._per_binding("delete_acls", list(bindings), self.acls.discard)

    def _per_binding(self, name, bindings, change) -> dict[Binding, Any]:
        """A request-level failure fails every binding with the same cause."""
        try:
            self._enter(name, as_status(bindings))
        except (KafkaRequestError, KafkaUnavailable) as error:
            return {b: error for b in bindings}
        results = {}
        for binding in bindings:
            results[binding] = self.refuse_bindings.get(binding)
            if binding.resource_type not in MANAGEABLE_TYPES:  # as AdminPort answers
                results[binding] = KafkaRequestError(
                    "UNSUPPORTED_RESOURCE_TYPE",
                    f"the admin client cannot express {binding.describe()}",
                )
            if results[binding] is None:
                change(binding)
        return results

    def acls_status(self) -> list[dict[str, str]]:
        return as_status(self.acls)


class FakeClients:
    """Stands in for ``ClientCache``: every connection gets the same fake."""

    def __init__(self, kafka: FakeKafka):
        self.kafka = kafka
        self.connections: list[Any] = []

    def port(self, connection) -> FakeKafka:
        self.connections.append(connection)
        return self.kafka
