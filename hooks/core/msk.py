"""What the hook decides about an MSK cluster named by ARN.

The shell asks the MSK API (DescribeClusterV2, GetBootstrapBrokers) and
hands the answers in as plain dicts; this module parses the ARN, tells the
cluster's kind and whether it serves clients, and picks the TLS bootstrap
string for the endpoint and IP version a KafkaCluster asked for. Every
refusal says what to fix.

Field names follow the MSK API reference (GetBootstrapBrokers,
https://docs.aws.amazon.com/msk/1.0/apireference/clusters-clusterarn-bootstrap-brokers.html;
DescribeClusterV2, https://docs.aws.amazon.com/MSK/2.0/APIReference/v2-clusters-clusterarn.html)
as botocore 1.43.11 models them (service ``kafka``, API version 2018-11-14).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .plan import Refusal

# arn:<partition>:kafka:<region>:<account>:cluster/<name>/<cluster id>.
# Cluster names are 1 to 64 characters (CreateClusterV2's ClusterName); the
# last segment is MSK's id for the cluster, a UUID with a suffix such as "-2".
_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kafka:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):"
    r"(?P<account>\d{12}):cluster/(?P<name>[A-Za-z0-9-]{1,64})/(?P<cluster_id>[A-Za-z0-9-]+)$"
)
ARN_FORM = "arn:aws:kafka:<region>:<12-digit account>:cluster/<name>/<cluster id>"


class ArnError(ValueError):
    """A string that is not an MSK cluster ARN; the message says why."""


@dataclass(frozen=True)
class ClusterArn:
    partition: str
    region: str
    account: str
    name: str
    cluster_id: str

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:kafka:{self.region}:{self.account}:"
            f"cluster/{self.name}/{self.cluster_id}"
        )


def parse_arn(text: object) -> ClusterArn:
    """Split an MSK cluster ARN into its parts, or raise ``ArnError`` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ArnError(f"expected an MSK cluster ARN of the form {ARN_FORM}, got {text!r}")
    found = _ARN.match(text.strip())
    if found:
        return ClusterArn(**found.groupdict())
    parts = text.strip().split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] != "kafka":
        hint = f"it names the {parts[2]!r} service, not MSK ('kafka')"
    elif len(parts) == 6 and "/" in parts[5] and not parts[5].startswith("cluster/"):
        hint = f"it names an MSK {parts[5].split('/', 1)[0]!r}, not a cluster"
    elif len(parts) == 6 and parts[5].count("/") != 2:
        hint = f"the resource part must be cluster/<name>/<cluster id>, not {parts[5]!r}"
    else:
        hint = "copy it from the MSK console or `aws kafka list-clusters-v2`"
    raise ArnError(f"expected an MSK cluster ARN of the form {ARN_FORM}, got {text!r}: {hint}")


# -- bootstrap strings -------------------------------------------------------

# The GetBootstrapBrokers field holding the TLS string for each endpoint and
# IP version. The API has an IPv6 TLS string only for the private endpoint
# (BootstrapBrokerStringTlsIpv6, for dual-stack clusters, see "Configure
# dual-stack network type for an Amazon MSK cluster",
# https://docs.aws.amazon.com/msk/latest/developerguide/mskp-choose-cluster-network-type.html);
# there is no Public or VpcConnectivity IPv6 field in the API model.
TLS_FIELDS: dict[tuple[str, str], str] = {
    ("Private", "IPv4"): "BootstrapBrokerStringTls",
    ("Private", "IPv6"): "BootstrapBrokerStringTlsIpv6",
    ("Public", "IPv4"): "BootstrapBrokerStringPublicTls",
    ("VpcConnectivity", "IPv4"): "BootstrapBrokerStringVpcConnectivityTls",
}

# The other strings an answer may carry, named for a message saying what the
# cluster offers instead of TLS.
_OTHER_FIELDS: dict[str, str] = {
    "BootstrapBrokerString": "plaintext",
    "BootstrapBrokerStringIpv6": "plaintext over IPv6",
    "BootstrapBrokerStringSaslIam": "SASL/IAM",
    "BootstrapBrokerStringSaslIamIpv6": "SASL/IAM over IPv6",
    "BootstrapBrokerStringSaslScram": "SASL/SCRAM",
    "BootstrapBrokerStringSaslScramIpv6": "SASL/SCRAM over IPv6",
    "BootstrapBrokerStringPublicSaslIam": "public SASL/IAM",
    "BootstrapBrokerStringPublicSaslScram": "public SASL/SCRAM",
    "BootstrapBrokerStringVpcConnectivitySaslIam": "VPC connectivity SASL/IAM",
    "BootstrapBrokerStringVpcConnectivitySaslScram": "VPC connectivity SASL/SCRAM",
}


# What to turn on for the cluster to get a TLS string on each endpoint.
_TURN_ON: dict[tuple[str, str], str] = {
    ("Private", "IPv4"): "turn on TLS encryption between clients and brokers",
    ("Private", "IPv6"): "update the cluster's network type to dual-stack",
    ("Public", "IPv4"): "turn on public access for the cluster",
    ("VpcConnectivity", "IPv4"): (
        "turn on multi-VPC private connectivity with TLS client authentication"
    ),
}


def unsupported_endpoint(endpoint: str, ip_version: str) -> str | None:
    """Why MSK cannot offer this endpoint and IP version together, or None if it can."""
    if (endpoint, ip_version) in TLS_FIELDS:
        return None
    offered = sorted(e for e, ip in TLS_FIELDS if ip == ip_version)
    return (
        f"MSK offers {ip_version} bootstrap brokers only on the "
        f"{' and '.join(offered)} endpoint, not on {endpoint}; "
        f"use endpoint {offered[0]} or ipVersion IPv4"
    )


