"""KafkaAccess: one application's topics and access, rendered through a composition.

A KafkaAccess says what an application needs; its KafkaComposition decides
what that becomes. ``render`` turns the request into the desired children
(one KafkaTopic per owned topic, one KafkaACL per resource pattern) or into
a failure that names every rule the KafkaAccess breaks. A failed render never
shrinks the children: ``kept_children`` answers with exactly the observed
ones, so Metacontroller deletes nothing by accident. ``status`` sums the
children up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from . import conditions as cond
from .acl import CLUSTER_NAME, OPERATIONS, PATTERN_TYPES, RESOURCE_TYPES
from .cluster import CLUSTER_KEY
from .composition import (
    ENTRY_VARIABLES,
    EVERYTHING,
    MAX_TOPICS_PER_ACCESS,
    Composition,
    Limits,
    Pattern,
    Reservation,
    covers,
    parse_composition,
    principal_pattern,
    substitute,
)
from .principal import WILDCARD, PrincipalError, canonical, from_certificate
from .request import API_VERSION, Parent, SyncRequest, secret_data
from .specs import TOPIC_NAME, SpecError, _Base, _ConfigValue, _load, _one_of, _RefSchema

KIND = "KafkaAccess"
COMPOSITION_KEY = f"KafkaComposition.{API_VERSION}"
TOPIC_KEY = f"KafkaTopic.{API_VERSION}"
ACL_KEY = f"KafkaACL.{API_VERSION}"
SECRET_KEY = "Secret.v1"
LABEL_ACCESS = "kafkaaccess.io/access"
LABEL_COMPOSITION = "kafkaaccess.io/composition"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
# Annotations Metacontroller and kubectl keep the last applied object in;
# handing one back would make the next apply record it inside itself.
LAST_APPLIED = (
    "metacontroller.k8s.io/last-applied-configuration",
    "kubectl.kubernetes.io/last-applied-configuration",
)
MAX_NAME = 63
# How much one KafkaAccess may ask for (the CRD's maxItems say the same), so
# that one sync renders well within the webhook's timeout.
MAX_ACCESS_ENTRIES = 1000
MAX_ENTRY_TOPICS = 1000  # in one entry, and in all entries together
# A child's name ends in this many characters of a hash of what it stands for.
HASH_LENGTH = 10
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_APPLICATION_ID = re.compile(r"^[a-zA-Z0-9._-]{1,200}$")
# The KafkaAccess field that fills each profile variable.
ENTRY_FIELDS = {
    "topic": "topics",
    "group": "group",
    "transactionalId": "transactionalId",
    "applicationId": "applicationId",
}
_NOUNS = {
    "Topic": ("topic", "topics"),
    "Group": ("group", "groups"),
    "TransactionalId": ("transactional id", "transactional ids"),
    "DelegationToken": ("delegation token", "delegation tokens"),
    "Cluster": ("cluster", "clusters"),
}
_CHILD_WORDS = {
    "Topic": "topic",
    "Group": "group",
    "TransactionalId": "txn",
    "DelegationToken": "token",
    "Cluster": "cluster",
}


# -- the spec ----------------------------------------------------------------------


@dataclass(frozen=True)
class OwnedTopic:
    name: str
    partitions: int | None
    replication_factor: int | None
    config: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Entry:
    """One item of ``spec.access``: a profile and its values, or a plain operation set."""

    profile: str | None
    topics: tuple[str, ...] = ()
    group: str | None = None
    transactional_id: str | None = None
    application_id: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    pattern_type: str | None = None
    operations: tuple[str, ...] = ()

    def given(self) -> frozenset[str]:
        """The profile variables this entry gives a value for."""
        values = {
            "topic": bool(self.topics),
            "group": self.group is not None,
            "transactionalId": self.transactional_id is not None,
            "applicationId": self.application_id is not None,
        }
        return frozenset(name for name, present in values.items() if present)


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class AccessSpec:
    composition_ref: str | None
    composition_selector: tuple[tuple[str, str], ...] | None
    cluster: str | None
    principal: str | None  # canonical
    principal_from: SecretKeyRef | None
    topics: tuple[OwnedTopic, ...]
    access: tuple[Entry, ...]


class _Principal(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        try:
            return canonical(super()._deserialize(value, attr, data, **kwargs))
        except PrincipalError as error:
            raise ValidationError(str(error)) from error


def _topic_entry_name(value: str) -> None:
    if not TOPIC_NAME.match(value) or value in (".", ".."):
        raise ValidationError(f"{value!r}: use 1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'")


def _topic_pattern(value: str) -> None:
    """A topic name, a prefix ending in ``*``, or ``*``."""
    if value == EVERYTHING:
        return
    name = value[:-1] if value.endswith(EVERYTHING) else value
    if not TOPIC_NAME.match(name) or EVERYTHING in name:
        raise ValidationError(
            f"{value!r} is no topic: use a name of a-z, A-Z, 0-9, '.', '_', '-', "
            "a prefix ending in '*', or '*'"
        )


def _resource_name(value: str) -> None:
    if EVERYTHING in value[:-1]:
        raise ValidationError(f"{value!r}: '*' may only end a name, as a prefix")


def _application_id(value: str) -> None:
    if not _APPLICATION_ID.match(value):
        raise ValidationError(
            f"{value!r}: an application id names topics, so use 1 to 200 of "
            "a-z, A-Z, 0-9, '.', '_', '-'"
        )


def _length(low: int, high: int, noun: str) -> Any:
    """A validator of a list's length that says how long it was."""

    def check(value: Sequence[Any]) -> None:
        if not low <= len(value) <= high:
            allowed = f"at most {high}" if low == 0 else f"{low} to {high}"
            raise ValidationError(f"list {allowed} {noun}, not {len(value)}")

    return check


