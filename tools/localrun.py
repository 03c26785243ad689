"""The local run: the hooks against a real mTLS broker, end to end.

Starts the test broker and the hook under gunicorn on loopback, plays
Metacontroller for the example KafkaCluster and KafkaTopic in examples/
until they are Ready, and prints their status and the topic as the broker
describes it; then renders the example KafkaAccess through the services
composition, syncs its children until it is Ready, and shows the result by
use. Everything it starts, it stops (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from testbroker import Broker  # noqa: E402

from tools import driver  # noqa: E402

EXAMPLES = REPO / "examples"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


def show(title: str, value: Any) -> None:
    print(f"\n== {title}")
    print(json.dumps(value, indent=2, sort_keys=True))


def describe_topic(admin: Any, name: str) -> dict[str, Any]:
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import ConfigResource, ConfigSource

    found = admin.describe_topics(TopicCollection([name]), request_timeout=10)[name].result(
        timeout=15
    )
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    config = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=15)
    return {
        "name": found.name,
        "topicId": str(found.topic_id),
        "partitions": [
            {"id": p.id, "leader": p.leader.id, "replicas": [r.id for r in p.replicas]}
            for p in found.partitions
        ],
        "configSetOnTopic": {
            k: v.value
            for k, v in sorted(config.items())
            if ConfigSource(v.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
        },
    }


def demonstrate_access(world: driver.World, broker: Broker) -> bool:
    """The orders service of examples/kafkaaccess-services.yaml, under compositions/services.yaml.

    Its KafkaTopics and KafkaACLs are synced through their own hooks until the
    KafkaAccess is Ready; then the orders certificate produces and consumes
    where the access says, and is refused where it says nothing. Returns
    whether every outcome was the expected one.
    """
    from confluent_kafka import Consumer, Producer

    print(
        "\n== a KafkaAccess: examples/kafkaaccess-services.yaml under compositions/services.yaml"
        "\n   (its topics are team-a.orders.*, separate from the KafkaTopic orders.created above)"
    )
    composition = yaml.safe_load((REPO / "compositions" / "services.yaml").read_text())
    access = load("kafkaaccess-services.yaml")
    world.apply(composition)
    world.apply(access)
    key = f"{access['metadata']['namespace']}/{access['metadata']['name']}"
    world.sync_tree("KafkaAccess", key, driver.ready, timeout=90)
    show(f"KafkaAccess {key} status", world.status("KafkaAccess", key))
    for kind, bucket in sorted(world.children_of(world.get("KafkaAccess", key)).items()):
        for child in sorted(bucket):
            print(f"  child {kind.split('.')[0]} {child}")

    print("\nproving it with the orders service's own certificate:")
    quiet = {"error_cb": lambda error: None, "message.timeout.ms": 5000}
    reports: list[Any] = []
    producer = Producer(broker.client_config("orders", **quiet))
    for topic in ("team-a.orders.retry", "team-a.orders.created"):
        producer.produce(topic, b"order 1", on_delivery=lambda e, m: reports.append((m.topic(), e)))
    producer.flush(10)
    outcomes = {
        ("produce", topic): "ok" if error is None else error.name() for topic, error in reports
    }
    consumer = Consumer(
        broker.client_config(
            "orders",
            error_cb=lambda error: None,
            **{"group.id": "team-a.orders", "auto.offset.reset": "earliest"},
        )
    )
    for topic in ("team-a.orders.retry", "team-a.orders.created"):
        consumer.subscribe([topic])
        message = None
        for _ in range(40):
            message = consumer.poll(0.25)
            if message is not None:
                break
        error = message.error() if message is not None else None
        outcomes[("consume", topic)] = (
            "no message" if message is None else "ok" if error is None else error.name()
        )
    consumer.close()
    expected = {
        ("produce", "team-a.orders.retry"): ("ok", "the access grants produce"),
        ("produce", "team-a.orders.created"): ("ok", "the access grants produce"),
        ("consume", "team-a.orders.retry"): (
            "ok",
            "the access grants consume as group team-a.orders",
        ),
        ("consume", "team-a.orders.created"): (
            "TOPIC_AUTHORIZATION_FAILED",
            "the access grants no consume here, so the broker refuses it",
        ),
    }
    good = True
    for (verb, topic), (want, why) in expected.items():
        got = outcomes.get((verb, topic), "no answer")
        verdict = "as expected" if got == want else f"UNEXPECTED, wanted {want}"
        good &= got == want
        print(f"  orders {verb}s {topic}: {got} ({verdict}: {why})")
    again = world.sync("KafkaAccess", key)
    print(
        "a second sync of the unchanged KafkaAccess: status identical = "
        f"{again['status'] == world.status('KafkaAccess', key)}"
    )
    return good


def run(keep: bool, run_dir: Path) -> int:
    broker = Broker(run_dir / "broker", stop_at_exit=not keep)
    print(f"starting the test broker (Kafka, mutual TLS) in {broker.dir} ...")
    broker.start()
    print(f"broker ready at {broker.bootstrap}")
    server = driver.serve(run_dir / "hook.log")
    print(f"hook serving at {server.url} (gunicorn; log {run_dir / 'hook.log'})")
    try:
        world = driver.World(driver.HookClient(server.url))
        operator = broker.identity("operator")
        cluster = load("kafkacluster-local.yaml")
        cluster["spec"]["bootstrapServers"] = broker.bootstrap
        world.apply(cluster)
        name = cluster["metadata"]["name"]
        world.apply(
            driver.credentials_secret(
                name, "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem
            )
        )
        topic = load("kafkatopic-orders.yaml")
        world.apply(topic)

        world.sync_until("KafkaCluster", name, driver.ready, timeout=60)
        key = f"{topic['metadata']['namespace']}/{topic['metadata']['name']}"
        world.sync_until("KafkaTopic", key, driver.ready, timeout=60)
        show(f"KafkaCluster {name} status", world.status("KafkaCluster", name))
        show(f"KafkaTopic {key} status", world.status("KafkaTopic", key))
        topic_name = world.status("KafkaTopic", key)["topicName"]
        show(
            f"topic {topic_name} as the broker describes it",
            describe_topic(broker.admin_client("operator"), topic_name),
        )
        again = world.sync("KafkaTopic", key)
        print(
            f"\na second sync of the unchanged topic: status identical = {again['status'] == world.status('KafkaTopic', key)}"
        )
        good = demonstrate_access(world, broker)
        print(f"hook calls made: {world.calls}")
        return 0 if good else 1
    finally:
        server.stop()
        if keep:
            print(
                f"\nbroker left running at {broker.bootstrap}; its certificates and"
                f" connection details are in {broker.dir}/pki and {broker.dir}/broker.json."
                f"\nstop it with: python3 scripts/testbroker.py stop --dir {broker.dir}"
                "\n(the next scripts/run-local replaces it with a fresh broker)"
            )
        else:
            broker.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the broker running afterwards")
    parser.add_argument(
        "--dir", type=Path, default=REPO / ".run" / "local", help="where the broker and logs live"
    )
    args = parser.parse_args(argv)
    return run(args.keep, args.dir)


if __name__ == "__main__":
    sys.exit(main())
