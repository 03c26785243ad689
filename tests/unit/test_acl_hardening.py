"""KafkaACL contract breaks an adversarial review found, each kept fixed by a test.

The operator's grants leave with the last binding that needs them; a
KafkaACL's memory names its cluster; control characters and unparsable
hosts are spec errors; status entries the admin client cannot express are
skipped; a binding another resource made is never claimed; a refusal that
repeats is logged once. Against the recording fake (and, for the port, a
stub admin client).
"""

from __future__ import annotations

import base64
import copy
import datetime
import logging

import pytest

from hooks.core import acl
from hooks.core.acl import Binding, BindingFilter, ResourcePattern
from hooks.core.request import parse_parent, parse_sync
from hooks.core.specs import SpecError
from hooks.errors import KafkaRequestError, KafkaUnavailable
from hooks.reconcile import acl as hook
from hooks.reconcile.common import Env
from hooks.shell.budget import Budget
from hooks.shell.kafka import AdminPort, _acl_binding, _exact_filter
from tests.fakes import FakeClients, FakeKafka
from tests.http import harness

NOW = "2026-12-01T00:00:00Z"
OPERATOR = "User:CN=kafka-access-operator,OU=platform,O=Example Corp,C=DE"
ORDERS = "User:CN=orders,OU=team-a,O=Example Corp,C=DE"
ANALYTICS = "User:CN=analytics,OU=team-c,O=Example Corp,L=Berlin,C=DE"
CLUSTER_KEY = "KafkaCluster.kafkaaccess.io/v1alpha1"


# -- requests and worlds --------------------------------------------------------


def related(*clusters: str) -> dict:
    """The KafkaClusters (each on its own port) and their credentials Secrets."""
    base = harness.load(harness.HTTP / "kafkaacl" / "create")["request"]["body"]["related"]
    secret = base["Secret.v1"]["kafka-access/local"]
    found: dict = {CLUSTER_KEY: {}, "Secret.v1": {}}
    for port, name in enumerate(clusters or ("local",), start=9093):
        found[CLUSTER_KEY][name] = {
            "apiVersion": "kafkaaccess.io/v1alpha1",
            "kind": "KafkaCluster",
            "metadata": {"name": name},
            "spec": {"bootstrapServers": f"127.0.0.1:{port}"},
        }
        found["Secret.v1"][f"kafka-access/{name}"] = copy.deepcopy(secret)
    return found


def acl_spec(name="orders.created", pattern="Literal", kind="Topic", **extra) -> dict:
    resource = {"type": kind, "patternType": pattern}
    if kind != "Cluster":
        resource["name"] = name
    return {
        "clusterRef": {"name": extra.pop("cluster", "local")},
        "principal": extra.pop("principal", ORDERS),
        "resource": resource,
        "operations": extra.pop("operations", ["Write"]),
        **extra,
    }


def request(spec, status=None, finalizing=False, clusters=("local",), name="orders-produce"):
    parent = {
        "apiVersion": "kafkaaccess.io/v1alpha1",
        "kind": "KafkaACL",
        "metadata": {"name": name, "namespace": "team-a", "generation": 1},
        "spec": spec,
        "status": status or {},
    }
    if finalizing:
        parent["metadata"]["deletionTimestamp"] = NOW
    return {
        "parent": parent,
        "children": {},
        "related": related(*clusters),
        "finalizing": finalizing,
    }


class Clusters:
    """One fake per bootstrap address, so a test sees which cluster got what."""

    def __init__(self, **fakes: FakeKafka):
        self.fakes = {f"127.0.0.1:{9093 + i}": fake for i, fake in enumerate(fakes.values())}
        self.by_name = fakes

    def port(self, connection):
        return self.fakes[connection.bootstrap_servers]


def run(kafka_or_clients, body, logger=None):
    clients = (
        kafka_or_clients
        if isinstance(kafka_or_clients, Clusters)
        else FakeClients(kafka_or_clients)
    )
    env = Env(clients=clients, clock=lambda: NOW, logger=logger or logging.getLogger("test"))
    return hook.sync(parse_sync(body, hook.KIND), env)


def converge(kafka, spec, status=None, name="orders-produce", clusters=("local",)):
    """Sync until the status holds still, as Metacontroller would; the last answer."""
    for _ in range(5):
        got = run(kafka, request(spec, status, clusters=clusters, name=name))
        if got["status"] == status:
            return got
        status = got["status"]
    return got


