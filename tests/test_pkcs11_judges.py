"""Signatures made on a SoftHSM2 token, judged by huesign and by independent verifiers.

CMS signatures go to ``openssl cms -verify``; a PAdES signature goes to poppler's ``pdfsig``
(trusting the test root through its own NSS database) and ``qpdf --check``.  Missing
programs skip these tests, unless ``HUESIGN_REQUIRE_JUDGES=1`` (CI), where they fail.

pdfsig asks the OCSP responder named in the signer's certificate, so the token's keys are
certified here by the development CA whose services answer on loopback (``pki_services``);
the signer finds each key on the token by its public key, not by the stored certificate.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from huesign.pki import (
    Certificate,
    DevelopmentCA,
    Indication,
    PKCS11Signer,
    RevocationData,
    RevocationMode,
    RevocationSource,
    TrustStore,
    ValidationPolicy,
    diagnose_token,
    sign_cms,
    verify_cms,
    verify_pdf,
)
from huesign.pki.pades import sign_pdf
from huesign.testing.softhsm import SoftHSMToken
from judges import pdfsig, require_program
from padeshelpers import make_pdf

DATA = "Tờ khai đăng ký thường trú\n".encode() * 40
OFFLINE = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)


@pytest.fixture(scope="module")
def certified(
    softhsm_tokens: Mapping[str, SoftHSMToken], pki_services: DevelopmentCA
) -> dict[str, Certificate]:
    """The token's RSA and EC public keys, certified by the CA with live services."""
    token = softhsm_tokens["citizen"]
    report = diagnose_token(token.module_path, token_label=token.label)
    found: dict[str, Certificate] = {}
    for entry in report.entries:
        assert entry.certificate is not None
        family = entry.certificate.public_key.description.split("-", 1)[0]
        found[family] = pki_services.certify(
            entry.certificate.public_key, entry.certificate.identity
        )
    assert set(found) == {"rsa", "ec"}
    return found


@pytest.fixture(params=["rsa", "ec"])
def signer(
    request: pytest.FixtureRequest,
    softhsm_tokens: Mapping[str, SoftHSMToken],
    certified: dict[str, Certificate],
    pki_services: DevelopmentCA,
) -> Iterator[PKCS11Signer]:
    token = softhsm_tokens["citizen"]
    with PKCS11Signer.open(
        token.module_path,
        pin=token.user_pin,
        token_label=token.label,
        certificate=certified[request.param],
        chain=(pki_services.intermediate, pki_services.root),
    ) as opened:
        yield opened


def _revocation(ca: DevelopmentCA) -> RevocationSource:
    return RevocationSource(RevocationData(crls=[ca.crl(), ca.crl("root")]))


def test_cms_signed_on_the_token_passes_verify_cms(
    signer: PKCS11Signer, pki_services: DevelopmentCA
) -> None:
    report = verify_cms(
        sign_cms(DATA, signer),
        DATA,
        trust=TrustStore.from_certificates([pki_services.root]),
        policy=OFFLINE,
        revocation=_revocation(pki_services),
    )
    assert report.indication is Indication.TOTAL_PASSED, report.errors


def test_cms_signed_on_the_token_passes_openssl(
    signer: PKCS11Signer, pki_services: DevelopmentCA, tmp_path: Path
) -> None:
    openssl = require_program("openssl")
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "sig.p7s").write_bytes(sign_cms(DATA, signer))
    (tmp_path / "root.pem").write_bytes(pki_services.root.to_pem())
    args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / "sig.p7s"]
    args += ["-content", tmp_path / "data.bin", "-CAfile", tmp_path / "root.pem"]
    args += ["-purpose", "any", "-out", os.devnull]
    done = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (tmp_path / "data.bin").write_bytes(DATA + b"!")
    tampered = subprocess.run(
        [openssl, *map(str, args)], capture_output=True, text=True, check=False
    )
    assert tampered.returncode != 0


@pytest.fixture(scope="module")
def form_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(
        tmp_path_factory.mktemp("token-pdf") / "form.pdf", text="To khai dang ky thuong tru"
    )


def test_pdf_signed_on_the_token_passes_verify_pdf_pdfsig_and_qpdf(
    signer: PKCS11Signer,
    pki_services: DevelopmentCA,
    form_pdf: Path,
    nssdb: str,
    tmp_path: Path,
) -> None:
    signed = tmp_path / "signed.pdf"
    sign_pdf(form_pdf, signer, output=signed)
    report = verify_pdf(
        signed,
        trust=TrustStore.from_certificates([pki_services.root]),
        policy=OFFLINE,
        revocation=_revocation(pki_services),
    )
    assert report.passed, report.summary("en")
    judged = pdfsig(signed, nssdb)
    assert "Signature is Valid." in judged.stdout, judged.stdout + judged.stderr
    assert "Certificate is Trusted." in judged.stdout, judged.stdout
    assert "Total document signed" in judged.stdout
    qpdf = subprocess.run(
        [require_program("qpdf"), "--check", str(signed)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr
