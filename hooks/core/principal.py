"""Kafka principals for mTLS clients, in the one form the broker uses.

With the default principal builder and mapping rules, Kafka names an mTLS
client ``User:`` followed by the RFC 2253 string of its certificate subject
(as ``javax.security.auth.x500.X500Principal.getName()`` prints it): the most
specific RDN first, no spaces after separators, special characters escaped
with a backslash, well-known attribute types by keyword and all others as a
dotted OID with a ``#``-prefixed hex DER value.

People write subjects in many ways; ``canonical`` turns each into that form,
and ``from_certificate`` derives it from a PEM certificate, which is better
than any guess.
"""

from __future__ import annotations

import functools

from cryptography import x509
from cryptography.x509.oid import NameOID

PREFIX = "User:"
WILDCARD = "User:*"

# The keywords RFC 2253 section 2.3 defines and Java prints as keywords.
_KEYWORDS = {
    NameOID.COMMON_NAME.dotted_string: "CN",
    NameOID.LOCALITY_NAME.dotted_string: "L",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "ST",
    NameOID.ORGANIZATION_NAME.dotted_string: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "OU",
    NameOID.COUNTRY_NAME.dotted_string: "C",
    NameOID.STREET_ADDRESS.dotted_string: "STREET",
    NameOID.DOMAIN_COMPONENT.dotted_string: "DC",
    NameOID.USER_ID.dotted_string: "UID",
}
_BY_KEYWORD = {keyword: oid for oid, keyword in _KEYWORDS.items()}
# Names people write that Java does not print as keywords.
_ALIASES = {
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS.dotted_string,
    "E": NameOID.EMAIL_ADDRESS.dotted_string,
    "S": NameOID.STATE_OR_PROVINCE_NAME.dotted_string,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER.dotted_string,
    "T": NameOID.TITLE.dotted_string,
    "TITLE": NameOID.TITLE.dotted_string,
    "GN": NameOID.GIVEN_NAME.dotted_string,
    "SN": NameOID.SURNAME.dotted_string,
}
# Java escapes these anywhere in a value (X500Principal, RFC 2253 form).
_SPECIAL = ',=+<>#;"\\'
# DER tags for the string types of attributes people write by hand.
_IA5_TYPES = {NameOID.EMAIL_ADDRESS.dotted_string, NameOID.DOMAIN_COMPONENT.dotted_string}
# BMPString and UniversalString.
_WIDE_TAGS = {0x1E, 0x1C}
# UTF8String, PrintableString and IA5String: the tags Java prints as text.
_TEXT_TAGS = {0x0C, 0x13, 0x16}
_PRINTABLE_TYPES = {NameOID.COUNTRY_NAME.dotted_string, NameOID.SERIAL_NUMBER.dotted_string}


class PrincipalError(ValueError):
    """A principal or subject that cannot be read."""


