"""Parse object specs into frozen domain values with marshmallow.

Each ``parse_*`` returns the value or raises ``SpecError`` whose message
names every bad field and what was expected, ready for a status condition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from . import canonical, msk

CLUSTER_TYPES = ("ApacheKafka", "MskProvisioned", "MskServerless", "MskExpress")
DELETION_POLICIES = ("Delete", "Orphan")
MSK_ENDPOINTS = ("Private", "Public", "VpcConnectivity")
IP_VERSIONS = ("IPv4", "IPv6")
# How the operator verifies the brokers' certificates: against the Secret's
# ca.crt, or against the public roots the image trusts (MSK's brokers present
# certificates from a public CA).
BROKER_TRUST = ("SecretCA", "PublicRoots")
TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$")

DeletionPolicy = Literal["Delete", "Orphan"]


class SpecError(ValueError):
    """A spec that breaks its schema; the message names each field."""

    def __init__(self, problems: list[str]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _flatten(messages: object, path: str) -> list[str]:
    if isinstance(messages, Mapping):
        out = []
        for key, value in sorted(messages.items(), key=lambda item: str(item[0])):
            if key == "_schema":
                out.extend(_flatten(value, path))
            else:
                out.extend(_flatten(value, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(messages, list):
        return [
            f"{path}: {message.rstrip('.')}" for message in messages if isinstance(message, str)
        ] + [
            line
            for message in messages
            if not isinstance(message, str)
            for line in _flatten(message, path)
        ]
    return [f"{path}: {messages}"]


def _load(schema: Schema, raw: Mapping[str, Any], path: str = "spec") -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise SpecError([f"{path}: expected an object, got {type(raw).__name__}"])
    try:
        return schema.load(dict(raw))
    except ValidationError as error:
        raise SpecError(_flatten(error.messages, path)) from error


def _one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(
        choices, error="expected one of " + ", ".join(choices) + ", got {input!r}"
    )


class _Base(Schema):
    class Meta:
        unknown = "raise"


class _RefSchema(_Base):
    name = fields.String(required=True, validate=validate.Length(min=1, max=253))


class _MskSchema(_Base):
    clusterArn = fields.String(required=True)
    endpoint = fields.String(load_default="Private", validate=_one_of(MSK_ENDPOINTS))
    ipVersion = fields.String(load_default="IPv4", validate=_one_of(IP_VERSIONS))


class _ClusterSchema(_Base):
    bootstrapServers = fields.String()
    msk = fields.Nested(_MskSchema)
    clusterType = fields.String(load_default="ApacheKafka", validate=_one_of(CLUSTER_TYPES))
    ensureOperatorAcls = fields.Boolean(load_default=True)
    defaultCompositionRef = fields.Nested(_RefSchema)
    brokerTrust = fields.String(validate=_one_of(BROKER_TRUST))

    @validates_schema
    def _where(self, data: dict[str, Any], **_: Any) -> None:
        has_servers, has_msk = "bootstrapServers" in data, "msk" in data
        if has_servers == has_msk:
            raise ValidationError(
                "give exactly one of bootstrapServers (host:port,...) or msk.clusterArn"
            )
        if has_servers:
            bad = [
                item
                for item in data["bootstrapServers"].split(",")
                if not _HOST_PORT.match(item.strip())
            ]
            if bad or not data["bootstrapServers"].strip():
                raise ValidationError(
                    f"expected host:port entries separated by commas, got {bad or ['']}",
                    "bootstrapServers",
                )
        if has_msk:
            _check_msk(data["msk"])


def _check_msk(source: dict[str, Any]) -> None:
    """The ARN must name an MSK cluster, and MSK must offer the endpoint over that IP version."""
    problems: dict[str, list[str]] = {}
    try:
        msk.parse_arn(source["clusterArn"])
    except msk.ArnError as error:
        problems["clusterArn"] = [str(error)]
    unsupported = msk.unsupported_endpoint(source["endpoint"], source["ipVersion"])
    if unsupported:
        problems["ipVersion"] = [unsupported]
    if problems:
        raise ValidationError({"msk": problems})


@dataclass(frozen=True)
class MskSource:
    cluster_arn: str
    endpoint: str
    ip_version: str


@dataclass(frozen=True)
class ClusterSpec:
    bootstrap_servers: str | None
    msk: MskSource | None
    cluster_type: str
    ensure_operator_acls: bool
    default_composition: str | None
    broker_trust: str = "SecretCA"


def parse_cluster(raw: Mapping[str, Any]) -> ClusterSpec:
    data = _load(_ClusterSchema(), raw)
    msk = data.get("msk")
    servers = data.get("bootstrapServers")
    return ClusterSpec(
        bootstrap_servers=",".join(s.strip() for s in servers.split(",")) if servers else None,
        msk=MskSource(msk["clusterArn"], msk["endpoint"], msk["ipVersion"]) if msk else None,
        cluster_type=data["clusterType"],
        ensure_operator_acls=data["ensureOperatorAcls"],
        default_composition=(data.get("defaultCompositionRef") or {}).get("name"),
        broker_trust=data.get("brokerTrust") or ("PublicRoots" if msk else "SecretCA"),
    )


class _ConfigValue(fields.Field):
    """A config value: a string, an integer, a decimal or a boolean."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"expected a finite number, got {value!r}")
        if isinstance(value, str):
            no_controls(value)
        if isinstance(value, (str, int, float, bool)):
            return canonical.config_value(value)
        raise ValidationError(f"expected a string, number or boolean, got {type(value).__name__}")


