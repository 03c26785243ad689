"""KafkaACL: from a spec and the observed bindings to a plan and a status.

A KafkaACL stands for one binding per operation: one principal, one host,
one resource pattern, one permission. It owns only the bindings it created
and recorded in ``status.bindings``; a binding somebody else made, even one
equal to a wanted binding, is never deleted.

On a cluster where ``allow.everyone.if.no.acl.found`` is true (MSK's
default) the first binding on a resource takes access away from every
principal without one, the operator included. So before the first binding
on a resource pattern the operator grants itself what it uses there, on that
same pattern and never on a wildcard, and it refuses a Deny that would match
itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from . import conditions as cond
from .plan import Outcome, Refusal
from .principal import WILDCARD, PrincipalError, canonical, from_certificate
from .request import SyncRequest, secret_data
from .specs import (
    DELETION_POLICIES,
    TOPIC_NAME,
    DeletionPolicy,
    _Base,
    _load,
    _one_of,
    _RefSchema,
)

RESOURCE_TYPES = ("Topic", "Group", "Cluster", "TransactionalId", "DelegationToken")
PATTERN_TYPES = ("Literal", "Prefixed")
OPERATIONS = (
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "DescribeConfigs",
    "AlterConfigs",
    "IdempotentWrite",
    "All",
)
PERMISSIONS = ("Allow", "Deny")
CLUSTER_NAME = "kafka-cluster"
ANY_HOST = "*"
SECRET_KEY = "Secret.v1"
# librdkafka, which the admin client is built on, has no DelegationToken resource type.
MANAGEABLE_TYPES = ("Topic", "Group", "Cluster", "TransactionalId")

# What the operator itself does on a resource pattern, and so must keep once
# the pattern has bindings. It uses no groups, transactional ids or tokens.
OPERATOR_NEEDS: Mapping[str, tuple[str, ...]] = {
    # describe, describe and alter configs, grow, create and delete topics
    "Topic": ("Alter", "AlterConfigs", "Create", "Delete", "Describe", "DescribeConfigs"),
    # describe the cluster and its ACLs, create topics, create and delete ACLs
    "Cluster": ("Alter", "AlterConfigs", "Create", "Describe", "DescribeConfigs"),
}


# -- values -------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ResourcePattern:
    resource_type: str
    name: str
    pattern_type: str

    def describe(self) -> str:
        if self.resource_type == "Cluster":
            return "the cluster"
        how = "names starting with " if self.pattern_type == "Prefixed" else ""
        return f"{self.resource_type} {how}{self.name!r}"


@dataclass(frozen=True, order=True)
class Binding:
    """One Kafka ACL binding, with enum values spelled as in the CRD."""

    resource_type: str
    resource_name: str
    pattern_type: str
    principal: str
    host: str
    operation: str
    permission: str

    @property
    def pattern(self) -> ResourcePattern:
        return ResourcePattern(self.resource_type, self.resource_name, self.pattern_type)

    def describe(self) -> str:
        where = "" if self.host == ANY_HOST else f" from host {self.host}"
        return (
            f"{self.permission} {self.operation} on {self.pattern.describe()} "
            f"to {self.principal}{where}"
        )

    def to_status(self) -> dict[str, str]:
        return {
            "principal": self.principal,
            "host": self.host,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "patternType": self.pattern_type,
            "operation": self.operation,
            "permission": self.permission,
        }

    @classmethod
    def from_status(cls, raw: object) -> Binding | None:
        """Read one entry of ``status.bindings``; None when it is malformed."""
        if not isinstance(raw, Mapping):
            return None
        keys = ("resourceType", "resourceName", "patternType", "principal", "host")
        values = [raw.get(key) for key in (*keys, "operation", "permission")]
        if not all(isinstance(value, str) and value for value in values):
            return None
        binding = cls(*(str(value) for value in values))
        if (
            binding.resource_type not in RESOURCE_TYPES
            or binding.pattern_type not in PATTERN_TYPES
            or binding.operation not in OPERATIONS
            or binding.permission not in PERMISSIONS
        ):
            return None
        return binding


@dataclass(frozen=True, order=True)
class BindingFilter:
    """Bindings on exactly one resource pattern, of one principal or of any (None)."""

    pattern: ResourcePattern
    principal: str | None = None

    def matches(self, binding: Binding) -> bool:
        return binding.pattern == self.pattern and self.principal in (None, binding.principal)


def as_status(bindings: Iterable[Binding]) -> list[dict[str, str]]:
    return [binding.to_status() for binding in sorted(set(bindings))]


# -- the spec -----------------------------------------------------------------


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class AclSpec:
    cluster: str
    principal: str | None  # canonical; None when principal_from names a certificate
    principal_from: SecretKeyRef | None
    host: str
    pattern: ResourcePattern
    operations: tuple[str, ...]
    permission: str
    deletion_policy: DeletionPolicy


class _Principal(fields.String):
    """A principal as people write it, loaded in the broker's canonical form."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return canonical(text)
        except PrincipalError as error:
            raise ValidationError(str(error)) from error


