"""The dossier state machine and the signatures of the sandbox portal.

Rows of the ``dossiers`` table become :class:`~huesign.client.models.Dossier` objects here;
state changes are recorded in ``history``; signed forms are verified with
:mod:`huesign.pki` against the development CA; the agency's result is rendered and
PAdES-signed with the development CA's agency seal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile

import attrs
from fpdf import FPDF

from huesign.client.models import (
    AttachmentInfo,
    Dossier,
    DossierState,
    FormVerdict,
    ProcedureFee,
    ProcedureSummary,
)
from huesign.errors import FormError, FormValidationError
from huesign.forms.catalogue import Catalogue
from huesign.forms.dossier import DossierRefusal, open_dossier
from huesign.forms.procedure import Fee, Procedure
from huesign.forms.submission import VIETNAM_TZ, Submission
from huesign.pki.cms import verify_cms
from huesign.pki.fonts import FontWeight, font_bytes
from huesign.pki.pades import sign_pdf
from huesign.pki.pdfverify import verify_pdf
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.report import ValidationReport
from huesign.pki.revocation import RevocationData, RevocationSource
from huesign.pki.signers import KeySigner
from huesign.pki.stamp import RectPlacement, StampAppearance, StampContent, StampLanguage
from huesign.pki.trust import TrustStore
from huesign.sandbox._common import Principal, Problem, SandboxState, iso
from huesign.sandbox.store import Transaction

COLUMNS = (
    "id, code, owner, procedure_code, state, fee, paid, created_at, updated_at, appointment,"
    " form_verdict, note"
)
MAX_NOTE = 1000


# --- signatures ------------------------------------------------------------------------------


def _verdict(report: ValidationReport) -> FormVerdict:
    signer = report.signer.common_name if report.signer is not None else None
    return FormVerdict(
        passed=report.passed,
        indication=report.indication.value,
        sub_indication=None if report.sub_indication is None else report.sub_indication.value,
        signer=signer,
        message_vi=report.summary("vi")[:MAX_NOTE],
        message_en=report.summary("en")[:MAX_NOTE],
    )


def _trust_of(state: SandboxState) -> tuple[TrustStore, ValidationPolicy, RevocationSource]:
    ca = state.ca
    trust = TrustStore.from_certificates([ca.root], intermediates=[ca.intermediate])
    policy = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)
    revocation = RevocationSource(RevocationData(crls=(ca.crl("issuing"), ca.crl("root"))))
    return trust, policy, revocation


def verify_signed_form(
    state: SandboxState, document: bytes, signature: bytes | None
) -> FormVerdict:
    """Verify a signed form against the development CA: a PAdES-signed PDF when
    ``signature`` is ``None``, else ``signature`` as a detached CMS over ``document``.

    Revocation is checked offline against the CA's current CRLs.
    """
    trust, policy, revocation = _trust_of(state)
    if signature is None:
        pdf_report = verify_pdf(document, trust=trust, policy=policy, revocation=revocation)
        if not pdf_report.signatures:
            return FormVerdict(
                passed=False,
                indication="INDETERMINATE",
                sub_indication="SIGNED_DATA_NOT_FOUND",
                message_vi="Biểu mẫu chưa được ký.",
                message_en="The form is not signed.",
            )
        failing = [r for r in pdf_report.signatures if not r.passed]
        return _verdict(failing[0] if failing else pdf_report.signatures[0])
    return _verdict(
        verify_cms(signature, document, trust=trust, policy=policy, revocation=revocation)
    )


@attrs.frozen(kw_only=True)
class FormCheck:
    """What the portal found in a signed form.

    Attributes:
        verdict: the signature's verdict.
        fee: the fee computed from the form's data (``None`` when the form was refused).
        problems: why the form's data was refused (empty when it was accepted).
    """

    verdict: FormVerdict
    fee: int | None = None
    problems: tuple[str, ...] = ()


def _base_fee_unknown(procedure: Procedure) -> bool:
    # Every fee depends on the data (an online or in-person fee, say): without data the
    # portal cannot tell what to charge.
    return bool(procedure.fees) and all(fee.when is not None for fee in procedure.fees)


def _without_data(verdict: FormVerdict, procedure: Procedure) -> FormCheck:
    if _base_fee_unknown(procedure):
        return FormCheck(
            verdict=verdict,
            problems=(
                f"the form carries no submission data, and the fee of procedure "
                f"{procedure.code} depends on it",
            ),
        )
    return FormCheck(verdict=verdict, fee=procedure.fee_for({}))


def _json_data(verdict: FormVerdict, procedure: Procedure, document: bytes) -> FormCheck:
    try:
        embedded = Submission.from_json(document)
    except (FormError, ValueError) as exc:
        return FormCheck(verdict=verdict, problems=(f"the document is not a submission ({exc})",))
    if (embedded.procedure_code, embedded.procedure_version) != (
        procedure.code,
        procedure.version,
    ):
        return FormCheck(
            verdict=verdict,
            problems=(
                f"the data is for procedure {embedded.procedure_code} version "
                f"{embedded.procedure_version}, not {procedure.code} version {procedure.version}",
            ),
        )
    try:
        clean = embedded.validate(procedure)
    except FormValidationError as exc:
        return FormCheck(
            verdict=verdict,
            problems=tuple(f"the data does not validate: {e.path}: {e.code}" for e in exc.errors),
        )
    return FormCheck(verdict=verdict, fee=procedure.fee_for(clean.values))


def check_signed_form(
    state: SandboxState, procedure: Procedure, document: bytes, signature: bytes | None
) -> FormCheck:
    """Verify a signed form (:func:`verify_signed_form`), then read its data and the fee.

    A PAdES form's data is the ``submission.json`` it embeds (read with
    :func:`~huesign.forms.open_dossier`, which refuses data no signature covers); a detached
    CMS signature's data is the signed document itself when that is a JSON submission.  The
    data must be for ``procedure`` and validate against it; the fee is computed from it.  A
    form without data keeps the procedure's base fee (the fees that apply whatever the
    data), and is refused when every fee of the procedure depends on the data.
    """
    verdict = verify_signed_form(state, document, signature)
    if not verdict.passed:
        return FormCheck(verdict=verdict)
    if signature is not None:
        if document.lstrip()[:1] == b"{":
            return _json_data(verdict, procedure, document)
        return _without_data(verdict, procedure)
    trust, policy, revocation = _trust_of(state)
    opened = open_dossier(
        document, trust=trust, policy=policy, revocation=revocation, procedure=procedure
    )
    if opened.accepted and opened.submission is not None:
        return FormCheck(verdict=verdict, fee=procedure.fee_for(opened.submission.values))
    if opened.refused_for(DossierRefusal.NO_SUBMISSION_DATA):
        return _without_data(verdict, procedure)
    return FormCheck(verdict=verdict, problems=opened.reasons or ("the form was refused",))


# --- the agency's result --------------------------------------------------------------------

_MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
_RESULT_TITLE = "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
_PLACE = "Huế"
_FAMILY = "NotoSans"
_STAMP_MM = (78.0, 30.0)  # the seal's visible stamp, width and height
_MAX_NAME = 200


@attrs.frozen(kw_only=True)
class _Applicant:
    name: str
    identifier: str  # masked, e.g. "CCCD: ********1234"


def _applicant(state: SandboxState, tx: Transaction, dossier: Dossier, owner: str) -> _Applicant:
    """Who applied: the signer of the dossier's form (name, masked identifier), else the
    name the owner's token was registered with."""
    row = tx.one(
        "SELECT content, extra FROM documents WHERE dossier_id = ? AND name = 'form'",
        (dossier.id,),
    )
    identity = None
    if row is not None:
        trust, policy, revocation = _trust_of(state)
        document = as_bytes(row[0])
        if row[1] is None:
            found = verify_pdf(document, trust=trust, policy=policy, revocation=revocation)
            identity = found.signatures[0].signer if found.signatures else None
        else:
            report = verify_cms(
                as_bytes(row[1]), document, trust=trust, policy=policy, revocation=revocation
            )
            identity = report.signer
    if identity is not None and identity.common_name:
        main = identity.primary_identifier
        masked = "—" if main is None else f"{main.prefix}: {main.masked(4)}"
        return _Applicant(name=identity.common_name[:_MAX_NAME], identifier=masked)
    named = tx.one("SELECT name FROM credentials WHERE subject = ? LIMIT 1", (owner,))
    return _Applicant(name=str(named[0])[:_MAX_NAME] if named else "—", identifier="—")


