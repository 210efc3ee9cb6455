"""The connections and the unit of work: every query runs inside `Database.transaction`.

Statements are written with SQLAlchemy Core and compiled once per dialect; they then run
on the driver's own cursor. SQLAlchemy's per-execution bookkeeping costs several times
more than an indexed lookup itself, and this service mostly does indexed lookups.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext
from typing import Any

import psycopg
from sqlalchemy import Engine, Executable, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import SQLAlchemyError

Record = dict[str, Any]


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a user's `sqlite:///…` or `postgresql://…` database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://…")


class Statement:
    """A Core statement with named `bindparam`s, compiled once for each dialect it meets."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        """The statement as driver SQL for this dialect."""
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return found


class _Compiled:
    """Driver SQL plus how to turn keyword parameters into what the driver expects."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # Literals in the statement (CASE results, `+ 1`) become parameters with values.
        self.defaults = {name: value for name, value in compiled.params.items() if value is not None}
        self.order = tuple(compiled.positiontup or ()) if dialect.positional else None

    def parameters(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        values = {**self.defaults, **params} if self.defaults else params
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class Transaction:
    """One open transaction on a driver connection; rows come back as dicts."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self.dialect_name: str = dialect.name

    def execute(self, statement: Statement, *, server_side: bool = False, **params: Any) -> Any:
        """Run the statement and return the driver's cursor."""
        compiled = statement.compiled(self.dialect)
        # psycopg's ordinary cursor fetches the whole result; a named one reads it in batches.
        named = server_side and self.dialect_name == "postgresql"
        cursor = self.connection.cursor(name="batches") if named else self.connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def run(self, statement: Statement, **params: Any) -> None:
        """Run a statement that returns no rows."""
        self.execute(statement, **params).close()

    def run_many(self, statement: Statement, rows: list[dict[str, Any]]) -> None:
        """Run a statement once per parameter set, in one driver call."""
        compiled = statement.compiled(self.dialect)
        with closing(self.connection.cursor()) as cursor:
            cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])

    def first(self, statement: Statement, **params: Any) -> Record | None:
        """The first row, or None."""
        with closing(self.execute(statement, **params)) as cursor:
            row = cursor.fetchone()
            return None if row is None else dict(zip(_names(cursor), row, strict=True))

    def scalar(self, statement: Statement, **params: Any) -> Any:
        """The first column of the first row, or None."""
        with closing(self.execute(statement, **params)) as cursor:
            row = cursor.fetchone()
            return None if row is None else row[0]

    def batches(self, statement: Statement, *, size: int, **params: Any) -> Iterator[list[Record]]:
        """All rows, `size` at a time, without holding the whole result."""
        with closing(self.execute(statement, server_side=True, **params)) as cursor:
            names = _names(cursor)
            while rows := cursor.fetchmany(size):
                yield [dict(zip(names, row, strict=True)) for row in rows]


def _names(cursor: Any) -> list[str]:
    return [column[0] for column in cursor.description]


class Database:
    """Owns the connection pool; hands out one transaction per request or command."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30_000) -> None:
        self.engine: Engine = _create_engine(engine_url(url), sqlite_busy_timeout_ms)
        self.dialect: str = self.engine.dialect.name
        database_file = self.engine.url.database if self.dialect == "sqlite" else None
        self._writers = _WriterQueue(f"{database_file}.writer-lock") if database_file else None
        self._connections: _SQLiteConnections | _EngineConnections = (
            _SQLiteConnections(database_file, sqlite_busy_timeout_ms)
            if database_file
            else _EngineConnections(self.engine)
        )

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Transaction]:
        """A transaction, committed on success and rolled back on error.

        On SQLite a writing transaction takes the write lock up front (BEGIN IMMEDIATE), so
        concurrent writers wait on the busy timeout instead of failing on a lock upgrade.
        """
        with self._writers if write and self._writers else nullcontext():
            connection, handle = self._connections.acquire()
            try:
                if self.dialect == "sqlite":
                    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield Transaction(connection, self.engine.dialect)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                self._connections.release(handle)

    def stream(self, statement: Statement, *, size: int = 500, **params: Any) -> Iterator[list[Record]]:
        """The statement's rows in batches, read in a transaction of their own."""
        with self.transaction(write=False) as tx:
            yield from tx.batches(statement, size=size, **params)

    def is_available(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self._connections.close()
        self.engine.dispose()


class _EngineConnections:
    """Driver connections from SQLAlchemy's pool (PostgreSQL: bounded, network-aware)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(self) -> tuple[Any, Any]:
        pooled = self._engine.raw_connection()
        return pooled.driver_connection, pooled

    def release(self, pooled: Any) -> None:
        pooled.close()

    def close(self) -> None:
        pass


class _SQLiteConnections:
    """Idle SQLite connections, most recently used first.

    Opening a SQLite file costs little and needs no server, so the only job left is
    reuse; SQLAlchemy's pool spent more on checkout and checkin than a whole indexed
    lookup takes. `list.append` and `list.pop` are atomic, so threads need no lock.
    """

    MAX_IDLE = 32

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: list[sqlite3.Connection] = []

    def acquire(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout_ms / 1000,
                check_same_thread=False,
                isolation_level=None,
            )
            configure_sqlite(connection, self._busy_timeout_ms)
        return connection, connection

    def release(self, connection: sqlite3.Connection) -> None:
        if len(self._idle) < self.MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class _WriterQueue:
    """Makes SQLite writers of every server process on one file take turns, promptly.

    SQLite's busy handler retries a locked database after sleeping 1, 2, 5, 10… ms, which
    under steady concurrent writes wastes most of the time in sleep. A blocking `flock` on
    a lock file beside the database hands over the moment the holder is done. (The write
    transactions themselves are a few hundred microseconds.) The thread lock is needed
    because `flock` does not exclude threads sharing one open file.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._threads = threading.Lock()
        self._file: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._file is None:
                self._file = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def configure_sqlite(connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """The settings every connection to a SQLite database gets."""
    for pragma in (
        "PRAGMA journal_mode=WAL",
        # In WAL mode NORMAL survives any process crash; only a power loss can drop the
        # last commits. See README "Durability".
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={busy_timeout_ms}",
    ):
        connection.execute(pragma)


def _create_engine(url: str, busy_timeout_ms: int) -> Engine:
    # Transactions always end in commit or rollback, so the pool need not reset connections.
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_reset_on_return=None)
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=30,
        pool_reset_on_return=None,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun explicitly, so the driver must not begin its own.
        dbapi_connection.isolation_level = None
        configure_sqlite(dbapi_connection, busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # SQLAlchemy's own connections (migrations, health checks) still need a BEGIN.
        conn.exec_driver_sql("BEGIN")

    return engine


def is_integrity_error(error: Exception) -> bool:
    """Whether a driver error is a constraint violation (unique, foreign key, not null)."""
    return isinstance(error, sqlite3.IntegrityError | psycopg.errors.IntegrityError)
