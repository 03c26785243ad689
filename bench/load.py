"""The load driver: Metacontroller's part, at scale, against the hook under gunicorn.

``tools/driver.py`` plays Metacontroller one call at a time for tests. This
module plays it the way it runs in a cluster, so that the time a thousand
resources take to become Ready means something:

- a work queue with client-go's rules: a key waits in the queue once, one
  worker handles it at a time, a key added while it is being handled runs
  again once that worker is done, and ``resyncAfterSeconds`` re-adds it later;
  a 429 (from sync or customize) re-adds it after its Retry-After, any other
  failure after an exponential backoff;
- W workers (Metacontroller's ``--workers``, 5 by default) sharing a pool of
  HTTP connections that keeps at most 2 idle, as Go's default transport does;
- customize answers cached per parent uid and generation, and related objects
  read from the objects held here, as Metacontroller's informers serve them;
- before the first sync the parent gets Metacontroller's finalizer, and a
  returned status is written only when it differs from the stored one (with
  ``observedGeneration`` set); every such write is an API call, may be held
  back by a client-go token bucket (QPS 5, burst 10 if asked to), and,
  as a watch event would, queues the parent again.

A run stops by itself when every resource is Ready or its deadline passes.
The driver only ever talks to a hook on loopback.
"""

from __future__ import annotations

import copy
import heapq
import http.client
import itertools
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tools import driver

GROUP_VERSION = driver.GROUP_VERSION
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
CONTROLLERS = {
    "KafkaCluster": "kafka-access-kafkaclusters",
    "KafkaTopic": "kafka-access-kafkatopics",
    "KafkaACL": "kafka-access-kafkaacls",
    "KafkaAccess": "kafka-access-kafkaaccesses",
}


# -- transports ---------------------------------------------------------------


class Transport(Protocol):
    def post(self, path: str, body: bytes) -> tuple[int, bytes, Mapping[str, str]]: ...

    def close(self) -> None: ...


