"""The sandbox's storage: SQLite by default (a file or memory), PostgreSQL when given a URL.

The portal and the wallet talk to a :class:`Store` only through :meth:`Store.transaction`,
which yields a :class:`Transaction` that runs SQL written once in a portable subset (``?``
placeholders, ``TEXT``/``INTEGER``/``BLOB`` columns).  A transaction holds the store's lock
from start to commit: the sandbox's read-modify-write steps (an idempotency check and the
write it protects) therefore never interleave, whatever threads the server runs.

:func:`open_store` picks the backend from a URL: ``sqlite:///path/to/file.db``,
``sqlite://`` or ``:memory:`` (in memory), or ``postgresql://user@host/db``.  The PostgreSQL
backend needs the optional ``psycopg`` driver, imported only when such a URL is opened.
"""

from __future__ import annotations

import importlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

__all__ = ["SCHEMA", "PostgresStore", "SQLiteStore", "Store", "Transaction", "open_store"]

Row = tuple[object, ...]
Params = Sequence[object]

#: The tables, in the portable SQL subset both backends accept.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS idempotency (
        scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL, body BLOB NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key))""",
    """CREATE TABLE IF NOT EXISTS dossiers (
        id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
        procedure_code TEXT NOT NULL, state TEXT NOT NULL, fee INTEGER NOT NULL,
        paid INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        appointment TEXT, form_verdict TEXT, note TEXT)""",
    "CREATE INDEX IF NOT EXISTS dossiers_owner ON dossiers (owner, created_at, id)",
    """CREATE TABLE IF NOT EXISTS history (
        dossier_id TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL,
        at TEXT NOT NULL, actor TEXT NOT NULL, note TEXT NOT NULL,
        PRIMARY KEY (dossier_id, seq))""",
    """CREATE TABLE IF NOT EXISTS documents (
        dossier_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
        media_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
        content BLOB NOT NULL, extra BLOB, created_at TEXT NOT NULL,
        PRIMARY KEY (dossier_id, name))""",
    """CREATE TABLE IF NOT EXISTS payments (
        id TEXT PRIMARY KEY, dossier_id TEXT NOT NULL, amount INTEGER NOT NULL,
        refunded INTEGER NOT NULL, state TEXT NOT NULL, description TEXT NOT NULL,
        notify_url TEXT, payer TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS payments_dossier ON payments (dossier_id, created_at)",
    """CREATE TABLE IF NOT EXISTS notifications (
        id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, event TEXT NOT NULL,
        body BLOB NOT NULL, signature TEXT NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS credentials (
        token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL,
        name TEXT NOT NULL)""",
)


class Transaction(Protocol):
    """SQL inside one transaction (``?`` placeholders)."""

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""

    def one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or ``None``."""

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""


class Store(Protocol):
    """Where the sandbox keeps its state."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A context manager running one atomic, serialised transaction."""

    def close(self) -> None:
        """Release the connection."""


class _DBCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: tuple[object, ...], /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _Cursor:
    def __init__(self, cursor: _DBCursor, *, qmark: bool = True) -> None:
        self._cursor = cursor
        self._qmark = qmark

    def _sql(self, sql: str) -> str:
        return sql if self._qmark else sql.replace("?", "%s")

    def execute(self, sql: str, params: Params = ()) -> int:
        cursor = self._cursor
        cursor.execute(self._sql(sql), tuple(params))
        return cursor.rowcount

    def one(self, sql: str, params: Params = ()) -> Row | None:
        self.execute(sql, params)
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        self.execute(sql, params)
        return [tuple(r) for r in self._cursor.fetchall()]


class SQLiteStore:
    """The stdlib ``sqlite3`` backend: one connection shared under a lock."""

    def __init__(self, path: str = ":memory:") -> None:
        """Open (and create the tables of) the database at ``path`` (``:memory:``: RAM)."""
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                self._conn.execute(statement)

    def __repr__(self) -> str:
        return "SQLiteStore()"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run one transaction: committed when the block ends, rolled back on an error."""
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(cursor)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class PostgresStore:
    """The PostgreSQL backend (needs ``psycopg``); for sandboxes shared by several teams."""

    def __init__(self, url: str) -> None:
        """Connect to ``url`` and create the tables; a missing driver raises ``RuntimeError``."""
        try:
            psycopg = importlib.import_module("psycopg")
        except ImportError as exc:
            raise RuntimeError(
                "a PostgreSQL sandbox needs the psycopg package: pip install 'psycopg[binary]'"
            ) from exc
        self._lock = threading.RLock()
        self._conn = psycopg.connect(url, autocommit=False)
        with self.transaction() as tx:
            for statement in SCHEMA:
                tx.execute(statement.replace("BLOB", "BYTEA"))

    def __repr__(self) -> str:
        return "PostgresStore()"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run one transaction: committed when the block ends, rolled back on an error."""
        with self._lock:
            cursor = self._conn.cursor()
            try:
                yield _Cursor(cursor, qmark=False)
            except BaseException:
                self._conn.rollback()
                raise
            else:
                self._conn.commit()
            finally:
                cursor.close()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def open_store(url: str | None = None) -> SQLiteStore | PostgresStore:
    """Open the store named by ``url``: ``None``/``:memory:``/``sqlite://`` (memory),
    ``sqlite:///file.db`` or a bare file path (SQLite file), ``postgresql://...``."""
    if url is None or url in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return SQLiteStore(":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///") :])
    if "://" in url:
        raise ValueError("the store URL must be sqlite:///FILE, sqlite:// or postgresql://...")
    return SQLiteStore(url)