def tls_endpoints(answer: Mapping[str, Any]) -> list[str]:
    """The endpoint/IP pairs the answer has a TLS string for, as 'Private/IPv4' and so on."""
    return [f"{e}/{ip}" for (e, ip), name in TLS_FIELDS.items() if _present(answer, name)]


def choose_bootstrap(
    answer: Mapping[str, Any], endpoint: str, ip_version: str, where: str, kind: str = ""
) -> str | Refusal:
    """The TLS bootstrap string for the endpoint and IP version, or why there is none.

    ``kind`` (a clusterType) only sharpens the message when there is no TLS string.
    """
    problem = unsupported_endpoint(endpoint, ip_version)
    if problem:
        return Refusal("MskEndpointUnsupported", f"MSK cluster {where}: {problem}")
    chosen = answer.get(TLS_FIELDS[(endpoint, ip_version)])
    if _present(answer, TLS_FIELDS[(endpoint, ip_version)]):
        return ",".join(item.strip() for item in str(chosen).split(",") if item.strip())
    have = tls_endpoints(answer)
    others = [label for name, label in _OTHER_FIELDS.items() if _present(answer, name)]
    if kind == "MskServerless":
        # Every MSK Serverless cluster uses IAM access control, from the page
        # "What is MSK Serverless?",
        # https://docs.aws.amazon.com/msk/latest/developerguide/serverless.html.
        fix = (
            "MSK Serverless clusters accept only IAM access control, and kafka-access "
            "authenticates with mutual TLS; use an MSK provisioned cluster"
        )
    elif have:
        fix = (
            f"it has TLS listeners for {', '.join(have)}; set spec.msk.endpoint and "
            f"spec.msk.ipVersion to one of those, or {_TURN_ON[(endpoint, ip_version)]}"
        )
    elif others:
        fix = (
            f"it offers only {', '.join(others)}; turn on TLS client authentication "
            "(mutual TLS) for the cluster, which kafka-access authenticates with"
        )
    else:
        fix = "it returned no bootstrap brokers at all; check that the cluster has brokers"
    return Refusal(
        "MskNoTlsListener",
        f"MSK cluster {where} has no TLS listener for endpoint {endpoint} over {ip_version}: {fix}",
    )


def _present(answer: Mapping[str, Any], name: str) -> bool:
    value = answer.get(name)
    return isinstance(value, str) and bool(value.strip())


# -- the cluster itself ------------------------------------------------------

# States in which clients can produce and consume, from "Understand MSK
# Provisioned cluster states",
# https://docs.aws.amazon.com/msk/latest/developerguide/msk-cluster-states.html:
# ACTIVE, and HEALING, MAINTENANCE, REBOOTING_BROKER and UPDATING, during
# which the page says producing and consuming go on. CREATING means wait;
# DELETING and FAILED mean the cluster cannot be used.
SERVING_STATES = frozenset({"ACTIVE", "HEALING", "MAINTENANCE", "REBOOTING_BROKER", "UPDATING"})

# Express broker sizes are named express.m7g.*, Standard ones kafka.*, from
# "Amazon MSK broker sizes",
# https://docs.aws.amazon.com/msk/latest/developerguide/broker-instance-sizes.html.
EXPRESS_PREFIX = "express."


@dataclass(frozen=True)
class MskCluster:
    """What DescribeClusterV2 says about a cluster, reduced to what the hook uses."""

    arn: str
    state: str
    kind: str  # MskProvisioned, MskServerless or MskExpress
    broker_type: str | None

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> MskCluster:
        """Read a DescribeClusterV2 answer; missing fields read as empty."""
        info = answer.get("ClusterInfo") or {}
        provisioned = info.get("Provisioned") or {}
        broker_type = (provisioned.get("BrokerNodeGroupInfo") or {}).get("InstanceType")
        return cls(
            arn=str(info.get("ClusterArn") or ""),
            state=str(info.get("State") or "UNKNOWN"),
            kind=cluster_kind(str(info.get("ClusterType") or ""), broker_type),
            broker_type=broker_type if isinstance(broker_type, str) else None,
        )


def cluster_kind(cluster_type: str, broker_type: object) -> str:
    """The KafkaCluster clusterType matching an MSK ClusterType and broker size."""
    if cluster_type == "SERVERLESS":
        return "MskServerless"
    if isinstance(broker_type, str) and broker_type.startswith(EXPRESS_PREFIX):
        return "MskExpress"
    return "MskProvisioned"


def check_cluster(cluster: MskCluster, declared_type: str | None, where: str) -> Refusal | None:
    """A refusal if the cluster serves no clients or is not the kind the spec declares."""
    if cluster.state not in SERVING_STATES:
        wait = (
            "wait until MSK reports it ACTIVE"
            if cluster.state == "CREATING"
            else "point spec.msk.clusterArn at a cluster that is ACTIVE"
        )
        return Refusal(
            "MskClusterNotActive",
            f"MSK cluster {where} is {cluster.state}, not ACTIVE, and serves no clients; {wait}",
        )
    if declared_type is not None and declared_type != cluster.kind:
        detail = f" (broker type {cluster.broker_type})" if cluster.broker_type else ""
        return Refusal(
            "MskClusterTypeMismatch",
            f"spec.clusterType is {declared_type}, but MSK cluster {where} is "
            f"{cluster.kind}{detail}; set spec.clusterType: {cluster.kind} so that "
            "topics follow that kind's rules",
        )
    return None
