"""KafkaComposition: a platform team's rules for what a KafkaAccess may become.

A composition is data. It says how owned topics are named and which names a
namespace may own, the limits and defaults of partitions, replication factor
and topic config, which principal an application runs as, which resources a
namespace may be granted which operations on, and the access profiles
(``produce``, ``consume``, ...) as ACL templates. This module parses a
composition into frozen values and answers the questions ``access.py`` asks
of it; it never decides anything a composition does not say.

Templates name variables in braces: ``{namespace}`` and ``{name}`` (of the
KafkaAccess) everywhere, ``{topic}`` in topic naming and profiles, and
``{group}``, ``{transactionalId}``, ``{applicationId}`` in profiles. A name
that ends in ``*`` is a prefix; ``*`` alone is every name.

``reserved`` names resources that belong to other compositions (the
``shared.`` topics of ``shared-topics`` under ``services``): whatever a
namespace is called, and so whatever ``{namespace}.*`` becomes, no
KafkaAccess owns a topic there or is granted more than the reservation's
operations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from . import canonical
from .acl import CLUSTER_NAME, OPERATIONS, PATTERN_TYPES, RESOURCE_TYPES
from .specs import (
    DELETION_POLICIES,
    DeletionPolicy,
    _Base,
    _ConfigValue,
    _load,
    _one_of,
    _RefSchema,
)

KIND = "KafkaComposition"
EVERYTHING = "*"
# The most topics one KafkaAccess may own (the CRD's maxItems of spec.topics).
MAX_TOPICS_PER_ACCESS = 1000
PROFILE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_VARIABLE = re.compile(r"\{([A-Za-z]+)\}")

# Which variables each kind of template may use.
OWNER_VARIABLES = frozenset({"namespace", "name"})
NAMING_VARIABLES = OWNER_VARIABLES | {"topic"}
ENTRY_VARIABLES = frozenset({"topic", "group", "transactionalId", "applicationId"})
PROFILE_VARIABLES = OWNER_VARIABLES | ENTRY_VARIABLES

# Kafka's implications: an ACL for the key also allows the values.
IMPLIED: Mapping[str, frozenset[str]] = {
    "Read": frozenset({"Describe"}),
    "Write": frozenset({"Describe"}),
    "Delete": frozenset({"Describe"}),
    "Alter": frozenset({"Describe"}),
    "AlterConfigs": frozenset({"DescribeConfigs"}),
}


# -- templates and name patterns ---------------------------------------------


def variables(template: str) -> frozenset[str]:
    """The variables a template uses."""
    return frozenset(_VARIABLE.findall(template))


def substitute(template: str, values: Mapping[str, str]) -> str:
    """Fill in a template; raises ``KeyError`` naming a variable without a value."""
    return _VARIABLE.sub(lambda match: values[match.group(1)], template)


def _template(allowed: frozenset[str], star: str = "end") -> Any:
    """A marshmallow validator for a template that may use ``allowed``.

    ``star`` says where ``*`` may stand: at the ``end`` (a prefix),
    ``anywhere`` (a principal pattern) or ``nowhere``.
    """

    def check(value: str) -> None:
        unknown = sorted(variables(value) - allowed)
        if unknown:
            usable = (
                f"here a template may use {', '.join('{' + a + '}' for a in sorted(allowed))}"
                if allowed
                else "here a name is fixed and uses no variables"
            )
            raise ValidationError(
                f"{value!r} uses {', '.join('{' + u + '}' for u in unknown)}; {usable}"
            )
        rest = _VARIABLE.sub("", value)
        if "{" in rest or "}" in rest:
            raise ValidationError(f"{value!r} has a brace that opens or closes no variable")
        if star == "nowhere" and EVERYTHING in value:
            raise ValidationError(f"{value!r}: '*' is not allowed here")
        if star == "end" and EVERYTHING in value[:-1]:
            raise ValidationError(f"{value!r}: '*' may only end a name, as a prefix")

    return check


@dataclass(frozen=True, order=True)
class Pattern:
    """A resource name as Kafka matches it: one name, or every name with a prefix.

    ``Literal *`` is every resource of its type.
    """

    pattern_type: str
    name: str

    @classmethod
    def parse(cls, text: str, pattern_type: str | None = None) -> Pattern:
        """Read ``name``, ``prefix*`` or ``*``; an explicit Prefixed makes a prefix."""
        if text == EVERYTHING or (pattern_type == "Prefixed" and text in ("", EVERYTHING)):
            return cls("Literal", EVERYTHING)
        if text.endswith(EVERYTHING):
            return cls("Prefixed", text[:-1])
        return cls(pattern_type or "Literal", text)

    @property
    def everything(self) -> bool:
        return self.pattern_type == "Literal" and self.name == EVERYTHING

    def overlaps(self, other: Pattern) -> bool:
        """Whether some name is matched by both patterns."""
        if self.everything or other.everything:
            return True
        if self.pattern_type == "Prefixed" and other.pattern_type == "Prefixed":
            return self.name.startswith(other.name) or other.name.startswith(self.name)
        if self.pattern_type == "Prefixed":
            return other.name.startswith(self.name)
        if other.pattern_type == "Prefixed":
            return self.name.startswith(other.name)
        return self.name == other.name

    def within(self, rule: Pattern) -> bool:
        """Whether every name this pattern matches is matched by ``rule`` too."""
        if rule.everything:
            return True
        if self.everything:
            return False
        if rule.pattern_type == "Prefixed":
            return self.name.startswith(rule.name)
        return self == rule

    def __str__(self) -> str:
        return self.name + EVERYTHING if self.pattern_type == "Prefixed" else self.name


def covers(granted: Iterable[str], operation: str) -> bool:
    """Whether a set of allowed operations includes ``operation``."""
    granted = set(granted)
    if "All" in granted or operation in granted:
        return True
    return any(operation in IMPLIED.get(each, ()) for each in granted)


# -- values --------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Default, minimum and maximum of an integer; None where the composition says nothing."""

    default: int | None = None
    minimum: int | None = None
    maximum: int | None = None

    def problem(self, value: int) -> str | None:
        if self.minimum is not None and value < self.minimum:
            return f"{value} is below the minimum {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"{value} is above the maximum {self.maximum}"
        return None


