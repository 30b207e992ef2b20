"""Every reason an opened dossier is refused carries a code a program can act on."""

from __future__ import annotations

import io

import attrs
import pytest
from fpdf import FPDF

from formhelpers import TODAY, birth_procedure, birth_submission
from huesign.forms import DossierRefusal, OpenedDossier, RefusalReason
from huesign.forms.dossier import Dossier, open_dossier, sign_dossier
from huesign.forms.render import SUBMISSION_FILE_NAME, render_submission
from huesign.pki import (
    DevelopmentCA,
    KeyAlgorithm,
    KeySigner,
    RevocationSource,
    TrustStore,
)
from huesign.pki.pades import sign_pdf
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfverify import PDFValidationReport
from huesign.pki.pdfwriter import IncrementalWriter


@pytest.fixture(scope="module")
def dossier(signer: KeySigner) -> Dossier:
    return sign_dossier(birth_submission(), birth_procedure(), signer, today=TODAY)


@pytest.fixture(scope="module")
def signed_without_data(signer: KeySigner) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "A form without data")
    signed = sign_pdf(bytes(pdf.output()), signer)
    assert signed is not None
    return signed


def _append_data(pdf: bytes, data: bytes) -> bytes:
    with PDFReader(io.BytesIO(pdf)) as reader:
        writer = IncrementalWriter(reader)
        stream = writer.add(PDFStream(PDFDict({"Type": Name("EmbeddedFile")}), data))
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
        root = reader.root_ref
        writer.update(root, writer.get_dict(root).updated(Names=PDFDict({"EmbeddedFiles": tree})))
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


def _codes(opened: OpenedDossier) -> set[DossierRefusal]:
    return {r.code for r in opened.refusals}


def test_an_accepted_dossier_has_no_refusals(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = open_dossier(dossier.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.accepted
    assert opened.refusals == ()


def test_a_signed_pdf_without_data_is_refused_for_no_submission_data(
    signed_without_data: bytes, trust: TrustStore, revocation: RevocationSource
) -> None:
    opened = open_dossier(signed_without_data, trust=trust, revocation=revocation)
    assert opened.report.passed
    assert _codes(opened) == {DossierRefusal.NO_SUBMISSION_DATA}
    assert opened.refused_for(DossierRefusal.NO_SUBMISSION_DATA)


def test_data_embedded_after_the_signature_is_not_covered_rather_than_absent(
    signed_without_data: bytes,
    dossier: Dossier,
    trust: TrustStore,
    revocation: RevocationSource,
) -> None:
    late = _append_data(signed_without_data, dossier.submission.canonical_json())
    opened = open_dossier(late, trust=trust, revocation=revocation)
    assert DossierRefusal.DATA_NOT_COVERED in _codes(opened)
    assert not opened.refused_for(DossierRefusal.NO_SUBMISSION_DATA)


def test_a_second_data_tree_after_signing_is_refused_as_not_covered(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    tampered = _append_data(dossier.pdf, b'{"forged": true}')
    opened = open_dossier(tampered, trust=trust, revocation=revocation, today=TODAY)
    assert opened.refused_for(DossierRefusal.DATA_NOT_COVERED)
    assert opened.submission is None


def test_an_unsigned_form_is_refused_as_not_signed(
    trust: TrustStore, revocation: RevocationSource
) -> None:
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    opened = open_dossier(rendered.pdf, trust=trust, revocation=revocation, today=TODAY)
    assert opened.refusals[0] == RefusalReason(
        DossierRefusal.NOT_SIGNED, "the document is not signed"
    )


def test_an_untrusted_signature_is_refused_as_signature_failed(
    dossier: Dossier, revocation: RevocationSource
) -> None:
    other = DevelopmentCA.create(name="Other", key_algorithm=KeyAlgorithm.EC_P256)
    opened = open_dossier(
        dossier.pdf,
        trust=TrustStore.from_certificates([other.root]),
        revocation=revocation,
        today=TODAY,
    )
    assert _codes(opened) == {DossierRefusal.SIGNATURE_FAILED}


def test_data_for_another_version_is_refused_as_wrong_procedure(
    dossier: Dossier, trust: TrustStore, revocation: RevocationSource
) -> None:
    newer = attrs.evolve(birth_procedure(), version="2099.1")
    opened = open_dossier(
        dossier.pdf, trust=trust, revocation=revocation, today=TODAY, procedure=newer
    )
    assert _codes(opened) == {DossierRefusal.WRONG_PROCEDURE}


def test_signed_data_that_is_not_a_submission_is_refused_as_data_invalid(
    signer: KeySigner, trust: TrustStore, revocation: RevocationSource
) -> None:
    rendered = render_submission(birth_submission(), birth_procedure(), today=TODAY)
    signed = sign_pdf(_append_data(rendered.pdf, b"not a submission"), signer)
    assert signed is not None
    opened = open_dossier(signed, trust=trust, revocation=revocation, today=TODAY)
    assert opened.report.passed
    assert _codes(opened) == {DossierRefusal.DATA_INVALID}


@pytest.mark.parametrize("data", [b"", b"not a pdf"])
def test_garbage_is_refused_as_malformed(data: bytes, trust: TrustStore) -> None:
    opened = open_dossier(data, trust=trust)
    assert DossierRefusal.MALFORMED in _codes(opened)


def test_refusal_messages_are_the_reasons_in_order(
    dossier: Dossier, revocation: RevocationSource
) -> None:
    other = DevelopmentCA.create(name="Other", key_algorithm=KeyAlgorithm.EC_P256)
    tampered = _append_data(dossier.pdf, b"{}")
    opened = open_dossier(
        tampered, trust=TrustStore.from_certificates([other.root]), revocation=revocation
    )
    assert len(opened.reasons) >= 2
    assert tuple(r.message for r in opened.refusals) == opened.reasons


def test_refusals_that_disagree_with_the_reasons_are_rejected() -> None:
    with pytest.raises(ValueError, match="same messages"):
        OpenedDossier(
            accepted=False,
            reasons=("one",),
            refusals=(RefusalReason(DossierRefusal.MALFORMED, "another"),),
            report=PDFValidationReport(signatures=()),
        )
