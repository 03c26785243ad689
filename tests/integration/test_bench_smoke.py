"""The benchmark's load driver on a handful of resources, against the real broker and hook.

Behaviour only: every resource becomes Ready, the floor does the same work
as the hook, an unchanged sync writes nothing, the report renders its
tables, and the benchmark's clean-up leaves nothing behind. No timing is
asserted; the figures belong in bench/REPORT.md.
"""

from __future__ import annotations

import uuid

from bench import floor, load, report
from tests.integration.conftest import TOKEN
from tools import driver

NS = "bench-smoke"


def _metacontroller(broker, hook_server) -> load.Metacontroller:
    store = load.Store()
    operator = broker.identity("operator")
    store.apply(driver.cluster_object("local", broker.bootstrap))
    store.apply(
        driver.credentials_secret(
            "local", "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem
        )
    )
    mc = load.Metacontroller(store, lambda: load.HookSession(hook_server.url, TOKEN), workers=3)
    assert mc.run("KafkaCluster", ["local"], deadline=30).converged
    return mc


def _status_bindings(obj) -> set[tuple[str, ...]]:
    status = obj["status"]
    fields = ("resourceType", "resourceName", "patternType", "principal", "host")
    return {
        tuple(entry[f] for f in (*fields, "operation", "permission"))
        for entry in status.get("bindings", []) + status.get("operatorBindings", [])
    }


def test_topics_and_acls_become_ready_and_the_report_renders(broker, hook_server, admin):
    mc = _metacontroller(broker, hook_server)
    run = uuid.uuid4().hex[:8]
    topics = [f"bench.smoke.{run}.{i}" for i in range(4)]
    acl_topics = [f"bench.smoke.{run}.acl.{i}" for i in range(3)]
    orders = broker.identity("orders").principal
    operator = broker.identity("operator").principal
    topic_keys = [
        mc.store.apply(
            load.topic_object(f"t-{run}-{i}", NS, name, 1, 1, {"retention.ms": "3600000"})
        )
        for i, name in enumerate(topics)
    ]
    acl_keys = [
        mc.store.apply(load.acl_object(f"a-{run}-{i}", NS, orders, name, ["Describe", "Read"]))
        for i, name in enumerate(acl_topics)
    ]
    try:
        made = mc.run("KafkaTopic", topic_keys, deadline=60)
        granted = mc.run("KafkaACL", acl_keys, deadline=60)

        assert made.converged and set(made.ready_at) == set(topic_keys), made.not_ready
        assert granted.converged and set(granted.ready_at) == set(acl_keys), granted.not_ready
        assert floor.topic_names(admin, f"bench.smoke.{run}.") == set(topics)
        # Metacontroller's finalizer and one status write per new resource, at least.
        assert made.api_writes >= 2 * len(topic_keys)

        # The floor creates exactly the bindings the hook ends up with.
        want = {
            floor.binding_key(b)
            for b in floor.topic_bindings(acl_topics, orders, ["Describe", "Read"], operator)
        }
        group = f"KafkaACL.{load.GROUP_VERSION}"
        have = set().union(*(_status_bindings(mc.store.get(group, key)) for key in acl_keys))
        assert have == want

        # A sync of an unchanged resource leaves its status as it was.
        session = load.HookSession(hook_server.url, TOKEN)
        for kind, key in (("KafkaTopic", topic_keys[0]), ("KafkaACL", acl_keys[0])):
            call = mc.sync(session, kind, key)
            assert call.status == 200 and not call.wrote
        assert floor.describe_topic(admin, topics[0]) > 0
        assert floor.describe_topic_acls(admin, acl_topics[0]) > 0
        session.close()

        text = report.render(
            {
                "meta": {"date": "today", "runs": 1, "nproc": 2},
                "convergence": {
                    "KafkaTopic": {
                        "4": {"ours": [made.seconds], "floor": [0.01], "runs": [made.summary()]}
                    },
                    "KafkaACL": {"3": {"ours": [granted.seconds], "floor": [0.01], "runs": []}},
                },
                "latency": {"KafkaTopic": {"ours": [0.003, 0.004], "floor": [0.002, 0.002]}},
                "render": "not measured: KafkaAccess rendering not built yet",
            }
        )
        assert "| figure | ours | floor (bare confluent-kafka) | ours / floor |" in text
        assert "| 4 KafkaTopics Ready" in text and "| 3 KafkaACLs Ready" in text
        assert "| target | measured | verdict |" in text
        assert "not measured: KafkaAccess rendering not built yet" in text
    finally:
        floor.delete_topics(admin, f"bench.smoke.{run}.")
        floor.delete_topic_acls(admin, acl_topics)

    assert floor.topic_names(admin, f"bench.smoke.{run}.") == set()
    assert floor.delete_topic_acls(admin, acl_topics) == 0


def test_the_work_queue_hands_out_a_key_once_and_again_after_its_worker_is_done():
    queue = load.WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert [queue.get(0.1), queue.get(0.1), queue.get(0.01)] == ["a", "b", None]

    queue.add("a")  # while a worker holds it: it waits for that worker
    assert queue.get(0.01) is None
    queue.done("a")
    assert queue.get(0.1) == "a"
    queue.done("a")
    queue.done("b")

    queue.add_after("c", 30.0)
    queue.add_after("c", 0.01)  # the earlier time wins
    assert queue.get(5.0) == "c"
    queue.close()
    assert queue.get(0.01) is None
