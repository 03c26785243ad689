"""Canonical string forms of topic config values.

Kafka reports every config value as a string, while specs arrive from YAML as
strings, integers or booleans. Both sides are brought to one canonical string
before they are compared, so a value never differs from itself and an
unchanged topic is never altered again.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def config_value(value: object) -> str:
    """Return the canonical string form of one config value.

    Integers lose leading zeros and a plus sign, booleans are lower case,
    comma-separated lists lose the spaces around their items, and decimals
    are compared exactly (``0.50`` equals ``0.5``; nothing is rounded).
    ``None`` becomes the empty string.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _decimal(repr(value))
    text = str(value).strip()
    if "," in text:
        return ",".join(config_value(item) for item in text.split(","))
    if text.lower() in ("true", "false"):
        return text.lower()
    if _INTEGER.match(text):
        return str(int(text))
    if _DECIMAL.match(text):
        return _decimal(text)
    return text


def _decimal(text: str) -> str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if number == number.to_integral_value() and "e" not in text.lower():
        # "2.0" names the same ratio as "2"; keep one written form.
        return str(int(number))
    normal = number.normalize()
    return format(normal, "f") if abs(normal.adjusted()) < 20 else str(normal)


def config_map(config: dict[str, object] | None) -> dict[str, str]:
    """Canonicalise every value of a spec's config map, keys unchanged."""
    return {key: config_value(value) for key, value in (config or {}).items()}
