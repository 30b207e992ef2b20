"""The agency's result: a real administrative document, sealed with a visible stamp."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from fpdf import FPDF

from huesign.client import PortalClient
from huesign.forms import VIETNAM_TZ
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
from huesign.pki.pdffields import iter_fields
from huesign.pki.pdfreader import PDFReader
from huesign.sandbox import RunningSandbox
from judges import nss_db, pdfsig, qpdf_check, require_program

FORM = b"%PDF-1.7\n% a rendered form would be here\n"
AGENCY = "UBND phường Thuận Hóa"


def _signer(issued: IssuedCertificate) -> KeySigner:
    return KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)


def _result(sandbox: RunningSandbox, token: str, document: bytes, signature: bytes | None) -> bytes:
    with PortalClient(base_url=sandbox.portal_url, token=token) as portal:
        dossier = portal.dossiers.create(procedure_code="1.001193")
        portal.dossiers.attach_form(dossier.id, document=document, signature=signature)
        portal.dossiers.submit(dossier.id)
        with PortalClient(
            base_url=sandbox.portal_url, token=sandbox.credentials.officer_token
        ) as officer:
            officer.agency.receive(dossier.id)
            officer.agency.process(dossier.id)
            officer.agency.issue_result(dossier.id, note="Đã cấp Giấy khai sinh bản chính.")
        return portal.dossiers.download_result(dossier.id).document


@pytest.fixture(scope="module")
def result(sandbox: RunningSandbox) -> bytes:
    citizen = sandbox.parts.citizen
    return _result(
        sandbox, sandbox.credentials.citizen_token, FORM, sign_cms(FORM, _signer(citizen))
    )


@pytest.fixture(scope="module")
def result_file(result: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("result") / "result.pdf"
    path.write_bytes(result)
    return path


@pytest.fixture(scope="module")
def text(result_file: Path) -> str:
    pdftotext = require_program("pdftotext")
    done = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(result_file), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(done.stdout.split())


def test_the_result_carries_the_national_motto(text: str) -> None:
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text


def test_the_result_is_titled_with_the_procedure(text: str) -> None:
    assert "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in text
    assert "Thủ tục: Đăng ký khai sinh" in text


def test_the_result_names_the_agency_in_its_heading(text: str) -> None:
    assert AGENCY.upper() in text
    assert AGENCY in text


def test_the_result_names_the_applicant_with_a_masked_cccd(text: str) -> None:
    assert "Nguyễn Thị Hương Giang" in text
    assert "CCCD: ********1234" in text
    assert "046190001234" not in text


def test_the_result_is_dated_in_hue_in_vietnamese(text: str, sandbox: RunningSandbox) -> None:
    today = sandbox.parts.state.now().astimezone(VIETNAM_TZ).date()
    assert f"Huế, ngày {today.day:02d} tháng {today.month:02d} năm {today.year}" in text


def test_the_result_carries_the_dossier_code_and_the_officers_note(text: str) -> None:
    assert "Mã hồ sơ: H46." in text
    assert "Ghi chú: Đã cấp Giấy khai sinh bản chính." in text


def test_the_result_passes_verification_signed_by_the_seal(
    result: bytes, sandbox: RunningSandbox
) -> None:
    trust = TrustStore.from_certificates([sandbox.ca.root], intermediates=[sandbox.ca.intermediate])
    report = verify_pdf(
        result, trust=trust, policy=ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL)
    )
    assert report.passed, report.summary("en")
    signer = report.signatures[0].signer
    assert signer is not None
    assert signer.common_name == AGENCY


def test_the_seal_stamp_is_visible_in_the_signature_block(result: bytes, text: str) -> None:
    with PDFReader(io.BytesIO(result)) as reader:
        (field,) = [f for f in iter_fields(reader) if f.field_type == "Sig"]
        rect = reader.resolve(field.dictionary.get("Rect"))
        assert "AP" in field.dictionary
    assert isinstance(rect, tuple)
    x1, y1, x2, y2 = (float(v) for v in rect)  # type: ignore[arg-type]
    assert x2 - x1 > 150  # a real stamp, not a zero-size widget
    assert y2 - y1 > 60
    assert x1 > 595 / 3  # in the signature block at the right of the page
    assert "Ký bởi: UBND phường Thuận Hóa" in text  # the stamp's own text


def test_pdfsig_finds_the_result_valid_and_trusted(
    result_file: Path, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    database = nss_db(tmp_path, sandbox.ca.root.to_pem())
    found = pdfsig(result_file, database)
    assert "Signature is Valid." in found.stdout, found.output
    assert "Certificate is Trusted." in found.stdout, found.output
    assert "Total document signed" in found.stdout, found.output


def test_qpdf_finds_no_error_in_the_result(result_file: Path) -> None:
    qpdf_check(result_file)


def test_the_applicant_of_a_pades_form_is_its_signer(sandbox: RunningSandbox) -> None:
    citizen = sandbox.add_citizen(name="Trần Văn Bình", cccd="046195007788")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "To khai")
    signed = sign_pdf(bytes(pdf.output()), _signer(citizen.issued))
    assert signed is not None
    result = _result(sandbox, citizen.token, signed, None)
    done = subprocess.run(
        [require_program("pdftotext"), "-enc", "UTF-8", "-", "-"],
        input=result,
        capture_output=True,
        check=True,
    )
    text = " ".join(done.stdout.decode().split())
    assert "Trần Văn Bình" in text
    assert "CCCD: ********7788" in text
