"""The sync and async clients are twins: same methods, same arguments, one shared shell.

The structural tests keep the twins from drifting apart; the behavioural ones run against the
real sandbox over loopback and check what the shared shell promises: ``with_options`` gives a
new client on the same connection pool (closing it leaves the pool open), ``options`` says
what is in force, and reprs name the server but never a secret.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from huesign.client import (
    AsyncCSCClient,
    AsyncCSCSigner,
    AsyncPortalClient,
    AsyncSP769Client,
    AsyncSP769Signer,
    AsyncWalletClient,
    CSCClient,
    CSCSigner,
    PortalClient,
    SP769Client,
    SP769Signer,
    WalletClient,
)
from huesign.client.portal import (
    AgencyDossiers,
    AsyncAgencyDossiers,
    AsyncDossiers,
    AsyncProcedures,
    Dossiers,
    Procedures,
)
from huesign.client.wallet import AsyncPayments, Payments
from huesign.sandbox import RunningSandbox

TWINS: list[tuple[type, type]] = [
    (PortalClient, AsyncPortalClient),
    (WalletClient, AsyncWalletClient),
    (CSCClient, AsyncCSCClient),
    (SP769Client, AsyncSP769Client),
    (CSCSigner, AsyncCSCSigner),
    (SP769Signer, AsyncSP769Signer),
    (Procedures, AsyncProcedures),
    (Dossiers, AsyncDossiers),
    (AgencyDossiers, AsyncAgencyDossiers),
    (Payments, AsyncPayments),
]
# Closing is the one name that differs, as in httpx (close / aclose).
RENAMED = {"close": "aclose"}
# Listings return iterators (lazy pages), so the async one is a plain method too; so are the
# methods both twins inherit from their shared base (``with_options``, ``verification_code``).
ITERATORS = {"list"}


def _ids(pairs: list[tuple[type, type]]) -> list[str]:
    return [sync.__name__ for sync, _ in pairs]


def _public(cls: type) -> dict[str, Callable[..., object]]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and callable(member)
    }


def _parameters(function: Callable[..., object]) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("sync", "asynchronous"), TWINS, ids=_ids(TWINS))
def test_twins_have_the_same_public_methods(sync: type, asynchronous: type) -> None:
    expected = {RENAMED.get(name, name) for name in _public(sync)}
    assert set(_public(asynchronous)) == expected


@pytest.mark.parametrize(("sync", "asynchronous"), TWINS, ids=_ids(TWINS))
def test_twin_methods_take_the_same_arguments(sync: type, asynchronous: type) -> None:
    twin = _public(asynchronous)
    for name, method in _public(sync).items():
        assert _parameters(method) == _parameters(twin[RENAMED.get(name, name)]), name


@pytest.mark.parametrize(("sync", "asynchronous"), TWINS, ids=_ids(TWINS))
def test_only_the_async_twin_awaits(sync: type, asynchronous: type) -> None:
    for name, method in _public(sync).items():
        assert not inspect.iscoroutinefunction(method), name
    for name, method in _public(asynchronous).items():
        shared = method is getattr(sync, name, None)
        expected = not shared and name not in ITERATORS
        assert inspect.iscoroutinefunction(method) is expected, name


@pytest.mark.parametrize(
    ("sync", "asynchronous"),
    [(PortalClient, AsyncPortalClient), (WalletClient, AsyncWalletClient)],
    ids=["portal", "wallet"],
)
def test_rest_twin_constructors_take_the_same_arguments(sync: type, asynchronous: type) -> None:
    assert _parameters(sync.__init__) == _parameters(asynchronous.__init__)


def test_sp769_twin_constructors_differ_only_in_the_default_pause() -> None:
    sync = [p for p in _parameters(SP769Client.__init__) if p[0] != "sleep"]
    asynchronous = [p for p in _parameters(AsyncSP769Client.__init__) if p[0] != "sleep"]
    assert sync == asynchronous


def test_with_options_returns_a_client_of_the_same_kind_with_the_change(
    sandbox: RunningSandbox,
) -> None:
    with PortalClient(base_url=sandbox.portal_url, timeout=5.0) as portal:
        patient = portal.with_options(timeout=60.0, max_retries=0)
        assert type(patient) is PortalClient
        assert (patient.options.timeout, patient.options.max_retries) == (60.0, 0)
        assert (portal.options.timeout, portal.options.max_retries) == (5.0, 2)


def test_closing_a_derived_client_leaves_the_shared_pool_open(sandbox: RunningSandbox) -> None:
    token = sandbox.credentials.citizen_token
    with PortalClient(base_url=sandbox.portal_url, token=token) as portal:
        with portal.with_options(max_retries=0) as quick:
            assert isinstance(list(quick.dossiers.list(page_size=1)), list)
        assert isinstance(list(portal.dossiers.list(page_size=1)), list)


def test_a_derived_client_sends_its_own_credential(sandbox: RunningSandbox) -> None:
    with WalletClient(base_url=sandbox.wallet_url) as anonymous:
        merchant = anonymous.with_options(api_key=sandbox.credentials.merchant_api_key)
        assert isinstance(list(merchant.payments.list(page_size=1)), list)
        assert anonymous.options.auth is None


@pytest.mark.anyio
async def test_async_with_options_shares_the_pool_until_the_parent_closes(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.credentials.citizen_token
    async with AsyncPortalClient(base_url=sandbox.portal_url, token=token) as portal:
        async with portal.with_options(max_retries=0) as quick:
            assert type(quick) is AsyncPortalClient
            assert isinstance([d async for d in quick.dossiers.list(page_size=1)], list)
        assert isinstance([d async for d in portal.dossiers.list(page_size=1)], list)


def test_remote_clients_state_their_options_and_response_cap() -> None:
    with (
        CSCClient("http://csc.test/", timeout=7.0) as csc,
        SP769Client("http://sp.test", sp_id="sp", sp_password="hunter2") as sp769,
    ):
        assert csc.options.base_url == "http://csc.test"
        assert csc.options.timeout == 7.0
        assert csc.options.max_response_size == sp769.options.max_response_size == 4 << 20


def test_reprs_name_the_server_and_hide_secrets() -> None:
    portal = PortalClient(base_url="http://portal.test/v1/", token="s3cr3t-token")
    wallet = AsyncWalletClient(base_url="http://wallet.test", api_key="s3cr3t-key")
    csc = CSCClient("http://csc.test", token="s3cr3t-bearer")
    sp769 = AsyncSP769Client("http://sp.test", sp_id="sp", sp_password="s3cr3t-password")
    texts = [repr(portal), repr(wallet), repr(csc), repr(sp769)]
    assert texts == [
        "PortalClient(base_url='http://portal.test/v1')",
        "AsyncWalletClient(base_url='http://wallet.test')",
        "<CSCClient 'http://csc.test' v1>",
        "<AsyncSP769Client 'http://sp.test' sp_id='sp'>",
    ]
    assert not any("s3cr3t" in text for text in texts)
    portal.close()
    csc.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
