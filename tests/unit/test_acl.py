"""Table tests of the KafkaACL core: specs, principals, binding sets, plans and status."""

import base64

import pytest

from hooks.core import acl
from hooks.core.acl import Binding, BindingFilter, CreateBinding, DeleteBinding, ResourcePattern
from hooks.core.plan import Outcome
from hooks.core.request import SyncRequest
from hooks.core.specs import SpecError

OPERATOR = "User:CN=kafka-access-operator,OU=platform,O=Example Corp,C=DE"
ORDERS = "User:CN=orders,OU=team-a,O=Example Corp,C=DE"
PAYMENTS = "User:CN=payments,OU=team-b,O=Example\\, Inc.,C=US"
ANALYTICS = "User:CN=analytics,OU=team-c,O=Example Corp,L=Berlin,C=DE"
TOPIC = ResourcePattern("Topic", "orders", "Literal")


def spec(**fields):
    raw = {
        "clusterRef": {"name": "local"},
        "principal": ORDERS,
        "resource": {"type": "Topic", "name": "orders"},
        "operations": ["Write"],
        **fields,
    }
    return acl.parse_acl({k: v for k, v in raw.items() if v is not None})


def b(operation, principal=ORDERS, permission="Allow", name="orders", kind="Topic", **extra):
    pattern = extra.get("pattern", "Literal")
    return Binding(kind, name, pattern, principal, extra.get("host", "*"), operation, permission)


def grants(name="orders", kind="Topic", pattern="Literal"):
    return acl.operator_grants([ResourcePattern(kind, name, pattern)], OPERATOR)


def memory(*bindings):
    return acl.Memory(frozenset(bindings), ORDERS)


# -- principals ---------------------------------------------------------------

PRINCIPALS = [
    # case, written, want, reason
    ("canonical", ORDERS, ORDERS, "the broker's form is kept as it is"),
    (
        "spaces after commas",
        "User:CN=orders, OU=team-a, O=Example Corp, C=DE",
        ORDERS,
        "RFC 2253 has no spaces after separators",
    ),
    (
        "no User: prefix",
        "CN=orders,OU=team-a,O=Example Corp,C=DE",
        ORDERS,
        "an mTLS principal is always a User",
    ),
    (
        "OpenSSL slash form",
        "/C=DE/O=Example Corp/OU=team-a/CN=orders",
        ORDERS,
        "the slash form lists the least specific RDN first",
    ),
    (
        "lower-case keywords",
        "cn=orders,ou=team-a,o=Example Corp,c=DE",
        ORDERS,
        "Java prints attribute keywords in upper case",
    ),
    (
        "escaped comma kept",
        "CN=payments, OU=team-b, O=Example\\, Inc., C=US",
        PAYMENTS,
        "a comma inside a value stays escaped",
    ),
    (
        "slash form with a comma in a value",
        "/C=US/O=Example, Inc./OU=team-b/CN=payments",
        PAYMENTS,
        "the comma needs no escape in the slash form and gets one in RFC 2253",
    ),
    (
        "four RDNs with a locality",
        "CN=analytics, OU=team-c, O=Example Corp, L=Berlin, C=DE",
        ANALYTICS,
        "every RDN keeps its place",
    ),
    ("wildcard", "*", "User:*", "a bare * is every user"),
    ("non-DN user", "User:alice", "User:alice", "a name without = is left alone"),
]


@pytest.mark.parametrize("case,written,want,reason", PRINCIPALS, ids=[c[0] for c in PRINCIPALS])
def test_principals_are_stored_canonical(case, written, want, reason):
    assert spec(principal=written).principal == want, reason


# -- specs --------------------------------------------------------------------

