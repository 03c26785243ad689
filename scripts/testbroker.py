#!/usr/bin/env python3
"""A real Apache Kafka broker over mutual TLS, for kafka-access's tests and local runs.

One KRaft node (broker + controller) listening on 127.0.0.1 only, with a fresh
PKI per start, the StandardAuthorizer, ``allow.everyone.if.no.acl.found=true``
and the broker's own certificate as the only super user.

Command line (the directory defaults to ``<repo>/.run/broker``)::

    python scripts/testbroker.py start  [--dir DIR] [--timeout SECONDS]
    python scripts/testbroker.py stop   [--dir DIR]
    python scripts/testbroker.py status [--dir DIR]
    python scripts/testbroker.py pause  [--dir DIR]   # stop the process, keep data
    python scripts/testbroker.py resume [--dir DIR]

``start`` returns once the broker is ready and leaves it running in the
background; ``<DIR>/broker.json`` then describes it (bootstrap address, pid,
CA files and every identity's cert/key paths and RFC 2253 subject).

Python API::

    sys.path.insert(0, "scripts")
    from testbroker import Broker

    broker = Broker(tmp_path / "broker")
    broker.start()                       # wipe dir, new PKI, new ports, wait ready
    conf = broker.client_config("orders")   # librdkafka settings, PEMs in memory
    broker.identity("payments").subject     # 'CN=payments,OU=team-b,O=Example\\, Inc.,C=US'
    broker.pause(); broker.resume()      # "broker stopped mid-run"
    broker.stop()

Needs Java 17+ and (the first time, or after the pom changed) Maven, which
copies the jars pinned in ``scripts/kafka-jars/pom.xml`` into
``<repo>/.cache/kafka-jars``.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import datetime
import fcntl
import hashlib
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS_DIR.parent
POM = SCRIPTS_DIR / "kafka-jars" / "pom.xml"
LOG4J_CONFIG = SCRIPTS_DIR / "log4j2.properties"
JARS_DIR = REPO_ROOT / ".cache" / "kafka-jars"
DEFAULT_DIR = REPO_ROOT / ".run" / "broker"

KAFKA_VERSION = "4.1.1"
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL_MAIN = "kafka.tools.StorageTool"
JAR_MARKER = ".pom-sha256"
DIR_MARKER = ".testbroker"
DEFAULT_READY_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
MVN_TIMEOUT = 540.0
FORMAT_TIMEOUT = 120.0
JVM_HEAP = ("-Xms256m", "-Xmx512m")

# name -> subject attributes in ASN.1 order (least specific first), so that the
# RFC 2253 string (most specific first) reads CN=...,OU=...,O=...,C=...
CA_SUBJECT = (("C", "DE"), ("O", "Example Corp"), ("CN", "kafka-access test CA"))
OTHER_CA_SUBJECT = (("C", "GB"), ("O", "Elsewhere Ltd"), ("CN", "unrelated test CA"))
BROKER_SUBJECT = (
    ("C", "DE"),
    ("O", "Example Corp"),
    ("OU", "platform"),
    ("CN", "kafka-test-broker"),
)
CLIENT_SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "operator": (
        ("C", "DE"),
        ("O", "Example Corp"),
        ("OU", "platform"),
        ("CN", "kafka-access-operator"),
    ),
    "orders": (("C", "DE"), ("O", "Example Corp"), ("OU", "team-a"), ("CN", "orders")),
    "payments": (("C", "US"), ("O", "Example, Inc."), ("OU", "team-b"), ("CN", "payments")),
    "analytics": (
        ("C", "DE"),
        ("L", "Berlin"),
        ("O", "Example Corp"),
        ("OU", "team-c"),
        ("CN", "analytics"),
    ),
}
# signed by the *other* CA: must be refused at the TLS handshake
STRANGER_SUBJECT = (("C", "GB"), ("O", "Elsewhere Ltd"), ("OU", "team-x"), ("CN", "stranger"))
IDENTITY_NAMES = ("broker", *CLIENT_SUBJECTS, "stranger")

log = logging.getLogger("testbroker")


class BrokerError(RuntimeError):
    """The test broker could not be prepared, started, or stopped."""


# --------------------------------------------------------------------------- jars


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jars_present(jars_dir: Path, pom_sha: str) -> bool:
    marker = jars_dir / JAR_MARKER
    try:
        if marker.read_text().strip() != pom_sha:
            return False
    except OSError:
        return False
    return any(jars_dir.glob("kafka_2.13-*.jar")) and any(jars_dir.glob("kafka-clients-*.jar"))


def ensure_jars(jars_dir: Path = JARS_DIR, pom: Path = POM) -> Path:
    """Copy the broker's jars into ``jars_dir`` unless they are there for this pom.

    Runs ``mvn dependency:copy-dependencies`` only when the jars are missing or
    the pom's sha256 differs from the marker written by the last copy.
    """
    if not pom.is_file():
        raise BrokerError(f"missing {pom}")
    pom_sha = _sha256(pom)
    if _jars_present(jars_dir, pom_sha):
        return jars_dir
    jars_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = jars_dir.parent / (jars_dir.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be copying right now
        if _jars_present(jars_dir, pom_sha):
            return jars_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                f"the Kafka jars are not in {jars_dir} and `mvn` is not on PATH: "
                "install Maven (e.g. apt-get install maven) so that they can be fetched"
            )
        staging = Path(tempfile.mkdtemp(prefix=jars_dir.name + ".", dir=jars_dir.parent))
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
        ]
        log.info("fetching Kafka jars: %s", " ".join(cmd))
        try:
            res = subprocess.run(
                cmd,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=MVN_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise BrokerError(f"mvn did not finish within {MVN_TIMEOUT:.0f} s") from exc
        if res.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            out = (res.stdout + res.stderr)[-4000:]
            raise BrokerError(f"mvn failed to copy the Kafka jars (exit {res.returncode}):\n{out}")
        (staging / JAR_MARKER).write_text(pom_sha + "\n")
        if jars_dir.exists():
            shutil.rmtree(jars_dir)
        staging.rename(jars_dir)
    return jars_dir


# --------------------------------------------------------------------------- PKI


def _pki():
    # imported lazily so that `stop`/`status` work without cryptography
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def _name(attrs):
    x509, _, _, _, _, NameOID = _pki()
    oids = {
        "C": NameOID.COUNTRY_NAME,
        "L": NameOID.LOCALITY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "CN": NameOID.COMMON_NAME,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs])


def _rfc2253(attrs) -> str:
    """The subject as Java's X500Principal.getName() (RFC 2253) prints it."""
    return _name(attrs).rfc4514_string()


