"""Principals: canonical() and from_certificate() against what Kafka 4.1.1 on
JDK 17.0.15 really enforces. Every expected string below was read from the
test broker's kafka-authorizer.log for a client presenting that certificate,
and proven by use (an ACL for the string lets the client produce; an ACL for
the product's string does not). Paste into tests/unit/.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from hooks.core.principal import PrincipalError, canonical, from_certificate

BASE = [x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp")]


def pem(*rdns) -> str:
    name = x509.Name([*(x509.RelativeDistinguishedName([a]) for a in BASE), *rdns])
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def rdn(*attrs):
    return x509.RelativeDistinguishedName(list(attrs))


A = x509.NameAttribute


# -- P1 (high): the README's own openssl command gives a wrong principal for non-ASCII --

@pytest.mark.parametrize(
    "written,broker",
    [
        # `openssl x509 -noout -subject -nameopt RFC2253` prints UTF-8 bytes as \XX escapes
        (r"CN=M\C3\BCller,O=Example Corp,C=DE", "User:CN=Müller,O=Example Corp,C=DE"),
        (r"CN=st,STREET=Hauptstr. 1,L=M\C3\BCnchen,ST=Bayern,C=DE",
         "User:CN=st,STREET=Hauptstr. 1,L=München,ST=Bayern,C=DE"),
        (r"CN=svc\F0\9F\98\80,O=Example Corp,C=DE", "User:CN=svc😀,O=Example Corp,C=DE"),
        (r"title=Dr. M\C3\BCller,CN=t,O=Example Corp,C=DE",
         "User:2.5.4.12=#0c0b44722e204dc3bc6c6c6572,CN=t,O=Example Corp,C=DE"),
    ],
)
def test_rfc2253_hex_escapes_are_utf8_bytes(written, broker):
    # today: 'User:CN=MÃ¼ller,...' (each \XX decoded as one Latin-1 character)
    assert canonical(written) == broker


# -- P2 (high): from_certificate is not what the broker enforces for BMPString / UniversalString --

@pytest.mark.parametrize(
    "attrs,broker",
    [
        ((A(NameOID.COMMON_NAME, "svc", _ASN1Type.BMPString),),
         "User:CN=\\00s\\00v\\00c,O=Example Corp,C=DE"),
        ((A(NameOID.COMMON_NAME, "Müller", _ASN1Type.BMPString),),
         "User:CN=\\00M\\00\ufffd\\00l\\00l\\00e\\00r,O=Example Corp,C=DE"),
        ((A(NameOID.COMMON_NAME, "svc", _ASN1Type.UniversalString),),
         "User:CN=#1c0c000000730000007600000063,O=Example Corp,C=DE"),
    ],
    ids=["bmp-ascii", "bmp-umlaut", "universal"],
)
def test_from_certificate_matches_the_broker_or_refuses(attrs, broker):
    cert = pem(*(rdn(a) for a in attrs))
    try:
        got = from_certificate(cert)
    except PrincipalError:
        return  # refusing is acceptable: no Ready binding that matches nobody
    # today: 'User:CN=svc,O=Example Corp,C=DE' -> the KafkaACL is Ready, the client is refused
    assert got == broker


# -- P3 (medium): multi-valued RDNs keep the written order; Java prints DER (SET OF) order --

@pytest.mark.parametrize(
    "written,broker",
    [
        # what `openssl ... -nameopt RFC2253` prints for these certificates
        ("OU=team-long-name+CN=a,O=Example Corp,C=DE",
         "User:CN=a+OU=team-long-name,O=Example Corp,C=DE"),
        ("UID=u1+CN=svc,O=Example Corp,C=DE", "User:CN=svc+UID=u1,O=Example Corp,C=DE"),
    ],
)
def test_multi_valued_rdn_in_the_order_the_broker_prints(written, broker):
    assert canonical(written) == broker


def test_from_certificate_gets_multi_valued_rdns_right():  # holds today; keeps P3 honest
    cert = pem(rdn(A(NameOID.ORGANIZATIONAL_UNIT_NAME, "team-long-name"), A(NameOID.COMMON_NAME, "a")))
    assert from_certificate(cert) == "User:CN=a+OU=team-long-name,O=Example Corp,C=DE"


# -- P4 (medium): a principal type that is not exactly 'User' is kept and matches nobody --

@pytest.mark.parametrize("written", ["user:CN=orders,OU=team-a,O=Example Corp,C=DE",
                                     "User :CN=orders,OU=team-a,O=Example Corp,C=DE"])
def test_user_type_is_normalised_or_refused(written):
    try:
        got = canonical(written)
    except PrincipalError:
        return
    # today: 'user:CN=orders,...' -> KafkaACL Ready, the orders client refused (proven on the broker)
    assert got == "User:CN=orders,OU=team-a,O=Example Corp,C=DE"


# -- P5 (low): RFC 2253 quoted values (Java's keytool / X500Name.toString form) --

@pytest.mark.parametrize(
    "written,broker",
    [
        ('CN="  spaced  ", O=Example Corp, C=DE', "User:CN=\\ \\ spaced\\ \\ ,O=Example Corp,C=DE"),
        ('CN="x ", O=Example Corp, C=DE', "User:CN=x\\ ,O=Example Corp,C=DE"),
        ('CN="#a=b+c;d<e>f\\\\g,h", O=Example Corp, C=DE',
         "User:CN=\\#a\\=b\\+c\\;d\\<e\\>f\\\\g\\,h,O=Example Corp,C=DE"),
    ],
)
def test_quoted_values_are_unquoted(written, broker):
    # today: the quotes become part of the value (User:CN=\"  spaced  \",...) or a
    # confusing "'c' is not an attribute=value pair"
    assert canonical(written) == broker


# -- P6 (low): keywords Java's own keytool prints are refused --

@pytest.mark.parametrize(
    "written,broker",
    [
        ("CN=mm, SURNAME=Mustermann, GIVENNAME=Max, O=Example Corp, C=DE",
         "User:CN=mm,2.5.4.4=#0c0a4d75737465726d616e6e,2.5.4.42=#0c034d6178,O=Example Corp,C=DE"),
        ("CN=dnq, DNQ=q1, O=Example Corp, C=DE", "User:CN=dnq,2.5.4.46=#13027131,O=Example Corp,C=DE"),
        ("CN=ps,pseudonym=ps,O=Example Corp,C=DE", "User:CN=ps,2.5.4.65=#0c027073,O=Example Corp,C=DE"),
    ],
)
def test_java_and_openssl_keywords_are_known(written, broker):
    assert canonical(written) == broker


# -- P7 (low): OpenSSL 3's default `-subject` output is silently taken most-specific-first --

def test_openssl_default_subject_line_is_not_silently_reversed():
    written = "C = DE, O = Example Corp, OU = team-a, CN = orders"  # `openssl x509 -noout -subject`
    try:
        got = canonical(written)
    except PrincipalError:
        return
    # today: 'User:C=DE,O=Example Corp,OU=team-a,CN=orders', which matches nobody
    assert got == "User:CN=orders,OU=team-a,O=Example Corp,C=DE"