def finalize(kafka, spec, status, clusters=("local",), name="orders-produce"):
    return run(kafka, request(spec, status, finalizing=True, clusters=clusters, name=name))


def b(operation, principal=ORDERS, name="orders.created", pattern="Literal", kind="Topic"):
    return Binding(kind, name, pattern, principal, "*", operation, "Allow")


def grants(name="orders.created", pattern="Literal", kind="Topic"):
    return acl.operator_grants([ResourcePattern(kind, name, pattern)], OPERATOR)


def condition(answer, type_="Synced"):
    return next(c for c in answer["status"]["conditions"] if c["type"] == type_)


def spec_error(**fields) -> str:
    with pytest.raises(SpecError) as error:
        acl.parse_acl(acl_spec(**fields))
    return str(error.value)


# -- 1. the operator's grants go with the last binding that needs them ----------


def test_deleting_the_last_kafkaacl_on_a_topic_removes_the_operators_grants():
    kafka = FakeKafka()
    status = converge(kafka, acl_spec())["status"]
    assert len(status["operatorBindings"]) == 6
    answer = finalize(kafka, acl_spec(), status)
    assert answer["finalized"] is True
    assert kafka.acls == set(), "nothing else protects the topic, so it is open to all again"
    assert [c[0] for c in kafka.changes[-2:]] == ["delete_acls", "delete_acls"]


def test_the_removed_grants_are_logged_one_line_each(caplog):
    kafka = FakeKafka()
    status = converge(kafka, acl_spec())["status"]
    with caplog.at_level(logging.INFO, logger="test"):
        finalize(kafka, acl_spec(), status)
    changes = [getattr(r, "fields", {}).get("change", "") for r in caplog.records]
    removed = [c for c in changes if "remove the operator's grant" in c]
    assert len(removed) == 6, removed
    assert "remove the operator's grant Alter on Topic 'orders.created'" in removed[0]


@pytest.mark.parametrize(
    "pattern,name",
    [("Literal", "*"), ("Prefixed", "orders.")],
    ids=["wildcard", "prefix"],
)
def test_deleting_a_wildcard_or_prefixed_kafkaacl_removes_its_grants(pattern, name):
    # With allow.everyone.if.no.acl.found, grants left on Topic:* would lock
    # every client without ACLs out of every topic.
    kafka = FakeKafka()
    spec = acl_spec(name=name, pattern=pattern)
    status = converge(kafka, spec)["status"]
    assert finalize(kafka, spec, status)["finalized"] is True
    assert kafka.acls == set()


GRANTS_KEPT = [
    # case, spec (name, pattern), others' bindings, reason
    (
        "another principal on the same topic",
        ("orders.created", "Literal"),
        [b("Read", ANALYTICS)],
        "the topic stays protected, so the operator needs its grants there",
    ),
    (
        "another KafkaACL of the same principal",
        ("orders.created", "Literal"),
        [b("Read")],
        "a binding this resource did not make still protects the topic",
    ),
    (
        "a hand-made prefix covering the topic",
        ("orders.created", "Literal"),
        [b("Read", ANALYTICS, name="orders.", pattern="Prefixed")],
        "the prefix protects the topic and the operator holds nothing on the prefix",
    ),
    (
        "a hand-made binding on every topic",
        ("orders.created", "Literal"),
        [b("Read", ANALYTICS, name="*")],
        "Topic:* protects this topic too",
    ),
    (
        "a hand-made binding under the prefix",
        ("orders.", "Prefixed"),
        [b("Read", ANALYTICS, name="orders.placed")],
        "without the prefix grants the operator would lose orders.placed",
    ),
    (
        "a hand-made longer prefix",
        ("orders.", "Prefixed"),
        [b("Read", ANALYTICS, name="orders.eu.", pattern="Prefixed")],
        "orders.eu. protects topics orders. covers",
    ),
    (
        "a hand-made binding anywhere, for the wildcard",
        ("*", "Literal"),
        [b("Read", ANALYTICS, name="payments.settled")],
        "every topic is covered by *",
    ),
    (
        "a hand-made deny of the operator on a covering pattern",
        ("orders.created", "Literal"),
        [
            *grants("orders.", "Prefixed"),
            Binding("Topic", "orders.", "Prefixed", OPERATOR, "*", "Write", "Deny"),
        ],
        "a Deny wins over the operator's grants there",
    ),
    (
        "only part of the operator's grants on a covering pattern",
        ("orders.created", "Literal"),
        [
            b("Read", ANALYTICS, name="orders.", pattern="Prefixed"),
            b("Describe", OPERATOR, "orders.", "Prefixed"),
        ],
        "Describe alone does not let the operator manage the topic",
    ),
]


