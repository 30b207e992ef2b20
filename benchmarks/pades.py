"""PAdES signing (and verification) speed against pyHanko, and peak memory on a large file.

Run with ``python benchmarks/pades.py``.  Everything but the memory child runs in one
process; rounds alternate between the engines and each figure is a median.

* **Sign B-B**, RSA-2048, on a 1-page, a 100-page and a 20 MB PDF (generated in a temporary
  directory), each to a new file:

  - huesign ``sign_pdf`` with a :class:`KeySigner` kept loaded (the normal use), and with the
    PKCS#12 file loaded for every signature (like pyHanko's default);
  - pyHanko's ``sign_pdf`` with its default ``SimpleSigner`` loaded from the PKCS#12 file
    for every signature and no reserved size (goal: huesign at least 10x faster);
  - pyHanko tuned: the signer kept loaded and ``bytes_reserved`` given (goal: huesign
    faster).

* **Visible stamp overhead**: huesign signing with a Vietnamese stamp minus signing
  invisibly, after the first stamp in the process (goal: under 10 ms).
* **Verify** the 1-page B-B file: huesign ``verify_pdf`` against pyHanko's
  ``validate_pdf_signature``, both with the CRLs supplied (goal: at least 3x faster).
* **Memory**: a fresh child process signs a ~200 MB PDF to a new file and in place and
  reports its peak RSS (``VmHWM``); the goal is under 100 MB.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _pdfsamples import make_fpdf, make_padded_pdf, median_ms, peak_kb
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    KeyAlgorithm,
    KeySigner,
    sign_pdf,
)

PASSWORD = "1234"  # noqa: S105 - protects a throwaway file in a temporary directory
RESERVED = 8192


def _identity() -> CitizenIdentity:
    return CitizenIdentity(
        common_name="Nguyễn Thị Hương Giang", identifiers=(Identifier.cccd("046190001234"),)
    )


class Setup:
    """An RSA-2048 development CA, a citizen's PKCS#12 file and the signers built from it."""

    def __init__(self, workdir: Path) -> None:
        self.ca = DevelopmentCA.create(name="Bench", key_algorithm=KeyAlgorithm.RSA_2048)
        issued = self.ca.issue(_identity())
        self.p12 = workdir / "citizen.p12"
        self.p12.write_bytes(issued.to_pkcs12(password=PASSWORD))
        self.signer = KeySigner.load_pkcs12(self.p12, PASSWORD)
        from pyhanko.sign import signers as ph_signers

        self.ph_signer = ph_signers.SimpleSigner.load_pkcs12(
            str(self.p12), passphrase=PASSWORD.encode()
        )


def huesign_sign(setup: Setup, src: Path, out: Path, *, load: bool = False) -> None:
    """Sign B-B with huesign (``load``: read the PKCS#12 file first)."""
    signer = KeySigner.load_pkcs12(setup.p12, PASSWORD) if load else setup.signer
    sign_pdf(src, signer, output=out)


