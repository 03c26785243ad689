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
itself. When the last binding that needs them goes, a finalize takes the
operator's topic grants away again (``stale_grants``), so a resource nobody
else protects is open to everyone once more.

Two KafkaACLs that want the same binding cannot see each other: the one that
created it owns it, and when that one goes the binding goes with it until the
other's next sync puts it back (and then owns it). ``plan`` claims only what
it created after a listing showed it absent; a binding that was there before
is used, never claimed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
    no_controls,
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
# The grants a finalize may take away again. Without its topic grants the
# operator still holds Alter on the cluster, so if a binding appears on the
# pattern meanwhile, the next sync of its KafkaACL puts the grants back. Not
# so on the Cluster resource: a Cluster binding created in the moment between
# the check and the removal would leave the operator without the right to
# write ACLs at all, and on MSK, with no super user, nobody could give it back.
REMOVABLE_GRANT_TYPES = ("Topic",)

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
        if not all(isinstance(value, str) and value and _printable(value) for value in values):
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


def _printable(text: str) -> bool:
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def overlaps(a: ResourcePattern, b: ResourcePattern) -> bool:
    """Whether some resource matches both patterns, as Kafka's authorizer matches them."""
    if a.resource_type != b.resource_type:
        return False
    if any(p.pattern_type == "Literal" and p.name == "*" for p in (a, b)):
        return True
    if a.pattern_type == b.pattern_type == "Literal":
        return a.name == b.name
    if a.pattern_type == "Literal":
        return a.name.startswith(b.name)
    if b.pattern_type == "Literal":
        return b.name.startswith(a.name)
    return a.name.startswith(b.name) or b.name.startswith(a.name)


# How a filter selects bindings by resource: on exactly its pattern; every
# binding that affects its (literal) resource, as Kafka's MATCH filter does;
# or every binding on a resource of its type.
Scope = Literal["Exact", "Match", "Type"]


@dataclass(frozen=True, order=True)
class BindingFilter:
    """Bindings of one principal or of any (None), selected by resource pattern and scope."""

    pattern: ResourcePattern
    principal: str | None = None
    scope: Scope = "Exact"

    @classmethod
    def of_type(cls, resource_type: str) -> BindingFilter:
        return cls(ResourcePattern(resource_type, "", "Literal"), None, "Type")

    def matches(self, binding: Binding) -> bool:
        if self.principal not in (None, binding.principal):
            return False
        if self.scope == "Type":
            return binding.resource_type == self.pattern.resource_type
        if self.scope == "Match":
            return overlaps(self.pattern, binding.pattern)
        return binding.pattern == self.pattern


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
        # librdkafka cuts strings at NUL: "User:CN=b\0,OU=a" would reach the
        # brokers as another team's principal.
        no_controls(text)
        try:
            found = canonical(text)
        except PrincipalError as error:
            raise ValidationError(str(error)) from error
        no_controls(found)  # an escape such as \00 must not decode into one either
        return found


class _Host(fields.String):
    """``*`` or an IP address, in the form the broker compares with the client's."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        no_controls(raw)
        text = raw.strip()
        if text == ANY_HOST:
            return text
        if "%" in text:
            raise ValidationError(
                f"expected * or an IP address, got {text!r}; an IPv6 zone ('%' and an "
                "interface) is no part of the address Kafka compares"
            )
        try:
            return _java_address(ipaddress.ip_address(text))
        except ValueError as error:  # AddressValueError and NetmaskValueError included
            raise ValidationError(
                f"expected * or an IP address, got {text!r}; "
                "Kafka compares the client's address and never resolves host names"
            ) from error


def _java_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The address as Java's ``InetAddress.getHostAddress()`` prints it."""
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
    name = fields.String(validate=[validate.Length(min=1, max=255), no_controls])
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
    source = spec_.get("principalFrom") if spec_ else None
    ref = source.get("secretKeyRef") if isinstance(source, Mapping) else None
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
        principal = from_certificate(pem)
    except PrincipalError as error:
        if not pem.lstrip().startswith("-----BEGIN CERTIFICATE-----"):
            # Say nothing of what the key holds: it may be a private key.
            return Refusal(
                "PrincipalSecretInvalid",
                f"principalFrom: key {ref.key!r} of Secret {where} holds no PEM certificate",
            )
        return Refusal(
            "PrincipalSecretInvalid",
            f"principalFrom: the certificate under key {ref.key!r} of Secret {where}: {error}",
        )
    if not _printable(principal):
        return Refusal(
            "PrincipalSecretInvalid",
            f"principalFrom: the subject of the certificate under key {ref.key!r} of Secret "
            f"{where} has a control character, which the admin client cannot pass to Kafka",
        )
    return principal


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


