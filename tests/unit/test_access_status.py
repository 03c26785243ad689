"""Table tests of a KafkaAccess's children and status, and of its hook's answers."""

import copy
import json

import pytest

from hooks.app import create_app
from hooks.core import access
from hooks.core.composition import Pattern
from hooks.core.request import parse_sync
from tests.fakes import FakeClients, FakeKafka
from tests.http import harness
from tests.unit.test_access_render import composition, request

GV = "kafkaaccess.io/v1alpha1"

# -- names --------------------------------------------------------------------------

NAMES = [
    # case, reason, readable parts, want (the readable part before the hash)
    (
        "plain",
        "a name that is already DNS-safe is readable as it is",
        ("orders", "orders.created"),
        "orders-orders.created-",
    ),
    ("upper case", "upper case is lowered", ("orders", "Orders"), "orders-orders-"),
    ("underscore", "an underscore becomes a dash", ("orders", "a_b"), "orders-a-b-"),
    (
        "trailing dash",
        "a prefix such as app- cannot end a label",
        ("orders", "topics", "team-a.app-"),
        "orders-topics-team-a.app-",
    ),
    ("empty label", "two dots in a row cannot be in a name", ("orders", "a..b"), "orders-a.b-"),
    ("wildcard", "a * is no name character", ("orders", "topic", "*"), "orders-topic-"),
]


def _dns_safe(name):
    return len(name) <= 63 and all(
        label
        and label[0].isalnum()
        and label[-1].isalnum()
        and set(label) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        for label in name.split(".")
    )


@pytest.mark.parametrize(("case", "reason", "parts", "want"), NAMES, ids=[n[0] for n in NAMES])
def test_child_names_are_dns_safe_and_end_in_a_hash_of_the_identity(case, reason, parts, want):
    name = access.child_name(parts, ("KafkaTopic", *parts))

    assert name.startswith(want), reason
    assert _dns_safe(name), name
    assert name.rsplit("-", 1)[-1] == access.identity_hash(("KafkaTopic", *parts))
    assert len(name.rsplit("-", 1)[-1]) == access.HASH_LENGTH


def test_the_hash_not_the_readable_part_tells_children_apart():
    # Orders and orders read the same; only the identity differs.
    upper = access.child_name(("orders", "Orders"), ("KafkaTopic", "orders", "Orders"))
    lower = access.child_name(("orders", "orders"), ("KafkaTopic", "orders", "orders"))

    assert upper != lower
    assert upper.rsplit("-", 1)[0] == lower.rsplit("-", 1)[0]


def test_long_names_are_cut_and_stay_unique():
    first = access.topic_child_name("orders", "x" * 100 + "a")
    second = access.topic_child_name("orders", "x" * 100 + "b")

    assert len(first) == len(second) == 63
    assert first != second
    assert _dns_safe(first) and _dns_safe(second)


def test_acl_child_names_tell_literal_from_prefix():
    literal = access.DesiredAcl("Topic", Pattern("Literal", "s-team-a"), ("Read",))
    prefix = access.DesiredAcl("Topic", Pattern("Prefixed", "team-a"), ("Read",))
    cluster = access.DesiredAcl("Cluster", Pattern("Literal", "kafka-cluster"), ())

    assert access.acl_child_name("x", literal) != access.acl_child_name("x", prefix)
    assert access.acl_child_name("x", cluster).startswith("x-cluster-")


def test_long_parent_names_fit_in_a_label():
    value = access.label_value("a" * 200)

    assert len(value) == 63 and value != access.label_value("a" * 199)


# -- children -----------------------------------------------------------------------

SPEC = {
    "compositionRef": {"name": "rules"},
    "topics": [{"name": "orders.created", "partitions": 6}],
    "access": [
        {"profile": "produce", "topics": ["team-a.orders.created"]},
        {"profile": "consume", "topics": ["team-a.orders.*"], "group": "team-a.orders"},
    ],
}


def rendered(spec=SPEC, **kwargs):
    req = request(spec, **kwargs)
    outcome = access.render(req)
    assert isinstance(outcome, access.Rendering), outcome
    return req, outcome, access.children(req.parent, outcome)


