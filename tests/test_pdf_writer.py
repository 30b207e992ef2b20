"""Incremental writer and signature slots, judged by qpdf, pdfsig and pyHanko."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, append_signature_field, enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from huesign.errors import SigningError
from huesign.pki.algorithms import HashAlgorithm
from huesign.pki.pdffields import Coverage, SignatureKind, find_signatures, iter_fields
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream, PDFString, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import (
    DocMDPPermission,
    DSSData,
    FieldLock,
    LockAction,
    PreparedSignature,
    SignatureSlot,
    VRIEntry,
    add_dss,
    digest_byte_ranges,
    prepare_signature,
    write_signature_contents,
)
from huesign.pki.pdfwriter import COPY_CHUNK_SIZE, IncrementalWriter, XRefStyle
from judges import pdfsig, qpdf_check, require_program

FIXED_TIME = dt.datetime(2025, 7, 1, 8, 30, tzinfo=dt.UTC)


def _fpdf(path: Path, pages: int) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Trang {i}")
    pdf.output(str(path))
    return path


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("writer-sources")
    one = _fpdf(base / "one.pdf", 1)
    hundred = _fpdf(base / "hundred.pdf", 100)
    out = {"classic": one, "hundred": hundred}
    if shutil.which("qpdf"):
        subprocess.run(["qpdf", "--object-streams=generate", one, base / "os.pdf"], check=True)
        subprocess.run(["qpdf", "--qdf", one, base / "qdf.pdf"], check=True)
        subprocess.run(["qpdf", "--linearize", hundred, base / "lin.pdf"], check=True)
        out["object-streams"] = base / "os.pdf"
        out["qdf"] = base / "qdf.pdf"
        out["linearized"] = base / "lin.pdf"
    return out


@pytest.fixture(scope="session")
def signer() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Văn An")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _source(sources: dict[str, Path], style: str) -> Path:
    if style not in sources:
        require_program("qpdf")
    return sources[style]


def _slot(src: Path, out: Path, **options: object) -> PreparedSignature:
    with PDFReader(src) as reader:
        return prepare_signature(
            reader,
            SignatureSlot(signing_time=FIXED_TIME, **options),  # type: ignore[arg-type]
            output=out,
        )


def _sign_for_real(
    path: Path,
    prepared: PreparedSignature,
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    data = path.read_bytes()
    a, b, c, d = prepared.byte_range
    cert, key = signer
    cms = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(data[a : a + b] + data[c : c + d])
        .add_signer(cert, key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [
                pkcs7.PKCS7Options.DetachedSignature,
                pkcs7.PKCS7Options.NoCapabilities,
                pkcs7.PKCS7Options.Binary,
            ],
        )
    )
    write_signature_contents(path, prepared, cms)


STYLES = ["classic", "hundred", "object-streams", "qdf", "linearized"]


@pytest.mark.parametrize("style", STYLES)
def test_signature_slot_passes_qpdf_check(
    sources: dict[str, Path], style: str, tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    prepared = _slot(_source(sources, style), out)
    write_signature_contents(out, prepared, b"\x30\x03\x02\x01\x01")
    qpdf_check(out)


@pytest.mark.parametrize("style", STYLES)
def test_pyhanko_sees_the_field_and_the_same_byte_range(
    sources: dict[str, Path], style: str, tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    prepared = _slot(_source(sources, style), out, field_name="ChuKy")
    with out.open("rb") as fh:
        fields = [
            (name, list(value.get_object()["/ByteRange"]))
            for name, value, _ in enumerate_sig_fields(PdfFileReader(fh))
        ]
    assert fields == [("ChuKy", list(prepared.byte_range))]


@pytest.mark.parametrize("style", STYLES)
def test_pdfsig_lists_the_dummy_signature(
    sources: dict[str, Path], style: str, tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    prepared = _slot(_source(sources, style), out)
    write_signature_contents(out, prepared, b"\x30\x03\x02\x01\x01")
    report = pdfsig(out).stdout
    a, b, c, d = prepared.byte_range
    assert "Signature #1" in report
    assert f"[{a} - {b}], [{c} - {c + d}]" in report
    assert "Total document signed" in report


def test_a_real_cms_over_the_byte_ranges_is_valid_for_pdfsig_and_pyhanko(
    sources: dict[str, Path],
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    tmp_path: Path,
) -> None:
    out = tmp_path / "signed.pdf"
    prepared = _slot(sources["classic"], out, contents_size=4096)
    _sign_for_real(out, prepared, signer)
    assert "Signature is Valid." in pdfsig(out).stdout
    root = asn1_x509.Certificate.load(signer[0].public_bytes(serialization.Encoding.DER))
    with out.open("rb") as fh:
        status = validate_pdf_signature(
            PdfFileReader(fh).embedded_signatures[0], ValidationContext(trust_roots=[root])
        )
    assert status.intact
    assert status.valid
    assert status.bottom_line


def test_new_revision_keeps_the_original_xref_style(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    _slot(_source(sources, "object-streams"), out)
    with PDFReader(out) as reader:
        assert [r.xref_stream for r in reader.revisions] == [True, True]


def test_trailer_keeps_root_info_and_id(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "slot.pdf"
    _slot(sources["classic"], out)
    with PDFReader(out) as reader:
        old, new = (r.trailer for r in reader.revisions)
        for key in ("Root", "Info", "ID"):
            assert new.get(key) == old.get(key)
        assert new.get("Prev") == reader.revisions[0].xref_offset


def test_writing_in_place_equals_writing_a_copy(sources: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy.pdf"
    in_place = tmp_path / "in-place.pdf"
    shutil.copyfile(sources["classic"], in_place)
    _slot(sources["classic"], copy)
    with PDFReader(in_place) as reader:
        prepare_signature(reader, SignatureSlot(signing_time=FIXED_TIME))
    assert in_place.read_bytes() == copy.read_bytes()


def test_writer_accepts_binary_file_objects(sources: dict[str, Path]) -> None:
    out = io.BytesIO()
    with PDFReader(io.BytesIO(sources["classic"].read_bytes())) as reader:
        prepared = prepare_signature(reader, SignatureSlot(), output=out)
    write_signature_contents(out, prepared, b"\x01\x02")
    assert len(out.getvalue()) == prepared.file_size
    with PDFReader(out) as reader:
        assert find_signatures(reader)[0].contents == b"\x01\x02" + bytes(
            prepared.contents_size - 2
        )


def test_byte_range_digest_matches_hashing_the_ranges(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    prepared = _slot(sources["hundred"], out)
    data = out.read_bytes()
    a, b, c, d = prepared.byte_range
    expected = hashlib.sha384(data[a : a + b] + data[c : c + d]).digest()
    got = digest_byte_ranges(
        out, prepared.byte_range, algorithm=HashAlgorithm.SHA384, chunk_size=1000
    )
    assert got == expected


def test_byte_range_excludes_exactly_the_contents_string(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    prepared = _slot(sources["classic"], out, contents_size=100)
    data = out.read_bytes()
    _a, b, c, d = prepared.byte_range
    assert data[b:c] == b"<" + b"0" * 200 + b">"
    assert c + d == len(data)


def test_signature_larger_than_the_reservation_is_refused(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "slot.pdf"
    prepared = _slot(sources["classic"], out, contents_size=8)
    with pytest.raises(SigningError, match="only 8 were reserved"):
        write_signature_contents(out, prepared, bytes(9))


def test_an_existing_empty_field_is_filled_by_name(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    with_field = tmp_path / "field.pdf"
    with sources["classic"].open("rb") as fh:
        w = IncrementalPdfFileWriter(fh)
        append_signature_field(w, SigFieldSpec(sig_field_name="CongDan", box=(50, 50, 250, 100)))
        with with_field.open("wb") as out_fh:
            w.write(out_fh)
    out = tmp_path / "filled.pdf"
    _slot(with_field, out, field_name="CongDan")
    with PDFReader(out) as reader:
        fields = iter_fields(reader)
        (sig,) = find_signatures(reader)
    assert [f.name for f in fields] == ["CongDan"]
    assert sig.field_name == "CongDan"
    assert sig.coverage is Coverage.WHOLE_FILE
    qpdf_check(out)


def test_a_filled_field_cannot_be_filled_again(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "slot.pdf"
    _slot(sources["classic"], out)
    with PDFReader(out) as reader, pytest.raises(ValueError, match="not an empty signature"):
        prepare_signature(reader, SignatureSlot(), output=tmp_path / "again.pdf")


def test_second_signature_leaves_the_first_covering_its_revision(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    _slot(sources["classic"], first)
    _slot(first, second, field_name="Signature2")
    with PDFReader(second) as reader:
        sigs = {s.field_name: s for s in find_signatures(reader)}
    assert sigs["Signature1"].coverage is Coverage.WHOLE_REVISION
    assert sigs["Signature1"].revision == 1
    assert sigs["Signature2"].coverage is Coverage.WHOLE_FILE
    assert "Signature #2" in pdfsig(second).stdout


def test_certification_sets_docmdp_in_catalog_and_signature(
    sources: dict[str, Path],
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    tmp_path: Path,
) -> None:
    out = tmp_path / "certified.pdf"
    prepared = _slot(
        sources["classic"], out, certify=DocMDPPermission.FORM_FILLING, contents_size=4096
    )
    _sign_for_real(out, prepared, signer)
    with PDFReader(out) as reader:
        perms = reader.get_dict(reader.root.get("Perms"))
        assert perms.get("DocMDP") == prepared.signature_ref
        sig = reader.get_dict(prepared.signature_ref)
    (ref,) = sig.get("Reference")  # type: ignore[misc]
    assert isinstance(ref, PDFDict)
    assert ref.get("TransformMethod") == Name("DocMDP")
    params = ref.get("TransformParams")
    assert isinstance(params, PDFDict)
    assert params.get("P") == 2
    with out.open("rb") as fh:
        embedded = PdfFileReader(fh).embedded_signatures
        assert embedded[0].docmdp_level is not None
        assert embedded[0].docmdp_level.value == 2
    qpdf_check(out)


def test_only_the_first_signature_may_certify(sources: dict[str, Path], tmp_path: Path) -> None:
    first = tmp_path / "first.pdf"
    _slot(sources["classic"], first)
    with PDFReader(first) as reader, pytest.raises(ValueError, match="first signature"):
        prepare_signature(
            reader,
            SignatureSlot(field_name="S2", certify=DocMDPPermission.NO_CHANGES),
            output=tmp_path / "x.pdf",
        )


def test_field_lock_is_written_on_field_and_signature(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "locked.pdf"
    lock = FieldLock(action=LockAction.INCLUDE, fields=("HoTen", "SoCCCD"))
    prepared = _slot(sources["classic"], out, lock=lock)
    with PDFReader(out) as reader:
        field = reader.get_dict(prepared.field_ref)
        field_lock = reader.get_dict(field.get("Lock"))
        sig = reader.get_dict(prepared.signature_ref)
    assert field_lock.get("Type") == Name("SigFieldLock")
    assert field_lock.get("Fields") == (PDFString(b"HoTen"), PDFString(b"SoCCCD"))
    (ref,) = sig.get("Reference")  # type: ignore[misc]
    assert isinstance(ref, PDFDict)
    assert ref.get("TransformMethod") == Name("FieldMDP")


def test_document_timestamp_slot_uses_rfc3161(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "dts.pdf"
    _slot(sources["classic"], out, timestamp=True, field_name="DocTS")
    with PDFReader(out) as reader:
        (sig,) = find_signatures(reader)
    assert sig.kind is SignatureKind.DOC_TIMESTAMP
    assert sig.sub_filter == "ETSI.RFC3161"
    assert "M" not in sig.dictionary
    qpdf_check(out)


def test_visible_slot_gets_its_appearance(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "visible.pdf"
    stream = PDFStream(
        PDFDict({"Type": Name("XObject"), "Subtype": Name("Form"), "BBox": (0, 0, 200, 50)}),
        b"0 0 1 rg 0 0 200 50 re f",
    )
    prepared = _slot(sources["classic"], out, rect=(50, 50, 250, 100), appearance=stream)
    with PDFReader(out) as reader:
        field = reader.get_dict(prepared.field_ref)
        ap = reader.get_dict(field.get("AP"))
        normal = reader.resolve(ap.get("N"))
        assert isinstance(normal, PDFStream)
        assert reader.stream_data(normal) == stream.data
    qpdf_check(out)


def test_dss_holds_certificates_crls_and_vri(
    sources: dict[str, Path],
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    tmp_path: Path,
) -> None:
    cert, key = signer
    der = cert.public_bytes(serialization.Encoding.DER)
    now = dt.datetime.now(dt.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    signed = tmp_path / "signed.pdf"
    prepared = _slot(sources["classic"], signed)
    out = tmp_path / "lt.pdf"
    with PDFReader(signed) as reader:
        writer = IncrementalWriter(reader)
        vri = VRIEntry(signature_contents=bytes(prepared.contents_size), certificates=(der,))
        add_dss(writer, DSSData(certificates=(der,), crls=(crl,), vri=(vri,)))
        writer.write(out)
    with PDFReader(out) as reader:
        dss = reader.get_dict(reader.root.get("DSS"))
        certs = dss.get("Certs")
        assert isinstance(certs, tuple)
        assert len(certs) == 1
        cert_stream = reader.resolve(certs[0])
        assert isinstance(cert_stream, PDFStream)
        assert reader.stream_data(cert_stream) == der
        vri_dict = dss.get("VRI")
        assert isinstance(vri_dict, PDFDict)
        assert vri.key in vri_dict
    with out.open("rb") as fh:
        store = DocumentSecurityStore.read_dss(PdfFileReader(fh))
        assert len(list(store.certs.values())) == 1
        assert len(store.crls) == 1
    qpdf_check(out)


def test_xref_stream_style_can_be_forced_on_a_classic_file(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "forced.pdf"
    with PDFReader(sources["classic"]) as reader:
        prepare_signature(reader, SignatureSlot(), output=out, style=XRefStyle.STREAM)
    with PDFReader(out) as reader:
        assert [r.xref_stream for r in reader.revisions] == [False, True]
        assert isinstance(reader.root.get("AcroForm"), Ref)
    qpdf_check(out)


class _ReadSpy(io.BytesIO):
    """A file object that records the size of every read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.reads.append(len(chunk))
        return chunk


