"""Modification analysis: allowed updates pass, the known PDF signature attacks do not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fpdf import FPDF
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from huesign.pki.pdfdiff import ChangeKind, analyse_modifications
from huesign.pki.pdffields import Coverage, find_signatures, page_refs
from huesign.pki.pdfobjects import Name, PDFDict, PDFStream, PDFString, Ref, serialize
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import DSSData, SignatureSlot, add_dss, prepare_signature
from huesign.pki.pdfwriter import IncrementalWriter

FIXED_TIME = dt.datetime(2025, 7, 1, 8, 30, tzinfo=dt.UTC)


def _fpdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="Don dang ky khai sinh")
    pdf.output(str(path))
    return path


def _with_text_field(src: Path, out: Path) -> None:
    """Add a text field ``HoTen`` to page 1 (a form to be filled later)."""
    with PDFReader(src) as reader:
        writer = IncrementalWriter(reader)
        page = page_refs(reader)[0]
        field = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name("Widget"),
                    "FT": Name("Tx"),
                    "T": PDFString(b"HoTen"),
                    "Rect": (50, 700, 250, 720),
                    "P": page,
                }
            )
        )
        writer.update(page, reader.get_dict(page).updated(Annots=(field,)))
        form = writer.add(PDFDict({"Fields": (field,)}))
        writer.update(reader.root_ref, reader.root.updated(AcroForm=form))
        writer.write(out)


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-page form with a text field, then signed: the signature covers revision 2."""
    base = tmp_path_factory.mktemp("diff")
    form = base / "form.pdf"
    _with_text_field(_fpdf(base / "src.pdf"), form)
    out = base / "signed.pdf"
    with PDFReader(form) as reader:
        prepare_signature(reader, SignatureSlot(signing_time=FIXED_TIME), output=out)
    return out


def _signed_revision(path: Path) -> int:
    with PDFReader(path) as reader:
        revision = find_signatures(reader)[0].revision
    assert revision is not None
    return revision


def _kinds(path: Path, signed_path: Path) -> set[ChangeKind]:
    with PDFReader(path) as reader:
        summary = analyse_modifications(reader, _signed_revision(signed_path))
    return {c.kind for c in summary.changes}


def _update(signed: Path, out: Path, edit: object) -> Path:
    with PDFReader(signed) as reader:
        writer = IncrementalWriter(reader)
        edit(reader, writer)  # type: ignore[operator]
        writer.write(out)
    return out


def _append_raw(src: Path, out: Path, objects: dict[int, bytes], trailer: dict[str, bytes]) -> Path:
    """Append a hand-made revision (for changes the writer refuses to make)."""
    data = src.read_bytes()
    with PDFReader(src) as reader:
        prev = reader.revisions[-1].xref_offset
        size = reader.next_object_number()
        kept = {k: serialize(reader.trailer[k]) for k in ("Root", "Info") if k in reader.trailer}
    trailer = {**kept, **trailer}
    body = bytearray(b"\n")
    offsets: dict[int, int | None] = {}
    for num, text in objects.items():
        if text == b"free":
            offsets[num] = None
            continue
        offsets[num] = len(data) + len(body)
        body += b"%d 0 obj\n%s\nendobj\n" % (num, text)
    xref = len(data) + len(body)
    body += b"xref\n"
    for num in sorted(offsets):
        off = offsets[num]
        line = b"0000000000 65535 f\r\n" if off is None else b"%010d 00000 n\r\n" % off
        body += b"%d 1\n" % num + line
    entries = b"".join(b"/%s %s" % (k.encode(), v) for k, v in trailer.items())
    body += b"trailer\n<</Size %d/Prev %d%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        max(size, *offsets) + 1,
        prev,
        entries,
        xref,
    )
    out.write_bytes(data + bytes(body))
    return out


