"""The engine and the unit of work: every query runs inside `Database.transaction`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a user's `sqlite:///…` or `postgresql://…` database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://…")


class Database:
    """Owns the connection pool; hands out one transaction per request or command."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30_000) -> None:
        self.engine: Engine = _create_engine(engine_url(url), sqlite_busy_timeout_ms)
        self.dialect: str = self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """A connection in a transaction, committed on success and rolled back on error.

        On SQLite a writing transaction takes the write lock up front (BEGIN IMMEDIATE), so
        concurrent writers wait on the busy timeout instead of failing on a lock upgrade.
        """
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_write=write)
            with conn.begin():
                yield conn

    def stream(self, statement: Executable, *, batch_size: int = 500) -> Iterator[Sequence[Row[Any]]]:
        """The statement's rows in batches, without loading the whole result."""
        with self.engine.connect() as conn:
            with conn.begin():
                result = conn.execution_options(yield_per=batch_size).execute(statement)
                yield from result.partitions()

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
        self.engine.dispose()


def _create_engine(url: str, busy_timeout_ms: int) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20)
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=30,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun explicitly below, so the driver must not begin its own.
        dbapi_connection.isolation_level = None
        for pragma in (
            "PRAGMA journal_mode=WAL",
            # In WAL mode NORMAL survives any process crash; only a power loss can drop the
            # last commits. See README "Durability".
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={busy_timeout_ms}",
        ):
            dbapi_connection.execute(pragma)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("sqlite_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
