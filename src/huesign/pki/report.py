"""Validation reports: one verdict per signature, in ETSI TS 119 102-1 terms.

A :class:`ValidationReport` says whether a signature passed, and if not, why, in words for
programs (indication, sub-indication, message codes) and for people
(:meth:`~ValidationReport.summary`, in Vietnamese or English).  It serialises to JSON and
back exactly, so an agency can archive it next to the document.  CMS and PDF validation
share the type: ``scope`` says what the signature covers; ``modifications`` lists changes
made after signing (PDF incremental updates; always empty for CMS).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable
from typing import Literal

import attrs
import cattrs

from huesign.errors import SignatureValidationError
from huesign.pki._time import format_vietnam_time
from huesign.pki.certificates import Certificate
from huesign.pki.identity import CitizenIdentity, Identifier
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.pdfdiff import ChangeKind
from huesign.pki.pdffields import Coverage

__all__ = [
    "CertificateSummary",
    "LTVStatus",
    "PDFModification",
    "PDFSignatureDetails",
    "PDFValidationReport",
    "ReportMessage",
    "RevocationEvidence",
    "ScopeKind",
    "SignatureLevel",
    "SignatureScope",
    "TimestampSummary",
    "ValidationReport",
]


class SignatureLevel(enum.Enum):
    """The baseline level a signature reaches (ETSI EN 319 122-1 / 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


class ScopeKind(enum.Enum):
    """What a signature covers."""

    DETACHED = "detached"
    ATTACHED = "attached"
    FULL_DOCUMENT = "full_document"
    PARTIAL_DOCUMENT = "partial_document"


class LTVStatus(enum.Enum):
    """Whether a PDF signature can be validated in the long term from the file alone.

    ``NONE``: validation needs outside data.  ``LT``: the document security store holds the
    revocation data the validation used.  ``LTA``: besides, a later document timestamp
    protects that data and the signature.
    """

    NONE = "none"
    LT = "lt"
    LTA = "lta"


def _tuple(values: Iterable[object]) -> tuple[object, ...]:
    return tuple(values)


def _optional_ints(values: Iterable[int] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(values)


@attrs.frozen(kw_only=True)
class ReportMessage:
    """One finding, for programs (``code``) and people (both languages).

    Attributes:
        code: a stable machine code such as ``message_digest_mismatch``.
        message_vi: the explanation in Vietnamese.
        message_en: the explanation in English.
    """

    code: str
    message_vi: str
    message_en: str

    def message(self, lang: Literal["vi", "en"] = "en") -> str:
        """The message in ``lang``."""
        return self.message_vi if lang == "vi" else self.message_en


@attrs.frozen(kw_only=True)
class CertificateSummary:
    """The facts of a certificate that a report keeps.

    Attributes:
        subject: RFC 4514 subject.
        issuer: RFC 4514 issuer.
        serial_number: serial number as lower-case hex.
        not_before: start of validity (UTC).
        not_after: end of validity (UTC).
        sha256: SHA-256 fingerprint, lower-case hex.
    """

    subject: str
    issuer: str
    serial_number: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str

    @classmethod
    def from_certificate(cls, certificate: Certificate) -> CertificateSummary:
        """Summarise ``certificate``."""
        return cls(
            subject=certificate.subject_text,
            issuer=certificate.issuer_text,
            serial_number=f"{certificate.serial_number:x}",
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            sha256=certificate.fingerprint("sha256").hex(),
        )


@attrs.frozen(kw_only=True)
class RevocationEvidence:
    """Revocation information that was used for one certificate.

    Attributes:
        certificate_sha256: fingerprint of the certificate it is about.
        source: ``"ocsp"``, ``"crl"`` or ``"none"``.
        status: ``"good"``, ``"revoked"`` or ``"unknown"``.
        checked_at: when the evidence was produced (OCSP producedAt, CRL thisUpdate).
        revoked_at: revocation time, when revoked.
        reason: RFC 5280 reason name, when revoked and given.
        url: where the evidence came from, when fetched.
    """

    certificate_sha256: str
    source: str
    status: str
    checked_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    url: str | None = None


@attrs.frozen(kw_only=True)
class TimestampSummary:
    """A timestamp found on the signature.

    Attributes:
        time: the time the TSA asserts (``genTime``).
        valid: whether the token verified (imprint, signature, TSA certificate and path).
        tsa: the TSA certificate, when found.
        hash_algorithm: digest of the message imprint.
        policy: the TSA policy OID.
        reason: why the timestamp could not be used (``None`` when it is valid): the token's
            problem code (e.g. ``timestamp_imprint_mismatch``) or what failed in the TSA
            certificate's path (e.g. ``TSA certificate TRY_LATER: ...``).
    """

    time: dt.datetime
    valid: bool
    tsa: CertificateSummary | None = None
    hash_algorithm: str | None = None
    policy: str | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class SignatureScope:
    """What a signature covers.

    Attributes:
        kind: detached data, encapsulated data, a whole PDF or part of one.
        size: covered length in bytes, when known.
        description: a short free text (e.g. the byte ranges of a PDF signature).
    """

    kind: ScopeKind
    size: int | None = None
    description: str | None = None


@attrs.frozen(kw_only=True)
class PDFModification:
    """One change made to a PDF after a signature, and whether the policy allowed it.

    Attributes:
        revision: index of the revision that made the change.
        kind: what kind of change it is.
        reason: a short English sentence saying what changed.
        object_number: the object changed, ``None`` for a trailer change.
        allowed: whether the modification policy (and the DocMDP/FieldMDP locks) accepts it.
    """

    revision: int
    kind: ChangeKind
    reason: str
    object_number: int | None = None
    allowed: bool


@attrs.frozen(kw_only=True)
class PDFSignatureDetails:
    """What a PDF signature (or document timestamp) covers and what happened after it.

    Attributes:
        field_name: the fully qualified signature field name.
        revision: index of the revision the byte range ends with (``None`` if none).
        revisions: how many revisions the file has.
        coverage: whole file, whole revision, partial or malformed.
        byte_range: the ``/ByteRange`` numbers as written, when readable.
        sub_filter: the ``/SubFilter`` (``ETSI.CAdES.detached``, ``ETSI.RFC3161``...).
        certification: whether this signature certifies the document (DocMDP).
        docmdp: the DocMDP permission level (1-3) in force for this signature, if any.
        locked_fields: the fields this signature locks (FieldMDP); ``("*",)`` for all.
        modifications: every change made after the signed revision.
        ltv: long-term validation status.
    """

    field_name: str
    revision: int | None = None
    revisions: int
    coverage: Coverage
    byte_range: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)
    sub_filter: str | None = None
    certification: bool = False
    docmdp: int | None = None
    locked_fields: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    modifications: tuple[PDFModification, ...] = attrs.field(default=(), converter=_tuple)
    ltv: LTVStatus = LTVStatus.NONE


_PASSED_VI = "Chữ ký số hợp lệ."
_PASSED_EN = "The digital signature is valid."
_HEAD = {
    Indication.TOTAL_PASSED: (_PASSED_VI, _PASSED_EN),
    Indication.TOTAL_FAILED: ("Chữ ký số KHÔNG hợp lệ.", "The digital signature is NOT valid."),
    Indication.INDETERMINATE: (
        "Chưa thể xác nhận chữ ký số.",
        "The digital signature could not be confirmed.",
    ),
}


@attrs.frozen(kw_only=True)
class ValidationReport:
    """The verdict on one signature.

    Attributes:
        indication: TOTAL_PASSED, TOTAL_FAILED or INDETERMINATE.
        sub_indication: why it did not pass (``None`` when it passed).
        validation_time: the time the certificate path was checked at.
        signer: the signer's identity, when the signing certificate was found.
        signer_certificate: the signing certificate.
        chain: the certificate path, signer first, ending with the trust anchor.
        claimed_signing_time: the signing-time attribute (what the signer claims).
        proven_signing_time: the earliest time proven by a valid timestamp.
        timestamps: every signature timestamp found.
        level: the baseline level the signature reaches.
        digest_algorithm: e.g. ``sha256``.
        signature_algorithm: e.g. ``ecdsa-sha256``.
        scope: what the signature covers.
        revocation: revocation evidence used, per certificate.
        errors: what failed.
        warnings: what did not fail but deserves attention.
        modifications: changes after signing (PDF incremental updates); empty for CMS.
        pdf: for a PDF signature or document timestamp: its field, coverage, revision,
            classified modifications, DocMDP level and LTV status; ``None`` for CMS.
    """

    indication: Indication
    sub_indication: SubIndication | None = None
    validation_time: dt.datetime
    signer: CitizenIdentity | None = None
    signer_certificate: CertificateSummary | None = None
    chain: tuple[CertificateSummary, ...] = attrs.field(default=(), converter=_tuple)
    claimed_signing_time: dt.datetime | None = None
    proven_signing_time: dt.datetime | None = None
    timestamps: tuple[TimestampSummary, ...] = attrs.field(default=(), converter=_tuple)
    level: SignatureLevel | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    scope: SignatureScope | None = None
    revocation: tuple[RevocationEvidence, ...] = attrs.field(default=(), converter=_tuple)
    errors: tuple[ReportMessage, ...] = attrs.field(default=(), converter=_tuple)
    warnings: tuple[ReportMessage, ...] = attrs.field(default=(), converter=_tuple)
    modifications: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    pdf: PDFSignatureDetails | None = None

    def __attrs_post_init__(self) -> None:
        if (self.indication is Indication.TOTAL_PASSED) != (self.sub_indication is None):
            raise ValueError("a sub-indication is given exactly when the signature did not pass")

    @property
    def passed(self) -> bool:
        """Whether the indication is TOTAL_PASSED."""
        return self.indication is Indication.TOTAL_PASSED

    def raise_for_failure(self) -> ValidationReport:
        """Return the report when it passed; raise :class:`SignatureValidationError` otherwise."""
        if not self.passed:
            raise SignatureValidationError(self.summary(lang="en"), report=self)
        return self

    def summary(self, lang: Literal["vi", "en"] = "vi") -> str:
        """A few plain sentences for the citizen or clerk reading the result."""
        if lang not in ("vi", "en"):
            raise ValueError('lang must be "vi" or "en"')
        vi = lang == "vi"
        head_vi, head_en = _HEAD[self.indication]
        lines = [head_vi if vi else head_en]
        if self.signer is not None:
            who = self.signer.display_name()
            lines.append(f"Người ký: {who}." if vi else f"Signed by: {who}.")
        when = self.proven_signing_time or self.claimed_signing_time
        if when is not None:
            stamp = format_vietnam_time(when, seconds=True)
            if self.proven_signing_time is not None:
                lines.append(
                    f"Thời điểm ký (có dấu thời gian): {stamp}."
                    if vi
                    else f"Signed at (timestamped): {stamp}."
                )
            else:
                lines.append(
                    f"Thời điểm ký do người ký khai: {stamp}."
                    if vi
                    else f"Signing time claimed by the signer: {stamp}."
                )
        lines.extend(e.message(lang) for e in self.errors)
        lines.extend(("Lưu ý: " if vi else "Note: ") + w.message(lang) for w in self.warnings)
        return "\n".join(lines)

    def to_json(self) -> str:
        """Serialise to a JSON string (read back with :meth:`from_json`)."""
        return json.dumps(_converter().unstructure(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ValidationReport:
        """Read a report written by :meth:`to_json`."""
        try:
            return _converter().structure(json.loads(text), cls)
        except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
            raise ValueError(f"not a huesign validation report: {exc}") from exc


_NO_SIGNATURES = ReportMessage(
    code="no_signatures",
    message_vi="Tài liệu không có chữ ký số.",
    message_en="The document has no digital signature.",
)


def _reports(values: Iterable[ValidationReport]) -> tuple[ValidationReport, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class PDFValidationReport:
    """The verdicts on every signature and document timestamp of a PDF, in file order.

    Attributes:
        signatures: one report per signature (a single FORMAT_FAILURE report when the
            file cannot be read at all).
        document_timestamps: one report per document timestamp.
    """

    signatures: tuple[ValidationReport, ...] = attrs.field(converter=_reports)
    document_timestamps: tuple[ValidationReport, ...] = attrs.field(default=(), converter=_reports)

    @property
    def passed(self) -> bool:
        """Whether there is a signature and every signature and timestamp is TOTAL_PASSED."""
        return bool(self.signatures) and all(
            r.passed for r in (*self.signatures, *self.document_timestamps)
        )

    def raise_for_failure(self) -> PDFValidationReport:
        """Return the report when it passed; raise :class:`SignatureValidationError` otherwise.

        The exception carries the first report that did not pass.
        """
        if self.passed:
            return self
        failing = next(
            (r for r in (*self.signatures, *self.document_timestamps) if not r.passed), None
        )
        if failing is None:
            failing = ValidationReport(
                indication=Indication.INDETERMINATE,
                sub_indication=SubIndication.SIGNED_DATA_NOT_FOUND,
                validation_time=dt.datetime.now(dt.UTC),
                errors=[_NO_SIGNATURES],
            )
        raise SignatureValidationError(self.summary(lang="en"), report=failing)

    def summary(self, lang: Literal["vi", "en"] = "vi") -> str:
        """Plain sentences for people: one paragraph per signature and timestamp."""
        if lang not in ("vi", "en"):
            raise ValueError('lang must be "vi" or "en"')
        if not self.signatures:
            return _NO_SIGNATURES.message(lang)
        parts: list[str] = []
        for label, reports in (
            ("Chữ ký" if lang == "vi" else "Signature", self.signatures),
            ("Dấu thời gian" if lang == "vi" else "Document timestamp", self.document_timestamps),
        ):
            for n, report in enumerate(reports, 1):
                field = f" ({report.pdf.field_name})" if report.pdf else ""
                parts.append(f"{label} {n}{field}:\n{report.summary(lang)}")
        return "\n\n".join(parts)

    def to_json(self) -> str:
        """Serialise to a JSON string (read back with :meth:`from_json`)."""
        return json.dumps(_converter().unstructure(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> PDFValidationReport:
        """Read a report written by :meth:`to_json`."""
        try:
            return _converter().structure(json.loads(text), cls)
        except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
            raise ValueError(f"not a huesign PDF validation report: {exc}") from exc


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(dt.datetime, lambda d: d.isoformat())
    conv.register_structure_hook(dt.datetime, lambda v, _t: _parse_time(v))
    conv.register_unstructure_hook(Identifier, str)
    conv.register_structure_hook(Identifier, lambda v, _t: _parse_identifier(v))
    return conv


def _parse_time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError("time must be an ISO 8601 string")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("time must carry a UTC offset")
    return parsed


def _parse_identifier(value: object) -> Identifier:
    if not isinstance(value, str):
        raise TypeError("identifier must be a string")
    parsed = Identifier.parse(value)
    if parsed is None:
        raise ValueError(f"not an identifier: {value!r}")
    return parsed
