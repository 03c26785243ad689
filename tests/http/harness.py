"""Run one HTTP fixture: a Metacontroller request in, the expected response out.

A fixture is a folder with ``request.json`` (``url`` and ``body``),
``response.json`` (``status`` and ``body``) and, where
Kafka matters, ``kafka.json`` (the fake's topics before the call under
``before``, the changes the hook must make under ``changes`` and, optionally,
the topics after under ``after``). In request files a Secret's data value
``@name`` stands for the base64 of ``tests/fixtures/name``, so certificates
need not be pasted in.
"""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

from hooks.app import create_app
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
    kafka = FakeKafka(topics)
    kafka.unavailable = world.get("unavailable", False)
    return kafka


def run(case: pathlib.Path, **config: Any) -> tuple[int, Any, FakeKafka]:
    data = load(case)
    kafka = fake(data["kafka"])
    app = create_app({"CLIENTS": FakeClients(kafka), "CLOCK": lambda: NOW, **config})
    request = data["request"]
    response = app.test_client().post(request["url"], json=request["body"])
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
