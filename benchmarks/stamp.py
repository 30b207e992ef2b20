"""Visible signature stamps: what a stamp adds to signing, after the first one in a process.

Run with ``python benchmarks/stamp.py``.  On a 1-page PDF made with fpdf2:

* **invisible**: ``prepare_signature`` with no appearance (the baseline);
* **visible**: resolve the placement, build the stamp (name, masked CCCD, time, reason,
  location, a PNG seal with transparency and a QR code whose reference changes every round),
  then ``prepare_signature`` with it as the widget's appearance;
* **pyHanko**: pyHanko 0.38's ``TextStamp`` with the same Noto Sans file through its
  ``GlyphAccumulatorFactory`` (two lines of text, no image or QR), registered and written.

Rounds alternate; the script prints medians and ratios, and the time of the very first
stamp in a fresh process (font parsing and cache warm-up included).  The goal is a visible
overhead under 10 ms after the first signature.  Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from huesign.pki import (
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    KeyAlgorithm,
    RectPlacement,
    StampAppearance,
    StampContent,
    StampImage,
)
from huesign.pki.fonts import FontWeight, font_bytes
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import SignatureSlot, prepare_signature
from huesign.pki.pdfwriter import IncrementalWriter

SIGNED_AT = dt.datetime(2026, 11, 28, 10, 5, tzinfo=dt.UTC)
RECT = (300.0, 600.0, 560.0, 700.0)


def make_pdf(path: Path) -> Path:
    """A one-page form made with fpdf2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="To khai dang ky khai sinh")
    pdf.output(str(path))
    return path


def make_png() -> bytes:
    """A 96x96 red seal on a transparent background."""
    from PIL import Image

    image = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    for x in range(96):
        for y in range(96):
            if (x - 48) ** 2 + (y - 48) ** 2 < 44**2:
                image.putpixel((x, y), (200, 20, 20, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def make_signer() -> IssuedCertificate:
    """A citizen certificate from a throwaway development CA."""
    ca = DevelopmentCA.create(name="Benchmark", key_algorithm=KeyAlgorithm.EC_P256)
    identity = CitizenIdentity(
        common_name="Nguyễn Thị Hương Giang", identifiers=(Identifier.cccd("046190001234"),)
    )
    return ca.issue(identity, profile=CertificateProfile.CITIZEN)


def appearance(png: bytes, reference: str) -> StampAppearance:
    """The stamp measured: every element of the stamp shown."""
    return StampAppearance(
        placement=RectPlacement(page=0, rect=RECT),
        content=StampContent(
            reason="Nộp hồ sơ đăng ký khai sinh",
            location="Phường Thuận Hóa, Huế",
            qr_reference=reference,
            image=StampImage(png),
        ),
    )


def invisible(pdf: Path) -> float:
    """Seconds to prepare an invisible signature slot (to memory)."""
    start = time.perf_counter()
    with PDFReader(pdf) as reader:
        prepare_signature(reader, SignatureSlot(), output=io.BytesIO())
    return time.perf_counter() - start


def visible(pdf: Path, signer: IssuedCertificate, stamp: StampAppearance) -> float:
    """Seconds to resolve, build and prepare a visible signature slot (to memory)."""
    start = time.perf_counter()
    with PDFReader(pdf) as reader:
        placement = stamp.resolve(reader)
        # prepare_signature makes its own writer; the stamp's objects go in a scratch one
        # here, which costs the same as building into the signing writer.
        writer = IncrementalWriter(reader)
        xobject = stamp.build(
            writer, rect=placement.rect, signer=signer.certificate, signing_time=SIGNED_AT
        )
        slot = SignatureSlot(page=placement.page_index, rect=placement.rect, appearance=xobject)
        prepare_signature(reader, slot, output=io.BytesIO())
    return time.perf_counter() - start


def pyhanko_stamp(pdf_bytes: bytes, font_path: Path) -> float:
    """Seconds for pyHanko to build, register and write a two-line TTF text stamp."""
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.layout import BoxConstraints
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStamp, TextStampStyle

    start = time.perf_counter()
    style = TextStampStyle(
        stamp_text="Ký bởi: %(signer)s\nThời gian: %(ts)s",
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(font_path))),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    stamp = TextStamp(
        writer,
        style,
        text_params={"signer": "Nguyễn Thị Hương Giang", "ts": "28/11/2026 17:05"},
        box=BoxConstraints(260, 100),
    )
    stamp.register()
    writer.write(io.BytesIO())
    return time.perf_counter() - start


def first_stamp() -> None:
    """Child process: time the very first visible stamp in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        pdf = make_pdf(Path(tmp) / "form.pdf")
        signer, png = make_signer(), make_png()
        seconds = visible(pdf, signer, appearance(png, "H46-first"))
    print(f"{seconds * 1000:.1f}")


def main() -> None:
    """Run the comparison and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first:
        first_stamp()
        return
    child = subprocess.run(
        [sys.executable, __file__, "--first"], capture_output=True, text=True, check=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        pdf = make_pdf(Path(tmp) / "form.pdf")
        font = Path(tmp) / "NotoSans-Regular.ttf"
        font.write_bytes(font_bytes(FontWeight.REGULAR))
        pdf_bytes = pdf.read_bytes()
        signer, png = make_signer(), make_png()
        visible(pdf, signer, appearance(png, "H46-warmup"))
        pyhanko_stamp(pdf_bytes, font)
        times: dict[str, list[float]] = {"invisible": [], "visible": [], "pyhanko": []}
        for i in range(args.rounds):
            times["invisible"].append(invisible(pdf))
            times["visible"].append(visible(pdf, signer, appearance(png, f"H46-{i:06d}")))
            times["pyhanko"].append(pyhanko_stamp(pdf_bytes, font))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    overhead = med["visible"] - med["invisible"]
    print(f"first visible stamp in a fresh process: {child.stdout.strip()} ms")
    print(f"invisible slot:                 {med['invisible']:7.2f} ms")
    print(f"visible slot (stamp included):  {med['visible']:7.2f} ms")
    print(f"visible overhead:               {overhead:7.2f} ms  (goal < 10 ms)")
    print(f"pyHanko TextStamp (TTF font):   {med['pyhanko']:7.2f} ms")
    print(f"pyHanko stamp / huesign overhead: {med['pyhanko'] / overhead:5.1f}x")


if __name__ == "__main__":
    main()
