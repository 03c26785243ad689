"""Table tests of rendering a KafkaAccess through its composition: each rule, each selection."""

import base64
import copy
from pathlib import Path

import pytest

from hooks.core import access
from hooks.core.request import parse_sync

GV = "kafkaaccess.io/v1alpha1"
COMPOSITIONS = f"KafkaComposition.{GV}"
CERTS = Path(__file__).resolve().parents[1] / "fixtures" / "http" / "kafkaaccess" / "certs"
ORDERS = "User:CN=orders,OU=team-a,O=Example Corp,C=DE"

# A composition like the shipped services one, written out so each rule is visible here.
RULES = {
    "clusterRef": {"name": "local"},
    "topics": {
        "naming": {"template": "{namespace}.{topic}", "allowed": ["{namespace}.*"]},
        "partitions": {"default": 3, "min": 1, "max": 12},
        "replicationFactor": {"min": 2, "max": 3},
        "config": {
            "defaults": {"retention.ms": 604800000},
            "allowed": {
                "retention.ms": {"min": 3600000, "max": 1209600000},
                "cleanup.policy": {"values": ["delete", "compact"]},
                "message.timestamp.type": {},
            },
        },
        "deletionPolicy": "Orphan",
    },
    "principal": {
        "template": "User:CN={name},OU={namespace},O=Example Corp,C=DE",
        "allowPrincipalFrom": True,
        "mustMatch": ["User:CN=*,OU={namespace},O=Example Corp,C=DE"],
    },
    "access": [
        {"resource": {"type": "Topic", "name": "{namespace}.*"}, "operations": ["Read", "Write"]},
        {"resource": {"type": "Topic", "name": "shared.*"}, "operations": ["Read"]},
        {"resource": {"type": "Group", "name": "{namespace}.*"}, "operations": ["Read"]},
        {"resource": {"type": "TransactionalId", "name": "{namespace}.*"}, "operations": ["Write"]},
    ],
    "profiles": {
        "produce": {
            "acls": [{"resource": {"type": "Topic", "name": "{topic}"}, "operations": ["Write"]}]
        },
        "consume": {
            "acls": [
                {"resource": {"type": "Topic", "name": "{topic}"}, "operations": ["Read"]},
                {"resource": {"type": "Group", "name": "{group}"}, "operations": ["Read"]},
            ]
        },
        "transactional-produce": {
            "acls": [
                {"resource": {"type": "Topic", "name": "{topic}"}, "operations": ["Write"]},
                {
                    "resource": {"type": "TransactionalId", "name": "{transactionalId}"},
                    "operations": ["Write"],
                },
            ]
        },
        "streams": {
            "acls": [
                {"resource": {"type": "Topic", "name": "{topic}"}, "operations": ["Read"]},
                {
                    "resource": {"type": "Topic", "name": "{applicationId}-*"},
                    "operations": ["Read", "Write"],
                },
                {"resource": {"type": "Group", "name": "{applicationId}"}, "operations": ["Read"]},
            ]
        },
        "grouped": {
            "acls": [{"resource": {"type": "Group", "name": "{group}-x"}, "operations": ["Read"]}]
        },
    },
}


def composition(name="rules", spec=None, labels=None, **changes):
    meta = {"name": name, **({"labels": labels} if labels else {})}
    return {
        "apiVersion": GV,
        "kind": "KafkaComposition",
        "metadata": meta,
        "spec": {**(spec or RULES), **changes},
    }


def request(spec, compositions=(), name="orders", related=None, children=None):
    parent = {
        "apiVersion": GV,
        "kind": "KafkaAccess",
        "metadata": {"name": name, "namespace": "team-a", "generation": 1, "uid": "u-1"},
        "spec": spec,
    }
    found = {COMPOSITIONS: {c["metadata"]["name"]: c for c in compositions or [composition()]}}
    found.update(related or {})
    body = {"parent": parent, "children": children or {}, "related": found, "finalizing": False}
    return parse_sync(body, "KafkaAccess")


def render(spec, **kwargs):
    return access.render(request({"compositionRef": {"name": "rules"}, **spec}, **kwargs))


