"""The PDF layer under PAdES: signature-slot speed and peak memory on a large file.

Run with ``python benchmarks/pdf_io.py``.  Two measurements, no cryptography involved:

* **Speed.**  "Add a signature slot, hash the byte ranges, write dummy signature bytes" on a
  1-page and a 100-page PDF made with fpdf2, by huesign (``prepare_signature`` +
  ``digest_byte_ranges`` + ``write_signature_contents``) and by pyHanko's
  ``IncrementalPdfFileWriter`` driven through ``PdfCMSEmbedder`` (the same three steps).
  Rounds alternate between the two; the script prints medians and their ratio.
* **Memory.**  A ~200 MB PDF (one page and a large padded stream) is generated in a temporary
  directory; a fresh child process runs the same three steps on it, to a new file and in
  place, and reports its peak RSS (``VmHWM``, or ``resource.getrusage`` where there is no
  ``/proc``) before and after.  The goal is under 100 MB.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _pdfsamples import make_fpdf, make_padded_pdf, median_ms, peak_kb
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfslots import (
    SignatureSlot,
    digest_byte_ranges,
    prepare_signature,
    write_signature_contents,
)

DUMMY_SIGNATURE = bytes(range(256)) * 8
RESERVED = 8192


def huesign_slot(src: Path, out: Path | None) -> bytes:
    """Slot, digest and fill with huesign; ``out=None`` appends in place."""
    if out is None:
        with PDFReader(src) as reader:
            prepared = prepare_signature(reader, SignatureSlot(contents_size=RESERVED))
        digest = digest_byte_ranges(src, prepared.byte_range)
        write_signature_contents(src, prepared, DUMMY_SIGNATURE)
        return digest
    with PDFReader(src) as reader, out.open("w+b") as fh:
        prepared = prepare_signature(reader, SignatureSlot(contents_size=RESERVED), output=fh)
        digest = digest_byte_ranges(fh, prepared.byte_range)
        write_signature_contents(fh, prepared, DUMMY_SIGNATURE)
    return digest


def pyhanko_slot(src: Path, out: Path | None) -> bytes:
    """The same three steps with pyHanko's incremental writer and CMS embedder."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers.cms_embedder import PdfCMSEmbedder, SigIOSetup, SigObjSetup
    from pyhanko.sign.signers.pdf_byterange import SignatureObject

    with src.open("rb+" if out is None else "rb") as fh:
        writer = IncrementalPdfFileWriter(fh)
        steps = PdfCMSEmbedder().write_cms(field_name="Signature1", writer=writer)
        next(steps)
        steps.send(SigObjSetup(sig_placeholder=SignatureObject(bytes_reserved=RESERVED)))
        output = None if out is None else out.open("wb")
        try:
            prepared, _ = steps.send(
                SigIOSetup(md_algorithm="sha256", in_place=out is None, output=output)
            )
            steps.send(DUMMY_SIGNATURE)
        finally:
            if output is not None:
                output.close()
    return bytes(prepared.document_digest)


def bench_speed(workdir: Path, rounds: int) -> None:
    """Print huesign and pyHanko medians for a 1-page and a 100-page file."""
    for pages in (1, 100):
        src = make_fpdf(workdir / f"src-{pages}.pdf", pages)
        ours: list[float] = []
        theirs: list[float] = []
        for i in range(rounds + 2):
            for old in (workdir / "ours.pdf", workdir / "theirs.pdf"):
                old.unlink(missing_ok=True)
            t0 = time.perf_counter()
            huesign_slot(src, workdir / "ours.pdf")
            t1 = time.perf_counter()
            pyhanko_slot(src, workdir / "theirs.pdf")
            t2 = time.perf_counter()
            if i >= 2:  # the first rounds warm imports and caches
                ours.append(t1 - t0)
                theirs.append(t2 - t1)
        a, b = median_ms(ours), median_ms(theirs)
        print(
            f"{pages:>3}-page slot+digest+fill: huesign {a:6.2f} ms, "
            f"pyHanko {b:6.2f} ms, pyHanko/huesign {b / a:4.1f}x"
        )


def _child(engine: str, src: str, mode: str) -> None:
    path = Path(src)
    out = None if mode == "in-place" else path.with_suffix(".out.pdf")
    before_kb = peak_kb()
    start = time.perf_counter()
    (huesign_slot if engine == "huesign" else pyhanko_slot)(path, out)
    elapsed = time.perf_counter() - start
    after_kb = peak_kb()
    print(f"{before_kb} {after_kb} {elapsed:.3f}")


def bench_memory(workdir: Path, megabytes: int, with_pyhanko: bool) -> None:
    """Run each engine in a fresh child on a large file and print its peak RSS."""
    big = make_padded_pdf(workdir / "big.pdf", megabytes)
    size_mb = big.stat().st_size / 2**20
    print(f"large file: {size_mb:.0f} MB")
    engines = ["huesign"] + (["pyhanko"] if with_pyhanko else [])
    for engine in engines:
        for mode in ("new-file", "in-place"):
            work = workdir / f"{engine}-{mode}.pdf"
            shutil.copyfile(big, work)
            done = subprocess.run(
                [sys.executable, __file__, "--child", engine, str(work), mode],
                capture_output=True,
                text=True,
                check=True,
            )
            before_kb, after_kb, elapsed = done.stdout.split()
            growth = (int(after_kb) - int(before_kb)) / 1024
            print(
                f"{engine:>8} {mode:>8}: peak RSS {int(after_kb) / 1024:6.1f} MB "
                f"(+{growth:.1f} MB over the process after imports), {float(elapsed):.2f} s"
            )
            work.unlink()
            work.with_suffix(".out.pdf").unlink(missing_ok=True)


def main() -> None:
    """Parse options and run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--pyhanko-memory", action="store_true", help="also measure pyHanko")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "PATH", "MODE"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench_speed(workdir, args.rounds)
        if not args.skip_memory:
            bench_memory(workdir, args.megabytes, args.pyhanko_memory)


if __name__ == "__main__":
    main()
