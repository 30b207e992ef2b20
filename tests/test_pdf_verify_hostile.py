"""Hostile PDFs: verify_pdf answers FORMAT_FAILURE within bounded time, never an exception."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.pki import (
    DevelopmentCA,
    Indication,
    IssuedCertificate,
    PDFValidationReport,
    SubIndication,
    verify_pdf,
)
from huesign.pki.pdfreader import PDFReader
from padeshelpers import OFFLINE, append_raw, crls_of, make_pdf, sign, trust_of

_BOUND_SECONDS = 5.0


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, citizen: IssuedCertificate) -> Path:
    work = tmp_path_factory.mktemp("hostile")
    return sign(make_pdf(work / "plain.pdf"), work / "signed.pdf", citizen, contents_size=2048)


def _verify(ca: DevelopmentCA, source: bytes | Path) -> PDFValidationReport:
    started = time.perf_counter()
    report = verify_pdf(source, trust=trust_of(ca), policy=OFFLINE, revocation=crls_of(ca))
    assert time.perf_counter() - started < _BOUND_SECONDS
    return report


def _format_failure(report: PDFValidationReport) -> None:
    assert not report.passed
    assert report.signatures[0].indication is Indication.TOTAL_FAILED
    assert report.signatures[0].sub_indication is SubIndication.FORMAT_FAILURE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pdf at all",
        b"%PDF-1.7\n" + b"\x00" * 4096,
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\nstartxref\n999999\n%%EOF\n",
        b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer\n<</Size 1>>\nstartxref\n9\n%%EOF\n",
    ],
    ids=["empty", "text", "zeros", "startxref-out-of-file", "no-root"],
)
def test_unreadable_file_is_a_format_failure(huesign_pki: DevelopmentCA, data: bytes) -> None:
    report = _verify(huesign_pki, data)
    _format_failure(report)
    assert report.signatures[0].errors[0].code == "pdf_unreadable"


def test_broken_xref_offsets_are_a_format_failure(huesign_pki: DevelopmentCA, signed: Path) -> None:
    data = signed.read_bytes()
    at = data.rindex(b"startxref")
    _format_failure(_verify(huesign_pki, data[:at] + b"startxref\n17\n%%EOF\n"))


def test_truncated_file_is_a_format_failure(huesign_pki: DevelopmentCA, signed: Path) -> None:
    _format_failure(_verify(huesign_pki, signed.read_bytes()[:-300]))


def test_reference_loop_in_the_field_tree_is_a_format_failure(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    with PDFReader(signed) as reader:
        n = reader.next_object_number()
        root = reader.root_ref.num
    out = append_raw(
        signed,
        tmp_path / "loop.pdf",
        {
            n: b"<</FT/Sig/T(A)/Kids[%d 0 R]>>" % (n + 1),
            n + 1: b"<</T(B)/Kids[%d 0 R]>>" % n,
            n + 2: b"<</Fields[%d 0 R]>>" % n,
            root: b"<</Type/Catalog/Pages 1 0 R/AcroForm %d 0 R>>" % (n + 2),
        },
    )
    _format_failure(_verify(huesign_pki, out))


def test_reference_chain_loop_as_signature_value_fails(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    with PDFReader(signed) as reader:
        n = reader.next_object_number()
        root = reader.root_ref.num
    out = append_raw(
        signed,
        tmp_path / "refloop.pdf",
        {
            n: b"<</FT/Sig/T(Loop)/V %d 0 R>>" % (n + 1),
            n + 1: b"%d 0 R" % (n + 2),
            n + 2: b"%d 0 R" % (n + 1),
            n + 3: b"<</Fields[%d 0 R]>>" % n,
            root: b"<</Type/Catalog/Pages 1 0 R/AcroForm %d 0 R>>" % (n + 3),
        },
    )
    report = _verify(huesign_pki, out)
    assert not report.passed


def test_deep_nesting_is_a_format_failure(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    with PDFReader(signed) as reader:
        n = reader.next_object_number()
        root = reader.root_ref.num
    deep = b"[" * 50_000 + b"]" * 50_000
    out = append_raw(
        signed,
        tmp_path / "deep.pdf",
        {
            n: b"<</FT/Sig/T(Deep)/V<</ByteRange %s/Contents<00>>>>>" % deep,
            n + 1: b"<</Fields[%d 0 R]>>" % n,
            root: b"<</Type/Catalog/Pages 1 0 R/AcroForm %d 0 R>>" % (n + 1),
        },
    )
    _format_failure(_verify(huesign_pki, out))


def test_huge_declared_stream_in_the_dss_does_not_exhaust_memory(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    with PDFReader(signed) as reader:
        n = reader.next_object_number()
        root = reader.root_ref.num
        catalog = reader.root
    form = catalog["AcroForm"]
    out = append_raw(
        signed,
        tmp_path / "huge.pdf",
        {
            n: b"<</Length 2000000000>>stream\nxx\nendstream",
            n + 1: b"<</Certs[%d 0 R]/CRLs[%d 0 R]>>" % (n, n),
            root: b"<</Type/Catalog/Pages 1 0 R/AcroForm %d 0 R/DSS %d 0 R>>" % (form.num, n + 1),  # type: ignore[union-attr]
        },
    )
    report = _verify(huesign_pki, out)
    assert len(report.signatures) == 1


def test_huge_flate_bomb_stream_is_bounded(
    huesign_pki: DevelopmentCA, signed: Path, tmp_path: Path
) -> None:
    import zlib

    packer = zlib.compressobj(9)
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(80)) + packer.flush()
    with PDFReader(signed) as reader:
        n = reader.next_object_number()
        root = reader.root_ref.num
        form = reader.root["AcroForm"]
    out = append_raw(
        signed,
        tmp_path / "bomb.pdf",
        {
            n: b"<</Length %d/Filter/FlateDecode>>stream\n%s\nendstream" % (len(bomb), bomb),
            n + 1: b"<</Certs[%d 0 R]>>" % n,
            root: b"<</Type/Catalog/Pages 1 0 R/AcroForm %d 0 R/DSS %d 0 R>>" % (form.num, n + 1),  # type: ignore[union-attr]
        },
    )
    report = _verify(huesign_pki, out)
    assert len(report.signatures) == 1


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_signed_pdf_never_raises_and_never_passes_unless_untouched(
    huesign_pki: DevelopmentCA, signed: Path, data: st.DataObject
) -> None:
    original = signed.read_bytes()
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
    at = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    if kind == "flip":
        mutated = original[:at] + bytes([original[at] ^ data.draw(st.integers(1, 255))])
        mutated += original[at + 1 :]
    elif kind == "truncate":
        mutated = original[:at]
    elif kind == "insert":
        mutated = original[:at] + data.draw(st.binary(min_size=1, max_size=16)) + original[at:]
    else:
        mutated = original[:at] + original[at + data.draw(st.integers(1, 64)) :]
    report = _verify(huesign_pki, mutated)
    if report.passed:
        # Only a change inside the hex /Contents that decodes to the same bytes can pass
        # (e.g. the case of a hex digit).
        with PDFReader(signed) as reader:
            from huesign.pki.pdffields import find_signatures

            span = find_signatures(reader)[0].contents_span
        assert span is not None
        assert kind == "flip"
        assert span[0] < at < span[1]