def acls(rendering):
    return {(a.resource_type, str(a.pattern)): a.operations for a in rendering.acls}


# -- what renders -------------------------------------------------------------

RENDERS = [
    # case, reason, spec, check
    (
        "nothing",
        "an empty KafkaAccess renders no children and runs as the template's principal",
        {},
        lambda r: r.topics == () and r.acls == () and r.principal == ORDERS,
    ),
    (
        "named topic",
        "the naming template forms the Kafka name",
        {"topics": [{"name": "orders.created"}]},
        lambda r: r.topics[0].topic_name == "team-a.orders.created",
    ),
    (
        "defaults",
        "partitions and config come from the composition where the topic says nothing",
        {"topics": [{"name": "t"}]},
        lambda r: (
            r.topics[0].partitions == 3
            and r.topics[0].replication_factor is None
            and r.topics[0].config == (("retention.ms", "604800000"),)
        ),
    ),
    (
        "own values",
        "a topic's own values win over the defaults",
        {
            "topics": [
                {
                    "name": "t",
                    "partitions": 12,
                    "replicationFactor": 3,
                    "config": {"retention.ms": 3600000},
                }
            ]
        },
        lambda r: (
            (r.topics[0].partitions, r.topics[0].replication_factor, r.topics[0].config)
            == (12, 3, (("retention.ms", "3600000"),))
        ),
    ),
    (
        "any value",
        "a key allowed with {} takes any value",
        {"topics": [{"name": "t", "config": {"message.timestamp.type": "LogAppendTime"}}]},
        lambda r: dict(r.topics[0].config)["message.timestamp.type"] == "LogAppendTime",
    ),
    (
        "deletion policy",
        "owned topics get the composition's deletion policy",
        {"topics": [{"name": "t"}]},
        lambda r: r.deletion_policy == "Orphan",
    ),
    (
        "produce",
        "one ACL per topic",
        {"access": [{"profile": "produce", "topics": ["team-a.a", "team-a.b"]}]},
        lambda r: acls(r) == {("Topic", "team-a.a"): ("Write",), ("Topic", "team-a.b"): ("Write",)},
    ),
    (
        "merged",
        "operations on the same resource pattern end up in one KafkaACL",
        {
            "access": [
                {"profile": "produce", "topics": ["team-a.a"]},
                {"profile": "consume", "topics": ["team-a.a"], "group": "team-a.g"},
            ]
        },
        lambda r: (
            acls(r) == {("Topic", "team-a.a"): ("Read", "Write"), ("Group", "team-a.g"): ("Read",)}
        ),
    ),
    (
        "group prefix",
        "a group ending in * is a group prefix",
        {"access": [{"profile": "consume", "topics": ["team-a.a"], "group": "team-a.workers-*"}]},
        lambda r: ("Group", "team-a.workers-*") in acls(r),
    ),
    (
        "topic prefix",
        "a topic ending in * is a prefix, within the namespace's own",
        {"access": [{"profile": "produce", "topics": ["team-a.events.*"]}]},
        lambda r: (
            [str(a.pattern) for a in r.acls] == ["team-a.events.*"]
            and r.acls[0].pattern.pattern_type == "Prefixed"
        ),
    ),
    (
        "read shared",
        "reading another team's shared topic is permitted by the shared.* rule",
        {"access": [{"profile": "consume", "topics": ["shared.team-b.x"], "group": "team-a.g"}]},
        lambda r: ("Topic", "shared.team-b.x") in acls(r),
    ),
    (
        "transactional",
        "a transactional id gets its own ACL",
        {
            "access": [
                {
                    "profile": "transactional-produce",
                    "topics": ["team-a.a"],
                    "transactionalId": "team-a.tx",
                }
            ]
        },
        lambda r: acls(r)[("TransactionalId", "team-a.tx")] == ("Write",),
    ),
    (
        "streams",
        "an application id names internal topics (a prefix) and the group",
        {
            "access": [
                {"profile": "streams", "topics": ["team-a.in"], "applicationId": "team-a.app"}
            ]
        },
        lambda r: (
            acls(r)
            == {
                ("Topic", "team-a.in"): ("Read",),
                ("Topic", "team-a.app-*"): ("Read", "Write"),
                ("Group", "team-a.app"): ("Read",),
            }
        ),
    ),
    (
        "plain operations",
        "where no profile fits, a resource with operations",
        {
            "access": [
                {"resource": {"type": "Topic", "name": "team-a.audit"}, "operations": ["Read"]}
            ]
        },
        lambda r: acls(r) == {("Topic", "team-a.audit"): ("Read",)},
    ),
    (
        "plain prefix",
        "a plain resource may be Prefixed without a *",
        {
            "access": [
                {
                    "resource": {"type": "Group", "name": "team-a.", "patternType": "Prefixed"},
                    "operations": ["Read"],
                }
            ]
        },
        lambda r: acls(r) == {("Group", "team-a.*"): ("Read",)},
    ),
    (
        "certificate",
        "principalFrom derives the principal from the certificate",
        {"principalFrom": {"secretKeyRef": {"name": "orders-cert"}}},
        lambda r: r.principal == ORDERS,
    ),
]