def _bindings_from(raw: object) -> frozenset[Binding]:
    """The well-formed entries of a status list that the admin client can express.

    A malformed entry, or one of a type such as DelegationToken, was never
    written by this resource (a spec of that type is refused), so it is
    skipped rather than sent to Kafka.
    """
    found = (Binding.from_status(item) for item in raw) if isinstance(raw, list) else ()
    return frozenset(b for b in found if b is not None and b.resource_type in MANAGEABLE_TYPES)


@dataclass(frozen=True)
class Memory:
    """What earlier answers recorded in status.

    ``bindings`` are those this resource applied, on ``cluster`` (None when a
    status from before clusters were recorded: then the spec's cluster);
    ``grants`` the operator's grants it last saw on its pattern.
    """

    bindings: frozenset[Binding] = frozenset()
    principal: str | None = None
    cluster: str | None = None
    grants: frozenset[Binding] = frozenset()

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Memory:
        principal = status.get("principal")
        cluster = status.get("cluster")
        return cls(
            bindings=_bindings_from(status.get("bindings")),
            principal=principal if isinstance(principal, str) and principal else None,
            cluster=cluster if isinstance(cluster, str) and cluster else None,
            grants=_bindings_from(status.get("operatorBindings")),
        )

    def cluster_of(self, spec: AclSpec) -> str:
        """The cluster the remembered bindings live on."""
        return self.cluster or spec.cluster


def remembered_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """Status fields to carry through an answer that observed nothing."""
    memory = Memory.from_status(status)
    fields_: dict[str, Any] = {"bindings": as_status(memory.bindings)}
    if memory.principal:
        fields_["principal"] = memory.principal
    if memory.cluster:
        fields_["cluster"] = memory.cluster
    if isinstance(status.get("operatorBindings"), list):
        fields_["operatorBindings"] = as_status(memory.grants)
    return fields_


def cluster_change(spec: AclSpec, memory: Memory) -> Refusal | None:
    """Refuse a clusterRef change while this resource still owns bindings elsewhere.

    Moving would forget bindings on the old cluster, where nothing would
    ever delete them, and on the new one could delete equal bindings that
    others made. So nothing is done on either cluster until the spec names
    the old cluster again, or the KafkaACL is deleted (which cleans up the
    old cluster) and created anew.
    """
    if not memory.bindings or memory.cluster_of(spec) == spec.cluster:
        return None
    return Refusal(
        "ClusterChangeRefused",
        f"clusterRef: this KafkaACL applied {len(memory.bindings)} binding(s) on KafkaCluster "
        f"{memory.cluster} and cannot move them to {spec.cluster}; set clusterRef back to "
        f"{memory.cluster}, or delete this KafkaACL (which removes its bindings from "
        f"{memory.cluster}) and create it again for {spec.cluster}",
    )


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
    for_operator: bool = False

    def describe(self) -> str:
        if self.for_operator:
            b = self.binding
            return (
                f"remove the operator's grant {b.operation} on {b.pattern.describe()}, "
                "which nothing needs any more"
            )
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
    cluster: str = ""  # the KafkaCluster the plan is for

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
        return AclPlan(principal, spec.pattern, wanted, grants, (), (problem,), spec.cluster)
    grant = [CreateBinding(b, for_operator=True) for b in sorted(grants - observed)]
    create = [CreateBinding(b) for b in sorted(wanted - observed - grants)]
    delete = [DeleteBinding(b) for b in sorted(memory.bindings - wanted - grants)]
    actions: tuple[AclAction, ...] = (*grant, *create, *delete)
    return AclPlan(principal, spec.pattern, wanted, grants, actions, (), spec.cluster)


def finalize_plan(
    memory: Memory, grants: frozenset[Binding] = frozenset()
) -> tuple[DeleteBinding, ...]:
    """The deletions a finalize needs: every remembered binding, never an operator grant."""
    return tuple(DeleteBinding(b) for b in sorted(memory.bindings - grants))


# -- the operator's grants after the last binding -------------------------------


def grant_patterns(memory: Memory) -> tuple[ResourcePattern, ...]:
    """The patterns whose operator grants a finalize may take away.

    Those this resource had bindings on, and those it saw grants on, of the
    types in REMOVABLE_GRANT_TYPES.
    """
    found = {b.pattern for b in (*memory.bindings, *memory.grants)}
    return tuple(sorted(p for p in found if p.resource_type in REMOVABLE_GRANT_TYPES))


