"""Table tests of KafkaComposition: parsing, name patterns, operations, principal patterns."""

from decimal import Decimal

import pytest

from hooks.core.composition import (
    ConfigRule,
    Limits,
    Pattern,
    covers,
    parse_composition,
    principal_pattern,
    substitute,
    variables,
)
from hooks.core.specs import SpecError

MINIMAL = {"principal": {"template": "User:CN={name},OU={namespace}"}}


def spec(**changes):
    return {**MINIMAL, **changes}


# -- parsing -------------------------------------------------------------------

GOOD = [
    # case, reason, spec, check
    (
        "minimal",
        "a principal template is all a composition needs; the rest has defaults",
        MINIMAL,
        lambda c: (
            c.topics.naming == "{topic}"
            and c.topics.allowed_names == ("{namespace}.*",)
            and c.topics.deletion_policy == "Delete"
            and c.permits == ()
            and c.profiles == ()
            and c.default is False
        ),
    ),
    (
        "operations in Kafka's order",
        "operations are kept in one order, so a profile renders the same list every time",
        spec(
            profiles={
                "p": {
                    "acls": [
                        {
                            "resource": {"type": "Topic", "name": "{topic}"},
                            "operations": ["Write", "Read"],
                        }
                    ]
                }
            }
        ),
        lambda c: c.profile("p").acls[0].operations == ("Read", "Write"),
    ),
    (
        "cluster resource",
        "the Cluster resource needs no name and gets Kafka's",
        spec(access=[{"resource": {"type": "Cluster"}, "operations": ["Describe"]}]),
        lambda c: c.permits[0].name == "kafka-cluster",
    ),
    (
        "config values canonical",
        "allowed values and defaults compare in canonical form",
        spec(
            topics={
                "config": {
                    "defaults": {"retention.ms": "0604800000"},
                    "allowed": {"cleanup.policy": {"values": ["compact, delete"]}},
                }
            }
        ),
        lambda c: (
            c.topics.config_defaults == (("retention.ms", "604800000"),)
            and c.topics.rule("cleanup.policy").values == ("compact,delete",)
        ),
    ),
    (
        "ranges as strings",
        "a decimal range may be written quoted",
        spec(
            topics={
                "config": {"allowed": {"min.cleanable.dirty.ratio": {"min": "0.1", "max": "0.9"}}}
            }
        ),
        lambda c: c.topics.rule("min.cleanable.dirty.ratio").maximum == Decimal("0.9"),
    ),
    (
        "principal from certificates only",
        "a composition may have no template if every KafkaAccess names its certificate",
        {"principal": {"allowPrincipalFrom": True}},
        lambda c: c.principal.template is None and c.principal.allow_principal_from,
    ),
]


@pytest.mark.parametrize(("case", "reason", "raw", "check"), GOOD, ids=[g[0] for g in GOOD])
def test_composition_parses(case, reason, raw, check):
    assert check(parse_composition("c", raw)), reason


BAD = [
    # case, reason, spec, want (a fragment of the message)
    ("no principal", "a composition must say who the children grant to", {}, "spec.principal"),
    (
        "no way to a principal",
        "without a template a KafkaAccess must be allowed to name one",
        {"principal": {}},
        "give a template",
    ),
    (
        "unknown variable",
        "a misspelt variable is caught when the composition is read, not at render",
        spec(topics={"naming": {"template": "{team}.{topic}"}}),
        "uses {team}",
    ),
    (
        "profile variable in a permit",
        "permits may only use the owner's variables",
        spec(access=[{"resource": {"type": "Topic", "name": "{topic}"}, "operations": ["Read"]}]),
        "uses {topic}",
    ),
    (
        "star inside a name",
        "a wildcard may only end a name",
        spec(access=[{"resource": {"type": "Topic", "name": "a*b"}, "operations": ["Read"]}]),
        "'*' may only end a name",
    ),
    (
        "star in the naming template",
        "an owned topic has one name, never a pattern",
        spec(topics={"naming": {"template": "{topic}*"}}),
        "'*' is not allowed here",
    ),
    (
        "lone brace",
        "a brace that opens no variable is a typo",
        spec(topics={"naming": {"template": "{namespace.{topic}"}}),
        "brace",
    ),
    (
        "min above max",
        "limits must be ordered",
        spec(topics={"partitions": {"min": 12, "max": 6}}),
        "min 12 is above max 6",
    ),
    (
        "default outside limits",
        "a default the composition itself would refuse",
        spec(topics={"partitions": {"default": 30, "max": 24}}),
        "default 30: 30 is above the maximum 24",
    ),
    (
        "range and values",
        "a config rule is a range or a list, not both",
        spec(topics={"config": {"allowed": {"k": {"min": 1, "values": [1]}}}}),
        "not both",
    ),
    (
        "range not a number",
        "ranges are numbers",
        spec(topics={"config": {"allowed": {"k": {"min": "ten"}}}}),
        "expected a number",
    ),
    (
        "unknown operation",
        "operations are Kafka's words",
        spec(access=[{"resource": {"type": "Topic", "name": "x"}, "operations": ["Produce"]}]),
        "expected one of Read",
    ),
    (
        "named cluster",
        "the Cluster resource has one name",
        spec(access=[{"resource": {"type": "Cluster", "name": "mine"}, "operations": ["Alter"]}]),
        "always named kafka-cluster",
    ),
    (
        "topic without a name",
        "every resource but the cluster is named",
        spec(access=[{"resource": {"type": "Topic"}, "operations": ["Read"]}]),
        "a Topic resource needs a name",
    ),
    (
        "empty profile",
        "a profile grants something",
        spec(profiles={"p": {"acls": []}}),
        "at least one ACL",
    ),
    (
        "profile name",
        "profile names are what a KafkaAccess writes: lower case and dashes",
        spec(
            profiles={
                "Consume": {"acls": [{"resource": {"type": "Cluster"}, "operations": ["Describe"]}]}
            }
        ),
        "profile name 'Consume'",
    ),
    ("unknown field", "a misspelt field is not ignored", spec(defualt=True), "Unknown field"),
    (
        "deletion policy words",
        "enum words are CamelCase",
        spec(topics={"deletionPolicy": "orphan"}),
        "expected one of Delete, Orphan",
    ),
]


