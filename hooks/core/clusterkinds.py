"""What each kind of Kafka cluster allows a topic to be.

Plain Apache Kafka lets an operator set any topic config; the MSK kinds
restrict which keys may be set, which only at creation, and which
replication factor a topic has. The rules are data, checked before any call
to Kafka, and a rule that refuses one key leaves the rest of the spec to be
applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .plan import Refusal
from .specs import TopicSpec


@dataclass(frozen=True)
class TopicRules:
    """One cluster kind's rules for topic specs."""

    cluster_type: str
    # Keys that may be set; None allows every key.
    settable: frozenset[str] | None = None
    # Keys that may be given only when the topic is created.
    create_only: frozenset[str] = frozenset()
    # A replication factor the kind always uses, or None.
    fixed_replication_factor: int | None = None
    source: str = ""

    def apply(self, spec: TopicSpec, exists: bool) -> tuple[TopicSpec, tuple[Refusal, ...]]:
        """Return the part of ``spec`` this kind allows and a refusal per rule broken."""
        refusals = []
        kept = []
        for key, value in spec.config:
            if self.settable is not None and key not in self.settable:
                refusals.append(
                    Refusal(
                        "ConfigKeyNotAllowed",
                        f"config {key}: {self.cluster_type} clusters do not allow "
                        f"setting this key{self._cite()}",
                    )
                )
            elif exists and key in self.create_only:
                refusals.append(
                    Refusal(
                        "ConfigKeyCreateOnly",
                        f"config {key}: {self.cluster_type} clusters accept this key "
                        f"only when the topic is created{self._cite()}",
                    )
                )
            else:
                kept.append((key, value))
        rf = spec.replication_factor
        if self.fixed_replication_factor is not None and rf not in (
            None,
            self.fixed_replication_factor,
        ):
            refusals.append(
                Refusal(
                    "ReplicationFactorFixed",
                    f"replicationFactor: {self.cluster_type} clusters always use "
                    f"{self.fixed_replication_factor}, got {rf}{self._cite()}",
                )
            )
            rf = None
        return replace(spec, config=tuple(kept), replication_factor=rf), tuple(refusals)

    def _cite(self) -> str:
        return f" (see {self.source})" if self.source else ""


_RULES = {
    "ApacheKafka": TopicRules("ApacheKafka"),
    # Completed from the MSK documentation by the cluster-kinds work.
    "MskProvisioned": TopicRules("MskProvisioned"),
    "MskServerless": TopicRules("MskServerless"),
    "MskExpress": TopicRules("MskExpress"),
}


def topic_rules(cluster_type: str) -> TopicRules:
    """Return the rules of a cluster kind; unknown kinds get Apache Kafka's."""
    return _RULES.get(cluster_type, _RULES["ApacheKafka"])