def grant_filters(patterns: Iterable[ResourcePattern]) -> tuple[BindingFilter, ...]:
    """What to read to decide whether the operator's grants on ``patterns`` are still needed.

    For a literal name, every binding that affects that resource (a MATCH
    filter: the name, the ``*`` wildcard and every prefix of it). For a
    prefix or the wildcard, the resources they cover have no one name, so
    every binding on a resource of the type is read. That is far wider than
    a sync ever reads, and done only in a finalize, which is rare.
    """
    found: set[BindingFilter] = set()
    for p in patterns:
        if p.pattern_type == "Literal" and p.name != "*":
            found.add(BindingFilter(p, None, "Match"))
        else:
            found.add(BindingFilter.of_type(p.resource_type))
    return tuple(sorted(found))


def grants_needed(
    pattern: ResourcePattern, listed: Iterable[Binding], operator: str, gone: Iterable[Binding]
) -> bool:
    """Whether the operator still needs its grants on ``pattern``.

    With ``allow.everyone.if.no.acl.found`` a resource that no binding
    matches is open to everyone, the operator included; one that any binding
    matches is open only to those with bindings of their own. So the grants
    on ``pattern`` can go only when (bindings in ``gone``, just deleted, not
    counted) nothing but those grants is left on ``pattern`` itself, and every
    other pattern with bindings on a resource that ``pattern`` covers gives the
    operator all it needs there by bindings of its own (its grants, or All).
    """
    gone = frozenset(gone)
    own = operator_grants([pattern], operator)
    by_pattern: dict[ResourcePattern, set[Binding]] = {}
    for b in listed:
        if b not in gone and overlaps(pattern, b.pattern):
            by_pattern.setdefault(b.pattern, set()).add(b)
    for other, bindings in by_pattern.items():
        if other == pattern:
            if bindings - own:
                return True
        elif not _operator_covered(other, bindings, operator):
            return True
    return False


# Operations Kafka's authorizer implies: Describe by these, DescribeConfigs by AlterConfigs.
_IMPLIED_BY = {
    "Describe": ("Read", "Write", "Delete", "Alter"),
    "DescribeConfigs": ("AlterConfigs",),
}


def _operator_covered(pattern: ResourcePattern, bindings: Iterable[Binding], operator: str) -> bool:
    """Whether these bindings on ``pattern`` give the operator all it needs there."""
    mine = [b for b in bindings if b.principal in (operator, WILDCARD)]
    if any(b.permission == "Deny" for b in mine):
        return False
    held = {b.operation for b in mine if b.permission == "Allow" and b.host == ANY_HOST}
    if "All" in held:
        return True
    return all(
        need in held or any(op in held for op in _IMPLIED_BY.get(need, ()))
        for need in OPERATOR_NEEDS.get(pattern.resource_type, ())
    )


def stale_grants(
    patterns: Iterable[ResourcePattern],
    listed: Iterable[Binding],
    operator: str,
    gone: Iterable[Binding] = (),
) -> tuple[DeleteBinding, ...]:
    """The operator's listed grants on ``patterns`` that nothing needs any more."""
    listed = frozenset(listed)
    return tuple(
        DeleteBinding(b, for_operator=True)
        for p in sorted(set(patterns))
        if p.resource_type in REMOVABLE_GRANT_TYPES and not grants_needed(p, listed, operator, gone)
        for b in sorted(operator_grants([p], operator) & listed)
    )


def grants_to_restore(
    removed: Iterable[Binding], listed: Iterable[Binding], operator: str, gone: Iterable[Binding]
) -> tuple[CreateBinding, ...]:
    """Removed grants to put back because a binding appeared while they went.

    A KafkaACL cannot see the others: one may have created a binding on the
    pattern between the check and the removal.
    """
    removed, listed = frozenset(removed), frozenset(listed)
    needed = {p for p in {b.pattern for b in removed} if grants_needed(p, listed, operator, gone)}
    return tuple(
        CreateBinding(b, for_operator=True) for b in sorted(removed) if b.pattern in needed
    )


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
    if plan_.cluster:
        fields_["cluster"] = plan_.cluster
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


def pending_grants(
    memory: Memory, operator: str, outcomes: Iterable[Outcome]
) -> frozenset[Binding]:
    """The operator grants a finalize that stopped must look at again when it is retried.

    Its bindings may be gone from status by then, so the grants on their
    patterns are remembered, less those it removed (and did not put back).
    """
    outcomes = tuple(outcomes)
    removed = {
        o.action.binding
        for o in outcomes
        if o.ok and isinstance(o.action, DeleteBinding) and o.action.for_operator
    }
    restored = {
        o.action.binding
        for o in outcomes
        if o.ok and isinstance(o.action, CreateBinding) and o.action.for_operator
    }
    wanted = memory.grants | operator_grants(grant_patterns(memory), operator)
    return frozenset(wanted - (removed - restored))