def _secret(name="orders-cert", cert="orders", key="tls.crt"):
    data = base64.b64encode((CERTS / f"{cert}.crt").read_bytes()).decode()
    return {
        "Secret.v1": {
            f"team-a/{name}": {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "team-a"},
                "data": {key: data},
            }
        }
    }


@pytest.mark.parametrize(("case", "reason", "spec", "check"), RENDERS, ids=[r[0] for r in RENDERS])
def test_renders(case, reason, spec, check):
    rendering = render(spec, related=_secret())

    assert isinstance(rendering, access.Rendering), getattr(rendering, "message", rendering)
    assert check(rendering), reason


# -- what each rule refuses -------------------------------------------------------

VIOLATIONS = [
    # case, reason, spec, want (a fragment of the one violation)
    (
        "write another namespace's topic",
        "team-a may not write team-b.payments",
        {"access": [{"profile": "produce", "topics": ["team-b.payments"]}]},
        "access[0]: Write on topic team-b.payments is not permitted in namespace team-a",
    ),
    (
        "write a shared topic",
        "shared.* is readable, not writable",
        {"access": [{"profile": "produce", "topics": ["shared.team-b.x"]}]},
        "access[0]: Write on topic shared.team-b.x is not permitted",
    ),
    (
        "every topic",
        "* reaches every topic, further than any rule",
        {"access": [{"profile": "consume", "topics": ["*"], "group": "team-a.g"}]},
        "access[0]: Read on every topic is not permitted",
    ),
    (
        "prefix too broad",
        "team-a* also reaches team-ab.*",
        {"access": [{"profile": "produce", "topics": ["team-a*"]}]},
        "access[0]: Write on topics team-a* is not permitted",
    ),
    (
        "another namespace's group",
        "groups are namespaced too",
        {"access": [{"profile": "consume", "topics": ["team-a.a"], "group": "team-b.g"}]},
        "access[0]: Read on group team-b.g is not permitted",
    ),
    (
        "application id of another namespace",
        "a Streams application id is a topic prefix, so it must lie in the namespace",
        {
            "access": [
                {"profile": "streams", "topics": ["team-a.in"], "applicationId": "team-b.app"}
            ]
        },
        "topics team-b.app-* is not permitted",
    ),
    (
        "operation not permitted",
        "Delete is not among the permitted operations",
        {
            "access": [
                {
                    "resource": {"type": "Topic", "name": "team-a.a"},
                    "operations": ["Read", "Delete"],
                }
            ]
        },
        "access[0]: Delete on topic team-a.a is not permitted",
    ),
    (
        "cluster",
        "nothing is permitted on the cluster",
        {"access": [{"resource": {"type": "Cluster"}, "operations": ["Describe"]}]},
        "Describe on the cluster is not permitted in namespace team-a; "
        "KafkaComposition rules permits nothing on clusters",
    ),
    (
        "unknown profile",
        "only the composition's profiles exist",
        {"access": [{"profile": "admin", "topics": ["team-a.a"]}]},
        "access[0].profile: KafkaComposition rules has no profile 'admin'; it has consume, grouped, produce",
    ),
    (
        "profile needs a group",
        "consume needs to know its group",
        {"access": [{"profile": "consume", "topics": ["team-a.a"]}]},
        "access[0]: profile consume needs group",
    ),
    (
        "profile needs topics",
        "produce needs topics",
        {"access": [{"profile": "transactional-produce", "transactionalId": "team-a.t"}]},
        "access[0]: profile transactional-produce needs topics",
    ),
    (
        "value the profile ignores",
        "a group given to produce would be silently dropped",
        {"access": [{"profile": "produce", "topics": ["team-a.a"], "group": "team-a.g"}]},
        "access[0].group: profile produce does not use it",
    ),
    (
        "star inside a name",
        "a prefix value inside a longer template",
        {"access": [{"profile": "grouped", "group": "team-a.g*"}]},
        "profile grouped makes the Group name 'team-a.g*-x' with a '*' inside it",
    ),
    (
        "partitions over the limit",
        "12 partitions at most",
        {"topics": [{"name": "t", "partitions": 13}]},
        "topics[0].partitions: 13 is above the maximum 12 of KafkaComposition rules",
    ),
    (
        "replication below the limit",
        "at least 2 replicas",
        {"topics": [{"name": "t", "replicationFactor": 1}]},
        "topics[0].replicationFactor: 1 is below the minimum 2",
    ),
    (
        "forbidden config key",
        "keys not listed are refused",
        {"topics": [{"name": "t", "config": {"min.insync.replicas": 1}}]},
        "topics[0].config.min.insync.replicas: KafkaComposition rules does not let teams set this key; "
        "it allows cleanup.policy, message.timestamp.type, retention.ms",
    ),
    (
        "config value out of range",
        "retention of at least an hour",
        {"topics": [{"name": "t", "config": {"retention.ms": 1000}}]},
        "topics[0].config.retention.ms: 1000 is below the minimum 3600000",
    ),
    (
        "config value not listed",
        "cleanup.policy is one of the listed values",
        {"topics": [{"name": "t", "config": {"cleanup.policy": "compact,delete"}}]},
        "topics[0].config.cleanup.policy: 'compact,delete' is not one of 'delete', 'compact'",
    ),
    (
        "principal not allowed",
        "this composition does not let a KafkaAccess write its principal",
        {"principal": ORDERS},
        "principal: KafkaComposition rules does not let a KafkaAccess name its principal; "
        "leave it out to run as User:CN=orders,OU=team-a,O=Example Corp,C=DE",
    ),
    (
        "certificate of another namespace",
        "the certificate's subject must carry the namespace",
        {"principalFrom": {"secretKeyRef": {"name": "payments-cert"}}},
        "principalFrom: User:CN=payments,OU=team-b,O=Example\\, Inc.,C=US is not a principal "
        "namespace team-a may use; KafkaComposition rules allows User:CN=*,OU=team-a,O=Example Corp,C=DE",
    ),
    (
        "other cluster",
        "the composition decides the cluster",
        {"clusterRef": {"name": "elsewhere"}},
        "clusterRef: KafkaComposition rules places its children on KafkaCluster local, not elsewhere",
    ),
]


