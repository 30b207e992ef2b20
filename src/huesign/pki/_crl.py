"""CRL processing for revocation checking (RFC 5280, 6.3).

Issuer and scope matching (distribution points, issuing distribution point, indirect CRLs),
reason partitions, delta CRLs, hold and removeFromCRL, signer checks and freshness.  Used by
:mod:`huesign.pki.revocation`; nothing here raises for hostile CRLs, they are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import ExtensionOID

from huesign.pki._certinfo import CertInfo
from huesign.pki._names import NormName, normalize_name
from huesign.pki.certificates import Certificate, KeyUsage
from huesign.pki.policy import ValidationPolicy

__all__ = ["CRLContext", "CRLOutcome", "ParsedCRL", "check_crls", "hash_name", "parse_crl"]

_ALL_REASONS = frozenset(
    {
        "keyCompromise",
        "cACompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
        "certificateHold",
        "privilegeWithdrawn",
        "aACompromise",
    }
)
_KNOWN_CRL_EXTENSIONS = frozenset(
    {
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.CRL_NUMBER,
        ExtensionOID.DELTA_CRL_INDICATOR,
        ExtensionOID.ISSUING_DISTRIBUTION_POINT,
        ExtensionOID.FRESHEST_CRL,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    }
)
_KNOWN_ENTRY_EXTENSIONS = frozenset(
    {
        x509.oid.CRLEntryExtensionOID.CRL_REASON,
        x509.oid.CRLEntryExtensionOID.CERTIFICATE_ISSUER,
        x509.oid.CRLEntryExtensionOID.INVALIDITY_DATE,
    }
)


class CRLContext(Protocol):
    """What CRL processing needs from the validation that runs it."""

    policy: ValidationPolicy
    at: dt.datetime
    count_signature: Callable[[], None]
    validate_signer: Callable[[Certificate], str | None]
    certificates_named: Callable[[NormName], Sequence[Certificate]]

    def hash_accepted(self, name: str | None) -> bool:
        """Whether a signature digest name is acceptable."""
        ...

    def info(self, cert: Certificate) -> CertInfo:
        """The parsed facts of ``cert``, parsed once per validation."""
        ...

    def crl_signed_by(self, parsed: ParsedCRL, signer: Certificate) -> bool:
        """Whether ``signer``'s key verifies the CRL (counted, checked once per validation)."""
        ...


@attrs.frozen
class CRLOutcome:
    """What the CRLs say about one certificate: revoked (with time and reason) or good."""

    revoked: bool
    time: dt.datetime | None
    reason: str | None
    evidence: tuple[bytes, ...]


def hash_name(get: Callable[[], object]) -> str | None:
    """The name of the digest returned by ``get`` (``unsupported`` when it cannot be read)."""
    try:
        algo = get()
    except (UnsupportedAlgorithm, ValueError):
        return "unsupported"
    name = getattr(algo, "name", None)
    return name if isinstance(name, str) else None


@attrs.frozen(kw_only=True)
class ParsedCRL:
    """A CRL parsed once, with its DER, normalised issuer and the numbers delta CRLs need.

    Attributes:
        crl: the parsed CRL.
        der: its DER encoding.
        issuer: the normalised issuer name.
        number: the CRL number (``None`` when absent or unreadable).
        delta_base: the base CRL number of a delta CRL (``None`` for a complete CRL).
        idp_der: the DER of the issuing distribution point (empty when absent).
    """

    crl: x509.CertificateRevocationList
    der: bytes
    issuer: NormName
    number: int | None
    delta_base: int | None
    idp_der: bytes


def parse_crl(der: bytes) -> ParsedCRL | None:
    """Parse a DER CRL, or return ``None`` when it is unreadable."""
    try:
        crl = x509.load_der_x509_crl(der)
        number, delta_base, idp_der = _numbers(crl)
        return ParsedCRL(
            crl=crl,
            der=der,
            issuer=normalize_name(crl.issuer),
            number=number,
            delta_base=delta_base,
            idp_der=idp_der,
        )
    except (ValueError, TypeError):
        return None


def _dp_names(
    dp_full: Sequence[x509.GeneralName] | None,
    dp_relative: x509.RelativeDistinguishedName | None,
    issuer: x509.Name,
) -> set[object]:
    names: set[object] = set()
    for name in dp_full or ():
        if isinstance(name, x509.DirectoryName):
            names.add(("dn", normalize_name(name.value)))
        else:
            names.add((type(name).__name__, str(name.value)))
    if dp_relative is not None:
        full = x509.Name([*issuer.rdns, dp_relative])
        names.add(("dn", normalize_name(full)))
    return names