class _Host(fields.String):
    """``*`` or an IP address, in the form the broker compares with the client's."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text == ANY_HOST:
            return text
        try:
            address = ipaddress.ip_address(text)
        except ValueError as error:
            raise ValidationError(
                f"expected * or an IP address, got {text!r}; "
                "Kafka compares the client's address and never resolves host names"
            ) from error
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            return str(address.ipv4_mapped)
        if isinstance(address, ipaddress.IPv6Address):
            # Java prints IPv6 addresses with every group and no '::'.
            return ":".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))
        return str(address)


def _pattern_type(value: str) -> None:
    if value in ("Any", "Match"):
        raise ValidationError(
            "expected one of Literal, Prefixed, got "
            f"{value!r}; Any and Match select bindings when ACLs are read and are no "
            "pattern a binding can have"
        )
    _one_of(PATTERN_TYPES)(value)


class _SecretKeyRefSchema(_Base):
    name = fields.String(required=True, validate=validate.Length(min=1, max=253))
    key = fields.String(load_default="tls.crt", validate=validate.Length(min=1, max=253))


class _PrincipalFromSchema(_Base):
    secretKeyRef = fields.Nested(_SecretKeyRefSchema, required=True)


class _ResourceSchema(_Base):
    type = fields.String(required=True, validate=_one_of(RESOURCE_TYPES))
    name = fields.String(validate=validate.Length(min=1, max=255))
    patternType = fields.String(load_default="Literal", validate=_pattern_type)

    @validates_schema
    def _named(self, data: dict[str, Any], **_: Any) -> None:
        kind, name = data.get("type"), data.get("name")
        if kind == "Cluster":
            if name not in (None, CLUSTER_NAME):
                raise ValidationError(
                    f"the Cluster resource is always named {CLUSTER_NAME}; leave name out",
                    "name",
                )
            if data.get("patternType") == "Prefixed":
                raise ValidationError(
                    "the Cluster resource takes patternType Literal", "patternType"
                )
            return
        if kind is not None and name is None:
            raise ValidationError(f"a {kind} resource needs a name", "name")
        if kind == "Topic" and name is not None:
            _topic_pattern(name, data.get("patternType"))


def _topic_pattern(name: str, pattern_type: str | None) -> None:
    if name == "*" and pattern_type == "Prefixed":
        raise ValidationError(
            "no topic name starts with '*'; for every topic use name * with patternType Literal",
            "name",
        )
    if name != "*" and not TOPIC_NAME.match(name):
        raise ValidationError(
            f"{name!r} is no topic name: use * or 1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'",
            "name",
        )


class _AclSchema(_Base):
    clusterRef = fields.Nested(_RefSchema, required=True)
    principal = _Principal(validate=validate.Length(min=1, max=4096))
    principalFrom = fields.Nested(_PrincipalFromSchema)
    host = _Host(load_default=ANY_HOST)
    resource = fields.Nested(_ResourceSchema, required=True)
    operations = fields.List(
        fields.String(validate=_one_of(OPERATIONS)),
        required=True,
        validate=validate.Length(min=1, error="list at least one operation"),
    )
    permission = fields.String(load_default="Allow", validate=_one_of(PERMISSIONS))
    deletionPolicy = fields.String(load_default="Delete", validate=_one_of(DELETION_POLICIES))

    @validates_schema
    def _one_principal(self, data: dict[str, Any], **_: Any) -> None:
        if ("principal" in data) == ("principalFrom" in data):
            raise ValidationError(
                "give exactly one of principal (User:CN=...) or principalFrom.secretKeyRef"
            )


def parse_acl(raw: Mapping[str, Any]) -> AclSpec:
    """Parse a KafkaACL spec; the principal comes out canonical."""
    data = _load(_AclSchema(), raw)
    resource = data["resource"]
    ref = (data.get("principalFrom") or {}).get("secretKeyRef")
    return AclSpec(
        cluster=data["clusterRef"]["name"],
        principal=data.get("principal"),
        principal_from=SecretKeyRef(ref["name"], ref["key"]) if ref else None,
        host=data["host"],
        pattern=ResourcePattern(
            resource["type"], resource.get("name", CLUSTER_NAME), resource["patternType"]
        ),
        operations=tuple(sorted(set(data["operations"]))),
        permission=data["permission"],
        deletion_policy=data["deletionPolicy"],
    )


def principal_secret(spec_: Mapping[str, Any]) -> str | None:
    """The Secret an unparsed spec's ``principalFrom`` names, for the customize hook."""
    ref = (spec_.get("principalFrom") or {}).get("secretKeyRef") if spec_ else None
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name if isinstance(name, str) and name else None