class _SelectorSchema(_Base):
    matchLabels = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=317)),
        values=fields.String(validate=validate.Length(max=63)),
        required=True,
        validate=validate.Length(min=1, error="name at least one label"),
    )


class _SecretKeyRefSchema(_Base):
    name = fields.String(required=True, validate=validate.Length(min=1, max=253))
    key = fields.String(load_default="tls.crt", validate=validate.Length(min=1, max=253))


class _PrincipalFromSchema(_Base):
    secretKeyRef = fields.Nested(_SecretKeyRefSchema, required=True)


class _OwnedTopicSchema(_Base):
    name = fields.String(required=True, validate=_topic_entry_name)
    partitions = fields.Integer(strict=True, validate=validate.Range(min=1, max=100000))
    replicationFactor = fields.Integer(strict=True, validate=validate.Range(min=1, max=32767))
    config = fields.Dict(keys=fields.String(validate=validate.Length(min=1)), values=_ConfigValue())


class _EntryResourceSchema(_Base):
    type = fields.String(required=True, validate=_one_of(RESOURCE_TYPES))
    name = fields.String(validate=[validate.Length(min=1, max=255), _resource_name])
    patternType = fields.String(validate=_one_of(PATTERN_TYPES))

    @validates_schema
    def _named(self, data: dict[str, Any], **_: Any) -> None:
        kind, name = data.get("type"), data.get("name")
        if kind == "Cluster":
            if name not in (None, CLUSTER_NAME):
                raise ValidationError(
                    f"the Cluster resource is always named {CLUSTER_NAME}; leave name out", "name"
                )
        elif kind is not None and name is None:
            raise ValidationError(f"a {kind} resource needs a name", "name")
        elif name and name != EVERYTHING and name.endswith(EVERYTHING):
            if data.get("patternType") == "Literal":
                raise ValidationError(
                    "a name ending in '*' is a prefix; drop the '*' or use patternType Prefixed",
                    "name",
                )


class _EntrySchema(_Base):
    profile = fields.String(validate=validate.Length(min=1, max=63))
    topics = fields.List(
        fields.String(validate=_topic_pattern), validate=_length(1, MAX_ENTRY_TOPICS, "topics")
    )
    group = fields.String(validate=[validate.Length(min=1, max=255), _resource_name])
    transactionalId = fields.String(validate=[validate.Length(min=1, max=255), _resource_name])
    applicationId = fields.String(validate=_application_id)
    resource = fields.Nested(_EntryResourceSchema)
    operations = fields.List(
        fields.String(validate=_one_of(OPERATIONS)), validate=validate.Length(min=1)
    )

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        if ("profile" in data) == ("resource" in data):
            raise ValidationError(
                "give either a profile (with its topics, group, ...) or a resource with operations"
            )
        if "resource" in data:
            profile_fields = ("topics", "group", "transactionalId", "applicationId")
            extra = [k for k in profile_fields if k in data]
            if extra:
                raise ValidationError(
                    f"{', '.join(extra)} belong to a profile; a plain resource takes operations"
                )
            if "operations" not in data:
                raise ValidationError("a resource needs its operations", "operations")
        elif "operations" in data:
            raise ValidationError(
                "a profile decides the operations; give a resource to list them yourself",
                "operations",
            )


class _AccessSchema(_Base):
    compositionRef = fields.Nested(_RefSchema)
    compositionSelector = fields.Nested(_SelectorSchema)
    clusterRef = fields.Nested(_RefSchema)
    principal = _Principal(validate=validate.Length(min=1, max=4096))
    principalFrom = fields.Nested(_PrincipalFromSchema)
    topics = fields.List(
        fields.Nested(_OwnedTopicSchema), validate=_length(0, MAX_TOPICS_PER_ACCESS, "topics")
    )
    access = fields.List(
        fields.Nested(_EntrySchema), validate=_length(0, MAX_ACCESS_ENTRIES, "entries")
    )

    @validates_schema(skip_on_field_errors=False)
    def _exclusive(self, data: dict[str, Any], **_: Any) -> None:
        if "compositionRef" in data and "compositionSelector" in data:
            raise ValidationError("give compositionRef or compositionSelector, not both")
        if "principal" in data and "principalFrom" in data:
            raise ValidationError("give principal or principalFrom, not both")
        counts = Counter(
            t["name"]
            for t in data.get("topics") or ()
            if isinstance(t, dict) and isinstance(t.get("name"), str)
        )
        repeated = sorted(name for name, count in counts.items() if count > 1)
        if repeated:
            raise ValidationError(f"each topic is listed once; repeated: {', '.join(repeated)}")
        listed = sum(
            len(e["topics"])
            for e in data.get("access") or ()
            if isinstance(e, dict) and isinstance(e.get("topics"), list)
        )
        if listed > MAX_ENTRY_TOPICS:
            raise ValidationError(
                f"the access entries list {listed} topics in all; at most {MAX_ENTRY_TOPICS}",
                "access",
            )


# The lists checked for length before anything else is parsed, so that an
# oversized spec costs no more than counting it.
_LONGEST = {
    "topics": (MAX_TOPICS_PER_ACCESS, "topics"),
    "access": (MAX_ACCESS_ENTRIES, "entries"),
}


