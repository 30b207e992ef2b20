"""PAdES signatures made by huesign, judged by tools nobody on the project wrote.

poppler's ``pdfsig`` (with the test root trusted through its own NSS database), ``qpdf
--check`` and pyHanko's validators.  A missing program skips its test, except under
``HUESIGN_REQUIRE_JUDGES=1`` (as in CI), where it fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from huesign.pki import (
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    RevocationData,
    RevocationSource,
)
from huesign.pki.pades import PAdESLevel, sign_pdf
from huesign.pki.pdfslots import DocMDPPermission, FieldLock
from judges import pdfsig, qpdf_check
from padeshelpers import make_pdf, signer_of

WHEN = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)


# pdfsig asks the OCSP responder named in each certificate, so the certificates here come
# from the development CA whose services answer on loopback.


@pytest.fixture(scope="module")
def ca(pki_services: DevelopmentCA) -> DevelopmentCA:
    return pki_services


@pytest.fixture(scope="module")
def people(ca: DevelopmentCA) -> dict[str, IssuedCertificate]:
    hue = "Thành phố Huế"
    citizen = CitizenIdentity(
        common_name="Nguyễn Thị Hương Giang",
        identifiers=(Identifier.cccd("046190001234"),),
        province=hue,
        country="VN",
    )
    officer = CitizenIdentity(
        common_name="Trần Văn Minh",
        identifiers=(Identifier.cccd("046085012345"),),
        organization="UBND phường Thuận Hóa",
        province=hue,
        country="VN",
    )
    seal = CitizenIdentity(
        common_name="UBND phường Thuận Hóa",
        identifiers=(Identifier.tax_code("3001234503"),),
        organization="UBND phường Thuận Hóa",
        province=hue,
        country="VN",
    )
    return {
        "citizen": ca.issue(citizen, profile=CertificateProfile.CITIZEN),
        "officer": ca.issue(officer, profile=CertificateProfile.OFFICER),
        "seal": ca.issue(seal, profile=CertificateProfile.SEAL),
    }


@pytest.fixture(scope="module")
def form_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("pades-judges") / "form.pdf", pages=2, text="To khai")


@pytest.fixture(scope="module")
def revocation(ca: DevelopmentCA) -> RevocationSource:
    return RevocationSource(RevocationData(crls=(ca.crl(), ca.crl("root"))))


@pytest.fixture(scope="module")
def signed(
    form_pdf: Path,
    people: dict[str, IssuedCertificate],
    ca: DevelopmentCA,
    revocation: RevocationSource,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[PAdESLevel, Path]:
    folder = tmp_path_factory.mktemp("pades-levels")
    out: dict[PAdESLevel, Path] = {}
    for level in PAdESLevel:
        target = folder / f"{level.value}.pdf"
        sign_pdf(
            form_pdf,
            signer_of(people["citizen"]),
            output=target,
            level=level,
            timestamp=ca,
            revocation=revocation,
            reason="Nộp hồ sơ",
            location="Huế",
            signing_time=WHEN,
        )
        out[level] = target
    return out


@pytest.fixture(scope="module")
def sequence(
    form_pdf: Path,
    people: dict[str, IssuedCertificate],
    ca: DevelopmentCA,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The agency certifies the form (form filling allowed), then the citizen and the
    officer approve it, each at B-T in an incremental update of the same file."""
    path = tmp_path_factory.mktemp("pades-sequence") / "dossier.pdf"
    path.write_bytes(form_pdf.read_bytes())
    common = {"timestamp": ca, "level": PAdESLevel.B_T, "output": path}
    sign_pdf(
        path,
        signer_of(people["seal"]),
        certify=DocMDPPermission.FORM_FILLING,
        field="AgencySeal",
        **common,  # type: ignore[arg-type]
    )
    sign_pdf(path, signer_of(people["citizen"]), field="Citizen", **common)  # type: ignore[arg-type]
    sign_pdf(
        path,
        signer_of(people["officer"]),
        field="Officer",
        lock=FieldLock(),
        **common,  # type: ignore[arg-type]
    )
    return path


def _pdfsig(nssdb: str, path: Path) -> tuple[str, ...]:
    result = pdfsig(path, nssdb)
    assert result.signatures, result.output
    return result.signatures


def _context(ca: DevelopmentCA) -> ValidationContext:
    return ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(ca.root.der)],
        other_certs=[asn1_x509.Certificate.load(ca.intermediate.der)],
        crls=[ca.crl(), ca.crl("root")],
        allow_fetching=False,
    )


