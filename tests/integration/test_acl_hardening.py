"""KafkaACL contract breaks an adversarial review found, proven fixed against a real broker.

The operator's grants go with the last binding that needs them, so a
resource that nobody else protects is open to every client again; a NUL in a
principal can no longer reach librdkafka, which would cut the string there
and so act on another team's binding; a status entry the admin client cannot
express is skipped, not a 500.

Whether a finalize may take grants away depends on every binding of the
resource type in the cluster, so this module runs its own broker: the
session's broker carries the bindings of every other test.
"""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)
from testbroker import Broker

from tests.integration.clients import QUIET, allowed, produce, refused
from tests.integration.conftest import eventually
from tests.integration.test_acl import (
    NS,
    acl_object,
    apply_ready,
    create_directly,
    create_topic,
    remove,
    topic_acl,
)
from tests.integration.test_topics import topic_object
from tools import driver


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A broker of this module's own, with no bindings but those its tests make."""
    instance = Broker(tmp_path_factory.mktemp("hardening-broker"))
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def admin(broker):
    return broker.admin_client("operator", logger=QUIET)


def bindings(admin, kind=ResourceType.TOPIC, name=None, pattern=ResourcePatternType.ANY):
    """Every binding on resources of ``kind`` (by name, when given), as tuples."""
    found = AclBindingFilter(
        kind, name, pattern, None, None, AclOperation.ANY, AclPermissionType.ANY
    )
    return {
        (b.name, b.resource_pattern_type.name, b.principal, b.operation.name)
        for b in admin.describe_acls(found, request_timeout=10).result(15)
    }


def can_produce(broker, who, topic):
    return lambda: allowed(produce(broker, who, topic))


def cannot_produce(broker, who, topic):
    return lambda: refused(produce(broker, who, topic))


@pytest.fixture
def no_topic_acls(admin):
    """Each test starts and ends with no topic ACLs at all."""

    def clear():
        everything = AclBindingFilter(
            ResourceType.TOPIC,
            None,
            ResourcePatternType.ANY,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        for future in admin.delete_acls([everything], request_timeout=10).values():
            future.result(15)

    clear()
    yield
    clear()


# -- the operator's grants --------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        {"type": "Topic", "name": "*"},
        {"type": "Topic", "name": "hardening.", "patternType": "Prefixed"},
        {"type": "Topic", "name": "hardening.free"},
    ],
    ids=["wildcard", "prefix", "literal"],
)
def test_deleting_the_last_kafkaacl_on_a_pattern_opens_it_to_everyone_again(
    world, broker, admin, no_topic_acls, unique, resource
):
    topic = "hardening.free"  # matched by each of the three patterns
    if topic not in admin.list_topics(timeout=10).topics:
        create_topic(admin, topic)
    eventually(can_produce(broker, "analytics", topic))  # no ACL: everyone may

    obj = acl_object(
        f"orders-{unique}",
        principal=broker.identity("orders").principal,
        resource=resource,
        operations=["Write"],
    )
    status = apply_ready(world, obj)["status"]
    assert len(status["operatorBindings"]) == 6
    eventually(cannot_produce(broker, "analytics", topic))  # protected, analytics has nothing
    eventually(can_produce(broker, "orders", topic))

    remove(world, obj)
    eventually(lambda: bindings(admin) == set())  # its binding and the operator's grants
    eventually(can_produce(broker, "analytics", topic))


def test_the_grants_stay_while_another_principals_binding_covers_the_pattern(
    world, broker, admin, no_topic_acls, unique
):
    topic = f"hardening.kept.{unique}"
    create_topic(admin, topic)
    analytics = broker.identity("analytics").principal
    # Made by hand, without grants for the operator: it protects the topic.
    create_directly(
        admin,
        AclBinding(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            analytics,
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        ),
    )

    obj = acl_object(
        f"orders-every-topic-{unique}",
        principal=broker.identity("orders").principal,
        resource={"type": "Topic", "name": "*"},
        operations=["Write"],
    )
    apply_ready(world, obj)
    remove(world, obj)
    operator = broker.identity("operator").principal
    left = bindings(admin)
    assert (topic, "LITERAL", analytics, "READ") in left
    assert {op for name, _, who, op in left if who == operator and name == "*"} == {
        "ALTER",
        "ALTER_CONFIGS",
        "CREATE",
        "DELETE",
        "DESCRIBE",
        "DESCRIBE_CONFIGS",
    }, "without them the operator would lose the topic analytics' binding protects"

    # The operator still manages that topic: it adopts it and grows it.
    world.apply(topic_object(f"kept-{unique}", topicName=topic, partitions=2, adoptExisting=True))
    grown = world.sync_until(
        "KafkaTopic",
        f"{NS}/kept-{unique}",
        lambda o: driver.ready(o) and o["status"].get("partitions") == 2,
    )
    assert grown["status"]["partitions"] == 2


# -- control characters -------------------------------------------------------------


def test_a_nul_in_a_principal_cannot_delete_another_teams_binding(world, broker, admin, unique):
    group = f"g.victim.{unique}"
    victim_principal = "User:CN=payments,OU=team-b"
    victim = acl_object(
        "victim",
        namespace="team-b",
        principal=victim_principal,
        resource={"type": "Group", "name": group},
        operations=["Read"],
    )
    apply_ready(world, victim)

    # librdkafka would cut this at the NUL and so name team-b's principal.
    evil = acl_object(
        "evil",
        principal=f"{victim_principal}\u0000,OU=team-a",
        resource={"type": "Group", "name": group},
        operations=["Read"],
    )
    world.apply(evil)
    world.sync("KafkaACL", f"{NS}/evil")
    synced = world.condition("KafkaACL", f"{NS}/evil", "Synced")
    assert synced["reason"] == "InvalidSpec" and "spec.principal" in synced["message"]
    assert world.status("KafkaACL", f"{NS}/evil")["bindings"] == []
    remove(world, evil)

    left = bindings(admin, ResourceType.GROUP, group, ResourcePatternType.LITERAL)
    assert (group, "LITERAL", victim_principal, "READ") in left, "team-b's binding survives"


# -- status entries the admin client cannot express -----------------------------------


def test_a_delegation_token_entry_in_status_is_skipped_by_the_real_admin_client(
    world, broker, admin, unique
):
    topic = create_topic(admin, f"hardening.token.{unique}")
    obj = topic_acl(f"token-{unique}", broker.identity("orders").principal, topic, ["Write"])
    token = {
        "principal": broker.identity("orders").principal,
        "host": "*",
        "resourceType": "DelegationToken",
        "resourceName": "t",
        "patternType": "Literal",
        "operation": "Describe",
        "permission": "Allow",
    }
    obj["status"] = {"bindings": [token], "cluster": "local"}
    world.apply(obj)
    status = world.sync_until("KafkaACL", f"{NS}/token-{unique}", driver.ready)["status"]
    assert token not in status["bindings"]
    assert [b["operation"] for b in status["bindings"]] == ["Write"]
    remove(world, obj)
