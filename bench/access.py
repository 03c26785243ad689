"""Render time of a KafkaAccess with 10 and 100 topics.

Two figures: the core's ``render`` alone (in this process, no I/O: parse,
choose the composition, check every rule, build the children), and a whole
sync through gunicorn as Metacontroller makes it, with the children of the
previous answer observed. The KafkaAccess is the orders service of
``examples/kafkaaccess-services.yaml`` grown to N owned topics, producing to
all of them and consuming them as one group, under the shipped ``services``
composition.

Until ``hooks/core/access.py`` has a ``render`` function (and the app a
``kafkaaccess`` hook) it answers with the reason nothing was measured.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import load

REPO = Path(__file__).resolve().parents[1]
COMPOSITION = REPO / "compositions" / "services.yaml"
NOT_BUILT = "not measured: KafkaAccess rendering not built yet"
NAMESPACE = "team-a"


def access_object(size: int, name: str = "orders") -> dict[str, Any]:
    topics = [f"bench.t{i:03d}" for i in range(size)]
    return {
        "apiVersion": load.GROUP_VERSION,
        "kind": "KafkaAccess",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "topics": [
                {"name": topic, "partitions": 3, "config": {"retention.ms": 259200000}}
                for topic in topics
            ],
            "access": [
                {"profile": "produce", "topics": [f"{NAMESPACE}.{t}" for t in topics]},
                {
                    "profile": "consume",
                    "topics": [f"{NAMESPACE}.{t}" for t in topics],
                    "group": f"{NAMESPACE}.{name}",
                },
            ],
        },
    }


def composition_object(largest: int) -> dict[str, Any]:
    """The shipped composition, with any per-access topic limit raised to ``largest``."""
    import yaml

    composition = yaml.safe_load(COMPOSITION.read_text())
    topics = composition.get("spec", {}).get("topics", {})
    if isinstance(topics.get("maxPerAccess"), int) and topics["maxPerAccess"] < largest:
        topics["maxPerAccess"] = largest
    return composition


def available() -> str | None:
    """None when rendering can be measured, else why not."""
    if importlib.util.find_spec("hooks.core.access") is None:
        return NOT_BUILT
    if not callable(getattr(importlib.import_module("hooks.core.access"), "render", None)):
        return NOT_BUILT
    if not COMPOSITION.is_file():
        return f"not measured: {COMPOSITION.relative_to(REPO)} is missing"
    return None


def measure(
    store: load.Store, mc: load.Metacontroller, connect: Any, sizes: Sequence[int], samples: int
) -> dict[str, Any] | str:
    """p50/p99 inputs for both figures, by size; or why nothing was measured."""
    reason = available()
    if reason:
        return reason
    from hooks.app import KINDS
    from hooks.core import access
    from hooks.core.request import parse_sync

    store.apply(composition_object(max(sizes)))
    core: dict[str, list[float]] = {}
    http: dict[str, list[float]] = {}
    children: dict[str, int] = {}
    transport = connect()
    try:
        for size in sizes:
            key = store.apply(access_object(size, name=f"orders{size}"))
            group = f"KafkaAccess.{load.GROUP_VERSION}"
            parent = json.loads(store.snapshot(group, key) or b"{}")
            rules = mc.customize(transport, "KafkaAccess", parent)
            body = {
                "controller": mc.controller("KafkaAccess"),
                "parent": parent,
                "children": {},
                "related": store.related(rules, parent),
                "finalizing": False,
            }
            request = parse_sync(json.loads(json.dumps(body)), access.KIND)
            rendering = access.render(request)
            if isinstance(rendering, access.Failure):
                return f"not measured: the benchmark's KafkaAccess does not render: {rendering}"
            children[str(size)] = len(access.children(request.parent, rendering))
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                access.children(request.parent, access.render(request))
                times.append(time.perf_counter() - started)
            core[str(size)] = times
            if "kafkaaccess" in KINDS:
                calls = [mc.sync(transport, "KafkaAccess", key) for _ in range(samples + 1)]
                bad = [c.status for c in calls if c.status != 200]
                if bad:
                    return f"not measured: the KafkaAccess sync answered {bad[0]}"
                http[str(size)] = [c.seconds for c in calls[1:]]  # the first observes no children
    finally:
        transport.close()
    return {"samples": core, "http": http, "children": children}