@pytest.mark.parametrize("case,pattern,others,reason", GRANTS_KEPT, ids=[c[0] for c in GRANTS_KEPT])
def test_grants_still_needed_are_kept(case, pattern, others, reason):
    name, pattern_type = pattern
    spec = acl_spec(name=name, pattern=pattern_type)
    kafka = FakeKafka()
    status = converge(kafka, spec)["status"]
    kafka.acls |= set(others)
    assert finalize(kafka, spec, status)["finalized"] is True
    assert grants(name, pattern_type) <= kafka.acls, reason
    assert set(others) <= kafka.acls, "never another's binding"


GRANTS_REMOVED = [
    # case, spec (name, pattern), others' bindings, reason
    (
        "another topic",
        ("orders.created", "Literal"),
        [b("Read", ANALYTICS, name="payments.settled")],
        "a binding elsewhere does not protect this topic",
    ),
    (
        "a longer topic name",
        ("orders.created", "Literal"),
        [b("Read", ANALYTICS, name="orders.created.v2")],
        "a literal name covers only itself",
    ),
    (
        "outside the prefix",
        ("orders.", "Prefixed"),
        [b("Read", ANALYTICS, name="payments.", pattern="Prefixed")],
        "payments. and orders. share no topic",
    ),
    (
        "a covering prefix the operator holds its own grants on",
        ("orders.created", "Literal"),
        [b("Read", ANALYTICS, name="orders.", pattern="Prefixed"), *grants("orders.", "Prefixed")],
        "the operator keeps its access through the prefix grants",
    ),
    (
        "another topic the operator holds All on, for the wildcard",
        ("*", "Literal"),
        [b("Read", ANALYTICS, name="payments.settled"), b("All", OPERATOR, "payments.settled")],
        "All covers every operation the operator needs there",
    ),
    (
        "other KafkaACLs' topics, for the wildcard",
        ("*", "Literal"),
        [b("Read", ANALYTICS, name="payments.settled"), *grants("payments.settled")],
        "each of them carries the operator's grants",
    ),
    (
        "another resource type",
        ("*", "Literal"),
        [b("Read", ANALYTICS, name="*", kind="Group")],
        "a group binding protects no topic",
    ),
]


@pytest.mark.parametrize(
    "case,pattern,others,reason", GRANTS_REMOVED, ids=[c[0] for c in GRANTS_REMOVED]
)
def test_grants_nothing_needs_are_removed(case, pattern, others, reason):
    name, pattern_type = pattern
    spec = acl_spec(name=name, pattern=pattern_type)
    kafka = FakeKafka()
    status = converge(kafka, spec)["status"]
    kafka.acls |= set(others)
    assert finalize(kafka, spec, status)["finalized"] is True
    assert not grants(name, pattern_type) & kafka.acls, reason
    assert kafka.acls == set(others), "never another's binding, nor grants elsewhere"


def test_a_literal_topic_is_checked_with_one_match_read_and_a_prefix_with_one_type_read():
    for name, pattern, scope in (
        ("orders.created", "Literal", "Match"),
        ("orders.", "Prefixed", "Type"),
    ):
        kafka = FakeKafka()
        spec = acl_spec(name=name, pattern=pattern)
        status = converge(kafka, spec)["status"]
        kafka.calls.clear()
        finalize(kafka, spec, status)
        reads = [c[1] for c in kafka.calls if c[0] == "describe_acls"]
        wide = [f for read in reads for f in read if f[-1] in ("Match", "Type")]
        assert {f[-1] for f in wide} == {scope}, reads
        assert len(wide) == 2, "one read to decide and one to check after the removal"


def test_the_cluster_grants_are_never_removed():
    # A Cluster binding created between the check and the removal would leave
    # the operator without Alter on the cluster, unable to write ACLs at all.
    spec = acl_spec(kind="Cluster", principal=ANALYTICS, operations=["IdempotentWrite"])
    kafka = FakeKafka()
    status = converge(kafka, spec)["status"]
    assert finalize(kafka, spec, status)["finalized"] is True
    assert kafka.acls == set(grants("kafka-cluster", kind="Cluster"))


