"""Bootstrap discovery for MSK clusters named by ARN.

``MskResolver`` asks the MSK API of the ARN's region, with credentials from
boto3's default chain (EKS Pod Identity or IRSA in a cluster; never from a
manifest): DescribeClusterV2 for the cluster's state and kind, then
GetBootstrapBrokers for its TLS bootstrap string. Answers are cached per ARN
for a while; ``forget`` drops one when its brokers stop answering. Every
failure is an ``MskLookupError`` whose reason is a condition reason and whose
message says what to fix; AWS credentials never appear in either.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore import exceptions as aws
from botocore.config import Config

from ..core import msk
from ..core.plan import Refusal
from ..core.specs import MskSource
from ..errors import KafkaAccessError
from .budget import Budget

DEFAULT_TTL = 300.0
# The IAM actions the lookup needs, named in the access-denied message.
IAM_ACTIONS = ("kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers")

# MSK API error codes (botocore's kafka model, API version 2018-11-14): the
# operations declare NotFoundException (404), ForbiddenException (403),
# UnauthorizedException (401), BadRequestException (400) and
# InternalServerErrorException (500); the service also has
# TooManyRequestsException (429) and ServiceUnavailableException (503).
# AccessDeniedException and AccessDenied are the generic IAM denials.
_NOT_FOUND = {"NotFoundException"}
_DENIED = {"ForbiddenException", "AccessDeniedException", "AccessDenied"}
_UNAUTHORIZED = {
    "UnauthorizedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
}
_BAD_REQUEST = {"BadRequestException"}
_TRANSIENT = {
    "InternalServerErrorException",
    "ServiceUnavailableException",
    "TooManyRequestsException",
    "ThrottlingException",
}
# Anything shaped like an AWS access key id is cut from messages before they
# reach status or logs.
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b")


class MskLookupError(KafkaAccessError):
    """An MSK lookup that failed; ``transient`` means trying again later may help."""

    def __init__(self, reason: str, message: str, transient: bool = False):
        self.reason = reason
        self.message = message
        self.transient = transient
        super().__init__(message)


@dataclass(frozen=True)
class _Answer:
    cluster: msk.MskCluster
    brokers: dict[str, Any]
    expires: float


ClientFactory = Callable[[str], Any]


class MskResolver:
    """Resolves MSK cluster ARNs to TLS bootstrap strings, with a cache per ARN.

    ``client_for(region)`` makes a boto3 ``kafka`` client; tests pass one
    wrapped in botocore's Stubber. Without it, each region gets a client whose
    timeouts fit the budget of the first call. ``clock`` is a monotonic clock
    in seconds. Nothing is created or asked before the first lookup.
    """

    def __init__(
        self,
        client_for: ClientFactory | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ):
        self._client_for = client_for
        self._ttl = ttl
        self._clock = clock
        self._logger = logger or logging.getLogger("kafka_access.msk")
        self._clients: dict[str, Any] = {}
        self._answers: dict[str, _Answer] = {}
        self._lock = threading.Lock()

    def bootstrap_servers(
        self, source: MskSource, budget: Budget, cluster_type: str | None = None
    ) -> str:
        """The TLS bootstrap string for ``source``; ``cluster_type`` is checked when given."""
        arn = _parse(source.cluster_arn)
        where = str(arn)
        answer = self._cached(where) or self._look_up(arn, budget)
        problem = msk.check_cluster(answer.cluster, cluster_type, where)
        if problem is not None:
            raise _error(problem)
        chosen = msk.choose_bootstrap(
            answer.brokers, source.endpoint, source.ip_version, where, answer.cluster.kind
        )
        if isinstance(chosen, Refusal):
            raise _error(chosen)
        return chosen

    def forget(self, source: MskSource) -> None:
        """Drop the cached answer for the source's cluster, so the next call asks again."""
        try:
            key = str(msk.parse_arn(source.cluster_arn))
        except msk.ArnError:
            return
        with self._lock:
            self._answers.pop(key, None)

    # -- internals -----------------------------------------------------------

    def _cached(self, key: str) -> _Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None and answer.expires > self._clock():
                return answer
            self._answers.pop(key, None)
            return None

    def _look_up(self, arn: msk.ClusterArn, budget: Budget) -> _Answer:
        where = str(arn)
        client = self._client(arn.region, budget)
        cluster = msk.MskCluster.from_answer(
            self._call(client, "describe_cluster_v2", where, budget)
        )
        self._logger.debug(
            "looked up MSK cluster",
            extra={"fields": {"cluster": where, "state": cluster.state, "kind": cluster.kind}},
        )
        if cluster.state not in msk.SERVING_STATES:
            # Not cached: a cluster being created is asked about again at the next sync.
            return _Answer(cluster, {}, 0.0)
        brokers = self._call(client, "get_bootstrap_brokers", where, budget)
        brokers.pop("ResponseMetadata", None)
        answer = _Answer(cluster, brokers, self._clock() + self._ttl)
        with self._lock:
            self._answers[where] = answer
        return answer

    def _client(self, region: str, budget: Budget) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                make = self._client_for or (lambda r: _default_client(r, budget.seconds))
                try:
                    client = make(region)
                except Exception as error:
                    raise _translate(
                        error, "describe_cluster_v2", f"clusters in {region}"
                    ) from None
                self._clients[region] = client
            return client

    def _call(self, client: Any, operation: str, where: str, budget: Budget) -> dict[str, Any]:
        if budget.spent:
            raise MskLookupError(
                "MskLookupTimedOut",
                f"no time was left in this hook call to ask the MSK API about {where}",
                transient=True,
            )
        try:
            return getattr(client, operation)(ClusterArn=where)
        except Exception as error:  # every botocore failure becomes an MskLookupError
            raise _translate(error, operation, where) from None