class HookSession:
    """One keep-alive HTTP connection to a hook on loopback; reconnects when dropped."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 12.0):
        parts = urllib.parse.urlsplit(base_url)
        if parts.hostname not in LOOPBACK:
            raise ValueError(f"the load driver only talks to loopback hooks, not {parts.hostname}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, self._timeout)
            try:
                self._conn.request("POST", path, body, self._headers)
                response = self._conn.getresponse()
                return response.status, response.read(), dict(response.getheaders())
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle connection; one fresh try.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class HookPool:
    """Go's default HTTP transport toward one hook, as Metacontroller's webhook clients use it.

    Shared by all workers: a call takes an idle connection or opens a new one,
    and afterwards at most ``max_idle`` connections are kept (Go's
    MaxIdleConnsPerHost, 2); the rest are closed. So with more workers than
    that, connections come and go, and each new one lands on whichever
    gunicorn worker accepts it.
    """

    def __init__(
        self, base_url: str, token: str | None = None, timeout: float = 12.0, max_idle: int = 2
    ):
        HookSession(base_url, token, timeout)  # checks the address
        self._args = (base_url, token, timeout)
        self._max_idle = max_idle
        self._idle: list[HookSession] = []
        self._lock = threading.Lock()
        self.opened = 0

    def post(self, path: str, body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        with self._lock:
            session = self._idle.pop() if self._idle else None
            if session is None:
                self.opened += 1
        session = session or HookSession(*self._args)
        try:
            answer = session.post(path, body)
        except BaseException:
            session.close()
            raise
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(session)
                session = None
        if session is not None:
            session.close()
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()


class FlaskTransport:
    """Calls a Flask app in this process, for counting and profiling without HTTP."""

    def __init__(self, app: Any, token: str | None = None):
        self._client = app.test_client()
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def post(self, path: str, body: bytes) -> tuple[int, bytes, Mapping[str, str]]:
        response = self._client.post(
            path, data=body, content_type="application/json", headers=self._headers
        )
        return response.status_code, response.get_data(), dict(response.headers)

    def close(self) -> None:
        return None


# -- the API server's part ----------------------------------------------------


class Store:
    """The objects the informers hold, by ``Kind.group/version`` and key, shared by workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._uids = itertools.count(1)
        self._versions = itertools.count(1)
        self._children: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def apply(self, obj: Mapping[str, Any]) -> str:
        """Create an object (or replace its spec); returns its key."""
        obj = copy.deepcopy(dict(obj))
        meta = obj.setdefault("metadata", {})
        group, key = driver.group_key(obj), driver.object_key(obj)
        with self._lock:
            bucket = self._objects.setdefault(group, {})
            old = bucket.get(key)
            if old is None:
                meta.setdefault("uid", f"bench-uid-{next(self._uids)}")
                meta.setdefault("generation", 1)
                meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            else:
                old_meta = old["metadata"]
                meta["uid"] = old_meta["uid"]
                meta["generation"] = old_meta["generation"] + (old.get("spec") != obj.get("spec"))
                obj.setdefault("status", old.get("status"))
            meta["resourceVersion"] = str(next(self._versions))
            bucket[key] = obj
        return key

    def get(self, group: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.get(group, {}).get(key)

    def snapshot(self, group: str, key: str) -> bytes | None:
        """The object as JSON, as a watch would have delivered it."""
        with self._lock:
            obj = self._objects.get(group, {}).get(key)
            return None if obj is None else json.dumps(obj).encode()

    def keys(self, group: str) -> list[str]:
        with self._lock:
            return sorted(self._objects.get(group, {}))

    def remove(self, group: str, keys: Iterable[str]) -> None:
        with self._lock:
            bucket = self._objects.get(group, {})
            for key in keys:
                bucket.pop(key, None)

    def children(self, group: str, key: str) -> dict[str, dict[str, Any]]:
        """The observed children of a parent, as the v2 ``children`` map."""
        with self._lock:
            return self._children.get((group, key), {})

    def set_children(self, group: str, key: str, desired: Iterable[Mapping[str, Any]]) -> None:
        """Take a sync's children as created: the next sync observes exactly these."""
        namespace = key.split("/", 1)[0] if "/" in key else None
        observed: dict[str, dict[str, Any]] = {}
        for child in desired:
            child = copy.deepcopy(dict(child))
            child["metadata"].setdefault("namespace", namespace)
            observed.setdefault(driver.group_key(child), {})[driver.object_key(child)] = child
        with self._lock:
            self._children[(group, key)] = observed

    def add_finalizer(self, group: str, key: str, name: str) -> bool:
        """Add ``name`` to metadata.finalizers; True if that changed the object."""
        with self._lock:
            obj = self._objects[group][key]
            finalizers = obj["metadata"].setdefault("finalizers", [])
            if name in finalizers:
                return False
            finalizers.append(name)
            obj["metadata"]["resourceVersion"] = str(next(self._versions))
            return True

    def write_status(self, group: str, key: str, status: dict[str, Any]) -> bool:
        """Replace the status unless it is equal; True if that changed the object."""
        with self._lock:
            obj = self._objects[group][key]
            status["observedGeneration"] = obj["metadata"]["generation"]
            if obj.get("status") == status:
                return False
            obj["status"] = status
            obj["metadata"]["resourceVersion"] = str(next(self._versions))
            return True

    def related(self, rules: Iterable[Mapping[str, Any]], parent: Mapping[str, Any]) -> dict:
        """What the rules of a customize answer select, as the v2 ``related`` map."""
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for rule in rules:
                kind = driver.PLURALS[rule["resource"]]
                group = f"{kind}.{rule['apiVersion']}"
                selected = found.setdefault(group, {})
                namespace = rule.get("namespace")
                if namespace is None and kind not in driver.CLUSTER_SCOPED:
                    namespace = parent["metadata"].get("namespace")
                names = rule.get("names")
                labels = (rule.get("labelSelector") or {}).get("matchLabels") or {}
                for key, candidate in self._objects.get(group, {}).items():
                    meta = candidate["metadata"]
                    if names and meta["name"] not in names:
                        continue
                    if namespace and meta.get("namespace") != namespace:
                        continue
                    if any(meta.get("labels", {}).get(k) != v for k, v in labels.items()):
                        continue
                    selected[key] = candidate
        return found


# -- Metacontroller's queue and rate limiter ----------------------------------


class WorkQueue:
    """client-go's work queue: deduplicated, one worker per key, delayed adds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: list[str] = []
        self._head = 0
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._delayed: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._seq = itertools.count()
        self._closed = False

    def add(self, key: str) -> None:
        with self._cond:
            self._add(key)

    def _add(self, key: str) -> None:
        if self._closed or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds; an earlier pending time for it wins."""
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            due = self._clock() + delay
            if self._due.get(key, float("inf")) <= due:
                return
            self._due[key] = due
            heapq.heappush(self._delayed, (due, next(self._seq), key))
            self._cond.notify_all()

    def get(self, timeout: float) -> str | None:
        """The next key to handle, or None after ``timeout`` seconds or once closed."""
        end = self._clock() + timeout
        with self._cond:
            while True:
                now = self._clock()
                self._promote(now)
                if self._head < len(self._queue):
                    key = self._queue[self._head]
                    self._head += 1
                    if self._head > 4096:
                        del self._queue[: self._head]
                        self._head = 0
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                if self._closed or now >= end:
                    return None
                wait = end - now
                if self._delayed:
                    wait = min(wait, self._delayed[0][0] - now)
                self._cond.wait(max(wait, 0.0005))

    def _promote(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            due, _, key = heapq.heappop(self._delayed)
            if self._due.get(key) == due:
                del self._due[key]
                self._add(key)

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class TokenBucket:
    """client-go's token bucket: ``qps`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.qps, self.burst = qps, burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Take one token, sleeping until it is there; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.qps)
            self._stamp = now
            self._tokens -= 1
            delay = -self._tokens / self.qps if self._tokens < 0 else 0.0
        if delay:
            time.sleep(delay)
        return delay


# -- the run ------------------------------------------------------------------


class Overloaded(RuntimeError):
    """The hook answered 429; Metacontroller tries the parent again after ``retry_after``."""

    def __init__(self, hook: str, retry_after: float):
        self.hook, self.retry_after = hook, retry_after
        super().__init__(f"the {hook} hook answered 429; retry after {retry_after:g} s")


@dataclass
class RunResult:
    """What one run of the driver saw. Times are seconds since the run started."""

    kind: str
    count: int
    workers: int
    seconds: float  # until every resource was Ready, or until the deadline
    converged: bool
    ready_at: dict[str, float]
    syncs: int
    customize_calls: int
    api_writes: int
    throttled_seconds: float
    errors: dict[str, int] = field(default_factory=dict)
    not_ready: dict[str, str] = field(default_factory=dict)  # key -> last Ready reason

    def timeline(self) -> list[float]:
        return sorted(self.ready_at.values())

    def summary(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("ready_at", "not_ready")}
        data["not_ready"] = dict(itertools.islice(self.not_ready.items(), 5))
        return data


@dataclass
class SyncCall:
    status: int
    seconds: float  # the HTTP round trip only
    answer: Any
    headers: Mapping[str, str]
    wrote: bool = False


def ready_reason(obj: Mapping[str, Any] | None) -> tuple[bool, str]:
    for item in ((obj or {}).get("status") or {}).get("conditions") or ():
        if item.get("type") == "Ready":
            return item.get("status") == "True", str(item.get("reason", ""))
    return False, "NoStatus"


class Metacontroller:
    """Syncs parents of one kind through a hook as Metacontroller's parent controller does."""

    def __init__(
        self,
        store: Store,
        connect: Callable[[], Transport],
        workers: int = 5,
        api_qps: float | None = None,
        api_burst: int = 10,
    ):
        self.store = store
        self.connect = connect
        self.workers = workers
        self.bucket = TokenBucket(api_qps, api_burst) if api_qps else None
        self._rules: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    # -- one parent ------------------------------------------------------

    def _write(self) -> None:
        if self.bucket is not None:
            slept = self.bucket.wait()
            with self._lock:
                self.counts["throttled_ms"] += int(slept * 1000)
        with self._lock:
            self.counts["api_writes"] += 1

    def customize(self, transport: Transport, kind: str, parent: Mapping[str, Any]) -> list:
        meta = parent["metadata"]
        cache_key = (meta["uid"], meta["generation"])
        with self._lock:
            rules = self._rules.get(cache_key)
        if rules is not None:
            return rules
        body = {"controller": self.controller(kind), "parent": parent}
        status, raw, headers = transport.post(
            f"/hooks/{kind.lower()}/customize", json.dumps(body).encode()
        )
        if status == 429:
            raise Overloaded("customize", float(headers.get("Retry-After", "1")))
        if status != 200:
            raise driver.HookError(status, raw[:500])
        rules = json.loads(raw).get("relatedResources") or []
        with self._lock:
            self._rules[cache_key] = rules
            self.counts["customize_calls"] += 1
        return rules

    @staticmethod
    def controller(kind: str) -> dict[str, Any]:
        plural = next(p for p, k in driver.PLURALS.items() if k == kind)
        return {
            "apiVersion": "metacontroller.k8s.io/v1alpha1",
            "kind": "CompositeController",
            "metadata": {"name": CONTROLLERS.get(kind, plural)},
            "spec": {
                "parentResource": {"apiVersion": GROUP_VERSION, "resource": plural},
                "generateSelector": True,
                "resyncPeriodSeconds": 60,
            },
        }

    def request(self, transport: Transport, kind: str, key: str) -> tuple[bytes, bool]:
        """The body of the next sync of one parent, and whether building it wrote to the API.

        The first time, Metacontroller's finalizer is added (an API write).
        """
        group = f"{kind}.{GROUP_VERSION}"
        wrote = False
        finalizer = f"metacontroller.io/compositecontroller-{CONTROLLERS.get(kind, kind)}"
        if self.store.add_finalizer(group, key, finalizer):
            self._write()
            wrote = True
        raw_parent = self.store.snapshot(group, key)
        if raw_parent is None:
            raise KeyError(f"{kind} {key} does not exist")
        parent = json.loads(raw_parent)
        rules = self.customize(transport, kind, parent)
        related = self.store.related(rules, parent)
        body = json.dumps(
            {
                "controller": self.controller(kind),
                "parent": parent,
                "children": self.store.children(group, key),
                "related": related,
                "finalizing": False,
            }
        ).encode()
        return body, wrote

    def sync(self, transport: Transport, kind: str, key: str) -> SyncCall:
        """One sync of one parent; writes the finalizer and the status back as Metacontroller."""
        group = f"{kind}.{GROUP_VERSION}"
        body, wrote = self.request(transport, kind, key)
        started = time.perf_counter()
        status, raw, headers = transport.post(f"/hooks/{kind.lower()}/sync", body)
        seconds = time.perf_counter() - started
        answer = json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode(errors="replace")
        with self._lock:
            self.counts["syncs"] += 1
        if status == 200 and isinstance(answer, dict):
            if answer.get("children") or self.store.children(group, key):
                self.store.set_children(group, key, answer.get("children") or ())
            if self.store.write_status(group, key, dict(answer.get("status") or {})):
                self._write()
                wrote = True
        return SyncCall(status, seconds, answer, headers, wrote)

    # -- many parents ----------------------------------------------------

    def run(
        self,
        kind: str,
        keys: Iterable[str],
        deadline: float,
        on_ready: Callable[[str, float], None] | None = None,
    ) -> RunResult:
        """Queue every key at once, as a fresh informer list does, and work until all are Ready."""
        keys = list(keys)
        group = f"{kind}.{GROUP_VERSION}"
        queue = WorkQueue()
        ready_at: dict[str, float] = {}
        errors: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        lock = threading.Lock()
        finished = threading.Event()
        before = Counter(self.counts)
        started = time.monotonic()

        def handle(transport: Transport, key: str) -> None:
            try:
                call = self.sync(transport, kind, key)
            except Overloaded as error:  # from the customize hook, treated like a sync's 429
                call = SyncCall(429, 0.0, "customize", {"Retry-After": str(error.retry_after)})
            except Exception as error:  # a dropped connection, a timeout: retry later
                call = SyncCall(0, 0.0, type(error).__name__, {})
            now = time.monotonic() - started
            if call.status == 200:
                with lock:
                    failures.pop(key, None)
                    if key not in ready_at and ready_reason(self.store.get(group, key))[0]:
                        ready_at[key] = now
                        if on_ready:
                            on_ready(key, now)
                        if len(ready_at) == len(keys):
                            finished.set()
                if call.wrote:
                    queue.add(key)  # the watch event of our own write
                answer = call.answer if isinstance(call.answer, dict) else {}
                resync = answer.get("resyncAfterSeconds")
                if resync:
                    queue.add_after(key, float(resync))
                return
            with lock:
                label = f"{call.status} from customize" if call.answer == "customize" else None
                errors[label or str(call.status or call.answer)] += 1
                failures[key] += 1
                attempt = failures[key]
            if call.status == 429:
                queue.add_after(key, float(call.headers.get("Retry-After", "1")))
            else:  # client-go's per-item exponential backoff, 5 ms doubling
                queue.add_after(key, min(0.005 * 2 ** (attempt - 1), 60.0))

        def work() -> None:
            transport = self.connect()
            try:
                while not finished.is_set():
                    key = queue.get(timeout=0.05)
                    if key is None:
                        continue
                    try:
                        handle(transport, key)
                    finally:
                        queue.done(key)
            finally:
                transport.close()

        if not keys:
            finished.set()
        for key in keys:
            queue.add(key)
        threads = [
            threading.Thread(target=work, name=f"mc-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        converged = finished.wait(timeout=max(deadline, 0.0))
        seconds = max(ready_at.values(), default=0.0) if converged else time.monotonic() - started
        finished.set()
        queue.close()
        for thread in threads:
            thread.join(timeout=15)
        spent = self.counts - before
        not_ready = {
            key: ready_reason(self.store.get(group, key))[1] for key in keys if key not in ready_at
        }
        return RunResult(
            kind=kind,
            count=len(keys),
            workers=self.workers,
            seconds=seconds,
            converged=bool(converged),
            ready_at=ready_at,
            syncs=spent["syncs"],
            customize_calls=spent["customize_calls"],
            api_writes=spent["api_writes"],
            throttled_seconds=spent["throttled_ms"] / 1000,
            errors=dict(errors),
            not_ready=not_ready,
        )


# -- objects ------------------------------------------------------------------


def topic_object(
    name: str,
    namespace: str,
    topic_name: str,
    partitions: int = 1,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "KafkaTopic",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "clusterRef": {"name": "local"},
            "topicName": topic_name,
            "partitions": partitions,
            "replicationFactor": replication_factor,
            "config": dict(config or {}),
            "deletionPolicy": "Delete",
        },
    }


def acl_object(
    name: str, namespace: str, principal: str, topic_name: str, operations: Iterable[str]
) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "KafkaACL",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "clusterRef": {"name": "local"},
            "principal": principal,
            "host": "*",
            "resource": {"type": "Topic", "name": topic_name, "patternType": "Literal"},
            "operations": list(operations),
            "permission": "Allow",
            "deletionPolicy": "Delete",
        },
    }