def parse_access(raw: Mapping[str, Any]) -> AccessSpec:
    """Parse a KafkaAccess spec; raises ``SpecError`` naming each bad field."""
    if isinstance(raw, Mapping):
        too_long = [
            f"spec.{key}: list at most {longest} {noun}, not {len(raw[key])}"
            for key, (longest, noun) in _LONGEST.items()
            if isinstance(raw.get(key), list) and len(raw[key]) > longest
        ]
        if too_long:
            raise SpecError(too_long)
    data = _load(_AccessSchema(), raw)
    selector = data.get("compositionSelector")
    ref = (data.get("principalFrom") or {}).get("secretKeyRef")
    return AccessSpec(
        composition_ref=(data.get("compositionRef") or {}).get("name"),
        composition_selector=tuple(sorted(selector["matchLabels"].items())) if selector else None,
        cluster=(data.get("clusterRef") or {}).get("name"),
        principal=data.get("principal"),
        principal_from=SecretKeyRef(ref["name"], ref["key"]) if ref else None,
        topics=tuple(
            OwnedTopic(
                t["name"],
                t.get("partitions"),
                t.get("replicationFactor"),
                tuple(sorted((t.get("config") or {}).items())),
            )
            for t in data.get("topics") or ()
        ),
        access=tuple(_entry(item) for item in data.get("access") or ()),
    )


def _entry(raw: Mapping[str, Any]) -> Entry:
    resource = raw.get("resource") or {}
    return Entry(
        profile=raw.get("profile"),
        topics=tuple(dict.fromkeys(raw.get("topics") or ())),
        group=raw.get("group"),
        transactional_id=raw.get("transactionalId"),
        application_id=raw.get("applicationId"),
        resource_type=resource.get("type"),
        resource_name=resource.get("name"),
        pattern_type=resource.get("patternType"),
        operations=tuple(op for op in OPERATIONS if op in (raw.get("operations") or ())),
    )


# -- what the customize hook asks for ------------------------------------------------


def related_rules(parent: Parent) -> list[dict[str, Any]]:
    """The composition(s), the cluster and the certificate Secret a sync needs.

    Without a compositionRef or compositionSelector every composition is asked
    for, to find the default one; then the KafkaCluster too, for its
    ``defaultCompositionRef``. Malformed fields ask for nothing: the sync
    reports them.
    """
    spec = parent.spec
    rules: list[dict[str, Any]] = []
    ref = _ref_name(spec.get("compositionRef"))
    selector = spec.get("compositionSelector")
    if ref:
        rules.append(_rule("kafkacompositions", names=[ref]))
    elif selector is not None:
        labels = selector.get("matchLabels") if isinstance(selector, Mapping) else None
        if (
            isinstance(labels, Mapping)
            and labels
            and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        ):
            rules.append(
                _rule(
                    "kafkacompositions", labelSelector={"matchLabels": dict(sorted(labels.items()))}
                )
            )
    else:
        rules.append(_rule("kafkacompositions", labelSelector={}))
        cluster = _ref_name(spec.get("clusterRef"))
        if cluster:
            rules.append(_rule("kafkaclusters", names=[cluster]))
    principal_from = spec.get("principalFrom")
    secret = (
        _ref_name(principal_from.get("secretKeyRef"))
        if isinstance(principal_from, Mapping)
        else None
    )
    if secret and parent.namespace:
        rules.append(
            {
                "apiVersion": "v1",
                "resource": "secrets",
                "namespace": parent.namespace,
                "names": [secret],
            }
        )
    return rules


def _rule(resource: str, **selection: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "resource": resource, **selection}


def _mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is an object, else an empty one: related objects are not checked."""
    return value if isinstance(value, Mapping) else {}


def _ref_name(ref: object) -> str | None:
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name if isinstance(name, str) and name else None


# -- choosing the composition ---------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A render that cannot be made; ``violations`` lists each broken rule."""

    reason: str
    message: str
    violations: tuple[str, ...] = ()


def select(spec: AccessSpec, request: SyncRequest) -> tuple[str, Mapping[str, Any]] | Failure:
    """The composition's name and raw object, by ref, by labels or as the default."""
    group = request.related.get(COMPOSITION_KEY) or {}
    found = {name: obj for name, obj in group.items() if isinstance(obj, Mapping)}
    if spec.composition_ref:
        obj = found.get(spec.composition_ref)
        if obj is None:
            return Failure(
                "CompositionNotFound",
                f"compositionRef: KafkaComposition {spec.composition_ref} was not found",
            )
        return spec.composition_ref, obj
    if spec.composition_selector:
        wanted = dict(spec.composition_selector)
        matches = sorted(n for n, obj in found.items() if _has_labels(obj, wanted))
        shown = ",".join(f"{k}={v}" for k, v in spec.composition_selector)
        return _one(
            matches, found, f"no KafkaComposition has the labels {shown}", "compositionSelector"
        )
    return _default(spec, request, found)


def _default(
    spec: AccessSpec, request: SyncRequest, found: Mapping[str, Mapping[str, Any]]
) -> tuple[str, Mapping[str, Any]] | Failure:
    cluster = request.related_object(CLUSTER_KEY, spec.cluster) if spec.cluster else None
    named = _ref_name(_mapping(_mapping(cluster).get("spec")).get("defaultCompositionRef"))
    if named:
        obj = found.get(named)
        if obj is None:
            return Failure(
                "CompositionNotFound",
                f"KafkaCluster {spec.cluster} names defaultCompositionRef {named}, "
                "which was not found",
            )
        return named, obj
    defaults = sorted(
        n for n, obj in found.items() if _mapping(obj.get("spec")).get("default") is True
    )
    if len(defaults) > 1 and spec.cluster:
        on_cluster = [n for n in defaults if _composition_cluster(found[n]) in (None, spec.cluster)]
        defaults = on_cluster or defaults
    return _one(
        defaults,
        found,
        "no compositionRef or compositionSelector is given and no KafkaComposition "
        "is marked default: true",
        "default: true",
    )


