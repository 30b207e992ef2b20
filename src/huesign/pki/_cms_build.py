"""DER encoding of the CMS structures huesign writes (RFC 5652, CAdES baseline B-B/B-T).

Signing builds a handful of fixed-shape structures; writing their DER directly, rather than
through a generic ASN.1 object model, keeps the cost of a signature close to the cost of the
private-key operation.  Reading stays with asn1crypto (:mod:`huesign.pki._cms_asn1`), and the
tests check every structure written here against openssl, pyHanko and asn1crypto.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from huesign.pki.algorithms import HashAlgorithm, SignatureAlgorithm
from huesign.pki.certificates import Certificate

ID_DATA = "1.2.840.113549.1.7.1"
_ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_ATTR_SIGNING_TIME = "1.2.840.113549.1.9.5"
_ATTR_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
_ATTR_ALGORITHM_PROTECTION = "1.2.840.113549.1.9.52"
_ATTR_TIMESTAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"  # noqa: S105 - an OID
_ATTR_COMMITMENT_TYPE = "1.2.840.113549.1.9.16.2.16"
_ATTR_SIGNER_LOCATION = "1.2.840.113549.1.9.16.2.17"
_ATTR_SIGNER_ATTRIBUTES_V2 = "0.4.0.19122.1.1"
_ROLE = "2.5.4.72"
_PSS = "1.2.840.113549.1.1.10"
_MGF1 = "1.2.840.113549.1.1.8"
_NULL = b"\x05\x00"


# --- primitives --------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, body: bytes) -> bytes:
    """One DER element: tag, definite length, contents."""
    return bytes([tag]) + _length(len(body)) + body


def seq(*items: bytes) -> bytes:
    """A SEQUENCE of already encoded items."""
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """A SET OF, its elements sorted as DER requires."""
    return tlv(0x31, b"".join(sorted(items)))


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"invalid OID {dotted!r}")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def integer(value: int) -> bytes:
    """An INTEGER (two's complement, minimal length)."""
    size = (value.bit_length() + 8) // 8
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def octets(value: bytes) -> bytes:
    """An OCTET STRING."""
    return tlv(0x04, value)


def utf8(text: str) -> bytes:
    """A UTF8String."""
    return tlv(0x0C, text.encode("utf-8"))


def time(value: dt.datetime) -> bytes:
    """A Time: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652, 11.3)."""
    utc = value.astimezone(dt.UTC)
    if 1950 <= utc.year < 2050:
        return tlv(0x17, utc.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, utc.strftime("%Y%m%d%H%M%SZ").encode())


# Encoded once: the OIDs every signature carries.
_ENCODED = {
    dotted: oid(dotted)
    for dotted in (
        ID_DATA,
        _ID_SIGNED_DATA,
        _ATTR_CONTENT_TYPE,
        _ATTR_MESSAGE_DIGEST,
        _ATTR_SIGNING_TIME,
        _ATTR_SIGNING_CERTIFICATE_V2,
        _ATTR_ALGORITHM_PROTECTION,
        _ATTR_TIMESTAMP_TOKEN,
        *(h.oid for h in HashAlgorithm),
        *(a.oid for a in SignatureAlgorithm),
    )
}


def _oid(dotted: str) -> bytes:
    found = _ENCODED.get(dotted)
    return found if found is not None else oid(dotted)


# --- algorithm identifiers -----------------------------------------------------------------


def digest_algorithm(hash_algorithm: HashAlgorithm) -> bytes:
    """A DigestAlgorithmIdentifier (parameters absent, RFC 5754)."""
    return seq(_oid(hash_algorithm.oid))


def signature_algorithm(algorithm: SignatureAlgorithm) -> bytes:
    """The SignatureAlgorithmIdentifier for ``algorithm``."""
    if algorithm.oid == _PSS:
        hash_id = seq(_oid(algorithm.hash_algorithm.oid), _NULL)
        params = seq(
            tlv(0xA0, hash_id),
            tlv(0xA1, seq(oid(_MGF1), hash_id)),
            tlv(0xA2, integer(algorithm.hash_algorithm.digest_size)),
        )
        return seq(oid(_PSS), params)
    if algorithm.key_family == "rsa":
        return seq(_oid(algorithm.oid), _NULL)
    return seq(_oid(algorithm.oid))


# --- attributes ------------------------------------------------------------------------------


def attribute(type_oid: str | bytes, *values: bytes) -> bytes:
    """An Attribute: its type (dotted, or already encoded) and a SET OF encoded values."""
    return seq(type_oid if isinstance(type_oid, bytes) else oid(type_oid), set_of(*values))


def _issuer_and_serial(certificate: Certificate) -> tuple[bytes, bytes]:
    cert = certificate.to_cryptography()
    return cert.issuer.public_bytes(), integer(cert.serial_number)


def signed_attributes(
    *,
    message_digest: bytes,
    hash_algorithm: HashAlgorithm,
    algorithm: SignatureAlgorithm,
    certificate: Certificate,
    signing_time: dt.datetime | None,
    content_type: str = ID_DATA,
    commitment_type: str | None = None,
    location: tuple[str | None, str | None, Sequence[str]] | None = None,
    claimed_roles: Sequence[str] = (),
) -> bytes:
    """The CAdES B-B signed attributes as the DER of a SET (the bytes that are signed).

    content-type, message-digest, signing-time, signing-certificate-v2 (ESSCertIDv2 with
    issuer and serial), CMS algorithm protection (RFC 6211) and, optionally, commitment type,
    signer location (country, locality, postal address lines) and claimed roles.
    """
    issuer, serial = _issuer_and_serial(certificate)
    cert_hash = hashlib.new(hash_algorithm.value, certificate.der).digest()
    ess_fields = (
        [] if hash_algorithm is HashAlgorithm.SHA256 else [digest_algorithm(hash_algorithm)]
    )
    ess = seq(*ess_fields, octets(cert_hash), seq(seq(tlv(0xA4, issuer)), serial))
    sig_alg = signature_algorithm(algorithm)
    attrs = [
        attribute(_ENCODED[_ATTR_CONTENT_TYPE], _oid(content_type)),
        attribute(_ENCODED[_ATTR_MESSAGE_DIGEST], octets(message_digest)),
        attribute(_ENCODED[_ATTR_SIGNING_CERTIFICATE_V2], seq(seq(ess))),
        attribute(
            _ENCODED[_ATTR_ALGORITHM_PROTECTION],
            seq(digest_algorithm(hash_algorithm), tlv(0xA1, _contents(sig_alg))),
        ),
    ]
    if signing_time is not None:
        attrs.append(attribute(_ENCODED[_ATTR_SIGNING_TIME], time(signing_time)))
    if commitment_type is not None:
        attrs.append(attribute(_ATTR_COMMITMENT_TYPE, seq(oid(commitment_type))))
    if location is not None:
        attrs.append(attribute(_ATTR_SIGNER_LOCATION, _signer_location(*location)))
    if claimed_roles:
        role = seq(oid(_ROLE), set_of(*(utf8(r) for r in claimed_roles)))
        attrs.append(attribute(_ATTR_SIGNER_ATTRIBUTES_V2, seq(tlv(0xA0, seq(role)))))
    return set_of(*attrs)


def _signer_location(country: str | None, locality: str | None, postal: Sequence[str]) -> bytes:
    # SignerLocation ::= SEQUENCE { countryName [0] EXPLICIT DirectoryString OPTIONAL,
    #   localityName [1] EXPLICIT DirectoryString OPTIONAL, postalAddress [2] EXPLICIT ...}
    fields = []
    if country:
        fields.append(tlv(0xA0, utf8(country)))
    if locality:
        fields.append(tlv(0xA1, utf8(locality)))
    if postal:
        fields.append(tlv(0xA2, seq(*(utf8(line) for line in postal))))
    return seq(*fields)


def _contents(element: bytes) -> bytes:
    """The contents octets of a DER element (its tag and length stripped)."""
    first = element[1]
    start = 2 if first < 0x80 else 2 + (first & 0x7F)
    return element[start:]


def signed_data(
    *,
    hash_algorithm: HashAlgorithm,
    algorithm: SignatureAlgorithm,
    certificate: Certificate,
    certificates: Sequence[Certificate],
    signed_attrs: bytes,
    signature: bytes,
    content: bytes | None,
    timestamp_token: bytes | None = None,
) -> bytes:
    """A ContentInfo(SignedData) with one SignerInfo, as DER.

    ``signed_attrs`` is the SET returned by :func:`signed_attributes`; it is embedded with
    its [0] IMPLICIT tag and otherwise byte for byte.
    """
    issuer, serial = _issuer_and_serial(certificate)
    signer_fields = [
        integer(1),
        seq(issuer, serial),
        digest_algorithm(hash_algorithm),
        tlv(0xA0, _contents(signed_attrs)),
        signature_algorithm(algorithm),
        octets(signature),
    ]
    if timestamp_token is not None:
        signer_fields.append(tlv(0xA1, attribute(_ENCODED[_ATTR_TIMESTAMP_TOKEN], timestamp_token)))
    seen: list[bytes] = []
    for cert in (certificate, *certificates):
        if cert.der not in seen:
            seen.append(cert.der)
    encap = [_ENCODED[ID_DATA]]
    if content is not None:
        encap.append(tlv(0xA0, octets(content)))
    body = seq(
        integer(1),
        set_of(digest_algorithm(hash_algorithm)),
        seq(*encap),
        tlv(0xA0, b"".join(seen)),
        set_of(seq(*signer_fields)),
    )
    return seq(_ENCODED[_ID_SIGNED_DATA], tlv(0xA0, body))
