"""Hostile PDFs end in PDFFormatError, quickly: never a crash, a hang or a memory blow-up."""

from __future__ import annotations

import contextlib
import functools
import io
import subprocess
import time
import zlib

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.errors import PDFFormatError
from huesign.pki.pdfdiff import analyse_modifications
from huesign.pki.pdffields import find_signatures, iter_fields, page_refs
from huesign.pki.pdfobjects import PDFStream, Ref
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import SignatureSlot, prepare_signature
from judges import optional_program

_CATALOG = b"<</Type/Catalog/Pages 2 0 R>>"
_PAGES = b"<</Type/Pages/Kids[3 0 R]/Count 1>>"
_PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>"


def _build(objects: dict[int, bytes], *, trailer: bytes = b"", prev_self: bool = False) -> bytes:
    """A classic PDF holding ``objects`` with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets: dict[int, int] = {}
    for num, body in objects.items():
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % size
    for num in range(1, size):
        off = offsets.get(num)
        out += b"0000000000 65535 f\r\n" if off is None else b"%010d 00000 n\r\n" % off
    prev = b"/Prev %d" % xref if prev_self else b""
    out += b"trailer\n<</Size %d/Root 1 0 R%s%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        prev,
        trailer,
        xref,
    )
    return bytes(out)


def _basic(**extra: bytes) -> dict[int, bytes]:
    objects = {1: _CATALOG, 2: _PAGES, 3: _PAGE}
    objects.update({int(k[1:]): v for k, v in extra.items()})
    return objects


def _exercise(data: bytes) -> None:
    """Everything a verifier does with a file: structure, pages, fields, objects, diff."""
    with PDFReader(io.BytesIO(data)) as reader:
        page_refs(reader)
        iter_fields(reader)
        find_signatures(reader)
        for _, obj in reader.iter_objects():
            if isinstance(obj, PDFStream):
                reader.stream_data(obj)
        for revision in range(len(reader.revisions)):
            analyse_modifications(reader, revision)


def _refused(data: bytes, match: str | None = None) -> None:
    start = time.perf_counter()
    with pytest.raises(PDFFormatError, match=match):
        _exercise(data)
    assert time.perf_counter() - start < 5


def test_a_well_formed_hand_built_file_is_accepted() -> None:
    _exercise(_build(_basic()))


def test_xref_prev_loop_is_refused() -> None:
    _refused(_build(_basic(), prev_self=True), "loops")


def test_page_tree_loop_is_refused() -> None:
    _refused(_build(_basic(o3=b"<</Type/Pages/Kids[2 0 R]/Count 1>>")), "loops")


def test_object_referencing_itself_is_refused() -> None:
    objects = _basic(o4=b"4 0 R")
    with PDFReader(io.BytesIO(_build(objects))) as reader, pytest.raises(PDFFormatError):
        reader.resolve(Ref(4))


def test_reference_cycle_between_objects_is_refused() -> None:
    objects = _basic(o4=b"5 0 R", o5=b"4 0 R")
    with PDFReader(io.BytesIO(_build(objects))) as reader, pytest.raises(PDFFormatError):
        reader.resolve(Ref(4))


def test_stream_length_pointing_at_its_own_object_is_refused() -> None:
    objects = _basic(o4=b"<</Length 4 0 R>>\nstream\nabc\nendstream")
    _refused(_build(objects), "depends on itself")


def test_ten_thousand_nested_arrays_are_refused() -> None:
    objects = _basic(o4=b"[" * 10_000 + b"]" * 10_000)
    _refused(_build(objects), "nest deeper")


def test_ten_thousand_nested_dictionaries_are_refused() -> None:
    objects = _basic(o4=b"<</A " * 10_000 + b"1" + b">>" * 10_000)
    _refused(_build(objects), "nest deeper")


def test_stream_claiming_ten_gigabytes_is_refused() -> None:
    objects = _basic(o4=b"<</Length 10000000000>>\nstream\nabc\nendstream")
    _refused(_build(objects), "past the end")


def test_stream_length_that_lies_is_refused() -> None:
    objects = _basic(o4=b"<</Length 2>>\nstream\nabcdef\nendstream")
    _refused(_build(objects), "does not end")


def test_flate_bomb_stops_at_the_decoded_size_limit() -> None:
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join(packer.compress(chunk) for _ in range(65)) + packer.flush()
    stream = b"<</Length %d/Filter/FlateDecode>>\nstream\n%s\nendstream" % (len(bomb), bomb)
    _refused(_build(_basic(o4=stream)), "limit")


def test_huge_xref_subsection_is_refused() -> None:
    data = _build(_basic()).replace(b"xref\n0 4\n", b"xref\n0 999999999\n")
    _refused(data, "more than")


def test_missing_startxref_is_refused() -> None:
    _refused(_build(_basic()).replace(b"startxref", b"startxxxx"), "startxref")


def test_startxref_past_the_end_is_refused() -> None:
    data = _build(_basic())
    head, _, _ = data.rpartition(b"startxref\n")
    _refused(head + b"startxref\n99999999\n%%EOF\n", "outside")


def _build_with_xref_stream(objects: dict[int, bytes], compressed: dict[int, int]) -> bytes:
    """A PDF whose cross-reference stream lists ``compressed`` objects as inside streams."""
    out = bytearray(b"%PDF-1.7\n")
    offsets: dict[int, int] = {}
    for num, body in objects.items():
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    own = max(*objects, *compressed) + 1
    offsets[own] = len(out)
    rows = bytearray(b"\x00" + bytes(4) + b"\xff\xff")
    for num in range(1, own + 1):
        if num in compressed:
            rows += b"\x02" + compressed[num].to_bytes(4, "big") + bytes(2)
        else:
            rows += b"\x01" + offsets.get(num, 0).to_bytes(4, "big") + bytes(2)
    out += b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Length %d>>\nstream\n" % (
        own,
        own + 1,
        len(rows),
    )
    out += rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[own]
    return bytes(out)


def test_xref_stream_built_by_hand_is_accepted() -> None:
    _exercise(_build_with_xref_stream(_basic(), {}))


def test_object_stream_containing_itself_is_refused() -> None:
    data = _build_with_xref_stream(_basic(), {4: 4})
    with PDFReader(io.BytesIO(data)) as reader, pytest.raises(PDFFormatError, match="itself"):
        reader.get(Ref(4))


def test_object_in_a_stream_that_is_no_object_stream_is_refused() -> None:
    data = _build_with_xref_stream(_basic(o4=b"<</A 1>>"), {5: 4})
    with PDFReader(io.BytesIO(data)) as reader, pytest.raises(PDFFormatError, match="not an"):
        reader.get(Ref(5))


def test_field_tree_loop_is_refused() -> None:
    objects = _basic(
        o1=b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]>>>>",
        o4=b"<</T(a)/Kids[5 0 R]>>",
        o5=b"<</T(b)/Kids[4 0 R]>>",
    )
    _refused(_build(objects), "loops")


def test_xref_stream_with_bad_widths_is_refused() -> None:
    xref = b"<</Type/XRef/Size 4/W[1 99 1]/Root 1 0 R/Length 0>>\nstream\n\nendstream"
    objects = _basic(o4=xref)
    data = _build(objects)
    offset = data.index(b"4 0 obj")
    head, _, _ = data.rpartition(b"startxref\n")
    _refused(head + b"startxref\n%d\n%%%%EOF\n" % offset, "bad /W")


# --- mutations of real files -------------------------------------------------------------


def _real_samples() -> list[bytes]:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(3):
        pdf.add_page()
        pdf.cell(text=f"Page {i}")
    classic = bytes(pdf.output())
    samples = [classic]
    out = io.BytesIO()
    with PDFReader(io.BytesIO(classic)) as reader:
        prepare_signature(reader, SignatureSlot(contents_size=64), output=out)
    samples.append(out.getvalue())
    qpdf = optional_program("qpdf")
    if qpdf is not None:
        done = subprocess.run(
            [qpdf, "--object-streams=generate", "-", "-"],
            input=out.getvalue(),
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            samples.append(done.stdout)
    return samples


@functools.cache
def _samples() -> tuple[bytes, ...]:
    return tuple(_real_samples())


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    samples = _samples()
    data = bytearray(samples[draw(st.integers(0, len(samples) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "insert", "digits"]))
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[pos:pos] = draw(st.sampled_from([b"[", b"<<", b" 0 R", b"(", b"9999999999", b"%"]))
        else:
            data[pos : pos + 1] = str(draw(st.integers(0, 10**12))).encode()
        if not data:
            break
    return bytes(data)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_files_parse_or_fail_with_pdf_format_error(data: bytes) -> None:
    start = time.perf_counter()
    with contextlib.suppress(PDFFormatError):
        _exercise(data)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("keep", [0, 1, 10, 100, 500])
def test_truncated_files_fail_with_pdf_format_error(keep: int) -> None:
    # (Cut inside the last revision, a file is its earlier revision again: that one reads.)
    data = _samples()[1]
    with pytest.raises(PDFFormatError):
        _exercise(data[: keep * len(data) // 1000])


def test_every_revision_of_a_signed_sample_reads() -> None:
    _exercise(_samples()[-1])