def resolve_principal(spec: AclSpec, request: SyncRequest, namespace: str | None) -> str | Refusal:
    """The spec's principal, or the one derived from the certificate it names."""
    if spec.principal is not None:
        return spec.principal
    assert spec.principal_from is not None
    ref = spec.principal_from
    where = f"{namespace}/{ref.name}"
    secret = request.related_object(SECRET_KEY, where)
    if secret is None:
        return Refusal(
            "PrincipalSecretNotFound",
            f"principalFrom: Secret {where} was not found; create it with the client "
            f"certificate under the key {ref.key}",
        )
    try:
        pem = secret_data(secret, (ref.key,)).get(ref.key)
    except ValueError as error:
        return Refusal("PrincipalSecretInvalid", f"principalFrom: Secret {where}: {error}")
    if pem is None:
        return Refusal(
            "PrincipalSecretInvalid", f"principalFrom: Secret {where} has no key {ref.key!r}"
        )
    try:
        return from_certificate(pem)
    except PrincipalError:
        return Refusal(
            "PrincipalSecretInvalid",
            f"principalFrom: key {ref.key!r} of Secret {where} holds no PEM certificate",
        )


# -- binding sets -------------------------------------------------------------


def desired(spec: AclSpec, principal: str) -> frozenset[Binding]:
    """The bindings a spec stands for: one per operation."""
    pattern = spec.pattern
    return frozenset(
        Binding(
            pattern.resource_type,
            pattern.name,
            pattern.pattern_type,
            principal,
            spec.host,
            operation,
            spec.permission,
        )
        for operation in spec.operations
    )


def operator_grants(patterns: Iterable[ResourcePattern], operator: str) -> frozenset[Binding]:
    """The Allow bindings the operator keeps for itself on each pattern, any host."""
    return frozenset(
        Binding(p.resource_type, p.name, p.pattern_type, operator, ANY_HOST, operation, "Allow")
        for p in patterns
        for operation in OPERATOR_NEEDS.get(p.resource_type, ())
    )


def filters(
    wanted: Iterable[Binding], remembered: Iterable[Binding], operator: str | None
) -> tuple[BindingFilter, ...]:
    """What to describe: each pattern and principal in play, and the operator's grants.

    Patterns the admin client cannot express are left out; the plan refuses them.
    """
    wanted = frozenset(wanted)
    found = {BindingFilter(b.pattern, b.principal) for b in (*wanted, *remembered)}
    if operator is not None:
        found |= {
            BindingFilter(b.pattern, operator) for b in wanted if b.resource_type in OPERATOR_NEEDS
        }
    return tuple(sorted(f for f in found if f.pattern.resource_type in MANAGEABLE_TYPES))


# -- memory -------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """What earlier answers recorded in status: the bindings this resource applied."""

    bindings: frozenset[Binding] = frozenset()
    principal: str | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Memory:
        raw = status.get("bindings")
        found = (Binding.from_status(item) for item in raw) if isinstance(raw, list) else ()
        principal = status.get("principal")
        return cls(
            bindings=frozenset(b for b in found if b is not None),
            principal=principal if isinstance(principal, str) and principal else None,
        )


def remembered_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """Status fields to carry through an answer that observed nothing."""
    memory = Memory.from_status(status)
    fields_: dict[str, Any] = {"bindings": as_status(memory.bindings)}
    if memory.principal:
        fields_["principal"] = memory.principal
    operator = status.get("operatorBindings")
    if isinstance(operator, list):
        kept = (Binding.from_status(item) for item in operator)
        fields_["operatorBindings"] = as_status(b for b in kept if b is not None)
    return fields_