@dataclass(frozen=True)
class ConfigRule:
    """What a team may set one config key to: a range, a list of values, or anything."""

    key: str
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    values: tuple[str, ...] | None = None

    def problem(self, value: str) -> str | None:
        if self.values is not None and value not in self.values:
            return f"{value!r} is not one of {', '.join(repr(v) for v in self.values)}"
        if self.minimum is None and self.maximum is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            return f"{value!r} is not a number"
        if not number.is_finite():
            return f"{value!r} is not a finite number"
        if self.minimum is not None and number < self.minimum:
            return f"{value} is below the minimum {_number(self.minimum)}"
        if self.maximum is not None and number > self.maximum:
            return f"{value} is above the maximum {_number(self.maximum)}"
        return None


def _number(value: Decimal) -> str:
    return canonical.config_value(str(value))


@dataclass(frozen=True)
class TopicPolicy:
    naming: str
    allowed_names: tuple[str, ...]
    max_per_access: int | None
    partitions: Limits
    replication_factor: Limits
    config_defaults: tuple[tuple[str, str], ...]
    config_rules: tuple[ConfigRule, ...]
    deletion_policy: DeletionPolicy
    adopt_existing: bool

    def rule(self, key: str) -> ConfigRule | None:
        return next((rule for rule in self.config_rules if rule.key == key), None)


@dataclass(frozen=True)
class PrincipalPolicy:
    template: str | None
    allow_principal: bool
    allow_principal_from: bool
    must_match: tuple[str, ...]


@dataclass(frozen=True)
class AclTemplate:
    """One ACL of a profile, or one permit: a resource template and operations."""

    resource_type: str
    name: str  # a template; ``kafka-cluster`` for the Cluster resource
    pattern_type: str | None
    operations: tuple[str, ...]

    @property
    def variables(self) -> frozenset[str]:
        return variables(self.name)


@dataclass(frozen=True)
class Reservation:
    """Resources that belong elsewhere: owned by no KafkaAccess of this composition,
    granted nothing beyond ``operations``, whatever the namespace is called."""

    resource_type: str
    pattern: Pattern
    operations: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    acls: tuple[AclTemplate, ...]

    @property
    def variables(self) -> frozenset[str]:
        """The entry fields (topic, group, ...) this profile needs filled in."""
        return frozenset().union(*(acl.variables for acl in self.acls)) & ENTRY_VARIABLES


@dataclass(frozen=True)
class Composition:
    name: str
    default: bool
    cluster: str | None
    topics: TopicPolicy
    principal: PrincipalPolicy
    permits: tuple[AclTemplate, ...]
    profiles: tuple[Profile, ...]
    reserved: tuple[Reservation, ...] = ()

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def reservations(self, resource_type: str, pattern: Pattern) -> tuple[Reservation, ...]:
        """The reservations of ``resource_type`` that share a name with ``pattern``."""
        return tuple(
            r
            for r in self.reserved
            if r.resource_type == resource_type and r.pattern.overlaps(pattern)
        )

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)


