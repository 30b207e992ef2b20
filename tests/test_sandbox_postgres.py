"""The sandbox on PostgreSQL: the store's transactions and one citizen journey.

Integrators run one shared sandbox on PostgreSQL. These tests need a server: set
``HUESIGN_TEST_POSTGRES_URL`` to a role that may create databases (``.ci/run`` starts the
machine's PostgreSQL and sets it). Each test module gets its own throwaway database.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from huesign.client import DossierState, PaymentState, PortalClient, WalletClient
from huesign.pki import KeySigner, sign_cms
from huesign.sandbox import serve_sandbox
from huesign.sandbox.store import PostgresStore, open_store

FORM = b"%PDF-1.7\n% postgres journey\n"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    server = os.environ.get("HUESIGN_TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("HUESIGN_REQUIRE_POSTGRES") == "1":
            pytest.fail("HUESIGN_REQUIRE_POSTGRES=1 but HUESIGN_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set HUESIGN_TEST_POSTGRES_URL to run these tests")
    psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL backend needs psycopg")
    name = f"huesign_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _insert_payment(store: PostgresStore, payment_id: str, amount: int) -> None:
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO payments (id, dossier_id, amount, refunded, state, description,"
            " notify_url, payer, created_at, updated_at)"
            " VALUES (?, 'd', ?, 0, 'pending', '', NULL, NULL, '', '')",
            (payment_id, amount),
        )


def test_a_postgresql_url_opens_the_postgresql_store(postgres_url: str) -> None:
    store = open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    _insert_payment(store, "url-check", 7)
    with store.transaction() as tx:
        assert tx.one("SELECT amount FROM payments WHERE id = 'url-check'") == (7,)
    store.close()


def test_an_error_rolls_the_postgresql_transaction_back(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)

    def insert_then_fail() -> None:
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO credentials (token_hash, role, subject, name) VALUES (?, ?, ?, ?)",
                ("rollback", "citizen", "CCCD:046190000001", "Lê Văn Bình"),
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail()
    with store.transaction() as tx:
        assert tx.all("SELECT * FROM credentials WHERE token_hash = 'rollback'") == []
    store.close()


def test_concurrent_read_modify_writes_do_not_interleave_on_postgresql(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url)
    _insert_payment(store, "counter", 0)

    def add_ten() -> None:
        for _ in range(10):
            with store.transaction() as tx:
                (amount,) = tx.one("SELECT amount FROM payments WHERE id = 'counter'")
                tx.execute("UPDATE payments SET amount = ? WHERE id = 'counter'", (amount + 1,))

    threads = [threading.Thread(target=add_ten) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.transaction() as tx:
        assert tx.one("SELECT amount FROM payments WHERE id = 'counter'") == (40,)
    store.close()


def test_a_citizen_journey_on_postgresql_keeps_writes_idempotent(postgres_url: str) -> None:
    with serve_sandbox(db=postgres_url) as sandbox:
        issued = sandbox.parts.citizen
        signature = sign_cms(
            FORM, KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
        )
        token = sandbox.credentials.citizen_token
        with PortalClient(base_url=sandbox.portal_url, token=token) as portal:
            first = portal.dossiers.create(procedure_code="1.004873", idempotency_key="k-create")
            again = portal.dossiers.create(procedure_code="1.004873", idempotency_key="k-create")
            assert again.id == first.id
            assert [d.id for d in portal.dossiers.list()] == [first.id]
            portal.dossiers.attach_form(first.id, document=FORM, signature=signature)
            submitted = portal.dossiers.submit(first.id)
            assert submitted.state is DossierState.SUBMITTED
            payment = portal.dossiers.pay(first.id)
        with WalletClient(base_url=sandbox.wallet_url, token=token) as wallet:
            confirmed = wallet.payments.confirm(payment.id)
            assert confirmed.state is PaymentState.SUCCEEDED
        merchant_key = sandbox.credentials.merchant_api_key
        with WalletClient(base_url=sandbox.wallet_url, api_key=merchant_key) as merchant:
            assert [p.id for p in merchant.payments.list(dossier_id=first.id)] == [payment.id]