def test_grants_are_left_alone_when_the_platform_team_manages_them():
    kafka = FakeKafka(acls=[g.to_status() for g in grants()])
    spec = acl_spec()
    bare = request(spec)
    bare["related"][CLUSTER_KEY]["local"]["spec"]["ensureOperatorAcls"] = False
    status = run(kafka, bare)["status"]
    bare["parent"]["status"], bare["finalizing"] = status, True
    assert run(kafka, bare)["finalized"] is True
    assert kafka.acls == set(grants()), "ensureOperatorAcls: false: not the operator's to remove"


def test_an_orphaned_kafkaacl_leaves_bindings_and_grants():
    kafka = FakeKafka()
    spec = acl_spec(deletionPolicy="Orphan")
    status = converge(kafka, spec)["status"]
    kafka.calls.clear()
    assert finalize(kafka, spec, status)["finalized"] is True
    assert kafka.calls == []
    assert b("Write") in kafka.acls and grants() <= kafka.acls


def test_a_refused_grant_removal_is_retried_from_what_status_remembers():
    kafka = FakeKafka()
    spec = acl_spec()
    status = converge(kafka, spec)["status"]
    kafka.refuse_bindings[b("Delete", OPERATOR)] = KafkaRequestError("POLICY_VIOLATION", "no")
    first = finalize(kafka, spec, status)
    assert first["finalized"] is False
    assert first["status"]["bindings"] == [], "its own binding is gone"
    assert condition(first)["reason"] == "PolicyViolation"
    assert "remove the operator's grant Delete" in condition(first)["message"]
    assert acl.as_status([b("Delete", OPERATOR)]) == first["status"]["operatorBindings"]

    del kafka.refuse_bindings[b("Delete", OPERATOR)]
    again = finalize(kafka, spec, first["status"])
    assert again["finalized"] is True
    assert kafka.acls == set()


def test_a_refused_check_of_the_grants_keeps_the_finalize_open():
    class Blind(FakeKafka):
        def describe_acls(self, filters, budget):
            if any(f.scope != "Exact" for f in filters):
                raise KafkaUnavailable("brokers 127.0.0.1:9093 did not answer")
            return super().describe_acls(filters, budget)

    kafka = Blind()
    spec = acl_spec()
    status = converge(kafka, spec)["status"]
    answer = finalize(kafka, spec, status)
    assert answer["finalized"] is False
    assert answer["status"]["bindings"] == []
    assert len(answer["status"]["operatorBindings"]) == 6, "so a retry checks them again"
    assert "checking the operator's grants" in condition(answer)["message"]


def test_grants_are_put_back_when_a_binding_appears_while_they_go():
    class Racing(FakeKafka):
        """Another KafkaACL writes its binding just as the grants are removed."""

        def delete_acls(self, bindings, budget):
            results = super().delete_acls(bindings, budget)
            if any(x.principal == OPERATOR for x in bindings):
                self.acls.add(b("Read", ANALYTICS))
            return results

    kafka = Racing()
    spec = acl_spec()
    status = converge(kafka, spec)["status"]
    assert finalize(kafka, spec, status)["finalized"] is True
    assert grants() <= kafka.acls, "the other KafkaACL's binding would lock the operator out"
    assert [c[0] for c in kafka.changes[-3:]] == ["delete_acls", "delete_acls", "create_acls"]


OVERLAPS = [
    # a, b, want
    (("Literal", "orders"), ("Literal", "orders"), True),
    (("Literal", "orders"), ("Literal", "orders2"), False),
    (("Literal", "orders"), ("Literal", "*"), True),
    (("Literal", "orders.x"), ("Prefixed", "orders."), True),
    (("Literal", "orders"), ("Prefixed", "orders."), False),
    (("Prefixed", "orders."), ("Prefixed", "orders.eu."), True),
    (("Prefixed", "orders."), ("Prefixed", "payments."), False),
    (("Prefixed", "o"), ("Literal", "*"), True),
]


@pytest.mark.parametrize("a,b_,want", OVERLAPS)
def test_patterns_overlap_as_the_authorizer_matches_them(a, b_, want):
    first = ResourcePattern("Topic", a[1], a[0])
    second = ResourcePattern("Topic", b_[1], b_[0])
    assert acl.overlaps(first, second) is want
    assert acl.overlaps(second, first) is want, "symmetric"
    assert not acl.overlaps(first, ResourcePattern("Group", a[1], a[0])), "types never mix"


