"""The sandbox store: backends, transactions, and idempotency under concurrency."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from huesign.sandbox.store import PostgresStore, SQLiteStore, open_store


def test_memory_is_the_default() -> None:
    store = open_store()
    assert isinstance(store, SQLiteStore)
    store.close()


def test_a_sqlite_file_keeps_data_across_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = open_store(url)
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO credentials (token_hash, role, subject, name) VALUES (?, ?, ?, ?)",
            ("h", "citizen", "CCCD:1", "A"),
        )
    store.close()
    again = open_store(url)
    with again.transaction() as tx:
        assert tx.one("SELECT subject FROM credentials WHERE token_hash = 'h'") == ("CCCD:1",)
    again.close()


def test_an_error_rolls_the_transaction_back() -> None:
    store = SQLiteStore()

    def failing() -> None:
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO credentials (token_hash, role, subject, name)"
                " VALUES ('a', 'r', 's', 'n')"
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    with store.transaction() as tx:
        assert tx.all("SELECT * FROM credentials") == []


def test_concurrent_read_modify_writes_do_not_interleave() -> None:
    store = SQLiteStore()
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO payments (id, dossier_id, amount, refunded, state, description,"
            " notify_url, payer, created_at, updated_at)"
            " VALUES ('p', 'd', 0, 0, 'pending', '', NULL, NULL, '', '')"
        )

    def bump() -> None:
        for _ in range(50):
            with store.transaction() as tx:
                row = tx.one("SELECT amount FROM payments WHERE id = 'p'")
                assert row is not None
                tx.execute("UPDATE payments SET amount = ? WHERE id = 'p'", (int(row[0]) + 1,))

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.transaction() as tx:
        assert tx.one("SELECT amount FROM payments WHERE id = 'p'") == (400,)


def test_postgres_without_its_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes ``import psycopg`` fail
    with pytest.raises(RuntimeError, match="psycopg"):
        PostgresStore("postgresql://localhost/sandbox")


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="sqlite"):
        open_store("mysql://localhost/x")
