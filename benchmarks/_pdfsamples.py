"""PDF samples and measurements shared by the benchmark scripts (not a benchmark itself)."""

from __future__ import annotations

import resource
import statistics
from pathlib import Path

__all__ = ["make_fpdf", "make_padded_pdf", "median_ms", "peak_kb"]


def make_fpdf(path: Path, pages: int) -> Path:
    """A text PDF of ``pages`` pages."""
    # Imported here so that the memory child does not pay for fpdf2's import (~50 MB).
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Don de nghi - trang {i + 1}")
    pdf.output(str(path))
    return path


def make_padded_pdf(path: Path, megabytes: int) -> Path:
    """A one-page PDF made large by an unreferenced stream, written in 1 MiB chunks."""
    chunk = b"%" + b"0" * (1024 * 1024 - 2) + b"\n"
    pad_len = megabytes * len(chunk)
    offsets: list[int] = []
    with path.open("wb") as fh:
        fh.write(b"%PDF-1.7\n")

        def obj(body: bytes) -> None:
            offsets.append(fh.tell())
            fh.write(b"%d 0 obj\n" % len(offsets) + body + b"\nendobj\n")

        obj(b"<</Type/Catalog/Pages 2 0 R>>")
        obj(b"<</Type/Pages/Kids[3 0 R]/Count 1>>")
        obj(b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>")
        content = b"0 0 1 rg 72 72 200 100 re f"
        obj(b"<</Length %d>>\nstream\n" % len(content) + content + b"\nendstream")
        offsets.append(fh.tell())
        fh.write(b"5 0 obj\n<</Length %d>>\nstream\n" % pad_len)
        for _ in range(megabytes):
            fh.write(chunk)
        fh.write(b"\nendstream\nendobj\n")
        xref = fh.tell()
        fh.write(b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(offsets) + 1))
        for off in offsets:
            fh.write(b"%010d 00000 n\r\n" % off)
        fh.write(
            b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
        )
    return path


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def peak_kb() -> int:
    """Peak RSS of this process in KiB.

    ``VmHWM`` belongs to the current address space, so it starts afresh at ``exec``; Linux
    carries ``ru_maxrss`` over from the parent across fork and exec, which would report the
    benchmark driver's own peak.  ``getrusage`` is the fallback elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
