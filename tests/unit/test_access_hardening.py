"""KafkaAccess and KafkaComposition under attack: what an adversarial review found.

Each case once gave a 500, let one namespace reach another's topics, or let
two children claim one name. Now a hostile namespace gets a violation, junk
gets a condition, and every child name stands for exactly one thing.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hooks.app import create_app
from hooks.core import access
from hooks.core.composition import Pattern, parse_composition
from hooks.core.request import parse_sync
from hooks.core.specs import SpecError
from tests.fakes import FakeClients, FakeKafka
from tests.http import harness
from tools import driver

GV = "kafkaaccess.io/v1alpha1"
COMPOSITIONS = f"KafkaComposition.{GV}"
REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    path.stem: yaml.safe_load(path.read_text())
    for path in sorted((REPO / "compositions").glob("*.yaml"))
}


def body(spec, name="app", namespace="team-a", compositions=None, status=None, related=None):
    parent = {
        "apiVersion": GV,
        "kind": "KafkaAccess",
        "metadata": {"name": name, "namespace": namespace, "generation": 1, "uid": f"u-{name}"},
        "spec": spec,
    }
    if status is not None:
        parent["status"] = status
    found = {COMPOSITIONS: compositions if compositions is not None else dict(SHIPPED)}
    found.update(related or {})
    return {"parent": parent, "children": {}, "related": found, "finalizing": False}


def render(spec, **kwargs):
    return access.render(parse_sync(body(spec, **kwargs), "KafkaAccess"))


def hook():
    app = create_app({"CLIENTS": FakeClients(FakeKafka()), "CLOCK": lambda: harness.NOW})
    return app.test_client()


def synced(answer):
    return next(c for c in answer["status"]["conditions"] if c["type"] == "Synced")


# -- junk in status --------------------------------------------------------------------

JUNK_STATUS = [
    # case, reason, status
    ("conditions a number", "status.conditions: 5 is no list of conditions", {"conditions": 5}),
    ("conditions a string", "a string is iterable but holds no conditions", {"conditions": "x"}),
    (
        "junk entries",
        "entries that are not objects are skipped",
        {"conditions": [5, None, {"type": "Synced", "status": "True"}]},
    ),
    (
        "fields of the wrong type",
        "remembered fields that are no strings are dropped",
        {"composition": 5, "principal": [], "cluster": {}},
    ),
]


@pytest.mark.parametrize(("case", "reason", "status"), JUNK_STATUS, ids=[c[0] for c in JUNK_STATUS])
@pytest.mark.parametrize("spec", [{}, {"compositionRef": {"name": "missing"}}], ids=["ok", "fails"])
def test_junk_in_the_parents_status_is_no_500(case, reason, status, spec):
    # "fails" takes the path that compares with the previous Synced condition.
    answer = hook().post("/hooks/kafkaaccess/sync", json=body(spec, status=status))

    assert answer.status_code == 200, reason
    assert isinstance(answer.get_json()["status"]["conditions"], list)


def test_junk_in_an_observed_childs_status_and_spec_is_no_500():
    request = body({"topics": [{"name": "t"}]}, namespace="team-a")
    request["related"][COMPOSITIONS] = {"services": SHIPPED["services"]}
    kafka_topic = next(
        c
        for c in hook().post("/hooks/kafkaaccess/sync", json=request).get_json()["children"]
        if c["kind"] == "KafkaTopic"
    )
    observed = copy.deepcopy(kafka_topic)
    observed["status"] = {"conditions": 5}
    request["children"] = {
        f"KafkaTopic.{GV}": {f"team-a/{observed['metadata']['name']}": observed},
        f"KafkaACL.{GV}": {"team-a/junk": {"kind": "KafkaACL", "apiVersion": GV, "spec": "x"}},
    }

    answer = hook().post("/hooks/kafkaaccess/sync", json=request)
    assert answer.status_code == 200
    ready = answer.get_json()["status"]["conditions"][0]
    assert ready["reason"] == "WaitingForChild", "a child whose conditions are junk is not ready"

    # A failed render answers the junk child unchanged, and sums it up without crashing.
    request["parent"]["spec"] = {"topics": [{"name": "t", "partitions": 1000}]}
    failed = hook().post("/hooks/kafkaaccess/sync", json=request)
    assert failed.status_code == 200
    assert len(failed.get_json()["children"]) == 2, "the observed children are kept"


# -- numbers that are not numbers ----------------------------------------------------------

NOT_FINITE_VALUES = [
    # case, reason, value
    ("NaN", "NaN is no retention; comparing it with a bound once raised", "NaN"),
    ("Infinity", "an infinite retention is no value a bound can allow", "Infinity"),
    ("negative infinity", "nor is its negative", "-Infinity"),
    ("signalling NaN", "Decimal also reads sNaN", "sNaN"),
]


@pytest.mark.parametrize(
    ("case", "reason", "value"), NOT_FINITE_VALUES, ids=[c[0] for c in NOT_FINITE_VALUES]
)
def test_a_config_value_that_is_not_a_finite_number_is_a_violation_naming_the_key(
    case, reason, value
):
    answer = hook().post(
        "/hooks/kafkaaccess/sync",
        json=body({"topics": [{"name": "t", "config": {"retention.ms": value}}]}),
    )

    assert answer.status_code == 200, reason
    status = answer.get_json()["status"]
    assert status["violations"] == [
        f"topics[0].config.retention.ms: {value!r} is not a finite number "
        "(KafkaComposition services)"
    ]
    assert answer.get_json()["children"] == []


@pytest.mark.parametrize(
    ("case", "reason", "literal"),
    [
        ("1e400", "JSON 1e400 is a float too large for a double: infinity", "1e400"),
        ("Infinity", "Python's JSON reads the bare word Infinity", "Infinity"),
        ("NaN", "and the bare word NaN", "NaN"),
    ],
    ids=["1e400", "Infinity", "NaN"],
)
def test_a_json_number_that_is_not_finite_is_a_condition_naming_the_key(case, reason, literal):
    raw = json.dumps(body({"topics": [{"name": "t", "config": {"retention.ms": "@"}}]}))

    answer = hook().post(
        "/hooks/kafkaaccess/sync",
        data=raw.replace('"@"', literal),
        content_type="application/json",
    )

    assert answer.status_code == 200, reason
    status = answer.get_json()["status"]
    assert synced(answer.get_json())["reason"] == "InvalidSpec"
    assert any(v.startswith("spec.topics.0.config.retention.ms") for v in status["violations"])


@pytest.mark.parametrize(
    ("case", "reason", "bound"),
    [
        ("NaN", "min NaN once raised decimal.InvalidOperation when compared with max", '"NaN"'),
        ("Infinity", "an infinite bound is no bound", '"Infinity"'),
        ("1e400", "JSON 1e400 arrives as a float infinity", "1e400"),
        ("bare NaN", "the bare JSON word NaN arrives as a float NaN", "NaN"),
    ],
    ids=["NaN", "Infinity", "1e400", "bare NaN"],
)
def test_a_composition_bound_that_is_not_finite_is_composition_invalid_naming_the_field(
    case, reason, bound
):
    composition = copy.deepcopy(SHIPPED["services"])
    composition["spec"]["topics"]["config"]["allowed"]["retention.ms"]["min"] = "@"
    raw = json.dumps(body({}, compositions={"services": composition})).replace('"@"', bound)

    answer = hook().post("/hooks/kafkaaccess/sync", data=raw, content_type="application/json")

    assert answer.status_code == 200, reason
    condition = synced(answer.get_json())
    assert condition["reason"] == "CompositionInvalid"
    # (marshmallow puts a .value level under a dict key; the path names the field either way)
    assert "spec.topics.config.allowed.retention.ms." in condition["message"]
    assert ".min: expected a finite number" in condition["message"]


# -- hostile namespace names -----------------------------------------------------------------

# Team b's names under every shipped composition: its own topics, its shared
# topics, its groups and transactional ids.
VICTIM_TOPICS = ("team-b.payments.settled", "shared.team-b.payments.settled")
VICTIM_SPACES = {
    "Topic": (Pattern("Prefixed", "team-b."), Pattern("Prefixed", "shared.team-b.")),
    "Group": (Pattern("Prefixed", "team-b."),),
    "TransactionalId": (Pattern("Prefixed", "team-b."),),
}
# What every namespace may do to a shared topic of another: read it.
READ_ONLY = {"Read", "Describe", "DescribeConfigs"}
HOSTILE = [
    # namespace, reason
    ("shared", "equal to the shared-topics prefix, so {namespace}.* is shared.*"),
    ("team", "a prefix of team-b as a string"),
    ("team-b-x", "team-b followed by more"),
    ("shared-team-b", "both names run together"),
]


def _certificate(namespace):
    """A throwaway self-signed certificate whose OU is ``namespace``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, namespace),
            x509.NameAttribute(NameOID.COMMON_NAME, "app"),
        ]
    )
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode()


