"""The async portal and wallet clients against the real sandbox over loopback HTTP."""

from __future__ import annotations

import asyncio

import pytest

from huesign.client import (
    AsyncPortalClient,
    AsyncWalletClient,
    DossierState,
    PaymentState,
)
from huesign.errors import ConflictError
from huesign.pki import KeySigner, sign_cms
from huesign.sandbox import RunningSandbox

pytestmark = pytest.mark.anyio

FORM = b"%PDF-1.7\n% async form\n"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _signature(sandbox: RunningSandbox) -> bytes:
    issued = sandbox.parts.citizen
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    return sign_cms(FORM, signer)


async def test_async_citizen_submits_and_pays(
    async_portal_client: AsyncPortalClient, sandbox: RunningSandbox
) -> None:
    portal = async_portal_client
    dossier = await portal.dossiers.create(procedure_code="1.004873")
    await portal.dossiers.attach_form(dossier.id, document=FORM, signature=_signature(sandbox))
    submitted = await portal.dossiers.submit(dossier.id)
    assert submitted.state is DossierState.SUBMITTED
    payment = await portal.dossiers.pay(dossier.id)
    async with AsyncWalletClient(
        base_url=sandbox.wallet_url, token=sandbox.credentials.citizen_token
    ) as wallet:
        confirmed = await wallet.payments.confirm(payment.id)
    assert confirmed.state is PaymentState.SUCCEEDED
    assert (await portal.dossiers.get(dossier.id)).paid


async def test_async_listing_iterates_every_page(
    async_portal_client: AsyncPortalClient,
) -> None:
    codes = [p.code async for p in async_portal_client.procedures.list(page_size=1)]
    assert len(codes) == len(set(codes)) >= 6


async def test_async_history_and_cancel(async_portal_client: AsyncPortalClient) -> None:
    dossier = await async_portal_client.dossiers.create(procedure_code="1.001193")
    await async_portal_client.dossiers.cancel(dossier.id)
    history = await async_portal_client.dossiers.history(dossier.id)
    assert [c.state for c in history] == [DossierState.DRAFT, DossierState.CANCELLED]


async def test_async_errors_are_the_same_typed_errors(
    async_portal_client: AsyncPortalClient,
) -> None:
    dossier = await async_portal_client.dossiers.create(procedure_code="1.001193")
    with pytest.raises(ConflictError):
        await async_portal_client.dossiers.submit(dossier.id)


async def test_concurrent_async_creates_each_make_one_dossier(
    async_portal_client: AsyncPortalClient,
) -> None:
    made = await asyncio.gather(
        *(async_portal_client.dossiers.create(procedure_code="1.001193") for _ in range(20))
    )
    assert len({d.id for d in made}) == 20
    assert len({d.code for d in made}) == 20


async def test_concurrent_retries_with_one_key_make_one_dossier(
    async_portal_client: AsyncPortalClient,
) -> None:
    made = await asyncio.gather(
        *(
            async_portal_client.dossiers.create(
                procedure_code="1.001193", idempotency_key="one-logical-call"
            )
            for _ in range(10)
        )
    )
    assert len({d.id for d in made}) == 1