@pytest.mark.parametrize(
    ("case", "reason", "spec", "want"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS]
)
def test_each_rule_is_a_violation(case, reason, spec, want):
    related = {**_secret(), **_secret("payments-cert", "payments")}
    related["Secret.v1"].update(_secret()["Secret.v1"])
    failure = render(spec, related=related)

    assert isinstance(failure, access.Failure), reason
    assert failure.reason == "CompositionViolated"
    assert any(want in v for v in failure.violations), f"{reason}: got {failure.violations}"
    assert len({v.split(":")[0] for v in failure.violations}) == 1, "one rule, one field"


def test_another_namespaces_topic_cannot_be_owned():
    # A naming template that passes the name through lets team-a ask for team-b's.
    loose = copy.deepcopy(RULES)
    loose["topics"]["naming"] = {"template": "{topic}", "allowed": ["{namespace}.*"]}
    failure = render(
        {"topics": [{"name": "team-b.payments"}]}, compositions=[composition(spec=loose)]
    )

    assert failure.violations == (
        "topics[0].name: topic team-b.payments is not one namespace team-a may own; "
        "KafkaComposition rules allows team-a.*",
    )


def test_internal_topic_names_are_refused():
    loose = copy.deepcopy(RULES)
    loose["topics"]["naming"] = {"template": "{topic}", "allowed": ["*"]}
    failure = render(
        {"topics": [{"name": "__consumer_offsets"}]}, compositions=[composition(spec=loose)]
    )

    assert "begins with '__'" in failure.violations[0]


