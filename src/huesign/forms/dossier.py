"""Signed dossiers: render and sign a submission in one pass, open and check one back.

:func:`sign_dossier` validates a submission, renders it (:func:`~huesign.forms.render.
render_submission`: the canonical JSON embedded as ``submission.json``, an empty
``citizen_signature`` field reserved on the page) and signs that field with PAdES.  Its twin
:func:`sign_dossier_async` takes an :class:`~huesign.pki.signers.AsyncSigner` (a remote
provider).

:func:`open_dossier` is what an agency runs on a received PDF.  It returns an
:class:`OpenedDossier` and never raises for a bad dossier: ``accepted`` says whether it can be
used and ``reasons`` says why not.  A dossier is accepted only when

- every signature passes :func:`~huesign.pki.pdfverify.verify_pdf`;
- ``submission.json`` is present in the revision the first signature covers, and no later
  revision rewrites any object it is reached through (the name tree, the file
  specification, the stream) or the catalog's ``/Names`` entry: data that no signature
  covers is refused even under a lenient modification policy;
- the data reads back as a submission that still validates against its procedure (as of
  the signing day) and whose canonical form is exactly the embedded bytes.

Only an accepted dossier hands out its :attr:`OpenedDossier.submission`; call
:meth:`OpenedDossier.require` to get it or a :class:`~huesign.errors.DossierRefusedError`.
Each reason also comes with a code (:class:`DossierRefusal`) in
:attr:`OpenedDossier.refusals`, for programs that act on the kind of refusal (a portal
telling a form without data apart from a form whose data is refused, say).

A dossier travels as the signed PDF alone, or with its attachments in an ASiC-E container
(:meth:`Dossier.to_asic`), checked as a whole by :func:`verify_dossier`.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
from collections.abc import Mapping

import attrs

from huesign.errors import DossierRefusedError, FormError, FormValidationError, PDFFormatError
from huesign.forms._text import fold
from huesign.forms.asic import ASiCEntry, ASiCLimits, ASiCReport, package_asic, verify_asic
from huesign.forms.catalogue import builtin_catalogue
from huesign.forms.procedure import Procedure
from huesign.forms.render import CITIZEN_SIGNATURE_FIELD, SUBMISSION_FILE_NAME, render_submission
from huesign.forms.submission import VIETNAM_TZ, Attachment, Submission
from huesign.forms.units import UnitsSource
from huesign.pki.pades import PAdESLevel, sign_pdf, sign_pdf_async
from huesign.pki.pdffields import SignatureKind, find_signatures
from huesign.pki.pdfobjects import PDFDict, PDFStream, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfverify import PDFValidationReport, verify_pdf
from huesign.pki.policy import ValidationPolicy
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import AsyncSigner, Signer
from huesign.pki.stamp import StampAppearance
from huesign.pki.trust import TrustStore
from huesign.pki.tsp import AsyncTimestampSource, TimestampSource

__all__ = [
    "DOSSIER_PDF_NAME",
    "Dossier",
    "DossierFile",
    "DossierRefusal",
    "OpenedDossier",
    "RefusalReason",
    "open_dossier",
    "sign_dossier",
    "sign_dossier_async",
    "verify_dossier",
]

#: The signed PDF's name inside an ASiC-E container.
DOSSIER_PDF_NAME = "dossier.pdf"
_MAX_TREE_NODES = 256
_MAX_DATA = 4 * 1024 * 1024


@attrs.frozen(kw_only=True)
class DossierFile:
    """An attachment's bytes, with the metadata the submission declares for them.

    Attributes:
        attachment: the metadata (its size and SHA-256 match ``data``).
        data: the file's bytes.
    """

    attachment: Attachment
    data: bytes = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        if len(self.data) != self.attachment.size:
            raise ValueError(f"attachment {self.attachment.id!r}: size differs from its metadata")
        if hashlib.sha256(self.data).hexdigest() != self.attachment.sha256:
            raise ValueError(
                f"attachment {self.attachment.id!r}: SHA-256 differs from its metadata"
            )

    @property
    def archive_name(self) -> str:
        """The file's name inside an ASiC-E container: ``attachments/<id>/<file name>``
        (diacritics folded, ASCII only)."""
        folded = fold(self.attachment.file_name)
        safe = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in folded)
        return f"attachments/{self.attachment.id}/{safe.strip('.') or 'file'}"


@attrs.frozen(kw_only=True)
class Dossier:
    """A signed dossier: the PDF with the data embedded, and the attachments' bytes.

    Attributes:
        pdf: the signed PDF.
        submission: the validated (normalised) submission it carries.
        sha256: SHA-256 of the embedded canonical JSON, lower-case hex.
        files: the attachments given when signing.
        signature_field: the name of the field the applicant's signature fills.
    """

    pdf: bytes = attrs.field(repr=False)
    submission: Submission = attrs.field(repr=False)
    sha256: str
    files: tuple[DossierFile, ...] = ()
    signature_field: str = CITIZEN_SIGNATURE_FIELD

    def asic_entries(self) -> tuple[ASiCEntry, ...]:
        """The PDF and the attachments as ASiC-E data files."""
        entries = [ASiCEntry(name=DOSSIER_PDF_NAME, data=self.pdf, media_type="application/pdf")]
        for item in self.files:
            entries.append(
                ASiCEntry(
                    name=item.archive_name,
                    data=item.data,
                    media_type=item.attachment.media_type,
                )
            )
        return tuple(entries)

    def to_asic(
        self,
        signer: Signer,
        *,
        timestamp: TimestampSource | str | None = None,
        signing_time: dt.datetime | None = None,
    ) -> bytes:
        """Package the dossier as an ASiC-E container signed (CAdES) by ``signer``."""
        return package_asic(
            self.asic_entries(), signer, timestamp=timestamp, signing_time=signing_time
        )


def _files(submission: Submission, attachments: Mapping[str, bytes] | None) -> list[DossierFile]:
    known = {a.id: a for a in submission.attachments}
    out = []
    for key, data in (attachments or {}).items():
        meta = known.get(key)
        if meta is None:
            raise ValueError(f"attachment {key!r} is not declared by the submission")
        out.append(DossierFile(attachment=meta, data=bytes(data)))
    return out


def _reason(procedure: Procedure) -> str:
    return f"Ký tờ khai: {procedure.name_vi} ({procedure.code})"


def sign_dossier(
    submission: Submission,
    procedure: Procedure,
    signer: Signer,
    *,
    attachments: Mapping[str, bytes] | None = None,
    level: PAdESLevel = PAdESLevel.B_B,
    timestamp: TimestampSource | str | None = None,
    revocation: RevocationSource | None = None,
    trust: TrustStore | None = None,
    appearance: StampAppearance | None = None,
    reason: str | None = None,
    location: str | None = None,
    signing_time: dt.datetime | None = None,
    units: UnitsSource | None = None,
    today: dt.date | None = None,
    created: dt.datetime | None = None,
) -> Dossier:
    """Validate, render and sign ``submission`` as the applicant, in one pass.

    Args:
        submission: the submission (raw or normalised).
        procedure: the procedure it is for.
        signer: the applicant's signer (key, token).
        attachments: attachment bytes by attachment id; each must match its declared size
            and SHA-256.  Attachments left out may travel separately.
        level: the PAdES level.
        timestamp: a TSA (or its URL), needed from B-T up.
        revocation: where revocation data comes from, for B-LT and up.
        trust: extra certificates for building the chains whose validation data B-LT embeds.
        appearance: a stamp for a visible signature; ``None`` leaves the reserved box empty.
        reason: the signature's reason (default: "Ký tờ khai: <procedure name>").
        location: where the applicant signs.
        signing_time: the claimed signing time (default: now).
        units: administrative units for validation and the rendered addresses.
        today: the day for date rules (default: today in Vietnam).
        created: the PDF's creation date (default: fixed, for reproducible rendering).

    Raises:
        FormValidationError: the submission breaks a rule (every error listed).
        ValueError: an attachment does not match its metadata.
        SigningError: the signature could not be made.
    """
    files = _files(submission, attachments)
    rendered = render_submission(submission, procedure, units=units, today=today, created=created)
    signed = sign_pdf(
        rendered.pdf,
        signer,
        level=level,
        timestamp=timestamp,
        revocation=revocation,
        trust=trust,
        field=CITIZEN_SIGNATURE_FIELD,
        appearance=appearance,
        reason=reason or _reason(procedure),
        location=location,
        signing_time=signing_time,
    )
    if signed is None:  # only when an output is given, which is not the case here
        raise FormError("signing produced no document")
    return Dossier(
        pdf=bytes(signed),
        submission=rendered.submission,
        sha256=rendered.sha256,
        files=tuple(files),
    )


async def sign_dossier_async(
    submission: Submission,
    procedure: Procedure,
    signer: AsyncSigner,
    *,
    attachments: Mapping[str, bytes] | None = None,
    level: PAdESLevel = PAdESLevel.B_B,
    timestamp: AsyncTimestampSource | TimestampSource | str | None = None,
    revocation: RevocationSource | None = None,
    trust: TrustStore | None = None,
    appearance: StampAppearance | None = None,
    reason: str | None = None,
    location: str | None = None,
    signing_time: dt.datetime | None = None,
    units: UnitsSource | None = None,
    today: dt.date | None = None,
    created: dt.datetime | None = None,
) -> Dossier:
    """The asynchronous twin of :func:`sign_dossier`, for remote signers.

    Rendering (a fraction of a second of CPU) runs in the caller's thread; only the
    signature is awaited.
    """
    files = _files(submission, attachments)
    rendered = render_submission(submission, procedure, units=units, today=today, created=created)
    signed = await sign_pdf_async(
        rendered.pdf,
        signer,
        level=level,
        timestamp=timestamp,
        revocation=revocation,
        trust=trust,
        field=CITIZEN_SIGNATURE_FIELD,
        appearance=appearance,
        reason=reason or _reason(procedure),
        location=location,
        signing_time=signing_time,
    )
    if signed is None:
        raise FormError("signing produced no document")
    return Dossier(
        pdf=bytes(signed),
        submission=rendered.submission,
        sha256=rendered.sha256,
        files=tuple(files),
    )


# -- opening -----------------------------------------------------------------------------------


class DossierRefusal(enum.Enum):
    """Why a dossier was refused: the code of a :class:`RefusalReason`.

    Attributes:
        NOT_SIGNED: the PDF carries no signature.
        SIGNATURE_FAILED: a signature or timestamp did not pass verification.
        MALFORMED: the PDF, or the embedded data's structure, cannot be read.
        NO_SUBMISSION_DATA: the signed document embeds no ``submission.json`` at all.
        DATA_NOT_COVERED: there is data, but no signature covers it as it is now.
        DATA_INVALID: the signed data is not a canonical submission that validates.
        UNKNOWN_PROCEDURE: the data names a procedure that is not known.
        WRONG_PROCEDURE: the data is for another procedure or version.
        CONTAINER_INVALID: the ASiC-E container or its signature did not pass.
        ATTACHMENT_UNDECLARED: the container holds a file the submission does not declare.
        ATTACHMENT_MISSING: a declared attachment is not in the container.
    """

    NOT_SIGNED = "not_signed"
    SIGNATURE_FAILED = "signature_failed"
    MALFORMED = "malformed"
    NO_SUBMISSION_DATA = "no_submission_data"
    DATA_NOT_COVERED = "data_not_covered"
    DATA_INVALID = "data_invalid"
    UNKNOWN_PROCEDURE = "unknown_procedure"
    WRONG_PROCEDURE = "wrong_procedure"
    CONTAINER_INVALID = "container_invalid"
    ATTACHMENT_UNDECLARED = "attachment_undeclared"
    ATTACHMENT_MISSING = "attachment_missing"


@attrs.frozen
class RefusalReason:
    """One reason a dossier was refused.

    Attributes:
        code: what kind of refusal it is.
        message: the reason in English (the same text as in :attr:`OpenedDossier.reasons`).
    """

    code: DossierRefusal
    message: str


class _Refused(FormError):
    """A refusal found while reading the embedded data, with its code."""

    def __init__(self, code: DossierRefusal, message: str) -> None:
        super().__init__(message)
        self.code = code


@attrs.frozen(kw_only=True)
class OpenedDossier:
    """The result of opening a signed dossier.

    Attributes:
        accepted: whether every check passed; only then is :attr:`submission` set.
        reasons: why the dossier was refused, in English (empty when accepted).
        report: the verdicts on the PDF's signatures.
        refusals: the same reasons with their codes, in the same order (empty when
            accepted; may be empty for an object built by hand with texts only).
        submission: the submission read from the signed data (``None`` when refused).
        sha256: SHA-256 of the embedded data, when it could be read.
        signed_revision: the PDF revision the first signature covers.
        asic: the container's report, when the dossier came in an ASiC-E container.
        files: attachments found in the container that match the submission's metadata.
    """

    accepted: bool
    reasons: tuple[str, ...]
    report: PDFValidationReport
    submission: Submission | None = attrs.field(default=None, repr=False)
    sha256: str | None = None
    signed_revision: int | None = None
    asic: ASiCReport | None = attrs.field(default=None, repr=False)
    files: tuple[DossierFile, ...] = attrs.field(default=(), repr=False)
    refusals: tuple[RefusalReason, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.refusals and tuple(r.message for r in self.refusals) != self.reasons:
            raise ValueError("refusals must give the same messages as reasons, in order")

    def refused_for(self, code: DossierRefusal) -> bool:
        """Whether one of the reasons the dossier was refused has ``code``."""
        return any(r.code is code for r in self.refusals)

    def require(self) -> Submission:
        """The submission of an accepted dossier.

        Raises:
            DossierRefusedError: the dossier was refused (with every reason).
        """
        if not self.accepted or self.submission is None:
            head = self.reasons[0] if self.reasons else "the dossier was refused"
            raise DossierRefusedError(f"dossier refused: {head}", reasons=self.reasons)
        return self.submission


def _embedded(reader: PDFReader, revision: int | None) -> tuple[bytes, frozenset[int], object]:
    """The ``submission.json`` bytes at ``revision``, the objects it is reached through and
    the catalog's ``/Names`` value.

    Raises:
        FormError: the data is absent or ambiguous at that revision.
        PDFFormatError: the structure is broken.
    """
    root = reader.trailer_at(revision).get("Root")
    if not isinstance(root, Ref):
        raise PDFFormatError("the trailer has no catalog")
    catalog = reader.get_dict(root, revision)
    names_value = catalog.get("Names")
    refs: set[int] = set()

    def follow(obj: object) -> object:
        if isinstance(obj, Ref):
            refs.add(obj.num)
        return reader.resolve(obj, revision)  # type: ignore[arg-type]

    names = follow(names_value)
    tree = follow(names.get("EmbeddedFiles")) if isinstance(names, PDFDict) else None
    found: list[object] = []
    stack = [tree] if isinstance(tree, PDFDict) else []
    visited = 0
    while stack:
        visited += 1
        if visited > _MAX_TREE_NODES:
            raise FormError("the embedded-files name tree is too large")
        node = stack.pop()
        pairs = follow(node.get("Names"))
        if isinstance(pairs, tuple):
            for key, value in zip(pairs[::2], pairs[1::2], strict=False):
                if isinstance(key, PDFString) and key.text() == SUBMISSION_FILE_NAME:
                    found.append(value)
        kids = follow(node.get("Kids"))
        if isinstance(kids, tuple):
            for kid in kids:
                child = follow(kid)
                if isinstance(child, PDFDict):
                    stack.append(child)
    if not found:
        raise _Refused(
            DossierRefusal.NO_SUBMISSION_DATA, f"the document embeds no {SUBMISSION_FILE_NAME}"
        )
    if len(found) > 1:
        raise _Refused(
            DossierRefusal.DATA_INVALID,
            f"the document embeds {SUBMISSION_FILE_NAME} more than once",
        )
    spec = follow(found[0])
    ef = follow(spec.get("EF")) if isinstance(spec, PDFDict) else None
    stream = follow(ef.get("F") or ef.get("UF")) if isinstance(ef, PDFDict) else None
    if not isinstance(stream, PDFStream):
        raise FormError(f"{SUBMISSION_FILE_NAME} has no embedded file stream")
    data = reader.stream_data(stream)
    if len(data) > _MAX_DATA:
        raise FormError(f"{SUBMISSION_FILE_NAME} is too large")
    return data, frozenset(refs), names_value


def _covered_data(reader: PDFReader) -> tuple[bytes, int]:
    """The embedded data, checked to be what the first signature covers.

    Raises:
        FormError: with the reason the data is not covered (a :class:`_Refused` with its
            code, or a plain one for a structure that cannot be read).
    """
    revisions = [
        s.revision
        for s in find_signatures(reader)
        if s.kind is SignatureKind.SIGNATURE and s.revision is not None
    ]
    uncovered = DossierRefusal.DATA_NOT_COVERED
    if not revisions:
        raise _Refused(uncovered, "no signature covers a complete revision of the document")
    signed = min(revisions)
    try:
        data, refs, names = _embedded(reader, signed)
    except FormError as exc:
        code = exc.code if isinstance(exc, _Refused) else DossierRefusal.MALFORMED
        if code is DossierRefusal.NO_SUBMISSION_DATA and _has_data_now(reader):
            code = uncovered
        raise _Refused(code, f"the signed revision holds no usable data: {exc}") from exc
    for rev in reader.revisions[signed + 1 :]:
        touched = sorted(refs & set(rev.entries))
        if touched:
            raise _Refused(
                uncovered,
                f"revision {rev.index}, made after the signature, rewrites object "
                f"{touched[0]} of the embedded data",
            )
    now_data, now_refs, now_names = _embedded(reader, None)
    if now_names != names or now_refs != refs:
        raise _Refused(uncovered, "the catalog's /Names entry changed after the signature")
    if now_data != data:
        raise _Refused(uncovered, "the embedded data differs from the signed revision's")
    return data, signed


def _has_data_now(reader: PDFReader) -> bool:
    """Whether the latest revision embeds the data (added after the signature, then)."""
    try:
        _embedded(reader, None)
    except (FormError, PDFFormatError):
        return False
    return True


def _signing_day(report: PDFValidationReport) -> dt.date | None:
    first = report.signatures[0] if report.signatures else None
    when = None if first is None else (first.proven_signing_time or first.claimed_signing_time)
    return when.astimezone(VIETNAM_TZ).date() if when is not None else None


def _read_submission(
    data: bytes,
    procedure: Procedure | None,
    units: UnitsSource | None,
    today: dt.date | None,
) -> tuple[Submission | None, list[RefusalReason]]:
    invalid = DossierRefusal.DATA_INVALID
    try:
        embedded = Submission.from_json(data)
    except FormError as exc:
        return None, [RefusalReason(invalid, f"the embedded data is not a submission ({exc})")]
    proc = procedure or builtin_catalogue().get(embedded.procedure_code)
    if proc is None:
        return None, [
            RefusalReason(
                DossierRefusal.UNKNOWN_PROCEDURE,
                f"procedure {embedded.procedure_code} is unknown; pass procedure=",
            )
        ]
    if proc.version != embedded.procedure_version or proc.code != embedded.procedure_code:
        return None, [
            RefusalReason(
                DossierRefusal.WRONG_PROCEDURE,
                f"the data is for procedure {embedded.procedure_code} version "
                f"{embedded.procedure_version}, not {proc.code} version {proc.version}",
            )
        ]
    try:
        clean = embedded.validate(proc, units=units, today=today)
    except FormValidationError as exc:
        return None, [
            RefusalReason(invalid, f"the embedded data no longer validates: {e.path}: {e.code}")
            for e in exc.errors
        ]
    if clean.canonical_json() != data:
        return None, [
            RefusalReason(invalid, "the embedded data is not in canonical, normalised form")
        ]
    return clean, []


def _opened(
    report: PDFValidationReport,
    refusals: list[RefusalReason],
    *,
    submission: Submission | None = None,
    sha256: str | None = None,
    signed_revision: int | None = None,
    asic: ASiCReport | None = None,
) -> OpenedDossier:
    return OpenedDossier(
        accepted=not refusals,
        reasons=tuple(r.message for r in refusals),
        refusals=tuple(refusals),
        report=report,
        submission=None if refusals else submission,
        sha256=sha256,
        signed_revision=signed_revision,
        asic=asic,
    )


def open_dossier(
    pdf: bytes,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None = None,
    revocation: RevocationSource | None = None,
    at: dt.datetime | None = None,
    procedure: Procedure | None = None,
    units: UnitsSource | None = None,
    today: dt.date | None = None,
) -> OpenedDossier:
    """Verify a signed dossier PDF and read its data back, refusing data no signature covers.

    Never raises for a bad dossier: see ``accepted`` and ``reasons``.

    Args:
        pdf: the signed PDF's bytes.
        trust: the anchors the signatures must chain to.
        policy: the validation policy (default: huesign's public-service policy).
        revocation: revocation data and fetcher.
        at: the validation time (default: each signature's proven time, else now).
        procedure: the procedure to validate against (default: the built-in catalogue's).
        units: administrative units for validation.
        today: the day for date rules (default: the first signature's signing day).
    """
    report = verify_pdf(pdf, trust=trust, policy=policy, revocation=revocation, at=at)
    reasons: list[RefusalReason] = []
    if not report.passed:
        failed = DossierRefusal.SIGNATURE_FAILED
        for number, sig in enumerate(report.signatures, start=1):
            if not sig.passed:
                why = sig.sub_indication.value if sig.sub_indication else sig.indication.value
                reasons.append(RefusalReason(failed, f"signature {number} did not pass ({why})"))
        if not report.signatures:
            reasons.append(RefusalReason(DossierRefusal.NOT_SIGNED, "the document is not signed"))
        reasons = reasons or [RefusalReason(failed, "a signature or timestamp did not pass")]
    try:
        with PDFReader(io.BytesIO(pdf)) as reader:
            data, signed = _covered_data(reader)
    except (FormError, PDFFormatError) as exc:
        code = exc.code if isinstance(exc, _Refused) else DossierRefusal.MALFORMED
        reasons.append(RefusalReason(code, str(exc)))
        return _opened(report, reasons)
    sha256 = hashlib.sha256(data).hexdigest()
    day = today if today is not None else _signing_day(report)
    submission, problems = _read_submission(data, procedure, units, day)
    reasons += problems
    return _opened(
        report,
        reasons,
        submission=submission,
        sha256=sha256,
        signed_revision=signed,
    )


def verify_dossier(
    data: bytes,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None = None,
    revocation: RevocationSource | None = None,
    at: dt.datetime | None = None,
    procedure: Procedure | None = None,
    units: UnitsSource | None = None,
    today: dt.date | None = None,
    limits: ASiCLimits | None = None,
) -> OpenedDossier:
    """Verify a dossier given as a signed PDF or as an ASiC-E container.

    For a container, the manifest's signature and every digest are checked
    (:func:`~huesign.forms.asic.verify_asic`), the PDF inside is opened with
    :func:`open_dossier`, and every attachment file must match an attachment the signed
    submission declares (size and SHA-256), and every declared attachment must be present.
    Never raises for a bad dossier.
    """
    if not data.startswith(b"PK"):
        return open_dossier(
            data,
            trust=trust,
            policy=policy,
            revocation=revocation,
            at=at,
            procedure=procedure,
            units=units,
            today=today,
        )
    container = verify_asic(
        data, trust=trust, policy=policy, revocation=revocation, at=at, limits=limits
    )
    bad = DossierRefusal.CONTAINER_INVALID
    reasons = [RefusalReason(bad, problem) for problem in container.problems]
    if container.signature is not None and not container.signature.passed:
        reasons = reasons or [RefusalReason(bad, "the container's signature did not pass")]
    pdf_entry = container.entry(DOSSIER_PDF_NAME)
    if pdf_entry is None:
        reasons.append(RefusalReason(bad, f"the container holds no signed {DOSSIER_PDF_NAME}"))
        return _opened(PDFValidationReport(signatures=()), reasons, asic=container)
    opened = open_dossier(
        pdf_entry.data,
        trust=trust,
        policy=policy,
        revocation=revocation,
        at=at,
        procedure=procedure,
        units=units,
        today=today,
    )
    reasons += opened.refusals
    files: list[DossierFile] = []
    if opened.submission is not None:
        by_digest = {(a.sha256, a.size): a for a in opened.submission.attachments}
        present: set[str] = set()
        for entry in container.entries:
            if entry.name == DOSSIER_PDF_NAME:
                continue
            meta = by_digest.get((entry.sha256, len(entry.data)))
            if meta is None:
                reasons.append(
                    RefusalReason(
                        DossierRefusal.ATTACHMENT_UNDECLARED,
                        f"{entry.name!r} is not an attachment the submission declares",
                    )
                )
                continue
            present.add(meta.id)
            files.append(DossierFile(attachment=meta, data=entry.data))
        for meta in opened.submission.attachments:
            if meta.id not in present:
                reasons.append(
                    RefusalReason(
                        DossierRefusal.ATTACHMENT_MISSING,
                        f"attachment {meta.id!r} ({meta.file_name}) is missing",
                    )
                )
    accepted = not reasons
    return attrs.evolve(
        opened,
        accepted=accepted,
        reasons=tuple(r.message for r in reasons),
        refusals=tuple(reasons),
        submission=opened.submission if accepted else None,
        asic=container,
        files=tuple(files) if accepted else (),
    )
