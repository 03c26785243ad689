"""Prometheus metrics of the hooks, one registry per app."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "kafka_access_hook_calls",
            "Hook calls by kind, hook and outcome.",
            ["kind", "hook", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kafka_access_hook_seconds",
            "Hook latency by kind and hook.",
            ["kind", "hook"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.changes = Counter(
            "kafka_access_changes_applied",
            "Changes applied to Kafka by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.kafka_errors = Counter(
            "kafka_access_kafka_errors",
            "Kafka errors by kind and reason.",
            ["kind", "reason"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """Prometheus text; across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
