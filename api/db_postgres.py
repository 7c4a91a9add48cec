"""The index on PostgreSQL (psycopg 3): the `Database` interface, for several gateway processes at once.

Each thread has its own autocommit connection; `write()` is BEGIN ... COMMIT under a transaction-level
advisory lock, so writers take turns as they do on SQLite (read-modify-write code stays correct across
processes). `read()` is a REPEATABLE READ snapshot. The indexer runs only in the process that holds a
session-level advisory lock on a connection of its own: when that process dies, PostgreSQL drops the lock
and another process's indexer takes it and resumes from the checkpoint in the database.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
import psycopg.rows
from psycopg.rows import RowMaker

from api.db import Connection, Cursor, Database, check_version
from api.db_dialect import ddl_to_postgres, to_postgres
from api.errors import DatabaseUnusableError
from api.migrations import MIGRATIONS

WRITE_LOCK = 0x63630001
"""Advisory lock key held by every write transaction (writers take turns, as on SQLite)."""
INDEXER_LOCK = 0x63630002
"""Advisory lock key held for its whole session by the one process that indexes."""
MIGRATE_LOCK = 0x63630003
CONNECT_TIMEOUT_S = 5


def redact_url(url: str) -> str:
    """The URL with its password replaced by `***` (safe to print)."""
    url = re.sub(r"^([a-z]+://[^:/@?]*):[^@/?]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


class _Row(tuple[Any, ...]):
    """A row that answers `row[0]`, `row["name"]`, `keys()` and `dict(row)`, like Row."""

    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[_Row]:
    return type("Row", (_Row,), {"_index": {name: i for i, name in enumerate(names)}})


def _named_rows(cursor: Any) -> RowMaker[Any]:
    names = tuple(column.name for column in cursor.description or ())
    cls = _row_class(names)
    return cls


def _params(parameters: Any) -> Any:
    """Booleans as 0/1 (the schema stores flags as integers, as on SQLite)."""
    if isinstance(parameters, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in parameters.items()}
    return [int(v) if isinstance(v, bool) else v for v in parameters]


class PgCursor:
    """A psycopg cursor that takes the SQLite-dialect SQL the services write."""

    def __init__(self, conn: PgConnection, raw: psycopg.Cursor[Any]) -> None:
        self._conn = conn
        self._db = conn.db
        self._raw = raw
        self.row_factory: Any = _named_rows
        """None gives plain tuples (the hot list path sets it, as with sqlite3)."""

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    @property
    def description(self) -> Any:
        return [(column.name,) for column in self._raw.description or ()]

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        self._raw.row_factory = self.row_factory or psycopg.rows.tuple_row
        translated = self._db.translate(sql)
        pending = self._conn.take_deferred()
        if not pending:
            self._send(translated, parameters)
            return self
        with self._conn.raw.pipeline():  # the transaction's opening statements travel with the first query
            for statement in pending:
                self._conn.raw.execute(statement)
            self._send(translated, parameters)
        return self

    def _send(self, translated: str, parameters: Any) -> None:
        if parameters:
            self._raw.execute(translated, _params(parameters))
        else:  # psycopg leaves a query without parameters as it is: undo the doubled `%`
            self._raw.execute(translated.replace("%%", "%").encode())

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor:
        for statement in self._conn.take_deferred():
            self._conn.raw.execute(statement)
        self._raw.executemany(self._db.translate(sql), [_params(p) for p in parameters])
        return self

    def fetchone(self) -> Any:
        return self._raw.fetchone()

    def close(self) -> None:
        self._raw.close()

    def fetchall(self) -> list[Any]:
        return self._raw.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)


class PgConnection:
    """One thread's autocommit connection; a transaction's BEGIN waits to be sent with its first query."""

    def __init__(self, db: PostgresDatabase, raw: psycopg.Connection[Any]) -> None:
        self.db = db
        self.raw = raw
        self._deferred: list[bytes] = []

    def defer(self, *statements: bytes) -> None:
        self._deferred = list(statements)

    def take_deferred(self) -> list[bytes]:
        pending, self._deferred = self._deferred, []
        return pending

    def cursor(self) -> Cursor:
        return PgCursor(self, self.raw.cursor())

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor:
        return PgCursor(self, self.raw.cursor()).executemany(sql, parameters)


class PostgresDatabase(Database):
    """The index in a PostgreSQL database named by a `postgresql://` URL."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redact_url(url)
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._columns: dict[str, Sequence[str]] = {}
        self._sql: dict[str, str] = {}
        self._leader: psycopg.Connection[Any] | None = None
        try:
            first = self.connection()
        except psycopg.OperationalError as exc:
            raise DatabaseUnusableError(
                f"the index database {self.where} does not answer: {str(exc).strip()} "
                "(start PostgreSQL, or fix CROWDCOMPUTE_GATEWAY_DATABASE_URL)"
            ) from exc
        assert isinstance(first, PgConnection)
        self._migrate(first.raw)
        self._columns = self._table_columns(first.raw)

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def _migrate(self, raw: psycopg.Connection[Any]) -> None:
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            tables = [
                r[0]
                for r in raw.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ]
            version = 0
            if "schema_version" in tables:
                found = raw.execute("SELECT MAX(version) FROM schema_version").fetchone()
                version = int(found[0]) if found and found[0] is not None else 0
            check_version(self.where, version, [t for t in tables if t != "schema_version"])
            if version == 0:
                raw.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version"
                    " (version BIGINT PRIMARY KEY, applied_at DOUBLE PRECISION)"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in ddl_to_postgres(script).split(";"):
                    if statement.strip():
                        raw.execute(statement.encode())
                raw.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)", (number, time.time())
                )

    @staticmethod
    def _table_columns(raw: psycopg.Connection[Any]) -> dict[str, Sequence[str]]:
        columns: dict[str, list[str]] = {}
        for table, column in raw.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ):
            columns.setdefault(table, []).append(column)
        return dict(columns)

    def translate(self, sql: str) -> str:
        translated = self._sql.get(sql)
        if translated is None:
            translated = self._sql[sql] = to_postgres(sql, self._columns)
        return translated

    def connection(self) -> Connection:
        return self._pg()

    def _pg(self) -> PgConnection:
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed or conn.raw.broken:
            conn = PgConnection(self, self._connect())
            self._local.conn = conn
            with self._lock:
                self._all.append(conn.raw)
        return conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """BEGIN, then the writers' turn (an advisory lock), sent with the block's first statement."""
        with self._transaction(b"BEGIN", b"SELECT pg_advisory_xact_lock(%d)" % WRITE_LOCK) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot for several queries (REPEATABLE READ)."""
        with self._transaction(b"BEGIN ISOLATION LEVEL REPEATABLE READ") as conn:
            yield conn

    @contextmanager
    def _transaction(self, *opening: bytes) -> Iterator[Connection]:
        conn = self._pg()
        conn.defer(*opening)
        try:
            yield conn
        except BaseException:
            if not conn.take_deferred():  # the transaction was opened: end it
                _rollback(conn)
            raise
        if not conn.take_deferred():
            conn.raw.execute(b"COMMIT")

    def hold_indexer_lock(self) -> bool:
        """Hold (or try to take) the indexer's session lock; False while another process holds it."""
        with self._lock:
            if self._leader is not None:
                try:
                    self._leader.execute("SELECT 1")
                    return True
                except psycopg.Error:
                    self._leader.close()
                    self._leader = None  # the session (and so the lock) is gone: compete again
            leader = self._connect()
            row = leader.execute("SELECT pg_try_advisory_lock(%s)", (INDEXER_LOCK,)).fetchone()
            if row is None or not row[0]:
                leader.close()
                return False
            self._leader = leader
            return True

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
            if self._leader is not None:
                conns.append(self._leader)
                self._leader = None
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _rollback(conn: Connection) -> None:
    with contextlib.suppress(psycopg.Error):  # a broken connection: it is replaced on next use
        conn.execute("ROLLBACK")