def _attempts(composition):
    """Every way a KafkaAccess might reach team b's names: one entry per attempt."""
    profiles = set(composition["spec"]["profiles"])
    owned = set()
    for victim in VICTIM_TOPICS:
        for variant in (victim, victim.replace(".", "_")):
            parts = variant.split(".")
            owned.update(".".join(parts[i:]) for i in range(len(parts)))
            owned.update(variant[i:] for i in range(len(variant)) if variant[i - 1 : i] in "_-")
    attempts = [{"topics": [{"name": name}]} for name in sorted(owned) if name]
    topics = [
        *VICTIM_TOPICS,
        "team-b.*",
        "team-b*",
        "shared.team-b.*",
        "shared.*",
        "shared*",
        "*",
    ]
    for topic in topics:
        attempts.append({"access": [{"profile": "produce", "topics": [topic]}]})
        if not topic.startswith("shared"):
            attempts.append(
                {"access": [{"profile": "consume", "topics": [topic], "group": "team-b.payments"}]}
            )
        attempts.append(
            {"access": [{"resource": {"type": "Topic", "name": topic}, "operations": ["All"]}]}
        )
        attempts.append(
            {"access": [{"resource": {"type": "Topic", "name": topic}, "operations": ["Delete"]}]}
        )
    for kind in ("Group", "TransactionalId"):
        for name in ("team-b.payments", "team-b.*", "team-b*", "*"):
            attempts.append(
                {"access": [{"resource": {"type": kind, "name": name}, "operations": ["All"]}]}
            )
    if "transactional-produce" in profiles:
        attempts.append(
            {
                "access": [
                    {
                        "profile": "transactional-produce",
                        "topics": ["shared.team-b.payments.settled"],
                        "transactionalId": "team-b.payments",
                    }
                ]
            }
        )
    if "streams" in profiles:
        for application in ("team-b.payments", "shared.team-b.payments", "shared.team-b"):
            attempts.append(
                {
                    "access": [
                        {"profile": "streams", "applicationId": application, "topics": ["x.y"]}
                    ]
                }
            )
    return attempts