class _Issuer:
    def __init__(self, attrs, days: int):
        x509, hashes, _, ec, _, _ = _pki()
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(attrs)
        now = datetime.datetime.now(datetime.UTC)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.days = days

    def issue(self, attrs, *, server: bool):
        x509, hashes, _, ec, EKU, _ = _pki()
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        usages = [EKU.CLIENT_AUTH] + ([EKU.SERVER_AUTH] if server else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(attrs))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=self.days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
        return key, builder.sign(self.key, hashes.SHA256())


def _pem_cert(cert) -> bytes:
    _, _, serialization, _, _, _ = _pki()
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key) -> bytes:
    _, _, serialization, _, _, _ = _pki()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def generate_pki(pki_dir: Path, days: int = 30) -> dict[str, dict[str, str]]:
    """Write a fresh CA, the broker's and the clients' certs into ``pki_dir``.

    Returns ``{name: {"cert": path, "key": path, "subject": rfc2253}}``.
    """
    pki_dir.mkdir(parents=True, exist_ok=True)
    ca = _Issuer(CA_SUBJECT, days)
    other = _Issuer(OTHER_CA_SUBJECT, days)
    (pki_dir / "ca.crt").write_bytes(_pem_cert(ca.cert))
    (pki_dir / "other-ca.crt").write_bytes(_pem_cert(other.cert))
    wanted = [("broker", ca, BROKER_SUBJECT, True)]
    wanted += [(n, ca, s, False) for n, s in CLIENT_SUBJECTS.items()]
    wanted += [("stranger", other, STRANGER_SUBJECT, False)]
    out: dict[str, dict[str, str]] = {}
    for name, issuer, attrs, server in wanted:
        key, cert = issuer.issue(attrs, server=server)
        crt_path, key_path = pki_dir / f"{name}.crt", pki_dir / f"{name}.key"
        crt_path.write_bytes(_pem_cert(cert))
        _write_private(key_path, _pem_key(key))
        out[name] = {"cert": str(crt_path), "key": str(key_path), "subject": _rfc2253(attrs)}
    # the broker's PEM keystore: unencrypted PKCS8 key followed by its certificate chain
    _write_private(
        pki_dir / "broker-keystore.pem",
        (pki_dir / "broker.key").read_bytes()
        + (pki_dir / "broker.crt").read_bytes()
        + (pki_dir / "ca.crt").read_bytes(),
    )
    return out


# --------------------------------------------------------------------------- helpers


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Java sets SO_REUSEADDR on its server sockets, so TIME_WAIT does not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_id() -> str:
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            "`java` is not on PATH (and JAVA_HOME has none): Kafka 4.1 needs Java 17+"
        )
    return java


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _is_our_broker(pid: int, server_properties: Path) -> bool:
    """True if ``pid`` is a live kafka.Kafka started with this dir's config."""
    if not _pid_alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return BROKER_MAIN.encode() in args and str(server_properties).encode() in args


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256 * lines))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


class _QuietLogger(logging.Logger):
    """Swallows librdkafka's connection noise while we poll for readiness."""

    def __init__(self):
        super().__init__("testbroker.rdkafka", logging.CRITICAL + 1)


# --------------------------------------------------------------------------- API


@dataclass(frozen=True)
class Identity:
    """A TLS identity: cert/key PEM files and the RFC 2253 subject the broker sees."""

    name: str
    cert_path: Path
    key_path: Path
    subject: str

    @property
    def cert_pem(self) -> str:
        return self.cert_path.read_text()

    @property
    def key_pem(self) -> str:
        return self.key_path.read_text()

    @property
    def principal(self) -> str:
        """The Kafka principal of this identity, e.g. for ACLs: ``User:<subject>``."""
        return f"User:{self.subject}"