def _parse(text: str) -> msk.ClusterArn:
    try:
        return msk.parse_arn(text)
    except msk.ArnError as error:
        raise MskLookupError("MskClusterArnInvalid", f"spec.msk.clusterArn: {error}") from None


def _error(refusal: Refusal) -> MskLookupError:
    return MskLookupError(refusal.reason, refusal.message)


def _translate(error: Exception, operation: str, where: str) -> MskLookupError:
    """An MskLookupError for a botocore failure; the AWS message is trimmed and scrubbed."""
    if isinstance(error, aws.ClientError):
        code = str(error.response.get("Error", {}).get("Code") or "")
        said = _scrub(str(error.response.get("Error", {}).get("Message") or ""))
        said = f" (MSK said: {said})" if said else ""
        if code in _NOT_FOUND:
            return MskLookupError(
                "MskClusterNotFound",
                f"MSK cluster {where} was not found{said}; check the account, region and "
                "cluster id in spec.msk.clusterArn",
            )
        if code in _DENIED:
            return MskLookupError(
                "MskAccessDenied",
                f"the MSK API denied {_action(operation)} on {where}{said}; allow "
                f"{' and '.join(IAM_ACTIONS)} on this cluster for the hook's IAM role "
                "(EKS Pod Identity or IRSA)",
            )
        if code in _UNAUTHORIZED:
            return MskLookupError(
                "MskCredentialsRejected",
                f"the MSK API rejected the hook's AWS credentials for {where}{said}; check the "
                "IAM role bound to the hook's service account (EKS Pod Identity or IRSA)",
            )
        if code in _BAD_REQUEST:
            return MskLookupError(
                "MskBadRequest",
                f"the MSK API refused {_action(operation)} on {where}{said}; check "
                "spec.msk.clusterArn",
            )
        if code in _TRANSIENT:
            return MskLookupError(
                "MskApiUnavailable",
                f"the MSK API could not answer {_action(operation)} on {where} ({code}); "
                "the hook asks again shortly",
                transient=True,
            )
        return MskLookupError(
            "MskLookupFailed",
            f"the MSK API answered {_action(operation)} on {where} with {code or 'an error'}{said}",
            transient=True,
        )
    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return MskLookupError(
            "MskCredentialsMissing",
            f"the hook found no AWS credentials to look up {where}; bind an IAM role to its "
            "service account with EKS Pod Identity or IRSA",
        )
    if isinstance(error, aws.CredentialRetrievalError):
        return MskLookupError(
            "MskCredentialsMissing",
            f"the hook could not get AWS credentials to look up {where}: "
            f"{type(error).__name__}; check its EKS Pod Identity or IRSA setup",
            transient=True,
        )
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectTimeoutError):
        return MskLookupError(
            "MskApiUnreachable",
            f"the MSK API could not be reached to look up {where} ({type(error).__name__}); "
            "check the hook's egress to the MSK endpoint of that region",
            transient=True,
        )
    if isinstance(error, aws.BotoCoreError):
        return MskLookupError(
            "MskApiUnreachable",
            f"asking the MSK API about {where} failed: {type(error).__name__}",
            transient=True,
        )
    return MskLookupError(
        "MskLookupFailed", f"asking the MSK API about {where} failed: {type(error).__name__}"
    )


def _action(operation: str) -> str:
    return {"describe_cluster_v2": IAM_ACTIONS[0], "get_bootstrap_brokers": IAM_ACTIONS[1]}[
        operation
    ]


def _scrub(text: str, limit: int = 300) -> str:
    text = _KEY_ID.sub("<redacted>", " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _default_client(region: str, budget_seconds: float) -> Any:
    """A ``kafka`` client for one region, with timeouts that fit a hook call's budget.

    Two attempts at most, a connect timeout of a seventh of the budget (at most
    1 s) and a read timeout of two sevenths (at most 2 s): the lookup leaves
    most of a 7 s budget to the brokers.
    """
    config = Config(
        region_name=region,
        connect_timeout=min(1.0, budget_seconds / 7),
        read_timeout=min(2.0, 2 * budget_seconds / 7),
        retries={"mode": "standard", "total_max_attempts": 2},
        user_agent_extra="kafka-access",
    )
    # A session per client: boto3 sessions are not safe to share between threads.
    return boto3.session.Session().client("kafka", config=config)