# -- the plan -----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class CreateBinding:
    binding: Binding
    for_operator: bool = False

    def describe(self) -> str:
        if self.for_operator:
            b = self.binding
            return f"grant the operator {b.operation} on {b.pattern.describe()}"
        return f"create binding {self.binding.describe()}"


@dataclass(frozen=True, order=True)
class DeleteBinding:
    binding: Binding

    def describe(self) -> str:
        return f"delete binding {self.binding.describe()}"


AclAction = CreateBinding | DeleteBinding


@dataclass(frozen=True)
class AclPlan:
    principal: str
    pattern: ResourcePattern
    wanted: frozenset[Binding]
    grants: frozenset[Binding]  # the operator's, on this pattern; empty when not ensured
    actions: tuple[AclAction, ...]  # the operator's grants, then creates, then deletes
    refusals: tuple[Refusal, ...]

    @property
    def steps(self) -> tuple[tuple[AclAction, ...], ...]:
        """The actions in the order they must be applied, each step waiting for the one before."""
        grants = tuple(a for a in self.actions if isinstance(a, CreateBinding) and a.for_operator)
        creates = tuple(
            a for a in self.actions if isinstance(a, CreateBinding) and not a.for_operator
        )
        deletes = tuple(a for a in self.actions if isinstance(a, DeleteBinding))
        return tuple(step for step in (grants, creates, deletes) if step)


def refusal(spec: AclSpec, principal: str, operator: str) -> Refusal | None:
    """Why a spec's bindings must not be written at all, or None."""
    kind = spec.pattern.resource_type
    if kind not in MANAGEABLE_TYPES:
        return Refusal(
            "ResourceTypeUnsupported",
            f"resource.type: {kind} bindings cannot be managed through the admin client "
            f"kafka-access uses; expected one of {', '.join(MANAGEABLE_TYPES)}",
        )
    if spec.permission == "Deny" and principal == operator:
        return Refusal(
            "DenyOperatorRefused",
            f"permission: Deny for {principal} on {spec.pattern.describe()} would deny the "
            "operator its own access; kafka-access will not lock itself out",
        )
    if spec.permission == "Deny" and principal == WILDCARD:
        return Refusal(
            "DenyOperatorRefused",
            f"permission: Deny for {WILDCARD} on {spec.pattern.describe()} would deny every "
            f"principal from any host, the operator ({operator}) included; kafka-access will "
            "not lock itself out, so deny the principals you mean by name",
        )
    return None


def plan(
    spec: AclSpec,
    principal: str,
    observed: frozenset[Binding],
    memory: Memory,
    operator: str,
    ensure_operator_acls: bool = True,
) -> AclPlan:
    """Compare the wanted bindings with the observed ones and decide what to do.

    Creates come before deletes, and the operator's own grants before both.
    Only remembered bindings are ever deleted, and never an operator grant.
    A remembered binding that is not listed is deleted all the same: deleting
    an absent binding changes nothing, and a listing can be empty because the
    brokers answer an operator without Describe on the cluster with no bindings.
    """
    wanted = desired(spec, principal)
    grants = operator_grants([spec.pattern], operator) if ensure_operator_acls else frozenset()
    problem = refusal(spec, principal, operator)
    if problem is not None:
        return AclPlan(principal, spec.pattern, wanted, grants, (), (problem,))
    grant = [CreateBinding(b, for_operator=True) for b in sorted(grants - observed)]
    create = [CreateBinding(b) for b in sorted(wanted - observed - grants)]
    delete = [DeleteBinding(b) for b in sorted(memory.bindings - wanted - grants)]
    return AclPlan(principal, spec.pattern, wanted, grants, (*grant, *create, *delete), ())


def finalize_plan(
    memory: Memory, grants: frozenset[Binding] = frozenset()
) -> tuple[DeleteBinding, ...]:
    """The deletions a finalize needs: every remembered binding, never an operator grant."""
    return tuple(DeleteBinding(b) for b in sorted(memory.bindings - grants))


# -- status -------------------------------------------------------------------


@dataclass(frozen=True)
class AclState:
    """The inputs of a KafkaACL status, gathered by the shell."""

    plan: AclPlan
    outcomes: tuple[Outcome, ...]
    observed: frozenset[Binding]  # after the plan was applied
    memory: Memory
    problem: Refusal | None = None  # the observation after the changes failed


