"""The app's own behaviour: auth, limits, health, metrics, and logs that keep secrets."""

import json
import logging

import pytest

from hooks.app import create_app
from tests.fakes import FakeClients, FakeKafka
from tests.http import harness

TOKEN = "s3cret-token"


@pytest.fixture
def kafka():
    return FakeKafka()


@pytest.fixture
def app(kafka):
    return create_app(
        {"CLIENTS": FakeClients(kafka), "HOOK_TOKEN": TOKEN, "CLOCK": lambda: harness.NOW}
    )


@pytest.fixture
def client(app):
    return app.test_client()


def create_request():
    return harness.load(harness.HTTP / "kafkatopic" / "create")["request"]


@pytest.mark.parametrize(
    "header,status",
    [
        (None, 401),
        ("Bearer wrong", 401),
        (f"bearer {TOKEN}", 401),
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN}", 200),
    ],
)
def test_every_hook_route_demands_the_token(client, header, status):
    request = create_request()
    headers = {"Authorization": header} if header else {}
    for hook in ("customize", "sync", "finalize"):
        url = request["url"].rsplit("/", 1)[0] + f"/{hook}"
        got = client.post(url, json=request["body"], headers=headers)
        assert got.status_code == status, hook
        if status == 401:
            assert "Bearer" in got.get_json()["error"]


def test_health_readiness_and_metrics_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_request_size_is_bounded(kafka):
    app = create_app({"CLIENTS": FakeClients(kafka), "MAX_CONTENT_LENGTH": 1024})
    body = json.dumps({"parent": {"padding": "x" * 4096}})
    got = app.test_client().post(
        "/hooks/kafkatopic/sync", data=body, content_type="application/json"
    )
    assert got.status_code == 413
    assert "1024 bytes" in got.get_json()["error"]
    assert kafka.calls == []


@pytest.mark.parametrize(
    "url,body,status,fragment",
    [
        ("/hooks/kafkatopic/sync", "not json", 400, "expected a JSON body"),
        ("/hooks/kafkatopic/sync", [], 400, "expected a JSON object"),
        ("/hooks/kafkatopic/sync", {"parent": {"kind": "KafkaTopic"}}, 400, "expected apiVersion"),
        ("/hooks/nothing/sync", {}, 404, "kinds are"),
        ("/hooks/kafkatopic/explode", {}, 404, "no hook 'explode'"),
    ],
)
def test_malformed_requests_get_a_clear_4xx_and_touch_nothing(
    client, kafka, url, body, status, fragment
):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if isinstance(body, str):
        got = client.post(url, data=body, content_type="application/json", headers=headers)
    else:
        got = client.post(url, json=body, headers=headers)
    assert got.status_code == status
    assert fragment in got.get_json()["error"]
    assert kafka.calls == []


def test_get_on_a_hook_is_not_allowed(client):
    got = client.get("/hooks/kafkatopic/sync", headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 405
    assert client.get("/hooks/kafkatopic/sync").status_code == 401, "auth comes first"


def test_metrics_count_calls_and_applied_changes(client):
    request = create_request()
    client.post(request["url"], json=request["body"], headers={"Authorization": f"Bearer {TOKEN}"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'kafka_access_hook_calls_total{hook="sync",kind="KafkaTopic",outcome="ok"} 1.0' in text
    assert 'kafka_access_changes_applied_total{kind="KafkaTopic"} 1.0' in text
    assert "kafka_access_hook_seconds_bucket" in text


def test_kafka_errors_are_counted(kafka, client):
    kafka.unavailable = True
    request = create_request()
    client.post(request["url"], json=request["body"], headers={"Authorization": f"Bearer {TOKEN}"})
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'kafka_access_kafka_errors_total{kind="KafkaTopic",reason="ClusterUnreachable"} 1.0' in text
    )


def test_an_overloaded_worker_answers_429_with_retry_after(kafka):
    app = create_app({"CLIENTS": FakeClients(kafka), "MAX_CONCURRENT": 1})
    request = create_request()
    inner = {}
    describe = kafka.describe_topic

    def slow_describe(name, budget):
        inner.setdefault("response", app.test_client().post(request["url"], json=request["body"]))
        return describe(name, budget)

    kafka.describe_topic = slow_describe
    app.test_client().post(request["url"], json=request["body"])
    assert inner["response"].status_code == 429
    assert inner["response"].headers["Retry-After"] == "1"


def test_logs_carry_no_key_no_token_and_no_request_body(kafka, caplog):
    key_pem = (harness.FIXTURES / "operator-test.key").read_text()
    key_body = key_pem.splitlines()[1]
    app = create_app({"CLIENTS": FakeClients(kafka), "HOOK_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"})
    logger = logging.getLogger("kafka_access")
    logger.propagate = True
    try:
        with caplog.at_level(logging.DEBUG, logger="kafka_access"):
            client = app.test_client()
            headers = {"Authorization": f"Bearer {TOKEN}"}
            request = create_request()
            client.post(request["url"], json=request["body"], headers=headers)  # applies a change
            kafka.unavailable = True
            client.post(request["url"], json=request["body"], headers=headers)  # an error path
            broken = json.loads(json.dumps(request["body"]))
            broken["parent"]["spec"] = "junk"
            client.post(request["url"], json=broken, headers=headers)  # a 400
            kafka.describe_topic = lambda *a: (_ for _ in ()).throw(RuntimeError(key_pem))
            kafka.unavailable = False
            assert (
                client.post(request["url"], json=request["body"], headers=headers).status_code
                == 500
            )
    finally:
        logger.propagate = False
    text = "\n".join(
        record.getMessage() + json.dumps(getattr(record, "fields", {})) for record in caplog.records
    )
    ours = [h for h in logger.handlers if h.name == "kafka-access-json"]
    formatted = "\n".join(h.format(r) for r in caplog.records for h in ours)
    assert ours, "the app logs through its JSON handler"
    assert caplog.records, "the calls were logged"
    for secret in (key_body, TOKEN, "tls.key", "BEGIN PRIVATE KEY"):
        assert secret not in text
        assert secret not in formatted
