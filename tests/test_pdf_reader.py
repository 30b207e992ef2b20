"""The bounded PDF reader: cross-reference styles, object streams, pages, fields, revisions."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.errors import PDFFormatError
from huesign.pki.pdffields import Coverage, find_signatures, iter_fields, page_refs
from huesign.pki.pdfobjects import (
    Name,
    PDFDict,
    PDFObject,
    PDFStream,
    PDFString,
    Ref,
    parse_object,
    serialize,
)
from huesign.pki.pdfreader import EntryKind, PDFReader, ReaderLimits
from huesign.pki.pdfslots import SignatureSlot, prepare_signature
from judges import require_program


def _fpdf(path: Path, pages: int) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Page {i}")
    pdf.output(str(path))
    return path


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reader-samples")


@pytest.fixture(scope="session")
def one_page(samples: Path) -> Path:
    return _fpdf(samples / "one.pdf", 1)


@pytest.fixture(scope="session")
def hundred_pages(samples: Path) -> Path:
    return _fpdf(samples / "hundred.pdf", 100)


@pytest.fixture(scope="session")
def object_streams(samples: Path, hundred_pages: Path) -> Path:
    out = samples / "objstm.pdf"
    subprocess.run(
        [require_program("qpdf"), "--object-streams=generate", str(hundred_pages), str(out)],
        check=True,
    )
    return out


@pytest.fixture(scope="session")
def qdf(samples: Path, one_page: Path) -> Path:
    out = samples / "qdf.pdf"
    subprocess.run([require_program("qpdf"), "--qdf", str(one_page), str(out)], check=True)
    return out


def _page_text(reader: PDFReader, page: Ref) -> bytes:
    contents = reader.resolve(reader.get_dict(page).get("Contents"))
    assert isinstance(contents, PDFStream)
    return reader.stream_data(contents)


def test_classic_file_has_one_revision_ending_at_eof(one_page: Path) -> None:
    with PDFReader(one_page) as reader:
        assert len(reader.revisions) == 1
        assert reader.revisions[0].end == reader.size
        assert not reader.revisions[0].xref_stream
        assert reader.root.get("Type") == Name("Catalog")


def test_pages_come_in_document_order(hundred_pages: Path) -> None:
    with PDFReader(hundred_pages) as reader:
        pages = page_refs(reader)
        assert len(pages) == 100
        assert b"Page 0" in _page_text(reader, pages[0])
        assert b"Page 99" in _page_text(reader, pages[99])


def test_object_streams_and_xref_streams_resolve(object_streams: Path) -> None:
    with PDFReader(object_streams) as reader:
        assert reader.revisions[0].xref_stream
        kinds = {e.kind for e in reader.entries().values()}
        assert EntryKind.COMPRESSED in kinds
        pages = page_refs(reader)
        assert len(pages) == 100
        assert b"Page 42" in _page_text(reader, pages[42])


def test_qdf_file_reads_like_the_original(qdf: Path, one_page: Path) -> None:
    with PDFReader(qdf) as a, PDFReader(one_page) as b:
        assert _page_text(a, page_refs(a)[0]) == _page_text(b, page_refs(b)[0])


def test_linearized_file_is_one_revision(samples: Path, hundred_pages: Path) -> None:
    out = samples / "linearized.pdf"
    subprocess.run(
        [require_program("qpdf"), "--linearize", str(hundred_pages), str(out)], check=True
    )
    with PDFReader(out) as reader:
        assert len(reader.revisions) == 1
        assert reader.revisions[0].end == reader.size
        assert len(page_refs(reader)) == 100


def test_reader_accepts_a_file_object(one_page: Path) -> None:
    with PDFReader(io.BytesIO(one_page.read_bytes())) as reader:
        assert len(page_refs(reader)) == 1


def test_incremental_update_adds_a_revision_with_its_own_end(
    one_page: Path, tmp_path: Path
) -> None:
    out = tmp_path / "signed.pdf"
    with PDFReader(one_page) as reader:
        prepare_signature(reader, SignatureSlot(contents_size=64), output=out)
        first_end = reader.size
    with PDFReader(out) as reader:
        assert [r.end for r in reader.revisions] == [first_end, reader.size]
        assert reader.revisions[1].trailer.get("Prev") == reader.revisions[0].xref_offset


def test_signature_contents_span_is_found_in_the_file(one_page: Path, tmp_path: Path) -> None:
    out = tmp_path / "signed.pdf"
    with PDFReader(one_page) as reader:
        prepared = prepare_signature(reader, SignatureSlot(contents_size=64), output=out)
    with PDFReader(out) as reader:
        (sig,) = find_signatures(reader)
    data = out.read_bytes()
    start, end = sig.contents_span or (0, 0)
    assert data[start : start + 1] == b"<"
    assert data[end - 1 : end] == b">"
    assert sig.byte_range == prepared.byte_range
    assert sig.coverage is Coverage.WHOLE_FILE
    assert sig.contents == bytes(64)


def test_document_without_form_has_no_fields(one_page: Path) -> None:
    with PDFReader(one_page) as reader:
        assert iter_fields(reader) == []
        assert find_signatures(reader) == []


def test_stream_larger_than_the_limit_is_refused(hundred_pages: Path) -> None:
    with PDFReader(hundred_pages, limits=ReaderLimits(max_stream_size=10)) as reader:
        contents = reader.resolve(reader.get_dict(page_refs(reader)[0]).get("Contents"))
        assert isinstance(contents, PDFStream)
        with pytest.raises(PDFFormatError, match="limit"):
            reader.stream_data(contents)


# --- the object syntax ---------------------------------------------------------------------

_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8
).map(Name)
_scalars: st.SearchStrategy[PDFObject] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.integers(min_value=-(10**6), max_value=10**6).map(lambda i: i / 4),
    _names,
    st.builds(PDFString, st.binary(max_size=40), st.booleans()),
    st.builds(Ref, st.integers(1, 10**6), st.integers(0, 65535)),
)
_objects = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz", min_size=1, max_size=6),
            inner,
            max_size=5,
        ).map(PDFDict),
    ),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None)
@given(_objects)
def test_serialized_objects_parse_back_to_themselves(obj: PDFObject) -> None:
    parsed, end = parse_object(serialize(obj) + b" ", 0)
    assert parsed == obj
    assert end <= len(serialize(obj)) + 1


def test_literal_string_escapes_round_trip() -> None:
    value = PDFString(b"a(b)c\\d\r\n\x00")
    assert parse_object(serialize(value) + b" ", 0)[0] == value


def test_text_strings_encode_vietnamese_as_utf16() -> None:
    value = PDFString.from_text("Chữ ký số")
    assert value.data.startswith(b"\xfe\xff")
    assert value.text() == "Chữ ký số"


def test_hybrid_file_reads_objects_listed_only_in_its_xref_stream() -> None:
    head = b"%PDF-1.5\n"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]/Hidden 4 0 R>>",
        b"(only in the stream)",
    ]
    out = bytearray(head)
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    rows = b"".join(b"\x01" + off.to_bytes(4, "big") + bytes(2) for off in offsets)
    xref_stm = len(out)
    out += b"5 0 obj\n<</Type/XRef/Size 6/W[1 4 2]/Index[1 4]/Length %d>>\nstream\n" % len(rows)
    out += rows + b"\nendstream\nendobj\n"
    table = len(out)
    out += b"xref\n0 4\n0000000000 65535 f\r\n"
    out += b"".join(b"%010d 00000 n\r\n" % off for off in offsets[:3])
    out += b"trailer\n<</Size 6/Root 1 0 R/XRefStm %d>>\nstartxref\n%d\n%%%%EOF\n" % (
        xref_stm,
        table,
    )
    with PDFReader(io.BytesIO(bytes(out))) as reader:
        page = reader.get_dict(page_refs(reader)[0])
        assert reader.resolve(page.get("Hidden")) == PDFString(b"only in the stream")
        assert len(reader.revisions) == 1
