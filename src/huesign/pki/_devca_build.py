"""Certificate building and file helpers for the development CA (private).

Kept apart from :mod:`huesign.pki.devca` so that the CA's public module stays readable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from huesign.errors import CertificateError, KeyLoadError
from huesign.pki import _devca_services as svc
from huesign.pki.certificates import Certificate, load_certificates_file
from huesign.pki.identity import CitizenIdentity
from huesign.pki.keys import PrivateKey, PublicKey
from huesign.pki.profiles import CertificateProfile

__all__: list[str] = []

#: Certificate policy put in every end-entity certificate.  The arc 1.3.6.1.4.1.55555 is a
#: development placeholder, not a registered enterprise number.
DEVELOPMENT_CERTIFICATE_POLICY = "1.3.6.1.4.1.55555.1.2"

MAX_STATE_FILE = 16 << 20


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


def build_certificate(
    spec: CertSpec, issuer: svc.Authority | None, signing_key: PrivateKey
) -> Certificate:
    rules = spec.profile.rules
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
