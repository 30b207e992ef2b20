"""PAdES levels: B-T timestamps, B-LT document security stores, B-LTA and extend_pdf."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.x509 import ocsp
from fpdf import FPDF

from huesign.errors import RevocationFetchError, SigningError
from huesign.pki import (
    Certificate,
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    HTTPFetcher,
    Identifier,
    IssuedCertificate,
    KeySigner,
    PAdESLevel,
    RevocationData,
    RevocationSource,
    TrustStore,
    extend_pdf,
    extend_pdf_async,
    sign_pdf,
    verify_pdf,
)
from huesign.pki._pades_ltv import trim_der
from huesign.pki.pdffields import Coverage, SignatureDictionary, SignatureKind, find_signatures
from huesign.pki.pdfobjects import PDFStream
from huesign.pki.pdfreader import PDFReader

_TIMESTAMP_ATTR = "1.2.840.113549.1.9.16.2.14"


@pytest.fixture(scope="module")
def form() -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="To khai dang ky tam tru")
    return bytes(pdf.output())


def _signer(issued: IssuedCertificate) -> KeySigner:
    return KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)


@pytest.fixture(scope="module")
def signer(citizen: IssuedCertificate) -> KeySigner:
    return _signer(citizen)


@pytest.fixture(scope="module")
def crls(huesign_pki: DevelopmentCA) -> RevocationSource:
    return RevocationSource(RevocationData(crls=(huesign_pki.crl(), huesign_pki.crl("root"))))


@pytest.fixture(scope="module")
def b_b(form: bytes, signer: KeySigner) -> bytes:
    out = sign_pdf(form, signer)
    assert out is not None
    return out


@pytest.fixture(scope="module")
def b_t(form: bytes, signer: KeySigner, huesign_pki: DevelopmentCA) -> bytes:
    out = sign_pdf(form, signer, level=PAdESLevel.B_T, timestamp=huesign_pki)
    assert out is not None
    return out


def _signatures(data: bytes) -> list[SignatureDictionary]:
    with PDFReader(io.BytesIO(data)) as reader:
        return find_signatures(reader)


def _signed_data(sig: SignatureDictionary) -> asn1_cms.SignedData:
    assert sig.contents is not None
    return asn1_cms.ContentInfo.load(trim_der(sig.contents))["content"]


def _dss(data: bytes) -> dict[str, list[bytes]]:
    with PDFReader(io.BytesIO(data)) as reader:
        dss = reader.get_dict(reader.root["DSS"])
        out: dict[str, list[bytes]] = {}
        for key in ("Certs", "OCSPs", "CRLs"):
            items = reader.resolve(dss.get(key)) or ()
            assert isinstance(items, tuple)
            streams = [reader.resolve(i) for i in items]
            out[key] = [reader.stream_data(s) for s in streams if isinstance(s, PDFStream)]
        return out


def _covered(cert: Certificate, dss: dict[str, list[bytes]]) -> bool:
    """Whether the DSS holds an OCSP response or a CRL for ``cert``."""
    for der in dss["OCSPs"]:
        response = ocsp.load_der_ocsp_response(der)
        if any(r.serial_number == cert.serial_number for r in response.responses):
            return True
    return any(x509.load_der_x509_crl(der).issuer == cert.issuer for der in dss["CRLs"])


def test_b_t_carries_a_timestamp_over_the_signature_value(b_t: bytes) -> None:
    (sig,) = _signatures(b_t)
    signer_info = _signed_data(sig)["signer_infos"][0]
    (attr,) = signer_info["unsigned_attrs"]
    assert attr["type"].dotted == _TIMESTAMP_ATTR
    token = attr["values"][0]
    tst = token["content"]["encap_content_info"]["content"].parsed
    assert isinstance(tst, asn1_tsp.TSTInfo)
    imprint = tst["message_imprint"]["hashed_message"].native
    assert imprint == hashlib.sha256(signer_info["signature"].native).digest()


def test_b_b_has_no_timestamp(b_b: bytes) -> None:
    (sig,) = _signatures(b_b)
    signer_info = _signed_data(sig)["signer_infos"][0]
    assert not signer_info["unsigned_attrs"]


def test_b_lt_dss_covers_the_signer_chain_and_the_tsa(
    form: bytes, signer: KeySigner, huesign_pki: DevelopmentCA, crls: RevocationSource
) -> None:
    out = sign_pdf(form, signer, level=PAdESLevel.B_LT, timestamp=huesign_pki, revocation=crls)
    assert out is not None
    dss = _dss(out)
    for cert in (signer.certificate, huesign_pki.intermediate, huesign_pki.tsa_certificate):
        assert _covered(cert, dss), cert.subject_text
        assert cert.der in dss["Certs"]
    assert huesign_pki.root.der in dss["Certs"]


def test_b_lt_keeps_the_signature_covering_its_revision(
    form: bytes, signer: KeySigner, huesign_pki: DevelopmentCA, crls: RevocationSource
) -> None:
    out = sign_pdf(form, signer, level=PAdESLevel.B_LT, timestamp=huesign_pki, revocation=crls)
    assert out is not None
    (sig,) = _signatures(out)
    assert sig.coverage is Coverage.WHOLE_REVISION


def test_b_lt_fetches_ocsp_and_crls_over_http_by_default(
    form: bytes, pki_services: DevelopmentCA
) -> None:
    issued = pki_services.issue(
        CitizenIdentity(common_name="Hồ Văn Bình", identifiers=(Identifier.cccd("046190005555"),)),
        profile=CertificateProfile.CITIZEN,
    )
    out = sign_pdf(form, _signer(issued), level=PAdESLevel.B_LT, timestamp=pki_services.tsa_url)
    assert out is not None
    dss = _dss(out)
    assert dss["OCSPs"], "the leaf's status should come from the OCSP responder"
    for cert in (issued.certificate, pki_services.intermediate, pki_services.tsa_certificate):
        assert _covered(cert, dss), cert.subject_text


def test_b_lt_with_an_explicit_fetcher_gets_the_same_coverage(
    form: bytes, pki_services: DevelopmentCA
) -> None:
    issued = pki_services.issue(
        CitizenIdentity(common_name="Phan Thị Lan", identifiers=(Identifier.cccd("046190006666"),)),
        profile=CertificateProfile.CITIZEN,
    )
    with HTTPFetcher() as fetcher:
        out = sign_pdf(
            form,
            _signer(issued),
            level=PAdESLevel.B_LT,
            timestamp=pki_services,
            revocation=RevocationSource(fetcher=fetcher, use_ocsp=False),
        )
    assert out is not None
    dss = _dss(out)
    assert not dss["OCSPs"]
    assert _covered(issued.certificate, dss)


def test_b_lta_ends_with_a_document_timestamp_over_the_whole_file(
    form: bytes, signer: KeySigner, huesign_pki: DevelopmentCA, crls: RevocationSource
) -> None:
    out = sign_pdf(form, signer, level=PAdESLevel.B_LTA, timestamp=huesign_pki, revocation=crls)
    assert out is not None
    _, stamp = _signatures(out)
    assert stamp.kind is SignatureKind.DOC_TIMESTAMP
    assert stamp.sub_filter == "ETSI.RFC3161"
    assert stamp.coverage is Coverage.WHOLE_FILE
    with PDFReader(io.BytesIO(out)) as reader:
        assert len(reader.revisions) == 4  # original, signature, DSS, document timestamp
        assert stamp.revision == 3


def test_a_revoked_signer_cannot_reach_b_lt_and_nothing_is_written(
    form: bytes, huesign_pki: DevelopmentCA, tmp_path: Path
) -> None:
    issued = huesign_pki.issue(
        CitizenIdentity(common_name="Võ Văn Tú", identifiers=(Identifier.cccd("046190007777"),)),
        profile=CertificateProfile.CITIZEN,
    )
    huesign_pki.revoke(issued.certificate, when=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    source = RevocationSource(RevocationData(crls=(huesign_pki.crl(), huesign_pki.crl("root"))))
    path = tmp_path / "form.pdf"
    path.write_bytes(form)
    with pytest.raises(SigningError, match="revoked"):
        sign_pdf(
            path,
            _signer(issued),
            output=path,
            level=PAdESLevel.B_LT,
            timestamp=huesign_pki,
            revocation=source,
        )
    assert path.read_bytes() == form


def test_b_lt_without_revocation_data_fails_clearly(
    form: bytes, signer: KeySigner, huesign_pki: DevelopmentCA
) -> None:
    with pytest.raises(RevocationFetchError, match="no revocation status"):
        sign_pdf(
            form,
            signer,
            level=PAdESLevel.B_LT,
            timestamp=huesign_pki,
            revocation=RevocationSource(),
        )


def test_extend_b_b_to_b_t_adds_a_document_timestamp(
    b_b: bytes, huesign_pki: DevelopmentCA
) -> None:
    out = extend_pdf(b_b, level=PAdESLevel.B_T, timestamp=huesign_pki)
    assert out is not None
    assert out.startswith(b_b)
    sig, stamp = _signatures(out)
    assert stamp.kind is SignatureKind.DOC_TIMESTAMP
    assert stamp.coverage is Coverage.WHOLE_FILE
    assert sig.coverage is Coverage.WHOLE_REVISION


def test_extend_to_b_t_leaves_a_timestamped_signature_alone(
    b_t: bytes, huesign_pki: DevelopmentCA
) -> None:
    assert extend_pdf(b_t, level=PAdESLevel.B_T, timestamp=huesign_pki) == b_t


def test_extend_b_t_to_b_lt_adds_only_a_dss(
    b_t: bytes, huesign_pki: DevelopmentCA, crls: RevocationSource
) -> None:
    out = extend_pdf(
        b_t,
        level=PAdESLevel.B_LT,
        timestamp=huesign_pki,
        revocation=crls,
        trust=TrustStore.from_certificates([huesign_pki.root]),
    )
    assert out is not None
    assert len(_signatures(out)) == 1
    dss = _dss(out)
    for cert in (huesign_pki.intermediate, huesign_pki.tsa_certificate):
        assert _covered(cert, dss)


def test_extend_b_b_to_b_lta_timestamps_then_stores_then_timestamps(
    b_b: bytes, huesign_pki: DevelopmentCA, crls: RevocationSource, tmp_path: Path
) -> None:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(b_b)
    result = extend_pdf(
        path,
        level=PAdESLevel.B_LTA,
        timestamp=huesign_pki,
        revocation=crls,
        trust=TrustStore.from_certificates([huesign_pki.root]),
        output=path,
    )
    assert result is None
    data = path.read_bytes()
    kinds = [s.kind for s in _signatures(data)]
    assert kinds == [
        SignatureKind.SIGNATURE,
        SignatureKind.DOC_TIMESTAMP,
        SignatureKind.DOC_TIMESTAMP,
    ]
    with PDFReader(io.BytesIO(data)) as reader:
        assert len(reader.revisions) == 5


def test_extend_needs_a_signature(form: bytes, huesign_pki: DevelopmentCA) -> None:
    with pytest.raises(ValueError, match="no signature"):
        extend_pdf(form, level=PAdESLevel.B_T, timestamp=huesign_pki)


def test_extend_to_b_b_is_refused(b_b: bytes) -> None:
    with pytest.raises(ValueError, match="not B-B"):
        extend_pdf(b_b, level=PAdESLevel.B_B)


@pytest.mark.parametrize("level", [PAdESLevel.B_LT, PAdESLevel.B_LTA], ids=lambda lv: lv.value)
def test_long_term_levels_verify_offline_from_their_own_dss(
    form: bytes,
    signer: KeySigner,
    huesign_pki: DevelopmentCA,
    crls: RevocationSource,
    level: PAdESLevel,
) -> None:
    out = sign_pdf(form, signer, level=level, timestamp=huesign_pki, revocation=crls)
    assert out is not None
    report = verify_pdf(out, trust=TrustStore.from_certificates([huesign_pki.root]))
    assert report.passed, report


def test_b_t_alone_needs_revocation_data_to_verify_offline(
    b_t: bytes, huesign_pki: DevelopmentCA
) -> None:
    report = verify_pdf(b_t, trust=TrustStore.from_certificates([huesign_pki.root]))
    assert not report.passed


def test_extend_pdf_async_adds_a_document_timestamp(b_b: bytes, huesign_pki: DevelopmentCA) -> None:
    class AsyncTSA:
        async def timestamp(self, imprint: bytes, **kwargs: object) -> bytes:
            return huesign_pki.timestamp(imprint)

    out = asyncio.run(extend_pdf_async(b_b, level=PAdESLevel.B_T, timestamp=AsyncTSA()))
    assert out is not None
    assert [s.kind for s in _signatures(out)] == [
        SignatureKind.SIGNATURE,
        SignatureKind.DOC_TIMESTAMP,
    ]