def pyhanko_sign(setup: Setup, src: Path, out: Path, *, tuned: bool) -> None:
    """Sign with pyHanko: default (load the PKCS#12 file, size by a dry run) or tuned."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers as ph_signers

    signer = (
        setup.ph_signer
        if tuned
        else ph_signers.SimpleSigner.load_pkcs12(str(setup.p12), passphrase=PASSWORD.encode())
    )
    meta = ph_signers.PdfSignatureMetadata(field_name="Signature1")
    with src.open("rb") as fh, out.open("wb") as target:
        writer = IncrementalPdfFileWriter(fh)
        ph_signers.sign_pdf(
            writer,
            meta,
            signer=signer,
            output=target,
            bytes_reserved=RESERVED if tuned else None,
        )


def _race(rounds: int, engines: dict[str, Callable[[], object]]) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in engines}
    for i in range(rounds + 2):
        for name, fn in engines.items():
            start = time.perf_counter()
            fn()
            if i >= 2:  # the first rounds warm imports and caches
                samples[name].append(time.perf_counter() - start)
    return {name: median_ms(values) for name, values in samples.items()}


def bench_sign(setup: Setup, workdir: Path, rounds: int) -> Path:
    """Print the B-B signing medians; return the 1-page source."""
    out = workdir / "out.pdf"
    sources = {
        "1-page": make_fpdf(workdir / "p1.pdf", 1),
        "100-page": make_fpdf(workdir / "p100.pdf", 100),
        "20 MB": make_padded_pdf(workdir / "p20mb.pdf", 20),
    }
    print("sign B-B, RSA-2048, to a new file (medians)")
    for label, src in sources.items():
        n = rounds if label != "20 MB" else max(5, rounds // 3)
        got = _race(
            n,
            {
                "huesign": lambda src=src: huesign_sign(setup, src, out),
                "huesign+p12": lambda src=src: huesign_sign(setup, src, out, load=True),
                "pyhanko": lambda src=src: pyhanko_sign(setup, src, out, tuned=False),
                "pyhanko-tuned": lambda src=src: pyhanko_sign(setup, src, out, tuned=True),
            },
        )
        ours = got["huesign"]
        print(
            f"  {label:>8}: huesign {ours:7.2f} ms | huesign+p12 load {got['huesign+p12']:7.2f}"
            f" ms | pyHanko default {got['pyhanko']:7.2f} ms ({got['pyhanko'] / ours:5.1f}x)"
            f" | pyHanko tuned {got['pyhanko-tuned']:7.2f} ms"
            f" ({got['pyhanko-tuned'] / ours:4.1f}x)"
        )
    return sources["1-page"]


def bench_visible(setup: Setup, src: Path, rounds: int) -> None:
    """Print the cost of a visible Vietnamese stamp over an invisible signature."""
    from huesign.pki.stamp import RectPlacement, StampAppearance, StampContent

    stamp = StampAppearance(
        placement=RectPlacement(page=0, rect=(320, 60, 570, 150)),
        content=StampContent(reason="Nộp hồ sơ đăng ký tạm trú", location="Phường Thuận Hóa, Huế"),
    )
    data = src.read_bytes()
    sign_pdf(data, setup.signer, appearance=stamp)  # the first stamp loads the fonts
    got = _race(
        rounds,
        {
            "invisible": lambda: sign_pdf(data, setup.signer),
            "visible": lambda: sign_pdf(data, setup.signer, appearance=stamp),
        },
    )
    print(
        f"visible stamp: invisible {got['invisible']:6.2f} ms, visible {got['visible']:6.2f} ms,"
        f" overhead {got['visible'] - got['invisible']:5.2f} ms"
    )


def bench_verify(setup: Setup, src: Path, rounds: int) -> None:
    """Print verify medians for a 1-page B-B file, huesign against pyHanko."""
    from asn1crypto import x509 as a_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from huesign.pki import RevocationData, RevocationSource, TrustStore, verify_pdf

    signed = sign_pdf(src, setup.signer)
    assert signed is not None
    crls = (setup.ca.crl(), setup.ca.crl("root"))
    trust = TrustStore.from_certificates([setup.ca.root])
    revocation = RevocationSource(RevocationData(crls=crls))

    def ours() -> None:
        report = verify_pdf(signed, trust=trust, revocation=revocation)
        assert report.passed

    def theirs() -> None:
        context = ValidationContext(
            trust_roots=[a_x509.Certificate.load(setup.ca.root.der)],
            crls=list(crls),
            allow_fetching=False,
        )
        reader = PdfFileReader(io.BytesIO(signed))
        status = validate_pdf_signature(reader.embedded_signatures[0], context)
        assert status.bottom_line

    got = _race(rounds, {"huesign": ours, "pyhanko": theirs})
    print(
        f"verify 1-page B-B: huesign {got['huesign']:6.2f} ms, pyHanko {got['pyhanko']:6.2f} ms,"
        f" pyHanko/huesign {got['pyhanko'] / got['huesign']:4.1f}x"
    )


def _child(p12: str, src: str, mode: str) -> None:
    signer = KeySigner.load_pkcs12(p12, PASSWORD)
    path = Path(src)
    out = path if mode == "in-place" else path.with_suffix(".out.pdf")
    before_kb = peak_kb()
    start = time.perf_counter()
    sign_pdf(path, signer, output=out)
    elapsed = time.perf_counter() - start
    print(f"{before_kb} {peak_kb()} {elapsed:.3f}")


def bench_memory(setup: Setup, workdir: Path, megabytes: int) -> None:
    """Sign a large file in a fresh child process and print its peak RSS."""
    big = make_padded_pdf(workdir / "big.pdf", megabytes)
    print(f"large file: {big.stat().st_size / 2**20:.0f} MB, sign B-B")
    for mode in ("new-file", "in-place"):
        work = workdir / f"work-{mode}.pdf"
        shutil.copyfile(big, work)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(setup.p12), str(work), mode],
            capture_output=True,
            text=True,
            check=True,
        )
        before_kb, after_kb, elapsed = done.stdout.split()
        print(
            f"  {mode:>8}: peak RSS {int(after_kb) / 1024:6.1f} MB "
            f"(+{(int(after_kb) - int(before_kb)) / 1024:.1f} MB over the process after imports),"
            f" {float(elapsed):.2f} s"
        )
        work.unlink()
        work.with_suffix(".out.pdf").unlink(missing_ok=True)


def main() -> None:
    """Parse options and run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("P12", "PATH", "MODE"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        setup = Setup(workdir)
        one_page = bench_sign(setup, workdir, args.rounds)
        bench_visible(setup, one_page, args.rounds)
        bench_verify(setup, one_page, args.rounds)
        if not args.skip_memory:
            bench_memory(setup, workdir, args.megabytes)


if __name__ == "__main__":
    main()
