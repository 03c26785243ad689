"""The pure MSK decisions: cluster ARNs, the bootstrap string to use, the cluster's kind."""

import pytest

from hooks.core import msk
from hooks.core.plan import Refusal
from hooks.core.specs import SpecError, parse_cluster

ARN = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"

GOOD_ARNS = [
    ("commercial", ARN, ("aws", "eu-west-1", "123456789012", "orders")),
    (
        "gov cloud",
        "arn:aws-us-gov:kafka:us-gov-west-1:123456789012:cluster/a-b/0a1b2c3d-4e5f-6789-abcd-ef0123456789-s1",
        ("aws-us-gov", "us-gov-west-1", "123456789012", "a-b"),
    ),
    (
        "china",
        "arn:aws-cn:kafka:cn-north-1:123456789012:cluster/x/0a1b2c3d-4e5f-6789-abcd-ef0123456789-1",
        ("aws-cn", "cn-north-1", "123456789012", "x"),
    ),
    ("spaces around", f"  {ARN} ", ("aws", "eu-west-1", "123456789012", "orders")),
]


@pytest.mark.parametrize("case,text,want", GOOD_ARNS, ids=[c[0] for c in GOOD_ARNS])
def test_cluster_arns_split_into_their_parts(case, text, want):
    arn = msk.parse_arn(text)
    assert (arn.partition, arn.region, arn.account, arn.name) == want
    assert str(arn) == text.strip()


BAD_ARNS = [
    ("empty", "", "got ''"),
    ("not a string", 7, "got 7"),
    ("a name, not an ARN", "orders", "copy it from the MSK console"),
    ("another service", "arn:aws:ec2:eu-west-1:123456789012:cluster/a/b", "the 'ec2' service"),
    (
        "an MSK configuration",
        "arn:aws:kafka:eu-west-1:123456789012:configuration/a/b",
        "names an MSK 'configuration', not a cluster",
    ),
    (
        "no cluster id",
        "arn:aws:kafka:eu-west-1:123456789012:cluster/orders",
        "must be cluster/<name>/<cluster id>",
    ),
    ("short account", ARN.replace("123456789012", "12345"), "12-digit account"),
    ("no region", ARN.replace("eu-west-1", ""), "expected an MSK cluster ARN"),
    ("name too long", ARN.replace("orders", "o" * 65), "expected an MSK cluster ARN"),
]


@pytest.mark.parametrize("case,text,fragment", BAD_ARNS, ids=[c[0] for c in BAD_ARNS])
def test_malformed_arns_say_what_was_expected(case, text, fragment):
    with pytest.raises(msk.ArnError) as error:
        msk.parse_arn(text)
    assert fragment in str(error.value)
    assert msk.ARN_FORM in str(error.value)


SPECS = [
    (
        "malformed ARN names the field",
        {"msk": {"clusterArn": "orders"}},
        "spec.msk.clusterArn: expected an MSK cluster ARN",
    ),
    (
        "IPv6 on the public endpoint",
        {"msk": {"clusterArn": ARN, "endpoint": "Public", "ipVersion": "IPv6"}},
        "spec.msk.ipVersion: MSK offers IPv6 bootstrap brokers only on the Private endpoint",
    ),
    (
        "IPv6 on VPC connectivity",
        {"msk": {"clusterArn": ARN, "endpoint": "VpcConnectivity", "ipVersion": "IPv6"}},
        "not on VpcConnectivity",
    ),
    (
        "both problems at once",
        {"msk": {"clusterArn": "x", "endpoint": "Public", "ipVersion": "IPv6"}},
        "spec.msk.clusterArn: expected an MSK cluster ARN",
    ),
]


@pytest.mark.parametrize("case,raw,fragment", SPECS, ids=[c[0] for c in SPECS])
def test_cluster_specs_check_the_msk_source(case, raw, fragment):
    with pytest.raises(SpecError) as error:
        parse_cluster(raw)
    assert fragment in str(error.value)


