"""Rare failures against the real sandbox: dropped connections after a commit, 503s, timeouts.

The transport wrappers below perform the real request and then misbehave, the way a flaky
network does: the server has committed, the client never sees the answer.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import httpx
import pytest

from huesign.client import (
    AsyncPortalClient,
    DossierState,
    PaymentState,
    PortalClient,
    WalletClient,
)
from huesign.errors import RequestTimeout, ServerError
from huesign.pki import KeySigner, sign_cms
from huesign.sandbox import RunningSandbox

FORM = b"%PDF-1.7\n% faults\n"
Match = Callable[[httpx.Request], bool]


class DropAfterCommit(httpx.BaseTransport):
    """Sends the request for real, reads the answer, then reports a dropped connection."""

    def __init__(self, match: Match, *, times: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.match = match
        self.left = times
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.left > 0 and self.match(request):
            self.sent.append(request.headers.get("Idempotency-Key", ""))
            response.read()
            response.close()
            self.left -= 1
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncDropAfterCommit(httpx.AsyncBaseTransport):
    """The async twin of :class:`DropAfterCommit`."""

    def __init__(self, match: Match, *, times: int = 1) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.match = match
        self.left = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.left > 0 and self.match(request):
            await response.aread()
            await response.aclose()
            self.left -= 1
            raise httpx.ReadError("connection reset", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class UnavailableFirst(httpx.BaseTransport):
    """Answers 503 (with Retry-After: 0) to the first ``times`` requests, then passes through."""

    def __init__(self, *, times: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.left = times
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            return httpx.Response(
                503,
                headers={"Retry-After": "0", "content-type": "application/problem+json"},
                json={"title": "Service Unavailable", "status": 503},
            )
        return self.inner.handle_request(request)


def _post_to(suffix: str) -> Match:
    return lambda request: request.method == "POST" and request.url.path.endswith(suffix)


def _new_citizen(sandbox: RunningSandbox, cccd: str) -> str:
    response = httpx.post(
        sandbox.base_url + "/sandbox/citizens",
        json={"cccd": cccd, "name": "Phạm Thị C"},
        headers={"Authorization": f"Bearer {sandbox.credentials.admin_token}"},
    )
    response.raise_for_status()
    return str(response.json()["token"])


def _signature(sandbox: RunningSandbox) -> bytes:
    issued = sandbox.parts.citizen
    return sign_cms(
        FORM, KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    )


def _quick(client: PortalClient) -> PortalClient:
    client._http._sleep = lambda _seconds: None
    return client


def test_a_dropped_create_is_retried_into_exactly_one_dossier(sandbox: RunningSandbox) -> None:
    token = _new_citizen(sandbox, "046199000001")
    transport = DropAfterCommit(_post_to("/dossiers"))
    with _quick(
        PortalClient(base_url=sandbox.portal_url, token=token, transport=transport)
    ) as portal:
        dossier = portal.dossiers.create(procedure_code="1.001193")
        assert transport.left == 0
        assert [d.id for d in portal.dossiers.list()] == [dossier.id]


def test_a_dropped_submit_leaves_one_submitted_dossier(sandbox: RunningSandbox) -> None:
    token = _new_citizen(sandbox, "046199000002")
    transport = DropAfterCommit(_post_to("/submit"))
    with _quick(
        PortalClient(base_url=sandbox.portal_url, token=token, transport=transport)
    ) as portal:
        dossier = portal.dossiers.create(procedure_code="1.001193")
        portal.dossiers.attach_form(dossier.id, document=FORM, signature=_signature(sandbox))
        submitted = portal.dossiers.submit(dossier.id)
        assert submitted.state is DossierState.SUBMITTED
        history = [c.state for c in portal.dossiers.history(dossier.id)]
        assert history.count(DossierState.SUBMITTED) == 1
        assert len(list(portal.dossiers.list())) == 1


def test_a_dropped_payment_is_retried_into_exactly_one_payment(
    sandbox: RunningSandbox, wallet_client: WalletClient
) -> None:
    token = sandbox.credentials.citizen_token
    with PortalClient(base_url=sandbox.portal_url, token=token) as portal:
        dossier = portal.dossiers.create(procedure_code="1.004873")
        portal.dossiers.attach_form(dossier.id, document=FORM, signature=_signature(sandbox))
        portal.dossiers.submit(dossier.id)
    create_drop = DropAfterCommit(_post_to("/payment"))
    with _quick(
        PortalClient(base_url=sandbox.portal_url, token=token, transport=create_drop)
    ) as portal:
        payment = portal.dossiers.pay(dossier.id)
    confirm_drop = DropAfterCommit(_post_to("/confirm"))
    with WalletClient(base_url=sandbox.wallet_url, token=token, transport=confirm_drop) as wallet:
        wallet._http._sleep = lambda _seconds: None
        confirmed = wallet.payments.confirm(payment.id)
    assert confirm_drop.left == 0
    assert create_drop.left == 0
    assert confirmed.state is PaymentState.SUCCEEDED
    payments = list(wallet_client.payments.list(dossier_id=dossier.id))
    assert [p.id for p in payments] == [payment.id]
    notes = httpx.get(
        sandbox.base_url + "/sandbox/notifications",
        params={"payment_id": payment.id},
        headers={"Authorization": f"Bearer {sandbox.credentials.admin_token}"},
    ).json()["items"]
    assert len(notes) == 1


def test_503_then_success_is_invisible_to_the_caller(sandbox: RunningSandbox) -> None:
    transport = UnavailableFirst(times=2)
    with PortalClient(
        base_url=sandbox.portal_url, token=sandbox.credentials.citizen_token, transport=transport
    ) as portal:
        dossier = portal.dossiers.create(procedure_code="1.001193")
    assert dossier.state is DossierState.DRAFT
    assert transport.calls == 3


def test_too_many_503s_raise_after_the_bounded_retries(sandbox: RunningSandbox) -> None:
    transport = UnavailableFirst(times=10)
    with (
        PortalClient(
            base_url=sandbox.portal_url,
            token=sandbox.credentials.citizen_token,
            transport=transport,
            max_retries=1,
        ) as portal,
        pytest.raises(ServerError) as caught,
    ):
        portal.procedures.get("1.001193")
    assert caught.value.status_code == 503
    assert transport.calls == 2


def test_a_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/portal/v1"
        with PortalClient(base_url=url, token="t", timeout=0.2, max_retries=1) as portal:
            portal._http._sleep = lambda _seconds: None
            with pytest.raises(RequestTimeout):
                portal.dossiers.create(procedure_code="1.001193")
    finally:
        listener.close()


def test_an_async_dropped_create_is_retried_into_exactly_one_dossier(
    sandbox: RunningSandbox,
) -> None:
    token = _new_citizen(sandbox, "046199000003")

    async def run() -> tuple[str, list[str]]:
        transport = AsyncDropAfterCommit(_post_to("/dossiers"))
        async with AsyncPortalClient(
            base_url=sandbox.portal_url, token=token, transport=transport
        ) as portal:
            portal._http._sleep = lambda _seconds: None
            dossier = await portal.dossiers.create(procedure_code="1.001193")
            return dossier.id, [d.id async for d in portal.dossiers.list()]

    created, listed = asyncio.run(run())
    assert listed == [created]
