"""Counting the Kafka requests a librdkafka client sends, from its own statistics.

librdkafka can emit a JSON statistics document every ``statistics.interval.ms``;
each broker entry in it carries ``req``, a running count of the protocol
requests sent to that broker by type (Metadata, DescribeConfigs, CreateTopics,
DescribeAcls, ...). Reading the counts before and after a piece of work gives
the requests that work cost on the wire, whatever the code in between did:
nothing in the hook has to be changed or wrapped to be counted.

The documents reach Python only when the client is polled, and they describe
the moment they were made, so a reading waits a few intervals and keeps the
newest one.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

INTERVAL_MS = 50


class RequestCounter:
    """The request counts of one client; pass ``config()`` into its settings."""

    def __init__(self, interval_ms: int = INTERVAL_MS):
        self.interval_ms = interval_ms
        self._latest: dict[str, int] | None = None
        self._lock = threading.Lock()
        self.client: Any = None

    def config(self) -> dict[str, Any]:
        return {"statistics.interval.ms": self.interval_ms, "stats_cb": self._on_stats}

    def _on_stats(self, raw: str) -> None:
        document = json.loads(raw)
        totals: Counter[str] = Counter()
        for broker in (document.get("brokers") or {}).values():
            totals.update({k: int(v) for k, v in (broker.get("req") or {}).items() if v})
        with self._lock:
            self._latest = dict(totals)

    def read(self) -> dict[str, int]:
        """The counts as of now: waits three intervals, then serves every queued document."""
        if self.client is None:
            raise RuntimeError("attach the client first: counter.client = admin")
        time.sleep(3 * self.interval_ms / 1000)
        deadline = time.monotonic() + 5.0
        with self._lock:
            self._latest = None
        while time.monotonic() < deadline:
            served = self.client.poll(0.01)
            with self._lock:
                if self._latest is not None and not served:
                    return dict(self._latest)
        raise TimeoutError("librdkafka emitted no statistics within 5 s")


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """The requests sent between two readings, by type; types with none are left out."""
    return {
        kind: after.get(kind, 0) - before.get(kind, 0)
        for kind in sorted(set(after) | set(before))
        if after.get(kind, 0) - before.get(kind, 0)
    }


def per_call(counts: dict[str, int], calls: int, ignore: tuple[str, ...] = ()) -> dict[str, float]:
    """Counts divided by the number of calls that made them, without the ``ignore`` types."""
    return {kind: n / calls for kind, n in counts.items() if kind not in ignore}
