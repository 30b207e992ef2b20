"""PAdES validation: every signature and document timestamp of a PDF, each with a verdict.

:func:`verify_pdf` reads the file once, lazily, through :class:`~huesign.pki.pdfreader.PDFReader`
and, for each signature field in file order:

1. checks that the ``/ByteRange`` surrounds the ``/Contents`` string exactly and ends where a
   revision ends (:func:`~huesign.pki.pdffields.find_signatures`); anything else is a
   FORMAT_FAILURE, which defeats universal signature forgery and signature wrapping;
2. checks the CMS signature over the byte ranges with the same steps as
   :func:`~huesign.pki.cms.verify_cms` (integrity, signing-certificate-v2, signature
   timestamp, certificate path at the proven time), hashing the file in chunks;
3. classifies every incremental update made after the signed revision
   (:func:`~huesign.pki.pdfdiff.analyse_modifications`) and applies the modification policy,
   the DocMDP level of a certification and the FieldMDP locks of the signature.

Document timestamps (``/ETSI.RFC3161``) are checked as timestamps over their byte range;
a valid one is proof of existence for every signature it covers, so a signature whose
certificate expired, or was revoked, after that time still passes when the file holds the
validation data (B-LTA).  Certificates, OCSP responses and CRLs of the document security
store are used as offline revocation data, together with the caller's
:class:`~huesign.pki.revocation.RevocationSource`.

The default policy, :attr:`ModificationPolicy.STRICT`, fits public-service documents: after
a signature only further signatures, document-security-store updates and document
timestamps are allowed.  Changes to the document information dictionary, the XMP
``/Metadata`` stream and the catalog ``/Version`` (which other signing tools, pyHanko among
them, make when they add a signature) are also accepted, with a warning on the report: they
draw nothing on any page, every viewer ignores them when rendering, and refusing them would
make every countersignature by such a tool invalidate the earlier signatures.  Everything
else (page content, resources, annotations, form values, a new catalog) fails the
signature with SIG_CONSTRAINTS_FAILURE and a message naming the change.
:attr:`ModificationPolicy.FORM_FILLING` also accepts form filling and annotations, but only
as far as a certification's DocMDP level allows (P=1: no change but DSS and timestamps;
P=2: form filling and signatures; P=3: annotations too).

Verification never raises for a bad, damaged or hostile file: each problem becomes a report
(FORMAT_FAILURE for a file that cannot be read).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

import attrs

from huesign.errors import PDFFormatError
from huesign.pki import _cms_asn1 as raw
from huesign.pki import _cms_verify as v
from huesign.pki._pdfverify_rules import (
    BAD_INPUT,
    MAX_DSS_ITEMS,
    Certification,
    ModificationPolicy,
    allowed_kinds,
    breaks_lock,
    certification_of,
    combine,
    der_prefix,
    earliest_poe,
    field_names,
    file_position,
    locked_fields,
    message,
    read_dss,
)
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.path import validate_path
from huesign.pki.pdfdiff import ChangeKind, analyse_modifications
from huesign.pki.pdffields import (
    Coverage,
    SignatureDictionary,
    SignatureKind,
    find_signatures,
)
from huesign.pki.pdfobjects import PDFDict
from huesign.pki.pdfreader import PDFReader
from huesign.pki.policy import ValidationPolicy
from huesign.pki.report import (
    CertificateSummary,
    LTVStatus,
    PDFModification,
    PDFSignatureDetails,
    PDFValidationReport,
    ReportMessage,
    ScopeKind,
    SignatureLevel,
    SignatureScope,
    TimestampSummary,
    ValidationReport,
)
from huesign.pki.revocation import RevocationSource
from huesign.pki.trust import TrustStore
from huesign.pki.tsp import TIME_STAMPING_EKU, check_timestamp_token

__all__ = [
    "MAX_DSS_ITEMS",
    "MAX_SIGNATURES",
    "ModificationPolicy",
    "PDFValidationReport",
    "verify_pdf",
]

#: Most signatures and document timestamps validated in one file.
MAX_SIGNATURES = 64
_CHUNK = 1 << 20
_SIGNATURE_FILTERS = frozenset({"ETSI.CAdES.detached", "adbe.pkcs7.detached"})
_TIMESTAMP_FILTERS = frozenset({"ETSI.RFC3161"})
# Failures that a proof of existence at an earlier time may cure.
_TIME_BOUND = frozenset(
    {
        SubIndication.EXPIRED,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
        SubIndication.OUT_OF_BOUNDS_NOT_REVOKED,
        SubIndication.REVOKED,
        SubIndication.REVOKED_NO_POE,
        SubIndication.REVOKED_CA_NO_POE,
        SubIndication.TRY_LATER,
        SubIndication.NO_POE,
    }
)


_Check = Callable[
    [SignatureDictionary, PDFSignatureDetails, "dt.datetime | None"], ValidationReport
]


def verify_pdf(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None = None,
    revocation: RevocationSource | None = None,
    at: dt.datetime | None = None,
    modifications: ModificationPolicy = ModificationPolicy.STRICT,
) -> PDFValidationReport:
    """Validate every signature and document timestamp of a PDF.

    Args:
        source: a path, the file's bytes, or a seekable binary file (left open).
        trust: the trust anchors (e.g. ``TrustStore.vietnam()``).
        policy: path and revocation rules (default: the public-service policy, hard-fail).
        revocation: revocation data and fetcher, used with the file's own DSS data.
        at: validation time; default: each signature's proven time, else now.
        modifications: which changes after a signature are accepted (default: strict).

    Never raises for a bad or hostile file: the reports say what failed.

    Raises:
        ValueError: ``at`` is naive.
        TypeError: ``modifications`` is not a :class:`ModificationPolicy`.
        OSError: ``source`` is a path that cannot be opened.
    """
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if not isinstance(modifications, ModificationPolicy):
        raise TypeError("modifications must be a ModificationPolicy")
    if isinstance(source, (bytes, bytearray, memoryview)):
        fh: BinaryIO = io.BytesIO(bytes(source))
        owned = True
    elif isinstance(source, (str, os.PathLike)):
        fh = open(source, "rb")  # noqa: SIM115 - closed below
        owned = True
    else:
        fh, owned = source, False
    try:
        try:
            reader = PDFReader(fh)
        except BAD_INPUT as exc:
            return _unreadable(at, exc)
        verifier = _Verifier(
            reader, trust=trust, policy=policy, revocation=revocation, at=at, mode=modifications
        )
        try:
            return verifier.run()
        except BAD_INPUT as exc:
            return _unreadable(at, exc)
    finally:
        if owned:
            fh.close()


def _unreadable(at: dt.datetime | None, exc: BaseException) -> PDFValidationReport:
    detail = str(exc)[:200] or type(exc).__name__
    return PDFValidationReport(
        signatures=[
            ValidationReport(
                indication=Indication.TOTAL_FAILED,
                sub_indication=SubIndication.FORMAT_FAILURE,
                validation_time=at or v.now(),
                errors=[message("pdf_unreadable", detail)],
            )
        ]
    )


def _failed(
    at: dt.datetime | None,
    code: str,
    details: PDFSignatureDetails,
    detail: str = "",
    sub: SubIndication = SubIndication.FORMAT_FAILURE,
) -> ValidationReport:
    return ValidationReport(
        indication=Indication.TOTAL_FAILED,
        sub_indication=sub,
        validation_time=at or v.now(),
        errors=[message(code, detail)],
        pdf=details,
    )


def _shared_values(found: list[SignatureDictionary]) -> frozenset[str]:
    """Names of the fields whose signature dictionary another field also uses."""
    users: dict[int, list[str]] = {}
    for sd in found:
        if sd.ref is not None:
            users.setdefault(sd.ref.num, []).append(sd.field_name)
    return frozenset(name for names in users.values() if len(names) > 1 for name in names)


def _reject_shared(report: ValidationReport, shared: frozenset[str]) -> ValidationReport:
    if report.pdf is None or report.pdf.field_name not in shared:
        return report
    return attrs.evolve(
        report,
        indication=Indication.TOTAL_FAILED,
        sub_indication=SubIndication.FORMAT_FAILURE,
        errors=(*report.errors, message("shared_signature_value")),
    )


class _Verifier:
    """One validation run over one open file (not shared, not kept)."""

    def __init__(
        self,
        reader: PDFReader,
        *,
        trust: TrustStore,
        policy: ValidationPolicy | None,
        revocation: RevocationSource | None,
        at: dt.datetime | None,
        mode: ModificationPolicy,
    ) -> None:
        self.reader = reader
        self.trust = trust
        self.policy = policy
        self.at = at
        self.mode = mode
        self.dss = read_dss(reader)
        self.revocation = combine(revocation, self.dss)
        self.last = len(reader.revisions) - 1
        self.dss_revision: int | None = None
        self.stamps: list[tuple[int, dt.datetime]] = []

    # --- the run --------------------------------------------------------------------------

    def run(self) -> PDFValidationReport:
        found = find_signatures(self.reader)
        found.sort(key=file_position)
        extra: list[ReportMessage] = []
        if len(found) > MAX_SIGNATURES:
            found = found[:MAX_SIGNATURES]
            extra.append(message("too_many_signatures"))
        certification = certification_of(self.reader, found)
        self.dss_revision = self._dss_revision() if self.dss.has_revocation_data else None
        # Timestamps first, newest first: each valid one is proof of existence for what
        # it covers, including the document timestamps before it.
        stamps: dict[int, ValidationReport] = {}
        poe = self.stamps
        for index in reversed(range(len(found))):
            sd = found[index]
            if sd.kind is SignatureKind.DOC_TIMESTAMP:
                report = self._guarded(sd, certification, poe, self._timestamp)
                stamps[index] = report
                if report.passed and report.proven_signing_time and sd.revision is not None:
                    poe.append((sd.revision, report.proven_signing_time))
        signatures: list[ValidationReport] = []
        for sd in found:
            if sd.kind is SignatureKind.SIGNATURE:
                signatures.append(self._guarded(sd, certification, poe, self._signature))
        # A signature value shown by two fields: one of them is a copy, whose widget can draw
        # anything over the page while looking signed.  The modification analysis already
        # refuses a copy added after signing; this names the problem in both reports.
        shared = _shared_values(found)
        if shared:
            signatures = [_reject_shared(r, shared) for r in signatures]
            stamps = {i: _reject_shared(r, shared) for i, r in stamps.items()}
        if extra and signatures:
            signatures[-1] = attrs.evolve(
                signatures[-1], warnings=(*signatures[-1].warnings, *extra)
            )
        return PDFValidationReport(
            signatures=signatures,
            document_timestamps=[stamps[i] for i in sorted(stamps)],
        )

    def _guarded(
        self,
        sd: SignatureDictionary,
        certification: Certification | None,
        poe: list[tuple[int, dt.datetime]],
        check: _Check,
    ) -> ValidationReport:
        details = PDFSignatureDetails(
            field_name=sd.field_name,
            revision=sd.revision,
            revisions=self.last + 1,
            coverage=sd.coverage,
            byte_range=sd.byte_range,
            sub_filter=sd.sub_filter,
            certification=certification is not None
            and sd.ref is not None
            and sd.ref.num == certification.signature,
        )
        try:
            report = check(sd, details, earliest_poe(poe, sd.revision))
            if report.pdf is None:
                return report
            return self._apply_modifications(report, sd, certification)
        except BAD_INPUT as exc:
            detail = str(exc)[:200] or type(exc).__name__
            return _failed(self.at, "signature_unreadable", details, detail)

    # --- one signature --------------------------------------------------------------------

    def _precheck(
        self, sd: SignatureDictionary, details: PDFSignatureDetails, filters: frozenset[str]
    ) -> ValidationReport | bytes:
        """Structural checks shared by signatures and timestamps; the DER on success."""
        if sd.sub_filter not in filters:
            return _failed(self.at, "sub_filter", details, str(sd.sub_filter))
        if sd.coverage is Coverage.MALFORMED:
            return _failed(self.at, "byte_range_malformed", details, str(sd.byte_range))
        if sd.coverage is Coverage.PARTIAL:
            return _failed(self.at, "byte_range_partial", details, str(sd.byte_range))
        if not sd.contents or not sd.contents.strip(b"\x00"):
            return _failed(self.at, "contents_empty", details)
        der = der_prefix(sd.contents)
        if der is None:
            return _failed(self.at, "signature_unreadable", details, "not one DER structure")
        return der

    def _signature(
        self, sd: SignatureDictionary, details: PDFSignatureDetails, poe: dt.datetime | None
    ) -> ValidationReport:
        der = self._precheck(sd, details, _SIGNATURE_FILTERS)
        if isinstance(der, ValidationReport):
            return der
        signed = raw.parse_signed_data(der)
        facts = v.integrity(signed, self._chunks(sd), self.dss.certificates)
        facts = attrs.evolve(facts, scope=self._scope(sd))
        report = v.conclude(
            facts, trust=self.trust, policy=self.policy, revocation=self.revocation, at=self.at
        )
        if (
            not report.passed
            and self.at is None
            and poe is not None
            and facts.verdict is None
            and report.sub_indication in _TIME_BOUND
        ):
            again = v.conclude(
                facts, trust=self.trust, policy=self.policy, revocation=self.revocation, at=poe
            )
            if again.passed:
                report = attrs.evolve(
                    again, warnings=(*again.warnings, message("validated_with_poe"))
                )
        ltv, level = self._long_term(report, sd, poe)
        return attrs.evolve(report, level=level, pdf=attrs.evolve(details, ltv=ltv))

    def _long_term(
        self, report: ValidationReport, sd: SignatureDictionary, poe: dt.datetime | None
    ) -> tuple[LTVStatus, SignatureLevel | None]:
        """The LTV status and baseline level a passed signature reaches.

        A later document timestamp gives B-T to a signature without its own timestamp;
        revocation data in the DSS that the validation used gives B-LT; a document
        timestamp after the last DSS update and after the signature gives B-LTA.
        """
        level = report.level
        if not report.passed or level is None:
            return LTVStatus.NONE, level
        if poe is not None and level is SignatureLevel.B_B:
            level = SignatureLevel.B_T
        if not (self.dss.has_revocation_data and report.revocation):
            return LTVStatus.NONE, level
        ltv = LTVStatus.LT
        floor = max(self.dss_revision or 0, sd.revision or 0)
        if any(rev > floor for rev, _ in self.stamps):
            ltv = LTVStatus.LTA
        if level is SignatureLevel.B_T:
            level = SignatureLevel.B_LTA if ltv is LTVStatus.LTA else SignatureLevel.B_LT
        return ltv, level

    def _dss_revision(self) -> int | None:
        """The revision that gave the DSS its present content (``None`` without a DSS)."""
        reader = self.reader

        def dss_at(rev: int) -> tuple[object, ...] | None:
            catalog = reader.get_dict(reader.trailer_at(rev).get("Root"), rev)
            dss = reader.resolve(catalog.get("DSS"), rev)
            if not isinstance(dss, PDFDict):
                return None
            return tuple(reader.resolve(dss.get(k), rev) for k in ("Certs", "OCSPs", "CRLs"))

        final = dss_at(self.last)
        if final is None:
            return None
        rev = self.last
        while rev > 0 and self.last - rev < MAX_SIGNATURES and dss_at(rev - 1) == final:
            rev -= 1
        return rev

    def _timestamp(
        self, sd: SignatureDictionary, details: PDFSignatureDetails, poe: dt.datetime | None
    ) -> ValidationReport:
        der = self._precheck(sd, details, _TIMESTAMP_FILTERS)
        if isinstance(der, ValidationReport):
            return der
        tcheck = check_timestamp_token(
            der, data=self._chunks(sd), extra_certificates=self.dss.certificates
        )
        info, tsa = tcheck.info, tcheck.tsa_certificate
        base = ValidationReport(
            indication=Indication.TOTAL_FAILED,
            sub_indication=SubIndication.FORMAT_FAILURE,
            validation_time=self.at or v.now(),
            scope=self._scope(sd),
            pdf=details,
        )
        if info is None:
            return attrs.evolve(base, errors=[message("timestamp_invalid", str(tcheck.problem))])
        summary = TimestampSummary(
            time=info.time,
            valid=False,
            tsa=CertificateSummary.from_certificate(tsa) if tsa else None,
            hash_algorithm=info.hash_algorithm.value,
            policy=info.policy,
        )
        base = attrs.evolve(
            base,
            signer=tsa.identity if tsa else None,
            signer_certificate=summary.tsa,
            timestamps=[summary],
            digest_algorithm=info.hash_algorithm.value,
        )
        if not tcheck.ok or tsa is None:
            sub = (
                SubIndication.HASH_FAILURE
                if tcheck.problem == "timestamp_imprint_mismatch"
                else SubIndication.SIG_CRYPTO_FAILURE
            )
            return attrs.evolve(
                base,
                sub_indication=sub,
                timestamps=[attrs.evolve(summary, reason=tcheck.problem)],
                errors=[message("timestamp_invalid", str(tcheck.problem))],
            )
        tsa_policy = attrs.evolve(
            self.policy or ValidationPolicy.public_service(),
            required_extended_key_usages=frozenset({TIME_STAMPING_EKU}),
        )
        result = None
        for when in (self.at, poe) if self.at is None and poe is not None else (self.at,):
            result = validate_path(
                tsa,
                trust=self.trust,
                intermediates=[*info.certificates, *self.dss.certificates],
                at=when,
                policy=tsa_policy,
                revocation=self.revocation,
            )
            if result.valid:
                break
        assert result is not None
        chain = [CertificateSummary.from_certificate(c) for c in result.chain]
        if not result.valid:
            sub = result.sub_indication or SubIndication.GENERIC
            detail = "; ".join(str(e) for e in result.errors)[:300]
            return attrs.evolve(
                base,
                indication=result.indication,
                sub_indication=sub,
                validation_time=result.validation_time,
                chain=chain,
                timestamps=[
                    attrs.evolve(summary, reason=f"TSA certificate {sub.value}: {detail}"[:300])
                ],
                errors=[message("timestamp_untrusted", detail)],
            )
        return attrs.evolve(
            base,
            indication=Indication.TOTAL_PASSED,
            sub_indication=None,
            validation_time=result.validation_time,
            proven_signing_time=info.time,
            chain=chain,
            timestamps=[attrs.evolve(summary, valid=True)],
        )

    # --- modifications ----------------------------------------------------------------------

    def _apply_modifications(
        self,
        report: ValidationReport,
        sd: SignatureDictionary,
        certification: Certification | None,
    ) -> ValidationReport:
        details = report.pdf
        assert details is not None
        if sd.revision is None:
            return report
        docmdp = (
            certification.level
            if certification is not None and certification.revision <= sd.revision
            else None
        )
        locks = locked_fields(self.reader, sd)
        details = attrs.evolve(details, docmdp=docmdp, locked_fields=locks)
        if sd.revision >= self.last:
            return attrs.evolve(report, pdf=details)
        summary = analyse_modifications(self.reader, sd.revision)
        allowed = allowed_kinds(self.mode, docmdp)
        names = field_names(self.reader, sd.revision) if locks else {}
        mods: list[PDFModification] = []
        for change in summary.changes:
            ok = change.kind in allowed and not breaks_lock(change, locks, names)
            mods.append(
                PDFModification(
                    revision=change.revision,
                    kind=change.kind,
                    reason=change.reason,
                    object_number=change.ref.num if change.ref else None,
                    allowed=ok,
                )
            )
        details = attrs.evolve(details, modifications=mods)
        texts = [f"{m.kind.value}: {m.reason} (revision {m.revision})" for m in mods]
        report = attrs.evolve(report, pdf=details, modifications=texts)
        warnings = list(report.warnings)
        if any(m.kind is ChangeKind.METADATA and m.allowed for m in mods):
            warnings.append(message("metadata_modification"))
        bad = [m for m in mods if not m.allowed]
        if not bad:
            return attrs.evolve(report, warnings=warnings)
        detail = "; ".join(
            f"revision {m.revision}: {m.reason}" + (" (field locked)" if m.kind in allowed else "")
            for m in bad[:5]
        )
        errors = (*report.errors, message("forbidden_modification", detail))
        if report.indication is Indication.TOTAL_FAILED:
            return attrs.evolve(report, warnings=warnings, errors=errors)
        return attrs.evolve(
            report,
            indication=Indication.TOTAL_FAILED,
            sub_indication=SubIndication.SIG_CONSTRAINTS_FAILURE,
            warnings=warnings,
            errors=errors,
        )

    # --- helpers ----------------------------------------------------------------------------

    def _chunks(self, sd: SignatureDictionary) -> Iterator[bytes]:
        byte_range = sd.byte_range or ()
        fh = self.reader.file
        for start, length in zip(byte_range[::2], byte_range[1::2], strict=True):
            remaining = length
            fh.seek(start)
            while remaining:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    raise PDFFormatError("the file ended inside the signed byte range")
                remaining -= len(chunk)
                yield chunk

    def _scope(self, sd: SignatureDictionary) -> SignatureScope:
        whole = sd.coverage is Coverage.WHOLE_FILE
        span = f"bytes {sd.byte_range} of {self.reader.size}"
        if sd.revision is not None:
            span += f"; revision {sd.revision + 1} of {self.last + 1}"
        return SignatureScope(
            kind=ScopeKind.FULL_DOCUMENT if whole else ScopeKind.PARTIAL_DOCUMENT,
            size=sd.signed_length,
            description=span,
        )