def test_a_good_msk_source_parses_with_defaults():
    spec = parse_cluster({"msk": {"clusterArn": ARN}, "clusterType": "MskExpress"})
    assert (spec.msk.cluster_arn, spec.msk.endpoint, spec.msk.ip_version) == (
        ARN,
        "Private",
        "IPv4",
    )
    assert spec.bootstrap_servers is None


# A GetBootstrapBrokers answer of a cluster with every kind of listener turned on.
EVERYTHING = {
    "BootstrapBrokerString": "b-1.x:9092",
    "BootstrapBrokerStringTls": "b-1.x:9094,b-2.x:9094",
    "BootstrapBrokerStringTlsIpv6": "b-1.x6:9094",
    "BootstrapBrokerStringPublicTls": "b-1.public.x:9194",
    "BootstrapBrokerStringVpcConnectivityTls": "b-1.vpc.x:14001",
    "BootstrapBrokerStringSaslIam": "b-1.x:9098",
    "BootstrapBrokerStringPublicSaslIam": "b-1.public.x:9198",
    "BootstrapBrokerStringSaslScram": "b-1.x:9096",
}

CHOICES = [
    ("private IPv4", "Private", "IPv4", "b-1.x:9094,b-2.x:9094"),
    ("private IPv6", "Private", "IPv6", "b-1.x6:9094"),
    ("public", "Public", "IPv4", "b-1.public.x:9194"),
    ("VPC connectivity", "VpcConnectivity", "IPv4", "b-1.vpc.x:14001"),
]


@pytest.mark.parametrize("case,endpoint,ip,want", CHOICES, ids=[c[0] for c in CHOICES])
def test_the_tls_string_of_the_chosen_endpoint_is_picked(case, endpoint, ip, want):
    assert msk.choose_bootstrap(EVERYTHING, endpoint, ip, ARN) == want


def test_spaces_in_the_bootstrap_string_are_dropped():
    answer = {"BootstrapBrokerStringTls": " b-1.x:9094 , b-2.x:9094 ,"}
    assert msk.choose_bootstrap(answer, "Private", "IPv4", ARN) == "b-1.x:9094,b-2.x:9094"


MISSING = [
    (
        "public asked, private only",
        {"BootstrapBrokerStringTls": "b-1.x:9094"},
        "Public",
        "IPv4",
        "it has TLS listeners for Private/IPv4; set spec.msk.endpoint",
    ),
    (
        "IPv6 asked, IPv4 only",
        {"BootstrapBrokerStringTls": "b-1.x:9094", "BootstrapBrokerStringPublicTls": "p:9194"},
        "Private",
        "IPv6",
        "Private/IPv4, Public/IPv4; set spec.msk.endpoint and spec.msk.ipVersion to one of "
        "those, or update the cluster's network type to dual-stack",
    ),
    (
        "IAM and SCRAM only",
        {"BootstrapBrokerStringSaslIam": "b:9098", "BootstrapBrokerStringSaslScram": "b:9096"},
        "Private",
        "IPv4",
        "it offers only SASL/IAM, SASL/SCRAM; turn on TLS client authentication",
    ),
    (
        "plaintext only",
        {"BootstrapBrokerString": "b:9092"},
        "Private",
        "IPv4",
        "it offers only plaintext",
    ),
    ("nothing", {}, "Private", "IPv4", "returned no bootstrap brokers at all"),
    (
        "empty strings count as missing",
        {"BootstrapBrokerStringTls": "", "BootstrapBrokerStringPublicTls": "  "},
        "Public",
        "IPv4",
        "returned no bootstrap brokers at all",
    ),
]


@pytest.mark.parametrize("case,answer,endpoint,ip,fragment", MISSING, ids=[c[0] for c in MISSING])
def test_an_answer_without_the_tls_string_names_what_there_is(case, answer, endpoint, ip, fragment):
    refusal = msk.choose_bootstrap(answer, endpoint, ip, ARN)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == "MskNoTlsListener"
    assert f"no TLS listener for endpoint {endpoint} over {ip}" in refusal.message
    assert fragment in refusal.message