def test_a_match_filter_selects_what_kafkas_match_filter_selects():
    wanted = BindingFilter(ResourcePattern("Topic", "orders.x", "Literal"), None, "Match")
    assert wanted.matches(b("Read", name="orders.x"))
    assert wanted.matches(b("Read", name="*"))
    assert wanted.matches(b("Read", name="orders.", pattern="Prefixed"))
    assert not wanted.matches(b("Read", name="orders.x.y"))
    assert not wanted.matches(b("Read", name="orders.x", kind="Group"))


# -- 2. memory names its cluster --------------------------------------------------


def test_status_records_the_cluster_of_its_bindings():
    status = converge(FakeKafka(), acl_spec())["status"]
    assert status["cluster"] == "local"


def test_a_cluster_change_with_bindings_is_refused_and_touches_neither_cluster():
    """Moving would delete, on the new cluster, an equal binding someone else made there."""
    old, new = FakeKafka(), FakeKafka(acls=[b("Write").to_status()])
    clusters = Clusters(local=old, other=new)
    names = ("local", "other")
    status = converge(clusters, acl_spec(), clusters=names)["status"]
    old.calls.clear()
    answer = run(clusters, request(acl_spec(cluster="other"), status, clusters=names))
    assert old.calls == [] and new.calls == [], "nothing is done on either cluster"
    assert b("Write") in new.acls and b("Write") in old.acls
    synced = condition(answer)
    assert synced["reason"] == condition(answer, "Ready")["reason"] == "ClusterChangeRefused"
    assert "set clusterRef back to local" in synced["message"]
    assert "delete this KafkaACL" in synced["message"]
    assert answer["status"]["bindings"] == status["bindings"], "the memory is kept"
    assert answer["status"]["cluster"] == "local"
    assert "resyncAfterSeconds" not in answer, "it waits for a new spec, not for time"


def test_moving_the_cluster_back_syncs_again():
    clusters = Clusters(local=FakeKafka(), other=FakeKafka())
    names = ("local", "other")
    status = converge(clusters, acl_spec(), clusters=names)["status"]
    refused = run(clusters, request(acl_spec(cluster="other"), status, clusters=names))["status"]
    back = run(clusters, request(acl_spec(), refused, clusters=names))
    assert condition(back)["status"] == "True"
    assert back["status"]["cluster"] == "local"


def test_a_cluster_change_without_bindings_moves():
    clusters = Clusters(local=FakeKafka(), other=FakeKafka())
    names = ("local", "other")
    status = {"bindings": [], "cluster": "local"}
    moved = run(clusters, request(acl_spec(cluster="other"), status, clusters=names))
    assert moved["status"]["cluster"] == "other"
    assert b("Write") in clusters.by_name["other"].acls


def test_a_status_from_before_clusters_were_recorded_counts_as_the_current_cluster():
    kafka = FakeKafka()
    status = converge(kafka, acl_spec())["status"]
    del status["cluster"]
    again = run(kafka, request(acl_spec(), status))
    assert condition(again)["status"] == "True"
    assert again["status"]["cluster"] == "local"


def test_finalize_acts_only_on_the_recorded_cluster():
    old, new = FakeKafka(), FakeKafka(acls=[b("Write").to_status()])
    clusters = Clusters(local=old, other=new)
    names = ("local", "other")
    status = converge(clusters, acl_spec(), clusters=names)["status"]
    refused = run(clusters, request(acl_spec(cluster="other"), status, clusters=names))["status"]
    done = run(clusters, request(acl_spec(cluster="other"), refused, True, clusters=names))
    assert done["finalized"] is True
    assert old.acls == set(), "its binding and the grants went from the cluster it was on"
    assert new.calls == [] and new.acls == {b("Write")}


def test_customize_asks_for_the_recorded_cluster_too():
    parent = parse_parent(request(acl_spec(cluster="other"), {"cluster": "local"}), hook.KIND)
    rules = hook.customize(parent, Env(clients=None))["relatedResources"]
    asked = {
        name for rule in rules if rule["resource"] == "kafkaclusters" for name in rule["names"]
    }
    assert asked == {"local", "other"}


# -- 3. control characters ------------------------------------------------------