def test_two_entries_naming_one_topic_are_refused():
    loose = copy.deepcopy(RULES)
    loose["topics"]["naming"] = {"template": "{namespace}.x", "allowed": ["{namespace}.*"]}
    failure = render(
        {"topics": [{"name": "a"}, {"name": "b"}]}, compositions=[composition(spec=loose)]
    )

    assert failure.violations == ("topics[1].name: topic team-a.x is already topics[0]",)


def test_every_violation_is_named_and_nothing_renders():
    failure = render(
        {
            "principal": ORDERS,
            "topics": [{"name": "t", "partitions": 99, "config": {"segment.ms": 1}}],
            "access": [
                {"profile": "produce", "topics": ["team-b.x"]},
                {"profile": "consume", "topics": ["*"], "group": "*"},
            ],
        }
    )

    assert [v.split(":")[0] for v in failure.violations] == [
        "principal",
        "topics[0].partitions",
        "topics[0].config.segment.ms",
        "access[0]",
        "access[1]",
        "access[1]",
    ]
    assert failure.message.startswith("KafkaAccess breaks 6 rule(s) of KafkaComposition rules: ")


# -- principals ------------------------------------------------------------------

PRINCIPAL_RULES = [
    # case, reason, principal policy, spec, want principal or violation fragment
    (
        "explicit allowed",
        "with allowPrincipal a KafkaAccess may write it, in any form; it is stored canonical",
        {"template": "User:CN={name}", "allowPrincipal": True},
        {"principal": "CN=orders, OU=team-a"},
        "User:CN=orders,OU=team-a",
    ),
    (
        "wildcard",
        "User:* is every client, never one application",
        {"allowPrincipal": True},
        {"principal": "User:*"},
        "principal: User:* stands for every client",
    ),
    (
        "no template",
        "without a template a KafkaAccess must name its principal",
        {"allowPrincipalFrom": True},
        {},
        "principal: KafkaComposition rules has no principal template",
    ),
    (
        "certificate refused",
        "principalFrom needs allowPrincipalFrom",
        {"template": "User:CN={name}"},
        {"principalFrom": {"secretKeyRef": {"name": "orders-cert"}}},
        "principalFrom: KafkaComposition rules does not let a KafkaAccess take its principal "
        "from a certificate; leave it out to run as User:CN=orders",
    ),
]


@pytest.mark.parametrize(
    ("case", "reason", "policy", "spec", "want"),
    PRINCIPAL_RULES,
    ids=[p[0] for p in PRINCIPAL_RULES],
)
def test_principal_rules(case, reason, policy, spec, want):
    rules = {**RULES, "principal": policy}
    outcome = render(spec, compositions=[composition(spec=rules)], related=_secret())

    if isinstance(outcome, access.Rendering):
        assert outcome.principal == want, reason
    else:
        assert any(want in v for v in outcome.violations), f"{reason}: {outcome.violations}"


CERTIFICATES = [
    # case, reason, related, want reason, want fragment
    (
        "missing",
        "the Secret is not there (yet)",
        {},
        "CertificateNotFound",
        "Secret team-a/orders-cert was not found",
    ),
    (
        "other key",
        "the Secret lacks the key",
        _secret(key="ca.crt"),
        "CertificateInvalid",
        "no key tls.crt",
    ),
    (
        "not a certificate",
        "the key holds something else",
        {
            "Secret.v1": {
                "team-a/orders-cert": {
                    "metadata": {"name": "orders-cert", "namespace": "team-a"},
                    "data": {"tls.crt": base64.b64encode(b"hello").decode()},
                }
            }
        },
        "CertificateInvalid",
        "not a PEM certificate",
    ),
]