def test_children_carry_the_parent_and_composition_labels_and_the_full_spec():
    _, _, kids = rendered()
    topic, *acls = kids

    assert topic == {
        "apiVersion": GV,
        "kind": "KafkaTopic",
        "metadata": {
            "name": access.topic_child_name("orders", "orders.created"),
            "namespace": "team-a",
            "labels": {
                "app.kubernetes.io/managed-by": "kafka-access",
                "kafkaaccess.io/access": "orders",
                "kafkaaccess.io/composition": "rules",
            },
        },
        "spec": {
            "clusterRef": {"name": "local"},
            "topicName": "team-a.orders.created",
            "partitions": 6,
            "config": {"retention.ms": "604800000"},
            "deletionPolicy": "Orphan",
            "adoptExisting": False,
        },
    }
    assert [
        (a["metadata"]["name"], a["spec"]["resource"], a["spec"]["operations"]) for a in acls
    ] == [
        (
            access.acl_child_name(
                "orders", access.DesiredAcl("Group", Pattern("Literal", "team-a.orders"), ())
            ),
            {"type": "Group", "name": "team-a.orders", "patternType": "Literal"},
            ["Read"],
        ),
        (
            access.acl_child_name(
                "orders",
                access.DesiredAcl("Topic", Pattern("Literal", "team-a.orders.created"), ()),
            ),
            {"type": "Topic", "name": "team-a.orders.created", "patternType": "Literal"},
            ["Write"],
        ),
        (
            access.acl_child_name(
                "orders", access.DesiredAcl("Topic", Pattern("Prefixed", "team-a.orders."), ())
            ),
            {"type": "Topic", "name": "team-a.orders.", "patternType": "Prefixed"},
            ["Read"],
        ),
    ]
    assert {a["spec"]["principal"] for a in acls} == {
        "User:CN=orders,OU=team-a,O=Example Corp,C=DE"
    }
    assert {
        (a["spec"]["host"], a["spec"]["permission"], a["spec"]["deletionPolicy"]) for a in acls
    } == {("*", "Allow", "Delete")}


def test_the_same_request_renders_the_same_children():
    assert rendered()[2] == rendered()[2]


def _observed(
    kids, ready="True", reason="Available", generation=1, observed_generation=1, **extra_meta
):
    out = {}
    for child in kids:
        obj = copy.deepcopy(child)
        obj["metadata"].update(
            uid="x",
            generation=generation,
            resourceVersion="7",
            ownerReferences=[
                {"kind": "KafkaAccess", "name": "orders", "uid": "u-1", "controller": True}
            ],
            annotations={
                "metacontroller.k8s.io/last-applied-configuration": json.dumps(child),
                "team.example/owner": "a",
            },
            **extra_meta,
        )
        obj["metadata"]["labels"]["controller-uid"] = "u-1"
        obj["spec"]["extraDefault"] = "set by the API server"
        obj["status"] = {
            "observedGeneration": observed_generation,
            "conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": "m"}],
        }
        out.setdefault(f"{child['kind']}.{GV}", {})[f"team-a/{child['metadata']['name']}"] = obj
    return out


def test_kept_children_are_the_observed_ones_stripped_to_what_was_applied():
    _, _, kids = rendered()
    observed = _observed(kids)
    req = request(SPEC, compositions=[], children=observed)

    kept = access.kept_children(req)

    assert sorted(k["metadata"]["name"] for k in kept) == sorted(
        k["metadata"]["name"] for k in kids
    )
    for child in kept:
        assert set(child) == {"apiVersion", "kind", "metadata", "spec"}
        assert set(child["metadata"]) == {"name", "namespace", "labels", "annotations"}
        assert child["metadata"]["annotations"] == {"team.example/owner": "a"}, (
            "last-applied is dropped"
        )
        assert child["metadata"]["labels"]["controller-uid"] == "u-1"
        assert child["spec"]["extraDefault"] == "set by the API server", "the spec is kept whole"


# -- child readiness -------------------------------------------------------------------

STATES = [
    # case, reason, observed changes, want (ready, reason)
    ("ready", "a Ready child is ready", {}, (True, "Available")),
    (
        "not ready",
        "the child's own reason is passed on",
        {"ready": "False", "reason": "TopicExists"},
        (False, "TopicExists"),
    ),
    (
        "stale",
        "a status older than the spec says nothing about the spec",
        {"generation": 2, "observed_generation": 1},
        (False, "WaitingForChild"),
    ),
    (
        "being deleted",
        "a child being deleted is not ready",
        {"deletionTimestamp": "2026-12-01T00:00:00Z"},
        (False, "Deleting"),
    ),
]