CONTROLS = [
    # case, fields, field named, reason
    (
        "NUL in a principal",
        {"principal": "User:CN=payments,OU=team-b\x00,OU=team-a"},
        "spec.principal",
        "librdkafka would cut it to team-b's principal",
    ),
    (
        "an escaped NUL in a principal",
        {"principal": "CN=a\\00b"},
        "spec.principal",
        "the escape decodes to NUL",
    ),
    ("a newline in a principal", {"principal": "CN=orders\n"}, "spec.principal", "below U+0020"),
    ("DEL in a principal", {"principal": "CN=ord\x7fers"}, "spec.principal", "U+007F"),
    (
        "NUL in a group name",
        {"kind": "Group", "name": "g.victim\x00x"},
        "spec.resource.name",
        "the group would be g.victim",
    ),
    (
        "a tab in a transactional id",
        {"kind": "TransactionalId", "name": "tx\tone"},
        "spec.resource.name",
        "below U+0020",
    ),
    (
        "NUL in a topic prefix",
        {"name": "orders.\x00", "pattern": "Prefixed"},
        "spec.resource.name",
        "the prefix would be orders.",
    ),
    ("NUL in the host", {"host": "10.0.0.7\x00"}, "spec.host", "the host would be 10.0.0.7"),
    ("a tab before the wildcard host", {"host": "\t*"}, "spec.host", "not silently stripped"),
]


@pytest.mark.parametrize("case,fields,field,reason", CONTROLS, ids=[c[0] for c in CONTROLS])
def test_control_characters_are_refused_naming_the_field(case, fields, field, reason):
    assert f"{field}: " in spec_error(**fields), reason


def test_a_control_character_is_a_condition_and_nothing_is_written():
    kafka = FakeKafka()
    answer = run(kafka, request(acl_spec(principal="User:CN=payments,OU=team-b\x00,OU=team-a")))
    assert condition(answer)["reason"] == "InvalidSpec"
    assert "spec.principal" in condition(answer)["message"]
    assert kafka.calls == []