@pytest.mark.parametrize(("case", "reason", "raw", "want"), BAD, ids=[b[0] for b in BAD])
def test_composition_is_refused(case, reason, raw, want):
    with pytest.raises(SpecError) as error:
        parse_composition("c", raw)

    assert want in str(error.value), f"{reason}: got {error.value}"


def test_every_problem_is_named_at_once():
    raw = spec(
        topics={"partitions": {"min": 5, "max": 1}, "naming": {"template": "{x}"}},
        access=[{"resource": {"type": "Topic", "name": "{y}"}, "operations": ["Read"]}],
    )
    with pytest.raises(SpecError) as error:
        parse_composition("c", raw)

    assert len(error.value.problems) == 3


# -- templates -------------------------------------------------------------------

TEMPLATES = [
    # case, reason, template, values, want
    ("plain", "no variables, no change", "orders", {}, "orders"),
    (
        "two",
        "each variable is filled in",
        "{namespace}.{topic}",
        {"namespace": "a", "topic": "b"},
        "a.b",
    ),
    (
        "no format injection",
        "values are inserted as text; braces in them are not templates",
        "{topic}",
        {"topic": "{namespace}"},
        "{namespace}",
    ),
]


@pytest.mark.parametrize(
    ("case", "reason", "template", "values", "want"), TEMPLATES, ids=[t[0] for t in TEMPLATES]
)
def test_substitute(case, reason, template, values, want):
    assert substitute(template, values) == want, reason


def test_variables_and_a_missing_value():
    assert variables("{applicationId}-{topic}") == {"applicationId", "topic"}
    with pytest.raises(KeyError):
        substitute("{group}", {})


# -- name patterns ------------------------------------------------------------------

WITHIN = [
    # case, reason, requested, rule, want
    ("same name", "a name is within itself", "team-a.x", "team-a.x", True),
    ("name under prefix", "a name the prefix starts", "team-a.x", "team-a.*", True),
    ("narrower prefix", "a longer prefix reaches less far", "team-a.orders.*", "team-a.*", True),
    ("same prefix", "a prefix is within itself", "team-a.*", "team-a.*", True),
    ("broader prefix", "team-a* also reaches team-ab", "team-a*", "team-a.*", False),
    ("other namespace", "another namespace's topic", "team-b.x", "team-a.*", False),
    ("wildcard", "* reaches every name", "*", "team-a.*", False),
    ("anything under everything", "a rule of * permits any name", "team-b.x", "*", True),
    ("wildcard under everything", "a rule of * permits *", "*", "*", True),
    ("prefix under a name", "a literal rule permits one name only", "team-a.*", "team-a.", False),
    ("other name", "a literal rule permits one name only", "team-a.y", "team-a.x", False),
]


@pytest.mark.parametrize(
    ("case", "reason", "requested", "rule", "want"), WITHIN, ids=[w[0] for w in WITHIN]
)
def test_pattern_within(case, reason, requested, rule, want):
    assert Pattern.parse(requested).within(Pattern.parse(rule)) is want, reason


PARSE = [
    # case, reason, text, pattern type, want
    ("literal", "a name is literal", "a.b", None, Pattern("Literal", "a.b")),
    ("prefix", "a trailing * makes a prefix", "a.*", None, Pattern("Prefixed", "a.")),
    ("everything", "* alone is Kafka's wildcard", "*", None, Pattern("Literal", "*")),
    ("explicit prefix", "Prefixed needs no *", "a.", "Prefixed", Pattern("Prefixed", "a.")),
    ("empty prefix", "a prefix of nothing is every name", "", "Prefixed", Pattern("Literal", "*")),
]