def _pyhanko_statuses(path: Path, ca: DevelopmentCA) -> list[PdfSignatureStatus]:
    with path.open("rb") as fh:
        reader = PdfFileReader(fh)
        return [
            validate_pdf_signature(sig, _context(ca)) for sig in reader.embedded_regular_signatures
        ]


@pytest.mark.parametrize("level", list(PAdESLevel), ids=lambda lv: lv.value)
def test_pdfsig_finds_the_signature_valid_and_trusted(
    signed: dict[PAdESLevel, Path], nssdb: str, level: PAdESLevel
) -> None:
    signature = _pdfsig(nssdb, signed[level])[0]
    assert "Signature is Valid." in signature
    assert "Certificate is Trusted." in signature
    assert "ETSI.CAdES.detached" in signature


@pytest.mark.parametrize("level", [PAdESLevel.B_B, PAdESLevel.B_T], ids=lambda lv: lv.value)
def test_pdfsig_sees_the_whole_document_signed(
    signed: dict[PAdESLevel, Path], nssdb: str, level: PAdESLevel
) -> None:
    assert "Total document signed" in _pdfsig(nssdb, signed[level])[-1]


def test_pdfsig_sees_the_b_lta_document_timestamp_cover_the_whole_file(
    signed: dict[PAdESLevel, Path], nssdb: str
) -> None:
    blocks = _pdfsig(nssdb, signed[PAdESLevel.B_LTA])
    assert len(blocks) == 2
    assert "Timestamping Authority" in blocks[1]
    assert "Total document signed" in blocks[1]


@pytest.mark.parametrize("level", list(PAdESLevel), ids=lambda lv: lv.value)
def test_qpdf_finds_no_error(signed: dict[PAdESLevel, Path], level: PAdESLevel) -> None:
    qpdf_check(signed[level])


@pytest.mark.parametrize(
    "level", [PAdESLevel.B_B, PAdESLevel.B_T, PAdESLevel.B_LT], ids=lambda lv: lv.value
)
def test_pyhanko_accepts_the_signature(
    signed: dict[PAdESLevel, Path], ca: DevelopmentCA, level: PAdESLevel
) -> None:
    (status,) = _pyhanko_statuses(signed[level], ca)
    assert status.bottom_line, status.pretty_print_details()
    assert status.signer_reported_dt == WHEN


def test_pyhanko_validates_the_b_t_signature_timestamp(
    signed: dict[PAdESLevel, Path], ca: DevelopmentCA
) -> None:
    (status,) = _pyhanko_statuses(signed[PAdESLevel.B_T], ca)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.valid
    assert status.timestamp_validity.trusted


def test_pyhanko_validates_the_b_lta_document_timestamp(
    signed: dict[PAdESLevel, Path], ca: DevelopmentCA
) -> None:
    with signed[PAdESLevel.B_LTA].open("rb") as fh:
        reader = PdfFileReader(fh)
        stamp = reader.embedded_timestamp_signatures[-1]
        status = validate_pdf_timestamp(stamp, validation_context=_context(ca))
    assert status.valid
    assert status.trusted
    assert status.coverage.name == "ENTIRE_FILE"


def test_pyhanko_lta_validation_passes_on_embedded_data_only(
    signed: dict[PAdESLevel, Path], ca: DevelopmentCA
) -> None:
    root = asn1_x509.Certificate.load(ca.root.der)
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([root]),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    with signed[PAdESLevel.B_LTA].open("rb") as fh:
        reader = PdfFileReader(fh)
        result = asyncio.run(ades_lta_validation(reader.embedded_regular_signatures[0], spec))
    assert result.ades_subindic.status.name == "PASSED", result.failure_msg
    assert result.oldest_evidence_record_timestamp is not None


def test_pdfsig_keeps_all_three_signatures_of_a_sequence_valid(sequence: Path, nssdb: str) -> None:
    blocks = _pdfsig(nssdb, sequence)
    assert [b.split("Field Name: ")[1].split("\n")[0] for b in blocks] == [
        "AgencySeal",
        "Citizen",
        "Officer",
    ]
    for block in blocks:
        assert "Signature is Valid." in block
        assert "Certificate is Trusted." in block
    assert "Total document signed" in blocks[-1]


def test_pyhanko_keeps_all_three_signatures_of_a_sequence_valid(
    sequence: Path, ca: DevelopmentCA
) -> None:
    statuses = _pyhanko_statuses(sequence, ca)
    assert len(statuses) == 3
    for status in statuses:
        assert status.bottom_line, status.pretty_print_details()
    assert statuses[0].docmdp_ok


def test_qpdf_finds_no_error_in_a_sequence(sequence: Path) -> None:
    qpdf_check(sequence)
