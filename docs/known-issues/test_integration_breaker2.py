"""Second adversarial pass, against a real Kafka 4.1.1 broker over mTLS.
Paste into tests/integration/. Runs its own broker (its CA key is captured while the
PKI is made, to sign odd client certificates) and the hooks in-process, with a port
proxy that can run code between two Kafka calls of one hook call.
"""

from __future__ import annotations

import base64
import datetime
import logging
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import testbroker
from confluent_kafka import Producer
from confluent_kafka.admin import ConfigResource, NewTopic
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hooks.app import create_app
from hooks.shell.kafka import ClientCache
from tools import driver

NS = "team-a"
QUIET = logging.getLogger("breaker2.rdkafka")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False
REPO = Path(testbroker.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    made = []
    original = testbroker._Issuer.__init__

    def remember(self, attrs, days):
        original(self, attrs, days)
        made.append(self)

    testbroker._Issuer.__init__ = remember
    try:
        instance = testbroker.Broker(tmp_path_factory.mktemp("breaker2-broker"))
        instance.start()
    finally:
        testbroker._Issuer.__init__ = original
    instance.ca = made[0]  # the CA's certificate and key
    yield instance
    instance.stop()


class Proxy:
    def __init__(self, real, hooks):
        self._real, self._hooks = real, hooks

    def __getattr__(self, name):
        fn = getattr(self._real, name)

        def call(*args, **kwargs):
            result = fn(*args, **kwargs)
            after = self._hooks.pop(name, None)
            if after:
                after()
            return result

        return call


class Clients:
    def __init__(self):
        self.cache, self.after = ClientCache(), {}

    def port(self, connection):
        return Proxy(self.cache.port(connection), self.after)


class InProcess:
    def __init__(self, app):
        self.client = app.test_client()

    def post(self, path, body):
        answer = self.client.post(path, json=body)
        return answer.status_code, answer.get_json()


@pytest.fixture
def world(broker):
    clients = Clients()
    world = driver.World(InProcess(create_app({"CLIENTS": clients})))
    operator = broker.identity("operator")
    world.apply(driver.cluster_object("local", broker.bootstrap))
    world.apply(driver.credentials_secret(
        "local", "kafka-access", broker.ca_pem, operator.cert_pem, operator.key_pem))
    world.clients = clients
    return world


# -- helpers --------------------------------------------------------------------------

def unique():
    return uuid.uuid4().hex[:8]


_ADMINS: dict = {}


def admin(broker):
    """One operator AdminClient per broker, kept alive (a dropped one cancels its futures)."""
    if broker.bootstrap not in _ADMINS:
        _ADMINS[broker.bootstrap] = broker.admin_client("operator", logger=QUIET)
    return _ADMINS[broker.bootstrap]


def topic(broker, name):
    admin(broker).create_topics([NewTopic(name, 1, 1)])[name].result(15)
    return name


def issue(broker, name: x509.Name):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(broker.ca.name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(broker.ca.key, hashes.SHA256())
    )
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def produce(broker, topic_name, cert_pem=None, key_pem=None, who="orders"):
    conf = broker.client_config(who, logger=QUIET, error_cb=lambda e: None,
                                **{"message.timeout.ms": 5000})
    if cert_pem:
        conf["ssl.certificate.pem"], conf["ssl.key.pem"] = cert_pem, key_pem
    producer, reports = Producer(conf), []
    producer.produce(topic_name, b"x", on_delivery=lambda e, m: reports.append(e))
    producer.flush(8)
    return reports[0] if reports else "no delivery report"


def eventually(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def acl_object(name, resource, operations, **spec):
    return {"apiVersion": driver.GROUP_VERSION, "kind": "KafkaACL",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"clusterRef": {"name": "local"}, "resource": resource,
                     "operations": operations, **spec}}


def key_of(obj):
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


def ready(world, obj):
    world.apply(obj)
    return world.sync_until("KafkaACL", key_of(obj), driver.ready, timeout=20)


def remove(world, obj):
    world.delete("KafkaACL", key_of(obj))
    world.sync_until("KafkaACL", key_of(obj), driver.gone, timeout=20)


def operator_can_describe_configs(broker, name):
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    try:
        admin(broker).describe_configs([resource], request_timeout=5)[resource].result(8)
        return True
    except Exception:  # noqa: BLE001 - TOPIC_AUTHORIZATION_FAILED
        return False


# -- P2: principalFrom with a BMPString subject --------------------------------------

def test_principal_from_a_bmpstring_certificate_lets_the_client_in(world, broker):
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
        x509.NameAttribute(NameOID.COMMON_NAME, "svc", _ASN1Type.BMPString),
    ])
    cert, key = issue(broker, name)
    t = topic(broker, f"bmp.{unique()}")
    world.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "svc-cert", "namespace": NS},
                 "data": {"tls.crt": base64.b64encode(cert.encode()).decode()}})
    obj = acl_object(f"svc-{unique()}", {"type": "Topic", "name": t}, ["Write", "Describe"],
                     principalFrom={"secretKeyRef": {"name": "svc-cert"}})
    status = ready(world, obj)["status"]
    assert status["principal"] == "User:CN=svc,O=Example Corp,C=DE"  # what the hook derives
    # the broker names this client User:CN=\00s\00v\00c,O=Example Corp,C=DE (authorizer log)
    assert eventually(lambda: produce(broker, t, cert, key) is None), \
        "Ready, yet the client the certificate belongs to is refused"


