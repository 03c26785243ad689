"""Application clients for integration tests: prove an ACL by using it.

Each helper answers None when the broker allowed the call, or the error it
refused it with; ``refused`` checks that the refusal was an authorization error.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaError, Producer

QUIET = logging.getLogger("tests.rdkafka")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False
DENIED = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
}


def client(broker, name, **extra):
    return broker.client_config(name, logger=QUIET, error_cb=lambda error: None, **extra)


def produce(broker, name, topic, timeout=5.0):
    """Produce one message as identity ``name``: None, or the error that refused it."""
    producer = Producer(client(broker, name, **{"message.timeout.ms": int(timeout * 1000)}))
    reports: list = []
    producer.produce(topic, f"from {name}".encode(), on_delivery=lambda e, m: reports.append(e))
    producer.flush(timeout + 2)
    assert reports, f"no delivery report for {name} -> {topic}"
    return reports[0]


def consume(broker, name, topic, group, timeout=8.0):
    """Read one message as ``name`` in ``group``: None, or the error that refused it."""
    settings = {"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
    consumer = Consumer(client(broker, name, **settings))
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None:
                return message.error()
        return KafkaError(KafkaError._TIMED_OUT, "no message arrived")
    finally:
        consumer.close()


def allowed(error) -> bool:
    return error is None


def refused(error) -> bool:
    if error is None:
        return False
    assert error.code() in DENIED, error
    return True
