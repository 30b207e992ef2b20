"""Validation data for PAdES B-LT and B-LTA (private): what the DSS must hold.

For every certificate a signature or timestamp relies on, the chain up to a self-issued
certificate is built from the certificates at hand, and each link's revocation status is
looked up with :func:`huesign.pki.revocation.check_revocation` (supplied OCSP responses and
CRLs first, then the network through the caller's fetcher).  The OCSP responses and CRLs
that answered, the certificates of the chains and the OCSP responders' certificates become
a :class:`~huesign.pki.pdfslots.DSSData`.  A revoked certificate stops the signing; a
certificate whose status cannot be found stops it too, since a B-LT signature without that
evidence would not be long-term verifiable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from asn1crypto import cms as asn1_cms
from cryptography.x509 import ocsp

from huesign.errors import CertificateError, RevocationFetchError, SigningError
from huesign.pki import _cms_asn1 as raw
from huesign.pki._names import NormName, normalize_name
from huesign.pki.certificates import Certificate
from huesign.pki.pdffields import SignatureDictionary, SignatureKind
from huesign.pki.pdfslots import DSSData
from huesign.pki.policy import ValidationPolicy
from huesign.pki.revocation import (
    RevocationCheck,
    RevocationContext,
    RevocationSource,
    RevocationSourceType,
    RevocationStatus,
    check_revocation,
)

__all__ = [
    "MAX_COVERED_CERTIFICATES",
    "cms_certificates",
    "collect_validation_data",
    "embedded_certificates",
    "signature_timestamp_tokens",
    "trim_der",
]

#: Most certificates whose revocation status one call collects.
MAX_COVERED_CERTIFICATES = 64
_ATTR_TIMESTAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"  # noqa: S105 - an OID
_MAX_CHAIN = 10


def trim_der(data: bytes) -> bytes:
    """The DER element at the start of ``data`` (a ``/Contents`` value is zero-padded)."""
    if len(data) < 2:
        raise raw.CMSFormatError("the signature container is empty")
    first = data[1]
    if first < 0x80:
        head, length = 2, first
    else:
        count = first & 0x7F
        if not 0 < count <= 4 or len(data) < 2 + count:
            raise raw.CMSFormatError("the signature container has a bad length")
        head, length = 2 + count, int.from_bytes(data[2 : 2 + count], "big")
    if head + length > len(data):
        raise raw.CMSFormatError("the signature container is truncated")
    return data[: head + length]


def signature_timestamp_tokens(signed: asn1_cms.SignedData) -> list[bytes]:
    """The DER signature timestamp tokens in the unsigned attributes of every SignerInfo."""
    tokens: list[bytes] = []
    for signer_info in signed["signer_infos"]:
        values = raw.attribute_values(signer_info["unsigned_attrs"], _ATTR_TIMESTAMP_TOKEN)
        tokens.extend(bytes(v.dump()) for v in values or ())
    return tokens


def cms_certificates(der: bytes, *, timestamp: bool = False) -> list[Certificate]:
    """The certificates of a CMS signature (or timestamp token) and of its timestamp tokens.

    Raises:
        raw.CMSFormatError: ``der`` is not a readable SignedData.
    """
    expected = raw.ID_TST_INFO if timestamp else None
    signed = raw.parse_signed_data(der, expect_content_type=expected)
    found = raw.certificates_of(signed)
    for token in signature_timestamp_tokens(signed):
        inner = raw.parse_signed_data(token, expect_content_type=raw.ID_TST_INFO)
        found.extend(raw.certificates_of(inner))
    return list(dict.fromkeys(found))


def embedded_certificates(signatures: Iterable[SignatureDictionary]) -> list[Certificate]:
    """Every certificate in the signatures and timestamps of a document (and their tokens).

    Raises:
        CertificateError: a signature container cannot be read.
    """
    found: list[Certificate] = []
    for sig in signatures:
        if sig.contents is None:
            continue
        try:
            found.extend(
                cms_certificates(
                    trim_der(sig.contents), timestamp=sig.kind is SignatureKind.DOC_TIMESTAMP
                )
            )
        except (raw.CMSFormatError, ValueError, KeyError, TypeError) as exc:
            raise CertificateError(
                f"the signature in field {sig.field_name!r} cannot be read"
            ) from exc
    return list(dict.fromkeys(found))


class _Pool:
    """Certificates by normalised subject, to find issuers."""

    def __init__(self, certificates: Iterable[Certificate]) -> None:
        self.by_subject: dict[NormName, list[Certificate]] = {}
        for cert in certificates:
            self.add(cert)

    def add(self, cert: Certificate) -> None:
        bucket = self.by_subject.setdefault(normalize_name(cert.subject), [])
        if cert not in bucket:
            bucket.append(cert)

    def named(self, name: NormName) -> Sequence[Certificate]:
        return self.by_subject.get(name, ())

    def issuer_of(self, cert: Certificate) -> Certificate | None:
        candidates = self.named(normalize_name(cert.issuer))
        aki = cert.authority_key_identifier
        for cand in candidates:
            if aki is None or cand.subject_key_identifier in (None, aki):
                return cand
        return None


def _responder_certificates(check: RevocationCheck) -> list[Certificate]:
    if check.source is not RevocationSourceType.OCSP:
        return []
    out: list[Certificate] = []
    for der in check.evidence:
        try:
            response = ocsp.load_der_ocsp_response(der)
            out.extend(Certificate.from_cryptography(c) for c in response.certificates)
        except (ValueError, TypeError):
            continue
    return out


def collect_validation_data(
    covered: Sequence[Certificate],
    *,
    pool: Iterable[Certificate],
    source: RevocationSource,
    at: dt.datetime | None = None,
) -> DSSData:
    """Certificates, OCSP responses and CRLs that make ``covered`` verifiable later.

    ``pool`` holds the issuers to build chains from (signer chain, TSA certificates, trust
    anchors).  Self-issued certificates need no revocation data; an OCSP responder with
    id-pkix-ocsp-nocheck neither.

    Raises:
        CertificateError: an issuer cannot be found among the certificates at hand.
        SigningError: a certificate is revoked.
        RevocationFetchError: the revocation status of a certificate cannot be found.
    """
    known = _Pool((*covered, *pool))
    when = at or dt.datetime.now(dt.UTC)
    ctx = RevocationContext(
        source=source,
        policy=ValidationPolicy.public_service(),
        at=when,
        count_signature=lambda: None,
        validate_signer=lambda _cert: None,
        certificates_named=known.named,
    )
    certificates: list[Certificate] = []
    ocsps: list[bytes] = []
    crls: list[bytes] = []
    todo = list(covered)
    done: set[Certificate] = set()
    while todo:
        cert = todo.pop(0)
        if cert in done:
            continue
        done.add(cert)
        if len(done) > MAX_COVERED_CERTIFICATES:
            raise SigningError(f"more than {MAX_COVERED_CERTIFICATES} certificates to cover")
        certificates.append(cert)
        if cert.is_self_issued:
            continue
        issuer = known.issuer_of(cert)
        if issuer is None:
            raise CertificateError(
                f"the issuer of {cert.subject_text!r} is unknown: give the full chain "
                "(or a trust store with it)"
            )
        todo.append(issuer)
        if cert.has_ocsp_no_check:
            continue
        check = check_revocation(cert, issuer, ctx)
        if check.status is RevocationStatus.REVOKED:
            raise SigningError(f"the certificate of {cert.subject_text!r} is revoked")
        if check.status is not RevocationStatus.GOOD:
            raise RevocationFetchError(
                f"no revocation status for {cert.subject_text!r}: {check.detail}"
            )
        target = ocsps if check.source is RevocationSourceType.OCSP else crls
        target.extend(check.evidence)
        for responder in _responder_certificates(check):
            known.add(responder)
            todo.append(responder)
    cert_ders: tuple[bytes, ...] = tuple(c.der for c in certificates)
    ocsp_ders: tuple[bytes, ...] = tuple(dict.fromkeys(ocsps))
    crl_ders: tuple[bytes, ...] = tuple(dict.fromkeys(crls))
    # DSSData's ``converter=tuple`` fields confuse mypy's attrs plugin.
    return DSSData(
        certificates=cert_ders,  # type: ignore[arg-type]
        ocsps=ocsp_ders,  # type: ignore[arg-type]
        crls=crl_ders,  # type: ignore[arg-type]
    )
