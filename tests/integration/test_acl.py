"""KafkaACL through the hook over HTTP, proven by use against the real mTLS broker.

Each test gives an application certificate access or takes it away with
KafkaACLs, then produces and consumes as that application. The broker's
authorizer learns of ACL changes a moment after they are made, so every
check polls with a deadline.
"""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from tests.integration.clients import QUIET, allowed, consume, produce, refused
from tests.integration.conftest import eventually
from tests.integration.test_topics import describe, topic_object
from tools import driver

NS = "team-a"


# -- objects and the hook ------------------------------------------------------


def acl_object(name: str, namespace: str = NS, cluster: str = "local", **spec) -> dict:
    return {
        "apiVersion": driver.GROUP_VERSION,
        "kind": "KafkaACL",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterRef": {"name": cluster}, **spec},
    }


def topic_acl(name, principal, topic, operations, **spec):
    resource = {"type": "Topic", "name": topic}
    return acl_object(name, principal=principal, resource=resource, operations=operations, **spec)


def apply_ready(world, obj) -> dict:
    world.apply(obj)
    key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
    return world.sync_until("KafkaACL", key, driver.ready)


def remove(world, obj) -> None:
    key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
    world.delete("KafkaACL", key)
    world.sync_until("KafkaACL", key, driver.gone)


# -- the broker, directly -------------------------------------------------------


def create_topic(admin, name: str) -> str:
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(15)
    return name


def topic_binding(principal, topic, operation, permission=AclPermissionType.ALLOW):
    return AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        principal,
        "*",
        operation,
        permission,
    )


def create_directly(admin, *bindings) -> None:
    for future in admin.create_acls(list(bindings), request_timeout=10).values():
        future.result(15)


