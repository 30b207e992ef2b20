"""The pytest plugin works from outside: a project with no set-up code uses its fixtures.

Each test writes a test file into a fresh temporary project (pytester) and runs pytest on it
in a subprocess, where the plugin loads through its ``pytest11`` entry point as it does for
users.  ``--huesign-keep-artifacts DIR`` must leave the CA and the signed files in ``DIR``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from huesign.pki import DevelopmentCA, RevocationData, RevocationSource, TrustStore, verify_pdf

pytest_plugins = ["pytester"]

PKI_AND_STRATEGIES = """
import httpx
from hypothesis import given, settings

from huesign.pki import (KeySigner, RevocationData, RevocationSource, TrustStore, sign_cms,
                         validate_path, verify_cms, verify_pdf)
from huesign.testing.strategies import CertificateDefect, broken_certificates, tampered_pdfs


def offline(ca):
    return RevocationSource(RevocationData(crls=[ca.crl(), ca.crl("root")]))


def test_citizen_signs_and_verifies(huesign_pki, citizen):
    signer = KeySigner(key=citizen.key, certificate=citizen.certificate, chain=citizen.chain)
    signature = sign_cms(b"to khai", signer)
    trust = TrustStore.from_certificates([huesign_pki.root])
    report = verify_cms(signature, b"to khai", trust=trust, revocation=offline(huesign_pki))
    assert report.passed
    assert report.signer.cccd == "046190001234"


def test_officer_and_seal_come_from_the_same_ca(huesign_pki, officer, agency_seal):
    assert officer.chain == agency_seal.chain == huesign_pki.chain


def test_pki_services_serve_the_crl(pki_services):
    response = httpx.get(pki_services.crl_url(), timeout=10)
    assert response.status_code == 200


def test_signed_pdf_verifies(signed_pdf, huesign_pki):
    trust = TrustStore.from_certificates([huesign_pki.root])
    assert verify_pdf(signed_pdf, trust=trust, revocation=offline(huesign_pki)).passed


def test_files_written_to_the_artifacts_directory_are_kept(signed_pdf, huesign_artifacts):
    assert signed_pdf.parent == huesign_artifacts
    (huesign_artifacts / "note.txt").write_text("kept")


@settings(max_examples=3, deadline=None)
@given(broken_certificates(kinds=[CertificateDefect.REVOKED]))
def test_revoked_certificates_are_revoked(labelled):
    result = validate_path(labelled.issued.certificate, trust=labelled.trust,
                           intermediates=labelled.issued.chain, at=labelled.at,
                           revocation=labelled.revocation_source())
    assert result.sub_indication is labelled.expected_sub_indication


@settings(max_examples=3, deadline=None)
@given(tampered_pdfs())
def test_tampered_pdfs_fail(tampered):
    chain = tampered.chain
    report = verify_pdf(tampered.data, trust=chain.trust, at=chain.at,
                        revocation=chain.revocation_source())
    assert not report.passed
"""

SERVICES = """
from huesign.client import PortalClient


def test_softhsm_token_holds_the_citizen_keys(softhsm_token):
    assert softhsm_token.objects


def test_sandbox_runs_on_loopback(sandbox):
    assert sandbox.portal_url.startswith("http://127.0.0.1")


def test_portal_client_lists_procedures(portal_client):
    assert isinstance(portal_client, PortalClient)
    assert next(iter(portal_client.procedures.list()), None) is not None


def test_csc_signer_signs_for_the_citizen(csc_signer, citizen):
    assert csc_signer.certificate == citizen.certificate


def test_without_the_option_artifacts_go_to_a_temporary_directory(huesign_artifacts, huesign_pki):
    assert huesign_artifacts.is_dir()
    assert not (huesign_artifacts / "devca").exists()
"""


def test_fixtures_and_strategies_need_no_set_up_and_artifacts_are_kept(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The inner run is not an xdist worker, even when this suite runs under xdist.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_app=PKI_AND_STRATEGIES)
    keep = tmp_path / "kept"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--huesign-keep-artifacts", keep
    )
    result.assert_outcomes(passed=7)
    # The CA and the signed PDF stay in DIR, and the signature verifies under that CA.
    ca = DevelopmentCA.load(keep / "devca")
    assert (keep / "note.txt").read_text() == "kept"
    report = verify_pdf(
        keep / "citizen-signed.pdf",
        trust=TrustStore.from_certificates([ca.root]),
        revocation=RevocationSource(RevocationData(crls=[ca.crl(), ca.crl("root")])),
    )
    assert report.passed, report.summary("en")


def test_service_fixtures_need_no_set_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_services=SERVICES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    outcomes = result.parseoutcomes()
    # Only the token may skip, and only where SoftHSM2 is not installed.
    expected_skips = 0 if shutil.which("softhsm2-util") else 1
    assert outcomes.get("passed", 0) == 5 - expected_skips, result.stdout.str()
    assert outcomes.get("skipped", 0) == expected_skips
    assert not list(pytester.path.rglob("ca.json"))
