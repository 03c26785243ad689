"""A small stand-in for Metacontroller, for tests, the local run and benchmarks.

It holds objects the way the Kubernetes API would, asks the hook's customize
route which related objects a parent needs, builds hook version v2 sync and
finalize requests from them, and writes the returned status back, bumping
nothing but what Metacontroller would. Children a composite returns are
stored as objects of their own, and observed children not returned are
deleted, as Metacontroller does.

It only ever talks to a hook on loopback, and every loop has a deadline.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GROUP_VERSION = "kafkaaccess.io/v1alpha1"
REPO = Path(__file__).resolve().parents[1]
PLURALS = {
    "kafkaclusters": "KafkaCluster",
    "kafkatopics": "KafkaTopic",
    "kafkaacls": "KafkaACL",
    "kafkaaccesses": "KafkaAccess",
    "kafkacompositions": "KafkaComposition",
    "secrets": "Secret",
}
CLUSTER_SCOPED = {"KafkaCluster", "KafkaComposition"}


def group_key(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}.{obj['apiVersion']}"


def object_key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


class HookError(RuntimeError):
    def __init__(self, status: int, body: Any):
        self.status, self.body = status, body
        super().__init__(f"hook answered {status}: {body}")


@dataclass
class HookClient:
    """POSTs JSON to a hook on loopback."""

    base_url: str
    token: str | None = None
    timeout: float = 12.0

    def __post_init__(self) -> None:
        host = self.base_url.split("//", 1)[-1].split(":", 1)[0].split("/", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ValueError(f"the driver only talks to loopback hooks, not {host}")

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                return error.code, json.loads(payload)
            except ValueError:
                return error.code, payload.decode(errors="replace")


@dataclass
class World:
    """The objects Metacontroller would see, and the hook calls it would make."""

    hook: HookClient
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    calls: int = 0
    now: Callable[[], float] = time.monotonic

    # -- the API server's part ---------------------------------------------

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or update an object; a spec change bumps metadata.generation."""
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})
        bucket = self.objects.setdefault(group_key(obj), {})
        key = object_key(obj)
        old = bucket.get(key)
        meta = obj["metadata"]
        if old is None:
            meta.setdefault("generation", 1)
            meta.setdefault("uid", f"uid-{len(bucket) + 1}-{meta['name']}")
        else:
            meta["generation"] = old["metadata"]["generation"] + (
                old.get("spec") != obj.get("spec")
            )
            meta["uid"] = old["metadata"]["uid"]
            if "status" in old and "status" not in obj:
                obj["status"] = old["status"]
        bucket[key] = obj
        return obj

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        return self.objects.get(f"{kind}.{self._api(kind)}", {}).get(key)

    def status(self, kind: str, key: str) -> dict[str, Any]:
        return (self.get(kind, key) or {}).get("status") or {}

    def condition(self, kind: str, key: str, type_: str = "Ready") -> dict[str, Any]:
        for item in self.status(kind, key).get("conditions", []):
            if item["type"] == type_:
                return item
        return {}

    def _api(self, kind: str) -> str:
        return "v1" if kind == "Secret" else GROUP_VERSION

    # -- Metacontroller's part ---------------------------------------------

    def related(self, kind: str, obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
        status, answer = self.hook.post(
            f"/hooks/{kind.lower()}/customize", {"controller": {}, "parent": obj}
        )
        self.calls += 1
        if status != 200:
            raise HookError(status, answer)
        found: dict[str, dict[str, Any]] = {}
        for rule in answer.get("relatedResources", []):
            rkind = PLURALS[rule["resource"]]
            bucket_key = f"{rkind}.{rule['apiVersion']}"
            group = found.setdefault(bucket_key, {})
            for key, candidate in self.objects.get(bucket_key, {}).items():
                meta = candidate["metadata"]
                if rule.get("names") and meta["name"] not in rule["names"]:
                    continue
                namespace = rule.get("namespace")
                if namespace is None and rkind not in CLUSTER_SCOPED:
                    namespace = obj["metadata"].get("namespace")
                if namespace and meta.get("namespace") != namespace:
                    continue
                labels = (rule.get("labelSelector") or {}).get("matchLabels") or {}
                if any(meta.get("labels", {}).get(k) != v for k, v in labels.items()):
                    continue
                group[key] = copy.deepcopy(candidate)
        return found

    def children_of(self, parent: dict[str, Any]) -> dict[str, dict[str, Any]]:
        uid = parent["metadata"]["uid"]
        out: dict[str, dict[str, Any]] = {}
        for bucket_key, bucket in self.objects.items():
            for key, obj in bucket.items():
                if obj["metadata"].get("ownerUid") == uid:
                    out.setdefault(bucket_key, {})[key] = copy.deepcopy(obj)
        return out

    def sync(self, kind: str, key: str) -> dict[str, Any]:
        """One sync (or finalize, for an object being deleted) of one parent."""
        obj = self.get(kind, key)
        if obj is None:
            raise KeyError(f"{kind} {key} does not exist")
        finalizing = "deletionTimestamp" in obj["metadata"]
        body = {
            "controller": {
                "apiVersion": "metacontroller.k8s.io/v1alpha1",
                "kind": "CompositeController",
            },
            "parent": copy.deepcopy(obj),
            "children": self.children_of(obj),
            "related": self.related(kind, obj),
            "finalizing": finalizing,
        }
        route = "finalize" if finalizing else "sync"
        status, answer = self.hook.post(f"/hooks/{kind.lower()}/{route}", body)
        self.calls += 1
        if status != 200:
            raise HookError(status, answer)
        obj["status"] = answer.get("status", {})
        self._reconcile_children(obj, answer.get("children", []))
        if finalizing and answer.get("finalized"):
            del self.objects[group_key(obj)][key]
        return answer

    def _reconcile_children(self, parent: dict[str, Any], desired: list[dict[str, Any]]) -> None:
        """Apply the children a parent answered and delete those it no longer wants.

        As Metacontroller does: a child that exists but belongs to another
        parent (or to none) is not adopted, changed or deleted (creating it
        fails with AlreadyExists); the rest go ahead, then a RuntimeError
        names each one refused, as the failed sync Metacontroller retries.
        """
        uid = parent["metadata"]["uid"]
        keep = set()
        conflicts = []
        for child in desired:
            child = copy.deepcopy(child)
            child["metadata"].setdefault("namespace", parent["metadata"].get("namespace"))
            existing = self.objects.get(group_key(child), {}).get(object_key(child))
            owner = (existing or {}).get("metadata", {}).get("ownerUid")
            if existing is not None and owner != uid:
                conflicts.append(
                    f"{child['kind']} {object_key(child)} already exists and belongs to "
                    + (f"the parent with uid {owner}" if owner else "no parent")
                )
                continue
            child["metadata"]["ownerUid"] = uid
            self.apply(child)
            keep.add((group_key(child), object_key(child)))
        for bucket_key, bucket in self.children_of(parent).items():
            for key in bucket:
                if (bucket_key, key) not in keep:
                    self.delete(self.objects[bucket_key][key]["kind"], key)
        if conflicts:
            raise RuntimeError(
                f"{parent['kind']} {object_key(parent)}: child conflict: " + "; ".join(conflicts)
            )

    def delete(self, kind: str, key: str) -> None:
        """Mark an object deleted; it goes once its finalize answers finalized."""
        obj = self.get(kind, key)
        if obj is not None:
            obj["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"

    def sync_until(
        self,
        kind: str,
        key: str,
        done: Callable[[dict[str, Any] | None], bool],
        timeout: float = 30.0,
    ) -> dict[str, Any] | None:
        """Sync at least once, then until ``done(object)`` holds.

        Waits between syncs as resyncAfterSeconds asks, capped at half a second.
        """
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(kind, key)
            if obj is None and done(obj):
                return obj
            if obj is None or time.monotonic() > deadline:
                raise TimeoutError(
                    f"{kind} {key} did not converge: {json.dumps((obj or {}).get('status'))[:800]}"
                )
            answer = self.sync(kind, key)
            if done(self.get(kind, key)):
                return self.get(kind, key)
            time.sleep(min(float(answer.get("resyncAfterSeconds") or 0.2), 0.5))

    def sync_tree(
        self,
        kind: str,
        key: str,
        done: Callable[[dict[str, Any] | None], bool],
        timeout: float = 60.0,
    ) -> dict[str, Any] | None:
        """Sync a composite, then each of its children, until ``done(parent)`` holds.

        A round syncs the parent (which may add, change or delete children)
        and then every child it owns, finalizing those marked deleted, as
        Metacontroller's separate controllers would between two parent syncs.
        """
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(kind, key)
            if obj is None:
                if done(None):
                    return None
                raise KeyError(f"{kind} {key} does not exist")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{kind} {key} did not converge: {json.dumps(obj.get('status'))[:1500]}"
                )
            self.sync(kind, key)
            if done(self.get(kind, key)):
                return self.get(kind, key)
            for bucket in self.children_of(obj).values():
                for child_key, child in sorted(bucket.items()):
                    if self.get(child["kind"], child_key) is not None:
                        self.sync(child["kind"], child_key)
            time.sleep(0.1)

    def remove(self, kind: str, key: str) -> None:
        """Take an object away at once, as if it was deleted without finalizers."""
        self.objects.get(f"{kind}.{self._api(kind)}", {}).pop(key, None)


def ready(obj: dict[str, Any] | None) -> bool:
    for item in (obj or {}).get("status", {}).get("conditions", []):
        if item["type"] == "Ready":
            return item["status"] == "True"
    return False


def gone(obj: dict[str, Any] | None) -> bool:
    return obj is None


# -- objects -----------------------------------------------------------------


def cluster_object(name: str, bootstrap: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "KafkaCluster",
        "metadata": {"name": name},
        "spec": {"bootstrapServers": bootstrap, **spec},
    }


def credentials_secret(
    name: str, namespace: str, ca_pem: str, cert_pem: str, key_pem: str
) -> dict[str, Any]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"ca.crt": b64(ca_pem), "tls.crt": b64(cert_pem), "tls.key": b64(key_pem)},
    }


# -- serving the hook --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """The hook under gunicorn on loopback, as the Deployment runs it."""

    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve(
    log: Path,
    workers: int = 2,
    threads: int = 4,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Server:
    """Start gunicorn with the repository's config on a free loopback port."""
    port = free_port()
    environment = dict(os.environ)
    environment.update(
        {
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
    )
    environment.update(env or {})
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "ab")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "hooks/gunicorn_conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "hooks.wsgi:app",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=environment, stdout=handle, stderr=subprocess.STDOUT
    )
    server = Server(port, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s; see {log}")
