"""The gateway's index database: SQLite (stdlib sqlite3, WAL) by default, PostgreSQL when a URL names one.

`Database` is the SQLite one: a connection per thread, explicit write transactions. `open_database(settings)`
picks the backend; `api.db_postgres.PostgresDatabase` speaks the same interface (and SQL text, through
`api.db_dialect`) to a PostgreSQL server that several gateway processes share.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from api.errors import DatabaseUnusableError
from api.migrations import MIGRATIONS

if TYPE_CHECKING:
    from api.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


class Row(Protocol):
    """A result row: `row[0]`, `row["name"]`, `keys()`, `dict(row)` (sqlite3.Row, or `api.db_postgres`'s)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What the services use of a cursor (sqlite3's, or `api.db_postgres`'s over psycopg)."""

    row_factory: Any

    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...
    def close(self) -> None: ...
    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the services use of a connection: rows answer `row[0]`, `row["name"]` and `dict(row)`."""

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...
    def cursor(self) -> Cursor: ...


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def check_version(where: str, version: int, foreign_tables: list[str]) -> None:
    """Refuse a schema newer than this code, or a database that holds someone else's tables."""
    if version > len(MIGRATIONS):
        raise DatabaseUnusableError(
            f"the index database {where} has schema version {version}, newer than this gateway knows "
            f"({len(MIGRATIONS)}): run the gateway version that wrote it, or point at another database"
        )
    if version == 0 and foreign_tables:
        shown = ", ".join(sorted(foreign_tables)[:5])
        raise DatabaseUnusableError(
            f"the index database {where} is not a gateway index (no schema version, but tables {shown}): "
            "point the gateway at an empty database of its own"
        )


def migrate(conn: sqlite3.Connection, where: str = "") -> int:
    """Apply the migrations not yet applied, each in its own transaction; returns the schema version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    check_version(where, version, tables)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version


class Database:
    """Per-thread connections to one SQLite file; `write()` is a BEGIN IMMEDIATE ... COMMIT block."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        try:
            first = self._sqlite()
        except sqlite3.Error as exc:
            raise DatabaseUnusableError(f"the index database {path} cannot be opened: {exc}") from exc
        migrate(first, str(path))

    def connection(self) -> Connection:
        return self._sqlite()

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _open(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot for several queries (one deferred transaction)."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def snapshot(
        self, query: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `query(conn, ...)` in one read transaction on this thread's connection (call from a worker)."""
        with self.read() as conn:
            return query(conn, *args, **kwargs)

    def hold_indexer_lock(self) -> bool:
        """Whether this process may index now; one process owns a SQLite file, so always."""
        return True

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


def open_database(settings: Settings) -> Database:
    """The index named by `database_url` (PostgreSQL), else the SQLite file in the data folder."""
    if settings.database_url is not None:
        from api.db_postgres import PostgresDatabase

        return PostgresDatabase(settings.database_url.get_secret_value())
    return Database(settings.db_path)
