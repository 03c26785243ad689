"""Every HTTP fixture: the request in, exactly the expected response and Kafka changes out."""

import json

import pytest

from tests.http import harness

CASES = (
    harness.cases("kafkatopic")
    + harness.cases("kafkacluster")
    + harness.cases("kafkaacl")
    + harness.cases("kafkaaccess")
)


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(case):
    expected = harness.load(case)
    status, body, kafka = harness.run(case)
    assert (status, body) == (expected["response"]["status"], expected["response"]["body"])
    world = expected["kafka"]
    if world:
        assert json.loads(json.dumps(kafka.changes)) == world["changes"]
        assert harness.topics_after(kafka) == world["after"]
        if "aclsAfter" in world:
            assert kafka.acls_status() == world["aclsAfter"]


def test_fixtures_exist():
    assert len(CASES) >= 15


def _converging(case):
    body = json.loads((case / "request.json").read_text())["body"]
    return (case / "kafka.json").exists() and not body.get("finalizing")


@pytest.mark.parametrize("case", [c for c in CASES if _converging(c)], ids=lambda p: p.name)
def test_a_sync_of_the_resulting_world_changes_nothing(case):
    """Feeding the hook its own answer, against the world it left, is a no-op."""
    from hooks.app import create_app
    from tests.fakes import FakeClients

    data = harness.load(case)
    status, body, kafka = harness.run(case)
    assert status == 200
    kafka.calls.clear()
    again = json.loads(json.dumps(data["request"]["body"]))
    again["parent"]["status"] = body["status"]
    app = create_app({"CLIENTS": FakeClients(kafka), "CLOCK": lambda: "2026-12-02T00:00:00Z"})
    second = app.test_client().post(data["request"]["url"], json=again).get_json()
    assert kafka.changes == []
    if not kafka.unavailable:
        assert second["status"] == body["status"], "an unchanged world gives the same status"