def _vietnamese_date(day: dt.date) -> str:
    return f"{_PLACE}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def _result_pdf(
    state: SandboxState,
    dossier: Dossier,
    procedure: Procedure | None,
    applicant: _Applicant,
    note: str,
) -> tuple[bytes, tuple[float, float, float, float]]:
    """The agency's result as an A4 page, and the rectangle (PDF points, from the lower
    left) where the seal's stamp goes, in the signature block."""
    agency = state.seal.certificate.identity.common_name or "Cơ quan giải quyết"
    title = procedure.name_vi if procedure is not None else dossier.procedure_code
    today = state.now().astimezone(VIETNAM_TZ).date()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    # HarfBuzz reads the font files while laying out: they live until the PDF is written.
    with tempfile.TemporaryDirectory(prefix="huesign-font-") as folder:
        for weight, style in ((FontWeight.REGULAR, ""), (FontWeight.BOLD, "B")):
            path = os.path.join(folder, f"NotoSans-{weight.value}.ttf")
            with open(path, "wb") as handle:
                handle.write(font_bytes(weight))
            pdf.add_font(_FAMILY, style=style, fname=path)
        pdf.set_text_shaping(True)
        rect = _lay_out_result(pdf, dossier, title, agency, applicant, note, today)
        return bytes(pdf.output()), rect