def owned_after(memory: Memory, outcomes: Iterable[Outcome]) -> frozenset[Binding]:
    """The bindings this resource applied and has not yet deleted.

    A binding leaves the memory only by a delete that succeeded, never because
    a listing missed it; one just created counts before the brokers list it.
    """
    outcomes = tuple(outcomes)
    created = {
        o.action.binding
        for o in outcomes
        if o.ok and isinstance(o.action, CreateBinding) and not o.action.for_operator
    }
    deleted = {o.action.binding for o in outcomes if o.ok and isinstance(o.action, DeleteBinding)}
    return frozenset((memory.bindings | created) - deleted)


def expected(observed: frozenset[Binding], outcomes: Iterable[Outcome]) -> frozenset[Binding]:
    """The bindings the changes should have left, for when they cannot be listed again."""
    outcomes = tuple(outcomes)
    created = {o.action.binding for o in outcomes if o.ok and isinstance(o.action, CreateBinding)}
    deleted = {o.action.binding for o in outcomes if o.ok and isinstance(o.action, DeleteBinding)}
    return frozenset((observed | created) - deleted)


def status(state: AclState) -> tuple[dict[str, Any], list[cond.Condition]]:
    """Return the status fields (without conditions) and the conditions."""
    plan_, observed = state.plan, state.observed
    owned = owned_after(state.memory, state.outcomes) - plan_.grants
    fields_: dict[str, Any] = {"principal": plan_.principal, "bindings": as_status(owned)}
    granted = plan_.grants & (observed | _created_grants(state.outcomes))
    if granted:
        fields_["operatorBindings"] = as_status(granted)

    failures = [o for o in state.outcomes if not o.ok]
    problems = [(r.reason, r.message) for r in plan_.refusals]
    problems += grouped(failures)
    skipped = len(plan_.actions) - len(state.outcomes)
    if failures and skipped:
        problems.append(
            (failures[0].code or "KafkaError", f"{skipped} later change(s) wait until it succeeds")
        )
    if state.problem is not None:
        problems.append((state.problem.reason, state.problem.message))
    synced = (
        cond.not_synced(problems[0][0], "; ".join(m for _, m in problems))
        if problems
        else cond.synced()
    )
    return fields_, [_ready(state, owned, problems), synced]


def grouped(failures: Iterable[Outcome]) -> list[tuple[str, str]]:
    """One problem per distinct error, naming every change it refused."""
    groups: dict[tuple[str, str], list[str]] = {}
    for outcome in failures:
        key = (outcome.code or "KafkaError", outcome.error or "")
        groups.setdefault(key, []).append(_describe(outcome.action))
    return [(code, f"{', '.join(changes)}: {error}") for (code, error), changes in groups.items()]


def _ready(
    state: AclState, owned: frozenset[Binding], problems: list[tuple[str, str]]
) -> cond.Condition:
    plan_, observed = state.plan, state.observed
    if plan_.refusals:
        return cond.not_ready(plan_.refusals[0].reason, plan_.refusals[0].message)
    unlisted = plan_.wanted - observed
    if unlisted and problems:
        return cond.not_ready(problems[0][0], problems[0][1])
    if unlisted:
        return cond.not_ready(
            "Propagating",
            f"{len(unlisted)} binding(s) were created and the brokers do not list them yet",
        )
    message = (
        f"{len(plan_.wanted)} binding(s) for {plan_.principal} on "
        f"{plan_.pattern.describe()} are in force"
    )
    shared = len(plan_.wanted - owned - plan_.grants)
    if shared:
        message += f"; this resource did not create {shared} of them, so they stay when it goes"
    return cond.ready("Available", message)


def _created_grants(outcomes: Iterable[Outcome]) -> set[Binding]:
    return {
        o.action.binding
        for o in outcomes
        if o.ok and isinstance(o.action, CreateBinding) and o.action.for_operator
    }


def _describe(action: object) -> str:
    describe = getattr(action, "describe", None)
    return describe() if callable(describe) else str(action)


def finalize_status(
    memory: Memory,
    outcomes: Iterable[Outcome],
    remaining: frozenset[Binding],
    previous: Mapping[str, Any],
) -> dict[str, Any]:
    """Status fields during a finalize: the bindings not deleted yet or still listed."""
    fields_ = remembered_status(previous)
    left = owned_after(memory, outcomes) | (memory.bindings & remaining)
    fields_["bindings"] = as_status(left)
    return fields_