def on_topic(admin, topic) -> set[tuple[str, str, str]]:
    """Every binding on the literal topic, as (principal, operation, permission)."""
    found = AclBindingFilter(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    return {
        (b.principal, b.operation.name, b.permission_type.name)
        for b in admin.describe_acls(found, request_timeout=10).result(15)
    }


def can_produce(broker, name, topic):
    return lambda: allowed(produce(broker, name, topic))


def cannot_produce(broker, name, topic):
    return lambda: refused(produce(broker, name, topic))


# -- by use ----------------------------------------------------------------------


def test_an_application_uses_a_protected_topic_only_while_its_acls_allow_it(world, broker, unique):
    topic, group = f"orders.placed.{unique}", f"orders-{unique}"
    orders, analytics = broker.identity("orders"), broker.identity("analytics")
    create_topic(broker.admin_client("operator", logger=QUIET), topic)
    assert allowed(produce(broker, "orders", topic)), "no ACL yet: everyone may"

    # Another application's ACL protects the topic: orders is locked out.
    apply_ready(world, topic_acl("analytics-read", analytics.principal, topic, ["Read"]))
    eventually(cannot_produce(broker, "orders", topic))
    assert refused(consume(broker, "orders", topic, group))

    # Its own KafkaACLs let orders produce, and consume with its group.
    write = topic_acl("orders-write", orders.principal, topic, ["Write"])
    written = apply_ready(world, write)["status"]
    world.sync("KafkaACL", f"{NS}/orders-write")
    assert world.status("KafkaACL", f"{NS}/orders-write") == written, "same world, same status"
    apply_ready(world, topic_acl("orders-read", orders.principal, topic, ["Read"]))
    group_acl = acl_object(
        "orders-group",
        principal=orders.principal,
        resource={"type": "Group", "name": group},
        operations=["Read"],
    )
    apply_ready(world, group_acl)
    eventually(can_produce(broker, "orders", topic))
    eventually(lambda: allowed(consume(broker, "orders", topic, group)))
    eventually(lambda: refused(consume(broker, "analytics", topic, group)))  # orders' group

    # A Deny wins over the Allow, and only for what it names.
    deny = topic_acl("orders-deny-write", orders.principal, topic, ["Write"], permission="Deny")
    apply_ready(world, deny)
    eventually(cannot_produce(broker, "orders", topic))
    assert allowed(consume(broker, "orders", topic, f"{group}-2"))
    remove(world, deny)
    eventually(can_produce(broker, "orders", topic))

    # Without its Allow, orders is locked out again while analytics' ACL protects the topic.
    remove(world, write)
    eventually(cannot_produce(broker, "orders", topic))


@pytest.mark.parametrize("name", ["orders", "payments", "analytics"])
def test_a_principal_derived_from_a_certificate_is_the_one_the_broker_enforces(
    world, broker, unique, name
):
    """Multi-RDN subjects, payments with an escaped comma, analytics with a locality."""
    topic = f"derived.{name}.{unique}"
    admin = broker.admin_client("operator", logger=QUIET)
    create_topic(admin, topic)
    nobody = "User:CN=nobody,O=Example Corp,C=DE"
    create_directly(admin, topic_binding(nobody, topic, AclOperation.READ))
    eventually(cannot_produce(broker, name, topic))

    ident = broker.identity(name)
    namespace = f"team-{name}"
    world.apply(
        driver.credentials_secret(
            f"{name}-client", namespace, broker.ca_pem, ident.cert_pem, ident.key_pem
        )
    )
    obj = apply_ready(
        world,
        acl_object(
            f"{name}-write",
            namespace=namespace,
            principalFrom={"secretKeyRef": {"name": f"{name}-client"}},
            resource={"type": "Topic", "name": topic},
            operations=["Write"],
        ),
    )
    eventually(can_produce(broker, name, topic))
    assert obj["status"]["principal"] == ident.principal
    assert (ident.principal, "WRITE", "ALLOW") in on_topic(admin, topic)


@pytest.mark.parametrize(
    "written",
    [
        "CN=payments, OU=team-b, O=Example\\, Inc., C=US",
        "/C=US/O=Example, Inc./OU=team-b/CN=payments",
    ],
    ids=["spaces-no-prefix", "openssl-slash-form"],
)
def test_a_principal_written_loosely_is_stored_as_the_broker_names_it(
    world, broker, unique, written
):
    topic = f"loose.{unique}"
    admin = broker.admin_client("operator", logger=QUIET)
    create_topic(admin, topic)
    create_directly(admin, topic_binding("User:CN=nobody", topic, AclOperation.READ))
    eventually(cannot_produce(broker, "payments", topic))

    obj = apply_ready(world, topic_acl("payments-write", written, topic, ["Write"]))
    eventually(can_produce(broker, "payments", topic))
    assert obj["status"]["principal"] == broker.identity("payments").principal


# -- no self-lockout ------------------------------------------------------------


def test_the_operator_still_manages_a_topic_after_an_application_acl_is_put_on_it(
    world, broker, admin, unique
):
    name = f"managed.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, partitions=1, config={"retention.ms": 3600000}))
    world.sync_until("KafkaTopic", key, driver.ready)

    orders = broker.identity("orders")
    obj = apply_ready(world, topic_acl("orders-write-managed", orders.principal, name, ["Write"]))
    granted = {(b["operation"], b["resourceName"]) for b in obj["status"]["operatorBindings"]}
    assert granted == {
        (op, name)
        for op in ("Alter", "AlterConfigs", "Create", "Delete", "Describe", "DescribeConfigs")
    }
    eventually(cannot_produce(broker, "analytics", name))  # the ACL is in force

    # Grow it and change its config: the operator can, thanks to its own grants.
    world.apply(topic_object(name, partitions=3, config={"retention.ms": 7200000}))
    world.sync_until(
        "KafkaTopic",
        key,
        lambda o: driver.ready(o) and o["status"].get("partitions") == 3,
    )
    seen = describe(admin, name)
    assert seen["partitions"] == 3
    assert seen["config"]["retention.ms"] == "7200000"
    assert eventually(can_produce(broker, "orders", name))


def test_without_its_grants_the_operator_is_locked_out(world, broker, unique):
    """The control: what ensureOperatorAcls prevents really happens on this broker."""
    name = f"unguarded.{unique}"
    operator = broker.identity("operator")
    world.apply(driver.cluster_object("bare", broker.bootstrap, ensureOperatorAcls=False))
    world.apply(
        driver.credentials_secret(
            "bare", "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem
        )
    )
    world.apply(topic_object(name, partitions=1))
    world.sync_until("KafkaTopic", f"{NS}/{name}", driver.ready)

    unguarded = topic_acl(
        "orders-write-bare", broker.identity("orders").principal, name, ["Write"], cluster="bare"
    )
    obj = apply_ready(world, unguarded)
    assert "operatorBindings" not in obj["status"]

    def locked_out():
        world.sync("KafkaTopic", f"{NS}/{name}")
        ready = world.condition("KafkaTopic", f"{NS}/{name}")
        return ready["status"] == "False" and "Authorization" in ready["reason"]

    eventually(locked_out)

    # ACLs are managed at the cluster level, so removing this one still works.
    remove(world, unguarded)
    eventually(
        lambda: (
            world.sync("KafkaTopic", f"{NS}/{name}")
            and driver.ready(world.get("KafkaTopic", f"{NS}/{name}"))
        )
    )


@pytest.fixture
def cluster_acls_cleaned(broker):
    """Leave the Cluster resource without ACLs, as other tests expect it."""
    yield
    admin = broker.admin_client("operator", logger=QUIET)
    everything = AclBindingFilter(
        ResourceType.BROKER,
        "kafka-cluster",
        ResourcePatternType.LITERAL,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    for future in admin.delete_acls([everything], request_timeout=10).values():
        future.result(15)


def test_the_operator_keeps_managing_topics_and_acls_after_a_cluster_acl(
    world, broker, unique, cluster_acls_cleaned
):
    analytics = broker.identity("analytics")
    cluster_acl = acl_object(
        "analytics-cluster",
        principal=analytics.principal,
        resource={"type": "Cluster"},
        operations=["IdempotentWrite"],
    )
    obj = apply_ready(world, cluster_acl)
    assert {b["operation"] for b in obj["status"]["operatorBindings"]} == {
        "Alter",
        "AlterConfigs",
        "Create",
        "Describe",
        "DescribeConfigs",
    }
    assert {b["resourceName"] for b in obj["status"]["operatorBindings"]} == {"kafka-cluster"}

    # With the Cluster resource protected, the operator still describes the
    # cluster, creates a topic and writes and lists ACLs.
    assert world.sync("KafkaCluster", "local") and driver.ready(world.get("KafkaCluster", "local"))
    name = f"after-cluster-acl.{unique}"
    world.apply(topic_object(name, partitions=2))
    world.sync_until("KafkaTopic", f"{NS}/{name}", driver.ready)
    after = topic_acl("orders-after-cluster", broker.identity("orders").principal, name, ["Write"])
    apply_ready(world, after)
    eventually(can_produce(broker, "orders", name))
    remove(world, after)
    remove(world, cluster_acl)


# -- only what it owns ----------------------------------------------------------


def test_bindings_made_by_others_survive_every_change_and_the_deletion(
    world, broker, admin, unique
):
    topic = f"shared.{unique}"
    create_topic(admin, topic)
    orders = broker.identity("orders").principal
    analytics = broker.identity("analytics").principal
    foreign = {
        (orders, "DESCRIBE", "ALLOW"),  # same principal and pattern, another operation
        (orders, "WRITE", "ALLOW"),  # equal to a binding the KafkaACL wants
        (analytics, "READ", "ALLOW"),  # another principal
    }
    create_directly(
        admin,
        topic_binding(orders, topic, AclOperation.DESCRIBE),
        topic_binding(orders, topic, AclOperation.WRITE),
        topic_binding(analytics, topic, AclOperation.READ),
    )

    obj = apply_ready(world, topic_acl("orders-shared", orders, topic, ["Write", "Read"]))
    assert [b["operation"] for b in obj["status"]["bindings"]] == ["Read"], "Write was not ours"

    # Dropping Write from the spec deletes nothing: this resource never made it.
    apply_ready(world, topic_acl("orders-shared", orders, topic, ["Read"]))
    assert foreign <= on_topic(admin, topic)

    remove(world, topic_acl("orders-shared", orders, topic, ["Read"]))
    left = on_topic(admin, topic)
    assert foreign <= left
    assert (orders, "READ", "ALLOW") not in left, "its own binding went with it"
    operator = broker.identity("operator").principal
    assert {op for p, op, _ in left if p == operator} == {
        "ALTER",
        "ALTER_CONFIGS",
        "CREATE",
        "DELETE",
        "DESCRIBE",
        "DESCRIBE_CONFIGS",
    }, "the operator's grants stay, so it is never locked out while others' ACLs remain"
