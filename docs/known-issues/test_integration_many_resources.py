"""The finalize of a prefixed (or '*') KafkaACL reads every topic binding of the
cluster. With about 65,500 topics that carry a binding (65,400 is fine, 65,500 is not),
confluent-kafka 2.16.1 / librdkafka 2.16.0 crash the process with SIGSEGV while
decoding the DescribeAcls answer: the gunicorn worker dies on every retry, the
KafkaACL is never finalized, and every other request on that worker is cut off.
Paste into tests/integration/ (slow: ~1 minute to create the bindings).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
from testbroker import Broker

from tools import driver

QUIET = logging.getLogger("many.rdkafka")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False
TOPICS_WITH_A_BINDING = 65_600


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    instance = Broker(tmp_path_factory.mktemp("many-broker"))
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory):
    server = driver.serve(tmp_path_factory.mktemp("hook") / "gunicorn.log")
    yield server
    server.stop()


def test_finalizing_a_prefixed_kafkaacl_on_a_cluster_with_many_protected_topics(broker, hook_server):
    admin = broker.admin_client("operator", logger=QUIET)
    analytics = broker.identity("analytics").principal
    bindings = [
        AclBinding(ResourceType.TOPIC, f"many.{i:06d}", ResourcePatternType.LITERAL, analytics,
                   "*", AclOperation.READ, AclPermissionType.ALLOW)
        for i in range(TOPICS_WITH_A_BINDING)
    ]
    for start in range(0, len(bindings), 1000):  # KRaft takes at most 10,000 per request
        for future in admin.create_acls(bindings[start:start + 1000], request_timeout=30).values():
            future.result(60)

    world = driver.World(driver.HookClient(hook_server.url))
    operator = broker.identity("operator")
    world.apply(driver.cluster_object("local", broker.bootstrap))
    world.apply(driver.credentials_secret(
        "local", "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem))
    obj = {"apiVersion": driver.GROUP_VERSION, "kind": "KafkaACL",
           "metadata": {"name": "orders-prefix", "namespace": "team-a"},
           "spec": {"clusterRef": {"name": "local"}, "principal": broker.identity("orders").principal,
                    "resource": {"type": "Topic", "name": "orders.", "patternType": "Prefixed"},
                    "operations": ["Write"]}}
    world.apply(obj)
    world.sync_until("KafkaACL", "team-a/orders-prefix", driver.ready)  # narrow reads: fine
    world.delete("KafkaACL", "team-a/orders-prefix")

    # today: urllib's RemoteDisconnected on every call; gunicorn.log says
    # "Worker (pid:...) was sent SIGSEGV!"
    world.sync_until("KafkaACL", "team-a/orders-prefix", driver.gone, timeout=30)


def test_the_library_crash_itself(broker):
    """The same crash without the hook: one DescribeAcls for every topic binding."""
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(broker.dir.parent)!r})
        from confluent_kafka.admin import AdminClient, AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
        import json
        conf = json.loads({__import__('json').dumps(__import__('json').dumps(broker.client_config('operator')))})
        admin = AdminClient(conf)
        f = AclBindingFilter(ResourceType.TOPIC, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY)
        print(len(admin.describe_acls(f, request_timeout=30).result(60)))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode} (-11 is SIGSEGV): {done.stderr[-500:]!r}"