def test_unchanged_document_has_no_modifications(signed: Path) -> None:
    with PDFReader(signed) as reader:
        summary = analyse_modifications(reader, _signed_revision(signed))
    assert summary.changes == ()
    assert summary.later_revisions == 0
    assert summary.strictly_allowed


def test_second_signature_is_allowed(signed: Path, tmp_path: Path) -> None:
    out = tmp_path / "second.pdf"
    with PDFReader(signed) as reader:
        prepare_signature(reader, SignatureSlot(field_name="S2"), output=out)
    assert _kinds(out, signed) == {ChangeKind.SIGNATURE}


def test_document_timestamp_is_allowed(signed: Path, tmp_path: Path) -> None:
    out = tmp_path / "dts.pdf"
    with PDFReader(signed) as reader:
        prepare_signature(reader, SignatureSlot(field_name="TS", timestamp=True), output=out)
    kinds = _kinds(out, signed)
    assert ChangeKind.DOC_TIMESTAMP in kinds
    assert kinds <= {ChangeKind.DOC_TIMESTAMP, ChangeKind.SIGNATURE}


def test_dss_update_is_allowed(signed: Path, tmp_path: Path) -> None:
    out = _update(
        signed,
        tmp_path / "dss.pdf",
        lambda r, w: add_dss(w, DSSData(certificates=(b"\x30\x00",))),
    )
    assert _kinds(out, signed) == {ChangeKind.DSS}


def test_filling_a_form_field_is_form_fill(signed: Path, tmp_path: Path) -> None:
    def fill(reader: PDFReader, writer: IncrementalWriter) -> None:
        field = reader.get_dict(reader.root.get("AcroForm")).get("Fields")[0]  # type: ignore[index]
        assert isinstance(field, Ref)
        writer.update(field, reader.get_dict(field).updated(V=PDFString.from_text("Lê Thị Hoa")))

    out = _update(signed, tmp_path / "filled.pdf", fill)
    assert _kinds(out, signed) == {ChangeKind.FORM_FILL}


def test_shadow_replacing_page_content_is_forbidden(signed: Path, tmp_path: Path) -> None:
    def replace(reader: PDFReader, writer: IncrementalWriter) -> None:
        contents = reader.get_dict(page_refs(reader)[0]).get("Contents")
        assert isinstance(contents, Ref)
        writer.update(contents, PDFStream(PDFDict(), b"BT /F1 12 Tf 72 720 Td (Forged) Tj ET"))

    out = _update(signed, tmp_path / "shadow.pdf", replace)
    assert _kinds(out, signed) == {ChangeKind.FORBIDDEN}


def test_shadow_replacing_a_font_is_forbidden(signed: Path, tmp_path: Path) -> None:
    def swap_font(reader: PDFReader, writer: IncrementalWriter) -> None:
        resources = reader.get_dict(reader.get_dict(page_refs(reader)[0]).get("Resources"))
        fonts = reader.get_dict(resources.get("Font"))
        font = next(v for v in fonts.values() if isinstance(v, Ref))
        writer.update(font, reader.get_dict(font).updated(BaseFont=Name("Courier")))

    out = _update(signed, tmp_path / "font.pdf", swap_font)
    assert _kinds(out, signed) == {ChangeKind.FORBIDDEN}


def test_hide_and_replace_with_a_new_catalog_is_forbidden(signed: Path, tmp_path: Path) -> None:
    with PDFReader(signed) as reader:
        catalog = serialize(reader.root)
        new = reader.next_object_number()
    out = _append_raw(signed, tmp_path / "catalog.pdf", {new: catalog}, {"Root": b"%d 0 R" % new})
    with PDFReader(out) as reader:
        summary = analyse_modifications(reader, _signed_revision(signed))
    assert any(
        c.kind is ChangeKind.FORBIDDEN and c.ref is None and "catalog" in c.reason
        for c in summary.changes
    )


