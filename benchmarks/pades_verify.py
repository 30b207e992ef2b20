"""PAdES verification speed: huesign's ``verify_pdf`` against pyHanko's ``validate_pdf_signature``.

Run with ``python benchmarks/pades_verify.py``.  One process, side by side, medians over
repeated runs, for a 1-page, a 100-page and a 20 MB PDF signed (B-B, RSA-2048) by
``sign_pdf``.  Both validators do the same work: integrity over the byte range, the
certificate path to the test root, hard-fail revocation from the same CRLs (no network) and
the analysis of the file's revisions.  Goal: huesign at least 3x faster.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from asn1crypto import x509 as a_x509
from fpdf import FPDF
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    KeyAlgorithm,
    KeySigner,
    RevocationData,
    RevocationMode,
    RevocationSource,
    TrustStore,
    ValidationPolicy,
    verify_pdf,
)
from huesign.pki.pades import sign_pdf
from huesign.pki.pdfobjects import PDFDict, PDFStream
from huesign.pki.pdfreader import PDFReader
from huesign.pki.pdfwriter import IncrementalWriter


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 2) -> float:
    """The median wall time of ``fn`` over ``runs`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _pdf(path: Path, pages: int, padding: int = 0) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for n in range(pages):
        pdf.add_page()
        for line in range(40):
            pdf.cell(text=f"Trang {n + 1}, dong {line + 1}: noi dung ho so hanh chinh")
            pdf.ln()
    pdf.output(str(path))
    if padding:
        # An incompressible embedded file-sized stream, so that hashing dominates.
        with PDFReader(path) as reader:
            writer = IncrementalWriter(reader)
            writer.add(PDFStream(PDFDict(), os.urandom(padding)))
            data, _ = writer.render()
        with path.open("ab") as fh:
            fh.write(data)
    return path


def main() -> None:
    """Sign the three documents, then time both validators on each."""
    ca = DevelopmentCA.create(name="Bench", key_algorithm=KeyAlgorithm.RSA_2048)
    identity = CitizenIdentity(
        common_name="Bench Signer", identifiers=(Identifier.cccd("046085000123"),)
    )
    issued = ca.issue(identity, key_algorithm=KeyAlgorithm.RSA_2048)
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    crls = [ca.crl(), ca.crl("root")]
    trust = TrustStore.from_certificates([ca.root])
    policy = ValidationPolicy(revocation_mode=RevocationMode.HARD_FAIL)
    loop = asyncio.new_event_loop()
    print("PAdES B-B verification, RSA-2048, offline CRLs, hard-fail (median)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [
            ("1 page", _pdf(work / "p1.pdf", 1), 100, 30),
            ("100 pages", _pdf(work / "p100.pdf", 100), 50, 15),
            ("20 MB", _pdf(work / "big.pdf", 1, padding=20 << 20), 10, 5),
        ]
        for label, plain, runs, their_runs in cases:
            signed = work / f"signed-{plain.name}"
            sign_pdf(plain, signer, output=signed)
            data = signed.read_bytes()

            def ours(path: Path = signed) -> None:
                report = verify_pdf(
                    path,
                    trust=trust,
                    policy=policy,
                    revocation=RevocationSource(RevocationData(crls=crls)),
                )
                assert report.passed, report.summary("en")

            def theirs(data: bytes = data) -> None:
                context = ValidationContext(
                    trust_roots=[a_x509.Certificate.load(ca.root.der)],
                    crls=crls,
                    allow_fetching=False,
                    revocation_mode="hard-fail",
                )
                reader = PdfFileReader(io.BytesIO(data))
                status = loop.run_until_complete(
                    async_validate_pdf_signature(reader.embedded_signatures[0], context)
                )
                assert status.bottom_line, status.pretty_print_details()

            t_ours = median_seconds(ours, runs=runs)
            t_theirs = median_seconds(theirs, runs=their_runs)
            print(
                f"  {label:9}  huesign {t_ours * 1000:8.2f} ms   pyHanko {t_theirs * 1000:8.2f} ms"
                f"   huesign is {t_theirs / t_ours:5.1f}x faster (goal >= 3x)"
            )
    loop.close()


if __name__ == "__main__":
    main()
