"""Hand-built certificates for path-validation tests (EC P-256 unless RSA is the point).

``issue`` builds a certificate with exactly the extensions asked for; ``resign`` rewrites a
certificate's TBS part with asn1crypto and signs it again, for encodings that
``cryptography``'s builder refuses to produce (serial number 0, duplicate extensions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from huesign.pki import Certificate

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)

SignKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Node:
    """A certificate with its private key."""

    cert: Certificate
    key: SignKey

    @property
    def crypto(self) -> x509.Certificate:
        return self.cert.to_cryptography()


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(text: str | x509.Name) -> x509.Name:
    """``"CN=A,O=B"`` style (no escaping) or an x509.Name as is."""
    if isinstance(text, x509.Name):
        return text
    oids = {
        "CN": NameOID.COMMON_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "C": NameOID.COUNTRY_NAME,
        "E": NameOID.EMAIL_ADDRESS,
    }
    attrs = []
    for part in reversed(text.split(",")):
        key, _, value = part.partition("=")
        attrs.append(x509.NameAttribute(oids[key.strip()], value))
    return x509.Name(attrs)


def issue(
    subject: str | x509.Name,
    issuer: Node | None = None,
    *,
    key: SignKey | None = None,
    ca: bool = True,
    basic_constraints: bool = True,
    path_length: int | None = None,
    key_usage: str | None = None,
    aki: bool = True,
    ski: bool = True,
    serial: int | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> Node:
    """Build and sign one certificate (self-signed when ``issuer`` is None).

    ``key_usage`` is ``"ca"``, ``"sign"`` (digitalSignature + nonRepudiation), ``"encrypt"``
    (keyEncipherment only) or ``None`` for default (``ca`` for CAs, ``sign`` otherwise).
    """
    key = key or ec_key()
    subject_name = name(subject)
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.crypto.subject if issuer else subject_name
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before or NOW - YEAR)
        .not_valid_after(not_after or NOW + YEAR)
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    usage = key_usage or ("ca" if ca else "sign")
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if usage == "ca":
        flags.update(key_cert_sign=True, crl_sign=True, digital_signature=True)
    elif usage == "sign":
        flags.update(digital_signature=True, content_commitment=True)
    elif usage == "encrypt":
        flags.update(key_encipherment=True)
    builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if aki:
        authority = issuer.key.public_key() if issuer else key.public_key()
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False
        )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    cert = builder.sign(signer_key, hash_algorithm or hashes.SHA256())
    return Node(Certificate.from_cryptography(cert), key)


def resign(
    node: Node, issuer_key: SignKey, change: Callable[[asn1_x509.TbsCertificate], None]
) -> Node:
    """Apply ``change`` to the TBS certificate and sign it again with ``issuer_key``."""
    parsed = asn1_x509.Certificate.load(node.cert.der)
    tbs = parsed["tbs_certificate"]
    change(tbs)
    tbs_der = tbs.dump(force=True)
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        signature = issuer_key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    else:
        signature = issuer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": signature,
        }
    )
    return Node(Certificate.from_der(rebuilt.dump()), node.key)


def crl(
    issuer: Node,
    revoked: Sequence[tuple[Certificate, dt.datetime]] = (),
    *,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    entry_extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    number: int = 1,
    signer: SignKey | None = None,
) -> bytes:
    """A DER CRL issued by ``issuer`` listing ``revoked`` (certificate, revocation time)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.crypto.subject)
        .last_update(this_update or NOW - dt.timedelta(days=1))
        .next_update(next_update or NOW + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    for cert, when in revoked:
        entry = (
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(when)
        )
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        for ext, critical in entry_extensions:
            entry = entry.add_extension(ext, critical=critical)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(signer or issuer.key, hashes.SHA256()).public_bytes(
        serialization.Encoding.DER
    )


@dataclass(frozen=True)
class Chain:
    """root -> intermediate -> leaf, all EC P-256."""

    root: Node
    intermediate: Node
    leaf: Node


def standard_chain(prefix: str = "Test") -> Chain:
    root = issue(f"CN={prefix} Root,O=Huesign Tests,C=VN")
    inter = issue(f"CN={prefix} Issuing CA,O=Huesign Tests,C=VN", root, path_length=0)
    leaf = issue(f"CN={prefix} Citizen,O=Huesign Tests,C=VN", inter, ca=False)
    return Chain(root, inter, leaf)