@pytest.mark.parametrize(
    ("case", "reason", "related", "want_reason", "want"),
    CERTIFICATES,
    ids=[c[0] for c in CERTIFICATES],
)
def test_certificate_problems(case, reason, related, want_reason, want):
    failure = render({"principalFrom": {"secretKeyRef": {"name": "orders-cert"}}}, related=related)

    assert isinstance(failure, access.Failure)
    assert (failure.reason, want in failure.message) == (want_reason, True), (
        f"{reason}: {failure.message}"
    )


# -- choosing the composition -----------------------------------------------------------


def _cluster(default=None):
    spec = {"bootstrapServers": "127.0.0.1:9093"}
    if default:
        spec["defaultCompositionRef"] = {"name": default}
    return {
        f"KafkaCluster.{GV}": {
            "local": {
                "apiVersion": GV,
                "kind": "KafkaCluster",
                "metadata": {"name": "local"},
                "spec": spec,
            }
        }
    }


SELECTION = [
    # case, reason, spec, compositions, related, want (name or failure reason)
    ("by name", "compositionRef names it", {"compositionRef": {"name": "b"}}, ["a", "b"], {}, "b"),
    (
        "missing",
        "a compositionRef to nothing",
        {"compositionRef": {"name": "c"}},
        ["a"],
        {},
        "CompositionNotFound",
    ),
    (
        "by labels",
        "compositionSelector picks the one with the labels",
        {"compositionSelector": {"matchLabels": {"tier": "gold"}}},
        [("a", {"tier": "silver"}), ("b", {"tier": "gold"})],
        {},
        "b",
    ),
    (
        "labels match two",
        "two compositions with the labels is ambiguous",
        {"compositionSelector": {"matchLabels": {"tier": "gold"}}},
        [("a", {"tier": "gold"}), ("b", {"tier": "gold"})],
        {},
        "CompositionAmbiguous",
    ),
    (
        "labels match none",
        "no composition has the labels",
        {"compositionSelector": {"matchLabels": {"tier": "gold"}}},
        [("a", {"tier": "silver"})],
        {},
        "CompositionNotFound",
    ),
    ("default", "the one marked default", {}, [("a", None, False), ("b", None, True)], {}, "b"),
    (
        "no default",
        "nothing is marked default",
        {},
        [("a", None, False)],
        {},
        "CompositionNotFound",
    ),
    (
        "two defaults",
        "two defaults is ambiguous",
        {},
        [("a", None, True), ("b", None, True)],
        {},
        "CompositionAmbiguous",
    ),
    (
        "cluster default",
        "the KafkaCluster's defaultCompositionRef wins over default: true",
        {"clusterRef": {"name": "local"}},
        [("a", None, True), "b"],
        _cluster("b"),
        "b",
    ),
    (
        "cluster default missing",
        "the cluster names a composition that does not exist",
        {"clusterRef": {"name": "local"}},
        [("a", None, True)],
        _cluster("gone"),
        "CompositionNotFound",
    ),
]


def _compositions(items):
    out = []
    for item in items:
        if isinstance(item, str):
            item = (item, None, False)
        name, labels, *default = item
        out.append(composition(name, labels=labels, default=bool(default and default[0])))
    return out


@pytest.mark.parametrize(
    ("case", "reason", "spec", "items", "related", "want"), SELECTION, ids=[s[0] for s in SELECTION]
)
def test_selection(case, reason, spec, items, related, want):
    parsed = access.parse_access(spec)
    chosen = access.select(parsed, request(spec, _compositions(items), related=related))

    got = chosen.reason if isinstance(chosen, access.Failure) else chosen[0]
    assert got == want, f"{reason}: {getattr(chosen, 'message', chosen)}"


def test_a_broken_composition_is_named():
    broken = composition(spec={"principal": {}, "topics": {"partitions": {"min": 3, "max": 1}}})
    failure = render({}, compositions=[broken])

    assert failure.reason == "CompositionInvalid"
    assert failure.message.startswith(
        "KafkaComposition rules is invalid: spec.principal: give a template"
    )


# -- the spec itself ------------------------------------------------------------------