def _crl_scope_ok(
    cert: Certificate,
    point: x509.DistributionPoint | None,
    parsed: ParsedCRL,
    is_ca: bool,
    cert_issuer: NormName,
) -> tuple[bool, frozenset[str]]:
    """RFC 5280 6.3.3 (b) and (c): whether the CRL covers ``cert`` and for which reasons."""
    crl = parsed.crl
    crl_issuers = [
        normalize_name(n.value)
        for n in ((point.crl_issuer or ()) if point else ())
        if isinstance(n, x509.DirectoryName)
    ]
    try:
        idp: x509.IssuingDistributionPoint | None = crl.extensions.get_extension_for_class(
            x509.IssuingDistributionPoint
        ).value
    except x509.ExtensionNotFound:
        idp = None
    if crl_issuers:
        if parsed.issuer not in crl_issuers or idp is None or not idp.indirect_crl:
            return False, frozenset()
    elif parsed.issuer != cert_issuer:
        return False, frozenset()
    reasons = _ALL_REASONS
    if idp is not None:
        if idp.full_name is not None or idp.relative_name is not None:
            idp_names = _dp_names(idp.full_name, idp.relative_name, crl.issuer)
            if point is not None and (point.full_name is not None or point.relative_name):
                base = next(
                    (n.value for n in point.crl_issuer or () if isinstance(n, x509.DirectoryName)),
                    cert.issuer,
                )
                cert_names = _dp_names(point.full_name, point.relative_name, base)
            elif point is not None and point.crl_issuer:
                cert_names = _dp_names(point.crl_issuer, None, cert.issuer)
            else:
                cert_names = set()
            if not idp_names & cert_names:
                return False, frozenset()
        if idp.only_contains_user_certs and is_ca:
            return False, frozenset()
        if idp.only_contains_ca_certs and not is_ca:
            return False, frozenset()
        if idp.only_contains_attribute_certs:
            return False, frozenset()
        if idp.only_some_reasons:
            reasons = frozenset(r.value for r in idp.only_some_reasons)
    if point is not None and point.reasons:
        reasons = reasons & frozenset(r.value for r in point.reasons)
    return True, reasons


def _crl_usable(parsed: ParsedCRL, ctx: CRLContext) -> bool:
    crl = parsed.crl
    try:
        for ext in crl.extensions:
            if ext.critical and ext.oid not in _KNOWN_CRL_EXTENSIONS:
                return False
        if not ctx.hash_accepted(hash_name(lambda: crl.signature_hash_algorithm)):
            return False
        skew = dt.timedelta(seconds=ctx.policy.clock_skew_seconds)
        next_update = crl.next_update_utc
    except (ValueError, x509.DuplicateExtension):
        return False
    return not (
        crl.last_update_utc < ctx.at - skew and (next_update is None or next_update < ctx.at)
    )


def _crl_signed(cert_issuer: Certificate, parsed: ParsedCRL, ctx: CRLContext) -> bool:
    """RFC 5280 6.3.3 (f)-(g): the CRL signer is the issuer or a validated CRL issuer."""
    crl = parsed.crl
    try:
        aki_ext = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        aki = aki_ext.value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    except (ValueError, x509.DuplicateExtension):
        return False
    candidates: list[Certificate] = []
    if ctx.info(cert_issuer).subject == parsed.issuer:
        candidates.append(cert_issuer)
    candidates.extend(c for c in ctx.certificates_named(parsed.issuer) if c != cert_issuer)
    for signer in candidates:
        info = ctx.info(signer)
        if info.error:  # the accessors say what is malformed
            ski, usage = signer.subject_key_identifier, signer.key_usage
        else:
            ski, usage = info.ski, info.key_usage
        if aki is not None and ski is not None and aki != ski:
            continue
        if usage is not None and KeyUsage.CRL_SIGN not in usage:
            continue
        if not ctx.crl_signed_by(parsed, signer):
            continue
        if signer == cert_issuer or ctx.validate_signer(signer) is None:
            return True
    return False