def test_deleting_a_signed_object_is_forbidden(signed: Path, tmp_path: Path) -> None:
    with PDFReader(signed) as reader:
        page = page_refs(reader)[0]
    out = _append_raw(signed, tmp_path / "deleted.pdf", {page.num: b"free"}, {})
    assert _kinds(out, signed) == {ChangeKind.FORBIDDEN}


def test_evil_annotation_is_reported_as_annotation(signed: Path, tmp_path: Path) -> None:
    def annotate(reader: PDFReader, writer: IncrementalWriter) -> None:
        page = page_refs(reader)[0]
        page_dict = reader.get_dict(page)
        note = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name("FreeText"),
                    "Rect": (72, 700, 400, 740),
                    "Contents": PDFString(b"Approved: 100,000,000 VND"),
                    "DA": PDFString(b"/Helv 12 Tf 0 g"),
                }
            )
        )
        annots = page_dict.get("Annots")
        assert isinstance(annots, tuple)
        writer.update(page, page_dict.updated(Annots=(*annots, note)))

    out = _update(signed, tmp_path / "evil.pdf", annotate)
    with PDFReader(out) as reader:
        summary = analyse_modifications(reader, _signed_revision(signed))
    assert summary.kinds == {ChangeKind.ANNOTATION}
    assert not summary.strictly_allowed


def test_sneaky_unsigned_visible_signature_field_is_not_a_signature(
    signed: Path, tmp_path: Path
) -> None:
    def sneak(reader: PDFReader, writer: IncrementalWriter) -> None:
        page = page_refs(reader)[0]
        page_dict = reader.get_dict(page)
        widget = writer.add(
            PDFDict(
                {
                    "Type": Name("Annot"),
                    "Subtype": Name("Widget"),
                    "FT": Name("Sig"),
                    "T": PDFString(b"Overlay"),
                    "Rect": (0, 0, 600, 800),
                    "P": page,
                }
            )
        )
        annots = page_dict.get("Annots")
        assert isinstance(annots, tuple)
        writer.update(page, page_dict.updated(Annots=(*annots, widget)))
        form_ref = reader.root.get("AcroForm")
        assert isinstance(form_ref, Ref)
        form = reader.get_dict(form_ref)
        fields = form.get("Fields")
        assert isinstance(fields, tuple)
        writer.update(form_ref, form.updated(Fields=(*fields, widget)))

    out = _update(signed, tmp_path / "sneaky.pdf", sneak)
    with PDFReader(out) as reader:
        summary = analyse_modifications(reader, _signed_revision(signed))
    assert ChangeKind.ANNOTATION in summary.kinds
    assert not summary.strictly_allowed


def test_adding_a_non_signature_field_is_forbidden(signed: Path, tmp_path: Path) -> None:
    def add_field(reader: PDFReader, writer: IncrementalWriter) -> None:
        form_ref = reader.root.get("AcroForm")
        assert isinstance(form_ref, Ref)
        form = reader.get_dict(form_ref)
        fields = form.get("Fields")
        assert isinstance(fields, tuple)
        extra = writer.add(PDFDict({"FT": Name("Tx"), "T": PDFString(b"SoTien")}))
        writer.update(form_ref, form.updated(Fields=(*fields, extra)))

    out = _update(signed, tmp_path / "field.pdf", add_field)
    assert ChangeKind.FORBIDDEN in _kinds(out, signed)


def test_rewriting_an_object_unchanged_is_no_change(signed: Path, tmp_path: Path) -> None:
    def rewrite(reader: PDFReader, writer: IncrementalWriter) -> None:
        page = page_refs(reader)[0]
        writer.update(page, reader.get_dict(page))

    out = _update(signed, tmp_path / "same.pdf", rewrite)
    with PDFReader(out) as reader:
        summary = analyse_modifications(reader, _signed_revision(signed))
    assert summary.changes == ()
    assert summary.later_revisions == 1


