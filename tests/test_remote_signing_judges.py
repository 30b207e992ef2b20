"""PDFs signed through remote providers, judged by verify_pdf, pdfsig and pyHanko.

The credentials come from the development CA whose OCSP and CRL services answer on loopback
(``pki_services``), so that ``pdfsig`` can check revocation.  pyHanko's own CSC client signs
through our sandbox: a peer's client proves that our server speaks the protocol.  A missing
program skips its test, except under ``HUESIGN_REQUIRE_JUDGES=1``, where it fails.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from huesign.client import (
    AsyncSP769Client,
    AsyncSP769Signer,
    CSCClient,
    CSCSigner,
)
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    RevocationData,
    RevocationMode,
    RevocationSource,
    TrustStore,
    ValidationPolicy,
    sign_pdf,
    sign_pdf_async,
    verify_pdf,
)
from huesign.sandbox import (
    RunningSigningSandbox,
    SandboxCredential,
    create_signing_app,
    serve_signing_sandbox,
)
from judges import pdfsig
from padeshelpers import make_pdf

USER = "046190005555"
PIN = "123456"
SP = {"sp_id": "huesign-sp", "sp_password": "sandbox-sp-secret"}


@pytest.fixture(scope="module")
def holder(pki_services: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(
        common_name="Nguyễn Phúc Bảo An", identifiers=(Identifier.cccd(USER),), country="VN"
    )
    return pki_services.issue(identity)


@pytest.fixture(scope="module")
def provider(
    pki_services: DevelopmentCA, holder: IssuedCertificate
) -> Iterator[RunningSigningSandbox]:
    credential = SandboxCredential.for_citizen(holder, scal=2)
    with serve_signing_sandbox(create_signing_app(pki_services, citizens=[credential])) as running:
        yield running


@pytest.fixture(scope="module")
def form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(
        tmp_path_factory.mktemp("remote-pdf") / "form.pdf", text="To khai dang ky khai sinh"
    )


@pytest.fixture(scope="module")
def csc_pdf(provider: RunningSigningSandbox, form: Path) -> Path:
    with CSCClient(provider.base_url) as client:
        client.login(USER, "password")
        signer = CSCSigner.connect(client, "cred-" + USER, pin=PIN)
        assert signer.credential.scal == 2
        target = form.with_name("csc.pdf")
        sign_pdf(form, signer, output=target, reason="Nộp hồ sơ", location="Huế")
    return target


@pytest.fixture(scope="module")
def sp769_pdf(provider: RunningSigningSandbox, form: Path) -> Path:
    target = form.with_name("sp769.pdf")

    async def run() -> None:
        async with AsyncSP769Client(provider.sp769_url, **SP) as client:
            signer = await AsyncSP769Signer.connect(client, USER, poll_interval=0.01)
            await sign_pdf_async(form, signer, output=target)

    asyncio.run(run())
    return target


def _verified(ca: DevelopmentCA, path: Path) -> bool:
    report = verify_pdf(
        path,
        trust=TrustStore.from_certificates([ca.root]),
        policy=ValidationPolicy(revocation_mode=RevocationMode.OFFLINE),
        revocation=RevocationSource(RevocationData(crls=(ca.crl(), ca.crl("root")))),
    )
    return report.passed


def test_a_pdf_signed_through_a_csc_scal2_credential_passes_verify_pdf(
    pki_services: DevelopmentCA, csc_pdf: Path
) -> None:
    assert _verified(pki_services, csc_pdf)


def test_a_pdf_signed_through_sp769_passes_verify_pdf(
    pki_services: DevelopmentCA, sp769_pdf: Path
) -> None:
    assert _verified(pki_services, sp769_pdf)


@pytest.mark.parametrize("which", ["csc_pdf", "sp769_pdf"])
def test_pdfsig_finds_the_remote_signature_valid_and_trusted(
    nssdb: str, which: str, request: pytest.FixtureRequest
) -> None:
    output = pdfsig(request.getfixturevalue(which), nssdb).output
    assert "Signature is Valid." in output
    assert "Certificate is Trusted." in output
    assert "Total document signed" in output


def test_pyhankos_csc_signer_signs_through_our_sandbox(
    provider: RunningSigningSandbox, pki_services: DevelopmentCA, form: Path, tmp_path: Path
) -> None:
    aiohttp = pytest.importorskip("aiohttp", reason="pyHanko's CSC signer needs aiohttp")
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.signers import csc_signer as csc

    basic = base64.b64encode(f"{USER}:password".encode()).decode()
    login = httpx.post(
        f"{provider.base_url}/csc/v1/auth/login",
        headers={"Authorization": f"Basic {basic}"},
        json={},
        timeout=10,
    )
    token = login.json()["access_token"]

    async def run() -> bytes:
        async with aiohttp.ClientSession() as session:
            info = csc.CSCServiceSessionInfo(
                service_url=provider.base_url, credential_id="cred-" + USER, oauth_token=token
            )
            credential = await csc.fetch_certs_in_csc_credential(session, info)

            class PinAuthorization(csc.CSCAuthorizationManager):
                async def authorize_signature(
                    self, hash_b64s: list[str]
                ) -> csc.CSCAuthorizationInfo:
                    body = self.format_csc_auth_request(pin=PIN, hash_b64s=hash_b64s)
                    url = self.csc_session_info.endpoint_url("credentials/authorize")
                    async with session.post(
                        url, json=body, headers=self.auth_headers, raise_for_status=True
                    ) as response:
                        return self.parse_csc_auth_response(await response.json())

            signer = csc.CSCSigner(session, PinAuthorization(info, credential))
            pdf_signer = signers.PdfSigner(
                signers.PdfSignatureMetadata(field_name="PyHanko"), signer=signer
            )
            writer = IncrementalPdfFileWriter(io.BytesIO(form.read_bytes()))
            out = await pdf_signer.async_sign_pdf(writer)
            return out.getvalue()

    target = tmp_path / "pyhanko.pdf"
    target.write_bytes(asyncio.run(run()))
    assert _verified(pki_services, target)