@pytest.mark.parametrize(
    ("case", "reason", "text", "kind", "want"), PARSE, ids=[p[0] for p in PARSE]
)
def test_pattern_parse(case, reason, text, kind, want):
    assert Pattern.parse(text, kind) == want, reason


# -- operations -----------------------------------------------------------------------

COVERS = [
    # case, reason, granted, operation, want
    ("listed", "an operation listed is allowed", ["Write"], "Write", True),
    ("not listed", "Read does not allow Write", ["Read"], "Write", False),
    ("implied describe", "Read implies Describe in Kafka", ["Read"], "Describe", True),
    (
        "implied configs",
        "AlterConfigs implies DescribeConfigs",
        ["AlterConfigs"],
        "DescribeConfigs",
        True,
    ),
    ("no reverse", "Describe does not imply Read", ["Describe"], "Read", False),
    ("all", "All allows every operation", ["All"], "Create", True),
    ("asking for all", "asking for All needs All", ["Read", "Write"], "All", False),
]


@pytest.mark.parametrize(
    ("case", "reason", "granted", "operation", "want"), COVERS, ids=[c[0] for c in COVERS]
)
def test_covers(case, reason, granted, operation, want):
    assert covers(granted, operation) is want, reason


# -- limits and config rules ------------------------------------------------------------

RULES = [
    # case, reason, rule, value, want (None: allowed)
    ("in range", "a value within the range", Limits(None, 1, 10), 5, None),
    ("below", "below the minimum", Limits(None, 2, 10), 1, "1 is below the minimum 2"),
    ("above", "above the maximum", Limits(None, 1, 10), 11, "11 is above the maximum 10"),
    ("open", "no limits, any value", Limits(), 10**6, None),
    ("any value", "{} allows any value", ConfigRule("k"), "whatever", None),
    ("listed value", "one of the values", ConfigRule("k", values=("a", "b")), "b", None),
    (
        "other value",
        "not one of the values",
        ConfigRule("k", values=("a",)),
        "b",
        "'b' is not one of 'a'",
    ),
    (
        "decimal",
        "decimals compare exactly",
        ConfigRule("k", Decimal("0.1"), Decimal("0.5")),
        "0.5",
        None,
    ),
    (
        "decimal above",
        "0.51 is above 0.5",
        ConfigRule("k", None, Decimal("0.5")),
        "0.51",
        "0.51 is above the maximum 0.5",
    ),
    (
        "not a number",
        "a range needs a number",
        ConfigRule("k", Decimal(1)),
        "lots",
        "'lots' is not a number",
    ),
]


@pytest.mark.parametrize(
    ("case", "reason", "rule", "value", "want"), RULES, ids=[r[0] for r in RULES]
)
def test_rule_problem(case, reason, rule, value, want):
    assert rule.problem(value) == want, reason


# -- principal patterns ------------------------------------------------------------------

PRINCIPALS = [
    # case, reason, pattern, principal, want
    (
        "any name in the unit",
        "* stands for one attribute value",
        "User:CN=*,OU=team-a,O=Example Corp,C=DE",
        "User:CN=orders,OU=team-a,O=Example Corp,C=DE",
        True,
    ),
    (
        "other unit",
        "the unit is fixed",
        "User:CN=*,OU=team-a,O=Example Corp,C=DE",
        "User:CN=orders,OU=team-b,O=Example Corp,C=DE",
        False,
    ),
    (
        "star cannot swallow attributes",
        "CN=* must not match CN=x,OU=team-b by eating the comma",
        "User:CN=*,OU=team-a,O=Example Corp,C=DE",
        "User:CN=x,OU=team-b,O=Example Corp,OU=team-a,O=Example Corp,C=DE",
        False,
    ),
    (
        "escaped comma in a value",
        "an escaped comma belongs to the value",
        "User:CN=*,OU=team-b,O=*,C=*",
        "User:CN=payments,OU=team-b,O=Example\\, Inc.,C=US",
        True,
    ),
    (
        "whole principal",
        "the pattern must match to the end",
        "User:CN=*,OU=team-a",
        "User:CN=x,OU=team-a,O=Other",
        False,
    ),
    (
        "multi-valued attribute",
        "* stops at + too",
        "User:CN=*,OU=team-a",
        "User:CN=x+UID=admin,OU=team-a",
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "reason", "pattern", "principal", "want"), PRINCIPALS, ids=[p[0] for p in PRINCIPALS]
)
def test_principal_pattern(case, reason, pattern, principal, want):
    assert bool(principal_pattern(pattern).match(principal)) is want, reason
