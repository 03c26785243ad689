"""KafkaCluster hooks: ask for the credentials, report whether the brokers answer."""

from __future__ import annotations

from typing import Any

from ..core import cluster as clusters
from ..core.plan import Refusal
from ..core.request import Parent, SyncRequest
from ..core.specs import SpecError, parse_cluster
from ..errors import KafkaAccessError
from .common import RESYNC_ERROR, RESYNC_HEALTHY, Env, answer

KIND = "KafkaCluster"


def customize(parent: Parent, env: Env) -> dict[str, Any]:
    rule = {
        "apiVersion": "v1",
        "resource": "secrets",
        "namespace": env.operator_namespace,
        "names": [parent.name],
    }
    return {"relatedResources": [rule]}


def sync(request: SyncRequest, env: Env) -> dict[str, Any]:
    parent, now = request.parent, env.clock()
    if request.finalizing:
        return answer(parent, {}, [], now, None, True)
    where = f"{env.operator_namespace}/{parent.name}"
    secret = request.related_object(clusters.SECRET_KEY, where)
    creds, _ = clusters.credentials(secret, where, need_ca=False)
    principal = clusters.operator_principal(creds["tls.crt"]) if "tls.crt" in creds else None
    budget = env.budget()
    try:
        spec = parse_cluster(parent.spec)
    except SpecError as error:
        problem = Refusal("InvalidSpec", str(error))
        return _report(parent, None, problem, principal, None, now)
    servers = spec.bootstrap_servers
    if spec.msk is not None:
        if env.msk is None:
            problem = Refusal("MskUnavailable", "this hook was started without MSK support")
            return _report(parent, None, problem, principal, None, now)
        try:
            servers = env.msk.bootstrap_servers(spec.msk, budget, cluster_type=spec.cluster_type)
        except KafkaAccessError as error:
            problem = Refusal(getattr(error, "reason", "MskLookupFailed"), str(error))
            # A passing MSK API failure keeps the servers last found, so topics carry on.
            found = parent.status.get("bootstrapServers")
            transient = getattr(error, "transient", False) and isinstance(found, str)
            kept = found if transient else None
            return _report(parent, None, problem, principal, kept, now)
    assert servers is not None
    connection = clusters.connect(parent.name, spec, servers, secret, where)
    if isinstance(connection, Refusal):
        return _report(parent, None, connection, principal, servers, now)
    try:
        info = env.clients.port(connection).describe_cluster(budget)
    except KafkaAccessError as error:
        problem = Refusal(getattr(error, "reason", "KafkaError"), str(error))
        if spec.msk is not None and env.msk is not None:
            env.msk.forget(spec.msk)  # the brokers may have moved; look again next time
        return _report(parent, None, problem, principal, servers, now)
    return _report(parent, info, None, connection.operator_principal, servers, now)


def _report(parent: Parent, info, problem, principal, servers, now) -> dict[str, Any]:
    fields, conditions = clusters.cluster_status(info, problem, principal, servers)
    return answer(parent, fields, conditions, now, RESYNC_ERROR if problem else RESYNC_HEALTHY * 2)