@pytest.mark.parametrize(("case", "reason", "changes", "want"), STATES, ids=[s[0] for s in STATES])
def test_child_state(case, reason, changes, want):
    _, _, kids = rendered()
    req = request(SPEC, children=_observed(kids, **changes))

    state = access.child_state(kids[0], req)

    assert (state.ready, state.reason) == want, reason


def test_a_child_not_created_yet_or_not_yet_updated_is_waited_for():
    req, _, kids = rendered()
    assert (
        access.child_state(kids[0], req).message
        == f"KafkaTopic team-a/{kids[0]['metadata']['name']} does not exist yet"
    )

    observed = _observed(kids)
    changed = copy.deepcopy(kids[0])
    changed["spec"]["partitions"] = 12
    state = access.child_state(changed, request(SPEC, children=observed))
    assert (state.ready, state.reason) == (False, "WaitingForChild")
    assert "is being updated" in state.message


def test_ready_names_the_first_child_holding_it_back():
    _, outcome, kids = rendered()
    observed = _observed(kids)
    key = f"team-a/{kids[2]['metadata']['name']}"
    observed[f"KafkaACL.{GV}"][key]["status"]["conditions"][0].update(
        status="False", reason="BindingRefused", message="the broker said no"
    )
    req = request(SPEC, children=observed)

    fields, (ready, synced) = access.status(req, kids, outcome)

    assert (ready.status, ready.reason) == ("False", "BindingRefused")
    assert ready.message == f"KafkaACL {key}: the broker said no (1 of 4 children are not ready)"
    assert fields["childrenReady"] == "3/4"
    assert synced.status == "True"


def test_status_lists_the_principal_topics_and_access():
    _, outcome, kids = rendered()
    req = request(SPEC, children=_observed(kids))

    fields, (ready, _) = access.status(req, kids, outcome)

    assert ready.status == "True" and ready.message == "all 4 children are ready"
    assert fields["principal"] == "User:CN=orders,OU=team-a,O=Example Corp,C=DE"
    assert fields["composition"] == "rules" and fields["cluster"] == "local"
    assert fields["topics"] == [
        {"name": "team-a.orders.created", "child": kids[0]["metadata"]["name"], "ready": True}
    ]
    assert [
        (a["resourceType"], a["resourceName"], a["patternType"], a["operations"])
        for a in fields["access"]
    ] == [
        ("Group", "team-a.orders", "Literal", ["Read"]),
        ("Topic", "team-a.orders.created", "Literal", ["Write"]),
        ("Topic", "team-a.orders.", "Prefixed", ["Read"]),
    ]


def test_a_failed_render_remembers_what_is_in_force():
    _, _, kids = rendered()
    req = request(
        {**SPEC, "compositionRef": {"name": "gone"}},
        children=_observed(kids),
    )
    req.parent.status.update({"composition": "rules", "cluster": "local", "principal": "User:x"})

    outcome = access.render(req)
    fields, (ready, synced) = access.status(req, access.kept_children(req), outcome)

    assert outcome.reason == "CompositionNotFound"
    assert (fields["composition"], fields["principal"]) == ("rules", "User:x")
    assert ready.status == "True", "the children that exist still work"
    assert (synced.status, synced.reason) == ("False", "CompositionNotFound")


# -- the hook --------------------------------------------------------------------------


def _app(clock="2026-12-01T00:00:00Z"):
    return create_app({"CLIENTS": FakeClients(FakeKafka()), "CLOCK": lambda: clock})


SYNC_CASES = [c for c in harness.cases("kafkaaccess") if "customize" not in c.name]


@pytest.mark.parametrize("case", SYNC_CASES, ids=lambda p: p.name)
def test_an_unchanged_world_gives_a_byte_identical_status(case):
    """The hook's own answer fed back, a day later, changes neither status nor children."""
    data = harness.load(case)
    body = data["request"]["body"]
    first = _app().test_client().post(data["request"]["url"], json=body).get_json()

    again = copy.deepcopy(body)
    again["parent"]["status"] = first["status"]
    second = (
        _app("2026-12-02T00:00:00Z")
        .test_client()
        .post(data["request"]["url"], json=again)
        .get_json()
    )

    assert json.dumps(second, sort_keys=True) == json.dumps(first, sort_keys=True)