SPEC_ERRORS = [
    # case, reason, spec, want
    (
        "two ways to choose",
        "compositionRef or compositionSelector",
        {"compositionRef": {"name": "a"}, "compositionSelector": {"matchLabels": {"a": "b"}}},
        "not both",
    ),
    (
        "two principals",
        "principal or principalFrom",
        {"principal": "User:a", "principalFrom": {"secretKeyRef": {"name": "s"}}},
        "not both",
    ),
    (
        "bad principal",
        "a subject that cannot be read",
        {"principal": "CN=orders,,OU=x"},
        "spec.principal",
    ),
    (
        "empty selector",
        "a selector with no labels selects everything",
        {"compositionSelector": {"matchLabels": {}}},
        "at least one label",
    ),
    (
        "repeated topic",
        "a topic is listed once",
        {"topics": [{"name": "a"}, {"name": "a"}]},
        "repeated: a",
    ),
    (
        "topic name",
        "owned topic names are Kafka's characters",
        {"topics": [{"name": "a b"}]},
        "spec.topics.0.name",
    ),
    (
        "profile and resource",
        "an entry is one or the other",
        {"access": [{"profile": "p", "resource": {"type": "Cluster"}}]},
        "either a profile",
    ),
    ("neither", "an entry says something", {"access": [{}]}, "either a profile"),
    (
        "resource without operations",
        "a plain resource lists its operations",
        {"access": [{"resource": {"type": "Cluster"}}]},
        "needs its operations",
    ),
    (
        "operations with a profile",
        "the profile decides the operations",
        {"access": [{"profile": "p", "operations": ["Read"]}]},
        "a profile decides",
    ),
    (
        "topics with a resource",
        "a plain resource takes no profile values",
        {"access": [{"resource": {"type": "Cluster"}, "operations": ["Describe"], "group": "g"}]},
        "belong to a profile",
    ),
    (
        "star inside",
        "a * only ends a name",
        {"access": [{"profile": "p", "topics": ["a*b"]}]},
        "is no topic",
    ),
    (
        "literal star",
        "Literal and a trailing * contradict",
        {
            "access": [
                {
                    "resource": {"type": "Group", "name": "g*", "patternType": "Literal"},
                    "operations": ["Read"],
                }
            ]
        },
        "a name ending in '*' is a prefix",
    ),
    (
        "application id",
        "an application id names topics",
        {"access": [{"profile": "streams", "applicationId": "a b"}]},
        "an application id names topics",
    ),
    ("unknown field", "a misspelt field is not ignored", {"topic": []}, "Unknown field"),
]


@pytest.mark.parametrize(
    ("case", "reason", "spec", "want"), SPEC_ERRORS, ids=[s[0] for s in SPEC_ERRORS]
)
def test_spec_errors(case, reason, spec, want):
    failure = access.render(request(spec))

    assert failure.reason == "InvalidSpec", reason
    assert want in failure.message, f"{reason}: {failure.message}"


# -- malformed related objects ------------------------------------------------------

JUNK = [
    None,
    3,
    "x",
    [1],
    {"spec": 3},
    {"spec": {"default": "yes", "clusterRef": 5}},
    {"metadata": 3},
]


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_malformed_related_objects_are_reported_never_raised(junk):
    """Related objects arrive unchecked; a broken one is a condition, not a crash."""
    for spec in (
        {"clusterRef": {"name": "local"}},
        {"compositionSelector": {"matchLabels": {"a": "b"}}},
        {"compositionRef": {"name": "other"}},
        {"compositionRef": {"name": "rules"}, "principalFrom": {"secretKeyRef": {"name": "s"}}},
    ):
        related = {f"KafkaCluster.{GV}": {"local": junk}, "Secret.v1": {"team-a/s": junk}}
        comps = {"rules": composition(), "other": junk}
        body = {
            "parent": {
                "apiVersion": GV,
                "kind": "KafkaAccess",
                "metadata": {"name": "orders", "namespace": "team-a"},
                "spec": spec,
            },
            "related": {COMPOSITIONS: comps, **related},
        }

        outcome = access.render(parse_sync(body, "KafkaAccess"))

        assert isinstance(outcome, access.Rendering | access.Failure)
