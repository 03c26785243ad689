"""What each kind of Kafka cluster allows a topic to be.

Plain Apache Kafka lets an operator set any topic config; the MSK kinds
restrict which keys may be set, which only at creation, which never, and
which replication factor a topic has. The rules are data, checked before any
call to Kafka, and a rule that refuses one key leaves the rest of the spec to
be applied. Each rule says where it comes from; where the MSK documentation
is silent, the comment says so and the rule is left to the brokers.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    # Keys the kind protects from change, never settable whatever ``settable``
    # says, as (key, where that is documented) pairs.
    protected: tuple[tuple[str, str], ...] = ()
    # Largest integer value of a key, as (key, maximum) pairs.
    maximums: tuple[tuple[str, int], ...] = ()
    # A replication factor the kind always uses, or None.
    fixed_replication_factor: int | None = None
    # Topics the brokers or the service keep for themselves.
    internal_topics: frozenset[str] = frozenset()
    # Where ``settable``, ``create_only``, ``maximums`` and the replication factor come from.
    source: str = ""

    def apply(
        self, spec: TopicSpec, exists: bool, current: Mapping[str, str] | None = None
    ) -> tuple[TopicSpec, tuple[Refusal, ...]]:
        """Return the part of ``spec`` this kind allows and a refusal per rule broken.

        ``current`` holds the existing topic's values; a create-only key that
        already has the desired value is kept as a no-op. Without ``current``,
        every create-only key of an existing topic is refused.
        """
        refusals = []
        kept = []
        for key, value in spec.config:
            problem = self._check(key, value, exists, current)
            if problem is None:
                kept.append((key, value))
            else:
                refusals.append(problem)
        rf = spec.replication_factor
        if self.fixed_replication_factor is not None and rf not in (
            None,
            self.fixed_replication_factor,
        ):
            refusals.append(
                Refusal(
                    "ReplicationFactorFixed",
                    f"replicationFactor: {self.cluster_type} clusters always use "
                    f"{self.fixed_replication_factor}, got {rf}; leave it out or set "
                    f"{self.fixed_replication_factor}{_cite(self.source)}",
                )
            )
            rf = None
        return replace(spec, config=tuple(kept), replication_factor=rf), tuple(refusals)

    def is_internal(self, topic: str) -> bool:
        return topic in self.internal_topics

    def _check(
        self, key: str, value: str, exists: bool, current: Mapping[str, str] | None
    ) -> Refusal | None:
        protected = dict(self.protected)
        if key in protected:
            return Refusal(
                "ConfigKeyProtected",
                f"config {key}: {self.cluster_type} clusters protect this key from change; "
                f"remove it from the spec{_cite(protected[key])}",
            )
        if self.settable is not None and key not in self.settable:
            return Refusal(
                "ConfigKeyNotAllowed",
                f"config {key}: {self.cluster_type} clusters allow only "
                f"{', '.join(sorted(self.settable))}; remove it from the spec"
                f"{_cite(self.source)}",
            )
        if exists and key in self.create_only and (current or {}).get(key) != value:
            return Refusal(
                "ConfigKeyCreateOnly",
                f"config {key}: {self.cluster_type} clusters accept this key only when the "
                f"topic is created, so {value!r} cannot be applied to the existing topic"
                f"{_cite(self.source)}",
            )
        limit = dict(self.maximums).get(key)
        if limit is not None and _above(value, limit):
            return Refusal(
                "ConfigValueTooLarge",
                f"config {key}: {self.cluster_type} clusters allow at most {limit}, "
                f"got {value}{_cite(self.source)}",
            )
        return None


def _above(value: str, limit: int) -> bool:
    try:
        return int(value) > limit
    except ValueError:
        return False  # not an integer: the brokers say what they think of it


def _cite(source: str) -> str:
    return f" (see {source})" if source else ""


# Apache Kafka's own internal topics: the consumer offsets and transaction
# state logs (broker configs offsets.topic.* and transaction.state.log.*) and,
# from Kafka 4.0, the share-group state log (share.coordinator.state.topic.*),
# https://kafka.apache.org/documentation/#brokerconfigs. KafkaTopic refuses
# every name beginning with "__" anyway; these are recorded for the docs.
_KAFKA_INTERNAL = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})

# MSK provisioned clusters carry a canary topic, __amazon_msk_canary, that MSK
# uses to check the cluster. The MSK developer guide pages we could reach do
# not describe it; it shows in topic listings of MSK provisioned clusters.
_MSK_PROVISIONED_INTERNAL = _KAFKA_INTERNAL | {"__amazon_msk_canary"}

# MSK Serverless, from the page "Configuration properties for MSK Serverless
# clusters": a short table of topic properties may be set, and no other topic
# property can be configured. cleanup.policy may be given at topic creation
# only; max.message.bytes goes up to 8388608 (8 MiB); retention.bytes and
# retention.ms have no maximum (-1 means unlimited). A note on the page says
# segment.bytes cannot be changed. The page is silent on the replication
# factor, so none is fixed here and the brokers decide.
_SERVERLESS_SOURCE = "https://docs.aws.amazon.com/msk/latest/developerguide/serverless-config.html"

# MSK Express brokers, from the page "Custom MSK Express broker configurations
# (Read/Write access)", section "Topic-level configurations on Express
# Brokers": a table of topic properties that may be set on new and existing
# topics. MSK guards some topic properties against change, naming the
# replication factor, min.insync.replicas and unclean.leader.election.enable
# as examples, and creates a topic asked for with another replication factor
# with 3 instead. The page names no create-only key and no maximum. Nor does
# it state that unlisted keys are refused; the table is taken as the whole of
# what may be set, so that a spec hears of it before a broker does.
_EXPRESS_SOURCE = (
    "https://docs.aws.amazon.com/msk/latest/developerguide/"
    "msk-configuration-express-read-write.html#msk-configuration-express-topic-configuration"
)
# segment.bytes, from the page "Using Kafka Streams with MSK Express brokers
# and MSK Serverless": both guard the segment size of a topic at creation
# (the page writes segment.size for the segment.bytes it names just before).
_STREAMS_SOURCE = (
    "https://docs.aws.amazon.com/msk/latest/developerguide/"
    "use-kafka-streams-express-brokers-msk-serverless.html"
)

_RULES = {
    "ApacheKafka": TopicRules("ApacheKafka", internal_topics=_KAFKA_INTERNAL),
    # MSK provisioned with Standard brokers: the page "Standard broker
    # configurations" and its subpages put no restriction on topic keys. The
    # tiered-storage limits of "Guidelines for Amazon MSK tiered storage
    # topic-level configuration"
    # (https://docs.aws.amazon.com/msk/latest/developerguide/msk-guidelines-tiered-storage-topic-level-config.html)
    # depend on the cluster's storage mode and on other values of the same
    # topic (local.retention.* below retention.*, segment.bytes at least 48 MiB
    # with remote.storage.enable), which the hook does not know; the brokers
    # enforce them.
    "MskProvisioned": TopicRules("MskProvisioned", internal_topics=_MSK_PROVISIONED_INTERNAL),
    "MskServerless": TopicRules(
        "MskServerless",
        settable=frozenset(
            {
                "cleanup.policy",
                "compression.type",
                "max.message.bytes",
                "message.timestamp.difference.max.ms",
                "message.timestamp.type",
                "retention.bytes",
                "retention.ms",
            }
        ),
        create_only=frozenset({"cleanup.policy"}),
        protected=(("segment.bytes", _SERVERLESS_SOURCE),),
        maximums=(("max.message.bytes", 8388608),),
        # The serverless pages we could reach name no internal topics.
        internal_topics=_KAFKA_INTERNAL,
        source=_SERVERLESS_SOURCE,
    ),
    "MskExpress": TopicRules(
        "MskExpress",
        settable=frozenset(
            {
                "cleanup.policy",
                "compression.type",
                "delete.retention.ms",
                "max.compaction.lag.ms",
                "max.message.bytes",
                "message.timestamp.after.max.ms",
                "message.timestamp.before.max.ms",
                "message.timestamp.type",
                "min.compaction.lag.ms",
                "retention.bytes",
                "retention.ms",
            }
        ),
        protected=(
            ("min.insync.replicas", _EXPRESS_SOURCE),
            ("segment.bytes", _STREAMS_SOURCE),
            ("unclean.leader.election.enable", _EXPRESS_SOURCE),
        ),
        fixed_replication_factor=3,
        # Express brokers are MSK provisioned brokers; see the canary note above.
        internal_topics=_MSK_PROVISIONED_INTERNAL,
        source=_EXPRESS_SOURCE,
    ),
}


def topic_rules(cluster_type: str) -> TopicRules:
    """Return the rules of a cluster kind; unknown kinds get Apache Kafka's."""
    return _RULES.get(cluster_type, _RULES["ApacheKafka"])