BAD_SPECS = [
    # case, fields, fragment of the message, reason
    (
        "both principals",
        {"principalFrom": {"secretKeyRef": {"name": "orders-cert"}}},
        "spec: give exactly one of principal",
        "the CRD says exactly one",
    ),
    ("no principal", {"principal": None}, "spec: give exactly one of principal", "one is needed"),
    (
        "pattern type Any",
        {"resource": {"type": "Topic", "name": "orders", "patternType": "Any"}},
        "spec.resource.patternType: expected one of Literal, Prefixed, got 'Any'",
        "Any is a filter, not a pattern",
    ),
    (
        "pattern type Match",
        {"resource": {"type": "Topic", "name": "orders", "patternType": "Match"}},
        "spec.resource.patternType: expected one of Literal, Prefixed, got 'Match'",
        "Match is a filter, not a pattern",
    ),
    (
        "unknown operation",
        {"operations": ["Write", "Produce"]},
        "spec.operations.1: expected one of Read, Write, Create, Delete, Alter, Describe, "
        "ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All, got 'Produce'",
        "the message lists every accepted operation",
    ),
    ("no operations", {"operations": []}, "spec.operations: list at least one", "nothing to bind"),
    (
        "unknown resource type",
        {"resource": {"type": "User", "name": "x"}},
        "spec.resource.type: expected one of Topic, Group, Cluster, TransactionalId, "
        "DelegationToken, got 'User'",
        "the CRD's list",
    ),
    (
        "topic without a name",
        {"resource": {"type": "Topic"}},
        "spec.resource.name: a Topic resource needs a name",
        "only the Cluster has an implied name",
    ),
    (
        "cluster with another name",
        {"resource": {"type": "Cluster", "name": "prod"}},
        "spec.resource.name: the Cluster resource is always named kafka-cluster",
        "Kafka has one cluster resource",
    ),
    (
        "prefixed cluster",
        {"resource": {"type": "Cluster", "patternType": "Prefixed"}},
        "spec.resource.patternType: the Cluster resource takes patternType Literal",
        "a prefix of kafka-cluster means nothing",
    ),
    (
        "bad topic name",
        {"resource": {"type": "Topic", "name": "orders created"}},
        "spec.resource.name: 'orders created' is no topic name",
        "a binding no topic can match is a mistake",
    ),
    (
        "prefixed wildcard",
        {"resource": {"type": "Topic", "name": "*", "patternType": "Prefixed"}},
        "spec.resource.name: no topic name starts with '*'",
        "the wildcard is a Literal name",
    ),
    (
        "host name",
        {"host": "orders.example.com"},
        "spec.host: expected * or an IP address, got 'orders.example.com'",
        "Kafka never resolves host names",
    ),
    (
        "permission",
        {"permission": "Grant"},
        "spec.permission: expected one of Allow, Deny, got 'Grant'",
        "CRD enum",
    ),
    (
        "deletion policy",
        {"deletionPolicy": "Keep"},
        "spec.deletionPolicy: expected one of Delete, Orphan, got 'Keep'",
        "CRD enum",
    ),
    ("bad principal", {"principal": "CN=a,,O=b"}, "spec.principal: subject", "malformed DN"),
    ("unknown field", {"operation": "Read"}, "spec.operation: Unknown field", "a typo is caught"),
]


