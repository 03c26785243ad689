"""KafkaAccess end to end: rendered through a shipped composition, its children synced
through their own hooks, the result proven by use against the real mTLS broker.

The application's certificate produces and consumes exactly where its access
says and is refused on protected topics elsewhere; a KafkaAccess that breaks
its composition's rules changes nothing, neither in Kubernetes nor on the
broker. The broker's authorizer learns of ACL changes a moment after they are
made, so every check by use polls with a deadline.
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from tests.integration.clients import allowed, client, consume, produce, refused
from tests.integration.conftest import eventually
from tools import driver

REPO = Path(__file__).resolve().parents[2]


# -- objects -----------------------------------------------------------------------


def composition(name: str) -> dict:
    (doc,) = yaml.safe_load_all((REPO / "compositions" / f"{name}.yaml").read_text())
    return doc


def access_object(name: str, namespace: str, **spec) -> dict:
    return {
        "apiVersion": driver.GROUP_VERSION,
        "kind": "KafkaAccess",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def certificate_secret(name: str, namespace: str, cert_pem: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"tls.crt": base64.b64encode(cert_pem.encode()).decode()},
    }


def converge(world, obj, timeout=90.0) -> dict:
    """Apply a KafkaAccess and sync it and its children until it is Ready."""
    world.apply(obj)
    key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
    return world.sync_tree("KafkaAccess", key, driver.ready, timeout=timeout)


def children(world, namespace, name) -> set[tuple[str, str]]:
    parent = world.get("KafkaAccess", f"{namespace}/{name}")
    return {
        (obj["kind"], key)
        for bucket in world.children_of(parent).values()
        for key, obj in bucket.items()
    }


# -- the broker, directly ---------------------------------------------------------------


def bindings_of(admin, principal) -> set[tuple[str, str, str, str]]:
    wanted = AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        principal,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    return {
        (b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name)
        for b in admin.describe_acls(wanted, request_timeout=10).result(15)
    }


def topics(admin) -> set[str]:
    return set(admin.list_topics(timeout=10).topics)


def protect(admin, broker, topic):
    """A topic of another team, protected by an ACL for analytics (and the operator's own)."""
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(15)
    grants = [
        AclBinding(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            broker.identity(who).principal,
            "*",
            operation,
            AclPermissionType.ALLOW,
        )
        for who, operation in (("analytics", AclOperation.READ), ("operator", AclOperation.ALL))
    ]
    for future in admin.create_acls(grants, request_timeout=10).values():
        future.result(15)


# -- services ----------------------------------------------------------------------------


def test_a_service_produces_and_consumes_exactly_where_its_access_says(
    world, broker, admin, unique
):
    world.apply(composition("services"))
    owned, audit, secret = (
        f"team-a.orders.{unique}",
        f"team-a.audit.{unique}",
        f"team-b.secret.{unique}",
    )
    group = f"team-a.orders-{unique}"
    protect(admin, broker, secret)
    access = access_object(
        "orders",
        "team-a",
        topics=[{"name": f"orders.{unique}"}, {"name": f"audit.{unique}", "partitions": 1}],
        access=[
            {"profile": "produce", "topics": [owned, audit]},
            {"profile": "consume", "topics": [owned], "group": group},
        ],
    )

    status = converge(world, access)["status"]

    orders = broker.identity("orders")
    assert status["principal"] == orders.principal, "the template names the certificate's subject"
    assert [t["name"] for t in status["topics"]] == [owned, audit]
    assert {owned, audit} <= topics(admin)
    assert bindings_of(admin, orders.principal) >= {
        ("TOPIC", owned, "LITERAL", "WRITE"),
        ("TOPIC", owned, "LITERAL", "READ"),
        ("TOPIC", audit, "LITERAL", "WRITE"),
        ("GROUP", group, "LITERAL", "READ"),
    }
    # Where the access says: produce to both, consume the one it consumes.
    eventually(lambda: allowed(produce(broker, "orders", owned)))
    eventually(lambda: allowed(produce(broker, "orders", audit)))
    eventually(lambda: allowed(consume(broker, "orders", owned, group)))
    # Nowhere else: no Read on the audit topic, nothing on team b's.
    eventually(lambda: refused(consume(broker, "orders", audit, group)))
    eventually(lambda: refused(produce(broker, "orders", secret)))
    # And its topics are now protected from others.
    eventually(lambda: refused(produce(broker, "payments", owned)))

    again = world.sync("KafkaAccess", "team-a/orders")
    assert again["status"] == status, "an unchanged world gives the same status"


def test_a_hostile_access_changes_nothing(world, broker, admin, unique):
    world.apply(composition("services"))
    orders = broker.identity("orders")
    victim = f"team-b.payments.{unique}"
    protect(admin, broker, victim)
    before_bindings, before_topics = bindings_of(admin, orders.principal), topics(admin)
    hostile = access_object(
        "orders",
        "team-a",
        topics=[{"name": f"big.{unique}", "partitions": 100}],
        access=[
            {"profile": "produce", "topics": [victim]},
            {"profile": "consume", "topics": ["*"], "group": f"team-a.all-{unique}"},
        ],
    )
    world.apply(hostile)

    world.sync_tree("KafkaAccess", "team-a/orders", _synced_false, timeout=30)

    synced = world.condition("KafkaAccess", "team-a/orders", "Synced")
    violations = world.status("KafkaAccess", "team-a/orders")["violations"]
    assert synced["reason"] == "CompositionViolated"
    assert [v.split(":")[0] for v in violations] == [
        "topics[0].partitions",
        "access[0]",
        "access[1]",
    ]
    assert f"topic {victim} is not permitted in namespace team-a" in violations[1]
    assert "Read, Describe on every topic is not permitted" in violations[2]
    assert children(world, "team-a", "orders") == set()
    assert bindings_of(admin, orders.principal) == before_bindings
    assert topics(admin) == before_topics
    assert refused(produce(broker, "orders", victim))


def _synced_false(obj) -> bool:
    for item in (obj or {}).get("status", {}).get("conditions", []):
        if item["type"] == "Synced":
            return item["status"] == "False"
    return False


def test_a_failed_render_keeps_every_child_and_deletion_cleans_up(world, broker, admin, unique):
    world.apply(composition("services"))
    orders = broker.identity("orders")
    owned = f"team-a.kept.{unique}"
    good = access_object(
        "orders",
        "team-a",
        topics=[{"name": f"kept.{unique}"}],
        access=[{"profile": "produce", "topics": [owned]}],
    )
    converge(world, good)
    kept = children(world, "team-a", "orders")
    eventually(lambda: allowed(produce(broker, "orders", owned)))

    # A violation added to a working KafkaAccess: the children stay as they are.
    bad = access_object(**{**_args(good), "access": [*good["spec"]["access"], _hostile(unique)]})
    world.apply(bad)
    world.sync_tree("KafkaAccess", "team-a/orders", _synced_false, timeout=30)
    world.sync_tree("KafkaAccess", "team-a/orders", _synced_false, timeout=30)
    assert children(world, "team-a", "orders") == kept
    assert driver.ready(world.get("KafkaAccess", "team-a/orders")), "what exists still works"

    # The composition disappears: still nothing is deleted.
    world.apply(good)
    world.remove("KafkaComposition", "services")
    world.sync_tree("KafkaAccess", "team-a/orders", _synced_false, timeout=30)
    assert (
        world.condition("KafkaAccess", "team-a/orders", "Synced")["reason"] == "CompositionNotFound"
    )
    assert children(world, "team-a", "orders") == kept
    assert owned in topics(admin)
    assert allowed(produce(broker, "orders", owned))

    # Back with its composition, then deleted: the topic and the bindings go with it.
    world.apply(composition("services"))
    converge(world, good)
    world.delete("KafkaAccess", "team-a/orders")
    world.sync_tree("KafkaAccess", "team-a/orders", driver.gone, timeout=60)
    assert owned not in topics(admin)
    assert not {b for b in bindings_of(admin, orders.principal) if b[1] == owned}


def _args(obj):
    return {
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"]["namespace"],
        **obj["spec"],
    }


def _hostile(unique):
    return {"profile": "produce", "topics": [f"team-b.anything.{unique}"]}


def test_kafkaaccesses_whose_names_run_together_each_get_their_own_children(
    world, broker, admin, unique
):
    # a + b-c and a-b + c once both named their KafkaTopic a-b-c: one took the other's.
    world.apply(composition("services"))
    first = access_object("a", "team-a", topics=[{"name": f"b-c{unique}"}])
    second = access_object("a-b", "team-a", topics=[{"name": f"c{unique}"}])

    converge(world, first)
    converge(world, second)  # the driver raises on a child conflict, as Metacontroller fails
    world.sync_tree("KafkaAccess", "team-a/a", driver.ready, timeout=30)

    assert children(world, "team-a", "a").isdisjoint(children(world, "team-a", "a-b"))
    assert {f"team-a.b-c{unique}", f"team-a.c{unique}"} <= topics(admin)


# -- shared topics ------------------------------------------------------------------------


def test_a_shared_topic_is_written_by_its_team_and_read_by_others(world, broker, admin, unique):
    world.apply(composition("shared-topics"))
    payments, orders = broker.identity("payments"), broker.identity("orders")
    world.apply(certificate_secret("payments-kafka-client", "team-b", payments.cert_pem))
    world.apply(certificate_secret("orders-kafka-client", "team-a", orders.cert_pem))
    shared, group = f"shared.team-b.settled.{unique}", f"team-a.orders-payments-{unique}"
    owner = access_object(
        "payments",
        "team-b",
        compositionRef={"name": "shared-topics"},
        principalFrom={"secretKeyRef": {"name": "payments-kafka-client"}},
        topics=[{"name": f"settled.{unique}", "partitions": 3}],
        access=[{"profile": "produce", "topics": [shared]}],
    )
    reader = access_object(
        "orders-payments",
        "team-a",
        compositionSelector={"matchLabels": {"kafkaaccess.io/class": "shared-topics"}},
        principalFrom={"secretKeyRef": {"name": "orders-kafka-client"}},
        access=[{"profile": "consume", "topics": [shared], "group": group}],
    )

    written = converge(world, owner)["status"]
    read = converge(world, reader)["status"]

    assert written["principal"] == payments.principal, "taken from the certificate"
    assert read["principal"] == orders.principal
    eventually(lambda: allowed(produce(broker, "payments", shared)))
    eventually(lambda: allowed(consume(broker, "orders", shared, group)))
    eventually(lambda: refused(produce(broker, "orders", shared)))
    eventually(lambda: refused(consume(broker, "analytics", shared, f"team-c.x-{unique}")))


def test_a_namespace_called_shared_cannot_squat_another_teams_shared_topic(
    world, broker, admin, unique
):
    # Under the default composition, namespace shared's {namespace}.* is shared.*.
    world.apply(composition("services"))
    world.apply(composition("shared-topics"))
    payments = broker.identity("payments")
    world.apply(certificate_secret("payments-kafka-client", "team-b", payments.cert_pem))
    shared = f"shared.team-b.squat.{unique}"
    squatter = access_object(
        "app",
        "shared",
        topics=[{"name": f"team-b.squat.{unique}"}],
        access=[{"profile": "produce", "topics": ["shared.*"]}],
    )
    world.apply(squatter)

    world.sync_tree("KafkaAccess", "shared/app", _synced_false, timeout=30)

    assert world.condition("KafkaAccess", "shared/app", "Synced")["reason"] == (
        "CompositionViolated"
    )
    assert children(world, "shared", "app") == set()
    assert shared not in topics(admin)

    # The team it belongs to makes it, with the shared-topics composition's rules.
    owner = access_object(
        "payments",
        "team-b",
        compositionRef={"name": "shared-topics"},
        principalFrom={"secretKeyRef": {"name": "payments-kafka-client"}},
        topics=[{"name": f"squat.{unique}"}],
    )
    status = converge(world, owner)["status"]
    assert [t["name"] for t in status["topics"]] == [shared]
    (child,) = world.children_of(world.get("KafkaAccess", "team-b/payments"))[
        f"KafkaTopic.{driver.GROUP_VERSION}"
    ].values()
    assert child["spec"]["deletionPolicy"] == "Orphan"
    assert child["spec"]["config"] == {"retention.ms": "2592000000"}
    assert shared in topics(admin)


# -- Kafka Streams ----------------------------------------------------------------------------


def test_a_streams_application_gets_its_internal_topics_group_and_transactions(
    world, broker, admin, unique
):
    world.apply(composition("services"))
    world.apply(composition("streams"))
    orders = broker.identity("orders")
    world.apply(certificate_secret("orders-kafka-client", "team-a", orders.cert_pem))
    source, sink = f"team-a.in.{unique}", f"team-a.out.{unique}"
    app = f"team-a.enricher-{unique}"
    changelog = f"{app}-store-changelog"
    converge(
        world,
        access_object(
            "orders",
            "team-a",
            topics=[{"name": f"in.{unique}", "partitions": 1}],
            access=[{"profile": "produce", "topics": [source]}],
        ),
    )
    status = converge(
        world,
        access_object(
            "enricher",
            "team-a",
            compositionRef={"name": "streams"},
            principalFrom={"secretKeyRef": {"name": "orders-kafka-client"}},
            topics=[{"name": f"out.{unique}", "partitions": 1}],
            access=[
                {"profile": "streams", "applicationId": app, "topics": [source]},
                {"profile": "produce", "topics": [sink]},
            ],
        ),
    )["status"]

    assert {(a["resourceType"], a["resourceName"], a["patternType"]) for a in status["access"]} == {
        ("Topic", source, "Literal"),
        ("Topic", sink, "Literal"),
        ("Topic", f"{app}-", "Prefixed"),
        ("Group", app, "Literal"),
        ("TransactionalId", f"{app}-", "Prefixed"),
    }
    # The input, read as the application's group.
    eventually(lambda: allowed(produce(broker, "orders", source)))
    eventually(lambda: allowed(consume(broker, "orders", source, app)))
    # An internal topic, created by the application itself.
    eventually(lambda: _create_topic(broker, "orders", changelog))
    # Exactly-once: a transaction over the changelog and the output.
    eventually(lambda: _transaction(broker, "orders", f"{app}-0_0", [changelog, sink]))
    # Nobody else may touch the internal topics or the output.
    eventually(lambda: refused(produce(broker, "payments", changelog)))
    eventually(lambda: refused(consume(broker, "payments", sink, f"team-b.x-{unique}")))


def _create_topic(broker, name, topic) -> bool:
    admin = AdminClient(client(broker, name))
    admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=10)[topic].result(15)
    return topic in admin.list_topics(timeout=10).topics


def _transaction(broker, name, transactional_id, targets) -> bool:
    producer = Producer(
        client(
            broker,
            name,
            **{"transactional.id": transactional_id, "transaction.timeout.ms": 10000},
        )
    )
    producer.init_transactions(10)
    producer.begin_transaction()
    for topic in targets:
        producer.produce(topic, b"exactly once")
    producer.commit_transaction(10)
    return True
