"""The known PDF signature attacks, one sample per class: none may pass verification.

Classes after Mladenov et al. (2019) and Mainka et al. (2021): Universal Signature Forgery,
Incremental Saving Attack, Signature Wrapping, Shadow hide / replace / hide-and-replace,
Evil Annotation and Sneaky Signature.  Each sample starts from a document signed by a
trusted citizen; the verdict on that signature must not be TOTAL_PASSED.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from huesign.pki import (
    DevelopmentCA,
    Indication,
    IssuedCertificate,
    ModificationPolicy,
    PDFValidationReport,
    SubIndication,
    verify_pdf,
)
from huesign.pki.pdffields import page_refs
from huesign.pki.pdfobjects import Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import DocMDPPermission, SignatureSlot, prepare_signature
from padeshelpers import (
    OFFLINE,
    add_annotation,
    add_signature_widget,
    append_raw,
    crls_of,
    make_pdf,
    sign,
    trust_of,
    update,
)

_BYTE_RANGE = re.compile(rb"/ByteRange ?\[(\d+) (\d+) (\d+) (\d+) *\]")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("attacks")


@pytest.fixture(scope="module")
def plain(work: Path) -> Path:
    return make_pdf(work / "plain.pdf", text="So tien phai nop: 100.000 VND")


@pytest.fixture(scope="module")
def signed(work: Path, plain: Path, citizen: IssuedCertificate) -> Path:
    return sign(plain, work / "signed.pdf", citizen)


def _verify(ca: DevelopmentCA, path: Path, **kw: object) -> PDFValidationReport:
    return verify_pdf(
        path,
        trust=trust_of(ca),
        policy=OFFLINE,
        revocation=crls_of(ca),
        **kw,  # type: ignore[arg-type]
    )


def _only_signature(ca: DevelopmentCA, path: Path, **kw: object) -> tuple[Indication, str]:
    report = _verify(ca, path, **kw)
    assert not report.passed
    sig = report.signatures[0]
    assert sig.indication is not Indication.TOTAL_PASSED
    return sig.indication, sig.sub_indication.value if sig.sub_indication else ""


def _patch_last(src: Path, out: Path, old: bytes, new: bytes) -> Path:
    """Replace the last occurrence of ``old`` with ``new`` of the same length."""
    assert len(old) == len(new)
    data = src.read_bytes()
    at = data.rindex(old)
    out.write_bytes(data[:at] + new + data[at + len(old) :])
    return out


def _byte_range_text(path: Path) -> tuple[bytes, tuple[int, ...]]:
    match = list(_BYTE_RANGE.finditer(path.read_bytes()))[-1]
    return match.group(0), tuple(int(g) for g in match.groups())


def _same_width(template: bytes, numbers: tuple[int, ...]) -> bytes:
    text = b"/ByteRange [" + b" ".join(b"%d" % n for n in numbers)
    assert len(text) + 1 <= len(template)
    return text + b" " * (len(template) - len(text) - 1) + b"]"


# --- Universal Signature Forgery -------------------------------------------------------------


def test_usf_missing_byte_range_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    text, _ = _byte_range_text(signed)
    out = _patch_last(signed, tmp_path / "usf1.pdf", text[:11], b"/ByteRangX ")
    assert _only_signature(huesign_pki, out) == (Indication.TOTAL_FAILED, "FORMAT_FAILURE")


def test_usf_zero_byte_range_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    text, _ = _byte_range_text(signed)
    out = _patch_last(signed, tmp_path / "usf2.pdf", text, _same_width(text, (0, 0, 0, 0)))
    assert _only_signature(huesign_pki, out) == (Indication.TOTAL_FAILED, "FORMAT_FAILURE")


def test_usf_empty_contents_fails(huesign_pki: DevelopmentCA, plain: Path, tmp_path: Path) -> None:
    out = tmp_path / "usf3.pdf"
    with PDFReader(plain) as reader:
        prepare_signature(reader, SignatureSlot(contents_size=64), output=out)
    report = _verify(huesign_pki, out)
    assert report.signatures[0].sub_indication is SubIndication.FORMAT_FAILURE
    assert report.signatures[0].errors[0].code == "contents_empty"


# --- Incremental Saving Attack -----------------------------------------------------------------


def test_isa_content_appended_without_xref_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "isa1.pdf"
    out.write_bytes(
        signed.read_bytes()
        + b"\n99 0 obj\n<</Length 30>>stream\nBT /F1 40 Tf (PAID) Tj ET\nendstream\nendobj\n"
    )
    indication, sub = _only_signature(huesign_pki, out)
    assert (indication, sub) == (Indication.TOTAL_FAILED, "FORMAT_FAILURE")
    assert _verify(huesign_pki, out).signatures[0].errors[0].code == "byte_range_partial"


def _page_contents(path: Path) -> tuple[Ref, Ref]:
    with PDFReader(path) as reader:
        page = page_refs(reader)[0]
        contents = reader.get_dict(page)["Contents"]
    assert isinstance(contents, Ref)
    return page, contents


def test_isa_content_stream_replaced_with_new_xref_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    _, contents = _page_contents(signed)
    stream = b"BT /F1 12 Tf 10 780 Td (So tien phai nop: 1 VND) Tj ET"
    body = b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream)
    out = append_raw(signed, tmp_path / "isa2.pdf", {contents.num: body})
    report = _verify(huesign_pki, out)
    sig = report.signatures[0]
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "signed content was overridden" in sig.errors[-1].message_en


# --- Signature Wrapping ------------------------------------------------------------------------


def test_wrapping_with_moved_byte_range_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    text, (a, b, c, d) = _byte_range_text(signed)
    # Point the second range 100 bytes later, where an attacker would put the old signed
    # bytes, and grow the gap so that it hides new content.
    moved = _same_width(text, (a, b, c + 100, d - 100))
    out = _patch_last(signed, tmp_path / "sws1.pdf", text, moved)
    report = _verify(huesign_pki, out)
    assert report.signatures[0].sub_indication is SubIndication.FORMAT_FAILURE
    assert report.signatures[0].errors[0].code == "byte_range_malformed"


def test_wrapping_with_a_wider_contents_gap_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    text, (a, b, c, d) = _byte_range_text(signed)
    out = _patch_last(signed, tmp_path / "sws2.pdf", text, _same_width(text, (a, b - 40, c, d)))
    assert _only_signature(huesign_pki, out) == (Indication.TOTAL_FAILED, "FORMAT_FAILURE")


def test_tampered_signed_bytes_are_a_hash_failure(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    data = signed.read_bytes()
    out = tmp_path / "sws3.pdf"
    out.write_bytes(data[:5] + b"1.7" + data[8:])  # the header, inside the signed bytes
    assert _only_signature(huesign_pki, out) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


# --- Shadow attacks ----------------------------------------------------------------------------


def test_shadow_hide_by_changing_the_page_contents_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    """Hide: the page gets an overlay stream drawn over the signed content."""
    page, contents = _page_contents(signed)
    with PDFReader(signed) as reader:
        new = reader.next_object_number()
        page_dict = reader.get_dict(page)
    overlay = b"1 1 1 rg 0 0 600 800 re f"
    out = append_raw(
        signed,
        tmp_path / "hide.pdf",
        {
            new: b"<</Length %d>>stream\n%s\nendstream" % (len(overlay), overlay),
            page.num: b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]/Contents[%d 0 R %d 0 R]"
            b"/Resources %s>>"
            % (
                page_dict["Parent"].num,  # type: ignore[union-attr]
                contents.num,
                new,
                _serialized(page_dict["Resources"]),
            ),
        },
    )
    sig = _verify(huesign_pki, out).signatures[0]
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "page entries changed" in sig.errors[-1].message_en


def _serialized(obj: object) -> bytes:
    from huesign.pki.pdfobjects import serialize

    return serialize(obj)  # type: ignore[arg-type]


def test_shadow_replace_by_overriding_a_font_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    """Replace: an object of the signed revision (here the font) is overridden."""
    with PDFReader(signed) as reader:
        page = page_refs(reader)[0]
        resources = reader.resolve(reader.get_dict(page)["Resources"])
        fonts = reader.resolve(resources["Font"])  # type: ignore[index]
        font_ref = next(iter(fonts.values()))  # type: ignore[union-attr]
    assert isinstance(font_ref, Ref)
    out = append_raw(
        signed,
        tmp_path / "replace.pdf",
        {font_ref.num: b"<</Type/Font/Subtype/Type1/BaseFont/Symbol>>"},
    )
    sig = _verify(huesign_pki, out).signatures[0]
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def test_shadow_hide_and_replace_with_a_new_catalog_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    """Hide-and-replace: a later revision points the trailer at a whole new document."""
    with PDFReader(signed) as reader:
        n = reader.next_object_number()
        acroform = reader.root["AcroForm"]
    content = b"BT /F1 12 Tf 10 780 Td (Khong phai van ban da ky) Tj ET"
    out = append_raw(
        signed,
        tmp_path / "hide-replace.pdf",
        {
            n: b"<</Type/Catalog/Pages %d 0 R/AcroForm %s>>" % (n + 1, _serialized(acroform)),
            n + 1: b"<</Type/Pages/Kids[%d 0 R]/Count 1>>" % (n + 2),
            n + 2: b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]/Contents %d 0 R>>"
            % (n + 1, n + 3),
            n + 3: b"<</Length %d>>stream\n%s\nendstream" % (len(content), content),
        },
        trailer={"Root": b"%d 0 R" % n},
    )
    sig = _verify(huesign_pki, out).signatures[0]
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "different document catalog" in sig.errors[-1].message_en


# --- Evil Annotation and Sneaky Signature ------------------------------------------------------


def test_evil_annotation_fails_under_the_strict_policy(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    out = add_annotation(signed, tmp_path / "evil.pdf")
    sig = _verify(huesign_pki, out).signatures[0]
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "annotation added" in sig.errors[-1].message_en


def test_evil_stamp_annotation_fails_on_a_form_filling_certification(
    huesign_pki: DevelopmentCA, plain: Path, citizen: IssuedCertificate, tmp_path: Path
) -> None:
    certified = sign(plain, tmp_path / "c.pdf", citizen, certify=DocMDPPermission.FORM_FILLING)
    out = add_annotation(certified, tmp_path / "evil.pdf", subtype="Stamp")
    _only_signature(huesign_pki, out, modifications=ModificationPolicy.FORM_FILLING)


def test_sneaky_signature_without_a_value_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    """An unsigned, visible signature field whose appearance pretends to be a signature."""
    from huesign.pki.pdfwriter import IncrementalWriter

    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        add_signature_widget(
            reader,
            writer,
            name="Sneaky",
            drawing=b"1 1 1 rg 0 0 300 60 re f 0 g BT /Helv 10 Tf 5 40 Td (Signed: Director) Tj ET",
        )

    out = update(signed, tmp_path / "sneaky.pdf", edit)
    report = _verify(huesign_pki, out)
    assert len(report.signatures) == 1  # the sneaky field holds no signature
    sig = report.signatures[0]
    assert sig.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert "annotation added" in sig.errors[-1].message_en


def test_sneaky_signature_reusing_the_signature_value_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    """A new visible field whose /V points at the existing signature looks signed."""
    from huesign.pki.pdffields import find_signatures
    from huesign.pki.pdfwriter import IncrementalWriter

    def edit(reader: PDFReader, writer: IncrementalWriter) -> None:
        value = find_signatures(reader)[0].ref
        assert value is not None
        add_signature_widget(reader, writer, name="Copy", value=value)

    out = update(signed, tmp_path / "sneaky-copy.pdf", edit)
    report = _verify(huesign_pki, out)
    assert not report.passed
    assert all(s.sub_indication is not None for s in report.signatures)
    assert "shared_signature_value" in {e.code for e in report.signatures[0].errors}
