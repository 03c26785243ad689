"""KafkaTopic through the hook over HTTP, against the real mTLS broker.

Every outcome is checked with an independent admin connection, not with the
hook's own view.
"""

from __future__ import annotations

from confluent_kafka import TopicCollection
from confluent_kafka.admin import ConfigResource, ConfigSource, NewTopic

from tests.integration.conftest import eventually
from tools import driver

NS = "team-a"


def topic_object(name: str, **spec) -> dict:
    return {
        "apiVersion": driver.GROUP_VERSION,
        "kind": "KafkaTopic",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"clusterRef": {"name": "local"}, **spec},
    }


def describe(admin, name):
    topics = admin.describe_topics(TopicCollection([name]), request_timeout=10)
    try:
        found = topics[name].result(timeout=15)
    except Exception as error:  # the topic does not exist
        if "UNKNOWN_TOPIC" in str(error) or "Unknown topic" in str(error):
            return None
        raise
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    config = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=15)
    return {
        "id": str(found.topic_id),
        "partitions": len(found.partitions),
        "rf": len(found.partitions[0].replicas),
        "config": {k: v.value for k, v in config.items()},
        "dynamic": {
            k
            for k, v in config.items()
            if ConfigSource(v.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
        },
    }


def converge(world, key, timeout=30):
    return world.sync_until("KafkaTopic", key, driver.ready, timeout=timeout)


def test_create_with_partitions_rf_and_config(world, admin, unique):
    name = f"orders.created.{unique}"
    world.apply(
        topic_object(
            name,
            partitions=3,
            replicationFactor=1,
            config={"retention.ms": 3600000, "cleanup.policy": "compact,delete"},
        )
    )
    obj = converge(world, f"{NS}/{name}")

    seen = describe(admin, name)
    assert (seen["partitions"], seen["rf"]) == (3, 1)
    assert seen["config"]["retention.ms"] == "3600000"
    assert seen["config"]["cleanup.policy"] == "compact,delete"
    assert obj["status"]["topicId"] == seen["id"]
    assert obj["status"]["managedConfigKeys"] == ["cleanup.policy", "retention.ms"]


def test_absent_fields_take_broker_defaults(world, admin, unique):
    name = f"defaults.{unique}"
    world.apply(topic_object(name))
    converge(world, f"{NS}/{name}")
    seen = describe(admin, name)
    assert (seen["partitions"], seen["rf"]) == (
        1,
        1,
    )  # num.partitions and default.replication.factor
    assert seen["dynamic"] == set()


def test_unchanged_sync_changes_nothing_and_status_is_identical(world, admin, unique):
    name = f"steady.{unique}"
    world.apply(
        topic_object(
            name,
            partitions=2,
            config={"retention.ms": "86400000", "min.cleanable.dirty.ratio": "0.50"},
        )
    )
    key = f"{NS}/{name}"
    first = converge(world, key)["status"]
    answer = world.sync("KafkaTopic", key)
    assert answer["status"] == first
    assert answer["resyncAfterSeconds"] == 60.0


def test_grow_partitions_and_refuse_shrink_while_config_applies(world, admin, unique):
    name = f"grow.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, partitions=2))
    converge(world, key)

    world.apply(topic_object(name, partitions=4))
    converge(world, key)
    assert describe(admin, name)["partitions"] == 4

    world.apply(topic_object(name, partitions=1, config={"retention.ms": 1234567}))
    world.sync("KafkaTopic", key)
    synced = world.condition("KafkaTopic", key, "Synced")
    assert synced["status"] == "False" and synced["reason"] == "PartitionDecreaseRefused"
    assert "1 is below the current 4" in synced["message"]
    seen = describe(admin, name)
    assert seen["partitions"] == 4
    assert seen["config"]["retention.ms"] == "1234567", "the config change still applies"


def test_replication_factor_change_is_refused(world, admin, unique):
    name = f"rf.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, replicationFactor=1))
    converge(world, key)
    world.apply(topic_object(name, replicationFactor=3, config={"retention.ms": 999000}))
    world.sync("KafkaTopic", key)
    synced = world.condition("KafkaTopic", key, "Synced")
    assert synced["reason"] == "ReplicationFactorChangeRefused"
    seen = describe(admin, name)
    assert seen["rf"] == 1 and seen["config"]["retention.ms"] == "999000"


def test_config_change_and_revert_to_default(world, admin, unique):
    name = f"config.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, config={"retention.ms": 1000000, "segment.bytes": 1048576}))
    converge(world, key)
    world.apply(topic_object(name, config={"retention.ms": 2000000}))
    converge(world, key)
    seen = describe(admin, name)
    assert seen["config"]["retention.ms"] == "2000000"
    assert "segment.bytes" not in seen["dynamic"], "an owned key the spec dropped reverts"
    assert world.status("KafkaTopic", key)["managedConfigKeys"] == ["retention.ms"]


def test_foreign_topic_is_left_alone_unless_adopted(world, admin, unique):
    name = f"foreign.{unique}"
    admin.create_topics([NewTopic(name, 2, 1, config={"retention.ms": "5000000"})])[name].result(
        timeout=15
    )
    before = eventually(lambda: describe(admin, name))
    key = f"{NS}/{name}"

    world.apply(topic_object(name, partitions=5, config={"retention.ms": 1}))
    world.sync("KafkaTopic", key)
    ready = world.condition("KafkaTopic", key)
    assert ready["status"] == "False" and ready["reason"] == "TopicExists"
    after = describe(admin, name)
    assert (after["partitions"], after["config"]["retention.ms"]) == (2, "5000000")

    world.apply(topic_object(name, partitions=5, adoptExisting=True))
    obj = converge(world, key)
    assert obj["status"]["topicId"] == before["id"]
    assert describe(admin, name)["partitions"] == 5


def test_two_resources_for_one_topic_never_both_own_it(world, admin, unique):
    name = f"twice.{unique}"
    world.apply(topic_object(name))
    converge(world, f"{NS}/{name}")
    other = topic_object(name)
    other["metadata"] = {"name": name, "namespace": "team-b"}
    world.apply(other)
    world.sync("KafkaTopic", f"team-b/{name}")
    assert world.condition("KafkaTopic", f"team-b/{name}")["reason"] == "TopicExists"
    assert "topicId" not in world.status("KafkaTopic", f"team-b/{name}")

    world.delete("KafkaTopic", f"team-b/{name}")
    world.sync_until("KafkaTopic", f"team-b/{name}", driver.gone)
    assert describe(admin, name) is not None, "the second resource deleted nothing"


def test_topic_name_cannot_change(world, admin, unique):
    name = f"named.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, topicName=name))
    converge(world, key)
    world.apply(topic_object(name, topicName=name + ".v2", partitions=3))
    world.sync("KafkaTopic", key)
    assert world.condition("KafkaTopic", key, "Synced")["reason"] == "TopicRenameRefused"
    assert describe(admin, name + ".v2") is None
    assert describe(admin, name)["partitions"] == 3, "the existing topic is still reconciled"


def test_delete_removes_an_owned_topic(world, admin, unique):
    name = f"delete.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name))
    converge(world, key)
    world.delete("KafkaTopic", key)
    world.sync_until("KafkaTopic", key, driver.gone)
    assert describe(admin, name) is None


def test_orphan_keeps_the_topic(world, admin, unique):
    name = f"orphan.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, deletionPolicy="Orphan"))
    converge(world, key)
    world.delete("KafkaTopic", key)
    world.sync_until("KafkaTopic", key, driver.gone)
    assert describe(admin, name) is not None


def test_internal_topic_names_are_refused(world, admin):
    world.apply(topic_object("offsets", topicName="__consumer_offsets", partitions=100))
    world.sync("KafkaTopic", f"{NS}/offsets")
    ready = world.condition("KafkaTopic", f"{NS}/offsets")
    assert ready["reason"] == "InvalidSpec" and "'__'" in ready["message"]
    offsets = describe(admin, "__consumer_offsets")
    assert offsets is None or offsets["partitions"] != 100


def test_missing_cluster_and_secret_name_the_cause(world, unique):
    world.apply(topic_object("lost", clusterRef={"name": "nowhere"}))
    world.sync("KafkaTopic", f"{NS}/lost")
    assert world.condition("KafkaTopic", f"{NS}/lost")["reason"] == "ClusterNotFound"

    world.apply(driver.cluster_object("nosecret", "127.0.0.1:9"))
    world.apply(topic_object("nokey", clusterRef={"name": "nosecret"}))
    world.sync("KafkaTopic", f"{NS}/nokey")
    assert world.condition("KafkaTopic", f"{NS}/nokey")["reason"] == "CredentialsNotFound"


def test_cluster_reports_id_brokers_and_principal(world, broker):
    obj = world.sync_until("KafkaCluster", "local", driver.ready)
    status = obj["status"]
    assert status["brokerCount"] == 1
    assert status["clusterId"]
    assert status["operatorPrincipal"] == broker.identity("operator").principal


def test_wrong_ca_is_a_condition_within_the_budget(world, broker):
    import time

    other = broker.identity("stranger")
    world.apply(driver.cluster_object("wrongca", broker.bootstrap))
    world.apply(
        driver.credentials_secret(
            "wrongca", "kafka-access", broker.other_ca_pem, other.cert_pem, other.key_pem
        )
    )
    started = time.monotonic()
    world.sync("KafkaCluster", "wrongca")
    elapsed = time.monotonic() - started
    ready = world.condition("KafkaCluster", "wrongca")
    assert ready["status"] == "False" and ready["reason"] == "ClusterUnreachable"
    assert elapsed < 10, "the webhook timeout is 10 s"
    assert "did not answer" in ready["message"]


def test_broker_stopped_mid_run_then_converges(world, admin, broker, unique):
    import time

    name = f"outage.{unique}"
    key = f"{NS}/{name}"
    world.apply(topic_object(name, partitions=1))
    topic_id = converge(world, key)["status"]["topicId"]

    broker.pause()
    try:
        world.apply(topic_object(name, partitions=3))
        started = time.monotonic()
        answer = world.sync("KafkaTopic", key)
        assert time.monotonic() - started < 10, "the hook answers within the webhook timeout"
        ready = world.condition("KafkaTopic", key)
        assert (ready["status"], ready["reason"]) == ("False", "ClusterUnreachable")
        assert answer["status"]["topicId"] == topic_id, "what the hook must remember survives"
        assert answer["resyncAfterSeconds"] == 15.0
    finally:
        broker.resume()

    obj = world.sync_until(
        "KafkaTopic",
        key,
        lambda o: driver.ready(o) and o["status"].get("partitions") == 3,
        timeout=60,
    )
    assert obj["status"]["topicId"] == topic_id
    assert describe(admin, name)["partitions"] == 3


def test_public_roots_do_not_trust_a_private_broker(world, broker):
    operator = broker.identity("operator")
    world.apply(driver.cluster_object("publicroots", broker.bootstrap, brokerTrust="PublicRoots"))
    world.apply(
        driver.credentials_secret(
            "publicroots", "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem
        )
    )
    world.sync("KafkaCluster", "publicroots")
    ready = world.condition("KafkaCluster", "publicroots")
    assert (ready["status"], ready["reason"]) == ("False", "ClusterUnreachable")