def _one(
    names: Sequence[str], found: Mapping[str, Mapping[str, Any]], none: str, how: str
) -> tuple[str, Mapping[str, Any]] | Failure:
    if not names:
        return Failure("CompositionNotFound", none)
    if len(names) > 1:
        return Failure(
            "CompositionAmbiguous",
            f"{how} matches {len(names)} KafkaCompositions ({', '.join(names)}); "
            "name one with compositionRef",
        )
    return names[0], found[names[0]]


def _has_labels(obj: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    labels = _mapping(_mapping(obj.get("metadata")).get("labels"))
    return all(labels.get(key) == value for key, value in wanted.items())


def _composition_cluster(obj: Mapping[str, Any]) -> str | None:
    return _ref_name(_mapping(obj.get("spec")).get("clusterRef"))


# -- rendering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredTopic:
    entry: str  # the name in spec.topics
    topic_name: str
    partitions: int | None
    replication_factor: int | None
    config: tuple[tuple[str, str], ...]


@dataclass(frozen=True, order=True)
class DesiredAcl:
    resource_type: str
    pattern: Pattern
    operations: tuple[str, ...] = field(compare=False)


@dataclass(frozen=True)
class Rendering:
    """What a KafkaAccess becomes under its composition."""

    composition: str
    cluster: str
    principal: str
    deletion_policy: str
    adopt_existing: bool
    topics: tuple[DesiredTopic, ...]
    acls: tuple[DesiredAcl, ...]


@dataclass(frozen=True)
class _Grant:
    where: str
    resource_type: str
    pattern: Pattern
    operations: tuple[str, ...]


def render(request: SyncRequest) -> Rendering | Failure:
    """Parse, choose the composition, check every rule, and render; or say why not."""
    parent = request.parent
    try:
        spec = parse_access(parent.spec)
    except SpecError as error:
        return Failure("InvalidSpec", str(error), error.problems)
    unnamed = _identity_problem(parent)
    if unnamed:
        return Failure("InvalidSpec", unnamed, (unnamed,))
    chosen = select(spec, request)
    if isinstance(chosen, Failure):
        return chosen
    name, obj = chosen
    try:
        composition = parse_composition(name, obj.get("spec") or {})
    except SpecError as error:
        return Failure("CompositionInvalid", f"KafkaComposition {name} is invalid: {error}")
    owner = {"namespace": parent.namespace or "", "name": parent.name}

    violations: list[str] = []
    cluster = _cluster(spec, composition, violations)
    principal = _principal(spec, composition, owner, request, violations)
    if isinstance(principal, Failure):
        return principal
    topics = _topics(spec, composition, owner, violations)
    grants = []
    for index, entry in enumerate(spec.access):
        granted = _grants(index, entry, composition, owner, violations)
        _check_permits(granted, composition, owner, violations)
        grants.extend(granted)
    if violations:
        return Failure(
            "CompositionViolated",
            f"KafkaAccess breaks {len(violations)} rule(s) of KafkaComposition {name}: "
            + "; ".join(violations),
            tuple(violations),
        )
    assert cluster is not None and principal is not None
    return Rendering(
        composition=name,
        cluster=cluster,
        principal=principal,
        deletion_policy=composition.topics.deletion_policy,
        adopt_existing=composition.topics.adopt_existing,
        topics=topics,
        acls=_merge(grants),
    )


def _identity_problem(parent: Parent) -> str | None:
    """Why the parent's namespace and name cannot stand in names, if they cannot.

    Kubernetes only makes DNS labels (namespaces) and subdomains (names), and
    the compositions' safety rests on it: ``{namespace}.`` never holds a dot,
    so no namespace reaches into another's ``{namespace}.*``.
    """
    if not parent.namespace or not _DNS_LABEL.match(parent.namespace) or len(parent.namespace) > 63:
        return (
            f"metadata.namespace: {parent.namespace!r} is not a Kubernetes namespace "
            "(a DNS label); a KafkaAccess is namespaced"
        )
    if not _DNS_SUBDOMAIN.match(parent.name) or len(parent.name) > 253:
        return f"metadata.name: {parent.name!r} is not a Kubernetes object name (a DNS subdomain)"
    return None


def _cluster(spec: AccessSpec, composition: Composition, violations: list[str]) -> str | None:
    if composition.cluster and spec.cluster and spec.cluster != composition.cluster:
        violations.append(
            f"clusterRef: KafkaComposition {composition.name} places its children on "
            f"KafkaCluster {composition.cluster}, not {spec.cluster}; drop clusterRef or "
            "choose a composition for that cluster"
        )
        return None
    cluster = composition.cluster or spec.cluster
    if cluster is None:
        violations.append(
            f"clusterRef: KafkaComposition {composition.name} names no cluster, so the "
            "KafkaAccess must"
        )
    return cluster


def _principal(
    spec: AccessSpec,
    composition: Composition,
    owner: Mapping[str, str],
    request: SyncRequest,
    violations: list[str],
) -> str | None | Failure:
    policy, name = composition.principal, composition.name
    if spec.principal is None and spec.principal_from is None:
        if policy.template is None:
            violations.append(
                f"principal: KafkaComposition {name} has no principal template; "
                "set principal or principalFrom"
            )
            return None
        try:
            return canonical(substitute(policy.template, owner))
        except PrincipalError as error:
            return Failure(
                "CompositionInvalid", f"KafkaComposition {name}: principal.template: {error}"
            )
    if spec.principal is not None:
        where, allowed = "principal", policy.allow_principal
        principal: str | None = spec.principal
        refused = "name its principal"
    else:
        where, allowed = "principalFrom", policy.allow_principal_from
        refused = "take its principal from a certificate"
        derived = _from_secret(spec.principal_from, request) if allowed else None
        if isinstance(derived, Failure):
            return derived
        principal = derived
    if not allowed:
        templated = _templated(policy.template, owner)
        instead = f"; leave it out to run as {templated}" if templated else ""
        violations.append(
            f"{where}: KafkaComposition {name} does not let a KafkaAccess {refused}{instead}"
        )
        return None
    assert principal is not None
    return _allowed_principal(where, principal, composition, owner, violations)


def _templated(template: str | None, owner: Mapping[str, str]) -> str | None:
    try:
        return canonical(substitute(template, owner)) if template else None
    except PrincipalError:
        return None  # reported when the template itself is used


def _allowed_principal(
    where: str,
    principal: str,
    composition: Composition,
    owner: Mapping[str, str],
    violations: list[str],
) -> str | None:
    if principal == WILDCARD:
        violations.append(f"{where}: {WILDCARD} stands for every client; name one principal")
        return None
    patterns = [substitute(p, owner) for p in composition.principal.must_match]
    if patterns and not any(principal_pattern(p).match(principal) for p in patterns):
        violations.append(
            f"{where}: {principal} is not a principal namespace {owner['namespace']} may use; "
            f"KafkaComposition {composition.name} allows {' or '.join(patterns)}"
        )
        return None
    return principal


def _from_secret(ref: SecretKeyRef | None, request: SyncRequest) -> str | Failure:
    """The principal of the certificate in a Secret of the parent's namespace."""
    # A certificate is no secret, so this proves nothing about who holds its key;
    # principal.mustMatch is what limits the principals a namespace may use.
    assert ref is not None
    where = f"{request.parent.namespace}/{ref.name}"
    secret = request.related_object(SECRET_KEY, where)
    if secret is None:
        return Failure(
            "CertificateNotFound",
            f"principalFrom: Secret {where} was not found; create it with the client "
            f"certificate under the key {ref.key}",
        )
    try:
        pem = secret_data(secret, (ref.key,)).get(ref.key)
        if pem is None:
            raise PrincipalError(f"the Secret has no key {ref.key}")
        return from_certificate(pem)
    except (ValueError, PrincipalError) as error:
        return Failure("CertificateInvalid", f"principalFrom: Secret {where}: {error}")


def _topics(
    spec: AccessSpec, composition: Composition, owner: Mapping[str, str], violations: list[str]
) -> tuple[DesiredTopic, ...]:
    policy, out = composition.topics, []
    if policy.max_per_access is not None and len(spec.topics) > policy.max_per_access:
        violations.append(
            f"topics: {len(spec.topics)} topics are more than the {policy.max_per_access} "
            f"KafkaComposition {composition.name} lets one KafkaAccess own"
        )
    # Kafka refuses a topic whose name differs from another's only in '.' and
    # '_' (their metric names collide), so names are compared folded.
    seen: dict[str, tuple[int, str]] = {}
    allowed = [Pattern.parse(substitute(p, owner)) for p in policy.allowed_names]
    for index, topic in enumerate(spec.topics):
        where = f"topics[{index}]"
        name = substitute(policy.naming, {**owner, "topic": topic.name})
        problem = _topic_name_problem(name)
        earlier = seen.get(_fold(name))
        if problem:
            violations.append(f"{where}.name: {problem}")
        elif not any(Pattern("Literal", name).within(rule) for rule in allowed):
            violations.append(
                f"{where}.name: topic {name} is not one namespace {owner['namespace']} may own; "
                f"KafkaComposition {composition.name} allows {', '.join(map(str, allowed))}"
            )
        elif reserved := _reserved_topic(name, composition):
            violations.append(
                f"{where}.name: topic {name} is in {describe('Topic', reserved.pattern)}, "
                f"which KafkaComposition {composition.name} reserves for other compositions; "
                "no KafkaAccess of it may own a topic there"
            )
        elif earlier is not None and earlier[1] == name:
            violations.append(f"{where}.name: topic {name} is already topics[{earlier[0]}]")
        elif earlier is not None:
            violations.append(
                f"{where}.name: topic {name} collides with topics[{earlier[0]}] "
                f"({earlier[1]}): Kafka treats '.' and '_' in topic names alike"
            )
        seen.setdefault(_fold(name), (index, name))
        partitions = _limited(
            f"{where}.partitions", topic.partitions, policy.partitions, composition, violations
        )
        replication = _limited(
            f"{where}.replicationFactor",
            topic.replication_factor,
            policy.replication_factor,
            composition,
            violations,
        )
        config = dict(policy.config_defaults)
        for key, value in topic.config:
            _check_config(f"{where}.config.{key}", key, value, composition, violations)
            config[key] = value
        out.append(
            DesiredTopic(topic.name, name, partitions, replication, tuple(sorted(config.items())))
        )
    return tuple(out)


def _fold(name: str) -> str:
    return name.replace(".", "_")


def _reserved_topic(name: str, composition: Composition) -> Reservation | None:
    """The reservation a topic name falls in, or collides with in Kafka's eyes."""
    folded = Pattern("Literal", _fold(name))
    for reservation in composition.reserved:
        if reservation.resource_type != "Topic":
            continue
        pattern = reservation.pattern
        if Pattern("Literal", name).within(pattern) or folded.within(
            Pattern(pattern.pattern_type, _fold(pattern.name))
        ):
            return reservation
    return None


def _topic_name_problem(name: str) -> str | None:
    if not TOPIC_NAME.match(name) or name in (".", ".."):
        return f"{name!r} is not a Kafka topic name: use 1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'"
    if name.startswith("__"):
        return f"{name!r} begins with '__', which Kafka keeps for internal topics"
    return None


def _limited(
    where: str, value: int | None, limits: Limits, composition: Composition, violations: list[str]
) -> int | None:
    if value is None:
        return limits.default
    problem = limits.problem(value)
    if problem:
        violations.append(f"{where}: {problem} of KafkaComposition {composition.name}")
    return value


def _check_config(
    where: str, key: str, value: str, composition: Composition, violations: list[str]
) -> None:
    rule = composition.topics.rule(key)
    if rule is None:
        keys = [r.key for r in composition.topics.config_rules]
        allowed = f"it allows {', '.join(keys)}" if keys else "it allows no keys"
        violations.append(
            f"{where}: KafkaComposition {composition.name} does not let teams set this key; "
            + allowed
        )
        return
    problem = rule.problem(value)
    if problem:
        violations.append(f"{where}: {problem} (KafkaComposition {composition.name})")


def _grants(
    index: int,
    entry: Entry,
    composition: Composition,
    owner: Mapping[str, str],
    violations: list[str],
) -> list[_Grant]:
    where = f"access[{index}]"
    if entry.profile is None:
        assert entry.resource_type is not None
        name = entry.resource_name or CLUSTER_NAME
        return [
            _Grant(
                where,
                entry.resource_type,
                Pattern.parse(name, entry.pattern_type),
                entry.operations,
            )
        ]
    profile = composition.profile(entry.profile)
    if profile is None:
        violations.append(
            f"{where}.profile: KafkaComposition {composition.name} has no profile "
            f"{entry.profile!r}; it has {', '.join(composition.profile_names) or 'none'}"
        )
        return []
    needed, given = profile.variables, entry.given()
    for missing in sorted(needed - given):
        violations.append(f"{where}: profile {profile.name} needs {ENTRY_FIELDS[missing]}")
    for extra in sorted(given - needed):
        violations.append(f"{where}.{ENTRY_FIELDS[extra]}: profile {profile.name} does not use it")
    if needed - given:
        return []
    values = {
        **owner,
        "group": entry.group or "",
        "transactionalId": entry.transactional_id or "",
        "applicationId": entry.application_id or "",
    }
    grants = []
    for acl in profile.acls:
        for topic in entry.topics if "topic" in acl.variables else ("",):
            name = substitute(acl.name, {**values, "topic": topic})
            if EVERYTHING in name[:-1]:
                used = ", ".join(ENTRY_FIELDS[v] for v in sorted(acl.variables & ENTRY_VARIABLES))
                violations.append(
                    f"{where}: profile {profile.name} makes the {acl.resource_type} name "
                    f"{name!r} with a '*' inside it; give {used} without '*'"
                )
                continue
            pattern = Pattern.parse(name, acl.pattern_type)
            grants.append(_Grant(where, acl.resource_type, pattern, acl.operations))
    return grants


def _check_permits(
    grants: Iterable[_Grant],
    composition: Composition,
    owner: Mapping[str, str],
    violations: list[str],
) -> None:
    permits = [
        (p.resource_type, Pattern.parse(substitute(p.name, owner)), p.operations)
        for p in composition.permits
    ]
    for grant in grants:
        missing = [
            op
            for op in grant.operations
            if not any(
                kind == grant.resource_type and grant.pattern.within(rule) and covers(ops, op)
                for kind, rule, ops in permits
            )
        ]
        if missing:
            violations.append(
                f"{grant.where}: {', '.join(missing)} on "
                f"{describe(grant.resource_type, grant.pattern)} is not permitted in namespace "
                f"{owner['namespace']}; KafkaComposition {composition.name} permits "
                + _permits_of(grant.resource_type, permits)
            )
            continue
        for reservation in composition.reservations(grant.resource_type, grant.pattern):
            beyond = [op for op in grant.operations if not covers(reservation.operations, op)]
            if beyond:
                there = (
                    f"it grants only {', '.join(reservation.operations)} there"
                    if reservation.operations
                    else "it grants nothing there"
                )
                where = "is in" if grant.pattern.within(reservation.pattern) else "reaches into"
                violations.append(
                    f"{grant.where}: {', '.join(beyond)} on "
                    f"{describe(grant.resource_type, grant.pattern)} {where} "
                    f"{describe(reservation.resource_type, reservation.pattern)}, which "
                    f"KafkaComposition {composition.name} reserves for other compositions; " + there
                )
                break


def _permits_of(kind: str, permits: Sequence[tuple[str, Pattern, tuple[str, ...]]]) -> str:
    mine = [f"{', '.join(ops)} on {describe(k, rule)}" for k, rule, ops in permits if k == kind]
    return "; ".join(mine) if mine else f"nothing on {_NOUNS[kind][1]}"


def describe(kind: str, pattern: Pattern) -> str:
    """A resource pattern in words: ``topic a.b``, ``topics a.*``, ``every group``."""
    one, many = _NOUNS[kind]
    if kind == "Cluster":
        return "the cluster"
    if pattern.everything:
        return f"every {one}"
    if pattern.pattern_type == "Prefixed":
        return f"{many} {pattern}"
    return f"{one} {pattern.name}"


def _merge(grants: Iterable[_Grant]) -> tuple[DesiredAcl, ...]:
    merged: dict[tuple[str, Pattern], set[str]] = {}
    for grant in grants:
        merged.setdefault((grant.resource_type, grant.pattern), set()).update(grant.operations)
    return tuple(
        sorted(
            DesiredAcl(kind, pattern, tuple(op for op in OPERATIONS if op in ops))
            for (kind, pattern), ops in merged.items()
        )
    )


# -- children --------------------------------------------------------------------------


def child_name(readable: Sequence[str], identity: Sequence[str]) -> str:
    """A DNS-safe object name: ``readable`` for people, then a hash of ``identity``.

    ``identity`` is everything that tells this child from every other in the
    namespace (the parent's name, the child's kind and what it stands for).
    Hyphens and dots occur in parent names and in topic names alike, so no
    readable form could keep ``a`` + ``b-c`` apart from ``a-b`` + ``c``; the
    hash of the identity, written out unambiguously, does, so the readable
    part may be lowered, cleaned and cut freely. A name depends on nothing
    else, so it stays the same from one sync to the next.
    """
    natural = "-".join(readable)
    labels = [re.sub(r"[^a-z0-9-]+", "-", label).strip("-") for label in natural.lower().split(".")]
    clean = ".".join(label for label in labels if label) or "child"
    clean = clean[: MAX_NAME - HASH_LENGTH - 1].rstrip("-.")
    return f"{clean}-{identity_hash(identity)}"


def identity_hash(identity: Sequence[str]) -> str:
    """``HASH_LENGTH`` characters (a-z, 2-7) of the SHA-256 of ``identity`` as JSON."""
    encoded = json.dumps(list(identity), separators=(",", ":"), ensure_ascii=True).encode()
    digest = base64.b32encode(hashlib.sha256(encoded).digest()).decode().lower()
    return digest[:HASH_LENGTH]


def topic_child_name(parent_name: str, entry: str) -> str:
    """The KafkaTopic for ``spec.topics[].name`` ``entry`` of KafkaAccess ``parent_name``."""
    return child_name((parent_name, entry), ("KafkaTopic", parent_name, entry))


def label_value(value: str) -> str:
    """A label value: object names already fit, but only up to 63 characters."""
    if len(value) <= MAX_NAME:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{value[: MAX_NAME - 9].rstrip('-.')}-{digest}"


def children(parent: Parent, rendering: Rendering) -> list[dict[str, Any]]:
    """The KafkaTopics, then the KafkaACLs, as Metacontroller should apply them."""
    labels = {
        LABEL_MANAGED_BY: "kafka-access",
        LABEL_ACCESS: label_value(parent.name),
        LABEL_COMPOSITION: label_value(rendering.composition),
    }
    cluster = {"name": rendering.cluster}
    out = []
    for topic in rendering.topics:
        spec: dict[str, Any] = {"clusterRef": cluster, "topicName": topic.topic_name}
        if topic.partitions is not None:
            spec["partitions"] = topic.partitions
        if topic.replication_factor is not None:
            spec["replicationFactor"] = topic.replication_factor
        if topic.config:
            spec["config"] = dict(topic.config)
        spec["deletionPolicy"] = rendering.deletion_policy
        spec["adoptExisting"] = rendering.adopt_existing
        out.append(
            _child("KafkaTopic", topic_child_name(parent.name, topic.entry), parent, labels, spec)
        )
    for acl in rendering.acls:
        resource: dict[str, Any] = {"type": acl.resource_type}
        if acl.resource_type != "Cluster":
            resource["name"] = acl.pattern.name
        resource["patternType"] = acl.pattern.pattern_type
        spec = {
            "clusterRef": cluster,
            "principal": rendering.principal,
            "host": "*",
            "resource": resource,
            "operations": list(acl.operations),
            "permission": "Allow",
            "deletionPolicy": "Delete",
        }
        out.append(_child("KafkaACL", acl_child_name(parent.name, acl), parent, labels, spec))
    return out


def acl_child_name(parent_name: str, acl: DesiredAcl) -> str:
    """The KafkaACL for one resource pattern of KafkaAccess ``parent_name``."""
    word = _CHILD_WORDS[acl.resource_type]
    identity = (
        "KafkaACL",
        parent_name,
        acl.resource_type,
        acl.pattern.pattern_type,
        acl.pattern.name,
    )
    if acl.resource_type == "Cluster":
        return child_name((parent_name, word), identity)
    if acl.pattern.pattern_type == "Prefixed":
        word += "s"  # "topics team-a.": every topic with that prefix
    return child_name((parent_name, word, acl.pattern.name), identity)


def _child(
    kind: str, name: str, parent: Parent, labels: Mapping[str, str], spec: dict[str, Any]
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if parent.namespace:
        meta["namespace"] = parent.namespace
    meta["labels"] = dict(labels)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


def kept_children(request: SyncRequest) -> list[dict[str, Any]]:
    """Every observed child, stripped to what was applied, so applying it changes nothing."""
    out = []
    for group in sorted(request.children):
        for _, obj in sorted(request.children_of(group).items()):
            if isinstance(obj, Mapping):
                out.append(_stripped(obj))
    return out


def _stripped(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = _mapping(obj.get("metadata"))
    kept: dict[str, Any] = {"name": meta.get("name")}
    if meta.get("namespace"):
        kept["namespace"] = meta["namespace"]
    if _mapping(meta.get("labels")):
        kept["labels"] = dict(meta["labels"])
    annotations = {
        k: v for k, v in _mapping(meta.get("annotations")).items() if k not in LAST_APPLIED
    }
    if annotations:
        kept["annotations"] = annotations
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": kept,
        "spec": obj.get("spec") or {},
    }


# -- status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildState:
    kind: str
    name: str
    ready: bool
    reason: str
    message: str


def child_state(desired: Mapping[str, Any], request: SyncRequest) -> ChildState:
    """Whether one child is ready, judged from its observed object."""
    kind, meta = desired["kind"], desired["metadata"]
    key = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
    label = f"{kind} {key}"
    observed = request.children_of(f"{kind}.{desired['apiVersion']}").get(key)
    if not isinstance(observed, Mapping):
        return ChildState(
            kind, meta["name"], False, "WaitingForChild", f"{label} does not exist yet"
        )
    seen = _mapping(observed.get("metadata"))
    status = _mapping(observed.get("status"))
    if seen.get("deletionTimestamp"):
        return ChildState(kind, meta["name"], False, "Deleting", f"{label} is being deleted")
    if not applied(desired.get("spec") or {}, observed.get("spec") or {}):
        return ChildState(
            kind,
            meta["name"],
            False,
            "WaitingForChild",
            f"{label} is being updated to the new spec",
        )
    generation, observed_generation = seen.get("generation"), status.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed_generation, int):
        if observed_generation < generation:
            return ChildState(
                kind,
                meta["name"],
                False,
                "WaitingForChild",
                f"{label} has not yet reconciled generation {generation}",
            )
    conditions = status.get("conditions")
    for item in conditions if isinstance(conditions, list) else ():
        if isinstance(item, Mapping) and item.get("type") == "Ready":
            if item.get("status") == "True":
                return ChildState(kind, meta["name"], True, "Available", "")
            reason = str(item.get("reason") or "WaitingForChild")
            return ChildState(
                kind, meta["name"], False, reason, f"{label}: {item.get('message', '')}"
            )
    return ChildState(
        kind, meta["name"], False, "WaitingForChild", f"{label} has reported no status yet"
    )


def applied(desired: Any, observed: Any) -> bool:
    """Whether ``observed`` holds everything ``desired`` says (API defaults may add more)."""
    if isinstance(desired, Mapping):
        return isinstance(observed, Mapping) and all(
            key in observed and applied(value, observed[key]) for key, value in desired.items()
        )
    return desired == observed


def status(
    request: SyncRequest, shown: Sequence[Mapping[str, Any]], outcome: Rendering | Failure
) -> tuple[dict[str, Any], list[cond.Condition]]:
    """Status fields and conditions, from the children answered and how the render went."""
    states = [child_state(child, request) for child in shown]
    fields: dict[str, Any] = {}
    if isinstance(outcome, Rendering):
        fields.update(composition=outcome.composition, cluster=outcome.cluster)
        fields["principal"] = outcome.principal
    elif shown:
        previous = request.parent.status
        for key in ("composition", "cluster", "principal"):
            if isinstance(previous.get(key), str):
                fields[key] = previous[key]
    fields["topics"] = [
        {
            "name": _mapping(child["spec"]).get("topicName"),
            "child": state.name,
            "ready": state.ready,
        }
        for child, state in zip(shown, states, strict=True)
        if child["kind"] == "KafkaTopic"
    ]
    fields["access"] = [
        _granted(child, state)
        for child, state in zip(shown, states, strict=True)
        if child["kind"] == "KafkaACL"
    ]
    fields["childrenReady"] = f"{sum(s.ready for s in states)}/{len(states)}"
    if isinstance(outcome, Failure) and outcome.violations:
        fields["violations"] = list(outcome.violations)
    return fields, [_ready(states, outcome), _synced(outcome)]


def _granted(child: Mapping[str, Any], state: ChildState) -> dict[str, Any]:
    spec = _mapping(child.get("spec"))
    resource = _mapping(spec.get("resource"))
    entry = {"resourceType": resource.get("type")}
    entry["resourceName"] = resource.get("name", CLUSTER_NAME)
    entry["patternType"] = resource.get("patternType", "Literal")
    operations = spec.get("operations")
    entry.update(
        operations=list(operations) if isinstance(operations, list) else [],
        child=state.name,
        ready=state.ready,
    )
    return entry


def _ready(states: Sequence[ChildState], outcome: Rendering | Failure) -> cond.Condition:
    if not states and isinstance(outcome, Failure):
        if outcome.violations:
            return cond.not_ready(
                outcome.reason,
                f"nothing is granted: the spec breaks {len(outcome.violations)} rule(s), "
                "listed in status.violations",
            )
        return cond.not_ready(outcome.reason, outcome.message)
    waiting = [s for s in states if not s.ready]
    if not waiting:
        if not states:
            return cond.ready(
                "Available", "nothing to grant: the spec lists no topics and no access"
            )
        return cond.ready("Available", f"all {len(states)} children are ready")
    first = waiting[0]
    return cond.not_ready(
        first.reason, f"{first.message} ({len(waiting)} of {len(states)} children are not ready)"
    )


def _synced(outcome: Rendering | Failure) -> cond.Condition:
    if isinstance(outcome, Failure):
        return cond.not_synced(outcome.reason, outcome.message)
    return cond.synced(
        "ReconcileSuccess",
        f"rendered {len(outcome.topics)} topic(s) and {len(outcome.acls)} ACL(s) "
        f"with KafkaComposition {outcome.composition}",
    )


def remembered(request: SyncRequest) -> dict[str, Any]:
    """Status fields to carry through a finalize."""
    previous = request.parent.status
    return {
        k: previous[k]
        for k in ("composition", "cluster", "principal")
        if isinstance(previous.get(k), str)
    }
