"""Cluster kinds against the real broker: the MSK rules are enforced client-side.

The local broker is plain Apache Kafka and would accept every key. Declared
as an MSK serverless or MSK express KafkaCluster (clusterType set,
bootstrapServers pointing at it), the hook must refuse what those kinds do
not allow before asking Kafka, say which key and which rule, and still
apply the rest. The broker's state is read with the independent admin client.
"""

from __future__ import annotations

import pytest
from confluent_kafka.admin import ConfigResource, ConfigSource

from tools import driver

NS = "team-kinds"


@pytest.fixture
def kinds(world, broker):
    """KafkaClusters 'serverless' and 'express' on the local broker, with their Secrets."""
    operator = broker.identity("operator")
    for name, kind in (("serverless", "MskServerless"), ("express", "MskExpress")):
        world.apply(driver.cluster_object(name, broker.bootstrap, clusterType=kind))
        world.apply(
            driver.credentials_secret(
                name, "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem
            )
        )
        world.sync_until("KafkaCluster", name, driver.ready)
    return world


def topic_object(name: str, cluster: str, **spec) -> dict:
    return {
        "apiVersion": driver.GROUP_VERSION,
        "kind": "KafkaTopic",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"clusterRef": {"name": cluster}, **spec},
    }


def topic_config(admin, name: str) -> tuple[dict[str, str], set[str]]:
    """The topic's config values and the keys set on the topic itself."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    config = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=15)
    dynamic = {
        key
        for key, entry in config.items()
        if ConfigSource(entry.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    }
    return {key: entry.value for key, entry in config.items()}, dynamic


def replication_factor(admin, name: str) -> int:
    from confluent_kafka import TopicCollection

    found = admin.describe_topics(TopicCollection([name]), request_timeout=10)[name]
    return len(found.result(timeout=15).partitions[0].replicas)


def synced(world, key: str) -> dict:
    return world.condition("KafkaTopic", key, "Synced")


def test_serverless_refuses_keys_it_does_not_allow_and_applies_the_rest(kinds, admin, unique):
    name = f"serverless.events.{unique}"
    kinds.apply(
        topic_object(
            name,
            "serverless",
            partitions=2,
            config={
                "retention.ms": 3600000,
                "compression.type": "zstd",
                "min.insync.replicas": 1,
                "segment.bytes": 52428800,
                "max.message.bytes": 9000000,
            },
        )
    )
    kinds.sync_until("KafkaTopic", f"{NS}/{name}", driver.ready)

    values, dynamic = topic_config(admin, name)
    assert values["retention.ms"] == "3600000"
    assert values["compression.type"] == "zstd"
    assert dynamic == {"retention.ms", "compression.type"}, "refused keys never reached Kafka"

    condition = synced(kinds, f"{NS}/{name}")
    assert condition["status"] == "False"
    assert condition["reason"] == "ConfigValueTooLarge", "the first refusal, in key order"
    message = condition["message"]
    assert "config min.insync.replicas: MskServerless clusters allow only" in message
    assert "config segment.bytes: MskServerless clusters protect this key from change" in message
    assert "config max.message.bytes: MskServerless clusters allow at most 8388608" in message
    assert "serverless-config.html" in message


def test_serverless_changes_cleanup_policy_only_at_creation(kinds, admin, unique):
    name = f"serverless.compacted.{unique}"
    key = f"{NS}/{name}"
    kinds.apply(topic_object(name, "serverless", config={"retention.ms": 3600000}))
    kinds.sync_until("KafkaTopic", key, driver.ready)
    assert synced(kinds, key)["status"] == "True"

    kinds.apply(
        topic_object(
            name, "serverless", config={"retention.ms": 7200000, "cleanup.policy": "compact"}
        )
    )
    kinds.sync("KafkaTopic", key)

    values, _ = topic_config(admin, name)
    assert values["retention.ms"] == "7200000", "the allowed part of the spec is applied"
    assert values["cleanup.policy"] == "delete", "the create-only key is left as it was"
    condition = synced(kinds, key)
    assert (condition["status"], condition["reason"]) == ("False", "ConfigKeyCreateOnly")
    assert (
        "config cleanup.policy: MskServerless clusters accept this key only when the topic"
        in (condition["message"])
    )


def test_express_refuses_protected_keys_and_a_replication_factor_other_than_3(kinds, admin, unique):
    name = f"express.events.{unique}"
    key = f"{NS}/{name}"
    kinds.apply(
        topic_object(
            name,
            "express",
            partitions=3,
            replicationFactor=1,
            config={
                "retention.ms": 7200000,
                "message.timestamp.type": "LogAppendTime",
                "min.insync.replicas": 1,
                "unclean.leader.election.enable": True,
                "segment.ms": 600000,
            },
        )
    )
    obj = kinds.sync_until("KafkaTopic", key, driver.ready)

    values, dynamic = topic_config(admin, name)
    assert values["retention.ms"] == "7200000"
    assert values["message.timestamp.type"] == "LogAppendTime"
    assert dynamic == {"retention.ms", "message.timestamp.type"}
    # The refused replication factor is left to the broker's default (1 on the
    # one-node test broker; MSK Express would use 3).
    assert replication_factor(admin, name) == 1
    assert obj["status"]["partitions"] == 3

    condition = synced(kinds, key)
    assert (condition["status"], condition["reason"]) == ("False", "ConfigKeyProtected")
    message = condition["message"]
    assert "config min.insync.replicas: MskExpress clusters protect this key" in message
    assert "config unclean.leader.election.enable: MskExpress clusters protect this key" in message
    assert "config segment.ms: MskExpress clusters allow only" in message
    assert "replicationFactor: MskExpress clusters always use 3, got 1" in message
    assert "msk-configuration-express-read-write.html" in message


def test_the_same_keys_are_applied_on_a_plain_kafka_cluster(world, admin, unique):
    name = f"apache.events.{unique}"
    key = f"{NS}/{name}"
    world.apply(
        topic_object(name, "local", config={"min.insync.replicas": 1, "segment.ms": 600000})
    )
    world.sync_until("KafkaTopic", key, driver.ready)
    _, dynamic = topic_config(admin, name)
    assert dynamic == {"min.insync.replicas", "segment.ms"}
    assert synced(world, key)["status"] == "True"