class Broker:
    """A single-node KRaft Kafka broker over mutual TLS, on 127.0.0.1.

    ``Broker(dir)`` does nothing until :meth:`start`.  ``Broker.load(dir)``
    attaches to a broker that another process started (reads broker.json).
    """

    def __init__(
        self,
        dir: str | os.PathLike | None = None,
        *,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        stop_at_exit: bool = True,
    ):
        self.dir = Path(dir if dir is not None else DEFAULT_DIR).resolve()
        self.ready_timeout = ready_timeout
        self.stop_at_exit = stop_at_exit
        self._proc: subprocess.Popen | None = None
        self._desc: dict[str, Any] | None = None
        self._atexit_registered = False

    # ---- paths
    @property
    def descriptor_path(self) -> Path:
        return self.dir / "broker.json"

    @property
    def pid_path(self) -> Path:
        return self.dir / "broker.pid"

    @property
    def pki_dir(self) -> Path:
        return self.dir / "pki"

    @property
    def config_path(self) -> Path:
        return self.dir / "config" / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def server_log(self) -> Path:
        return self.log_dir / "server.log"

    @property
    def authorizer_log(self) -> Path:
        """Every authorizer decision, with the principal exactly as the broker sees it."""
        return self.log_dir / "kafka-authorizer.log"

    @property
    def stdout_log(self) -> Path:
        return self.log_dir / "broker.out"

    # ---- descriptor
    @classmethod
    def load(cls, dir: str | os.PathLike | None = None, **kw) -> Broker:
        """A Broker for the descriptor in ``dir`` (started by this or another process)."""
        b = cls(dir, stop_at_exit=False, **kw)
        b._read_descriptor()
        return b

    def _read_descriptor(self) -> dict[str, Any]:
        try:
            self._desc = json.loads(self.descriptor_path.read_text())
        except (OSError, ValueError) as exc:
            raise BrokerError(f"no broker descriptor at {self.descriptor_path}: {exc}") from exc
        return self._desc

    @property
    def descriptor(self) -> dict[str, Any]:
        if self._desc is None:
            if self.descriptor_path.is_file():
                return self._read_descriptor()
            raise BrokerError(f"broker in {self.dir} has not been started")
        return self._desc

    @property
    def bootstrap(self) -> str:
        return self.descriptor["bootstrap"]

    @property
    def port(self) -> int:
        return int(self.bootstrap.rsplit(":", 1)[1])

    @property
    def ports(self) -> dict[str, int]:
        return dict(self.descriptor["ports"])

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None

    @property
    def ca_path(self) -> Path:
        return Path(self.descriptor["ca"])

    @property
    def ca_pem(self) -> str:
        return self.ca_path.read_text()

    @property
    def other_ca_path(self) -> Path:
        return Path(self.descriptor["otherCa"])

    @property
    def other_ca_pem(self) -> str:
        return self.other_ca_path.read_text()

    @property
    def identities(self) -> dict[str, Identity]:
        return {
            n: Identity(n, Path(d["cert"]), Path(d["key"]), d["subject"])
            for n, d in self.descriptor["identities"].items()
        }

    def identity(self, name: str) -> Identity:
        try:
            d = self.descriptor["identities"][name]
        except KeyError:
            raise KeyError(
                f"unknown identity {name!r}; known: {sorted(self.descriptor['identities'])}"
            ) from None
        return Identity(name, Path(d["cert"]), Path(d["key"]), d["subject"])

    def client_config(self, name: str = "operator", **overrides: Any) -> dict[str, Any]:
        """librdkafka settings for identity ``name``, PEMs in memory, trusting the broker's CA.

        ``overrides`` are merged in; use dots via a dict, e.g.
        ``broker.client_config("orders", **{"group.id": "g"})``.
        """
        ident = self.identity(name)
        conf = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.pem": self.ca_pem,
            "ssl.certificate.pem": ident.cert_pem,
            "ssl.key.pem": ident.key_pem,
        }
        conf.update(overrides)
        return conf

    def admin_client(self, name: str = "operator", **overrides: Any):
        """A confluent_kafka AdminClient for identity ``name``."""
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.client_config(name, **overrides))

    # ---- state
    def is_running(self) -> bool:
        pid = self.pid
        return pid is not None and _is_our_broker(pid, self.config_path)

    def log_tail(self, lines: int = 60) -> str:
        parts = []
        for p in (self.stdout_log, self.server_log):
            t = _tail(p, lines)
            if t.strip():
                parts.append(f"--- {p} (last {lines} lines) ---\n{t}")
        return "\n".join(parts) or f"(no broker log in {self.log_dir})"

    # ---- lifecycle
    def start(self) -> Broker:
        """Fresh start: wipe the dir, new PKI, new ports, format storage, launch, wait ready."""
        java = _java()
        jars = ensure_jars()
        self.stop()
        self._wipe()
        self._desc = None
        self.log_dir.mkdir(parents=True)
        self.config_path.parent.mkdir(parents=True)
        idents = generate_pki(self.pki_dir)
        client, internal, controller = _free_ports(3)
        ports = {"client": client, "internal": internal, "controller": controller}
        self.config_path.write_text(self._server_properties(ports, idents["broker"]["subject"]))
        self._format(java, jars)
        self._desc = {
            "bootstrap": f"127.0.0.1:{client}",
            "pid": None,
            "dir": str(self.dir),
            "kafkaVersion": KAFKA_VERSION,
            "ports": ports,
            "ca": str(self.pki_dir / "ca.crt"),
            "otherCa": str(self.pki_dir / "other-ca.crt"),
            "identities": idents,
            "logs": str(self.log_dir),
            "serverLog": str(self.server_log),
            "authorizerLog": str(self.authorizer_log),
        }
        self._launch_and_wait(java, jars)
        return self

    def resume(self) -> Broker:
        """Start the paused broker again with the same config, data, ports and certs."""
        if self.is_running():
            return self
        if not self.config_path.is_file():
            raise BrokerError(f"nothing to resume in {self.dir}: start() it first")
        self.descriptor  # noqa: B018 - loads broker.json if another process started it
        self._launch_and_wait(_java(), ensure_jars())
        return self

    def pause(self) -> None:
        """Stop the broker process but keep data, ports, certs and the descriptor."""
        self._terminate()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Idempotent."""
        self._terminate(timeout)

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- internals
    def _wipe(self) -> None:
        if self.dir.exists():
            entries = list(self.dir.iterdir())
            if entries and not (self.dir / DIR_MARKER).exists():
                raise BrokerError(
                    f"refusing to wipe {self.dir}: not empty and not a test broker dir "
                    f"(no {DIR_MARKER} file)"
                )
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        (self.dir / DIR_MARKER).write_text(
            "created by scripts/testbroker.py; wiped on every start\n"
        )

    def _server_properties(self, ports: dict[str, int], broker_subject: str) -> str:
        pki = self.pki_dir
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{ports['controller']}",
            "controller.listener.names": "CONTROLLER",
            "listeners": (
                f"CLIENT://127.0.0.1:{ports['client']},"
                f"INTERNAL://127.0.0.1:{ports['internal']},"
                f"CONTROLLER://127.0.0.1:{ports['controller']}"
            ),
            "advertised.listeners": (
                f"CLIENT://127.0.0.1:{ports['client']},INTERNAL://127.0.0.1:{ports['internal']}"
            ),
            "listener.security.protocol.map": "CLIENT:SSL,INTERNAL:SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "INTERNAL",
            # mutual TLS everywhere, PEM files only
            "ssl.client.auth": "required",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(pki / "broker-keystore.pem"),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(pki / "ca.crt"),
            "ssl.endpoint.identification.algorithm": "https",
            # authorization
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true",
            "super.users": f"User:{broker_subject}",
            # storage and single-node settings
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "share.coordinator.state.topic.num.partitions": "5",
            "group.initial.rebalance.delay.ms": "0",
            # keep it small
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        }
        lines = ["# written by scripts/testbroker.py; regenerated on every start"]
        lines += [f"{k}={v}" for k, v in props.items()]
        return "\n".join(lines) + "\n"

    def _jvm(self, java: str, jars: Path, heap=JVM_HEAP) -> list[str]:
        return [
            java,
            *heap,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.log_dir}",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            f"{jars}/*",
        ]

    def _format(self, java: str, jars: Path) -> None:
        cmd = self._jvm(java, jars, heap=("-Xms64m", "-Xmx256m")) + [
            STORAGE_TOOL_MAIN,
            "format",
            "-t",
            _cluster_id(),
            "-c",
            str(self.config_path),
        ]
        out_path = self.log_dir / "format.out"
        try:
            with open(out_path, "wb") as out:
                res = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=FORMAT_TIMEOUT,
                )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(
                f"storage format did not finish in {FORMAT_TIMEOUT:.0f} s:\n{_tail(out_path, 40)}"
            ) from exc
        if res.returncode != 0:
            raise BrokerError(
                f"storage format failed (exit {res.returncode}):\n{_tail(out_path, 40)}"
            )

    def _launch_and_wait(self, java: str, jars: Path) -> None:
        busy = [f"{k}={p}" for k, p in self.ports.items() if not _port_free(p)]
        if busy:
            raise BrokerError(
                f"cannot start the broker in {self.dir}: port(s) in use on 127.0.0.1: "
                f"{', '.join(busy)}"
            )
        cmd = self._jvm(java, jars) + [BROKER_MAIN, str(self.config_path)]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_log, "ab") as out:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")
        if self.stop_at_exit and not self._atexit_registered:
            atexit.register(self._terminate)
            self._atexit_registered = True
        try:
            self._wait_ready(self.ready_timeout)
        except BaseException:
            self._terminate()
            raise
        self._write_descriptor(pid=self._proc.pid)

    def _write_descriptor(self, pid: int | None) -> None:
        if self._desc is None or not self.dir.is_dir():
            return
        self._desc["pid"] = pid
        tmp = self.descriptor_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self._desc, indent=2) + "\n")
        tmp.replace(self.descriptor_path)

    def _wait_ready(self, timeout: float) -> None:
        try:
            from confluent_kafka import KafkaException
            from confluent_kafka.admin import AdminClient
        except ImportError as exc:
            raise BrokerError(
                "confluent_kafka is not installed (pip install -r requirements.txt)"
            ) from exc
        deadline = time.monotonic() + timeout
        admin = AdminClient(
            self.client_config(
                "operator",
                **{
                    "reconnect.backoff.ms": 100,
                    "reconnect.backoff.max.ms": 500,
                    "logger": _QuietLogger(),
                    "error_cb": lambda err: None,
                },
            )
        )
        last: Exception | None = None
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise BrokerError(
                    f"the broker exited with code {code} while starting\n{self.log_tail()}"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrokerError(
                    f"the broker in {self.dir} was not ready within {timeout:g} s "
                    f"(last error: {last})\n{self.log_tail()}"
                )
            try:
                admin.list_topics(timeout=min(2.0, max(left, 0.1)))
                return
            except KafkaException as exc:
                last = exc
                time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))

    def _terminate(self, timeout: float = STOP_TIMEOUT) -> None:
        self._kill(timeout)
        if self._desc is None and self.descriptor_path.is_file():
            try:
                self._read_descriptor()
            except BrokerError:
                pass
        if self._desc is not None and self._desc.get("pid") is not None:
            self._write_descriptor(pid=None)  # broker.json stays, with "pid": null

    def _kill(self, timeout: float) -> None:
        proc, self._proc = self._proc, None
        pid = proc.pid if proc is not None else self.pid
        if pid is None:
            return
        if proc is None and not _is_our_broker(pid, self.config_path):
            self.pid_path.unlink(missing_ok=True)
            return
        if proc is not None and proc.poll() is not None:
            self.pid_path.unlink(missing_ok=True)
            return

        def gone(wait: float) -> bool:
            end = time.monotonic() + wait
            while True:
                if proc is not None:
                    if proc.poll() is not None:
                        return True
                elif not _pid_alive(pid):
                    return True
                if time.monotonic() >= end:
                    return False
                time.sleep(0.1)

        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)  # the JVM leads its own session/process group
            except ProcessLookupError:
                break
            except PermissionError:
                os.kill(pid, sig)
            if gone(wait):
                break
            log.warning("broker pid %d did not exit within %.0f s after %s", pid, wait, sig.name)
        else:
            raise BrokerError(f"could not stop broker pid {pid}")
        self.pid_path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- CLI


def _cli(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="testbroker.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["start", "stop", "status", "pause", "resume"])
    ap.add_argument(
        "--dir", default=str(DEFAULT_DIR), help="broker directory (default: <repo>/.run/broker)"
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_READY_TIMEOUT,
        help="seconds to wait for the broker to be ready (default: %(default)s)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="testbroker: %(message)s")
    broker = Broker(args.dir, ready_timeout=args.timeout, stop_at_exit=False)
    try:
        if args.command == "start":
            t0 = time.monotonic()
            broker.start()
            print(f"descriptor: {broker.descriptor_path}")
            print(f"bootstrap: {broker.bootstrap}")
            print(f"pid: {broker.pid} (ready in {time.monotonic() - t0:.1f} s)")
        elif args.command == "stop":
            broker.stop()
            print(f"stopped ({broker.dir})")
        elif args.command == "pause":
            broker.pause()
            print(f"paused ({broker.dir}); `resume` starts it again")
        elif args.command == "resume":
            broker.resume()
            print(f"bootstrap: {broker.bootstrap}")
            print(f"pid: {broker.pid}")
        else:
            if broker.is_running():
                print(
                    f"running: pid {broker.pid}, bootstrap {broker.bootstrap}, "
                    f"descriptor {broker.descriptor_path}"
                )
                return 0
            print(f"not running ({broker.dir})")
            return 3
    except BrokerError as exc:
        print(f"testbroker: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
