"""CMS signing and verification speed, against raw cryptography, openssl and pyHanko.

Run with ``python benchmarks/cms.py``.  Everything runs in one process (openssl as a
subprocess); each figure is the median of repeated runs.  Goals: signing B-B of 1 KiB within
1.3x of a raw RSA-2048 signature; full verification (integrity, path, offline revocation) at
least 5x faster than pyHanko's ``validate_detached_cms``.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from asn1crypto import cms as a_cms
from asn1crypto import keys as a_keys
from asn1crypto import x509 as a_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign import signers as ph_signers
from pyhanko.sign.validation import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    KeyAlgorithm,
    KeySigner,
    TrustStore,
    sign_cms,
    verify_cms,
)
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import RevocationData, RevocationSource

DATA = bytes(range(256)) * 4  # 1 KiB


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 3) -> float:
    """The median wall time of ``fn`` over ``runs`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


def main() -> None:
    """Run every measurement and print medians and ratios."""
    ca = DevelopmentCA.create(name="Bench", key_algorithm=KeyAlgorithm.RSA_2048)
    identity = CitizenIdentity(
        common_name="Bench Signer", identifiers=(Identifier.cccd("046085000123"),)
    )
    issued = ca.issue(identity, key_algorithm=KeyAlgorithm.RSA_2048)
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    raw_key = issued.key.to_cryptography()
    assert isinstance(raw_key, rsa.RSAPrivateKey)
    loop = asyncio.new_event_loop()

    # -- signing --------------------------------------------------------------------------
    t_raw = median_seconds(
        lambda: raw_key.sign(DATA, padding.PKCS1v15(), hashes.SHA256()), runs=300
    )
    t_ours = median_seconds(lambda: sign_cms(DATA, signer), runs=300)
    ph = ph_signers.SimpleSigner(
        signing_cert=a_x509.Certificate.load(issued.certificate.der),
        signing_key=a_keys.PrivateKeyInfo.load(issued.key.to_der()),
        cert_registry=SimpleCertificateStore.from_certs(
            [a_x509.Certificate.load(c.der) for c in issued.chain]
        ),
    )
    t_ph_sign = median_seconds(
        lambda: loop.run_until_complete(
            ph.async_sign_general_data(DATA, "sha256", detached=True, use_cades=True)
        ),
        runs=100,
    )
    t_openssl = None
    openssl = shutil.which("openssl")
    if openssl:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "data.bin").write_bytes(DATA)
            (d / "signer.pem").write_bytes(issued.certificate.to_pem() + issued.key.to_pem())
            cmd = [openssl, "cms", "-sign", "-binary", "-in", str(d / "data.bin"), "-signer",
                   str(d / "signer.pem"), "-outform", "DER", "-out", str(d / "o.p7s"),
                   "-nosmimecap", "-cades"]  # fmt: skip
            t_openssl = median_seconds(lambda: subprocess.run(cmd, check=True), runs=30)

    print("Signing CAdES B-B over 1 KiB, RSA-2048 (median)")
    print(f"  raw cryptography RSA sign   {_ms(t_raw)}")
    print(
        f"  huesign sign_cms            {_ms(t_ours)}   ratio {t_ours / t_raw:5.2f}x (goal <= 1.3x)"
    )
    faster = t_ph_sign / t_ours
    print(f"  pyHanko sign_general_data   {_ms(t_ph_sign)}   huesign is {faster:5.2f}x faster")
    if t_openssl is not None:
        faster = t_openssl / t_ours
        print(f"  openssl cms -sign (process) {_ms(t_openssl)}   huesign is {faster:5.2f}x faster")

    # -- verification --------------------------------------------------------------------
    signature = sign_cms(DATA, signer)
    crls = [ca.crl(), ca.crl("root")]
    trust = TrustStore.from_certificates([ca.root])
    policy = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)

    def ours() -> None:
        report = verify_cms(
            signature,
            DATA,
            trust=trust,
            policy=policy,
            revocation=RevocationSource(RevocationData(crls=crls)),
        )
        assert report.passed, report.errors

    signed = a_cms.ContentInfo.load(signature)["content"]

    def theirs() -> None:
        context = ValidationContext(
            trust_roots=[a_x509.Certificate.load(ca.root.der)],
            crls=crls,
            allow_fetching=False,
            revocation_mode="hard-fail",
        )
        status = loop.run_until_complete(
            async_validate_detached_cms(DATA, signed, signer_validation_context=context)
        )
        assert status.bottom_line, status

    t_verify = median_seconds(ours, runs=200)
    t_ph_verify = median_seconds(theirs, runs=50)
    print("Full verification: integrity + path + offline CRLs (median)")
    print(f"  huesign verify_cms              {_ms(t_verify)}")
    print(f"  pyHanko validate_detached_cms   {_ms(t_ph_verify)}   "
          f"huesign is {t_ph_verify / t_verify:5.2f}x faster (goal >= 5x)")  # fmt: skip
    loop.close()


if __name__ == "__main__":
    main()