def _numbers(crl: x509.CertificateRevocationList) -> tuple[int | None, int | None, bytes]:
    """The CRL number, the delta base CRL number and the issuing distribution point DER.

    One pass over the extensions; all three are absent when the extensions are unreadable.
    """
    try:
        extensions = crl.extensions
    except (ValueError, x509.DuplicateExtension):
        return None, None, b""
    number: int | None = None
    base: int | None = None
    idp = b""
    for ext in extensions:
        value = ext.value
        if type(value) is x509.CRLNumber:
            number = value.crl_number
        elif type(value) is x509.DeltaCRLIndicator:
            base = value.crl_number
        elif type(value) is x509.IssuingDistributionPoint:
            idp = value.public_bytes()
    return number, base, idp


@attrs.frozen
class _Entry:
    reason: str
    time: dt.datetime


def _find_entry(
    cert: Certificate, parsed: ParsedCRL, *, indirect: bool, target_issuer: NormName
) -> _Entry | bool | None:
    """The CRL entry of ``cert`` (``None`` when absent, ``False`` when the CRL is unusable)."""
    crl = parsed.crl
    found: x509.RevokedCertificate | None = None
    if not indirect and cert.serial_number > 0:
        found = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    elif not indirect:  # non-conforming serial numbers cannot be looked up directly
        found = next((e for e in crl if e.serial_number == cert.serial_number), None)
    else:
        current = parsed.issuer
        for entry in crl:
            try:
                ci = entry.extensions.get_extension_for_class(x509.CertificateIssuer).value
                names = [n.value for n in ci if isinstance(n, x509.DirectoryName)]
                if names:
                    current = normalize_name(names[0])
            except x509.ExtensionNotFound:
                pass
            if entry.serial_number == cert.serial_number and current == target_issuer:
                found = entry
                break
    if found is None:
        return None
    reason = "unspecified"
    for ext in found.extensions:
        if ext.critical and ext.oid not in _KNOWN_ENTRY_EXTENSIONS:
            return False
        if isinstance(ext.value, x509.CRLReason):
            reason = ext.value.reason.value
    return _Entry(reason, found.revocation_date_utc)


def check_crls(
    cert: Certificate, issuer: Certificate, crls: Sequence[ParsedCRL], ctx: CRLContext
) -> CRLOutcome | None:
    """RFC 5280 6.3.3 over ``crls``: the outcome, or ``None`` when they do not decide."""
    try:
        cdp = cert.to_cryptography().extensions.get_extension_for_class(x509.CRLDistributionPoints)
        points: list[x509.DistributionPoint | None] = list(cdp.value)
    except x509.ExtensionNotFound:
        points = [None]
    info = ctx.info(cert)
    is_ca = cert.is_ca if info.error else info.basic_ca
    cert_issuer = info.issuer
    complete = [p for p in crls if p.delta_base is None]
    deltas = [p for p in crls if p.delta_base is not None]
    mask: frozenset[str] = frozenset()
    status: _Entry | None = None
    evidence: list[bytes] = []
    for point in points:
        for parsed in complete:
            if mask >= _ALL_REASONS:
                break
            ok, interim = _crl_scope_ok(cert, point, parsed, is_ca, cert_issuer)
            if not ok or interim <= mask:
                continue
            if not _crl_usable(parsed, ctx) or not _crl_signed(issuer, parsed, ctx):
                continue
            indirect = bool(point is not None and point.crl_issuer) or parsed.issuer != cert_issuer
            number = parsed.number
            entry: _Entry | bool | None = None
            delta_used: ParsedCRL | None = None
            for delta in deltas:
                base = delta.delta_base
                if (
                    delta.issuer != parsed.issuer
                    or number is None
                    or base is None
                    or base > number
                    or delta.idp_der != parsed.idp_der
                    or not _crl_usable(delta, ctx)
                    or not _crl_signed(issuer, delta, ctx)
                ):
                    continue
                delta_used = delta
                entry = _find_entry(cert, delta, indirect=indirect, target_issuer=cert_issuer)
                break
            if entry is False:
                continue
            if entry is None:
                entry = _find_entry(cert, parsed, indirect=indirect, target_issuer=cert_issuer)
                if entry is False:
                    continue
            evidence.append(parsed.der)
            if delta_used is not None:
                evidence.append(delta_used.der)
            if isinstance(entry, _Entry) and entry.reason != "removeFromCRL":
                status = entry
            mask = mask | interim
            if status is not None:
                break
        if status is not None:
            break
    if status is not None:
        return CRLOutcome(True, status.time, status.reason, tuple(evidence))
    if mask >= _ALL_REASONS:
        return CRLOutcome(False, None, None, tuple(evidence))
    return None