@pytest.mark.parametrize("case,fields,fragment,reason", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_specs_name_the_field(case, fields, fragment, reason):
    with pytest.raises(SpecError) as error:
        spec(**fields)
    assert fragment in str(error.value), reason


def test_spec_defaults():
    got = spec()
    assert (got.host, got.pattern, got.permission, got.deletion_policy) == (
        "*",
        TOPIC,
        "Allow",
        "Delete",
    )


def test_cluster_resource_is_named_kafka_cluster():
    got = spec(resource={"type": "Cluster"}, operations=["IdempotentWrite"])
    assert got.pattern == ResourcePattern("Cluster", "kafka-cluster", "Literal")


def test_principal_from_key_defaults_to_tls_crt():
    got = spec(principal=None, principalFrom={"secretKeyRef": {"name": "orders-cert"}})
    assert got.principal is None
    assert got.principal_from == acl.SecretKeyRef("orders-cert", "tls.crt")


HOSTS = [
    ("any", "*", "*"),
    ("IPv4", "10.0.0.7", "10.0.0.7"),
    ("IPv6 compressed", "::1", "0:0:0:0:0:0:0:1"),
    ("IPv6 leading zeros", "2001:0db8::0042", "2001:db8:0:0:0:0:0:42"),
    ("IPv4-mapped IPv6", "::ffff:10.0.0.7", "10.0.0.7"),
]


@pytest.mark.parametrize("case,written,want", HOSTS, ids=[c[0] for c in HOSTS])
def test_hosts_take_the_form_the_broker_compares(case, written, want):
    # The broker compares the ACL host with Java's InetAddress.getHostAddress().
    assert spec(host=written).host == want


# -- binding sets -------------------------------------------------------------


def test_one_binding_per_operation_in_canonical_form():
    got = acl.desired(spec(operations=["Write", "Describe", "Write"]), ORDERS)
    assert got == {b("Describe"), b("Write")}


def test_operator_grants_per_resource_type():
    topic = {g.operation for g in grants()}
    cluster = {g.operation for g in grants("kafka-cluster", "Cluster")}
    assert topic == {"Alter", "AlterConfigs", "Create", "Delete", "Describe", "DescribeConfigs"}
    assert cluster == {"Alter", "AlterConfigs", "Create", "Describe", "DescribeConfigs"}
    assert grants("orders", "Group") == frozenset(), "the operator uses no groups"
    assert all(g.permission == "Allow" and g.host == "*" for g in grants())


def test_operator_grants_stay_on_the_pattern_and_never_widen_to_a_wildcard():
    got = grants("orders.", pattern="Prefixed")
    assert {(g.resource_name, g.pattern_type) for g in got} == {("orders.", "Prefixed")}


FILTERS = [
    # case, wanted, remembered, operator, want
    (
        "the pattern, for the principal and the operator",
        [b("Write")],
        [],
        OPERATOR,
        [BindingFilter(TOPIC, OPERATOR), BindingFilter(TOPIC, ORDERS)],
    ),
    (
        "no operator filter without grants",
        [b("Write")],
        [],
        None,
        [BindingFilter(TOPIC, ORDERS)],
    ),
    (
        "a remembered binding elsewhere is described too",
        [b("Write")],
        [b("Write", name="old")],
        None,
        [
            BindingFilter(ResourcePattern("Topic", "old", "Literal"), ORDERS),
            BindingFilter(TOPIC, ORDERS),
        ],
    ),
    (
        "a remembered principal after a certificate change",
        [b("Write", principal=PAYMENTS)],
        [b("Write")],
        None,
        [BindingFilter(TOPIC, ORDERS), BindingFilter(TOPIC, PAYMENTS)],
    ),
    (
        "no operator filter on a group",
        [b("Read", kind="Group")],
        [],
        OPERATOR,
        [BindingFilter(ResourcePattern("Group", "orders", "Literal"), ORDERS)],
    ),
    (
        "types the admin client cannot express are left out",
        [b("Describe", kind="DelegationToken")],
        [],
        OPERATOR,
        [],
    ),
]


@pytest.mark.parametrize(
    "case,wanted,remembered,operator,want", FILTERS, ids=[c[0] for c in FILTERS]
)
def test_filters_are_narrow(case, wanted, remembered, operator, want):
    assert list(acl.filters(wanted, remembered, operator)) == want


# -- plans --------------------------------------------------------------------


def creates(*bindings):
    return tuple(CreateBinding(x) for x in sorted(bindings))


def granting(*bindings):
    return tuple(CreateBinding(x, for_operator=True) for x in sorted(bindings))


def deletes(*bindings):
    return tuple(DeleteBinding(x) for x in sorted(bindings))


PLANS = [
    # case, spec, observed, memory, ensure, want actions, want refusals, reason
    (
        "first binding on a topic",
        spec(),
        set(),
        acl.Memory(),
        True,
        granting(*grants()) + creates(b("Write")),
        (),
        "the operator's grants come before the binding that would lock it out",
    ),
    (
        "grants already there",
        spec(),
        set(grants()),
        acl.Memory(),
        True,
        creates(b("Write")),
        (),
        "grants are ensured, not written again",
    ),
    (
        "one grant missing",
        spec(),
        set(grants()) - {b("Describe", OPERATOR)},
        acl.Memory(),
        True,
        granting(b("Describe", OPERATOR)) + creates(b("Write")),
        (),
        "a grant someone deleted is put back",
    ),
    (
        "unchanged",
        spec(),
        {b("Write"), *grants()},
        memory(b("Write")),
        True,
        (),
        (),
        "nothing to do",
    ),
    (
        "create before delete",
        spec(operations=["Read"]),
        {b("Write"), *grants()},
        memory(b("Write")),
        True,
        creates(b("Read")) + deletes(b("Write")),
        (),
        "clients never lose access in between",
    ),
    (
        "foreign bindings untouched",
        spec(operations=["Read"]),
        {b("Write"), b("Describe"), *grants()},
        memory(b("Write")),
        True,
        creates(b("Read")) + deletes(b("Write")),
        (),
        "Describe was made by someone else and is not deleted",
    ),
    (
        "an equal foreign binding is neither created nor claimed",
        spec(),
        {b("Write"), *grants()},
        acl.Memory(),
        True,
        (),
        (),
        "it is in force already",
    ),
    (
        "a remembered binding deleted out of band is created again",
        spec(),
        set(grants()),
        memory(b("Write")),
        True,
        creates(b("Write")),
        (),
        "the resource still wants it",
    ),
    (
        "a remembered binding not listed is deleted all the same",
        spec(operations=["Read"]),
        {b("Read"), *grants()},
        memory(b("Read"), b("Write")),
        True,
        deletes(b("Write")),
        (),
        "deleting an absent binding changes nothing, and a listing can miss one",
    ),
    (
        "resource renamed",
        spec(resource={"type": "Topic", "name": "orders.v2"}),
        {b("Write"), *grants()},
        memory(b("Write")),
        True,
        granting(*grants("orders.v2"))
        + creates(b("Write", name="orders.v2"))
        + deletes(b("Write")),
        (),
        "new pattern first, old binding last; the old pattern's grants stay",
    ),
    (
        "principal changed with the certificate",
        spec(principal=PAYMENTS),
        {b("Write"), *grants()},
        memory(b("Write")),
        True,
        creates(b("Write", PAYMENTS)) + deletes(b("Write")),
        (),
        "the new principal gets access before the old one loses it",
    ),
    (
        "deny another principal",
        spec(permission="Deny", principal=ANALYTICS),
        set(),
        acl.Memory(),
        True,
        granting(*grants()) + creates(b("Write", ANALYTICS, "Deny")),
        (),
        "a Deny protects the topic too, so the operator needs its grants",
    ),
    (
        "deny the operator refused",
        spec(permission="Deny", principal=OPERATOR),
        {b("Write"), *grants()},
        memory(b("Write")),
        True,
        (),
        ("DenyOperatorRefused",),
        "nothing is written, not even the deletes",
    ),
    (
        "deny everyone refused",
        spec(permission="Deny", principal="User:*"),
        set(),
        acl.Memory(),
        True,
        (),
        ("DenyOperatorRefused",),
        "User:* matches the operator",
    ),
    (
        "deny everyone refused from one host too",
        spec(permission="Deny", principal="User:*", host="10.0.0.7"),
        set(),
        acl.Memory(),
        False,
        (),
        ("DenyOperatorRefused",),
        "the operator's address is unknown; grants off does not make a self-deny safe",
    ),
    (
        "grants off",
        spec(),
        set(),
        acl.Memory(),
        False,
        creates(b("Write")),
        (),
        "ensureOperatorAcls: false leaves the operator's ACLs to the platform team",
    ),
    (
        "a wanted operator grant is the operator's",
        spec(principal=OPERATOR, operations=["Describe", "Read"]),
        set(),
        acl.Memory(),
        True,
        granting(*grants()) + creates(b("Read", OPERATOR)),
        (),
        "Describe is created once, as a grant, and never deleted with the resource",
    ),
    (
        "no grants for a group",
        spec(resource={"type": "Group", "name": "orders"}, operations=["Read"]),
        set(),
        acl.Memory(),
        True,
        creates(b("Read", kind="Group")),
        (),
        "the operator uses no groups",
    ),
    (
        "cluster grants first",
        spec(principal=ANALYTICS, resource={"type": "Cluster"}, operations=["IdempotentWrite"]),
        set(),
        acl.Memory(),
        True,
        granting(*grants("kafka-cluster", "Cluster"))
        + creates(b("IdempotentWrite", ANALYTICS, name="kafka-cluster", kind="Cluster")),
        (),
        "one Cluster binding would take away the operator's right to manage ACLs",
    ),
    (
        "delegation tokens refused",
        spec(resource={"type": "DelegationToken", "name": "t"}, operations=["Describe"]),
        set(),
        acl.Memory(),
        True,
        (),
        ("ResourceTypeUnsupported",),
        "the admin client has no such resource type",
    ),
]


@pytest.mark.parametrize(
    "case,spec_,observed,memory_,ensure,want,refusals,reason", PLANS, ids=[c[0] for c in PLANS]
)
def test_plan(case, spec_, observed, memory_, ensure, want, refusals, reason):
    principal = spec_.principal
    got = acl.plan(spec_, principal, frozenset(observed), memory_, OPERATOR, ensure)
    assert got.actions == want, reason
    assert tuple(r.reason for r in got.refusals) == refusals, reason


def test_steps_put_grants_then_creates_then_deletes():
    got = acl.plan(
        spec(operations=["Read"], resource={"type": "Topic", "name": "new"}),
        ORDERS,
        frozenset({b("Write")}),
        memory(b("Write")),
        OPERATOR,
    )
    kinds = [
        {("grant" if getattr(a, "for_operator", False) else type(a).__name__) for a in step}
        for step in got.steps
    ]
    assert kinds == [{"grant"}, {"CreateBinding"}, {"DeleteBinding"}]


def test_plan_is_deterministic():
    args = (spec(operations=["Write", "Read", "Describe"]), ORDERS, frozenset(), acl.Memory())
    assert acl.plan(*args, OPERATOR) == acl.plan(*args, OPERATOR)


def test_finalize_deletes_the_remembered_bindings_only():
    got = acl.finalize_plan(memory(b("Write"), b("Describe")), grants())
    assert got == deletes(b("Describe"), b("Write"))


def test_finalize_never_deletes_an_operator_grant():
    grant = b("Describe", OPERATOR)
    assert acl.finalize_plan(acl.Memory(frozenset({grant})), grants()) == ()


# -- memory -------------------------------------------------------------------


def test_memory_skips_malformed_entries():
    status = {
        "principal": ORDERS,
        "bindings": [
            b("Write").to_status(),
            {"principal": ORDERS},
            "junk",
            {**b("Read").to_status(), "operation": "Produce"},
        ],
    }
    assert acl.Memory.from_status(status) == memory(b("Write"))


def test_status_round_trip():
    assert Binding.from_status(b("Write", PAYMENTS).to_status()) == b("Write", PAYMENTS)


# -- status -------------------------------------------------------------------


def _status(spec_, before, after, memory_, outcomes=None):
    plan = acl.plan(spec_, spec_.principal, frozenset(before), memory_, OPERATOR)
    if outcomes is None:
        outcomes = tuple(Outcome(a) for a in plan.actions)
    state = acl.AclState(plan, tuple(outcomes), frozenset(after), memory_)
    return plan, *acl.status(state)


def test_status_after_create_records_the_binding_and_the_operator_grants():
    _, fields, conds = _status(spec(), set(), {b("Write"), *grants()}, acl.Memory())
    assert fields["principal"] == ORDERS
    assert fields["bindings"] == [b("Write").to_status()]
    assert fields["operatorBindings"] == acl.as_status(grants())
    assert [(c.type, c.status) for c in conds] == [("Ready", "True"), ("Synced", "True")]


def test_status_keeps_a_created_binding_not_yet_listed():
    _, fields, conds = _status(spec(), set(), set(grants()), acl.Memory())
    assert fields["bindings"] == [b("Write").to_status()]
    assert conds[0].reason == "Propagating"


def test_status_does_not_claim_an_equal_foreign_binding():
    _, fields, conds = _status(
        spec(), {b("Write"), *grants()}, {b("Write"), *grants()}, acl.Memory()
    )
    assert fields["bindings"] == []
    assert conds[0].status == "True"
    assert "did not create 1 of them" in conds[0].message


def test_status_after_a_failed_grant_says_the_rest_waits():
    plan = acl.plan(spec(), ORDERS, frozenset(), acl.Memory(), OPERATOR)
    grant_step = plan.steps[0]
    outcomes = [
        Outcome(a, "Broker: Cluster authorization failed", "ClusterAuthorizationFailed")
        for a in grant_step
    ]
    state = acl.AclState(plan, tuple(outcomes), frozenset(), acl.Memory())
    fields, (ready, synced) = acl.status(state)
    assert fields["bindings"] == []
    assert ready.status == "False" and ready.reason == "ClusterAuthorizationFailed"
    assert synced.reason == "ClusterAuthorizationFailed"
    assert "1 later change(s) wait until it succeeds" in synced.message


def test_status_keeps_a_binding_whose_delete_failed():
    before = {b("Write"), *grants()}
    plan = acl.plan(
        spec(operations=["Read"]), ORDERS, frozenset(before), memory(b("Write")), OPERATOR
    )
    outcomes = [Outcome(plan.actions[0]), Outcome(plan.actions[1], "no", "PolicyViolation")]
    after = before | {b("Read")}
    state = acl.AclState(plan, tuple(outcomes), frozenset(after), memory(b("Write")))
    fields, (ready, synced) = acl.status(state)
    assert fields["bindings"] == acl.as_status([b("Read"), b("Write")])
    assert ready.status == "True" and synced.reason == "PolicyViolation"


def test_status_of_a_refusal_reports_what_is_still_in_force():
    before = {b("Write"), *grants()}
    _, fields, (ready, synced) = _status(
        spec(permission="Deny", principal="User:*"), before, before, memory(b("Write"))
    )
    assert fields["bindings"] == [b("Write").to_status()]
    assert ready.reason == synced.reason == "DenyOperatorRefused"


def test_an_unchanged_world_gives_the_same_status():
    after = {b("Write"), *grants()}
    _, first, _ = _status(spec(), set(), after, acl.Memory())
    again = acl.Memory.from_status(first)
    _, second, _ = _status(spec(), after, after, again)
    assert first == second


def test_remembered_status_carries_everything_an_error_answer_needs():
    status = {
        "principal": ORDERS,
        "bindings": [b("Write").to_status()],
        "operatorBindings": acl.as_status(grants()),
        "conditions": [],
    }
    assert acl.remembered_status(status) == {
        "principal": ORDERS,
        "bindings": [b("Write").to_status()],
        "operatorBindings": acl.as_status(grants()),
    }


# -- principalFrom ------------------------------------------------------------


def _request(namespace, secret):
    related = {"Secret.v1": {f"{namespace}/orders-cert": secret}} if secret else {}
    return SyncRequest(parent=None, children={}, related=related, finalizing=False)


def _secret(**data):
    return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def _certificate():
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "team-b"),
            x509.NameAttribute(NameOID.COMMON_NAME, "payments"),
        ]
    )
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


