"""The floor: the same Kafka work done by bare confluent-kafka, with no hook in between.

Nothing here imports the hooks. What a script that knows exactly what it
wants would send:

- creating N topics: one batched CreateTopics for all of them; and, to show
  what any per-object controller faces, one CreateTopics per topic from a few
  threads sharing one client, as the hook's worker threads do;
- creating N KafkaACLs' bindings: one batched CreateAcls with every binding
  the hook ends up with, the operator's own grants included, so both sides
  leave the broker in the same state (and again one request per KafkaACL);
- an unchanged topic: its description and its config, asked for at once
  (a Metadata and a DescribeConfigs request), as the hook's shell does;
- an unchanged ACL: the bindings on its one resource pattern, for any
  principal (one DescribeAcls request); the hook sends one per principal in
  play, so its count is compared with this.

The helpers at the end clean up between runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from confluent_kafka import KafkaException, TopicCollection
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

# What the hook grants the operator on a topic pattern before the first
# binding there (hooks/core/acl.py, OPERATOR_NEEDS); the smoke test checks
# that the two lists agree.
OPERATOR_TOPIC_OPERATIONS = (
    "Alter",
    "AlterConfigs",
    "Create",
    "Delete",
    "Describe",
    "DescribeConfigs",
)
_OPERATIONS = {
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE,
    "Alter": AclOperation.ALTER,
    "Describe": AclOperation.DESCRIBE,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "AlterConfigs": AclOperation.ALTER_CONFIGS,
}
BATCH_TIMEOUT = 120.0


class _Quiet:
    """Swallows librdkafka's log lines (a broker stopping at the end is no news)."""

    def log(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return self.log


def admin_client(config: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> AdminClient:
    settings = dict(config)
    settings.update({"logger": _Quiet(), "error_cb": lambda error: None})
    settings.update(extra or {})
    return AdminClient(settings)


def _resolve(futures: Mapping[Any, Any], timeout: float) -> None:
    for future in futures.values():
        future.result(timeout=timeout)


# -- the batched creates ------------------------------------------------------


def create_topics(
    admin: AdminClient,
    names: Sequence[str],
    partitions: int,
    replication_factor: int,
    config: Mapping[str, str],
) -> float:
    """Create every topic in one request; seconds until the broker confirmed all of them."""
    topics = [NewTopic(n, partitions, replication_factor, config=dict(config)) for n in names]
    started = time.perf_counter()
    futures = admin.create_topics(
        topics, operation_timeout=BATCH_TIMEOUT, request_timeout=BATCH_TIMEOUT
    )
    _resolve(futures, BATCH_TIMEOUT + 5)
    return time.perf_counter() - started


def topic_bindings(
    topic_names: Iterable[str], principal: str, operations: Iterable[str], operator: str
) -> list[AclBinding]:
    """The bindings N KafkaACLs stand for, with the operator's grants on each topic."""
    operations = tuple(operations)
    out = []
    for name in topic_names:
        for who, ops in ((operator, OPERATOR_TOPIC_OPERATIONS), (principal, operations)):
            out += [
                AclBinding(
                    ResourceType.TOPIC,
                    name,
                    ResourcePatternType.LITERAL,
                    who,
                    "*",
                    _OPERATIONS[op],
                    AclPermissionType.ALLOW,
                )
                for op in ops
            ]
    return sorted(set(out), key=str)


def create_acls(admin: AdminClient, bindings: Sequence[AclBinding]) -> float:
    """Create every binding in one request; seconds until the broker confirmed all of them."""
    started = time.perf_counter()
    futures = admin.create_acls(list(bindings), request_timeout=BATCH_TIMEOUT)
    _resolve(futures, BATCH_TIMEOUT + 5)
    return time.perf_counter() - started


def create_each(admin: AdminClient, items: Sequence[Any], create: Any, threads: int) -> float:
    """Call ``create(admin, item)`` for every item from ``threads`` threads; seconds for all."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(lambda item: create(admin, item), items):
            pass
    return time.perf_counter() - started


def create_topics_each(
    admin: AdminClient,
    names: Sequence[str],
    partitions: int,
    replication_factor: int,
    config: Mapping[str, str],
    threads: int = 5,
) -> float:
    """One CreateTopics per topic, ``threads`` at a time; seconds until all are created."""
    return create_each(
        admin,
        names,
        lambda a, name: create_topics(a, [name], partitions, replication_factor, config),
        threads,
    )


def create_acls_each(
    admin: AdminClient, per_object: Sequence[Sequence[AclBinding]], threads: int = 5
) -> float:
    """One CreateAcls per KafkaACL's bindings, ``threads`` at a time; seconds for all."""
    return create_each(admin, per_object, create_acls, threads)


# -- until the broker lists what was created -----------------------------------
#
# A create is confirmed once the controller has committed it; the broker makes
# the partitions (or loads the bindings into its authorizer) after that. The
# hook's Ready means it saw the result, so the floor waits for the same.

POLL = 0.02


def wait_topics_listed(admin: AdminClient, names: Iterable[str], timeout: float = 120.0) -> None:
    """Return once every topic is in the broker's metadata with a leader for each partition."""
    missing = set(names)
    deadline = time.monotonic() + timeout
    while missing:
        listed = admin.list_topics(timeout=30).topics
        missing = {
            name
            for name in missing
            if name not in listed
            or listed[name].error is not None
            or any(p.leader < 0 for p in listed[name].partitions.values())
        }
        if missing and time.monotonic() > deadline:
            raise TimeoutError(f"{len(missing)} created topic(s) are still not listed")
        if missing:
            time.sleep(POLL)


def wait_bindings_listed(
    admin: AdminClient, bindings: Iterable[AclBinding], timeout: float = 120.0
) -> None:
    """Return once the broker lists every binding (one describe of all topic bindings a poll)."""
    missing = {binding_key(b) for b in bindings}
    deadline = time.monotonic() + timeout
    while missing:
        listed = admin.describe_acls(topic_filter(None), request_timeout=30).result(timeout=35)
        missing -= {binding_key(b) for b in listed}
        if missing and time.monotonic() > deadline:
            raise TimeoutError(f"{len(missing)} created binding(s) are still not listed")
        if missing:
            time.sleep(POLL)


# -- the describes an unchanged sync needs ------------------------------------


def describe_topic(admin: AdminClient, name: str, timeout: float = 7.0) -> float:
    """One topic's description and config, asked for at once; seconds for both answers."""
    started = time.perf_counter()
    topics = admin.describe_topics(TopicCollection([name]), request_timeout=timeout)
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    configs = admin.describe_configs([resource], request_timeout=timeout)
    topics[name].result(timeout=timeout + 1)
    configs[resource].result(timeout=timeout + 1)
    return time.perf_counter() - started


def topic_filter(name: str | None) -> AclBindingFilter:
    """Every binding on the literal topic ``name`` (any topic when None), for any principal."""
    return AclBindingFilter(
        ResourceType.TOPIC,
        name,
        ResourcePatternType.LITERAL if name else ResourcePatternType.ANY,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def describe_topic_acls(admin: AdminClient, name: str, timeout: float = 7.0) -> float:
    """The bindings on one topic pattern; seconds for the answer."""
    started = time.perf_counter()
    admin.describe_acls(topic_filter(name), request_timeout=timeout).result(timeout=timeout + 1)
    return time.perf_counter() - started


# -- cleaning up between runs -------------------------------------------------


def topic_names(admin: AdminClient, prefix: str) -> set[str]:
    listed = admin.list_topics(timeout=30)
    return {name for name in listed.topics if name.startswith(prefix)}


def delete_topics(admin: AdminClient, prefix: str, timeout: float = 120.0) -> int:
    """Delete every topic whose name starts with ``prefix``; returns once none is listed."""
    deadline = time.monotonic() + timeout
    names = topic_names(admin, prefix)
    total = len(names)
    while names:
        futures = admin.delete_topics(
            sorted(names), operation_timeout=BATCH_TIMEOUT, request_timeout=BATCH_TIMEOUT
        )
        for future in futures.values():
            try:
                future.result(timeout=BATCH_TIMEOUT + 5)
            except KafkaException as error:
                if "UNKNOWN_TOPIC" not in str(error):
                    raise
        time.sleep(0.2)
        names = topic_names(admin, prefix)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(names)} topic(s) starting with {prefix!r} are still listed")
    return total


def delete_topic_acls(admin: AdminClient, names: Iterable[str], chunk: int = 500) -> int:
    """Delete every binding on the given literal topic patterns; returns how many went."""
    names = sorted(set(names))
    deleted = 0
    for start in range(0, len(names), chunk):
        filters = [topic_filter(n) for n in names[start : start + chunk]]
        futures = admin.delete_acls(filters, request_timeout=BATCH_TIMEOUT)
        for future in futures.values():
            deleted += len(future.result(timeout=BATCH_TIMEOUT + 5))
    return deleted


def binding_key(binding: AclBinding) -> tuple[str, ...]:
    """A binding spelled as KafkaACL status spells it, to compare with the hook's."""
    names = {native: name for name, native in _OPERATIONS.items()}
    return (
        "Topic" if binding.restype == ResourceType.TOPIC else str(binding.restype),
        binding.name,
        "Literal" if binding.resource_pattern_type == ResourcePatternType.LITERAL else "Prefixed",
        binding.principal,
        binding.host,
        names.get(binding.operation, str(binding.operation)),
        "Allow" if binding.permission_type == AclPermissionType.ALLOW else "Deny",
    )