def test_serverless_clusters_are_told_apart_when_they_have_no_tls():
    answer = {"BootstrapBrokerStringSaslIam": "boot-x.c1.kafka-serverless.eu-west-1:9098"}
    refusal = msk.choose_bootstrap(answer, "Private", "IPv4", ARN, kind="MskServerless")
    assert "MSK Serverless clusters accept only IAM access control" in refusal.message


def test_an_impossible_endpoint_is_refused_even_if_asked_directly():
    refusal = msk.choose_bootstrap(EVERYTHING, "Public", "IPv6", ARN)
    assert refusal.reason == "MskEndpointUnsupported"


def _described(cluster_type="PROVISIONED", state="ACTIVE", instance="kafka.m7g.large"):
    info = {"ClusterArn": ARN, "ClusterType": cluster_type, "State": state}
    if cluster_type == "PROVISIONED":
        info["Provisioned"] = {"BrokerNodeGroupInfo": {"InstanceType": instance}}
    return {"ClusterInfo": info}


KINDS = [
    ("standard brokers", _described(), "MskProvisioned", "kafka.m7g.large"),
    ("t3 brokers", _described(instance="kafka.t3.small"), "MskProvisioned", "kafka.t3.small"),
    (
        "express brokers",
        _described(instance="express.m7g.xlarge"),
        "MskExpress",
        "express.m7g.xlarge",
    ),
    ("serverless", _described("SERVERLESS"), "MskServerless", None),
    ("empty answer", {}, "MskProvisioned", None),
]


@pytest.mark.parametrize("case,answer,kind,broker", KINDS, ids=[c[0] for c in KINDS])
def test_the_cluster_kind_comes_from_cluster_type_and_broker_size(case, answer, kind, broker):
    cluster = msk.MskCluster.from_answer(answer)
    assert (cluster.kind, cluster.broker_type) == (kind, broker)


STATES = [
    ("active", "ACTIVE", None),
    ("updating still serves", "UPDATING", None),
    ("maintenance still serves", "MAINTENANCE", None),
    ("healing still serves", "HEALING", None),
    ("rebooting a broker still serves", "REBOOTING_BROKER", None),
    ("creating", "CREATING", "is CREATING, not ACTIVE, and serves no clients; wait until"),
    ("deleting", "DELETING", "is DELETING, not ACTIVE"),
    ("failed", "FAILED", "is FAILED, not ACTIVE"),
    ("no state at all", None, "is UNKNOWN, not ACTIVE"),
]


@pytest.mark.parametrize("case,state,fragment", STATES, ids=[c[0] for c in STATES])
def test_only_clusters_that_serve_clients_pass(case, state, fragment):
    cluster = msk.MskCluster.from_answer(_described(state=state))
    problem = msk.check_cluster(cluster, "MskProvisioned", ARN)
    if fragment is None:
        assert problem is None
    else:
        assert problem.reason == "MskClusterNotActive"
        assert fragment in problem.message


MISMATCHES = [
    ("express declared provisioned", _described(instance="express.m7g.large"), "MskProvisioned"),
    ("provisioned declared express", _described(), "MskExpress"),
    ("serverless declared default", _described("SERVERLESS"), "ApacheKafka"),
]


@pytest.mark.parametrize("case,answer,declared", MISMATCHES, ids=[c[0] for c in MISMATCHES])
def test_a_cluster_type_that_disagrees_with_msk_is_refused(case, answer, declared):
    cluster = msk.MskCluster.from_answer(answer)
    problem = msk.check_cluster(cluster, declared, ARN)
    assert problem.reason == "MskClusterTypeMismatch"
    assert f"spec.clusterType is {declared}" in problem.message
    assert f"set spec.clusterType: {cluster.kind}" in problem.message


def test_no_declared_type_means_no_kind_check():
    cluster = msk.MskCluster.from_answer(_described(instance="express.m7g.large"))
    assert msk.check_cluster(cluster, None, ARN) is None
