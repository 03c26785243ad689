"""Hostile or unusual requests that once gave a 500, or acted on what a resource does not own."""

import json

import pytest

from tests.fakes import FakeKafka, FakeTopic
from tests.http import harness

G = "kafkaaccess.io/v1alpha1"


def request(kind, spec, status=None, generation=1, finalizing=False):
    body = harness.load(harness.HTTP / "kafkatopic" / "create")["request"]["body"]
    parent = {
        "apiVersion": G,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "team-a", "generation": generation},
        "spec": spec,
    }
    if status is not None:
        parent["status"] = status
    return {"parent": parent, "children": {}, "related": body["related"], "finalizing": finalizing}


def client(kafka=None, **config):
    from hooks.app import create_app
    from tests.fakes import FakeClients

    kafka = kafka or FakeKafka()
    app = create_app({"CLIENTS": FakeClients(kafka), "CLOCK": lambda: harness.NOW, **config})
    return app.test_client(), kafka


def test_a_rename_while_creation_is_pending_never_takes_over_another_topic():
    kafka = FakeKafka({"payments.settled": FakeTopic("foreign-1", 12, 1, {"retention.ms": "999"})})
    hook, _ = client(kafka, BUDGET_SECONDS=1.5)
    spec = {
        "clusterRef": {"name": "local"},
        "topicName": "orders.new",
        "config": {"retention.ms": 1000},
    }
    kafka.invisible_after_create = 1000
    first = hook.post("/hooks/kafkatopic/sync", json=request("KafkaTopic", spec)).get_json()[
        "status"
    ]
    assert first["pendingCreation"] is True
    kafka.invisible_after_create = 0
    renamed = dict(spec, topicName="payments.settled")
    second = hook.post(
        "/hooks/kafkatopic/sync", json=request("KafkaTopic", renamed, first, 2)
    ).get_json()["status"]
    assert second["conditions"][1]["reason"] == "TopicRenameRefused"
    hook.post("/hooks/kafkatopic/finalize", json=request("KafkaTopic", renamed, second, 2, True))
    assert kafka.topics["payments.settled"].config == {"retention.ms": "999"}
    assert "orders.new" not in kafka.topics, "finalize deleted the topic this resource created"


def test_a_cluster_change_after_creation_is_refused_and_touches_nothing():
    hook, kafka = client()
    spec = {"clusterRef": {"name": "local"}, "topicName": "orders.t"}
    status = hook.post("/hooks/kafkatopic/sync", json=request("KafkaTopic", spec)).get_json()[
        "status"
    ]
    assert status["cluster"] == "local"
    kafka.calls.clear()
    moved = dict(spec, clusterRef={"name": "elsewhere"})
    answer = hook.post(
        "/hooks/kafkatopic/sync", json=request("KafkaTopic", moved, status, 2)
    ).get_json()
    assert answer["status"]["conditions"][1]["reason"] == "ClusterChangeRefused"
    assert answer["status"]["conditions"][0]["status"] == "True", "the topic itself is still fine"
    assert kafka.calls == []
    customize = hook.post(
        "/hooks/kafkatopic/customize",
        json={"parent": request("KafkaTopic", moved, status)["parent"]},
    ).get_json()
    names = {name for rule in customize["relatedResources"] for name in rule["names"]}
    assert names == {"elsewhere", "local"}, (
        "finalize can still reach the cluster the topic lives on"
    )


@pytest.mark.parametrize(
    "kind,spec",
    [
        ("KafkaTopic", {"clusterRef": {"name": "local"}}),
        (
            "KafkaACL",
            {
                "clusterRef": {"name": "local"},
                "principal": "CN=a",
                "resource": {"type": "Topic", "name": "t"},
                "operations": ["Read"],
            },
        ),
        ("KafkaCluster", {"bootstrapServers": "127.0.0.1:9093"}),
        ("KafkaAccess", {}),
    ],
)
@pytest.mark.parametrize(
    "status", [{"conditions": 5}, {"conditions": "x"}, {"managedConfigKeys": 5, "bindings": "x"}]
)
def test_junk_in_the_parents_status_is_no_500(kind, spec, status):
    hook, _ = client()
    assert (
        hook.post(f"/hooks/{kind.lower()}/sync", json=request(kind, spec, status)).status_code
        == 200
    )


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_an_infinite_config_number_is_a_condition(number):
    hook, kafka = client()
    raw = json.dumps(
        request("KafkaTopic", {"clusterRef": {"name": "local"}, "config": {"retention.ms": "@"}})
    )
    answer = hook.post(
        "/hooks/kafkatopic/sync", data=raw.replace('"@"', number), content_type="application/json"
    )
    assert answer.status_code == 200
    assert "finite" in answer.get_json()["status"]["conditions"][1]["message"]
    assert kafka.calls == []


def test_deeply_nested_json_is_a_400():
    hook, _ = client()
    response = hook.post(
        "/hooks/kafkatopic/sync", data=b"[" * 5000 + b"]" * 5000, content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "field,value",
    [("topicName", "orders\n"), ("config", {"a\x00b": "1"}), ("config", {"a": "1\x00"})],
)
def test_control_characters_are_refused_before_kafka(field, value):
    hook, kafka = client()
    spec = {"clusterRef": {"name": "local"}, field: value}
    answer = hook.post("/hooks/kafkatopic/sync", json=request("KafkaTopic", spec)).get_json()
    assert answer["status"]["conditions"][1]["reason"] == "InvalidSpec"
    assert kafka.calls == []


def test_a_null_spec_is_a_condition_not_a_400():
    hook, _ = client()
    answer = hook.post("/hooks/kafkatopic/sync", json=request("KafkaTopic", None))
    assert answer.status_code == 200
    assert "clusterRef" in answer.get_json()["status"]["conditions"][1]["message"]
