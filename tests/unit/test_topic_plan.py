"""Table tests of the KafkaTopic planner: plain data in, a plan out."""

import pytest

from hooks.core import topic
from hooks.core.clusterkinds import topic_rules
from hooks.core.plan import AlterConfig, CreatePartitions, CreateTopic, Outcome
from hooks.core.specs import parse_topic

RULES = topic_rules("ApacheKafka")


def spec(**fields):
    raw = {"clusterRef": {"name": "local"}, **fields}
    return parse_topic(raw, "orders")


def observed(partitions=3, rf=1, topic_id="id-1", name="orders", **config):
    entries = {
        "retention.ms": topic.ConfigEntry("604800000", "DEFAULT_CONFIG"),
        "cleanup.policy": topic.ConfigEntry("delete", "DEFAULT_CONFIG"),
    }
    for key, value in config.items():
        entries[key.replace("_", ".")] = topic.ConfigEntry(value, topic.DYNAMIC_TOPIC)
    return topic.ObservedTopic(name, topic_id, partitions, rf, entries)


OWNED = topic.Memory(topic_name="orders", topic_id="id-1")

CASES = [
    # case, spec, observed, memory, want actions, want refusal reasons, reason
    (
        "create with defaults",
        spec(),
        None,
        topic.Memory(),
        (CreateTopic("orders", None, None, ()),),
        (),
        "absent fields are left to the broker's defaults",
    ),
    (
        "create with everything",
        spec(partitions=6, replicationFactor=1, config={"retention.ms": 1000}),
        None,
        topic.Memory(),
        (CreateTopic("orders", 6, 1, (("retention.ms", "1000"),)),),
        (),
        "the spec's fields go into one create",
    ),
    (
        "unchanged owned topic",
        spec(partitions=3, config={"retention.ms": "604800000"}),
        observed(),
        OWNED,
        (),
        (),
        "a value equal to the broker default is not set again",
    ),
    (
        "canonical values compare equal",
        spec(config={"min.cleanable.dirty.ratio": "0.50"}),
        observed(min_cleanable_dirty_ratio="0.5"),
        topic.Memory("orders", "id-1", ("min.cleanable.dirty.ratio",)),
        (),
        (),
        "0.50 and 0.5 are one value",
    ),
    (
        "grow partitions",
        spec(partitions=6),
        observed(),
        OWNED,
        (CreatePartitions("orders", 3, 6),),
        (),
        "partitions only grow",
    ),
    (
        "shrink refused, config still applied",
        spec(partitions=1, config={"retention.ms": 1000}),
        observed(),
        OWNED,
        (AlterConfig("orders", "retention.ms", "set", "604800000", "1000"),),
        ("PartitionDecreaseRefused",),
        "one refused field never blocks the others",
    ),
    (
        "replication factor change refused",
        spec(replicationFactor=3, config={"retention.ms": 1000}),
        observed(),
        OWNED,
        (AlterConfig("orders", "retention.ms", "set", "604800000", "1000"),),
        ("ReplicationFactorChangeRefused",),
        "the admin client cannot reassign replicas",
    ),
    (
        "revert a key the spec dropped",
        spec(),
        observed(retention_ms="1000"),
        topic.Memory("orders", "id-1", ("retention.ms",)),
        (AlterConfig("orders", "retention.ms", "delete", "1000", None),),
        (),
        "an owned dynamic key no longer listed goes back to the default",
    ),
    (
        "leave a key set by someone else",
        spec(),
        observed(retention_ms="1000"),
        OWNED,
        (),
        (),
        "a dynamic key this resource never set is not ours to revert",
    ),
    (
        "existing topic not adopted",
        spec(partitions=6),
        observed(topic_id="other"),
        topic.Memory(),
        (),
        ("TopicExists",),
        "a topic this resource did not create is left untouched",
    ),
    (
        "existing topic adopted",
        spec(partitions=6, adoptExisting=True),
        observed(topic_id="other", retention_ms="5"),
        topic.Memory(),
        (CreatePartitions("orders", 3, 6),),
        (),
        "adoption manages the topic, but reverts none of its existing keys",
    ),
    (
        "topic replaced behind our back",
        spec(),
        observed(topic_id="id-2"),
        OWNED,
        (),
        ("TopicReplaced",),
        "a new id means another topic; it is not ours",
    ),
    (
        "rename refused, old topic still managed",
        spec(topicName="orders.v2", partitions=6),
        observed(),
        OWNED,
        (CreatePartitions("orders", 3, 6),),
        ("TopicRenameRefused",),
        "Kafka cannot rename; the recorded topic keeps being reconciled",
    ),
    (
        "deleted out of band is created again",
        spec(partitions=3),
        None,
        OWNED,
        (CreateTopic("orders", 3, None, ()),),
        (),
        "the resource still wants the topic",
    ),
    (
        "pending creation owns the first id seen",
        spec(partitions=3),
        observed(topic_id="new"),
        topic.Memory("orders", None, (), True),
        (),
        (),
        "the topic this resource created and has not yet seen",
    ),
]


