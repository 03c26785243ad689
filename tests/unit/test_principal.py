import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from hooks.core.principal import PrincipalError, canonical, from_certificate

CASES = [
    (
        "canonical",
        "User:CN=orders,OU=team-a,O=Example Corp,C=DE",
        "User:CN=orders,OU=team-a,O=Example Corp,C=DE",
        "already canonical",
    ),
    (
        "spaces",
        "User:CN=orders, OU=team-a, O=Example Corp, C=DE",
        "User:CN=orders,OU=team-a,O=Example Corp,C=DE",
        "no spaces after commas",
    ),
    ("no prefix", "CN=orders,OU=team-a", "User:CN=orders,OU=team-a", "User: is added"),
    (
        "slash form",
        "/C=DE/O=Example Corp/OU=team-a/CN=orders",
        "User:CN=orders,OU=team-a,O=Example Corp,C=DE",
        "OpenSSL lists the least specific RDN first",
    ),
    (
        "lower keywords",
        "cn=orders,ou=team-a",
        "User:CN=orders,OU=team-a",
        "keywords are upper case",
    ),
    (
        "escaped comma",
        "CN=payments,O=Example\\, Inc.,C=US",
        "User:CN=payments,O=Example\\, Inc.,C=US",
        "the comma in a value stays escaped",
    ),
    (
        "slash with comma",
        "/C=US/O=Example, Inc./CN=payments",
        "User:CN=payments,O=Example\\, Inc.,C=US",
        "a comma in slash form is escaped",
    ),
    (
        "hex escape",
        "CN=a\\2Cb",
        "User:CN=a\\,b",
        "hex pairs become the character, re-escaped canonically",
    ),
    ("semicolon", "CN=a;OU=b", "User:CN=a,OU=b", "RFC 2253 accepts ';' as a separator"),
    ("multi-valued", "CN=a + UID=b,O=c", "User:CN=a+UID=b,O=c", "a multi-valued RDN keeps '+'"),
    (
        "email",
        "CN=a,emailAddress=a@b.c",
        "User:CN=a,1.2.840.113549.1.9.1=#16056140622e63",
        "Java prints email as a hex-encoded OID",
    ),
    ("plus in value", "CN=a\\+b", "User:CN=a\\+b", "an escaped plus stays escaped"),
    ("leading hash", "CN=\\#a", "User:CN=\\#a", "a leading '#' is escaped"),
    (
        "equals and hash",
        r"CN=a\=b\#c,OU=x",
        r"User:CN=a\=b\#c,OU=x",
        "Java escapes '=' and '#' anywhere",
    ),
    (
        "unescaped equals",
        "CN=a=b,OU=x",
        r"User:CN=a\=b,OU=x",
        "a bare '=' inside a value is escaped",
    ),
    (
        "leading spaces",
        r"CN=\ \ two,OU=x",
        r"User:CN=\ \ two,OU=x",
        "every leading space is escaped",
    ),
    (
        "trailing spaces",
        r"CN=two\ \ ,OU=x",
        r"User:CN=two\ \ ,OU=x",
        "every trailing space is escaped",
    ),
    ("hex octet string", "CN=#0403616263", "User:CN=#0403616263", "a non-text DER value stays hex"),
    ("wildcard", "User:*", "User:*", "the wildcard principal"),
    ("plain name", "alice", "User:alice", "a non-DN principal keeps its name"),
    ("other type", "Group:admins", "Group:admins", "another principal type keeps its prefix"),
]


@pytest.mark.parametrize("case,text,want,reason", CASES, ids=[c[0] for c in CASES])
def test_canonical(case, text, want, reason):
    assert canonical(text) == want, reason


@pytest.mark.parametrize("case,text,want,reason", CASES, ids=[c[0] for c in CASES])
def test_canonical_is_a_fixed_point(case, text, want, reason):
    assert canonical(want) == want


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("CN=a,", "empty attribute"),
        ("CN=a,,O=b", "empty attribute"),
        ("FOO=a", "unknown attribute type"),
        ("CN=a\\", "lone backslash"),
        ("User:", "no name"),
        (":x", "no type"),
        ("CN=a\x00,OU=b", "control character"),
        ("CN=a\n", "control character"),
        ("CN=a\\00b", "control character"),
        ("OID.abc=x", "unknown attribute type"),
        ("OID.=x", "unknown attribute type"),
        ("CN=#0c99ffff", "not one DER-encoded value"),
    ],
)
def test_malformed_subjects_say_why(text, fragment):
    with pytest.raises(PrincipalError, match=fragment):
        canonical(text)


def _certificate(attributes):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(__import__("datetime").datetime(2026, 1, 1))
        .not_valid_after(__import__("datetime").datetime(2036, 1, 1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM).decode()


def test_from_certificate_reverses_the_asn1_order():
    pem = _certificate(
        [
            (NameOID.COUNTRY_NAME, "US"),
            (NameOID.ORGANIZATION_NAME, "Example, Inc."),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "team-b"),
            (NameOID.COMMON_NAME, "payments"),
        ]
    )
    assert from_certificate(pem) == "User:CN=payments,OU=team-b,O=Example\\, Inc.,C=US"


def test_from_certificate_agrees_with_canonical_of_what_people_write():
    pem = _certificate([(NameOID.COUNTRY_NAME, "DE"), (NameOID.COMMON_NAME, "orders")])
    assert from_certificate(pem) == canonical("/C=DE/CN=orders")


def test_from_certificate_refuses_text_that_is_no_certificate():
    with pytest.raises(PrincipalError, match="not a PEM certificate"):
        from_certificate("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize(
    "text,want,reason",
    [
        (r"CN=M\C3\BCller,O=x", "User:CN=Müller,O=x", "openssl prints UTF-8 bytes as \\XX pairs"),
        ("user:CN=a", "User:CN=a", "the broker's type is 'User'; 'user' matches nobody"),
        ("User :CN=a", "User:CN=a", "space before the colon"),
    ],
)
def test_what_tools_print_becomes_what_the_broker_uses(text, want, reason):
    assert canonical(text) == want, reason


def test_a_bmpstring_subject_is_refused_not_guessed():
    from cryptography.x509.name import _ASN1Type

    pem = _certificate([(NameOID.COUNTRY_NAME, "DE")])
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "svc", _type=_ASN1Type.BMPString)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(__import__("datetime").datetime(2026, 1, 1))
        .not_valid_after(__import__("datetime").datetime(2036, 1, 1))
        .sign(key, hashes.SHA256())
    )
    assert from_certificate(pem).startswith("User:C=DE")
    with pytest.raises(PrincipalError, match="BMPString"):
        from_certificate(cert.public_bytes(Encoding.PEM).decode())
