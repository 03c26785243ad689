"""The test broker of scripts/testbroker.py, proven against a real Kafka over mutual TLS."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import testbroker  # noqa: E402
from testbroker import Broker, BrokerError  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = logging.getLogger("test_testbroker.rdkafka")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False

EXPECTED_SUBJECTS = {
    "broker": "CN=kafka-test-broker,OU=platform,O=Example Corp,C=DE",
    "operator": "CN=kafka-access-operator,OU=platform,O=Example Corp,C=DE",
    "orders": "CN=orders,OU=team-a,O=Example Corp,C=DE",
    "payments": "CN=payments,OU=team-b,O=Example\\, Inc.,C=US",
    "analytics": "CN=analytics,OU=team-c,O=Example Corp,L=Berlin,C=DE",
    "stranger": "CN=stranger,OU=team-x,O=Elsewhere Ltd,C=GB",
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("testbroker") / "broker")
    b.start()
    yield b
    b.stop()


# ----------------------------------------------------------------- helpers


def quiet(**extra):
    return {"logger": QUIET, "error_cb": lambda err: None, **extra}


def admin(broker, name="operator", **extra) -> AdminClient:
    return AdminClient(broker.client_config(name, **quiet(**extra)))


def create_topic(broker, name=None) -> str:
    name = name or f"t-{uuid.uuid4().hex[:10]}"
    a = admin(broker)  # keep the client alive until its futures resolve
    futures = a.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    futures[name].result(timeout=30)
    return name


def add_acl(broker, topic, principal, permission, operation=AclOperation.ALL) -> None:
    binding = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        principal,
        "*",
        operation,
        permission,
    )
    a = admin(broker)
    for f in a.create_acls([binding]).values():
        f.result(timeout=30)


def produce(broker, name, topic, timeout=15.0) -> KafkaError | None:
    """Produce one message as identity ``name``; None on success, else the delivery error."""
    p = Producer(broker.client_config(name, **quiet(**{"message.timeout.ms": int(timeout * 1000)})))
    result: list = []
    p.produce(
        topic, b"hello from " + name.encode(), on_delivery=lambda err, msg: result.append(err)
    )
    p.flush(timeout + 5)
    assert result, f"no delivery report for {name} -> {topic}"
    return result[0]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def refused(broker, name, topic) -> bool:
    err = produce(broker, name, topic, timeout=10)
    if err is None:
        return False
    assert err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    return True


# ----------------------------------------------------------------- tests


def test_descriptor_describes_the_running_broker(broker):
    desc = json.loads(broker.descriptor_path.read_text())
    assert desc["bootstrap"] == broker.bootstrap
    assert desc["bootstrap"].startswith("127.0.0.1:")
    assert desc["pid"] == broker.pid == int((broker.dir / "broker.pid").read_text())
    assert desc["dir"] == str(broker.dir)
    assert Path(desc["ca"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert Path(desc["otherCa"]).read_text() != Path(desc["ca"]).read_text()
    assert {n: i["subject"] for n, i in desc["identities"].items()} == EXPECTED_SUBJECTS
    for name in EXPECTED_SUBJECTS:
        ident = broker.identity(name)
        assert ident.cert_path == broker.dir / "pki" / f"{name}.crt"
        assert ident.cert_pem.startswith("-----BEGIN CERTIFICATE-----")
        assert ident.key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # unencrypted PKCS8
        assert stat.S_IMODE(os.stat(ident.key_path).st_mode) == 0o600
        assert ident.principal == "User:" + EXPECTED_SUBJECTS[name]
    conf = broker.client_config("orders")
    assert conf["bootstrap.servers"] == broker.bootstrap
    assert conf["security.protocol"] == "SSL"
    assert conf["ssl.ca.pem"] == broker.ca_pem
    assert conf["ssl.certificate.pem"] == broker.identity("orders").cert_pem
    assert conf["ssl.key.pem"] == broker.identity("orders").key_pem
    loaded = Broker.load(broker.dir)
    assert loaded.bootstrap == broker.bootstrap and loaded.is_running()


def test_broker_listens_on_loopback_only(broker):
    assert len(set(broker.ports.values())) == 3
    if shutil.which("ss") is None:
        pytest.skip("no `ss` to list listening sockets")
    listening = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, timeout=10).stdout
    mine = [line.split()[3] for line in listening.splitlines() if f"pid={broker.pid}," in line]
    assert sorted(int(a.rsplit(":", 1)[1]) for a in mine) == sorted(broker.ports.values())
    for addr in mine:
        assert addr.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]"), addr


def test_operator_creates_topic(broker):
    topic = create_topic(broker)
    assert topic in admin(broker).list_topics(timeout=10).topics


def test_cert_from_other_ca_is_refused_at_tls_handshake(broker):
    before = broker.server_log.read_text().count("Failed authentication with /127.0.0.1")
    conf = broker.client_config("stranger", **quiet())
    assert conf["ssl.ca.pem"] == broker.ca_pem  # trusts the broker; only its own cert is foreign
    t0 = time.monotonic()
    with pytest.raises(KafkaException):
        AdminClient(conf).list_topics(timeout=5)
    assert time.monotonic() - t0 < 10
    # the broker logs the refusal as an SSL handshake failure
    wait_until(
        lambda: (
            broker.server_log.read_text().count("Failed authentication with /127.0.0.1") > before
        ),
        10,
        "the broker to log the failed TLS handshake",
    )
    assert "SSL handshake failed" in broker.server_log.read_text()


def test_orders_can_produce_without_acls(broker):
    topic = create_topic(broker)
    assert produce(broker, "orders", topic) is None


def test_deny_acl_refuses_orders(broker):
    topic = create_topic(broker)
    assert produce(broker, "orders", topic) is None
    add_acl(broker, topic, broker.identity("orders").principal, AclPermissionType.DENY)
    wait_until(lambda: refused(broker, "orders", topic), 30, "orders to be refused on " + topic)
    # Kafka semantics: allow.everyone.if.no.acl.found only holds while a topic has no ACL at
    # all, so even a deny naming orders leaves everyone without an ALLOW refused ...
    assert refused(broker, "payments", topic)
    # ... except the broker itself, the only super user
    assert produce(broker, "broker", topic) is None


def test_any_acl_on_a_topic_locks_out_everyone_else(broker):
    topic = create_topic(broker)
    add_acl(broker, topic, broker.identity("analytics").principal, AclPermissionType.ALLOW)
    wait_until(lambda: refused(broker, "orders", topic), 30, "orders to be refused on " + topic)
    assert produce(broker, "analytics", topic) is None


@pytest.mark.parametrize(
    "name,control",
    [
        ("operator", "orders"),
        ("orders", "payments"),
        ("payments", "orders"),
        ("analytics", "orders"),
    ],
)
def test_subject_is_the_principal_the_broker_sees(broker, name, control):
    """An ACL written with the descriptor's subject matches the broker's own view of the cert."""
    topic = create_topic(broker)
    ident = broker.identity(name)
    add_acl(broker, topic, ident.principal, AclPermissionType.ALLOW)
    wait_until(lambda: refused(broker, control, topic), 30, f"{control} to be refused on {topic}")
    assert produce(broker, name, topic) is None
    line = f"Principal = {ident.principal} is Allowed operation = WRITE"
    wait_until(lambda: line in broker.authorizer_log.read_text(), 10, "the authorizer log line")
    a = admin(broker)
    acls = a.describe_acls(
        AclBindingFilter(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(timeout=10)
    assert [a.principal for a in acls] == [ident.principal]


def test_missing_java_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(BrokerError, match="java"):
        Broker(tmp_path / "b").start()


def test_missing_mvn_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BrokerError, match="mvn"):
        testbroker.ensure_jars(tmp_path / "jars")


def test_refuses_to_wipe_a_foreign_dir(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(BrokerError, match="refusing to wipe"):
        Broker(tmp_path).start()
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_cli_start_status_stop(tmp_path):
    script = [sys.executable, str(REPO / "scripts" / "testbroker.py")]
    d = ["--dir", str(tmp_path / "cli")]

    def run(*a):
        return subprocess.run(script + list(a) + d, capture_output=True, text=True, timeout=150)

    started = run("start")
    assert started.returncode == 0, started.stderr
    try:
        assert "bootstrap: 127.0.0.1:" in started.stdout
        b = Broker.load(tmp_path / "cli")
        assert b.is_running()  # outlived the CLI process
        assert b.bootstrap in run("status").stdout
        assert b.admin_client(**quiet()).list_topics(timeout=10) is not None
    finally:
        stopped = run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert run("status").returncode == 3
    assert json.loads((tmp_path / "cli" / "broker.json").read_text())["pid"] is None
    assert run("stop").returncode == 0  # idempotent


def test_pause_resume_keeps_topics_acls_and_ports(broker):
    open_topic = create_topic(broker)
    locked = create_topic(broker)
    add_acl(broker, locked, broker.identity("orders").principal, AclPermissionType.DENY)
    add_acl(broker, locked, broker.identity("payments").principal, AclPermissionType.ALLOW)
    wait_until(lambda: refused(broker, "orders", locked), 30, "orders to be refused")
    bootstrap, old_pid = broker.bootstrap, broker.pid

    broker.pause()
    assert not broker.is_running() and broker.pid is None
    assert json.loads(broker.descriptor_path.read_text())["pid"] is None
    with pytest.raises(KafkaException):
        admin(broker).list_topics(timeout=2)
    broker.pause()  # idempotent

    t0 = time.monotonic()
    broker.resume()
    print(f"resume took {time.monotonic() - t0:.1f} s")
    assert broker.is_running() and broker.pid != old_pid
    assert broker.bootstrap == bootstrap
    assert json.loads(broker.descriptor_path.read_text())["pid"] == broker.pid
    assert open_topic in admin(broker).list_topics(timeout=10).topics
    # the operator is no super user: a topic with ACLs is hidden from it unless allowed
    assert locked not in admin(broker).list_topics(timeout=10).topics
    assert locked in admin(broker, "broker").list_topics(timeout=10).topics
    assert refused(broker, "orders", locked)
    assert produce(broker, "payments", locked) is None
    assert produce(broker, "orders", open_topic) is None