def _padded_pdf(megabytes: int) -> bytes:
    pad = b"0" * (megabytes << 20)
    body = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
        b"<</Length %d>>\nstream\n%s\nendstream" % (len(pad), pad),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for num, text in enumerate(body, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (num, text)
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f\r\n"
    out += b"".join(b"%010d 00000 n\r\n" % off for off in offsets)
    out += b"trailer\n<</Size 5/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_signing_a_large_file_reads_small_windows_and_copy_chunks() -> None:
    data = _padded_pdf(8)
    source = _ReadSpy(data)
    with PDFReader(source) as reader:
        prepare_signature(reader, SignatureSlot(), output=io.BytesIO())
    assert max(source.reads) <= COPY_CHUNK_SIZE
    # Beyond copying the original once, only a few small windows were parsed.
    assert sum(source.reads) - len(data) < 64 * 1024


def test_digest_reads_the_file_in_chunks() -> None:
    spy = _ReadSpy(_padded_pdf(3))
    size = len(spy.getvalue())
    digest_byte_ranges(spy, (0, size), chunk_size=65536)
    assert max(spy.reads) == 65536
    assert sum(spy.reads) == size


_values = st.recursive(
    st.one_of(
        st.integers(-(10**9), 10**9),
        st.booleans(),
        st.none(),
        st.text(max_size=12).map(PDFString.from_text),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=5).map(Name),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.sampled_from(["A", "B", "Ten", "Gia"]), inner, max_size=3).map(PDFDict),
    ),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None)
@given(objects=st.lists(_values, min_size=1, max_size=5), style=st.sampled_from(XRefStyle))
def test_added_objects_read_back_unchanged(
    sources: dict[str, Path], objects: list[PDFObject], style: XRefStyle
) -> None:
    out = io.BytesIO()
    with PDFReader(sources["classic"]) as reader:
        writer = IncrementalWriter(reader, style=style)
        refs = [writer.add(obj) for obj in objects]
        writer.write(out)
    with PDFReader(out) as reader:
        assert [reader.get(ref) for ref in refs] == objects
        assert len(reader.revisions) == 2


def test_a_new_field_name_with_dots_is_refused(sources: dict[str, Path], tmp_path: Path) -> None:
    with PDFReader(sources["classic"]) as reader, pytest.raises(ValueError, match="no dots"):
        prepare_signature(reader, SignatureSlot(field_name="a.b"), output=tmp_path / "x.pdf")