def _lay_out_result(
    pdf: FPDF,
    dossier: Dossier,
    title: str,
    agency: str,
    applicant: _Applicant,
    note: str,
    today: dt.date,
) -> tuple[float, float, float, float]:
    pdf.set_title(f"{_RESULT_TITLE} - {dossier.code}")
    pdf.set_creator("huesign sandbox")
    pdf.set_lang("vi-VN")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    left_w, right_w, top = 70.0, pdf.epw - 70.0, pdf.get_y()
    # Two-column heading: the agency at the left, the national motto at the right.
    pdf.set_font(_FAMILY, style="B", size=11)
    pdf.multi_cell(left_w, 5.5, agency.upper(), align="C", new_x="LEFT", new_y="NEXT")
    centre = pdf.l_margin + left_w / 2
    pdf.line(centre - 12, pdf.get_y() + 0.5, centre + 12, pdf.get_y() + 0.5)
    pdf.set_y(pdf.get_y() + 2)
    pdf.set_font(_FAMILY, size=10)
    pdf.multi_cell(left_w, 5.5, f"Số: {dossier.code}", align="C", new_x="LEFT", new_y="NEXT")
    below_left = pdf.get_y()
    pdf.set_xy(pdf.l_margin + left_w, top)
    pdf.set_font(_FAMILY, style="B", size=10.5)
    pdf.cell(right_w, 5.5, _MOTTO[0], align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(_FAMILY, style="B", size=11)
    pdf.cell(right_w, 5.5, _MOTTO[1], align="C", new_x="LEFT", new_y="NEXT")
    middle = pdf.l_margin + left_w + right_w / 2
    pdf.line(middle - 24, pdf.get_y() + 0.3, middle + 24, pdf.get_y() + 0.3)
    pdf.set_xy(pdf.l_margin + left_w, pdf.get_y() + 3)
    pdf.set_font(_FAMILY, size=10.5)
    pdf.cell(right_w, 5.5, _vietnamese_date(today), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(below_left, pdf.get_y()) + 10)
    pdf.set_font(_FAMILY, style="B", size=14)
    pdf.multi_cell(0, 7, _RESULT_TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FAMILY, style="B", size=12)
    pdf.multi_cell(0, 6.5, f"Thủ tục: {title}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    rows = (
        ("Mã hồ sơ:", dossier.code),
        ("Mã thủ tục:", dossier.procedure_code),
        ("Người nộp hồ sơ:", applicant.name),
        ("Số định danh:", applicant.identifier),
        ("Ngày tiếp nhận:", dossier.created_at.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y")),
        ("Cơ quan giải quyết:", agency),
    )
    for label, value in rows:
        pdf.set_font(_FAMILY, size=11)
        pdf.cell(48, 7, label, new_x="RIGHT", new_y="TOP")
        pdf.set_font(_FAMILY, style="B", size=11)
        pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.set_font(_FAMILY, size=11)
    decision = (
        f"{agency} đã xem xét hồ sơ nêu trên và giải quyết xong thủ tục “{title}”. "
        "Yêu cầu của người nộp hồ sơ được chấp thuận. Kết quả này được ký số bằng chữ ký "
        "số của cơ quan và có giá trị pháp lý như văn bản giấy."
    )
    pdf.multi_cell(0, 6.5, decision, align="J", new_x="LMARGIN", new_y="NEXT")
    if note.strip():
        pdf.multi_cell(0, 6.5, f"Ghi chú: {note.strip()[:MAX_NOTE]}", new_x="LMARGIN", new_y="NEXT")
    # The signature block at the right: title, then the seal's stamp below it.
    pdf.ln(10)
    block_x, block_w = pdf.w - pdf.r_margin - 85.0, 85.0
    pdf.set_x(block_x)
    pdf.set_font(_FAMILY, style="B", size=11)
    pdf.cell(block_w, 6, "THỦ TRƯỞNG CƠ QUAN", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(_FAMILY, size=9.5)
    pdf.cell(block_w, 5, "(Ký số, đóng dấu điện tử)", align="C", new_x="LEFT", new_y="NEXT")
    stamp_x = block_x + (block_w - _STAMP_MM[0]) / 2
    stamp_top = pdf.get_y() + 3
    k = pdf.k
    return (
        round(stamp_x * k, 2),
        round(pdf.h_pt - (stamp_top + _STAMP_MM[1]) * k, 2),
        round((stamp_x + _STAMP_MM[0]) * k, 2),
        round(pdf.h_pt - stamp_top * k, 2),
    )


def _sign_result(
    state: SandboxState, document: bytes, rect: tuple[float, float, float, float]
) -> tuple[bytes, bytes | None]:
    """The agency's result, PAdES-signed with the seal, its stamp visible in ``rect``:
    ``(signed pdf, None)``."""
    signer = KeySigner(
        key=state.seal.key, certificate=state.seal.certificate, chain=state.seal.chain
    )
    reason = "Kết quả giải quyết thủ tục hành chính"
    location = "Thành phố Huế"
    stamp = StampAppearance(
        placement=RectPlacement(page=0, rect=rect),
        content=StampContent(
            reason=reason,
            location=location,
            language=StampLanguage.VIETNAMESE,
            show_identifier=False,
        ),
    )
    signed = sign_pdf(document, signer, appearance=stamp, reason=reason, location=location)
    if signed is None:  # pragma: no cover - sign_pdf returns bytes without output=
        raise RuntimeError("the result was not signed")
    return signed, None


# --- rows and models -------------------------------------------------------------------------


def load_dossier(tx: Transaction, row: tuple[object, ...]) -> Dossier:
    docs = tx.all(
        "SELECT name, media_type, size, sha256 FROM documents"
        " WHERE dossier_id = ? AND kind = 'attachment' ORDER BY name",
        (row[0],),
    )
    verdict = None
    if row[10] is not None:
        verdict = FormVerdict(**json.loads(str(row[10])))
    return Dossier(
        id=str(row[0]),
        code=str(row[1]),
        procedure_code=str(row[3]),
        state=DossierState(str(row[4])),
        fee=int(str(row[5])),
        paid=bool(row[6]),
        created_at=dt.datetime.fromisoformat(str(row[7])),
        updated_at=dt.datetime.fromisoformat(str(row[8])),
        appointment=None if row[9] is None else dt.date.fromisoformat(str(row[9])),
        form=verdict,
        attachments=tuple(
            AttachmentInfo(
                name=str(d[0]), media_type=str(d[1]), size=int(str(d[2])), sha256=str(d[3])
            )
            for d in docs
        ),
        note=str(row[11] or ""),
    )


def load_row(tx: Transaction, dossier_id: str, principal: Principal) -> tuple[object, ...]:
    row = tx.one(f"SELECT {COLUMNS} FROM dossiers WHERE id = ?", (dossier_id,))  # noqa: S608
    if row is None or (principal.role == "citizen" and row[2] != principal.subject):
        raise Problem(404, "Not Found", "no such dossier", code="dossier_not_found")
    return row


def move(
    state: SandboxState,
    tx: Transaction,
    dossier_id: str,
    to: DossierState,
    *,
    actor: str,
    note: str = "",
    appointment: dt.date | None = None,
) -> None:
    now = iso(state.now())
    tx.execute(
        "UPDATE dossiers SET state = ?, updated_at = ?, note = ?,"
        " appointment = COALESCE(?, appointment) WHERE id = ?",
        (to.value, now, note, None if appointment is None else appointment.isoformat(), dossier_id),
    )
    seq = tx.one("SELECT COUNT(*) FROM history WHERE dossier_id = ?", (dossier_id,))
    tx.execute(
        "INSERT INTO history (dossier_id, seq, state, at, actor, note) VALUES (?, ?, ?, ?, ?, ?)",
        (dossier_id, int(str(seq[0] if seq else 0)), to.value, now, actor, note),
    )


def require(row: tuple[object, ...], allowed: set[DossierState], action: str) -> None:
    current = DossierState(str(row[4]))
    if current not in allowed:
        raise Problem(
            409,
            "Wrong state",
            f"a dossier that is {current.value} cannot be {action}",
            code="wrong_state",
            extra={"state": current.value},
        )


def _fee(fee: Fee) -> ProcedureFee:
    when = fee.when
    values: tuple[str | int | bool, ...] = ()
    if when is not None:
        values = (when.equals,) if when.equals is not None else when.one_of
    return ProcedureFee(
        amount=fee.amount,
        description_vi=fee.description_vi,
        description_en=fee.description_en,
        when_field=None if when is None else when.field,
        when_values=values,
    )


def summary(procedure: Procedure) -> ProcedureSummary:
    """The procedure as the portal lists it: the base fee, and every fee with its condition."""
    return ProcedureSummary(
        code=procedure.code,
        name_vi=procedure.name_vi,
        name_en=procedure.name_en,
        domain=procedure.domain,
        level=procedure.level.value,
        agency=procedure.agency,
        fee=sum(fee.amount for fee in procedure.fees if fee.when is None),
        processing_days=procedure.processing_time.days,
        fee_depends_on_data=any(fee.when is not None and fee.amount for fee in procedure.fees),
        fees=tuple(_fee(fee) for fee in procedure.fees),
    )


def _working_days_after(start: dt.date, days: int) -> dt.date:
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def advance_dossiers(
    state: SandboxState, catalogue: Catalogue, *, dossier_id: str | None = None
) -> list[str]:
    """Move dossiers one step along the agency's schedule; return the ids that moved.

    submitted (fee paid or none) -> received -> processing -> result_ready (signed result).
    """
    moved: list[str] = []
    with state.store.transaction() as tx:
        clause, params = (
            "state IN (?, ?, ?)",
            [
                DossierState.SUBMITTED.value,
                DossierState.RECEIVED.value,
                DossierState.PROCESSING.value,
            ],
        )
        if dossier_id is not None:
            clause += " AND id = ?"
            params.append(dossier_id)
        rows = tx.all(
            f"SELECT {COLUMNS} FROM dossiers WHERE {clause} ORDER BY created_at",  # noqa: S608
            params,
        )
        for row in rows:
            if step(state, catalogue, tx, row, actor="sandbox schedule"):
                moved.append(str(row[0]))
    return moved


def step(
    state: SandboxState,
    catalogue: Catalogue,
    tx: Transaction,
    row: tuple[object, ...],
    *,
    actor: str,
) -> bool:
    current = DossierState(str(row[4]))
    dossier_id = str(row[0])
    if current is DossierState.SUBMITTED:
        if int(str(row[5])) > 0 and not bool(row[6]):
            return False
        procedure = catalogue.get(str(row[3]))
        days = procedure.processing_time.days if procedure is not None else 5
        move(
            state,
            tx,
            dossier_id,
            DossierState.RECEIVED,
            actor=actor,
            appointment=_working_days_after(state.now().date(), days),
        )
        return True
    if current is DossierState.RECEIVED:
        move(state, tx, dossier_id, DossierState.PROCESSING, actor=actor)
        return True
    if current is DossierState.PROCESSING:
        issue_result(state, catalogue, tx, row, actor=actor, note="")
        return True
    return False


def issue_result(
    state: SandboxState,
    catalogue: Catalogue,
    tx: Transaction,
    row: tuple[object, ...],
    *,
    actor: str,
    note: str,
) -> None:
    dossier = load_dossier(tx, row)
    applicant = _applicant(state, tx, dossier, str(row[2]))
    pdf, rect = _result_pdf(state, dossier, catalogue.get(dossier.procedure_code), applicant, note)
    document, signature = _sign_result(state, pdf, rect)
    tx.execute("DELETE FROM documents WHERE dossier_id = ? AND name = 'result'", (dossier.id,))
    tx.execute(
        "INSERT INTO documents (dossier_id, name, kind, media_type, size, sha256, content,"
        " extra, created_at) VALUES (?, 'result', 'result', 'application/pdf', ?, ?, ?, ?, ?)",
        (
            dossier.id,
            len(document),
            hashlib.sha256(document).hexdigest(),
            document,
            signature,
            iso(state.now()),
        ),
    )
    move(state, tx, dossier.id, DossierState.RESULT_READY, actor=actor, note=note)


def form_passed(row: tuple[object, ...]) -> bool:
    if row[10] is None:
        return False
    return bool(json.loads(str(row[10])).get("passed"))


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError("expected a binary column")
