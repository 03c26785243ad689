"""The Kafka port and its confluent-kafka adapter.

``KafkaPort`` is what the reconcilers need from Kafka; ``AdminPort``
implements it with an ``AdminClient`` over mutual TLS, and tests use a
recording fake with the same methods. Every call takes its timeout from the
request's ``Budget`` and resolves its futures one entity at a time; library
errors become ``KafkaUnavailable`` or ``KafkaRequestError``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from confluent_kafka.admin import (
    ConfigEntry as AdminConfigEntry,
)

from ..core.acl import Binding, BindingFilter
from ..core.cluster import ClusterInfo, Connection
from ..core.plan import AlterConfig
from ..core.topic import ConfigEntry, ObservedTopic
from ..errors import KafkaAccessError, KafkaRequestError, KafkaUnavailable
from .budget import Budget

# librdkafka codes that mean "no broker answered" rather than "a broker said no".
_UNAVAILABLE = {
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._SSL,
    KafkaError._AUTHENTICATION,
    KafkaError._RESOLVE,
    KafkaError._DESTROY,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NETWORK_EXCEPTION,
}
_ACCESS_DENIED = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
}


class KafkaPort(Protocol):
    """What reconcilers ask of one Kafka cluster."""

    def describe_cluster(self, budget: Budget) -> ClusterInfo: ...

    def describe_topic(self, name: str, budget: Budget) -> ObservedTopic | None: ...

    def create_topic(
        self,
        name: str,
        partitions: int | None,
        replication_factor: int | None,
        config: dict[str, str],
        budget: Budget,
    ) -> None: ...

    def create_partitions(self, name: str, total: int, budget: Budget) -> None: ...

    def alter_topic_config(
        self, name: str, changes: Iterable[AlterConfig], budget: Budget
    ) -> None: ...

    def delete_topic(self, name: str, budget: Budget) -> None: ...

    def describe_acls(
        self, filters: Sequence[BindingFilter], budget: Budget
    ) -> list[frozenset[Binding]]:
        """The bindings each filter matches, in the order of ``filters``."""
        ...

    def create_acls(
        self, bindings: Sequence[Binding], budget: Budget
    ) -> dict[Binding, KafkaAccessError | None]:
        """Create bindings; each maps to None or the error that refused it."""
        ...

    def delete_acls(
        self, bindings: Sequence[Binding], budget: Budget
    ) -> dict[Binding, KafkaAccessError | None]:
        """Delete exactly these bindings; one already gone counts as deleted."""
        ...


class AdminPort:
    """``KafkaPort`` over one cached ``AdminClient``."""

    def __init__(self, client: CachedClient):
        self._client = client
        self._admin = client.admin

    # -- observe ---------------------------------------------------------

    def describe_cluster(self, budget: Budget) -> ClusterInfo:
        result = self._wait(
            self._admin.describe_cluster(request_timeout=budget.remaining()), budget
        )
        controller = getattr(result.controller, "id", None)
        return ClusterInfo(str(result.cluster_id), len(result.nodes), controller)

    def describe_topic(self, name: str, budget: Budget) -> ObservedTopic | None:
        timeout = budget.remaining()
        topics = self._admin.describe_topics(TopicCollection([name]), request_timeout=timeout)
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        configs = self._admin.describe_configs([resource], request_timeout=timeout)
        try:
            description = self._wait(topics[name], budget)
        except KafkaRequestError as error:
            if error.code == "UNKNOWN_TOPIC_OR_PART":
                self._drain(configs.values())
                return None
            raise
        try:
            entries = self._wait(configs[resource], budget)
        except KafkaRequestError as error:
            if error.code == "UNKNOWN_TOPIC_OR_PART":
                return None
            raise
        partitions = description.partitions
        return ObservedTopic(
            name=name,
            topic_id=str(description.topic_id),
            partitions=len(partitions),
            replication_factor=len(partitions[0].replicas) if partitions else 0,
            config={
                key: ConfigEntry(entry.value, _source(entry), bool(entry.is_read_only))
                for key, entry in entries.items()
            },
        )

    # -- change ----------------------------------------------------------

    def create_topic(self, name, partitions, replication_factor, config, budget) -> None:
        topic = NewTopic(
            name,
            num_partitions=partitions if partitions is not None else -1,
            replication_factor=replication_factor if replication_factor is not None else -1,
            config=dict(config),
        )
        timeout = budget.remaining()
        futures = self._admin.create_topics(
            [topic], operation_timeout=timeout, request_timeout=timeout
        )
        self._wait(futures[name], budget)

    def create_partitions(self, name: str, total: int, budget: Budget) -> None:
        timeout = budget.remaining()
        futures = self._admin.create_partitions(
            [NewPartitions(name, total)], operation_timeout=timeout, request_timeout=timeout
        )
        self._wait(futures[name], budget)

    def alter_topic_config(self, name: str, changes: Iterable[AlterConfig], budget: Budget) -> None:
        entries = [
            AdminConfigEntry(
                change.key,
                change.desired if change.op == "set" else None,
                incremental_operation=(
                    AlterConfigOpType.SET if change.op == "set" else AlterConfigOpType.DELETE
                ),
            )
            for change in changes
        ]
        resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
        futures = self._admin.incremental_alter_configs(
            [resource], request_timeout=budget.remaining()
        )
        self._wait(futures[resource], budget)

    def delete_topic(self, name: str, budget: Budget) -> None:
        timeout = budget.remaining()
        futures = self._admin.delete_topics(
            [name], operation_timeout=timeout, request_timeout=timeout
        )
        try:
            self._wait(futures[name], budget)
        except KafkaRequestError as error:
            if error.code != "UNKNOWN_TOPIC_OR_PART":
                raise

    # -- ACLs ------------------------------------------------------------

    def describe_acls(
        self, filters: Sequence[BindingFilter], budget: Budget
    ) -> list[frozenset[Binding]]:
        natives = [_acl_filter(f) for f in filters]
        futures = [
            None
            if native is None
            else self._admin.describe_acls(native, request_timeout=budget.remaining())
            for native in natives
        ]
        # A filter the admin client cannot express matches nothing it could have made.
        return [
            frozenset()
            if future is None
            else frozenset(
                found
                for native in self._wait(future, budget)
                if (found := _binding(native)) is not None
            )
            for future in futures
        ]

    def create_acls(
        self, bindings: Sequence[Binding], budget: Budget
    ) -> dict[Binding, KafkaAccessError | None]:
        return self._per_binding(bindings, _acl_binding, self._admin.create_acls, budget)

    def delete_acls(
        self, bindings: Sequence[Binding], budget: Budget
    ) -> dict[Binding, KafkaAccessError | None]:
        return self._per_binding(bindings, _exact_filter, self._admin.delete_acls, budget)

    def _per_binding(
        self,
        bindings: Sequence[Binding],
        native_of: Any,
        call: Any,
        budget: Budget,
    ) -> dict[Binding, KafkaAccessError | None]:
        """Send the bindings the admin client can express in one request; an answer for each.

        A binding it cannot express (a DelegationToken, say) gets an error of
        its own instead of failing the request, and so does every binding of
        a request the client refuses before sending it.
        """
        results: dict[Binding, KafkaAccessError | None] = {}
        natives: dict[Binding, Any] = {}
        for binding in bindings:
            native = native_of(binding)
            if native is None:
                results[binding] = KafkaRequestError(
                    "UNSUPPORTED_RESOURCE_TYPE",
                    f"the admin client cannot express {binding.describe()}",
                )
            else:
                natives[binding] = native
        if not natives:
            return results
        try:
            futures = call(list(natives.values()), request_timeout=budget.remaining())
        except KafkaException as exc:
            error = self._translate(exc.args[0] if exc.args else None)
            failed = (
                error
                if isinstance(error, KafkaAccessError)
                else KafkaRequestError("UNKNOWN", brief(str(exc)))
            )
            results.update(dict.fromkeys(natives, failed))
            return results
        except (TypeError, ValueError) as exc:
            results.update(
                {b: KafkaRequestError("INVALID_REQUEST", brief(str(exc))) for b in natives}
            )
            return results
        results.update({b: self._error(futures[n], budget) for b, n in natives.items()})
        return results

    def _error(self, future: Future, budget: Budget) -> KafkaAccessError | None:
        try:
            self._wait(future, budget)
        except (KafkaRequestError, KafkaUnavailable) as error:
            return error
        return None

    # -- futures ---------------------------------------------------------

    def _wait(self, future: Future, budget: Budget) -> Any:
        try:
            return future.result(timeout=budget.remaining() + 1.0)
        except KafkaException as exc:
            raise self._translate(exc.args[0] if exc.args else None) from exc
        except TimeoutError as exc:
            raise KafkaUnavailable(
                self._client.unavailable_message("the request timed out")
            ) from exc

    def _drain(self, futures: Iterable[Future]) -> None:
        for future in futures:
            future.cancel()

    def _translate(self, error: object) -> Exception:
        if not isinstance(error, KafkaError):
            return KafkaRequestError("UNKNOWN", brief(str(error)))
        if error.code() in _UNAVAILABLE:
            return KafkaUnavailable(self._client.unavailable_message(brief(error.str())))
        name = error.name()
        if error.code() in _ACCESS_DENIED:
            return KafkaRequestError(
                name, f"{brief(error.str())}; the operator's principal lacks the ACLs this needs"
            )
        return KafkaRequestError(name, brief(error.str()))


_MESSAGE_LIMIT = 300
# librdkafka's timings and counters differ on every attempt; a condition must not.
_UNSTEADY = re.compile(
    r"\s*\(after \d+ms in state [A-Z_]+[^)]*\)|,?\s*\d+ identical error\(s\) suppressed"
)


def steady(message: str) -> str:
    """A connection error without the parts that change from one attempt to the next."""
    return _UNSTEADY.sub("", message).strip()


_REQUEST_DUMP = re.compile(r"[\s:]*(Request\s+)?Request\(.*$", re.DOTALL)


def brief(message: str) -> str:
    """A broker message fit for a condition: no request dump, bounded length.

    Some brokers append a dump of the whole request ("Request(processor=...")
    to authorization errors; it says nothing a reader needs and would make
    the condition huge.
    """
    message = _REQUEST_DUMP.sub("", message).rstrip(" :,;")
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1].rstrip() + "…"
    return message


class CachedClient:
    """An ``AdminClient`` with the last connection error librdkafka reported."""

    def __init__(self, connection: Connection, extra: dict[str, Any] | None = None):
        self.bootstrap = connection.bootstrap_servers
        self._last_error: str | None = None
        self._lock = threading.Lock()
        config: dict[str, Any] = {
            "bootstrap.servers": connection.bootstrap_servers,
            "security.protocol": "SSL",
            "ssl.certificate.pem": connection.cert_pem,
            "ssl.key.pem": connection.key_pem,
            "socket.connection.setup.timeout.ms": 5000,
            "reconnect.backoff.max.ms": 2000,
            "error_cb": self._on_error,
            "log_level": 3,
            "logger": _QuietLogger(),
        }
        if connection.ca_pem:
            config["ssl.ca.pem"] = connection.ca_pem
        else:
            config["ssl.ca.location"] = "probe"  # the public roots the image trusts
        config.update(extra or {})
        self.admin = AdminClient(config)

    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            return  # a summary of the errors that matter, which arrive on their own
        with self._lock:
            self._last_error = steady(error.str())

    def unavailable_message(self, what: str) -> str:
        self.admin.poll(0)  # serve pending error callbacks
        with self._lock:
            last = self._last_error
        detail = f"; last connection error: {last}" if last and last not in what else ""
        return f"brokers {self.bootstrap} did not answer: {steady(what)}{detail}"


class _QuietLogger:
    """Swallows librdkafka's own log lines; errors reach us through error_cb."""

    def log(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return self.log


class RefusingPort:
    """A port for credentials the client cannot use: every call fails with the reason."""

    def __init__(self, message: str):
        self._message = message

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise KafkaRequestError("CREDENTIALS_INVALID", self._message)

        return refuse


class ClientCache:
    """One ``AdminClient`` per cluster and credentials, shared by the threads of a worker."""

    def __init__(self, size: int = 32, extra: dict[str, Any] | None = None):
        self._size = size
        self._extra = extra or {}
        self._clients: OrderedDict[str, CachedClient] = OrderedDict()
        self._lock = threading.Lock()

    def port(self, connection: Connection) -> AdminPort | RefusingPort:
        try:
            return AdminPort(self.client(connection))
        except KafkaException as error:
            # librdkafka refuses the TLS settings themselves; its text may quote them.
            code = (
                error.args[0].name()
                if error.args and isinstance(error.args[0], KafkaError)
                else "UNKNOWN"
            )
            return RefusingPort(
                f"the Kafka client refused the operator's credentials of KafkaCluster "
                f"{connection.cluster} ({code}): check that tls.key is the unencrypted PEM "
                "private key of tls.crt and that ca.crt holds PEM certificates"
            )

    def client(self, connection: Connection) -> CachedClient:
        key = _fingerprint(connection)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
            client = CachedClient(connection, self._extra)
            self._clients[key] = client
            while len(self._clients) > self._size:
                self._clients.popitem(last=False)
            return client


def _fingerprint(connection: Connection) -> str:
    digest = hashlib.sha256()
    for part in (
        connection.bootstrap_servers,
        connection.ca_pem,
        connection.cert_pem,
        connection.key_pem,
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


_RESOURCE_TYPES = {
    "Topic": ResourceType.TOPIC,
    "Group": ResourceType.GROUP,
    "Cluster": ResourceType.BROKER,  # librdkafka's name for Kafka's CLUSTER (4)
    "TransactionalId": ResourceType.TRANSACTIONAL_ID,
}
_PATTERN_TYPES = {"Literal": ResourcePatternType.LITERAL, "Prefixed": ResourcePatternType.PREFIXED}
_OPERATIONS = {
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE,
    "Alter": AclOperation.ALTER,
    "Describe": AclOperation.DESCRIBE,
    "ClusterAction": AclOperation.CLUSTER_ACTION,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "AlterConfigs": AclOperation.ALTER_CONFIGS,
    "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
    "All": AclOperation.ALL,
}
_PERMISSIONS = {"Allow": AclPermissionType.ALLOW, "Deny": AclPermissionType.DENY}


def _natives(binding: Binding) -> tuple[Any, ...] | None:
    """The binding's enum values for the admin client; None when it has no such kind."""
    try:
        return (
            _RESOURCE_TYPES[binding.resource_type],
            binding.resource_name,
            _PATTERN_TYPES[binding.pattern_type],
            binding.principal,
            binding.host,
            _OPERATIONS[binding.operation],
            _PERMISSIONS[binding.permission],
        )
    except KeyError:
        return None


def _acl_binding(binding: Binding) -> AclBinding | None:
    values = _natives(binding)
    return None if values is None else AclBinding(*values)


def _exact_filter(binding: Binding) -> AclBindingFilter | None:
    values = _natives(binding)
    return None if values is None else AclBindingFilter(*values)


def _acl_filter(found: BindingFilter) -> AclBindingFilter | None:
    """The admin client's filter: exact pattern, MATCH on one name, or the whole type."""
    pattern = found.pattern
    kind = _RESOURCE_TYPES.get(pattern.resource_type)
    if kind is None:
        return None
    name: str | None = pattern.name
    if found.scope == "Type":
        name, pattern_type = None, ResourcePatternType.ANY
    elif found.scope == "Match":
        pattern_type = ResourcePatternType.MATCH
    elif pattern.pattern_type in _PATTERN_TYPES:
        pattern_type = _PATTERN_TYPES[pattern.pattern_type]
    else:
        return None
    return AclBindingFilter(
        kind,
        name,  # type: ignore[arg-type]  # None matches any name
        pattern_type,
        found.principal,  # type: ignore[arg-type]  # None matches any principal
        None,  # type: ignore[arg-type]  # None matches any host
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def _name_of(table: dict[str, Any], value: object) -> str | None:
    return next((name for name, native in table.items() if native == value), None)


def _binding(native: AclBinding) -> Binding | None:
    """Translate a described binding; None for kinds the CRD cannot express."""
    parts = (
        _name_of(_RESOURCE_TYPES, native.restype),
        _name_of(_PATTERN_TYPES, native.resource_pattern_type),
        _name_of(_OPERATIONS, native.operation),
        _name_of(_PERMISSIONS, native.permission_type),
    )
    kind, pattern, operation, permission = parts
    if kind is None or pattern is None or operation is None or permission is None:
        return None
    return Binding(kind, native.name, pattern, native.principal, native.host, operation, permission)


def _source(entry: AdminConfigEntry) -> str:
    """The config source's name; the client reports it as an int or an enum."""
    source = entry.source
    try:
        return ConfigSource(getattr(source, "value", source)).name
    except ValueError:
        return str(source)
