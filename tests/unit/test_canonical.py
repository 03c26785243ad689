import pytest

from hooks.core.canonical import config_value

CASES = [
    # (case, value, want, reason)
    ("int", 604800000, "604800000", "YAML integers become their decimal string"),
    ("int string", "604800000", "604800000", "already canonical"),
    ("leading zeros", "007", "7", "an integer is compared as an integer"),
    ("plus sign", "+5", "5", "an integer is compared as an integer"),
    ("negative", "-1", "-1", "Kafka uses -1 for unlimited"),
    ("long max", "9223372036854775807", "9223372036854775807", "no overflow, no float"),
    ("bool true", True, "true", "YAML booleans are lower case"),
    ("bool string", "True", "true", "Kafka reports booleans lower case"),
    ("bool false", "FALSE", "false", "case does not matter"),
    ("decimal", "0.50", "0.5", "trailing zeros do not make another ratio"),
    ("decimal float", 0.1, "0.1", "no binary float rounding"),
    ("whole decimal", "2.0", "2", "2.0 and 2 name the same ratio"),
    ("small decimal", "0.000001", "0.000001", "no exponent, no rounding"),
    ("list", " compact , delete ", "compact,delete", "list items lose surrounding spaces"),
    ("list order", "delete,compact", "delete,compact", "list order is kept"),
    ("word", "producer", "producer", "plain words pass through"),
    ("padded word", "  lz4 ", "lz4", "surrounding space is dropped"),
    ("none", None, "", "a missing value is empty"),
]


@pytest.mark.parametrize("case,value,want,reason", CASES, ids=[c[0] for c in CASES])
def test_config_value(case, value, want, reason):
    assert config_value(value) == want, reason


@pytest.mark.parametrize("value", [v for _, v, _, _ in CASES])
def test_canonical_is_a_fixed_point(value):
    once = config_value(value)
    assert config_value(once) == once