@pytest.mark.parametrize(
    "case,spec_,observed_,memory,want,refusals,reason", CASES, ids=[c[0] for c in CASES]
)
def test_plan(case, spec_, observed_, memory, want, refusals, reason):
    got = topic.plan(spec_, observed_, memory, RULES)
    assert got.actions == want, reason
    assert tuple(r.reason for r in got.refusals) == refusals, reason


def test_plan_is_deterministic():
    args = (spec(partitions=6, config={"b": 1, "a": 2}), observed(), OWNED, RULES)
    assert topic.plan(*args) == topic.plan(*args)
    keys = [a.key for a in topic.plan(*args).actions if isinstance(a, AlterConfig)]
    assert keys == sorted(keys)


def test_finalize_deletes_only_an_owned_topic_under_delete():
    assert topic.finalize_plan(spec(), observed(), OWNED)
    assert not topic.finalize_plan(spec(deletionPolicy="Orphan"), observed(), OWNED)
    assert not topic.finalize_plan(spec(), observed(topic_id="other"), OWNED)
    assert not topic.finalize_plan(spec(), None, OWNED)


def _status(spec_, before, after, memory, outcomes=()):
    plan = topic.plan(spec_, before, memory, RULES)
    return topic.status(topic.TopicState(spec_, plan, tuple(outcomes), after), memory)


def test_status_records_the_id_and_managed_keys_after_create():
    spec_ = spec(partitions=3, config={"retention.ms": 1000})
    fields, conds = _status(spec_, None, observed(retention_ms="1000"), topic.Memory())
    assert fields["topicId"] == "id-1"
    assert fields["managedConfigKeys"] == ["retention.ms"]
    assert fields["config"] == {"retention.ms": "1000"}
    assert [(c.type, c.status) for c in conds] == [("Ready", "True"), ("Synced", "True")]


def test_status_of_a_refusal_is_ready_but_not_synced():
    fields, conds = _status(spec(partitions=1), observed(), observed(), OWNED)
    ready, synced = conds
    assert ready.status == "True"
    assert synced.status == "False" and synced.reason == "PartitionDecreaseRefused"
    assert "1 is below the current 3" in synced.message


def test_status_of_a_foreign_topic_is_not_ready_and_records_no_id():
    fields, conds = _status(spec(), observed(topic_id="x"), observed(topic_id="x"), topic.Memory())
    assert "topicId" not in fields
    assert conds[0].reason == "TopicExists"


def test_status_keeps_a_key_whose_revert_failed():
    memory = topic.Memory("orders", "id-1", ("retention.ms",))
    before = observed(retention_ms="1000")
    plan = topic.plan(spec(), before, memory, RULES)
    outcomes = tuple(Outcome(a, "broker said no", "PolicyViolation") for a in plan.actions)
    fields, conds = topic.status(topic.TopicState(spec(), plan, outcomes, before), memory)
    assert fields["managedConfigKeys"] == ["retention.ms"]
    assert conds[1].reason == "PolicyViolation"


def test_status_marks_a_created_topic_not_yet_visible():
    plan = topic.plan(spec(), None, topic.Memory(), RULES)
    fields, conds = topic.status(
        topic.TopicState(spec(), plan, (Outcome(plan.actions[0]),), None), topic.Memory()
    )
    assert fields["pendingCreation"] is True
    assert conds[0].reason == "Creating"


def test_a_create_only_key_left_unchanged_is_no_refusal():
    rules = topic_rules("MskServerless")
    existing = observed(cleanup_policy="compact")
    got = topic.plan(spec(config={"cleanup.policy": "compact"}), existing, OWNED, rules)
    assert got.refusals == () and got.actions == ()
    changed = topic.plan(spec(config={"cleanup.policy": "delete"}), existing, OWNED, rules)
    assert [r.reason for r in changed.refusals] == ["ConfigKeyCreateOnly"]


def test_a_create_whose_answer_was_lost_still_claims_the_topic():
    plan = topic.plan(spec(), None, topic.Memory(), RULES)
    lost = (Outcome(plan.actions[0], "brokers did not answer", "ClusterUnreachable"),)
    fields, _ = topic.status(topic.TopicState(spec(), plan, lost, None), topic.Memory())
    assert fields["pendingCreation"] is True
    refused = (Outcome(plan.actions[0], "policy", "PolicyViolation"),)
    fields, _ = topic.status(topic.TopicState(spec(), plan, refused, None), topic.Memory())
    assert "pendingCreation" not in fields, "a create the broker refused made nothing"
