import pytest

from hooks.core import conditions as cond
from hooks.core.specs import SpecError, parse_cluster, parse_topic

BAD_TOPICS = [
    ("no cluster", {}, "spec.clusterRef: Missing data"),
    ("zero partitions", {"partitions": 0}, "spec.partitions: Must be greater than or equal to 1"),
    ("partitions as text", {"partitions": "3"}, "spec.partitions: Not a valid integer"),
    ("internal topic", {"topicName": "__consumer_offsets"}, "begins with '__'"),
    ("bad characters", {"topicName": "orders created"}, "is not a Kafka topic name"),
    ("too long", {"topicName": "a" * 250}, "is not a Kafka topic name"),
    ("dot", {"topicName": "."}, "is not a Kafka topic name"),
    (
        "config list",
        {"config": {"retention.ms": [1]}},
        "spec.config.retention.ms.value: expected a string",
    ),
    (
        "policy",
        {"deletionPolicy": "Keep"},
        "spec.deletionPolicy: expected one of Delete, Orphan, got 'Keep'",
    ),
    ("unknown field", {"partition": 3}, "spec.partition: Unknown field"),
]


@pytest.mark.parametrize("case,fields,fragment", BAD_TOPICS, ids=[c[0] for c in BAD_TOPICS])
def test_bad_topic_specs_name_the_field(case, fields, fragment):
    raw = {"clusterRef": {"name": "local"}, **fields} if case != "no cluster" else fields
    with pytest.raises(SpecError) as error:
        parse_topic(raw, "orders")
    assert fragment in str(error.value)


def test_bad_metadata_name_asks_for_topic_name():
    with pytest.raises(SpecError, match="metadata.name: .* set spec.topicName"):
        parse_topic({"clusterRef": {"name": "a"}}, "__internal")


def test_topic_defaults():
    spec = parse_topic({"clusterRef": {"name": "a"}}, "orders")
    assert (spec.topic_name, spec.partitions, spec.deletion_policy, spec.adopt_existing) == (
        "orders",
        None,
        "Delete",
        False,
    )


BAD_CLUSTERS = [
    ("nothing", {}, "give exactly one of bootstrapServers"),
    ("both", {"bootstrapServers": "a:1", "msk": {"clusterArn": "x"}}, "give exactly one of"),
    ("no port", {"bootstrapServers": "broker"}, "expected host:port entries"),
    ("empty item", {"bootstrapServers": "a:1,"}, "expected host:port entries"),
    ("type", {"bootstrapServers": "a:1", "clusterType": "Msk"}, "expected one of ApacheKafka"),
    ("endpoint", {"msk": {"clusterArn": "x", "endpoint": "Inside"}}, "spec.msk.endpoint"),
]


@pytest.mark.parametrize("case,raw,fragment", BAD_CLUSTERS, ids=[c[0] for c in BAD_CLUSTERS])
def test_bad_cluster_specs_name_the_field(case, raw, fragment):
    with pytest.raises(SpecError, match=fragment):
        parse_cluster(raw)


def test_cluster_servers_lose_spaces():
    assert parse_cluster({"bootstrapServers": "a:1, [::1]:2"}).bootstrap_servers == "a:1,[::1]:2"


def test_condition_keeps_its_transition_time_while_status_holds():
    before = cond.render([cond.ready()], None, 1, "2026-01-01T00:00:00Z")
    again = cond.render([cond.ready("Available", "new message")], before, 2, "2026-02-02T00:00:00Z")
    assert again[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert again[0]["observedGeneration"] == 2


def test_condition_takes_now_when_status_flips():
    before = cond.render([cond.ready()], None, 1, "2026-01-01T00:00:00Z")
    after = cond.render([cond.not_ready("Down", "x")], before, 1, "2026-02-02T00:00:00Z")
    assert after[0]["lastTransitionTime"] == "2026-02-02T00:00:00Z"


def test_conditions_are_sorted_and_ignore_malformed_history():
    out = cond.render([cond.synced(), cond.ready()], [{"type": 5}, "junk"], None, "t")
    assert [c["type"] for c in out] == ["Ready", "Synced"]
    assert "observedGeneration" not in out[0]


def test_broker_messages_lose_request_dumps_and_stay_short():
    from hooks.shell.kafka import brief

    dumped = "Cluster authorization failed. Request Request(processor=0, connectionId=1, session=Session(User:x))"
    assert brief(dumped) == "Cluster authorization failed."
    assert len(brief("x" * 1000)) == 300
    assert brief("Topic 'a' already exists.") == "Topic 'a' already exists."


@pytest.mark.parametrize(
    "raw,want",
    [
        ({"bootstrapServers": "a:1"}, "SecretCA"),
        (
            {"msk": {"clusterArn": "arn:aws:kafka:eu-west-1:123456789012:cluster/a/0a1b2c3d-1"}},
            "PublicRoots",
        ),
        ({"bootstrapServers": "a:1", "brokerTrust": "PublicRoots"}, "PublicRoots"),
    ],
    ids=[
        "own brokers trust the Secret's CA",
        "MSK brokers present public certificates",
        "explicit",
    ],
)
def test_broker_trust_defaults_by_where_the_brokers_are(raw, want):
    assert parse_cluster(raw).broker_trust == want


def test_public_roots_need_no_ca_in_the_secret():
    import base64

    from hooks.core.cluster import connect

    pem = open("tests/fixtures/operator-test.crt").read()
    key = open("tests/fixtures/operator-test.key").read()
    secret = {
        "data": {
            "tls.crt": base64.b64encode(pem.encode()).decode(),
            "tls.key": base64.b64encode(key.encode()).decode(),
        }
    }
    public = connect(
        "c",
        parse_cluster({"bootstrapServers": "a:1", "brokerTrust": "PublicRoots"}),
        "a:1",
        secret,
        "ns/c",
    )
    assert public.ca_pem == "" and public.operator_principal.startswith(
        "User:CN=kafka-access-operator"
    )
    private = connect("c", parse_cluster({"bootstrapServers": "a:1"}), "a:1", secret, "ns/c")
    assert private.reason == "CredentialsInvalid" and "ca.crt" in private.message
