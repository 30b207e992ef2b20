"""The portal reads the signed form's data: fees from the values, refusals that say why."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.client import DossierState, PortalClient, ProcedureSummary, WalletClient
from huesign.errors import ConflictError
from huesign.forms import (
    VIETNAM_TZ,
    Attachment,
    Procedure,
    Submission,
    builtin_catalogue,
    sign_dossier,
)
from huesign.forms.render import SUBMISSION_FILE_NAME
from huesign.pki import KeySigner, sign_cms, sign_pdf
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter
from huesign.sandbox import RunningSandbox, SandboxCitizen

RESIDENCE = "1.004194"  # temporary residence registration: the fee depends on the channel
FIXED_FEE = "1.004873"  # confirmation of marital status: 15 000 VND whatever the data
PROOF = b"%PDF-1.7\n% lease, test sample\n"


def _procedure(code: str) -> Procedure:
    procedure = builtin_catalogue().get(code)
    assert procedure is not None
    return procedure


def _residence(channel: str, *, cccd: str = "046194008817") -> Submission:
    hue = {"province_code": "46", "ward_code": "46004", "street": "27 Nguyễn Huệ"}
    proof = Attachment(
        id="lease",
        document_type="residence_proof",
        file_name="lease.pdf",
        media_type="application/pdf",
        size=len(PROOF),
        sha256=hashlib.sha256(PROOF).hexdigest(),
    )
    values = {
        "applicant": {
            "full_name": "Hoàng Thị Thu Hà",
            "birth_date": "1994-07-15",
            "cccd": cccd,
            "phone": "0905 123 456",
            "address": hue,
        },
        "channel": channel,
        "residence_address": hue,
        "from_date": dt.datetime.now(VIETNAM_TZ).date().isoformat(),
        "months": 6,
        "reason": "Làm việc tại Huế",
        "residence_proof": "lease",
        "commitment": True,
    }
    return Submission.for_procedure(_procedure(RESIDENCE), values, attachments=[proof])


def _signer(citizen: SandboxCitizen) -> KeySigner:
    issued = citizen.issued
    return KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)


@pytest.fixture(scope="module")
def applicant(sandbox: RunningSandbox) -> SandboxCitizen:
    return sandbox.add_citizen(name="Hoàng Thị Thu Hà", cccd="046194008817")


@pytest.fixture
def portal(sandbox: RunningSandbox, applicant: SandboxCitizen) -> Iterator[PortalClient]:
    with PortalClient(base_url=sandbox.portal_url, token=applicant.token) as client:
        yield client


@pytest.fixture(scope="module")
def signed_forms(applicant: SandboxCitizen) -> dict[str, bytes]:
    # One PAdES dossier per channel (rendering and signing take a fraction of a second each).
    return {
        channel: sign_dossier(_residence(channel), _procedure(RESIDENCE), _signer(applicant)).pdf
        for channel in ("online", "direct")
    }


# --- fees from the signed data ----------------------------------------------------------------


def test_a_draft_of_a_channel_dependent_procedure_has_no_fee_yet(portal: PortalClient) -> None:
    assert portal.dossiers.create(procedure_code=RESIDENCE).fee == 0


@pytest.mark.parametrize(("channel", "fee"), [("online", 7000), ("direct", 15000)])
def test_the_fee_is_computed_from_the_data_embedded_in_the_signed_form(
    portal: PortalClient, signed_forms: dict[str, bytes], channel: str, fee: int
) -> None:
    draft = portal.dossiers.create(procedure_code=RESIDENCE)
    attached = portal.dossiers.attach_form(draft.id, document=signed_forms[channel])
    assert attached.form is not None
    assert attached.form.passed
    assert attached.fee == fee
    assert portal.dossiers.submit(draft.id).fee == fee


def test_a_submitted_dossier_waits_for_the_recomputed_fee_before_it_is_received(
    portal: PortalClient, sandbox: RunningSandbox, signed_forms: dict[str, bytes]
) -> None:
    draft = portal.dossiers.create(procedure_code=RESIDENCE)
    portal.dossiers.attach_form(draft.id, document=signed_forms["online"])
    portal.dossiers.submit(draft.id)
    with PortalClient(
        base_url=sandbox.portal_url, token=sandbox.credentials.officer_token
    ) as officer, pytest.raises(ConflictError) as caught:  # fmt: skip
        officer.agency.receive(draft.id)
    assert caught.value.problem["type"].endswith("fee_unpaid")
    payment = portal.dossiers.pay(draft.id)
    assert payment.amount == 7000


def test_a_detached_signature_over_a_json_submission_sets_the_fee(
    portal: PortalClient, applicant: SandboxCitizen
) -> None:
    document = _residence("direct").validate(_procedure(RESIDENCE)).canonical_json()
    draft = portal.dossiers.create(procedure_code=RESIDENCE)
    attached = portal.dossiers.attach_form(
        draft.id, document=document, signature=sign_cms(document, _signer(applicant))
    )
    assert attached.fee == 15000


def test_once_the_fee_is_paid_a_form_that_changes_it_is_refused(
    portal: PortalClient,
    sandbox: RunningSandbox,
    applicant: SandboxCitizen,
    signed_forms: dict[str, bytes],
) -> None:
    draft = portal.dossiers.create(procedure_code=RESIDENCE)
    portal.dossiers.attach_form(draft.id, document=signed_forms["online"])
    portal.dossiers.submit(draft.id)
    payment = portal.dossiers.pay(draft.id)
    with WalletClient(base_url=sandbox.wallet_url, token=applicant.token) as wallet:
        wallet.payments.confirm(payment.id)
    token = sandbox.credentials.officer_token
    with PortalClient(base_url=sandbox.portal_url, token=token) as officer:
        officer.agency.receive(draft.id)
        officer.agency.request_supplement(draft.id, note="Bổ sung hợp đồng thuê nhà")
    with pytest.raises(ConflictError) as caught:
        portal.dossiers.attach_form(draft.id, document=signed_forms["direct"])
    assert caught.value.status_code == 409
    assert caught.value.problem["type"].endswith("fee_paid")
    again = portal.dossiers.attach_form(draft.id, document=signed_forms["online"])
    assert (again.fee, again.paid) == (7000, True)


# --- refusals ---------------------------------------------------------------------------------


def _refusal(portal: PortalClient, code: str, document: bytes, signature: bytes | None) -> dict:
    draft = portal.dossiers.create(procedure_code=code)
    with pytest.raises(ConflictError) as caught:
        portal.dossiers.attach_form(draft.id, document=document, signature=signature)
    assert caught.value.status_code == 422
    assert portal.dossiers.get(draft.id).form is None  # nothing was stored
    problem: dict = caught.value.problem
    return problem


def test_a_form_for_another_procedure_is_refused_with_the_reason(
    portal: PortalClient, signed_forms: dict[str, bytes]
) -> None:
    problem = _refusal(portal, FIXED_FEE, signed_forms["online"], None)
    assert problem["type"].endswith("form_data_invalid")
    assert problem["verdict"]["passed"] is True  # the signature itself is fine
    assert "for procedure 1.004194" in problem["detail"]
    assert any("1.004873" in reason for reason in problem["reasons"])


def test_data_that_does_not_validate_is_refused_with_every_field_path(
    portal: PortalClient, applicant: SandboxCitizen
) -> None:
    data = _residence("online").to_dict()
    data["values"]["applicant"]["cccd"] = "12345"  # type: ignore[index]
    data["values"]["months"] = 99  # type: ignore[index]
    document = json.dumps(data, ensure_ascii=False).encode()
    problem = _refusal(portal, RESIDENCE, document, sign_cms(document, _signer(applicant)))
    assert problem["type"].endswith("form_data_invalid")
    paths = " ".join(problem["reasons"])
    assert "applicant.cccd" in paths
    assert "months" in paths


def test_a_form_without_data_is_refused_when_every_fee_depends_on_the_data(
    portal: PortalClient, applicant: SandboxCitizen
) -> None:
    document = b"%PDF-1.7\n% no data\n"
    problem = _refusal(portal, RESIDENCE, document, sign_cms(document, _signer(applicant)))
    assert problem["type"].endswith("form_data_invalid")
    assert "fee of procedure 1.004194 depends on it" in problem["detail"]


def test_a_form_without_data_keeps_a_fixed_fee(
    portal: PortalClient, applicant: SandboxCitizen
) -> None:
    document = b"%PDF-1.7\n% no data\n"
    draft = portal.dossiers.create(procedure_code=FIXED_FEE)
    attached = portal.dossiers.attach_form(
        draft.id, document=document, signature=sign_cms(document, _signer(applicant))
    )
    assert attached.fee == 15000


def _signed_plain_pdf(applicant: SandboxCitizen, text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, text)
    signed = sign_pdf(bytes(pdf.output()), _signer(applicant))
    assert signed is not None
    return signed


def test_a_pades_form_without_embedded_data_keeps_a_fixed_fee(
    portal: PortalClient, applicant: SandboxCitizen
) -> None:
    draft = portal.dossiers.create(procedure_code=FIXED_FEE)
    signed = _signed_plain_pdf(applicant, "Xac nhan tinh trang hon nhan")
    attached = portal.dossiers.attach_form(draft.id, document=signed)
    assert attached.form is not None
    assert attached.form.passed
    assert attached.fee == 15000


def test_data_embedded_after_the_signature_is_refused_not_taken_as_no_data(
    portal: PortalClient, applicant: SandboxCitizen
) -> None:
    signed = _signed_plain_pdf(applicant, "Xac nhan tinh trang hon nhan")
    with PDFReader(io.BytesIO(signed)) as reader:
        writer = IncrementalWriter(reader)
        data = writer.add(PDFStream(PDFDict({"Type": Name("EmbeddedFile")}), b"{}"))
        spec = writer.add(
            PDFDict(
                {
                    "Type": Name("Filespec"),
                    "F": PDFString.from_text(SUBMISSION_FILE_NAME),
                    "EF": PDFDict({"F": data}),
                }
            )
        )
        tree = PDFDict({"Names": (PDFString.from_text(SUBMISSION_FILE_NAME), spec)})
        root = reader.root_ref
        writer.update(root, writer.get_dict(root).updated(Names=PDFDict({"EmbeddedFiles": tree})))
        out = io.BytesIO()
        writer.write(out)
    # Taken as "no data", the form would be accepted with the fixed fee.
    problem = _refusal(portal, FIXED_FEE, out.getvalue(), None)
    assert problem["status"] == 422


# --- the procedure list -----------------------------------------------------------------------


def _listed(portal: PortalClient, code: str) -> ProcedureSummary:
    return next(p for p in portal.procedures.list(query=code) if p.code == code)


def test_a_channel_dependent_procedure_is_listed_as_depending_on_the_data(
    portal: PortalClient,
) -> None:
    listed = _listed(portal, RESIDENCE)
    assert listed.fee == 0
    assert listed.fee_depends_on_data
    by_channel = {f.when_values: f.amount for f in listed.fees if f.when_field == "channel"}
    assert by_channel == {("online",): 7000, ("direct",): 15000}


def test_a_fixed_fee_procedure_is_listed_with_its_fee_and_no_condition(
    portal: PortalClient,
) -> None:
    listed = _listed(portal, FIXED_FEE)
    assert listed.fee == 15000
    assert not listed.fee_depends_on_data
    assert [(f.amount, f.when_field) for f in listed.fees] == [(15000, None)]


def test_a_late_registration_fee_is_listed_with_its_boolean_condition(
    portal: PortalClient,
) -> None:
    listed = _listed(portal, "1.001193")
    late = [f for f in listed.fees if f.when_field == "late_registration"]
    assert listed.fee == 0
    assert listed.fee_depends_on_data
    assert [(f.amount, f.when_values) for f in late] == [(8000, (True,))]


@pytest.mark.parametrize("channel", ["online", "direct"])
def test_the_listed_fee_for_a_channel_is_what_the_dossier_is_charged(
    portal: PortalClient, signed_forms: dict[str, bytes], channel: str
) -> None:
    listed = _listed(portal, RESIDENCE)
    expected = listed.fee + sum(
        f.amount for f in listed.fees if f.when_field == "channel" and channel in f.when_values
    )
    draft = portal.dossiers.create(procedure_code=RESIDENCE)
    assert portal.dossiers.attach_form(draft.id, document=signed_forms[channel]).fee == expected


def test_a_bad_signature_is_reported_before_the_data(
    portal: PortalClient, signed_forms: dict[str, bytes]
) -> None:
    tampered = bytearray(signed_forms["online"])
    tampered[len(tampered) // 3] ^= 0x01
    problem = _refusal(portal, RESIDENCE, bytes(tampered), None)
    assert problem["type"].endswith("signature_invalid")


# --- listing order ----------------------------------------------------------------------------


def test_dossiers_are_listed_oldest_first_even_within_one_second(
    sandbox: RunningSandbox,
) -> None:
    # A citizen of her own, so that other tests' dossiers do not interleave.
    citizen = sandbox.add_citizen(name="Lê Văn Tâm", cccd="046088000123")
    with PortalClient(base_url=sandbox.portal_url, token=citizen.token) as portal:
        created = [portal.dossiers.create(procedure_code=FIXED_FEE).id for _ in range(12)]
        listed = [d.id for d in portal.dossiers.list(page_size=5)]
    assert listed == created


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cancelled=st.lists(st.booleans(), min_size=1, max_size=6))
def test_filtering_keeps_the_creation_order(sandbox: RunningSandbox, cancelled: list[bool]) -> None:
    citizen = sandbox.add_citizen(name="Lê Văn Tâm", cccd="046088000124")
    with PortalClient(base_url=sandbox.portal_url, token=citizen.token) as portal:
        before = {d.id for d in portal.dossiers.list(state=DossierState.CANCELLED)}
        made = []
        for cancel in cancelled:
            dossier = portal.dossiers.create(procedure_code=FIXED_FEE)
            if cancel:
                portal.dossiers.cancel(dossier.id)
                made.append(dossier.id)
        after = [d.id for d in portal.dossiers.list(state=DossierState.CANCELLED, page_size=7)]
    assert [i for i in after if i not in before] == made
