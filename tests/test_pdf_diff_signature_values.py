"""A signature added after signing counts only with a signature dictionary of its own.

A new field or widget must bring a signature (or document timestamp) dictionary written in
its revision that signs that revision; one that shows an earlier signature's dictionary, or a
copy of it, is not a signature.  A new document-timestamp field is a DOC_TIMESTAMP change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huesign.pki import (
    DevelopmentCA,
    DocMDPPermission,
    IssuedCertificate,
    ModificationPolicy,
    PDFValidationReport,
    SubIndication,
    verify_pdf,
)
from huesign.pki.pdfdiff import ChangeKind, ModificationSummary, analyse_modifications
from huesign.pki.pdffields import find_signatures
from huesign.pki.pdfobjects import Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter
from padeshelpers import (
    add_signature_widget,
    add_validation_data,
    crls_of,
    doc_timestamp,
    make_pdf,
    sign,
    trust_of,
    update,
    validation_data,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("diff-values")


@pytest.fixture(scope="module")
def signed(work: Path, citizen: IssuedCertificate) -> Path:
    return sign(make_pdf(work / "plain.pdf"), work / "signed.pdf", citizen)


def _changes(path: Path, revision: int = 1) -> ModificationSummary:
    with PDFReader(path) as reader:
        return analyse_modifications(reader, revision)


def _existing_value(reader: PDFReader) -> Ref:
    ref = find_signatures(reader)[0].ref
    assert ref is not None
    return ref


def test_new_widget_showing_the_existing_signature_dictionary_is_not_a_signature(
    signed: Path, work: Path
) -> None:
    out = update(
        signed,
        work / "reuse.pdf",
        lambda r, w: add_signature_widget(r, w, name="Copy", value=_existing_value(r)),
    )
    summary = _changes(out)
    assert ChangeKind.SIGNATURE not in summary.kinds
    assert ChangeKind.FORBIDDEN in summary.kinds
    assert "a field showing an earlier signature was added" in {c.reason for c in summary.changes}


def test_new_widget_showing_a_copy_of_the_signature_dictionary_is_not_a_signature(
    signed: Path, work: Path
) -> None:
    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        copy = writer.add(reader.get_dict(_existing_value(reader)))
        add_signature_widget(reader, writer, name="Copy", value=copy)

    summary = _changes(update(signed, work / "copy.pdf", edit))
    assert ChangeKind.SIGNATURE not in {c.kind for c in summary.changes if c.ref is not None}
    assert summary.kinds & {ChangeKind.FORBIDDEN, ChangeKind.ANNOTATION}


def test_the_original_signature_fails_once_a_copy_of_its_value_is_shown_elsewhere(
    huesign_pki: DevelopmentCA, signed: Path, work: Path
) -> None:
    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        copy = writer.add(reader.get_dict(_existing_value(reader)))
        add_signature_widget(reader, writer, name="Copy", value=copy)

    out = update(signed, work / "copy-verify.pdf", edit)
    report: PDFValidationReport = verify_pdf(
        out, trust=trust_of(huesign_pki), revocation=crls_of(huesign_pki)
    )
    original = report.signatures[0]
    assert original.pdf is not None
    assert original.pdf.field_name == "Signature1"
    assert original.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "forbidden_modification" in {e.code for e in original.errors}


def test_a_later_signature_is_still_a_signature_change(
    signed: Path, work: Path, officer: IssuedCertificate
) -> None:
    second = sign(signed, work / "second.pdf", officer, field="CanBo")
    summary = _changes(second)
    assert summary.kinds == {ChangeKind.SIGNATURE}


def test_a_later_visible_signature_is_still_a_signature_change(
    signed: Path, work: Path, officer: IssuedCertificate
) -> None:
    second = sign(signed, work / "visible.pdf", officer, field="Hien", rect=(50, 50, 250, 110))
    assert _changes(second).kinds == {ChangeKind.SIGNATURE}


def test_a_new_document_timestamp_field_is_a_doc_timestamp_change(
    huesign_pki: DevelopmentCA, signed: Path, work: Path
) -> None:
    stamped = doc_timestamp(signed, work / "stamped.pdf", huesign_pki)
    summary = _changes(stamped)
    assert summary.kinds == {ChangeKind.DOC_TIMESTAMP}
    assert "timestamp field added to the form" in {c.reason for c in summary.changes}


def test_document_timestamp_after_a_no_changes_certification_passes(
    huesign_pki: DevelopmentCA, work: Path, citizen: IssuedCertificate
) -> None:
    certified = sign(
        make_pdf(work / "cert-plain.pdf"),
        work / "certified.pdf",
        citizen,
        certify=DocMDPPermission.NO_CHANGES,
    )
    lt = add_validation_data(
        certified, work / "certified-lt.pdf", validation_data(huesign_pki, [citizen.certificate])
    )
    stamped = doc_timestamp(lt, work / "certified-ts.pdf", huesign_pki)
    report = verify_pdf(
        stamped,
        trust=trust_of(huesign_pki),
        revocation=crls_of(huesign_pki),
        modifications=ModificationPolicy.STRICT,
    )
    assert report.passed, report.summary("en")
    details = report.signatures[0].pdf
    assert details is not None
    assert ChangeKind.DOC_TIMESTAMP in {m.kind for m in details.modifications}
    assert ChangeKind.SIGNATURE not in {m.kind for m in details.modifications}
