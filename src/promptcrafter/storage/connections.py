"""Where driver connections come from: SQLite files, and the pools of PostgreSQL connections."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a user's `sqlite:///…` or `postgresql://…` database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://…")


class PooledConnections:
    """PostgreSQL connections (DBAPI) from one of SQLAlchemy's bounded pools.

    They are used in autocommit mode: a read is then one round trip instead of three
    (BEGIN, statement, COMMIT), and a write says BEGIN itself. `shared` pools are also
    used by SQLAlchemy itself (migrations), which expects the driver's default back.
    """

    def __init__(self, engine: Engine, *, shared: bool) -> None:
        self._engine = engine
        self._shared = shared

    def acquire(self) -> tuple[Any, Any]:
        pooled = self._engine.raw_connection()
        connection: Any = pooled.dbapi_connection
        if not connection.autocommit:
            connection.autocommit = True
        return connection, pooled

    def release(self, pooled: Any) -> None:
        connection: Any = pooled.dbapi_connection
        if connection.broken or connection.closed:
            pooled.invalidate()
            return
        if self._shared:
            connection.autocommit = False
        pooled.close()

    def close(self) -> None:
        pass


class SQLiteConnections:
    """Idle SQLite connections, most recently used first.

    Opening a SQLite file costs little and needs no server, so the only job left is
    reuse; SQLAlchemy's pool spent more on checkout and checkin than a whole indexed
    lookup takes. `list.append` and `list.pop` are atomic, so threads need no lock.
    Connections are in autocommit mode; a transaction says BEGIN itself.
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


def create_request_engine(url: str, *, pool_size: int, pool_timeout: float) -> AsyncEngine:
    """PostgreSQL's pool for requests: asynchronous connections, so that waiting for one,
    or for the network, never blocks the event loop."""
    # Transactions always end in commit or rollback, so the pool need not reset connections.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_reset_on_return=None,
        connect_args={"connect_timeout": max(1, round(pool_timeout))},
    )


def create_sqlalchemy_engine(url: str, *, busy_timeout_ms: int, pool_timeout: float) -> Engine:
    """The synchronous engine: migrations, start-up, commands, and SQLite's requests."""
    if not url.startswith("sqlite"):
        return create_engine(
            url,
            pool_size=2,
            max_overflow=4,
            pool_timeout=pool_timeout,
            pool_reset_on_return=None,
            connect_args={"connect_timeout": max(1, round(pool_timeout))},
        )
    engine = create_engine(
        url,
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
        # SQLAlchemy's own connections (migrations) still need a BEGIN.
        conn.exec_driver_sql("BEGIN")

    return engine
