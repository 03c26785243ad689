"""Each cluster kind's topic rules, as tables of (case, reason, want)."""

from dataclasses import dataclass

import pytest

from hooks.core import clusterkinds
from hooks.core.clusterkinds import topic_rules
from hooks.core.specs import CLUSTER_TYPES, TopicSpec, parse_topic


def spec(config=None, rf=None):
    return TopicSpec(
        cluster="c",
        topic_name="orders",
        partitions=3,
        replication_factor=rf,
        config=tuple(sorted((config or {}).items())),
        deletion_policy="Delete",
        adopt_existing=False,
    )


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    config: dict
    want_kept: dict
    want_reasons: tuple = ()
    rf: int | None = None
    want_rf: int | None = None
    exists: bool = False
    current: dict | None = None
    reason: str = ""


CASES = [
    # Apache Kafka and MSK provisioned (Standard brokers) restrict no key.
    Case(
        "apache kafka takes any key",
        "ApacheKafka",
        {"segment.bytes": "1048576", "min.insync.replicas": "2", "cleanup.policy": "compact"},
        {"segment.bytes": "1048576", "min.insync.replicas": "2", "cleanup.policy": "compact"},
        rf=1,
        want_rf=1,
        exists=True,
        reason="plain Apache Kafka has no service rules",
    ),
    Case(
        "standard brokers take any key",
        "MskProvisioned",
        {"segment.bytes": "1048576", "unclean.leader.election.enable": "false"},
        {"segment.bytes": "1048576", "unclean.leader.election.enable": "false"},
        rf=2,
        want_rf=2,
        reason="the Standard broker docs list no topic-level restriction",
    ),
    # MSK Serverless.
    Case(
        "serverless settable keys pass",
        "MskServerless",
        {"retention.ms": "-1", "retention.bytes": "-1", "compression.type": "zstd"},
        {"retention.ms": "-1", "retention.bytes": "-1", "compression.type": "zstd"},
        reason="the serverless table lists them as editable, unlimited with -1",
    ),
    Case(
        "serverless refuses unlisted keys and keeps the rest",
        "MskServerless",
        {"min.insync.replicas": "2", "retention.ms": "86400000"},
        {"retention.ms": "86400000"},
        ("ConfigKeyNotAllowed",),
        reason="all other topic-level properties are not configurable",
    ),
    Case(
        "serverless protects segment.bytes",
        "MskServerless",
        {"segment.bytes": "52428800"},
        {},
        ("ConfigKeyProtected",),
        reason="the serverless page notes segment.bytes cannot be modified",
    ),
    Case(
        "serverless cleanup.policy at creation",
        "MskServerless",
        {"cleanup.policy": "compact"},
        {"cleanup.policy": "compact"},
        reason="cleanup.policy is editable at topic creation time",
    ),
    Case(
        "serverless cleanup.policy change on an existing topic",
        "MskServerless",
        {"cleanup.policy": "compact", "retention.ms": "1000"},
        {"retention.ms": "1000"},
        ("ConfigKeyCreateOnly",),
        exists=True,
        current={"cleanup.policy": "delete"},
        reason="only at topic creation time",
    ),
    Case(
        "serverless cleanup.policy unchanged on an existing topic",
        "MskServerless",
        {"cleanup.policy": "compact"},
        {"cleanup.policy": "compact"},
        exists=True,
        current={"cleanup.policy": "compact"},
        reason="a create-only key that already has its value asks for no change",
    ),
    Case(
        "serverless cleanup.policy on an existing topic without its values",
        "MskServerless",
        {"cleanup.policy": "compact"},
        {},
        ("ConfigKeyCreateOnly",),
        exists=True,
        reason="without the current values a create-only key cannot be shown unchanged",
    ),
    Case(
        "serverless max.message.bytes at the limit",
        "MskServerless",
        {"max.message.bytes": "8388608"},
        {"max.message.bytes": "8388608"},
        reason="8388608 (8 MiB) is the maximum allowed value",
    ),
    Case(
        "serverless max.message.bytes above the limit",
        "MskServerless",
        {"max.message.bytes": "8388609"},
        {},
        ("ConfigValueTooLarge",),
        reason="8388608 (8 MiB) is the maximum allowed value",
    ),
    Case(
        "serverless leaves a non-integer to the brokers",
        "MskServerless",
        {"max.message.bytes": "lots"},
        {"max.message.bytes": "lots"},
        reason="the limit compares integers only",
    ),
    Case(
        "serverless fixes no replication factor",
        "MskServerless",
        {},
        {},
        rf=2,
        want_rf=2,
        reason="the serverless docs say nothing about the replication factor",
    ),
    # MSK Express brokers.
    Case(
        "express settable keys pass on an existing topic",
        "MskExpress",
        {
            "cleanup.policy": "compact",
            "delete.retention.ms": "1000",
            "message.timestamp.after.max.ms": "3600000",
            "retention.ms": "-1",
        },
        {
            "cleanup.policy": "compact",
            "delete.retention.ms": "1000",
            "message.timestamp.after.max.ms": "3600000",
            "retention.ms": "-1",
        },
        exists=True,
        current={},
        reason="the Express topic table lists them for new and existing topics",
    ),
    Case(
        "express protects min.insync.replicas",
        "MskExpress",
        {"min.insync.replicas": "1", "retention.ms": "1000"},
        {"retention.ms": "1000"},
        ("ConfigKeyProtected",),
        reason="MSK protects min.insync.replicas on Express brokers",
    ),
    Case(
        "express protects unclean leader election",
        "MskExpress",
        {"unclean.leader.election.enable": "true"},
        {},
        ("ConfigKeyProtected",),
        reason="MSK protects unclean.leader.election.enable on Express brokers",
    ),
    Case(
        "express protects segment.bytes",
        "MskExpress",
        {"segment.bytes": "52428800"},
        {},
        ("ConfigKeyProtected",),
        reason="the Kafka Streams page: Express protects segment size at creation",
    ),
    Case(
        "express refuses unlisted keys",
        "MskExpress",
        {"segment.ms": "600000", "compression.type": "lz4"},
        {"compression.type": "lz4"},
        ("ConfigKeyNotAllowed",),
        reason="segment.ms is not in the Express topic table",
    ),
    Case(
        "express replication factor 3 passes",
        "MskExpress",
        {},
        {},
        rf=3,
        want_rf=3,
        reason="Express topics always have replication factor 3",
    ),
    Case(
        "express replication factor 1 is refused, the rest applies",
        "MskExpress",
        {"retention.ms": "1000"},
        {"retention.ms": "1000"},
        ("ReplicationFactorFixed",),
        rf=1,
        want_rf=None,
        reason="MSK would create the topic with 3 anyway",
    ),
    Case(
        "express several refusals at once",
        "MskExpress",
        {"min.insync.replicas": "2", "preallocate": "true", "retention.bytes": "1"},
        {"retention.bytes": "1"},
        ("ConfigKeyProtected", "ConfigKeyNotAllowed", "ReplicationFactorFixed"),
        rf=5,
        reason="each broken rule is its own refusal, in key order",
    ),
    Case(
        "unknown kinds get Apache Kafka's rules",
        "Redpanda",
        {"segment.bytes": "1"},
        {"segment.bytes": "1"},
        reason="topic_rules falls back to ApacheKafka",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rules(case):
    allowed, refusals = topic_rules(case.kind).apply(
        spec(case.config, case.rf), exists=case.exists, current=case.current
    )
    assert allowed.config_map == case.want_kept, case.reason
    assert allowed.replication_factor == case.want_rf, case.reason
    assert tuple(r.reason for r in refusals) == case.want_reasons, case.reason
    assert allowed.partitions == 3 and allowed.topic_name == "orders"


MESSAGES = [
    (
        "MskServerless",
        {"segment.bytes": "1"},
        None,
        "config segment.bytes: MskServerless clusters protect this key from change",
        "serverless-config.html",
    ),
    (
        "MskServerless",
        {"min.insync.replicas": "2"},
        None,
        "config min.insync.replicas: MskServerless clusters allow only cleanup.policy, "
        "compression.type, max.message.bytes",
        "serverless-config.html",
    ),
    (
        "MskServerless",
        {"max.message.bytes": "9000000"},
        None,
        "config max.message.bytes: MskServerless clusters allow at most 8388608, got 9000000",
        "serverless-config.html",
    ),
    (
        "MskExpress",
        {"min.insync.replicas": "2"},
        None,
        "config min.insync.replicas: MskExpress clusters protect this key",
        "msk-configuration-express-read-write.html#msk-configuration-express-topic-configuration",
    ),
    (
        "MskExpress",
        {"segment.bytes": "1"},
        None,
        "config segment.bytes: MskExpress clusters protect this key",
        "use-kafka-streams-express-brokers-msk-serverless.html",
    ),
    (
        "MskExpress",
        {},
        1,
        "replicationFactor: MskExpress clusters always use 3, got 1; leave it out or set 3",
        "msk-configuration-express-read-write.html",
    ),
]


@pytest.mark.parametrize("kind,config,rf,fragment,source", MESSAGES)
def test_refusals_name_the_key_the_rule_and_the_source(kind, config, rf, fragment, source):
    _, refusals = topic_rules(kind).apply(spec(config, rf), exists=False)
    (refusal,) = refusals
    assert fragment in refusal.message
    assert f"(see https://docs.aws.amazon.com/msk/latest/developerguide/{source}" in refusal.message


def test_create_only_refusal_says_what_cannot_be_applied():
    _, (refusal,) = topic_rules("MskServerless").apply(
        spec({"cleanup.policy": "compact"}), exists=True, current={"cleanup.policy": "delete"}
    )
    assert refusal.message.startswith(
        "config cleanup.policy: MskServerless clusters accept this key only when the topic "
        "is created, so 'compact' cannot be applied to the existing topic"
    )


def test_every_cluster_type_has_rules():
    assert set(clusterkinds._RULES) == set(CLUSTER_TYPES)
    for kind in CLUSTER_TYPES:
        assert topic_rules(kind).cluster_type == kind


@pytest.mark.parametrize("kind", CLUSTER_TYPES)
def test_every_msk_rule_cites_a_source(kind):
    rules = topic_rules(kind)
    restricted = rules.settable is not None or rules.fixed_replication_factor or rules.maximums
    assert bool(rules.source) == bool(restricted)
    for _key, source in rules.protected:
        assert source.startswith("https://docs.aws.amazon.com/msk/")


INTERNAL = [
    ("ApacheKafka", "__consumer_offsets", True),
    ("ApacheKafka", "__transaction_state", True),
    ("ApacheKafka", "__amazon_msk_canary", False),
    ("MskProvisioned", "__amazon_msk_canary", True),
    ("MskExpress", "__amazon_msk_canary", True),
    ("MskServerless", "__consumer_offsets", True),
    ("MskProvisioned", "orders", False),
]


@pytest.mark.parametrize("kind,topic,internal", INTERNAL)
def test_internal_topics_of_each_kind(kind, topic, internal):
    assert topic_rules(kind).is_internal(topic) is internal


@pytest.mark.parametrize("kind", CLUSTER_TYPES)
def test_a_kafka_topic_can_never_name_an_internal_topic(kind):
    for topic in topic_rules(kind).internal_topics:
        with pytest.raises(ValueError, match="begins with '__'"):
            parse_topic({"clusterRef": {"name": "c"}, "topicName": topic}, "x")


@pytest.mark.parametrize("kind", CLUSTER_TYPES)
def test_settable_create_only_and_protected_keys_do_not_overlap(kind):
    rules = topic_rules(kind)
    protected = {key for key, _ in rules.protected}
    if rules.settable is not None:
        assert rules.create_only <= rules.settable
        assert not protected & rules.settable
        assert {key for key, _ in rules.maximums} <= rules.settable
