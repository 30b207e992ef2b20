"""Remote signers (CSC and sp769) behind the Signer protocol: CMS, batches and failures."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator

import httpx
import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from huesign.client import (
    AsyncCSCClient,
    AsyncCSCSigner,
    AsyncSP769Client,
    AsyncSP769Signer,
    CSCClient,
    CSCSigner,
    CSCVersion,
    SP769Client,
    SP769Signer,
    sign_cms_batch,
    sign_cms_batch_async,
    sign_pdf_batch_async,
    verification_code,
)
from huesign.errors import (
    AuthorizationDeniedError,
    RemoteSigningError,
    RequestTimeout,
    TransportError,
    UserRejectedError,
)
from huesign.pki import (
    AsyncSigner,
    CitizenIdentity,
    DevelopmentCA,
    DigestToSign,
    Identifier,
    Indication,
    IssuedCertificate,
    KeyAlgorithm,
    RevocationData,
    RevocationMode,
    RevocationSource,
    SignatureAlgorithm,
    Signer,
    TrustStore,
    ValidationPolicy,
    sign_cms,
    sign_cms_async,
    verify_cms,
    verify_pdf,
)
from huesign.sandbox import (
    BEHAVIOUR_HEADER,
    RunningSigningSandbox,
    SandboxCredential,
    create_signing_app,
    serve_signing_sandbox,
)

USER = "046092003333"
PIN = "123456"
SP = {"sp_id": "huesign-sp", "sp_password": "sandbox-sp-secret"}
OFFLINE = ValidationPolicy(revocation_mode=RevocationMode.OFFLINE)


@pytest.fixture(scope="module")
def holder(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(common_name="Tôn Nữ Minh Châu", identifiers=(Identifier.cccd(USER),))
    return huesign_pki.issue(identity)


@pytest.fixture(scope="module")
def rsa_holder(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(common_name="Tôn Nữ Minh Châu", identifiers=(Identifier.cccd(USER),))
    return huesign_pki.issue(identity, key_algorithm=KeyAlgorithm.RSA_2048)


@pytest.fixture(scope="module")
def provider(
    huesign_pki: DevelopmentCA, holder: IssuedCertificate, rsa_holder: IssuedCertificate
) -> Iterator[RunningSigningSandbox]:
    credentials = [
        SandboxCredential.for_citizen(holder, multisign=4),
        SandboxCredential.for_citizen(holder, credential_id="scal1", scal=1, multisign=4),
        SandboxCredential.for_citizen(holder, credential_id="otp", otp=True),
        SandboxCredential.for_citizen(rsa_holder, credential_id="rsa"),
    ]
    with serve_signing_sandbox(create_signing_app(huesign_pki, citizens=credentials)) as running:
        yield running


def _signer(
    provider: RunningSigningSandbox,
    credential_id: str = "cred-" + USER,
    *,
    behaviour: str | None = None,
    transport: httpx.BaseTransport | None = None,
    pin: str = PIN,
    timeout: float = 10.0,
) -> CSCSigner:
    headers = {BEHAVIOUR_HEADER: behaviour} if behaviour else None
    client = CSCClient(provider.base_url, headers=headers, transport=transport, timeout=timeout)
    client.login(USER, "password")
    return CSCSigner.connect(client, credential_id, pin=pin)


@pytest.fixture(scope="module")
def scal2_signer(provider: RunningSigningSandbox) -> CSCSigner:
    return _signer(provider)


def _verify(ca: DevelopmentCA, signature: bytes, data: bytes) -> Indication:
    report = verify_cms(
        signature,
        data,
        trust=TrustStore.from_certificates([ca.root]),
        policy=OFFLINE,
        revocation=RevocationSource(RevocationData(crls=(ca.crl(), ca.crl("root")))),
    )
    return report.indication


def _requests(count: int) -> list[DigestToSign]:
    return [
        DigestToSign(
            digest=hashlib.sha256(f"hồ sơ {i}".encode()).digest(),
            algorithm=SignatureAlgorithm.ECDSA_SHA256,
        )
        for i in range(count)
    ]


def test_remote_signers_implement_the_signer_protocols(provider: RunningSigningSandbox) -> None:
    signer = _signer(provider)
    assert isinstance(signer, Signer)
    sp = SP769Signer.connect(SP769Client(provider.sp769_url, **SP), USER)
    assert isinstance(sp, Signer)
    async_cls: tuple[type, ...] = (AsyncCSCSigner, AsyncSP769Signer)
    assert all(hasattr(cls, "sign_digests") for cls in async_cls)


def test_a_cms_signed_through_a_csc_scal2_credential_validates(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA
) -> None:
    data = "Tờ khai đăng ký khai sinh".encode()
    signature = sign_cms(data, _signer(provider))
    assert _verify(huesign_pki, signature, data) is Indication.TOTAL_PASSED


def test_a_cms_signed_through_sp769_validates(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA
) -> None:
    signer = SP769Signer.connect(SP769Client(provider.sp769_url, **SP), USER, poll_interval=0.01)
    data = b"sp769 form"
    assert _verify(huesign_pki, sign_cms(data, signer), data) is Indication.TOTAL_PASSED


@pytest.mark.parametrize(
    "algorithm", [SignatureAlgorithm.RSA_PKCS1V15_SHA256, SignatureAlgorithm.RSA_PSS_SHA256]
)
def test_an_rsa_credential_signs_cms_with_pkcs1_and_pss(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA, algorithm: SignatureAlgorithm
) -> None:
    signer = _signer(provider, "rsa")
    assert signer.algorithms[0] is SignatureAlgorithm.RSA_PKCS1V15_SHA256
    signature = sign_cms(b"rsa", signer, algorithm=algorithm)
    assert _verify(huesign_pki, signature, b"rsa") is Indication.TOTAL_PASSED


def test_the_plugin_csc_signer_fixture_signs(
    csc_signer: CSCSigner, huesign_pki: DevelopmentCA
) -> None:
    assert (
        _verify(huesign_pki, sign_cms(b"fixture", csc_signer), b"fixture")
        is Indication.TOTAL_PASSED
    )


def test_the_sandbox_shows_the_signers_verification_code(provider: RunningSigningSandbox) -> None:
    requests = _requests(3)
    signer = _signer(provider)
    signer.sign_digests(requests)
    shown = provider.state.confirmations[-1]
    assert shown.verification_code == signer.verification_code([r.digest for r in requests])
    assert shown.count == 3


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_the_code_of_one_digest_matches_digest_to_sign(digest: bytes) -> None:
    request = DigestToSign(digest=digest, algorithm=SignatureAlgorithm.ECDSA_SHA256)
    code = verification_code([digest])
    assert code == request.verification_code
    assert len(code) == 4
    assert code.isdigit()


def test_a_scal2_batch_larger_than_multisign_needs_one_confirmation_per_part(
    provider: RunningSigningSandbox, holder: IssuedCertificate
) -> None:
    before = len(provider.state.confirmations)
    requests = _requests(10)
    signatures = _signer(provider).sign_digests(requests)
    assert len(provider.state.confirmations) - before == 3
    key = holder.certificate.public_key
    assert all(
        key.verify(s, r.digest, prehashed=True) for s, r in zip(signatures, requests, strict=True)
    )


def test_a_scal1_batch_is_authorized_once_for_all_parts(provider: RunningSigningSandbox) -> None:
    signatures = _signer(provider, "scal1").sign_digests(_requests(9))
    assert len(signatures) == 9


def test_a_credential_with_otp_signs_with_the_otp_from_the_app(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA
) -> None:
    client = CSCClient(provider.base_url)
    client.login(USER, "password")
    signer = CSCSigner.connect(
        client, "otp", pin=PIN, otp=lambda c: provider.state.otp(c.credential_id) or ""
    )
    assert _verify(huesign_pki, sign_cms(b"otp", signer), b"otp") is Indication.TOTAL_PASSED


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=4))
def test_generated_document_batches_all_validate(
    scal2_signer: CSCSigner, huesign_pki: DevelopmentCA, documents: list[bytes]
) -> None:
    signatures = sign_cms_batch(documents, scal2_signer)
    assert all(
        _verify(huesign_pki, s, d) is Indication.TOTAL_PASSED
        for s, d in zip(signatures, documents, strict=True)
    )


# --- failures ------------------------------------------------------------------------------------


def test_a_wrong_pin_fails_the_signature(provider: RunningSigningSandbox) -> None:
    with pytest.raises(AuthorizationDeniedError):
        sign_cms(b"x", _signer(provider, pin="999999"))


def test_the_citizen_rejecting_fails_the_csc_signature(provider: RunningSigningSandbox) -> None:
    with pytest.raises(UserRejectedError):
        sign_cms(b"x", _signer(provider, behaviour="reject"))


def test_the_citizen_rejecting_fails_the_sp769_signature(provider: RunningSigningSandbox) -> None:
    client = SP769Client(provider.sp769_url, headers={BEHAVIOUR_HEADER: "reject"}, **SP)
    signer = SP769Signer.connect(client, USER, poll_interval=0.01)
    with pytest.raises(UserRejectedError):
        sign_cms(b"x", signer)


def test_a_provider_that_never_answers_times_out(provider: RunningSigningSandbox) -> None:
    signer = _signer(provider, behaviour="never", timeout=0.5)
    with pytest.raises(RequestTimeout):
        signer.sign_digests(_requests(1))


@pytest.mark.parametrize("corruption", ["malformed", "wrong-key"])
def test_a_bad_csc_signature_is_caught_before_it_is_returned(
    provider: RunningSigningSandbox, corruption: str
) -> None:
    with pytest.raises(RemoteSigningError, match="does not verify"):
        sign_cms_batch([b"a", b"b"], _signer(provider, behaviour=corruption))


@pytest.mark.parametrize("corruption", ["malformed", "wrong-key"])
def test_a_bad_sp769_signature_is_caught_before_it_is_returned(
    provider: RunningSigningSandbox, corruption: str
) -> None:
    client = SP769Client(provider.sp769_url, headers={BEHAVIOUR_HEADER: corruption}, **SP)
    signer = SP769Signer.connect(client, USER, poll_interval=0.01)
    with pytest.raises(RemoteSigningError, match="does not verify"):
        sign_cms(b"x", signer)


class _DropAfter(httpx.BaseTransport):
    """Passes ``allowed`` requests to the real server, then drops the connection."""

    def __init__(self, allowed: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.allowed = allowed
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.sent > self.allowed:
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_network_drop_mid_batch_leaves_no_document_signed(
    provider: RunningSigningSandbox,
) -> None:
    # login, credentials/info, then per part of 4: authorize + signHash; the drop hits the
    # second part, after the first part's signatures have come back.
    transport = _DropAfter(allowed=2 + 2 + 1)
    signer = _signer(provider, transport=transport)
    outputs: tuple[bytes, ...] = ()
    with pytest.raises(TransportError):
        outputs = sign_cms_batch([f"form {i}".encode() for i in range(10)], signer)
    assert transport.sent == 6
    assert outputs == ()


# --- async -------------------------------------------------------------------------------------


def test_an_async_csc_signer_in_v2_asynchronous_mode_signs_cms(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA
) -> None:
    async def run() -> bytes:
        async with AsyncCSCClient(provider.base_url, version=CSCVersion.V2) as client:
            await client.login(USER, "password")
            credential = await client.credential("cred-" + USER)
            signer = AsyncCSCSigner(
                client, credential, pin=PIN, asynchronous=True, poll_interval=0.01
            )
            assert isinstance(signer, AsyncSigner)
            return await sign_cms_async(b"async", signer)

    assert _verify(huesign_pki, asyncio.run(run()), b"async") is Indication.TOTAL_PASSED


def test_an_async_sp769_batch_is_one_transaction(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA
) -> None:
    documents = [f"tờ khai {i}".encode() for i in range(5)]

    async def run() -> tuple[bytes, ...]:
        async with AsyncSP769Client(provider.sp769_url, **SP) as client:
            signer = await AsyncSP769Signer.connect(client, USER, poll_interval=0.01)
            return await sign_cms_batch_async(documents, signer)

    before = len(provider.state.confirmations)
    signatures = asyncio.run(run())
    assert len(provider.state.confirmations) - before == 1
    assert all(
        _verify(huesign_pki, s, d) is Indication.TOTAL_PASSED
        for s, d in zip(signatures, documents, strict=True)
    )


# --- PDF batches ---------------------------------------------------------------------------


def _forms(count: int) -> list[bytes]:
    forms = []
    for i in range(count):
        pdf = FPDF()
        pdf.set_font("helvetica", size=12)
        pdf.add_page()
        pdf.cell(text=f"To khai so {i}")
        forms.append(bytes(pdf.output()))
    return forms


async def _pdf_batch(
    provider: RunningSigningSandbox,
    forms: list[bytes],
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[bytes, ...]:
    async with AsyncCSCClient(provider.base_url, transport=transport) as client:
        await client.login(USER, "password")
        signer = AsyncCSCSigner(client, await client.credential("cred-" + USER), pin=PIN)
        return await sign_pdf_batch_async(forms, signer, reason="Nộp hồ sơ")


def test_a_pdf_batch_is_signed_with_one_confirmation_per_multisign_part(
    provider: RunningSigningSandbox, huesign_pki: DevelopmentCA
) -> None:
    before = len(provider.state.confirmations)
    signed = asyncio.run(_pdf_batch(provider, _forms(4)))
    assert len(provider.state.confirmations) - before == 1
    for document in signed:
        report = verify_pdf(
            document,
            trust=TrustStore.from_certificates([huesign_pki.root]),
            policy=OFFLINE,
            revocation=RevocationSource(
                RevocationData(crls=(huesign_pki.crl(), huesign_pki.crl("root")))
            ),
        )
        assert report.passed


class _AsyncDropAfter(httpx.AsyncBaseTransport):
    def __init__(self, allowed: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.allowed = allowed
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.sent > self.allowed:
            raise httpx.ReadError("connection dropped", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_network_drop_mid_pdf_batch_returns_no_signed_pdf(
    provider: RunningSigningSandbox,
) -> None:
    transport = _AsyncDropAfter(allowed=2 + 2 + 1)  # the second part's signHash is dropped
    signed: tuple[bytes, ...] = ()
    with pytest.raises(TransportError):
        signed = asyncio.run(_pdf_batch(provider, _forms(6), transport))
    assert transport.sent == 6
    assert signed == ()
