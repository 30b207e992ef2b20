"""PDFs signed by others validate with verify_pdf; a PDF changed after signing never does.

pyHanko is a peer implementation: what it signs (approval signatures with and without a
timestamp, certification signatures, countersignatures over huesign's) must pass.
huesign's own ``sign_pdf`` is checked at every level.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    ModificationPolicy,
    PDFValidationReport,
    SignatureLevel,
    SubIndication,
    verify_pdf,
)
from huesign.pki.pades import PAdESLevel, sign_pdf
from huesign.pki.pdffields import Coverage, page_refs
from huesign.pki.pdfobjects import Ref
from huesign.pki.pdfreader import PDFReader
from padeshelpers import OFFLINE, append_raw, crls_of, make_pdf, sign, signer_of, trust_of


def _pyhanko_signer(who: IssuedCertificate) -> signers.SimpleSigner:
    cert = asn1_x509.Certificate.load(who.certificate.der)
    chain = [asn1_x509.Certificate.load(c.der) for c in who.chain]
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(who.key.to_der()),
        cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),
    )


def _pyhanko_sign(
    src: Path,
    out: Path,
    who: IssuedCertificate,
    *,
    field: str = "Signature1",
    tsa_url: str | None = None,
    certify: bool = False,
) -> Path:
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    )
    timestamper = HTTPTimeStamper(tsa_url) if tsa_url else None
    with src.open("rb") as inp, out.open("wb") as dst:
        signers.sign_pdf(
            IncrementalPdfFileWriter(inp, strict=False),
            meta,
            signer=_pyhanko_signer(who),
            timestamper=timestamper,
            output=dst,
        )
    return out


def _verify(ca: DevelopmentCA, path: Path, **kw: object) -> PDFValidationReport:
    return verify_pdf(
        path,
        trust=trust_of(ca),
        policy=OFFLINE,
        revocation=crls_of(ca),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("interop") / "plain.pdf", pages=2)


# --- pyHanko ---------------------------------------------------------------------------------


def test_pyhanko_approval_signature_passes(
    huesign_pki: DevelopmentCA, plain: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    out = _pyhanko_sign(plain, tmp_path / "ph.pdf", citizen)
    report = _verify(huesign_pki, out)
    assert report.passed
    sig = report.signatures[0]
    assert sig.signer == citizen.certificate.identity
    assert sig.pdf is not None
    assert sig.pdf.coverage is Coverage.WHOLE_FILE


def test_pyhanko_timestamped_signature_reaches_b_t(
    pki_services: DevelopmentCA, plain: Path, tmp_path: Path
) -> None:
    identity = CitizenIdentity(
        common_name="Hoàng Thị Mai", identifiers=(Identifier.cccd("046196003333"),), country="VN"
    )
    who = pki_services.issue(identity)
    out = _pyhanko_sign(plain, tmp_path / "ph-t.pdf", who, tsa_url=pki_services.tsa_url)
    (sig,) = _verify(pki_services, out).signatures
    assert sig.passed
    assert sig.level is SignatureLevel.B_T
    assert sig.proven_signing_time is not None


def test_pyhanko_certification_signature_passes_with_its_docmdp_level(
    huesign_pki: DevelopmentCA, plain: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    out = _pyhanko_sign(plain, tmp_path / "ph-c.pdf", citizen, certify=True)
    (sig,) = _verify(huesign_pki, out).signatures
    assert sig.passed
    assert sig.pdf is not None
    assert sig.pdf.certification
    assert sig.pdf.docmdp == 2


def test_pyhanko_countersignature_keeps_huesign_signature_valid(
    huesign_pki: DevelopmentCA,
    plain: Path,
    citizen: IssuedCertificate,
    officer: IssuedCertificate,
    tmp_path: Path,
) -> None:
    ours = sign(plain, tmp_path / "ours.pdf", citizen)
    both = _pyhanko_sign(ours, tmp_path / "both.pdf", officer, field="CanBo")
    report = _verify(huesign_pki, both)
    assert report.passed
    first = report.signatures[0]
    assert "metadata_modification" in {w.code for w in first.warnings}


# --- huesign's own signer -----------------------------------------------------------------------


@pytest.mark.parametrize("level", list(PAdESLevel), ids=lambda lv: lv.value)
def test_sign_pdf_output_validates_at_every_level(
    huesign_pki: DevelopmentCA,
    plain: Path,
    citizen: IssuedCertificate,
    tmp_path: Path,
    level: PAdESLevel,
) -> None:
    out = tmp_path / "signed.pdf"
    sign_pdf(
        plain,
        signer_of(citizen),
        output=out,
        level=level,
        timestamp=None if level is PAdESLevel.B_B else huesign_pki,
        revocation=crls_of(huesign_pki),
        trust=trust_of(huesign_pki),
    )
    report = _verify(huesign_pki, out)
    assert report.passed, report.summary("en")
    assert report.signatures[0].level is not None
    assert report.signatures[0].level.value == level.value


# --- never valid after a change ---------------------------------------------------------------


def test_page_content_replaced_after_signing_is_never_valid(
    huesign_pki: DevelopmentCA, plain: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    signed = _pyhanko_sign(plain, tmp_path / "ph.pdf", citizen)
    with PDFReader(signed) as reader:
        contents = reader.get_dict(page_refs(reader)[1])["Contents"]
    assert isinstance(contents, Ref)
    text = b"BT /F1 12 Tf 10 780 Td (Noi dung da bi thay) Tj ET"
    changed = append_raw(
        signed,
        tmp_path / "changed.pdf",
        {contents.num: b"<</Length %d>>stream\n%s\nendstream" % (len(text), text)},
    )
    for mode in ModificationPolicy:
        report = _verify(huesign_pki, changed, modifications=mode)
        assert not report.passed
        assert report.signatures[0].sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
