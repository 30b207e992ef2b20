"""The NEAC sp769 client and webhook verifier against the sandbox provider on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator

import pytest

from huesign.client import (
    AsyncSP769Client,
    SP769Client,
    SP769File,
    SP769Status,
    sign_sp769_webhook,
    verify_sp769_webhook,
)
from huesign.errors import (
    AuthorizationDeniedError,
    ConfirmationTimeoutError,
    RemoteSigningError,
    UserRejectedError,
    WebhookVerificationError,
)
from huesign.pki import CitizenIdentity, DevelopmentCA, Identifier, IssuedCertificate
from huesign.sandbox import (
    BEHAVIOUR_HEADER,
    RunningSigningSandbox,
    create_signing_app,
    serve_signing_sandbox,
)

USER = "046088007777"
SP = {"sp_id": "huesign-sp", "sp_password": "sandbox-sp-secret"}


@pytest.fixture(scope="module")
def holder(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(common_name="Hồ Văn Lực", identifiers=(Identifier.cccd(USER),))
    return huesign_pki.issue(identity)


@pytest.fixture(scope="module")
def provider(
    huesign_pki: DevelopmentCA, holder: IssuedCertificate
) -> Iterator[RunningSigningSandbox]:
    with serve_signing_sandbox(create_signing_app(huesign_pki, citizens=[holder])) as running:
        yield running


def _client(provider: RunningSigningSandbox, behaviour: str | None = None) -> SP769Client:
    headers = {BEHAVIOUR_HEADER: behaviour} if behaviour else None
    return SP769Client(provider.sp769_url, headers=headers, **SP)


def _files(*names: str) -> list[SP769File]:
    return [SP769File(doc_id=n, digest=hashlib.sha256(n.encode()).digest()) for n in names]


def test_get_certificate_returns_the_users_certificate_and_chain(
    provider: RunningSigningSandbox, holder: IssuedCertificate
) -> None:
    with _client(provider) as client:
        (found,) = client.certificates(USER)
    assert found.certificate == holder.certificate
    assert found.chain == holder.chain


def test_a_wrong_sp_password_is_refused(provider: RunningSigningSandbox) -> None:
    with (
        SP769Client(provider.sp769_url, sp_id="huesign-sp", sp_password="nope") as client,
        pytest.raises(AuthorizationDeniedError),
    ):
        client.certificates(USER)


def test_an_unknown_user_is_a_provider_error(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client, pytest.raises(RemoteSigningError) as caught:
        client.certificates("001099000000")
    assert caught.value.provider_code == "USER_NOT_FOUND"


def test_the_sp_password_never_shows_in_the_repr(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        assert "sandbox-sp-secret" not in repr(client)


def test_a_transaction_starts_waiting_for_the_citizen(provider: RunningSigningSandbox) -> None:
    with _client(provider, "delay=30") as client:
        tran = client.sign(USER, _files("a"))
        assert client.status(tran).status is SP769Status.WAITING


def test_sign_files_come_back_signed_per_doc_id(
    provider: RunningSigningSandbox, holder: IssuedCertificate
) -> None:
    files = _files("don-1", "don-2", "don-3")
    with _client(provider) as client:
        result = client.wait(client.sign(USER, files), poll_interval=0.01)
    assert result.status is SP769Status.SIGNED
    by_id = {s.doc_id: s.signature for s in result.signatures}
    key = holder.certificate.public_key
    assert all(key.verify(by_id[f.doc_id], f.digest, prehashed=True) for f in files)


def test_a_rejected_transaction_is_user_rejected(provider: RunningSigningSandbox) -> None:
    with _client(provider, "reject") as client:
        tran = client.sign(USER, _files("x"))
        with pytest.raises(UserRejectedError):
            client.wait(tran, poll_interval=0.01)


def test_polling_backs_off_and_stops_at_the_deadline(provider: RunningSigningSandbox) -> None:
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    client = SP769Client(
        provider.sp769_url,
        headers={BEHAVIOUR_HEADER: "never"},
        clock=lambda: now[0],
        sleep=sleep,
        **SP,
    )
    with client:
        tran = client.sign(USER, _files("never"))
        with pytest.raises(ConfirmationTimeoutError):
            client.wait(tran, timeout=60, poll_interval=2, max_interval=10)
    assert pauses[:3] == [2, 3, 4.5]
    assert max(pauses) == 10
    assert sum(pauses) == pytest.approx(60)


def test_doc_ids_must_be_unique(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client, pytest.raises(ValueError, match="unique"):
        client.sign(USER, _files("same", "same"))


def test_the_async_client_signs_too(provider: RunningSigningSandbox) -> None:
    async def run() -> SP769Status:
        async with AsyncSP769Client(provider.sp769_url, **SP) as client:
            tran = await client.sign(USER, _files("async"))
            return (await client.wait(tran, poll_interval=0.01)).status

    assert asyncio.run(run()) is SP769Status.SIGNED


# --- webhook --------------------------------------------------------------------------------------


BODY = json.dumps({"transaction_id": "t1", "tran_status": "REJECTED"}).encode()


def test_a_signed_webhook_verifies_and_parses() -> None:
    headers = sign_sp769_webhook(BODY, secret="s", timestamp=1_700_000_000)
    result = verify_sp769_webhook(BODY, headers, secret="s", now=1_700_000_100)
    assert (result.transaction_id, result.status) == ("t1", SP769Status.REJECTED)


def test_a_tampered_webhook_body_is_refused() -> None:
    headers = sign_sp769_webhook(BODY, secret="s", timestamp=1_700_000_000)
    with pytest.raises(WebhookVerificationError):
        verify_sp769_webhook(BODY.replace(b"t1", b"t2"), headers, secret="s", now=1_700_000_000)


def test_a_webhook_signed_with_another_secret_is_refused() -> None:
    headers = sign_sp769_webhook(BODY, secret="other", timestamp=1_700_000_000)
    with pytest.raises(WebhookVerificationError):
        verify_sp769_webhook(BODY, headers, secret="s", now=1_700_000_000)


def test_a_stale_webhook_is_refused() -> None:
    headers = sign_sp769_webhook(BODY, secret="s", timestamp=1_700_000_000)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_sp769_webhook(BODY, headers, secret="s", now=1_700_000_301)


def test_a_webhook_without_a_signature_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_sp769_webhook(BODY, {}, secret="s", now=1_700_000_000)


def test_the_sandbox_webhook_carries_the_signatures(
    provider: RunningSigningSandbox, holder: IssuedCertificate
) -> None:
    files = _files("hook")
    with _client(provider) as client:
        tran = client.sign(USER, files)
    body, headers = provider.state.webhook(tran)
    result = verify_sp769_webhook(body, headers, secret=SP["sp_password"])
    assert result.status is SP769Status.SIGNED
    signature = result.signatures[0].signature
    assert holder.certificate.public_key.verify(signature, files[0].digest, prehashed=True)