def test_pyhanko_countersignature_is_allowed(signed: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UBND phuong Thuan Hoa")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    asn1_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_cert,
        signing_key=asn1_key,
        cert_registry=SimpleCertificateStore.from_certs([asn1_cert]),
    )
    out = tmp_path / "countersigned.pdf"
    with signed.open("rb") as src, out.open("wb") as dst:
        signers.sign_pdf(
            IncrementalPdfFileWriter(src),
            signers.PdfSignatureMetadata(field_name="CoQuan"),
            signer=signer,
            output=dst,
        )
    # pyHanko also updates the document information and XMP metadata.
    assert _kinds(out, signed) == {ChangeKind.SIGNATURE, ChangeKind.METADATA}


# --- byte-range attacks: what the signature claims to cover -----------------------------


def _tampered_signature(signed: Path, tmp_path: Path, old: bytes, new: bytes) -> Coverage:
    assert len(old) == len(new)
    data = signed.read_bytes()
    assert data.count(old) == 1
    out = tmp_path / "tampered.pdf"
    out.write_bytes(data.replace(old, new))
    with PDFReader(out) as reader:
        return find_signatures(reader)[0].coverage


def _byte_range_text(signed: Path) -> bytes:
    data = signed.read_bytes()
    start = data.index(b"/ByteRange [") + len(b"/ByteRange ")
    return data[start : data.index(b"]", start) + 1]


def test_signature_without_byte_range_is_malformed(signed: Path, tmp_path: Path) -> None:
    coverage = _tampered_signature(signed, tmp_path, b"/ByteRange [", b"/ByteRangX [")
    assert coverage is Coverage.MALFORMED


def test_signature_without_contents_is_malformed(signed: Path, tmp_path: Path) -> None:
    coverage = _tampered_signature(signed, tmp_path, b"/Contents <", b"/Contentz <")
    assert coverage is Coverage.MALFORMED


def test_byte_range_gap_wider_than_contents_is_malformed(signed: Path, tmp_path: Path) -> None:
    # Signature wrapping moves signed bytes into the gap: the gap is no longer /Contents.
    text = _byte_range_text(signed)
    _, b, c, d = (int(v) for v in text.strip(b"[] ").split())
    forged = b"[0 %d %d %d" % (b - 10, c, d)
    forged += b" " * (len(text) - len(forged) - 1) + b"]"
    assert _tampered_signature(signed, tmp_path, text, forged) is Coverage.MALFORMED


def test_byte_range_ending_early_is_partial(signed: Path, tmp_path: Path) -> None:
    text = _byte_range_text(signed)
    _, b, c, d = (int(v) for v in text.strip(b"[] ").split())
    forged = b"[0 %d %d %d" % (b, c, d - 5)
    forged += b" " * (len(text) - len(forged) - 1) + b"]"
    assert _tampered_signature(signed, tmp_path, text, forged) is Coverage.PARTIAL


def test_byte_range_of_zeros_is_malformed(signed: Path, tmp_path: Path) -> None:
    text = _byte_range_text(signed)
    forged = b"[0 0 0 0" + b" " * (len(text) - 9) + b"]"
    assert _tampered_signature(signed, tmp_path, text, forged) is Coverage.MALFORMED


def test_objects_appended_without_xref_make_coverage_partial(signed: Path, tmp_path: Path) -> None:
    out = tmp_path / "appended.pdf"
    out.write_bytes(signed.read_bytes() + b"3 0 obj\n<</Type/Page>>\nendobj\n")
    with PDFReader(out) as reader:
        assert find_signatures(reader)[0].coverage is Coverage.PARTIAL


def test_trailing_whitespace_keeps_whole_file_coverage(signed: Path, tmp_path: Path) -> None:
    out = tmp_path / "padded.pdf"
    out.write_bytes(signed.read_bytes() + b"\r\n  \x00\n")
    with PDFReader(out) as reader:
        assert find_signatures(reader)[0].coverage is Coverage.WHOLE_FILE