def canonical(text: str) -> str:
    """Return the principal as the broker names it.

    Accepts ``User:CN=a, OU=b``, ``CN=a,OU=b`` (``User:`` is added), the
    OpenSSL slash form ``/OU=b/CN=a`` (reversed, since it lists the least
    specific RDN first) and lower-case keywords. A principal with no ``=`` in
    it (``User:*``, ``User:alice``) is returned with the prefix ensured.
    Raises ``PrincipalError`` with the reason when a subject is malformed.
    """
    bad = next((i for i, c in enumerate(text) if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise PrincipalError(
            f"principal {text!r} has a control character at position {bad}; "
            "Kafka principals cannot contain one"
        )
    body = text.strip()
    kind, sep, rest = body.partition(":")
    if sep and "=" not in kind:
        kind = kind.strip()
        if not kind:
            raise PrincipalError(f"principal {text!r} has no type before ':'")
        if kind.lower() == "user":
            kind = "User"  # the broker compares the type exactly; 'user' matches nobody
        prefix, body = f"{kind}:", rest.strip()
    else:
        prefix = PREFIX
    if not body:
        raise PrincipalError(f"principal {text!r} has no name")
    if "=" not in body:
        return prefix + body
    rdns = _parse_slash(body) if body.startswith("/") else _parse_rfc2253(body)
    return prefix + ",".join("+".join(_format_ava(*ava) for ava in rdn) for rdn in rdns)


def from_certificate(pem: str | bytes) -> str:
    """Return the principal of the client that presents this certificate.

    Only the first certificate of a PEM bundle counts: it is the leaf.
    Raises ``PrincipalError`` when the text holds no readable certificate.
    """
    return _from_certificate(pem.encode() if isinstance(pem, str) else pem)


# Every sync derives the operator's principal from the same few certificates;
# the answer depends on the bytes alone, so remembering it changes no result.
@functools.lru_cache(maxsize=256)
def _from_certificate(data: bytes) -> str:
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise PrincipalError(f"not a PEM certificate: {error}") from error
    return PREFIX + subject_rfc2253(cert.subject)


def subject_rfc2253(name: x509.Name) -> str:
    """Return an X.509 name in RFC 2253 form, most specific RDN first."""
    rdns = []
    for rdn in reversed(list(name.rdns)):
        for attr in rdn:
            if _asn1_tag(attr) in _WIDE_TAGS:
                # Java prints these wide strings byte by byte; no one can write that back.
                raise PrincipalError(
                    f"the certificate's subject stores {attr.oid._name} as a BMPString or "
                    "UniversalString, which the broker does not name readably; issue the "
                    "certificate with UTF8String or PrintableString attributes"
                )
        avas = [
            _format_der_ava(attr.oid.dotted_string, attr.value, _asn1_tag(attr)) for attr in rdn
        ]
        rdns.append("+".join(avas))
    return ",".join(rdns)


def _asn1_tag(attr: x509.NameAttribute) -> int:
    kind = getattr(attr, "_type", None)  # the string type the certificate uses
    return int(getattr(kind, "value", 12))


def _format_ava(oid: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        return _format_hex(oid, value)
    if oid in _KEYWORDS:
        return f"{_KEYWORDS[oid]}={_escape(value)}"
    if oid in _IA5_TYPES:
        tag = 22
    elif oid in _PRINTABLE_TYPES:
        tag = 19
    else:
        tag = 12
    return _format_der_ava(oid, value, tag)


def _format_der_ava(oid: str, value: object, tag: int) -> str:
    if oid in _KEYWORDS and isinstance(value, str):
        return f"{_KEYWORDS[oid]}={_escape(value)}"
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return f"{oid}=#{_der(tag, raw).hex()}"


def _format_hex(oid: str, der: bytes) -> str:
    if oid in _KEYWORDS and der[0] in _TEXT_TAGS:
        size = der[1]
        start = 2 if size < 0x80 else 2 + (size & 0x7F)
        try:
            return f"{_KEYWORDS[oid]}={_escape(der[start:].decode('utf-8'))}"
        except UnicodeDecodeError:
            pass
    return f"{_KEYWORDS.get(oid, oid)}=#{der.hex()}"


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _escape(value: str) -> str:
    """Escape a value as Java does: specials anywhere, every leading and trailing space."""
    escaped = ["\\" + char if char in _SPECIAL else char for char in value]
    lead = 0
    while lead < len(value) and value[lead] in " \r":
        lead += 1
    trail = len(value) - 1
    while trail >= lead and value[trail] in " \r":
        trail -= 1
    return "".join(
        "\\" + part if (index < lead or index > trail) else part
        for index, part in enumerate(escaped)
    )


def _split_unescaped(text: str, separators: str) -> list[tuple[str, str]]:
    """Split on unescaped separators; each part comes with the one after it."""
    parts, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char in separators:
            parts.append(("".join(current), char))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append(("".join(current), ""))
    return parts


def _unescape(value: str, original: str) -> str:
    """Undo backslash escapes; ``\\XX`` pairs are UTF-8 bytes (RFC 2253, 2.4)."""
    out, raw, index = [], bytearray(), 0

    def flush() -> None:
        if raw:
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise PrincipalError(
                    f"subject {original!r}: its \\XX escapes are not UTF-8"
                ) from error
            raw.clear()

    while index < len(value):
        char = value[index]
        if char == "\\":
            if index + 1 >= len(value):
                raise PrincipalError(f"subject {original!r} ends with a lone backslash")
            pair = value[index + 1 : index + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                raw.append(int(pair, 16))
                index += 3
                continue
            flush()
            out.append(value[index + 1])
            index += 2
            continue
        flush()
        out.append(char)
        index += 1
    flush()
    return "".join(out)


def _attribute(pair: str, original: str) -> tuple[str, str | bytes]:
    key, sep, value = pair.partition("=")
    key = key.strip()
    if not sep or not key:
        raise PrincipalError(
            f"subject {original!r}: {pair.strip()!r} is not an attribute=value pair"
        )
    upper = key.upper()
    if upper in _BY_KEYWORD:
        oid = _BY_KEYWORD[upper]
    elif upper in _ALIASES:
        oid = _ALIASES[upper]
    elif upper.startswith("OID.") and _is_oid(key[4:]):
        oid = key[4:]
    elif _is_oid(key):
        oid = key
    else:
        raise PrincipalError(
            f"subject {original!r}: unknown attribute type {key!r}; use a keyword "
            "such as CN, OU, O, L, ST, C, DC, UID or a dotted OID"
        )
    stripped = value.strip()
    if stripped.startswith("#"):
        return oid, _hex_value(stripped, original)
    if stripped.endswith("\\") and value.endswith(" "):
        stripped += " "  # an escaped trailing space belongs to the value
    text = _unescape(stripped, original)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise PrincipalError(f"subject {original!r} escapes a control character into a value")
    return oid, text


def _is_oid(text: str) -> bool:
    parts = text.split(".")
    return len(parts) >= 2 and all(part.isdigit() for part in parts)


def _hex_value(text: str, original: str) -> bytes:
    """A ``#``-prefixed value is the hex of a DER-encoded string."""
    try:
        der = bytes.fromhex(text[1:])
    except ValueError as error:
        raise PrincipalError(f"subject {original!r}: {text!r} is not valid hex") from error
    if len(der) < 2 or _der_length(der) != len(der):
        raise PrincipalError(f"subject {original!r}: {text!r} is not one DER-encoded value")
    return der


def _der_length(der: bytes) -> int:
    """The total length a DER value's header announces, or -1 if it cannot."""
    size = der[1]
    if size < 0x80:
        return 2 + size
    count = size & 0x7F
    if count == 0 or len(der) < 2 + count:
        return -1
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def _parse_rfc2253(body: str) -> list[list[tuple[str, str | bytes]]]:
    rdns: list[list[tuple[str, str | bytes]]] = [[]]
    for part, sep in _split_unescaped(body, ",;+"):
        if not part.strip():
            raise PrincipalError(f"subject {body!r} has an empty attribute")
        rdns[-1].append(_attribute(part, body))
        if sep and sep in ",;":
            rdns.append([])
    return rdns


def _parse_slash(body: str) -> list[list[tuple[str, str | bytes]]]:
    rdns = []
    for part, _sep in _split_unescaped(body[1:], "/"):
        if not part.strip():
            raise PrincipalError(f"subject {body!r} has an empty attribute")
        rdn = [_attribute(ava, body) for ava, _ in _split_unescaped(part, "+")]
        rdns.append(rdn)
    return list(reversed(rdns))
