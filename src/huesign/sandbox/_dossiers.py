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
    ProcedureSummary,
)
from huesign.errors import FormError, FormValidationError
from huesign.forms.catalogue import Catalogue
from huesign.forms.dossier import open_dossier
from huesign.forms.procedure import Procedure
from huesign.forms.render import SUBMISSION_FILE_NAME
from huesign.forms.submission import Submission
from huesign.pki.cms import verify_cms
from huesign.pki.fonts import FontWeight, font_bytes
from huesign.pki.pades import sign_pdf
from huesign.pki.pdfverify import verify_pdf
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.report import ValidationReport
from huesign.pki.revocation import RevocationData, RevocationSource
from huesign.pki.signers import KeySigner
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
    if opened.sha256 is None and any(
        f"embeds no {SUBMISSION_FILE_NAME}" in reason for reason in opened.reasons
    ):
        return _without_data(verdict, procedure)
    return FormCheck(verdict=verdict, problems=opened.reasons or ("the form was refused",))


def _result_pdf(state: SandboxState, dossier: Dossier, procedure: Procedure | None) -> bytes:
    pdf = FPDF()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "NotoSans-Regular.ttf")
        with open(path, "wb") as handle:
            handle.write(font_bytes(FontWeight.REGULAR))
        pdf.add_font("Noto", style="", fname=path)
    pdf.add_page()
    pdf.set_font("Noto", size=14)
    title = procedure.name_vi if procedure is not None else dossier.procedure_code
    lines = (
        "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        f"Thủ tục: {title}",
        f"Mã hồ sơ: {dossier.code}",
        f"Ngày: {state.now().date().isoformat()}",
        f"Cơ quan: {state.seal.certificate.identity.common_name or ''}",
    )
    for line in lines:
        pdf.multi_cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _sign_result(state: SandboxState, document: bytes) -> tuple[bytes, bytes | None]:
    """The agency's result, PAdES-signed with the seal: ``(signed pdf, None)``."""
    signer = KeySigner(
        key=state.seal.key, certificate=state.seal.certificate, chain=state.seal.chain
    )
    signed = sign_pdf(
        document,
        signer,
        reason="Kết quả giải quyết thủ tục hành chính",
        location="Thành phố Huế",
    )
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


def summary(procedure: Procedure) -> ProcedureSummary:
    return ProcedureSummary(
        code=procedure.code,
        name_vi=procedure.name_vi,
        name_en=procedure.name_en,
        domain=procedure.domain,
        level=procedure.level.value,
        agency=procedure.agency,
        fee=procedure.fee_for({}),
        processing_days=procedure.processing_time.days,
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
    document, signature = _sign_result(
        state, _result_pdf(state, dossier, catalogue.get(dossier.procedure_code))
    )
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