# -- the schema ------------------------------------------------------------------


class _LimitsSchema(_Base):
    default = fields.Integer(strict=True, validate=validate.Range(min=1))
    min = fields.Integer(strict=True, validate=validate.Range(min=1))
    max = fields.Integer(strict=True, validate=validate.Range(min=1))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        low, high, default = data.get("min"), data.get("max"), data.get("default")
        if low is not None and high is not None and low > high:
            raise ValidationError(f"min {low} is above max {high}")
        if default is not None and Limits(None, low, high).problem(default):
            raise ValidationError(
                f"default {default}: {Limits(None, low, high).problem(default)}", "default"
            )


class _Number(fields.Field):
    """A number as YAML gives it, or as a string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValidationError(f"expected a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"expected a finite number, got {value!r}")
        try:
            number = Decimal(canonical.config_value(value))
        except InvalidOperation as error:
            raise ValidationError(f"expected a number, got {value!r}") from error
        if not number.is_finite():
            raise ValidationError(f"expected a finite number, got {value!r}")
        return number


class _ConfigRuleSchema(_Base):
    min = _Number()
    max = _Number()
    values = fields.List(_ConfigValue(), validate=validate.Length(min=1))

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        if "values" in data and ("min" in data or "max" in data):
            raise ValidationError("give a range (min, max) or a list of values, not both")
        if "min" in data and "max" in data and data["min"] > data["max"]:
            raise ValidationError(f"min {_number(data['min'])} is above max {_number(data['max'])}")


class _ConfigPolicySchema(_Base):
    defaults = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)), values=_ConfigValue()
    )
    allowed = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)), values=fields.Nested(_ConfigRuleSchema)
    )


class _NamingSchema(_Base):
    template = fields.String(validate=_template(NAMING_VARIABLES, star="nowhere"))
    allowed = fields.List(
        fields.String(validate=_template(OWNER_VARIABLES)), validate=validate.Length(min=1)
    )


class _TopicPolicySchema(_Base):
    naming = fields.Nested(_NamingSchema)
    maxPerAccess = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=MAX_TOPICS_PER_ACCESS)
    )
    partitions = fields.Nested(_LimitsSchema)
    replicationFactor = fields.Nested(_LimitsSchema)
    config = fields.Nested(_ConfigPolicySchema)
    deletionPolicy = fields.String(load_default="Delete", validate=_one_of(DELETION_POLICIES))
    adoptExisting = fields.Boolean(load_default=False)


class _PrincipalPolicySchema(_Base):
    template = fields.String(validate=_template(OWNER_VARIABLES, star="nowhere"))
    allowPrincipal = fields.Boolean(load_default=False)
    allowPrincipalFrom = fields.Boolean(load_default=False)
    mustMatch = fields.List(fields.String(validate=_template(OWNER_VARIABLES, star="anywhere")))

    @validates_schema
    def _some_principal(self, data: dict[str, Any], **_: Any) -> None:
        if "template" not in data and not (data["allowPrincipal"] or data["allowPrincipalFrom"]):
            raise ValidationError(
                "give a template, or let a KafkaAccess name its principal "
                "(allowPrincipal or allowPrincipalFrom)"
            )


def _resource_schema(allowed: frozenset[str], pattern_type: bool) -> type[_Base]:
    class _Resource(_Base):
        type = fields.String(required=True, validate=_one_of(RESOURCE_TYPES))
        name = fields.String(validate=[validate.Length(min=1, max=255), _template(allowed)])
        if pattern_type:
            patternType = fields.String(validate=_one_of(PATTERN_TYPES))

        @validates_schema
        def _named(self, data: dict[str, Any], **_: Any) -> None:
            if data.get("type") == "Cluster":
                if data.get("name", CLUSTER_NAME) != CLUSTER_NAME:
                    raise ValidationError(
                        f"the Cluster resource is always named {CLUSTER_NAME}; leave name out",
                        "name",
                    )
            elif "type" in data and "name" not in data:
                raise ValidationError(f"a {data['type']} resource needs a name", "name")

    return _Resource


def _acl_schema(allowed: frozenset[str], pattern_type: bool) -> type[_Base]:
    class _Acl(_Base):
        resource = fields.Nested(_resource_schema(allowed, pattern_type), required=True)
        operations = fields.List(
            fields.String(validate=_one_of(OPERATIONS)),
            required=True,
            validate=validate.Length(min=1, error="list at least one operation"),
        )

    return _Acl


class _ReservedSchema(_Base):
    resource = fields.Nested(_resource_schema(frozenset(), pattern_type=False), required=True)
    operations = fields.List(fields.String(validate=_one_of(OPERATIONS)), load_default=list)


class _ProfileSchema(_Base):
    description = fields.String(load_default="")
    acls = fields.List(
        fields.Nested(_acl_schema(PROFILE_VARIABLES, pattern_type=True)),
        required=True,
        validate=validate.Length(min=1, error="a profile grants at least one ACL"),
    )


def _profile_name(value: str) -> None:
    if not PROFILE_NAME.match(value):
        raise ValidationError(
            f"profile name {value!r}: use 1 to 63 of a-z, 0-9 and '-', starting and ending "
            "with a letter or digit"
        )


class _CompositionSchema(_Base):
    default = fields.Boolean(load_default=False)
    clusterRef = fields.Nested(_RefSchema)
    topics = fields.Nested(_TopicPolicySchema)
    principal = fields.Nested(_PrincipalPolicySchema, required=True)
    access = fields.List(fields.Nested(_acl_schema(OWNER_VARIABLES, pattern_type=False)))
    reserved = fields.List(fields.Nested(_ReservedSchema))
    profiles = fields.Dict(
        keys=fields.String(validate=_profile_name), values=fields.Nested(_ProfileSchema)
    )


def parse_composition(name: str, raw: Mapping[str, Any]) -> Composition:
    """Parse a KafkaComposition spec; raises ``SpecError`` naming each bad field."""
    data = _load(_CompositionSchema(), raw)
    topics = data.get("topics") or {}
    naming = topics.get("naming") or {}
    config = topics.get("config") or {}
    principal = data["principal"]
    reserved = tuple(_reservation(item) for item in data.get("reserved") or ())
    return Composition(
        name=name,
        default=data["default"],
        cluster=(data.get("clusterRef") or {}).get("name"),
        topics=TopicPolicy(
            naming=naming.get("template", "{topic}"),
            allowed_names=tuple(naming.get("allowed", ["{namespace}.*"])),
            max_per_access=topics.get("maxPerAccess"),
            partitions=_limits(topics.get("partitions")),
            replication_factor=_limits(topics.get("replicationFactor")),
            config_defaults=tuple(sorted((config.get("defaults") or {}).items())),
            config_rules=tuple(
                ConfigRule(key, rule.get("min"), rule.get("max"), _values(rule))
                for key, rule in sorted((config.get("allowed") or {}).items())
            ),
            deletion_policy=topics.get("deletionPolicy", "Delete"),
            adopt_existing=topics.get("adoptExisting", False),
        ),
        principal=PrincipalPolicy(
            template=principal.get("template"),
            allow_principal=principal["allowPrincipal"],
            allow_principal_from=principal["allowPrincipalFrom"],
            must_match=tuple(principal.get("mustMatch") or ()),
        ),
        permits=tuple(_acl(item) for item in data.get("access") or ()),
        profiles=tuple(
            Profile(key, value["description"], tuple(_acl(item) for item in value["acls"]))
            for key, value in sorted((data.get("profiles") or {}).items())
        ),
        reserved=reserved,
    )


def _limits(raw: Mapping[str, Any] | None) -> Limits:
    raw = raw or {}
    return Limits(raw.get("default"), raw.get("min"), raw.get("max"))


def _values(rule: Mapping[str, Any]) -> tuple[str, ...] | None:
    values = rule.get("values")
    return tuple(dict.fromkeys(values)) if values is not None else None


def _reservation(raw: Mapping[str, Any]) -> Reservation:
    resource = raw["resource"]
    return Reservation(
        resource_type=resource["type"],
        pattern=Pattern.parse(resource.get("name", CLUSTER_NAME)),
        operations=tuple(op for op in OPERATIONS if op in raw["operations"]),
    )


def _acl(raw: Mapping[str, Any]) -> AclTemplate:
    resource = raw["resource"]
    return AclTemplate(
        resource_type=resource["type"],
        name=resource.get("name", CLUSTER_NAME),
        pattern_type=resource.get("patternType"),
        operations=tuple(op for op in OPERATIONS if op in raw["operations"]),
    )


# -- principal patterns ---------------------------------------------------------


def principal_pattern(pattern: str) -> re.Pattern[str]:
    """A ``mustMatch`` pattern as a regex: ``*`` stands for any one attribute value.

    The star stops at an unescaped ``,`` or ``+``, so ``CN=*,OU=team-a`` never
    matches a subject with more attributes in between.
    """
    parts = [re.escape(part) for part in pattern.split(EVERYTHING)]
    return re.compile(r"(?:[^,+\\]|\\.)*".join(parts) + r"\Z")