def test_a_failed_render_answers_exactly_the_observed_children():
    for name in ("violation-keeps-children", "composition-missing", "composition-invalid"):
        data = harness.load(harness.HTTP / "kafkaaccess" / name)
        body = data["request"]["body"]
        answer = _app().test_client().post(data["request"]["url"], json=body).get_json()

        observed = {
            (o["kind"], o["metadata"]["name"])
            for group in body["children"].values()
            for o in group.values()
        }
        assert {(c["kind"], c["metadata"]["name"]) for c in answer["children"]} == observed, name
        by_name = {
            o["metadata"]["name"]: o for group in body["children"].values() for o in group.values()
        }
        for child in answer["children"]:
            assert child["spec"] == by_name[child["metadata"]["name"]]["spec"], name


def test_a_composition_change_re_renders():
    """Changing what consume grants in the composition changes the children, no release needed."""
    spec = {
        "compositionRef": {"name": "rules"},
        "access": [{"profile": "consume", "topics": ["team-a.a"], "group": "team-a.g"}],
    }
    changed = copy.deepcopy(composition())
    changed["spec"]["profiles"]["consume"]["acls"][0]["operations"] = ["Read", "Describe"]

    before = access.render(request(spec))
    after = access.render(request(spec, compositions=[changed]))

    assert [(str(a.pattern), a.operations) for a in before.acls] == [
        ("team-a.g", ("Read",)),
        ("team-a.a", ("Read",)),
    ]
    assert [(str(a.pattern), a.operations) for a in after.acls] == [
        ("team-a.g", ("Read",)),
        ("team-a.a", ("Read", "Describe")),
    ]


def test_finalize_deletes_the_children_and_is_done_when_none_is_left():
    _, _, kids = rendered()
    client = _app().test_client()

    def finalize(children):
        body = {
            "parent": {
                "apiVersion": GV,
                "kind": "KafkaAccess",
                "metadata": {
                    "name": "orders",
                    "namespace": "team-a",
                    "generation": 1,
                    "deletionTimestamp": "x",
                },
                "spec": SPEC,
            },
            "children": children,
            "related": {},
            "finalizing": True,
        }
        return client.post("/hooks/kafkaaccess/finalize", json=body).get_json()

    waiting = finalize(_observed(kids))
    done = finalize({f"KafkaTopic.{GV}": {}, f"KafkaACL.{GV}": {}})

    assert (waiting["children"], waiting["finalized"]) == ([], False)
    assert (done["children"], done["finalized"]) == ([], True)


def test_customize_asks_for_what_the_spec_names():
    def rules(spec):
        body = {
            "parent": {
                "apiVersion": GV,
                "kind": "KafkaAccess",
                "metadata": {"name": "o", "namespace": "team-a"},
                "spec": spec,
            }
        }
        parent = parse_sync({**body, "children": {}, "related": {}}, "KafkaAccess").parent
        return access.related_rules(parent)

    assert rules({"compositionRef": {"name": "c"}}) == [
        {"apiVersion": GV, "resource": "kafkacompositions", "names": ["c"]}
    ]
    assert rules({"clusterRef": {"name": "local"}}) == [
        {"apiVersion": GV, "resource": "kafkacompositions", "labelSelector": {}},
        {"apiVersion": GV, "resource": "kafkaclusters", "names": ["local"]},
    ]
    assert rules(
        {
            "compositionSelector": {"matchLabels": {"b": "2", "a": "1"}},
            "principalFrom": {"secretKeyRef": {"name": "cert"}},
        }
    ) == [
        {
            "apiVersion": GV,
            "resource": "kafkacompositions",
            "labelSelector": {"matchLabels": {"a": "1", "b": "2"}},
        },
        {"apiVersion": "v1", "resource": "secrets", "namespace": "team-a", "names": ["cert"]},
    ]
    assert rules({"compositionSelector": "nonsense", "compositionRef": 3}) == [], (
        "the sync reports it"
    )