def _reach(rendering):
    """What a rendering gives the namespace on team b's names beyond reading shared topics."""
    found = [
        f"owns {t.topic_name}"
        for t in rendering.topics
        if any(
            Pattern("Literal", name).within(space)
            for name in (t.topic_name, t.topic_name.replace("_", "."))
            for space in VICTIM_SPACES["Topic"]
        )
    ]
    for acl in rendering.acls:
        for space in VICTIM_SPACES.get(acl.resource_type, ()):
            if not acl.pattern.overlaps(space):
                continue
            readable_shared = acl.resource_type == "Topic" and space.name == "shared.team-b."
            if readable_shared and set(acl.operations) <= READ_ONLY:
                continue
            found.append(f"{', '.join(acl.operations)} on {acl.resource_type} {acl.pattern}")
    return found


def _hostile_spec(composition_name, namespace, spec):
    spec = {"compositionRef": {"name": composition_name}, **spec}
    related = {}
    if composition_name == "shared-topics":
        spec["principalFrom"] = {"secretKeyRef": {"name": "app-cert"}}
        pem = base64.b64encode(_certificate(namespace).encode()).decode()
        related["Secret.v1"] = {f"{namespace}/app-cert": {"data": {"tls.crt": pem}}}
    return spec, related


@pytest.mark.parametrize("composition", sorted(SHIPPED))
@pytest.mark.parametrize(("namespace", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_no_namespace_name_reaches_another_teams_topics(composition, namespace, reason):
    # The control: an empty KafkaAccess renders, so each refusal below is the
    # composition refusing the attempt, not the principal or the setup.
    empty, related = _hostile_spec(composition, namespace, {})
    assert isinstance(render(empty, namespace=namespace, related=related), access.Rendering)

    reached = {}
    for attempt in _attempts(SHIPPED[composition]):
        spec, related = _hostile_spec(composition, namespace, attempt)
        outcome = render(spec, namespace=namespace, related=related)
        if isinstance(outcome, access.Rendering) and _reach(outcome):
            reached[json.dumps(attempt)] = _reach(outcome)

    assert reached == {}, reason


def test_namespace_shared_cannot_own_or_write_shared_topics_under_the_default_composition():
    # The tester's case: getting Delete and 7 days where shared-topics gives Orphan and 30 days.
    spec = {
        "topics": [{"name": "team-b.payments.settled"}],
        "access": [{"profile": "produce", "topics": ["shared.*"]}],
    }

    outcome = render(spec, namespace="shared")

    assert isinstance(outcome, access.Failure) and outcome.reason == "CompositionViolated"
    assert outcome.violations == (
        "topics[0].name: topic shared.team-b.payments.settled is in topics shared.*, which "
        "KafkaComposition services reserves for other compositions; no KafkaAccess of it may "
        "own a topic there",
        "access[0]: Write, Describe on topics shared.* is in topics shared.*, which "
        "KafkaComposition services reserves for other compositions; it grants nothing there",
    )


def test_the_shared_topics_owner_still_owns_and_every_team_still_reads():
    owner, related = _hostile_spec(
        "shared-topics",
        "team-b",
        {
            "topics": [{"name": "payments.settled"}],
            "access": [{"profile": "produce", "topics": ["shared.team-b.payments.settled"]}],
        },
    )
    streams_reader = {
        "compositionRef": {"name": "streams"},
        "access": [
            {
                "profile": "streams",
                "applicationId": "team-a.app",
                "topics": ["shared.team-b.payments.settled"],
            }
        ],
    }

    written = render(owner, namespace="team-b", related=related)
    read = render(streams_reader, namespace="team-a")

    assert isinstance(written, access.Rendering)
    assert [t.topic_name for t in written.topics] == ["shared.team-b.payments.settled"]
    assert isinstance(read, access.Rendering), "the reservation still lets streams read"


RESERVED = [
    # case, reason, spec, violation (start)
    (
        "folded name",
        "Kafka refuses shared_x beside shared.x, so owning it would squat the shared one",
        {"topics": [{"name": "x"}]},
        "topics[0].name: topic reserved_ns.x",
    ),
    (
        "prefix reaching in",
        "a prefix shorter than the reserved one still reaches into it",
        {"access": [{"resource": {"type": "Topic", "name": "res*"}, "operations": ["Read"]}]},
        "access[0]: Read on topics res* reaches into topics reserved.*",
    ),
    (
        "more than allowed",
        "a reservation may let some operations through, and only those",
        {
            "access": [
                {"resource": {"type": "Group", "name": "reserved.g"}, "operations": ["Delete"]}
            ]
        },
        "access[0]: Delete on group reserved.g is in groups reserved.*",
    ),
]


def _reserving():
    composition = copy.deepcopy(SHIPPED["services"])
    spec = composition["spec"]
    spec["topics"]["naming"] = {"template": "reserved_ns.{topic}", "allowed": ["*"]}
    spec["access"] = [
        {"resource": {"type": "Topic", "name": "*"}, "operations": ["All"]},
        {"resource": {"type": "Group", "name": "*"}, "operations": ["All"]},
    ]
    spec["reserved"] = [
        {"resource": {"type": "Topic", "name": "reserved.*"}},
        {"resource": {"type": "Group", "name": "reserved.*"}, "operations": ["Read"]},
    ]
    return composition


@pytest.mark.parametrize(
    ("case", "reason", "spec", "violation"), RESERVED, ids=[r[0] for r in RESERVED]
)
def test_a_reservation_holds_whatever_the_permits_say(case, reason, spec, violation):
    outcome = render(spec, compositions={"services": _reserving()})

    assert isinstance(outcome, access.Failure), reason
    assert outcome.violations[0].startswith(violation), outcome.violations


def test_a_reservation_lets_its_operations_through():
    spec = {
        "access": [{"resource": {"type": "Group", "name": "reserved.g"}, "operations": ["Read"]}]
    }

    assert isinstance(render(spec, compositions={"services": _reserving()}), access.Rendering)


OVERLAPS = [
    # case, reason, one, other, want
    ("same name", "a name shares itself", ("Literal", "a.b"), ("Literal", "a.b"), True),
    ("other name", "two names share nothing", ("Literal", "a.b"), ("Literal", "a.c"), False),
    (
        "name in prefix",
        "a prefix holds the names it starts",
        ("Literal", "a.b"),
        ("Prefixed", "a."),
        True,
    ),
    ("name outside", "and no other", ("Literal", "ab"), ("Prefixed", "a."), False),
    (
        "shorter prefix",
        "a shorter prefix reaches into a longer one",
        ("Prefixed", "a"),
        ("Prefixed", "a.b."),
        True,
    ),
    (
        "side by side",
        "prefixes that part ways share nothing",
        ("Prefixed", "a.b"),
        ("Prefixed", "a.c"),
        False,
    ),
    ("everything", "* shares a name with anything", ("Literal", "*"), ("Literal", "x"), True),
]


@pytest.mark.parametrize(
    ("case", "reason", "one", "other", "want"), OVERLAPS, ids=[o[0] for o in OVERLAPS]
)
def test_patterns_overlap_where_one_name_matches_both(case, reason, one, other, want):
    assert Pattern(*one).overlaps(Pattern(*other)) is want, reason
    assert Pattern(*other).overlaps(Pattern(*one)) is want, "overlapping is symmetric"


@pytest.mark.parametrize(
    ("case", "reason", "value", "problem"),
    [
        ("negative", "a limit below nothing means nothing", -1, "greater than or equal to 0"),
        (
            "above the schema",
            "the schema allows 1000 at most anyway",
            1001,
            "less than or equal to 1000",
        ),
        ("not a number", "a limit is a whole number", "100", "Not a valid integer"),
    ],
    ids=["negative", "above the schema", "not a number"],
)
def test_max_per_access_is_a_whole_number_up_to_the_schemas_limit(case, reason, value, problem):
    spec = copy.deepcopy(SHIPPED["services"]["spec"])
    spec["topics"]["maxPerAccess"] = value

    with pytest.raises(SpecError) as error:
        parse_composition("services", spec)

    assert any(
        p.startswith("spec.topics.maxPerAccess") and problem in p for p in error.value.problems
    ), (reason, error.value.problems)


def test_a_reserved_name_is_fixed_and_uses_no_variables():
    spec = copy.deepcopy(SHIPPED["services"]["spec"])
    spec["reserved"] = [{"resource": {"type": "Topic", "name": "{namespace}.x"}}]

    with pytest.raises(SpecError) as error:
        parse_composition("services", spec)

    assert "spec.reserved.0.resource.name: '{namespace}.x' uses {namespace}; here a name is " in (
        str(error.value)
    )


def test_a_namespace_kubernetes_could_not_have_renders_nothing():
    # Safety rests on namespaces being DNS labels: without a dot, {namespace}. never
    # reaches into another namespace's names.
    outcome = render({"topics": [{"name": "x"}]}, namespace="team-b.payments")

    assert isinstance(outcome, access.Failure) and outcome.reason == "InvalidSpec"
    assert outcome.violations[0].startswith("metadata.namespace: 'team-b.payments'")


# -- size ----------------------------------------------------------------------------------------


def test_more_topics_than_the_composition_allows_is_a_violation():
    spec = {"topics": [{"name": f"t{i}"} for i in range(101)]}

    outcome = render(spec)

    assert isinstance(outcome, access.Failure)
    assert outcome.violations == (
        "topics: 101 topics are more than the 100 KafkaComposition services lets one "
        "KafkaAccess own",
    )


LIMITS = [
    # case, reason, spec, problem
    (
        "topics",
        "40,000 topics once took 15 s to check for duplicates; 1000 is the schema's limit",
        {"topics": [{"name": f"t{i}"} for i in range(40_000)]},
        "spec.topics: list at most 1000 topics, not 40000",
    ),
    (
        "entries",
        "as many access entries",
        {"access": [{"profile": "produce", "topics": ["x"]}] * 1001},
        "spec.access: list at most 1000 entries, not 1001",
    ),
    (
        "topics of one entry",
        "one entry lists at most 1000 topics",
        {"access": [{"profile": "produce", "topics": [f"t{i}" for i in range(1001)]}]},
        "spec.access.0.topics: list 1 to 1000 topics, not 1001",
    ),
    (
        "topics of all entries",
        "and all entries together as many, so rendering stays small",
        {"access": [{"profile": "produce", "topics": [f"t{i}" for i in range(600)]}] * 2},
        "spec.access: the access entries list 1200 topics in all; at most 1000",
    ),
]


@pytest.mark.parametrize(("case", "reason", "spec", "problem"), LIMITS, ids=[c[0] for c in LIMITS])
def test_an_oversized_spec_is_refused_naming_the_limit(case, reason, spec, problem):
    with pytest.raises(SpecError) as error:
        access.parse_access(spec)

    assert problem in error.value.problems, reason


def test_an_oversized_list_is_refused_before_its_items_are_parsed(monkeypatch):
    # Counting is all an oversized spec costs: the schema never sees it.
    def refuse(*_, **__):
        raise AssertionError("the schema parsed an oversized spec")

    monkeypatch.setattr(access._AccessSchema, "load", refuse)

    with pytest.raises(SpecError):
        access.parse_access({"topics": [{"name": "t"}] * 1001})


def test_repeated_topics_are_still_named_once_each():
    spec = {"topics": [{"name": n} for n in ("a", "b", "a", "c", "b", "a")]}

    with pytest.raises(SpecError) as error:
        access.parse_access(spec)

    assert error.value.problems == ("spec: each topic is listed once; repeated: a, b",)


def test_two_owned_topics_kafka_would_take_for_one_are_a_violation():
    outcome = render({"topics": [{"name": "orders.created"}, {"name": "orders_created"}]})

    assert isinstance(outcome, access.Failure)
    assert outcome.violations == (
        "topics[1].name: topic team-a.orders_created collides with topics[0] "
        "(team-a.orders.created): Kafka treats '.' and '_' in topic names alike",
    )


# -- child names ------------------------------------------------------------------------------------


def _names(answer):
    return {(c["kind"], c["metadata"]["name"]) for c in answer["children"]}


def test_children_of_different_kafkaaccesses_never_share_a_name():
    # a + b-c and a-b + c both read a-b-c.
    first = hook().post("/hooks/kafkaaccess/sync", json=body({"topics": [{"name": "b-c"}]}, "a"))
    second = hook().post("/hooks/kafkaaccess/sync", json=body({"topics": [{"name": "c"}]}, "a-b"))

    assert _names(first.get_json()) and _names(second.get_json())
    assert _names(first.get_json()).isdisjoint(_names(second.get_json()))


IDENTITIES = [
    # A child's whole identity: its kind, its parent's name, and what it stands for.
    ("KafkaTopic", "a", "b-c"),
    ("KafkaTopic", "a-b", "c"),
    ("KafkaTopic", "a.b", "c"),
    ("KafkaTopic", "a", "b.c"),
    ("KafkaTopic", "a", "B-c"),
    ("KafkaTopic", "a", "b_c"),
    ("KafkaTopic", "a", "topic-b-c"),
    ("KafkaACL", "a", "Topic", "Literal", "b-c"),
    ("KafkaACL", "a", "Topic", "Prefixed", "b-c"),
    ("KafkaACL", "a", "Group", "Literal", "b-c"),
    ("KafkaACL", "a-topic", "Topic", "Literal", "c"),
    ("KafkaACL", "a", "Cluster", "Literal", "kafka-cluster"),
]


def _name_of(identity):
    if identity[0] == "KafkaTopic":
        return access.topic_child_name(identity[1], identity[2])
    _, parent, kind, pattern_type, name = identity
    return access.acl_child_name(parent, access.DesiredAcl(kind, Pattern(pattern_type, name), ()))


def test_child_names_are_injective_dns_safe_and_stable():
    names = [_name_of(identity) for identity in IDENTITIES]

    assert len(set(names)) == len(names), dict(zip(names, IDENTITIES, strict=True))
    assert names == [_name_of(identity) for identity in IDENTITIES], "the same every time"
    for name in names:
        assert len(name) <= 63 and access._DNS_SUBDOMAIN.match(name), name


def test_a_topic_named_like_a_hash_suffix_gets_a_name_of_its_own():
    # The old names added a hash only where the name had to change, so a topic
    # named like another child's hashed name took that name. Now every name
    # ends in a hash, and a forged one only makes the readable part longer.
    first = access.topic_child_name("app", "Orders")
    forged = first.removeprefix("app-")

    outcome = render({"topics": [{"name": "Orders"}, {"name": forged}]}, name="app")
    assert isinstance(outcome, access.Rendering), outcome
    kids = access.children(parse_sync(body({}, name="app"), "KafkaAccess").parent, outcome)

    assert len({k["metadata"]["name"] for k in kids}) == 2


# -- the driver, as Metacontroller ------------------------------------------------------------------


class _AppHook:
    """The app behind the driver's HookClient interface, without a server."""

    def __init__(self, answers=None):
        self.client = hook()
        self.answers = answers or {}

    def post(self, path, payload):
        name = payload["parent"]["metadata"]["name"]
        if path.endswith("/sync") and name in self.answers:
            return 200, self.answers[name]
        response = self.client.post(path, json=payload)
        return response.status_code, response.get_json()


def _world(answers=None):
    world = driver.World(_AppHook(answers))  # type: ignore[arg-type]
    world.apply(SHIPPED["services"])
    return world


def _kafka_access(name, spec):
    return {
        "apiVersion": GV,
        "kind": "KafkaAccess",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": spec,
    }


def test_the_driver_adopts_no_child_of_another_parent():
    topic = {
        "apiVersion": GV,
        "kind": "KafkaTopic",
        "metadata": {"name": "same", "namespace": "team-a"},
        "spec": {"clusterRef": {"name": "local"}, "topicName": "team-a.x"},
    }
    world = _world(answers={"first": {"children": [topic]}, "second": {"children": [topic]}})
    world.apply(_kafka_access("first", {}))
    world.apply(_kafka_access("second", {}))
    world.sync("KafkaAccess", "team-a/first")
    owner = world.get("KafkaTopic", "team-a/same")["metadata"]["ownerUid"]

    with pytest.raises(RuntimeError, match="child conflict") as error:
        world.sync("KafkaAccess", "team-a/second")

    assert world.get("KafkaTopic", "team-a/same")["metadata"]["ownerUid"] == owner
    assert f"KafkaTopic team-a/same already exists and belongs to the parent with uid {owner}" in (
        str(error.value)
    )


def test_kafkaaccesses_whose_names_run_together_sync_side_by_side():
    world = _world()
    world.apply(_kafka_access("a", {"topics": [{"name": "b-c"}]}))
    world.apply(_kafka_access("a-b", {"topics": [{"name": "c"}]}))

    world.sync("KafkaAccess", "team-a/a")
    world.sync("KafkaAccess", "team-a/a-b")  # raised on a child conflict before

    first = world.children_of(world.get("KafkaAccess", "team-a/a"))
    second = world.children_of(world.get("KafkaAccess", "team-a/a-b"))
    assert len(first[f"KafkaTopic.{GV}"]) == len(second[f"KafkaTopic.{GV}"]) == 1
