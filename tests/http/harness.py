"""Run one HTTP fixture: a Metacontroller request in, the expected response out.

A fixture is a folder with ``request.json`` (``url`` and ``body``),
``response.json`` (``status`` and ``body``) and, where
Kafka matters, ``kafka.json`` (the fake's topics before the call under
``before``, the changes the hook must make under ``changes`` and, optionally,
the topics after under ``after``; ACL bindings, written as ``status.bindings``
entries, go under ``aclsBefore`` and ``aclsAfter``). Where the MSK API
matters, ``msk.json`` lists under ``calls`` the MSK API calls the hook must
make, in order, each answered by botocore's Stubber (see ``msk_resolver``);
such a fixture has no ``kafka.json``, so no second run meets a real MSK
client. In request files a
Secret's data value ``@name`` stands for the base64 of
``tests/fixtures/name``, so certificates need not be pasted in.
"""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import botocore.session
from botocore.stub import Stubber

from hooks.app import create_app
from hooks.shell.msk import MskResolver
from tests.fakes import FakeClients, FakeKafka, FakeTopic

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
HTTP = FIXTURES / "http"
NOW = "2026-12-01T00:00:00Z"


def cases(kind: str) -> list[pathlib.Path]:
    return sorted(p for p in (HTTP / kind).iterdir() if (p / "request.json").exists())


def _expand(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        return base64.b64encode((FIXTURES / value[1:]).read_bytes()).decode()
    return value


def load(case: pathlib.Path) -> dict[str, Any]:
    kafka = json.loads((case / "kafka.json").read_text()) if (case / "kafka.json").exists() else {}
    return {
        "request": _expand(json.loads((case / "request.json").read_text())),
        "response": json.loads((case / "response.json").read_text())
        if (case / "response.json").exists()
        else None,
        "kafka": kafka,
    }


def fake(world: dict[str, Any]) -> FakeKafka:
    topics = {name: FakeTopic(**topic) for name, topic in world.get("before", {}).items()}
    kafka = FakeKafka(topics, acls=world.get("aclsBefore"))
    kafka.unavailable = world.get("unavailable", False)
    return kafka


def stubbed_kafka_client(region: str) -> tuple[Any, Stubber, list[Any]]:
    """A botocore ``kafka`` client that only the Stubber answers.

    The third value collects every request that got as far as being sent; with
    the Stubber active it stays empty, and tests assert so.
    """
    client = botocore.session.Session().create_client(
        "kafka",
        region_name=region,
        aws_access_key_id="AKIDEXAMPLETESTONLY",
        aws_secret_access_key="test-secret-never-shown",
        aws_session_token="test-token-never-shown",
    )
    sent: list[Any] = []

    def refuse(request: Any, **_: Any) -> None:
        sent.append(request)
        raise AssertionError(f"a request to {request.url} got past the Stubber")

    client.meta.events.register("before-send.kafka", refuse)
    return client, Stubber(client), sent


def msk_resolver(calls: list[dict[str, Any]], arn: str) -> tuple[MskResolver, Stubber, list[Any]]:
    """An MskResolver whose MSK API answers ``calls`` in order, each for ``arn``.

    A call is ``{"operation": ..., "response": {...}}`` or ``{"operation": ...,
    "error": {"code": ..., "status": ..., "message": ...}}``.
    """
    client, stubber, sent = stubbed_kafka_client(arn.split(":")[3])
    for call in calls:
        params = {"ClusterArn": arn}
        if "error" in call:
            error = call["error"]
            stubber.add_client_error(
                call["operation"],
                service_error_code=error["code"],
                service_message=error.get("message", ""),
                http_status_code=error.get("status", 400),
                expected_params=params,
            )
        else:
            stubber.add_response(call["operation"], call["response"], params)
    stubber.activate()
    return MskResolver(client_for=lambda region: client), stubber, sent


def run(case: pathlib.Path, **config: Any) -> tuple[int, Any, FakeKafka]:
    data = load(case)
    kafka = fake(data["kafka"])
    request = data["request"]
    stub = None
    if (case / "msk.json").exists() and "MSK" not in config:
        arn = request["body"]["parent"]["spec"]["msk"]["clusterArn"]
        calls = json.loads((case / "msk.json").read_text())["calls"]
        resolver, stubber, sent = msk_resolver(calls, arn)
        config["MSK"], stub = resolver, (stubber, sent)
    app = create_app({"CLIENTS": FakeClients(kafka), "CLOCK": lambda: NOW, **config})
    response = app.test_client().post(request["url"], json=request["body"])
    if stub is not None:
        stub[0].assert_no_pending_responses()
        assert stub[1] == [], "no request may reach the network"
    return response.status_code, response.get_json(), kafka


def topics_after(kafka: FakeKafka) -> dict[str, Any]:
    return {
        name: {
            "topic_id": t.topic_id,
            "partitions": t.partitions,
            "replication_factor": t.replication_factor,
            "config": t.config,
        }
        for name, t in sorted(kafka.topics.items())
    }
