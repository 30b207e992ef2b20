"""The portal client against the real sandbox over loopback HTTP (sync)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from fpdf import FPDF

from huesign.client import DossierState, PortalClient, ProcedureSummary
from huesign.errors import AuthenticationError, ConflictError, NotFoundError
from huesign.pki import (
    KeySigner,
    RevocationMode,
    TrustStore,
    ValidationPolicy,
    sign_cms,
    sign_pdf,
    verify_pdf,
)
from huesign.pki.devca import IssuedCertificate
from huesign.sandbox import RunningSandbox
from judges import pdfsig

FORM = b"%PDF-1.7\n% a rendered form would be here\n"
FEE_PROCEDURE = "1.004873"  # confirmation of marital status, 15 000 VND
FREE_PROCEDURE = "1.001193"  # birth registration


def _sign(issued: IssuedCertificate, data: bytes) -> bytes:
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    return sign_cms(data, signer)


def _admin(sandbox: RunningSandbox, path: str, body: dict[str, object] | None = None) -> object:
    response = httpx.post(
        sandbox.base_url + path,
        json=body or {},
        headers={"Authorization": f"Bearer {sandbox.credentials.admin_token}"},
    )
    response.raise_for_status()
    return response.json()


def _officer(sandbox: RunningSandbox) -> PortalClient:
    return PortalClient(base_url=sandbox.portal_url, token=sandbox.credentials.officer_token)


def _submitted(portal: PortalClient, sandbox: RunningSandbox, code: str = FREE_PROCEDURE) -> str:
    dossier = portal.dossiers.create(procedure_code=code)
    portal.dossiers.attach_form(
        dossier.id, document=FORM, signature=_sign(sandbox.parts.citizen, FORM)
    )
    return portal.dossiers.submit(dossier.id).id


# --- procedures ------------------------------------------------------------------------------


def test_procedures_list_every_catalogue_entry_across_pages(portal_client: PortalClient) -> None:
    codes = [p.code for p in portal_client.procedures.list(page_size=2)]
    assert len(codes) >= 6
    assert len(set(codes)) == len(codes)
    assert FEE_PROCEDURE in codes


def test_procedure_search_finds_by_vietnamese_words(portal_client: PortalClient) -> None:
    found = list(portal_client.procedures.list(query="khai sinh"))
    assert [p.code for p in found][:1] == [FREE_PROCEDURE]
    assert all(isinstance(p, ProcedureSummary) for p in found)


def test_procedure_get_returns_the_full_definition(portal_client: PortalClient) -> None:
    procedure = portal_client.procedures.get(FEE_PROCEDURE)
    assert procedure.code == FEE_PROCEDURE
    assert procedure.fee_for({}) == 15000


def test_unknown_procedure_is_not_found(portal_client: PortalClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        portal_client.procedures.get("9.999999")
    assert caught.value.request_id
    assert caught.value.problem["status"] == 404


# --- dossiers --------------------------------------------------------------------------------


def test_a_new_dossier_is_a_draft_with_the_procedure_fee(portal_client: PortalClient) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FEE_PROCEDURE)
    assert dossier.state is DossierState.DRAFT
    assert dossier.fee == 15000
    assert not dossier.paid
    assert dossier.code.startswith("H46.")
    assert portal_client.dossiers.get(dossier.id) == dossier


def test_a_validly_signed_form_is_accepted_with_its_verdict(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    updated = portal_client.dossiers.attach_form(
        dossier.id, document=FORM, signature=_sign(sandbox.parts.citizen, FORM)
    )
    assert updated.form is not None
    assert updated.form.passed
    assert updated.form.indication == "TOTAL_PASSED"
    assert updated.form.signer == "Nguyễn Thị Hương Giang"


def test_a_tampered_form_is_refused_with_hash_failure(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    signature = _sign(sandbox.parts.citizen, FORM)
    with pytest.raises(ConflictError) as caught:
        portal_client.dossiers.attach_form(dossier.id, document=FORM + b"x", signature=signature)
    assert caught.value.status_code == 422
    assert caught.value.problem["verdict"]["sub_indication"] == "HASH_FAILURE"


def test_a_form_signed_outside_the_trusted_pki_is_refused(
    portal_client: PortalClient, huesign_pki: object, citizen: IssuedCertificate
) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    with pytest.raises(ConflictError) as caught:
        portal_client.dossiers.attach_form(
            dossier.id, document=FORM, signature=_sign(citizen, FORM)
        )
    verdict = caught.value.problem["verdict"]
    assert verdict["passed"] is False
    assert verdict["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"


def test_an_unsigned_pdf_is_refused(portal_client: PortalClient) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    with pytest.raises(ConflictError) as caught:
        portal_client.dossiers.attach_form(dossier.id, document=FORM)
    assert caught.value.problem["verdict"]["passed"] is False


def test_submitting_without_a_signed_form_is_a_conflict(portal_client: PortalClient) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    with pytest.raises(ConflictError) as caught:
        portal_client.dossiers.submit(dossier.id)
    assert caught.value.status_code == 409
    assert caught.value.problem["type"].endswith("form_missing")


def test_a_free_dossier_goes_from_draft_to_result_on_the_schedule(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier_id = _submitted(portal_client, sandbox)
    for _ in range(3):
        _admin(sandbox, "/sandbox/advance", {"dossier_id": dossier_id})
    final = portal_client.dossiers.get(dossier_id)
    assert final.state is DossierState.RESULT_READY
    assert final.appointment is not None
    states = [c.state for c in portal_client.dossiers.history(dossier_id)]
    assert states == [
        DossierState.DRAFT,
        DossierState.SUBMITTED,
        DossierState.RECEIVED,
        DossierState.PROCESSING,
        DossierState.RESULT_READY,
    ]


def test_an_unpaid_dossier_is_not_received(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier_id = _submitted(portal_client, sandbox, FEE_PROCEDURE)
    assert _admin(sandbox, "/sandbox/advance", {"dossier_id": dossier_id}) == {"advanced": []}
    with _officer(sandbox) as officer, pytest.raises(ConflictError, match="not paid"):
        officer.agency.receive(dossier_id)


def test_the_agency_result_is_a_pades_pdf_signed_by_the_seal(
    portal_client: PortalClient, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    dossier_id = _submitted(portal_client, sandbox)
    with _officer(sandbox) as officer:
        officer.agency.receive(dossier_id)
        officer.agency.process(dossier_id)
        assert officer.agency.issue_result(dossier_id).state is DossierState.RESULT_READY
    result = portal_client.dossiers.download_result(dossier_id)
    assert result.signature is None
    trust = TrustStore.from_certificates([sandbox.ca.root], intermediates=[sandbox.ca.intermediate])
    report = verify_pdf(
        result.document,
        trust=trust,
        policy=ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL),
    )
    assert report.passed, report.summary("en")
    assert report.signatures[0].signer is not None
    assert report.signatures[0].signer.common_name == "UBND phường Thuận Hóa"
    (tmp_path / "result.pdf").write_bytes(result.document)
    done = pdfsig(tmp_path / "result.pdf")
    assert "Signature is Valid." in done.stdout, done.output


def test_a_pades_signed_form_is_accepted_without_a_detached_signature(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "To khai")
    issued = sandbox.parts.citizen
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    signed = sign_pdf(bytes(pdf.output()), signer)
    assert signed is not None
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    updated = portal_client.dossiers.attach_form(dossier.id, document=signed)
    assert updated.form is not None
    assert updated.form.passed


def test_the_officer_can_ask_for_a_supplement_then_the_citizen_resubmits(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier_id = _submitted(portal_client, sandbox)
    with _officer(sandbox) as officer:
        officer.agency.receive(dossier_id)
        back = officer.agency.request_supplement(dossier_id, note="Thiếu bản sao CCCD")
    assert back.state is DossierState.SUPPLEMENT_REQUESTED
    assert back.note == "Thiếu bản sao CCCD"
    assert portal_client.dossiers.submit(dossier_id).state is DossierState.SUBMITTED


def test_a_rejected_dossier_cannot_be_cancelled(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier_id = _submitted(portal_client, sandbox)
    with _officer(sandbox) as officer:
        assert officer.agency.reject(dossier_id, note="Sai thủ tục").state is DossierState.REJECTED
    with pytest.raises(ConflictError):
        portal_client.dossiers.cancel(dossier_id)


def test_a_draft_can_be_cancelled(portal_client: PortalClient) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    assert portal_client.dossiers.cancel(dossier.id).state is DossierState.CANCELLED


def test_listing_filters_by_state_and_pages(portal_client: PortalClient) -> None:
    for _ in range(3):
        portal_client.dossiers.cancel(portal_client.dossiers.create(procedure_code="2.000815").id)
    found = list(
        portal_client.dossiers.list(
            state=DossierState.CANCELLED, procedure_code="2.000815", page_size=2
        )
    )
    assert len(found) >= 3
    assert {d.state for d in found} == {DossierState.CANCELLED}
    assert len({d.id for d in found}) == len(found)


def test_a_citizen_does_not_see_another_citizens_dossier(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    other = _admin(sandbox, "/sandbox/citizens", {"cccd": "046200009999", "name": "Lê Văn B"})
    assert isinstance(other, dict)
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    with portal_client.with_options(token=str(other["token"])) as stranger:
        with pytest.raises(NotFoundError):
            stranger.dossiers.get(dossier.id)
        assert dossier.id not in {d.id for d in stranger.dossiers.list()}


def test_an_officer_token_cannot_create_dossiers(sandbox: RunningSandbox) -> None:
    with _officer(sandbox) as officer, pytest.raises(AuthenticationError) as caught:
        officer.dossiers.create(procedure_code=FREE_PROCEDURE)
    assert caught.value.status_code == 403


def test_a_wrong_token_is_unauthorized(portal_client: PortalClient) -> None:
    with pytest.raises(AuthenticationError) as caught:
        portal_client.with_options(token="nope").procedures.get(FREE_PROCEDURE)
    assert caught.value.status_code == 401


# --- attachments -----------------------------------------------------------------------------


def test_a_large_attachment_is_streamed_from_disk(
    portal_client: PortalClient, tmp_path: Path
) -> None:
    path = tmp_path / "scan.bin"
    with path.open("wb") as handle:
        for i in range(80):
            handle.write(bytes([i]) * 65536)  # 5 MiB
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    info = portal_client.dossiers.upload_attachment(
        dossier.id, name="scan.bin", content=path, media_type="application/octet-stream"
    )
    assert info.size == path.stat().st_size
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert portal_client.dossiers.get(dossier.id).attachments == (info,)


def test_an_attachment_over_the_size_cap_is_refused(
    portal_client: PortalClient, sandbox: RunningSandbox
) -> None:
    dossier = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE)
    too_big = b"x" * (sandbox.parts.state.max_upload_size + 1)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - 413 maps to HTTPStatusError
        portal_client.dossiers.upload_attachment(dossier.id, name="big.bin", content=too_big)
    assert getattr(caught.value, "status_code", None) == 413


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_key_and_body_returns_the_same_dossier(portal_client: PortalClient) -> None:
    first = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE, idempotency_key="same-1")
    again = portal_client.dossiers.create(procedure_code=FREE_PROCEDURE, idempotency_key="same-1")
    assert again == first


def test_the_same_key_with_another_body_is_refused(portal_client: PortalClient) -> None:
    portal_client.dossiers.create(procedure_code=FREE_PROCEDURE, idempotency_key="same-2")
    with pytest.raises(ConflictError) as caught:
        portal_client.dossiers.create(procedure_code=FEE_PROCEDURE, idempotency_key="same-2")
    assert caught.value.status_code == 422
    assert caught.value.problem["type"].endswith("idempotency_key_reused")