def no_controls(value: str) -> None:
    """Refuse control characters: librdkafka cuts strings at NUL, brokers reject the rest."""
    bad = next((i for i, c in enumerate(value) if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise ValidationError(f"{value!r} has a control character at position {bad}")


def _topic_name(value: str) -> None:
    if not TOPIC_NAME.fullmatch(value) or value in (".", ".."):
        raise ValidationError(
            f"{value!r} is not a Kafka topic name: use 1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'"
        )
    if value.startswith("__"):
        raise ValidationError(
            f"{value!r} begins with '__', which Kafka and MSK keep for internal topics"
        )


class _TopicSchema(_Base):
    clusterRef = fields.Nested(_RefSchema, required=True)
    topicName = fields.String(validate=_topic_name)
    partitions = fields.Integer(strict=True, validate=validate.Range(min=1, max=100000))
    replicationFactor = fields.Integer(strict=True, validate=validate.Range(min=1, max=32767))
    config = fields.Dict(
        keys=fields.String(validate=[validate.Length(min=1), no_controls]), values=_ConfigValue()
    )
    deletionPolicy = fields.String(load_default="Delete", validate=_one_of(DELETION_POLICIES))
    adoptExisting = fields.Boolean(load_default=False)


@dataclass(frozen=True)
class TopicSpec:
    cluster: str
    topic_name: str
    partitions: int | None
    replication_factor: int | None
    config: tuple[tuple[str, str], ...]
    deletion_policy: DeletionPolicy
    adopt_existing: bool

    @property
    def config_map(self) -> dict[str, str]:
        return dict(self.config)


def parse_topic(raw: Mapping[str, Any], default_name: str) -> TopicSpec:
    """Parse a KafkaTopic spec; ``topicName`` defaults to ``default_name``."""
    data = _load(_TopicSchema(), raw)
    name = data.get("topicName", default_name)
    if "topicName" not in data:
        try:
            _topic_name(name)
        except ValidationError as error:
            raise SpecError([f"metadata.name: {error.messages[0]}; set spec.topicName"]) from error
    return TopicSpec(
        cluster=data["clusterRef"]["name"],
        topic_name=name,
        partitions=data.get("partitions"),
        replication_factor=data.get("replicationFactor"),
        config=tuple(sorted((data.get("config") or {}).items())),
        deletion_policy=data["deletionPolicy"],
        adopt_existing=data["adoptExisting"],
    )