# -- P1: the principal the README's openssl command prints, for a non-ASCII subject --------

def test_the_subject_openssl_prints_for_an_umlaut_lets_the_client_in(world, broker):
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Müller"),
    ])
    cert, key = issue(broker, name)
    if shutil.which("openssl") is None:
        pytest.skip("no openssl")
    printed = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        input=cert.encode(), capture_output=True, check=True).stdout.decode()
    subject = printed.strip().removeprefix("subject=")
    assert subject == r"CN=M\C3\BCller,O=Example Corp,C=DE"
    t = topic(broker, f"umlaut.{unique()}")
    obj = acl_object(f"m-{unique()}", {"type": "Topic", "name": t}, ["Write", "Describe"],
                     principal=f"User:{subject}")
    status = ready(world, obj)["status"]
    # today status.principal is 'User:CN=MÃ¼ller,O=Example Corp,C=DE'
    assert eventually(lambda: produce(broker, t, cert, key) is None), status["principal"]


# -- P4: a lower-case principal type --------------------------------------------------------

def test_a_lower_case_user_type_lets_the_client_in_or_is_refused(world, broker):
    t = topic(broker, f"lower.{unique()}")
    orders = broker.identity("orders").principal
    obj = acl_object(f"l-{unique()}", {"type": "Topic", "name": t}, ["Write", "Describe"],
                     principal="user:" + orders.removeprefix("User:"))
    world.apply(obj)
    answer = world.sync("KafkaACL", key_of(obj))
    synced = next(c for c in answer["status"]["conditions"] if c["type"] == "Synced")
    if synced["status"] == "False":
        return  # refused: fine
    world.sync_until("KafkaACL", key_of(obj), driver.ready, timeout=20)
    assert eventually(lambda: produce(broker, t) is None), "Ready, but 'user:' matches nobody"


# -- G1: a binding re-created while the owner's finalize runs --------------------------------

def test_grants_stay_when_the_other_kafkaacl_recreates_the_binding_mid_finalize(world, broker):
    orders = broker.identity("orders").principal
    t = topic(broker, f"race.{unique()}")
    a = acl_object(f"a-{unique()}", {"type": "Topic", "name": t}, ["Write"], principal=orders)
    b = acl_object(f"b-{unique()}", {"type": "Topic", "name": t}, ["Write"], principal=orders)
    ready(world, a)
    ready(world, b)  # b uses a's binding
    world.delete("KafkaACL", key_of(a))

    def b_resyncs():  # after a's finalize confirmed its delete: b's regular resync
        world.sync("KafkaACL", key_of(b))

    world.clients.after["delete_acls"] = lambda: world.clients.after.update(describe_acls=b_resyncs)
    world.sync_until("KafkaACL", key_of(a), driver.gone, timeout=20)

    assert eventually(lambda: produce(broker, t) is None), "b's binding is back"
    # today: False -- the operator's six grants went although b's binding protects the topic;
    # b's next resync (60 s) puts them back, meanwhile every KafkaTopic call on it is refused
    assert operator_can_describe_configs(broker, t)


# -- G2: a hand-made binding the admin client cannot decode ---------------------------------

@pytest.mark.skipif(shutil.which("javac") is None, reason="needs javac for the Java admin client")
def test_grants_stay_while_an_undecodable_binding_protects_the_topic(world, broker, tmp_path):
    t = topic(broker, f"unk.{unique()}")
    jars = ":".join(str(p) for p in sorted((REPO / ".cache" / "kafka-jars").glob("*.jar")))
    source = Path(__file__).with_name("support") / "AclMaker.java"
    shutil.copy(source, tmp_path / "AclMaker.java")
    subprocess.run(["javac", "-cp", jars, "AclMaker.java"], cwd=tmp_path, check=True, timeout=120)
    subprocess.run(
        ["java", "-cp", f"{jars}:{tmp_path}", "AclMaker", str(broker.dir), broker.bootstrap,
         "TOPIC", t, "LITERAL", broker.identity("analytics").principal, "CREATE_TOKENS", "ALLOW"],
        check=True, timeout=120, capture_output=True)
    assert eventually(lambda: not operator_can_describe_configs(broker, t)), "the binding protects t"
    obj = acl_object(f"u-{unique()}", {"type": "Topic", "name": t}, ["Write"],
                     principal=broker.identity("orders").principal)
    ready(world, obj)
    assert operator_can_describe_configs(broker, t), "the grants let the operator in"
    remove(world, obj)
    time.sleep(1)
    # today: False -- the finalize could not see the CREATE_TOKENS binding (UNKNOWN to
    # librdkafka), so it removed the grants the operator needs on a still-protected topic
    assert operator_can_describe_configs(broker, t)
