"""MskResolver against botocore's Stubber: every outcome, the cache, and no network.

Each test's client is a real botocore ``kafka`` client whose answers come from
the Stubber; a ``before-send`` hook records anything that would leave the
process, and sockets are shut for the whole module.
"""

import logging
import socket

import pytest

from hooks.core.specs import MskSource
from hooks.shell import msk as shell
from hooks.shell.budget import Budget
from tests.http.harness import stubbed_kafka_client

ARN = "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
TLS = "b-1.orders.x1.c2.kafka.eu-west-1.amazonaws.com:9094,b-2.orders.x1.c2.kafka.eu-west-1.amazonaws.com:9094"
PUBLIC = "b-1-public.orders.x1.c2.kafka.eu-west-1.amazonaws.com:9194"
VPC = "b-1.vpc-1.orders.x1.c2.kafka.eu-west-1.amazonaws.com:14001"
TLS6 = "b-1.orders.x1.c2.kafka-dualstack.eu-west-1.amazonaws.com:9094"
EVERY_LISTENER = {
    "BootstrapBrokerStringTls": TLS,
    "BootstrapBrokerStringTlsIpv6": TLS6,
    "BootstrapBrokerStringPublicTls": PUBLIC,
    "BootstrapBrokerStringVpcConnectivityTls": VPC,
    "BootstrapBrokerStringSaslIam": TLS.replace(":9094", ":9098"),
    "BootstrapBrokerStringSaslScram": TLS.replace(":9094", ":9096"),
    "BootstrapBrokerString": TLS.replace(":9094", ":9092"),
}


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    """Nothing in this module may open a connection, to AWS or anywhere else."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to open a connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Msk:
    """A stubbed MSK API for one region and the resolver that uses it."""

    def __init__(self, region="eu-west-1", **resolver):
        self.client, self.stubber, self.sent = stubbed_kafka_client(region)
        self.regions = []
        self.clock = Clock()
        self.stubber.activate()

        def client_for(asked):
            self.regions.append(asked)
            return self.client

        self.resolver = shell.MskResolver(client_for=client_for, clock=self.clock, **resolver)

    def describe(
        self, arn=ARN, state="ACTIVE", cluster_type="PROVISIONED", broker="kafka.m7g.large"
    ):
        info = {
            "ClusterArn": arn,
            "ClusterName": "orders",
            "ClusterType": cluster_type,
            "State": state,
        }
        if cluster_type == "PROVISIONED":
            info["Provisioned"] = {
                "BrokerNodeGroupInfo": {"InstanceType": broker, "ClientSubnets": ["subnet-1"]},
                "NumberOfBrokerNodes": 3,
            }
        self.stubber.add_response("describe_cluster_v2", {"ClusterInfo": info}, {"ClusterArn": arn})
        return self

    def brokers(self, answer, arn=ARN):
        self.stubber.add_response("get_bootstrap_brokers", answer, {"ClusterArn": arn})
        return self

    def fail(self, operation, code, status, message="", arn=ARN):
        self.stubber.add_client_error(
            operation,
            service_error_code=code,
            service_message=message,
            http_status_code=status,
            expected_params={"ClusterArn": arn},
        )
        return self

    def resolve(self, endpoint="Private", ip="IPv4", arn=ARN, cluster_type=None):
        source = MskSource(arn, endpoint, ip)
        return self.resolver.bootstrap_servers(source, Budget(7.0), cluster_type=cluster_type)

    def done(self):
        self.stubber.assert_no_pending_responses()
        assert self.sent == [], "a request got past the Stubber"


def lookup_error(call):
    with pytest.raises(shell.MskLookupError) as error:
        call()
    return error.value


ENDPOINTS = [
    ("private IPv4", "Private", "IPv4", TLS),
    ("private IPv6", "Private", "IPv6", TLS6),
    ("public", "Public", "IPv4", PUBLIC),
    ("VPC connectivity", "VpcConnectivity", "IPv4", VPC),
]


@pytest.mark.parametrize("case,endpoint,ip,want", ENDPOINTS, ids=[c[0] for c in ENDPOINTS])
def test_a_multi_listener_answer_gives_the_chosen_endpoints_tls_string(case, endpoint, ip, want):
    api = Msk().describe().brokers(EVERY_LISTENER)
    assert api.resolve(endpoint, ip, cluster_type="MskProvisioned") == want
    api.done()


@pytest.mark.parametrize("case,endpoint,ip,want", ENDPOINTS, ids=[c[0] for c in ENDPOINTS])
def test_an_answer_with_only_the_chosen_string_resolves(case, endpoint, ip, want):
    field = {
        ("Private", "IPv4"): "BootstrapBrokerStringTls",
        ("Private", "IPv6"): "BootstrapBrokerStringTlsIpv6",
        ("Public", "IPv4"): "BootstrapBrokerStringPublicTls",
        ("VpcConnectivity", "IPv4"): "BootstrapBrokerStringVpcConnectivityTls",
    }[(endpoint, ip)]
    api = Msk().describe().brokers({field: want})
    assert api.resolve(endpoint, ip) == want
    api.done()


def test_the_region_comes_from_the_arn():
    arn = ARN.replace("eu-west-1", "ap-southeast-2")
    api = (
        Msk(region="ap-southeast-2")
        .describe(arn=arn)
        .brokers({"BootstrapBrokerStringTls": TLS}, arn=arn)
    )
    assert api.resolve(arn=arn) == TLS
    assert api.regions == ["ap-southeast-2"]
    api.done()


def test_no_tls_listener_for_the_endpoint_names_the_endpoints_that_have_one():
    api = (
        Msk()
        .describe(broker="express.m7g.large")
        .brokers({"BootstrapBrokerStringTls": TLS, "BootstrapBrokerStringSaslIam": TLS})
    )
    error = lookup_error(lambda: api.resolve("VpcConnectivity", cluster_type="MskExpress"))
    assert error.reason == "MskNoTlsListener"
    assert "no TLS listener for endpoint VpcConnectivity over IPv4" in error.message
    assert "it has TLS listeners for Private/IPv4" in error.message
    api.done()


def test_a_serverless_cluster_has_no_tls_listener_and_says_why():
    api = (
        Msk()
        .describe(cluster_type="SERVERLESS")
        .brokers(
            {
                "BootstrapBrokerStringSaslIam": "boot-abc.c1.kafka-serverless.eu-west-1.amazonaws.com:9098"
            }
        )
    )
    error = lookup_error(lambda: api.resolve(cluster_type="MskServerless"))
    assert error.reason == "MskNoTlsListener"
    assert "MSK Serverless clusters accept only IAM access control" in error.message
    api.done()


def test_a_cluster_that_is_not_found():
    api = Msk().fail("describe_cluster_v2", "NotFoundException", 404, "Cluster not found")
    error = lookup_error(api.resolve)
    assert error.reason == "MskClusterNotFound"
    assert f"MSK cluster {ARN} was not found" in error.message
    assert "check the account, region and cluster id in spec.msk.clusterArn" in error.message
    assert not error.transient
    api.done()


@pytest.mark.parametrize("state", ["CREATING", "DELETING", "FAILED"])
def test_a_cluster_that_serves_no_clients_says_its_state_and_is_asked_again(state):
    api = (
        Msk()
        .describe(state=state)
        .describe(state="ACTIVE")
        .brokers({"BootstrapBrokerStringTls": TLS})
    )
    error = lookup_error(api.resolve)
    assert error.reason == "MskClusterNotActive"
    assert f"is {state}, not ACTIVE" in error.message
    assert api.resolve() == TLS, "an answer for a cluster that is not serving is not cached"
    api.done()


@pytest.mark.parametrize("state", ["UPDATING", "MAINTENANCE", "HEALING", "REBOOTING_BROKER"])
def test_a_cluster_busy_with_an_operation_still_resolves(state):
    api = Msk().describe(state=state).brokers({"BootstrapBrokerStringTls": TLS})
    assert api.resolve() == TLS
    api.done()


DENIALS = [
    (
        "describe forbidden",
        "describe_cluster_v2",
        "ForbiddenException",
        403,
        "kafka:DescribeClusterV2",
    ),
    (
        "describe IAM denial",
        "describe_cluster_v2",
        "AccessDeniedException",
        403,
        "kafka:DescribeClusterV2",
    ),
    (
        "brokers forbidden",
        "get_bootstrap_brokers",
        "ForbiddenException",
        403,
        "kafka:GetBootstrapBrokers",
    ),
]


@pytest.mark.parametrize("case,operation,code,status,action", DENIALS, ids=[c[0] for c in DENIALS])
def test_access_denied_names_the_iam_actions(case, operation, code, status, action):
    api = Msk()
    if operation == "get_bootstrap_brokers":
        api.describe()
    api.fail(
        operation,
        code,
        status,
        "User: arn:aws:sts::123456789012:assumed-role/hook/x is not authorized",
    )
    error = lookup_error(api.resolve)
    assert error.reason == "MskAccessDenied"
    assert f"the MSK API denied {action} on {ARN}" in error.message
    assert "allow kafka:DescribeClusterV2 and kafka:GetBootstrapBrokers" in error.message
    assert "assumed-role/hook/x" in error.message, "the denied role helps find the policy to fix"
    api.done()


OTHER_FAILURES = [
    ("credentials not valid", "UnauthorizedException", 401, "MskCredentialsRejected", False),
    ("bad request", "BadRequestException", 400, "MskBadRequest", False),
    ("throttled", "TooManyRequestsException", 429, "MskApiUnavailable", True),
    ("server error", "InternalServerErrorException", 500, "MskApiUnavailable", True),
    ("unavailable", "ServiceUnavailableException", 503, "MskApiUnavailable", True),
    ("unknown code", "SomethingNewException", 418, "MskLookupFailed", True),
]


@pytest.mark.parametrize(
    "case,code,status,reason,transient", OTHER_FAILURES, ids=[c[0] for c in OTHER_FAILURES]
)
def test_other_api_failures_have_their_own_reasons(case, code, status, reason, transient):
    api = (
        Msk()
        .fail("describe_cluster_v2", code, status)
        .describe()
        .brokers({"BootstrapBrokerStringTls": TLS})
    )
    error = lookup_error(api.resolve)
    assert (error.reason, error.transient) == (reason, transient)
    assert api.resolve() == TLS, "a failure is not cached"
    api.done()


def test_a_malformed_arn_is_refused_without_asking_aws():
    api = Msk()
    error = lookup_error(
        lambda: api.resolve(arn="arn:aws:kafka:eu-west-1:123456789012:topic/a/b/c")
    )
    assert error.reason == "MskClusterArnInvalid"
    assert "spec.msk.clusterArn: expected an MSK cluster ARN" in error.message
    assert api.regions == [], "no client was even made"
    api.done()


def test_a_cluster_type_that_disagrees_is_refused_after_the_lookup():
    api = Msk().describe(broker="express.m7g.4xlarge").brokers({"BootstrapBrokerStringTls": TLS})
    error = lookup_error(lambda: api.resolve(cluster_type="MskServerless"))
    assert error.reason == "MskClusterTypeMismatch"
    assert "is MskExpress (broker type express.m7g.4xlarge)" in error.message
    assert api.resolve(cluster_type="MskExpress") == TLS, "the answer itself was cached"
    api.done()


def test_answers_are_cached_per_cluster_until_they_expire():
    api = (
        Msk(ttl=300.0)
        .describe()
        .brokers(EVERY_LISTENER)
        .describe()
        .brokers({"BootstrapBrokerStringTls": TLS6})
    )
    assert api.resolve() == TLS
    api.clock.now += 299
    assert api.resolve("Public") == PUBLIC, "another endpoint of the same cluster shares the answer"
    api.clock.now += 2
    assert api.resolve() == TLS6, "after the TTL the cluster is asked again"
    api.done()


def test_forget_drops_the_cached_answer():
    api = (
        Msk()
        .describe()
        .brokers({"BootstrapBrokerStringTls": TLS})
        .describe()
        .brokers({"BootstrapBrokerStringTls": TLS6})
    )
    assert api.resolve() == TLS
    api.resolver.forget(MskSource(ARN, "Public", "IPv4"))
    assert api.resolve() == TLS6
    api.resolver.forget(MskSource("not an arn", "Private", "IPv4"))  # nothing to drop, no error
    api.done()


def test_clients_are_made_once_per_region():
    api = (
        Msk()
        .describe()
        .brokers({"BootstrapBrokerStringTls": TLS})
        .describe()
        .brokers({"BootstrapBrokerStringTls": TLS})
    )
    api.resolve()
    api.resolver.forget(MskSource(ARN, "Private", "IPv4"))
    api.resolve()
    assert api.regions == ["eu-west-1"]
    api.done()


def test_a_spent_budget_asks_nothing():
    api = Msk()
    budget = Budget(7.0, started=0.0)  # started long ago
    error = lookup_error(
        lambda: api.resolver.bootstrap_servers(MskSource(ARN, "Private", "IPv4"), budget)
    )
    assert (error.reason, error.transient) == ("MskLookupTimedOut", True)
    api.done()


def test_credentials_never_reach_messages_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    api = Msk().fail(
        "describe_cluster_v2",
        "ForbiddenException",
        403,
        "request signed with AKIAABCDEFGHIJKLMNOP was denied",
    )
    error = lookup_error(api.resolve)
    assert "AKIAABCDEFGHIJKLMNOP" not in error.message
    assert "<redacted>" in error.message
    for text in (error.message, caplog.text):
        for secret in ("test-secret-never-shown", "test-token-never-shown", "AKIDEXAMPLETESTONLY"):
            assert secret not in text
    api.done()


def test_missing_credentials_ask_for_pod_identity_or_irsa():
    from botocore.exceptions import NoCredentialsError

    class NoCredentials:
        def describe_cluster_v2(self, **_):
            raise NoCredentialsError()

    resolver = shell.MskResolver(client_for=lambda region: NoCredentials())
    error = lookup_error(
        lambda: resolver.bootstrap_servers(MskSource(ARN, "Private", "IPv4"), Budget(7.0))
    )
    assert error.reason == "MskCredentialsMissing"
    assert "EKS Pod Identity or IRSA" in error.message


def test_an_unreachable_api_is_a_transient_failure():
    from botocore.exceptions import EndpointConnectionError

    class Unreachable:
        def describe_cluster_v2(self, **_):
            raise EndpointConnectionError(endpoint_url="https://kafka.eu-west-1.amazonaws.com")

    resolver = shell.MskResolver(client_for=lambda region: Unreachable())
    error = lookup_error(
        lambda: resolver.bootstrap_servers(MskSource(ARN, "Private", "IPv4"), Budget(7.0))
    )
    assert (error.reason, error.transient) == ("MskApiUnreachable", True)


def test_the_default_client_fits_the_budget_and_uses_the_arns_region():
    client = shell._default_client("eu-north-1", 7.0)
    config = client.meta.config
    assert client.meta.region_name == "eu-north-1"
    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)
    assert config.retries["total_max_attempts"] == 2
    short = shell._default_client("eu-north-1", 3.5).meta.config
    assert (short.connect_timeout, short.read_timeout) == (0.5, 1.0)


def test_the_default_resolver_makes_no_client_until_asked(monkeypatch):
    made = []
    monkeypatch.setattr(
        shell, "_default_client", lambda region, seconds: made.append((region, seconds))
    )
    resolver = shell.MskResolver()
    resolver.forget(MskSource(ARN, "Private", "IPv4"))
    assert made == []
    client, stubber, sent = stubbed_kafka_client("eu-west-1")
    stubber.add_client_error("describe_cluster_v2", "NotFoundException", http_status_code=404)
    stubber.activate()
    monkeypatch.setattr(
        shell, "_default_client", lambda region, seconds: made.append((region, seconds)) or client
    )
    lookup_error(lambda: resolver.bootstrap_servers(MskSource(ARN, "Private", "IPv4"), Budget(6.0)))
    assert made == [("eu-west-1", 6.0)], "the client's timeouts come from the call's budget"
    assert sent == []
