"""KafkaCluster: where the brokers are and who the operator is.

``connection`` turns the related objects a hook received (the KafkaCluster
and its credentials Secret) into the settings the shell connects with, or a
refusal that says which object is missing or wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import conditions as cond
from .plan import Refusal
from .principal import PrincipalError, from_certificate
from .request import API_VERSION, SyncRequest, secret_data
from .specs import ClusterSpec, SpecError, parse_cluster

CLUSTER_KEY = f"KafkaCluster.{API_VERSION}"
SECRET_KEY = "Secret.v1"
CREDENTIAL_KEYS = ("ca.crt", "tls.crt", "tls.key")


@dataclass(frozen=True)
class Connection:
    """How to reach one cluster as the operator. The key never shows in repr."""

    cluster: str
    bootstrap_servers: str
    cluster_type: str
    ensure_operator_acls: bool
    ca_pem: str = field(repr=False)
    cert_pem: str = field(repr=False)
    key_pem: str = field(repr=False)
    operator_principal: str = ""
    # Empty ``ca_pem`` means: verify the brokers against the public roots.


@dataclass(frozen=True)
class ClusterInfo:
    """What the brokers report about themselves."""

    cluster_id: str
    broker_count: int
    controller_id: int | None


def related_rules(cluster: str, operator_namespace: str) -> list[dict[str, Any]]:
    """The related objects a hook of a resource on ``cluster`` needs."""
    return [
        {"apiVersion": API_VERSION, "resource": "kafkaclusters", "names": [cluster]},
        {
            "apiVersion": "v1",
            "resource": "secrets",
            "namespace": operator_namespace,
            "names": [cluster],
        },
    ]


def credentials(
    secret: Mapping[str, Any] | None, where: str, need_ca: bool = True
) -> tuple[dict[str, str], Refusal | None]:
    """Read the operator's PEM credentials from a Secret, or say what is wrong.

    ``ca.crt`` may be missing only when ``need_ca`` is false (brokers verified
    against public roots).
    """
    if secret is None:
        return {}, Refusal(
            "CredentialsNotFound",
            f"Secret {where} with keys ca.crt, tls.crt and tls.key was not found",
        )
    try:
        data = secret_data(secret, CREDENTIAL_KEYS)
    except ValueError as error:
        return {}, Refusal("CredentialsInvalid", f"Secret {where}: {error}")
    required = CREDENTIAL_KEYS if need_ca else ("tls.crt", "tls.key")
    missing = [key for key in required if key not in data]
    if missing:
        return {}, Refusal(
            "CredentialsInvalid", f"Secret {where} lacks the key(s) {', '.join(missing)}"
        )
    return data, None


def operator_principal(cert_pem: str) -> str | None:
    try:
        return from_certificate(cert_pem)
    except PrincipalError:
        return None


def connection(request: SyncRequest, cluster: str, operator_namespace: str) -> Connection | Refusal:
    """Build the operator's connection to ``cluster`` from related objects."""
    obj = request.related_object(CLUSTER_KEY, cluster)
    if obj is None:
        return Refusal("ClusterNotFound", f"KafkaCluster {cluster} was not found")
    try:
        spec = parse_cluster(obj.get("spec") or {})
    except SpecError as error:
        return Refusal("ClusterInvalid", f"KafkaCluster {cluster} is invalid: {error}")
    servers = bootstrap_servers(spec, obj.get("status") or {})
    if servers is None:
        return Refusal(
            "ClusterNotResolved",
            f"KafkaCluster {cluster} has not resolved its MSK bootstrap servers yet",
        )
    where = f"{operator_namespace}/{cluster}"
    return connect(cluster, spec, servers, request.related_object(SECRET_KEY, where), where)


def connect(
    cluster: str, spec: ClusterSpec, servers: str, secret: Mapping[str, Any] | None, where: str
) -> Connection | Refusal:
    """Combine a cluster's spec, its servers and its credentials Secret."""
    public = spec.broker_trust == "PublicRoots"
    data, problem = credentials(secret, where, need_ca=not public)
    if problem is not None:
        return problem
    principal = operator_principal(data["tls.crt"])
    if principal is None:
        return Refusal("CredentialsInvalid", f"Secret {where}: tls.crt is not a PEM certificate")
    return Connection(
        cluster=cluster,
        bootstrap_servers=servers,
        cluster_type=spec.cluster_type,
        ensure_operator_acls=spec.ensure_operator_acls,
        ca_pem="" if public else data["ca.crt"],
        cert_pem=data["tls.crt"],
        key_pem=data["tls.key"],
        operator_principal=principal,
    )


def bootstrap_servers(spec: ClusterSpec, status: Mapping[str, Any]) -> str | None:
    """The servers to dial: the spec's, or those an MSK lookup put in status."""
    if spec.bootstrap_servers:
        return spec.bootstrap_servers
    found = status.get("bootstrapServers")
    return found if isinstance(found, str) and found else None


def cluster_status(
    info: ClusterInfo | None,
    problem: Refusal | None,
    principal: str | None,
    servers: str | None,
) -> tuple[dict[str, Any], list[cond.Condition]]:
    """Status fields and conditions of a KafkaCluster."""
    fields: dict[str, Any] = {}
    if servers:
        fields["bootstrapServers"] = servers
    if principal:
        fields["operatorPrincipal"] = principal
    if info is not None and problem is None:
        fields.update(clusterId=info.cluster_id, brokerCount=info.broker_count)
        if info.controller_id is not None:
            fields["controllerId"] = info.controller_id
        message = f"{info.broker_count} broker(s) answer the operator's certificate"
        return fields, [cond.ready("Reachable", message), cond.synced()]
    assert problem is not None
    return fields, [
        cond.not_ready(problem.reason, problem.message),
        cond.not_synced(problem.reason, problem.message),
    ]
