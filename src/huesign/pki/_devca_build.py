"""Certificate building and file helpers for the development CA (private).

Kept apart from :mod:`huesign.pki.devca` so that the CA's public module stays readable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from huesign.errors import CertificateError, KeyLoadError
from huesign.pki import _devca_services as svc
from huesign.pki.certificates import Certificate, KeyUsage, load_certificates_file
from huesign.pki.identity import CitizenIdentity
from huesign.pki.keys import PrivateKey, PublicKey
from huesign.pki.profiles import CertificateProfile, ProfileRules

__all__: list[str] = []

#: Certificate policy put in every end-entity certificate.  The arc 1.3.6.1.4.1.55555 is a
#: development placeholder, not a registered enterprise number.
DEVELOPMENT_CERTIFICATE_POLICY = "1.3.6.1.4.1.55555.1.2"

MAX_STATE_FILE = 16 << 20

#: At most this many extended key usages replace a profile's (real certificates carry a few).
MAX_EXTENDED_KEY_USAGES = 32


def utcnow(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def new_serial() -> int:
    while True:
        serial = x509.random_serial_number()
        if serial.bit_length() >= 64:
            return serial


def _uri(value: str) -> x509.UniformResourceIdentifier:
    return x509.UniformResourceIdentifier(value)


@attrs.frozen(kw_only=True)
class CertSpec:
    """Everything that goes into one certificate besides the issuer."""

    subject: x509.Name
    public_key: PublicKey
    profile: CertificateProfile
    not_before: dt.datetime
    not_after: dt.datetime
    path_length: int | None = None
    crl_url: str | None = None
    ocsp_url: str | None = None
    ca_issuers_url: str | None = None
    #: The extensions to use instead of ``profile.rules`` (see :func:`profile_rules`).
    rules: ProfileRules | None = None


def profile_rules(
    profile: CertificateProfile,
    key_usage: Iterable[KeyUsage] | None,
    extended_key_usage: Iterable[str] | None,
) -> ProfileRules:
    """``profile.rules`` with the key usage and extended key usage replaced when given."""
    rules = profile.rules
    if key_usage is not None:
        rules = attrs.evolve(rules, key_usage=_key_usages(key_usage))
    if extended_key_usage is not None:
        rules = attrs.evolve(rules, extended_key_usage=_extended_key_usages(extended_key_usage))
    return rules


def _key_usages(key_usage: Iterable[KeyUsage]) -> frozenset[KeyUsage]:
    if isinstance(key_usage, KeyUsage | str):
        raise TypeError("key_usage must be an iterable of KeyUsage members, not one value")
    usages = frozenset(key_usage)
    if not all(isinstance(u, KeyUsage) for u in usages):
        raise TypeError("key_usage must hold KeyUsage members only")
    if not usages:
        raise ValueError("key_usage must set at least one bit (RFC 5280 forbids an empty one)")
    if KeyUsage.KEY_CERT_SIGN in usages:
        raise ValueError("key_cert_sign belongs to CA certificates, not end entities")
    only = usages & {KeyUsage.ENCIPHER_ONLY, KeyUsage.DECIPHER_ONLY}
    if only and KeyUsage.KEY_AGREEMENT not in usages:
        raise ValueError("encipher_only and decipher_only need key_agreement (RFC 5280)")
    return usages


def _extended_key_usages(extended_key_usage: Iterable[str]) -> tuple[str, ...]:
    if isinstance(extended_key_usage, str):
        raise TypeError("extended_key_usage must be an iterable of dotted OIDs, not one string")
    oids = tuple(dict.fromkeys(extended_key_usage))
    if len(oids) > MAX_EXTENDED_KEY_USAGES:
        raise ValueError(f"at most {MAX_EXTENDED_KEY_USAGES} extended key usages")
    for oid in oids:
        if not isinstance(oid, str):
            raise TypeError("extended_key_usage must hold dotted OID strings")
        try:
            x509.ObjectIdentifier(oid)
        except ValueError as exc:
            raise ValueError(f"extended key usage {oid!r} is not a dotted OID") from exc
    return oids


def build_certificate(
    spec: CertSpec, issuer: svc.Authority | None, signing_key: PrivateKey
) -> Certificate:
    rules = spec.rules if spec.rules is not None else spec.profile.rules
    pub = spec.public_key.to_cryptography()
    ski = x509.SubjectKeyIdentifier.from_public_key(pub)
    issuer_name = issuer.certificate.subject if issuer else spec.subject
    aki_source = issuer.certificate.subject_key_identifier if issuer else ski.digest
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(issuer_name)
        .public_key(pub)
        .serial_number(new_serial())
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
        .add_extension(
            x509.BasicConstraints(ca=rules.is_ca, path_length=spec.path_length), critical=True
        )
        .add_extension(rules.key_usage_extension(), critical=True)
        .add_extension(ski, critical=False)
    )
    if aki_source is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(aki_source, None, None), critical=False
        )
    eku = rules.extended_key_usage_extension()
    if eku is not None:
        builder = builder.add_extension(eku, critical=rules.eku_critical)
    if rules.ocsp_no_check:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if spec.crl_url:
        point = x509.DistributionPoint([_uri(spec.crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    access = []
    if spec.ocsp_url:
        access.append(
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, _uri(spec.ocsp_url))
        )
    if spec.ca_issuers_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, _uri(spec.ca_issuers_url)
            )
        )
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if spec.profile.is_end_entity:
        policy = x509.PolicyInformation(x509.ObjectIdentifier(DEVELOPMENT_CERTIFICATE_POLICY), None)
        builder = builder.add_extension(x509.CertificatePolicies([policy]), critical=False)
    cert = builder.sign(
        signing_key.to_cryptography(),
        svc.signature_hash(signing_key),
    )
    return Certificate.from_cryptography(cert)


def ca_identity(common_name: str, organization: str) -> CitizenIdentity:
    return CitizenIdentity(common_name=common_name, organization=organization, country="VN")


def ca_name(common_name: str, organization: str) -> x509.Name:
    return ca_identity(common_name, organization).to_name()


def write_file(path: Path, data: bytes, *, private: bool = False) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(temp, path)


def read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_STATE_FILE + 1)
    except OSError as exc:
        raise CertificateError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > MAX_STATE_FILE:
        raise CertificateError(f"{path} is larger than {MAX_STATE_FILE} bytes")
    return data


# --- persistence ---------------------------------------------------------------------------

FORMAT_VERSION = 1
PART_LABELS = ("root", "intermediate", "tsa", "ocsp")


@attrs.frozen(kw_only=True)
class SavedState:
    """What a saved CA directory holds, as plain data."""

    name: str
    base_url: str
    parts: Mapping[str, tuple[Certificate, PrivateKey]]
    issued: tuple[Certificate, ...]
    revocations: tuple[Mapping[str, str], ...]


def save_state(target: Path, state: SavedState) -> None:
    """Write ``state`` under ``target``, each file replaced atomically; keys unencrypted."""
    target.mkdir(parents=True, exist_ok=True)
    for label, (cert, key) in state.parts.items():
        write_file(target / f"{label}.key.pem", key.to_pem(), private=True)
        write_file(target / f"{label}.pem", cert.to_pem())
    write_file(target / "issued.pem", b"".join(c.to_pem() for c in state.issued))
    revocations = json.dumps([dict(r) for r in state.revocations], indent=2)
    write_file(target / "revocations.json", revocations.encode())
    meta = {"format": FORMAT_VERSION, "name": state.name, "base_url": state.base_url}
    write_file(target / "ca.json", json.dumps(meta, indent=2, ensure_ascii=False).encode())


def load_state(source: Path) -> SavedState:
    """Read what :func:`save_state` wrote; keys must match their certificates."""
    try:
        meta = json.loads(read_file(source / "ca.json"))
        if meta.get("format") != FORMAT_VERSION:
            raise CertificateError(f"{source}: unsupported development CA format")
        records = json.loads(read_file(source / "revocations.json"))
        revocations = tuple({str(k): str(v) for k, v in item.items()} for item in records)
        name, base_url = str(meta["name"]), str(meta["base_url"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CertificateError(f"{source}: damaged development CA state") from exc
    parts = {}
    for label in PART_LABELS:
        cert = Certificate.load(source / f"{label}.pem")
        key = PrivateKey.load(source / f"{label}.key.pem")
        if key.public_key != cert.public_key:
            raise KeyLoadError(f"{source}: {label}.key.pem does not match {label}.pem")
        parts[label] = (cert, key)
    return SavedState(
        name=name,
        base_url=base_url,
        parts=parts,
        issued=tuple(load_certificates_file(source / "issued.pem")),
        revocations=revocations,
    )


def revocation_record(
    serial_number: int, issuer: str, revoked_at: dt.datetime, reason: str
) -> dict[str, str]:
    """The JSON form of one revocation."""
    return {
        "serial_number": f"{serial_number:x}",
        "issuer": issuer,
        "revoked_at": revoked_at.isoformat(),
        "reason": reason,
    }