FROM = spec(principal=None, principalFrom={"secretKeyRef": {"name": "orders-cert"}})

PRINCIPAL_FROM = [
    # case, secret, want (a principal or a refusal reason)
    ("derived", _secret(**{"tls.crt": _certificate()}), PAYMENTS),
    ("secret missing", None, "PrincipalSecretNotFound"),
    ("key missing", _secret(**{"ca.crt": _certificate()}), "PrincipalSecretInvalid"),
    ("not a certificate", _secret(**{"tls.crt": "hello"}), "PrincipalSecretInvalid"),
    ("not base64", {"data": {"tls.crt": "%%%"}}, "PrincipalSecretInvalid"),
]


@pytest.mark.parametrize("case,secret,want", PRINCIPAL_FROM, ids=[c[0] for c in PRINCIPAL_FROM])
def test_principal_from_a_certificate(case, secret, want):
    got = acl.resolve_principal(FROM, _request("team-b", secret), "team-b")
    assert (got if isinstance(got, str) else got.reason) == want


def test_principal_from_looks_only_in_the_resources_namespace():
    got = acl.resolve_principal(FROM, _request("team-a", _secret(**{"tls.crt": "x"})), "team-b")
    assert got.reason == "PrincipalSecretNotFound"
    assert "team-b/orders-cert" in got.message


def test_a_refusal_never_shows_the_secret():
    got = acl.resolve_principal(
        FROM, _request("team-b", _secret(**{"tls.crt": "s3cr3t"})), "team-b"
    )
    assert "s3cr3t" not in got.message


def test_a_listing_that_misses_a_binding_does_not_forget_it():
    # Brokers answer DescribeAcls from an operator without Describe on the
    # cluster with an empty list; the memory must survive that.
    plan = acl.plan(spec(), ORDERS, frozenset(), memory(b("Write")), OPERATOR)
    denied = "Broker: Cluster authorization failed"
    outcomes = [Outcome(a, denied, "ClusterAuthorizationFailed") for a in plan.steps[0]]
    state = acl.AclState(plan, tuple(outcomes), frozenset(), memory(b("Write")))
    fields, (ready, synced) = acl.status(state)
    assert fields["bindings"] == [b("Write").to_status()]
    assert ready.reason == synced.reason == "ClusterAuthorizationFailed"
    assert synced.message.count(denied) == 1, "one error, every change it refused named once"
