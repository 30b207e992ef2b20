"""Signed dossiers: sign in one pass, open back, refuse data that no signature covers."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import attrs
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from formhelpers import (
    CERTIFICATE_BYTES,
    TODAY,
    birth_procedure,
    birth_submission,
)
from huesign.errors import DossierRefusedError, FormValidationError
from huesign.forms import Submission
from huesign.forms.dossier import (
    Dossier,
    open_dossier,
    sign_dossier,
    sign_dossier_async,
)
from huesign.forms.render import (
    CITIZEN_SIGNATURE_FIELD,
    OFFICER_SIGNATURE_FIELD,
    SUBMISSION_FILE_NAME,
    render_submission,
)
from huesign.pki import (
    DevelopmentCA,
    IssuedCertificate,
    KeyAlgorithm,
    KeySigner,
    RevocationSource,
    TrustStore,
    as_async_signer,
)
from huesign.pki.pades import sign_pdf
from huesign.pki.pdffields import find_signatures, iter_fields
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter
from huesign.pki.stamp import FieldPlacement, StampAppearance
from judges import nss_db, pdfsig


@pytest.fixture(scope="module")
def dossier(signer: KeySigner) -> Dossier:
    return sign_dossier(
        birth_submission(),
        birth_procedure(),
        signer,
        attachments={"att-1": CERTIFICATE_BYTES},
        today=TODAY,
    )


def test_a_signed_dossier_opens_back_to_the_same_submission(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = open_dossier(dossier.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.reasons == ()
    assert opened.accepted
    assert opened.submission == dossier.submission
    assert opened.submission == birth_submission().validate(birth_procedure(), today=TODAY)
    assert opened.sha256 == dossier.sha256


def test_require_gives_the_submission_of_an_accepted_dossier(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = open_dossier(dossier.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.require() == dossier.submission


def test_signing_fills_the_field_reserved_at_render_time(dossier: Dossier) -> None:
    with PDFReader(io.BytesIO(dossier.pdf)) as reader:
        signatures = find_signatures(reader)
        sig_fields = [f.name for f in iter_fields(reader) if f.field_type == "Sig"]
        revisions = len(reader.revisions)
    assert [s.field_name for s in signatures] == [CITIZEN_SIGNATURE_FIELD]
    assert sig_fields == [CITIZEN_SIGNATURE_FIELD]
    assert revisions == 2  # the rendered form, then the signature


def test_the_signer_is_reported(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = open_dossier(dossier.pdf, trust=trust, revocation=revocation, today=TODAY)
    (report,) = opened.report.signatures
    assert report.signer is not None
    assert report.signer.common_name == "Nguyễn Thị Hương Giang"


def test_pdfsig_accepts_the_signature_over_the_whole_document(
    dossier: Dossier, huesign_pki: DevelopmentCA, tmp_path: Path
) -> None:
    nss = tmp_path / "nss"
    nss.mkdir()
    pdf = tmp_path / "dossier.pdf"
    pdf.write_bytes(dossier.pdf)
    result = pdfsig(pdf, nss_db(nss, huesign_pki.root.to_pem()))
    assert "Signature is Valid." in result.stdout
    assert "Total document signed" in result.stdout
    assert f"Signature Field Name: {CITIZEN_SIGNATURE_FIELD}" in result.stdout


def _embedded_stream_ref(pdf: bytes) -> tuple[Ref, PDFStream]:
    with PDFReader(io.BytesIO(pdf)) as reader:
        names = reader.get_dict(reader.root["Names"])
        tree = reader.get_dict(names["EmbeddedFiles"])
        pairs = reader.resolve(tree["Names"])
        assert isinstance(pairs, tuple)
        ef = reader.get_dict(reader.get_dict(pairs[1])["EF"])
        ref = ef["F"]
        assert isinstance(ref, Ref)
        stream = reader.get(ref)
        assert isinstance(stream, PDFStream)
        return ref, stream


def _append(pdf: bytes, change: object) -> bytes:
    buffer = io.BytesIO(pdf)
    with PDFReader(buffer) as reader:
        writer = IncrementalWriter(reader)
        change(writer)  # type: ignore[operator]
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


def _forged_data(dossier: Dossier) -> bytes:
    values = dict(dossier.submission.values)
    values["child"] = {**values["child"], "full_name": "Người Khác"}  # type: ignore[dict-item]
    return attrs.evolve(dossier.submission, values=values).canonical_json()


def test_replacing_the_embedded_data_after_signing_is_refused(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    ref, stream = _embedded_stream_ref(dossier.pdf)
    forged = _forged_data(dossier)
    params = PDFDict({"Size": len(forged)})
    new_dict = stream.dictionary.updated(Params=params)
    new_dict = PDFDict({k: v for k, v in new_dict.items() if k not in ("Filter", "Length")})
    tampered = _append(dossier.pdf, lambda w: w.update(ref, PDFStream(new_dict, forged)))
    opened = open_dossier(tampered, trust=trust, revocation=revocation, today=TODAY)
    assert not opened.accepted
    assert opened.submission is None
    assert any("rewrites object" in r for r in opened.reasons)


def test_a_new_embedded_file_tree_after_signing_is_refused(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    forged = _forged_data(dossier)

    def replace_tree(writer: IncrementalWriter) -> None:
        stream = writer.add(PDFStream(PDFDict({"Type": Name("EmbeddedFile")}), forged))
        spec = writer.add(
            PDFDict(
                {
                    "Type": Name("Filespec"),
                    "F": PDFString.from_text(SUBMISSION_FILE_NAME),
                    "EF": PDFDict({"F": stream}),
                }
            )
        )
        tree = PDFDict({"Names": (PDFString.from_text(SUBMISSION_FILE_NAME), spec)})
        root = writer.reader.root_ref
        catalog = writer.get_dict(root)
        writer.update(root, catalog.updated(Names=PDFDict({"EmbeddedFiles": tree})))

    tampered = _append(dossier.pdf, replace_tree)
    opened = open_dossier(tampered, trust=trust, revocation=revocation, today=TODAY)
    assert not opened.accepted
    assert any("/Names" in r for r in opened.reasons)


def test_an_unsigned_form_is_refused(trust: TrustStore, revocation: RevocationSource) -> None:
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    opened = open_dossier(rendered.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert not opened.accepted
    assert "the document is not signed" in opened.reasons
    with pytest.raises(DossierRefusedError) as caught:
        opened.require()
    assert caught.value.reasons == opened.reasons


def test_a_signature_from_an_untrusted_ca_is_refused(
    dossier: Dossier, revocation: RevocationSource
) -> None:
    other = DevelopmentCA.create(name="Other", key_algorithm=KeyAlgorithm.EC_P256)
    opened = open_dossier(
        dossier.pdf,
        trust=TrustStore.from_certificates([other.root]),
        revocation=revocation,
        today=TODAY,
    )
    assert not opened.accepted
    assert opened.reasons[0].startswith("signature 1 did not pass")


def test_data_for_another_procedure_version_is_refused(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    newer = attrs.evolve(birth_procedure(), version="2099.1")
    opened = open_dossier(
        dossier.pdf, trust=trust, revocation=revocation, today=TODAY, procedure=newer
    )
    assert not opened.accepted
    assert "version 2025.1" in opened.reasons[0]


def test_the_signing_day_is_the_default_day_for_date_rules(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    # The child was born in February 2026: a validation "today" before that would fail,
    # so opening without today= uses the day the signature was made (now, after 2026).
    opened = open_dossier(dossier.pdf, trust=trust, revocation=revocation)
    assert opened.accepted


def test_an_invalid_submission_is_not_signed(signer: KeySigner) -> None:
    broken = Submission.for_procedure(birth_procedure(), {"applicant_relation": "nobody"})
    with pytest.raises(FormValidationError):
        sign_dossier(broken, birth_procedure(), signer, today=TODAY)


def test_attachment_bytes_must_match_their_metadata(signer: KeySigner) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        sign_dossier(
            birth_submission(),
            birth_procedure(),
            signer,
            attachments={"att-1": b"X" * len(CERTIFICATE_BYTES)},
            today=TODAY,
        )
    with pytest.raises(ValueError, match="not declared"):
        sign_dossier(
            birth_submission(), birth_procedure(), signer, attachments={"x": b""}, today=TODAY
        )


def test_the_async_twin_signs_with_an_async_signer(
    signer: KeySigner, trust: TrustStore, revocation: RevocationSource
) -> None:
    signed = asyncio.run(
        sign_dossier_async(
            birth_submission(), birth_procedure(), as_async_signer(signer), today=TODAY
        )
    )
    opened = open_dossier(signed.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.accepted
    assert opened.submission == signed.submission


def test_the_signature_reason_names_the_procedure(dossier: Dossier) -> None:
    with PDFReader(io.BytesIO(dossier.pdf)) as reader:
        (signature,) = find_signatures(reader)
    reason = signature.dictionary.get("Reason")
    assert isinstance(reason, PDFString)
    assert reason.text() == "Ký tờ khai: Đăng ký khai sinh (1.001193)"


def test_pyhanko_reads_the_same_embedded_data(dossier: Dossier) -> None:
    reader = PdfFileReader(io.BytesIO(dossier.pdf))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert str(names[0]) == SUBMISSION_FILE_NAME
    data = names[1]["/EF"]["/F"].data
    assert data == dossier.submission.canonical_json()


def test_signing_time_is_the_claimed_time(signer: KeySigner) -> None:
    when = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    signed = sign_dossier(
        birth_submission(), birth_procedure(), signer, today=TODAY, signing_time=when
    )
    with PDFReader(io.BytesIO(signed.pdf)) as reader:
        (signature,) = find_signatures(reader)
    assert signature.dictionary.get("M") == PDFString(b"D:20260301020000+00'00'")


def test_a_visible_stamp_fills_the_reserved_box(
    signer: KeySigner, trust: TrustStore, revocation: RevocationSource
) -> None:
    stamp = StampAppearance(placement=FieldPlacement(name=CITIZEN_SIGNATURE_FIELD))
    signed = sign_dossier(
        birth_submission(), birth_procedure(), signer, today=TODAY, appearance=stamp
    )
    box = render_submission(birth_submission(), birth_procedure(), today=TODAY).box(
        CITIZEN_SIGNATURE_FIELD
    )
    assert box is not None
    with PDFReader(io.BytesIO(signed.pdf)) as reader:
        (signature,) = find_signatures(reader)
        widget = reader.get_dict(signature.field_ref)
        assert "AP" in widget
        rect = widget["Rect"]
    assert isinstance(rect, tuple)
    assert tuple(round(float(v), 1) for v in rect) == tuple(round(v, 1) for v in box.rect)
    opened = open_dossier(signed.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.accepted


@pytest.mark.parametrize("data", [b"", b"not a pdf", b"%PDF-1.7\n%%EOF\n"])
def test_garbage_is_refused_not_raised(data: bytes, trust: TrustStore) -> None:
    opened = open_dossier(data, trust=trust)
    assert not opened.accepted
    assert opened.reasons


def test_the_officer_countersigns_the_reserved_field_and_the_data_stays_covered(
    signer: KeySigner,
    officer: IssuedCertificate,
    trust: TrustStore,
    revocation: RevocationSource,
) -> None:
    procedure = attrs.evolve(birth_procedure(), officer_signature=True)
    signed = sign_dossier(birth_submission(), procedure, signer, today=TODAY)
    officer_signer = KeySigner(
        key=officer.key, certificate=officer.certificate, chain=officer.chain
    )
    both = sign_pdf(signed.pdf, officer_signer, field=OFFICER_SIGNATURE_FIELD)
    assert both is not None
    opened = open_dossier(
        both, trust=trust, revocation=revocation, procedure=procedure, today=TODAY
    )
    assert opened.reasons == ()
    assert [r.pdf.field_name for r in opened.report.signatures if r.pdf] == [
        CITIZEN_SIGNATURE_FIELD,
        OFFICER_SIGNATURE_FIELD,
    ]
    assert opened.signed_revision == 1