def _certificate(common_name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_certificate_subject_with_a_control_character_is_refused():
    raw = {k: v for k, v in acl_spec().items() if k != "principal"}
    spec = acl.parse_acl({**raw, "principalFrom": {"secretKeyRef": {"name": "cert"}}})
    pem = base64.b64encode(_certificate("orders\x00,OU=team-b").encode()).decode()
    req = parse_sync(request(acl_spec()), hook.KIND)
    req.related["Secret.v1"]["team-a/cert"] = {"data": {"tls.crt": pem}}
    got = acl.resolve_principal(spec, req, "team-a")
    assert getattr(got, "reason", None) == "PrincipalSecretInvalid", got


# -- 4. every host that does not parse is a condition ------------------------------

BAD_HOSTS = [
    ("an IPv6 zone", "fe80::1%eth0"),
    ("a numeric zone on a mapped address", "::ffff:10.0.0.7%1"),
    ("a network", "10.0.0.0/8"),
    ("three octets", "10.0.7"),
    ("empty", ""),
    ("a host name", "broker.example.com"),
]


@pytest.mark.parametrize("case,host", BAD_HOSTS, ids=[c[0] for c in BAD_HOSTS])
def test_a_host_that_is_no_address_is_a_spec_error(case, host):
    assert "spec.host: expected * or an IP address" in spec_error(host=host)


def test_a_host_with_an_ipv6_zone_is_a_condition_not_a_500():
    kafka = FakeKafka()
    answer = run(kafka, request(acl_spec(host="fe80::1%eth0")))
    assert condition(answer)["reason"] == "InvalidSpec"
    assert "IPv6 zone" in condition(answer)["message"]


# -- 5. status entries the admin client cannot express ------------------------------


def test_the_real_port_maps_an_inexpressible_binding_to_nothing_instead_of_raising():
    token = Binding("DelegationToken", "t", "Literal", ORDERS, "*", "Describe", "Allow")
    assert _exact_filter(token) is None
    assert _acl_binding(token) is None


class _StubAdmin:
    def __init__(self):
        self.calls = []

    def delete_acls(self, filters, request_timeout):
        self.calls.append(filters)
        raise AssertionError("nothing expressible to send")


class _StubClient:
    def __init__(self):
        self.admin = _StubAdmin()


def test_the_real_port_answers_an_inexpressible_binding_with_an_error_of_its_own():
    token = Binding("DelegationToken", "t", "Literal", ORDERS, "*", "Describe", "Allow")
    client = _StubClient()
    got = AdminPort(client).delete_acls([token], Budget(1.0))
    assert got[token].reason == "UnsupportedResourceType"
    assert client.admin.calls == [], "an empty request is never sent"


def test_a_delegation_token_entry_in_status_is_skipped_not_a_500():
    kafka = FakeKafka()
    token = Binding("DelegationToken", "t", "Literal", ORDERS, "*", "Describe", "Allow")
    status = {"bindings": [token.to_status()], "cluster": "local"}
    answer = run(kafka, request(acl_spec(), status))
    assert condition(answer)["status"] == "True"
    assert all(x["resourceType"] != "DelegationToken" for x in answer["status"]["bindings"])
    sent = [x for c in kafka.changes for x in c[1]]
    assert all(x["resourceType"] != "DelegationToken" for x in sent)
    done = finalize(kafka, acl_spec(), status)
    assert done["finalized"] is True


def test_a_failed_delete_request_keeps_the_record_of_what_was_created():
    class Breaking(FakeKafka):
        def delete_acls(self, bindings, budget):
            raise KafkaUnavailable("brokers 127.0.0.1:9093 did not answer")

    kafka = Breaking()
    status = converge(kafka, acl_spec())["status"]
    answer = run(kafka, request(acl_spec(operations=["Read"]), status))
    owned = {x["operation"] for x in answer["status"]["bindings"]}
    assert owned == {"Read", "Write"}, "Read was created; Write is still there"
    assert condition(answer)["reason"] == "ClusterUnreachable"


# -- 6. two KafkaACLs that want the same binding ------------------------------------


def test_a_binding_that_existed_before_is_used_not_claimed():
    kafka = FakeKafka(acls=[b("Write").to_status()])
    answer = converge(kafka, acl_spec())
    assert answer["status"]["bindings"] == []
    assert "did not create 1 of them" in condition(answer, "Ready")["message"]


def test_two_kafkaacls_for_one_binding_the_second_takes_over_when_the_first_goes():
    """Documented limit: a KafkaACL cannot see the others, so the binding is
    gone from the first one's deletion until the second one's next sync."""
    kafka = FakeKafka()
    first = converge(kafka, acl_spec(), name="first")["status"]
    second = converge(kafka, acl_spec(), name="second")["status"]
    assert first["bindings"] and second["bindings"] == [], "only its creator owns it"
    finalize(kafka, acl_spec(), first, name="first")
    assert b("Write") not in kafka.acls, "the second KafkaACL's client lacks it for now"
    again = run(kafka, request(acl_spec(), second, name="second"))
    assert b("Write") in kafka.acls and grants() <= kafka.acls
    assert again["status"]["bindings"] == [b("Write").to_status()], "now the second owns it"


# -- 7. a refusal that repeats is logged once ---------------------------------------


def _refusals(records):
    return [(r.levelname, r.getMessage()) for r in records if "refused" in r.getMessage()]


def test_a_repeated_refusal_is_logged_at_debug(caplog):
    kafka = FakeKafka()
    kafka.refuse_bindings[b("Write")] = KafkaRequestError("POLICY_VIOLATION", "no")
    with caplog.at_level(logging.DEBUG, logger="test"):
        first = run(kafka, request(acl_spec()))
        assert _refusals(caplog.records) == [("WARNING", "change refused by Kafka")]
        caplog.clear()
        again = run(kafka, request(acl_spec(), first["status"]))
        assert condition(again) == condition(first)
        assert _refusals(caplog.records) == [("DEBUG", "change refused by Kafka again")]
        caplog.clear()
        kafka.refuse_bindings[b("Write")] = KafkaRequestError("POLICY_VIOLATION", "still no")
        run(kafka, request(acl_spec(), again["status"]))
        assert _refusals(caplog.records) == [("WARNING", "change refused by Kafka")], (
            "a new error is news"
        )


JUNK_STATUS = [
    ("conditions not a list", {"conditions": 5}),
    ("bindings not a list", {"bindings": {"a": 1}}),
    ("operator bindings of junk", {"operatorBindings": ["x", 5, None]}),
    ("cluster not a string", {"cluster": 5, "bindings": [b("Write").to_status()]}),
]


@pytest.mark.parametrize("case,status", JUNK_STATUS, ids=[c[0] for c in JUNK_STATUS])
def test_junk_in_status_is_not_a_500(case, status):
    kafka = FakeKafka()
    for finalizing in (False, True):
        answer = run(kafka, request(acl_spec(), status, finalizing=finalizing))
        assert isinstance(answer["status"]["bindings"], list)
