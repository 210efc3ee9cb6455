"""The unit of work: every query runs in a transaction handed out by `Database`.

How requests use the database without ever holding each other up:

- A request's database work is a plain function of a `Transaction`, run by `read`,
  `write` or `scan`. It finishes, commits and returns its connection before the
  response is written, so no client can keep a connection or a lock by reading slowly.
- On SQLite, `read` and `write` run the function on the event loop: an indexed statement
  on a local file takes microseconds, less than a hand-off to a thread. Writers first
  take their turn at the writer lock without blocking the loop (see `WriterTurn`).
  `scan` (search) moves to a worker thread when it takes more than 2 ms.
- On PostgreSQL the function runs on the event loop too, in a greenlet over an
  asynchronous connection (SQLAlchemy's asyncio bridge): each statement awaits the
  network, so while one request waits for the server or a row lock, the loop serves
  others. At most `pool_size` connections per process.
- Waiting longer than `wait_timeout` for a connection, a thread or the write lock is a
  503 with `Retry-After`, so a saturated server answers at once instead of queueing.
- Lists are read in keyset pages (`pages`), each page in a call of its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import psycopg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from promptcrafter import messages
from promptcrafter.errors import Unavailable
from promptcrafter.storage.connections import (
    PooledConnections,
    SQLiteConnections,
    create_request_engine,
    create_sqlalchemy_engine,
    engine_url,
)
from promptcrafter.storage.keyset import Page
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.writer_lock import WriterLock, WriterTurn

if TYPE_CHECKING:
    from promptcrafter.config import Settings

T = TypeVar("T")
INLINE_SCAN_SECONDS = 0.002


class Database:
    """Owns the connections; hands out one transaction per unit of work."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_busy_timeout_ms: int = 30_000,
        pool_size: int = 10,
        wait_timeout: float = 5.0,
    ) -> None:
        self.engine = create_sqlalchemy_engine(
            engine_url(url), busy_timeout_ms=sqlite_busy_timeout_ms, pool_timeout=wait_timeout
        )
        self.dialect: str = self.engine.dialect.name
        database_file = self.engine.url.database if self.dialect == "sqlite" else None
        self._writer_lock = WriterLock(f"{database_file}.writer-lock") if database_file else None
        self._connections: SQLiteConnections | PooledConnections
        self._request_connections: PooledConnections | None = None
        self._request_engine: AsyncEngine | None = None
        if database_file:
            self._connections = SQLiteConnections(database_file, sqlite_busy_timeout_ms)
        else:
            self._connections = PooledConnections(self.engine, shared=True)
            self._request_engine = create_request_engine(
                engine_url(url), pool_size=pool_size, pool_timeout=wait_timeout
            )
            self._request_connections = PooledConnections(self._request_engine.sync_engine, shared=False)
        self._wait_timeout = wait_timeout
        # Told of every connection taken and given back (`"in_use"`, `"waiting"`; +1 or -1).
        self.observer: Callable[[str, int], None] | None = None
        # SQLite searches in worker threads: admission (with a deadline) and the threads
        # themselves, of one size, so that a search admitted never waits for a thread.
        self._admitted = anyio.CapacityLimiter(pool_size)
        self._threads = anyio.CapacityLimiter(pool_size)
        self._writer_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database the settings name, with their pool and timeout limits."""
        return cls(
            settings.database_url,
            sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            pool_size=settings.db_pool_size,
            wait_timeout=settings.db_wait_timeout,
        )

    # Synchronous use: commands, start-up, tests, and the worker threads below.

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Transaction]:
        """A transaction, committed on success and rolled back on error; blocks while waiting."""
        if write and self._writer_lock is not None:
            with self._writer_lock, self._unit_of_work(self._connections, write=True) as tx:
                yield tx
        else:
            with self._unit_of_work(self._connections, write=write) as tx:
                yield tx

    @contextmanager
    def _unit_of_work(
        self, connections: SQLiteConnections | PooledConnections, *, write: bool, snapshot: bool = False
    ) -> Iterator[Transaction]:
        """Writes run in a transaction; a read is its statements, each on committed data, or
        with `snapshot` a read-only transaction whose statements all see the same data.

        On SQLite a writing transaction takes the write lock up front (BEGIN IMMEDIATE), so
        it never fails on a lock upgrade.
        """
        begin = None
        if write:
            begin = "BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN"
        elif snapshot:
            begin = "BEGIN" if self.dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        observe = self.observer
        if observe is not None:
            observe("waiting", 1)
        try:
            with _database_errors():
                connection, handle = connections.acquire()
        finally:
            if observe is not None:
                observe("waiting", -1)
        if observe is not None:
            observe("in_use", 1)
        try:
            with _database_errors():
                if begin:
                    _execute(connection, begin)
                yield Transaction(connection, self.engine.dialect)
                if begin:
                    _execute(connection, "COMMIT")
        except BaseException:
            if begin:
                _roll_back(connection)
            raise
        finally:
            connections.release(handle)
            if observe is not None:
                observe("in_use", -1)

    # Asynchronous use: request handlers.

    async def read(self, work: Callable[..., T], /, **params: Any) -> T:
        """`work(tx, **params)` for a short read."""
        if self._request_engine is not None:
            return await self._awaiting_network(work, write=False, params=params)
        with self._unit_of_work(self._connections, write=False) as tx:
            return work(tx, **params)

    async def scan(self, work: Callable[..., T], /, **params: Any) -> T:
        """`work(tx, **params)` for a read that may visit many rows.

        On SQLite it starts on the event loop, where most such reads finish in well under
        a millisecond; one that is still running after INLINE_SCAN_SECONDS is interrupted
        and run again in a worker thread, so a long one never holds up other requests.
        """
        if self._request_engine is not None:
            return await self._awaiting_network(work, write=False, params=params)
        deadline = time.perf_counter() + INLINE_SCAN_SECONDS
        try:
            with self._unit_of_work(self._connections, write=False) as tx:
                tx.connection.set_progress_handler(lambda: time.perf_counter() > deadline, 1000)
                try:
                    return work(tx, **params)
                finally:
                    tx.connection.set_progress_handler(None, 0)
        except sqlite3.OperationalError as error:
            if str(error) != "interrupted":
                raise
        return await self._scan_in_thread(work, params)

    async def analyse(self, work: Callable[..., T], /, **params: Any) -> T:
        """`work(tx, **params)` for statistics: several statements over up to millions of rows
        that must agree with each other. It runs in one read-only snapshot, in a worker thread
        on both stores, so that turning many rows into Python objects never holds up the
        event loop."""
        return await self._scan_in_thread(work, params, snapshot=True)

    async def write(self, work: Callable[..., T], /, *, bulk: bool = False, **params: Any) -> T:
        """`work(tx, **params)` in a transaction that may write.

        A `bulk` write (a batch, an import: up to a thousand rows, and their search index)
        takes long enough on SQLite to hold up every other request of the process; it runs in
        a worker thread instead, still in the writers' turn.
        """
        if self._request_engine is not None:
            return await self._awaiting_network(work, write=True, params=params)
        async with self._writer_turn():
            if bulk:
                return await anyio.to_thread.run_sync(self._write, work, params, limiter=self._threads)
            return self._write(work, params)

    async def pages(
        self, read_page: Callable[..., Page], /, *, scan: bool = False, start: Any = None, **params: Any
    ) -> AsyncIterator[tuple[list[Any], bool]]:
        """The pages of a list after the key `start`, each read in a call of its own when the
        one before has been taken: `(items, is_last)`, from `read_page(tx, after=key, **params)`."""
        run = self.scan if scan else self.read
        after = start
        while True:
            items, after = await run(read_page, after=after, **params)
            yield items, after is None
            if after is None:
                return

    async def is_available(self) -> bool:
        """Whether the database answers a trivial query, through the requests' own path."""
        try:
            await self.read(_ping)
        except (Unavailable, sqlite3.Error, psycopg.Error, SQLAlchemyError):
            return False
        return True

    def close(self) -> None:
        """Close every connection of the synchronous pools."""
        self._connections.close()
        self.engine.dispose()

    async def aclose(self) -> None:
        """Close every connection, the requests' pool included."""
        if self._request_engine is not None:
            await self._request_engine.dispose()
        self.close()

    async def _awaiting_network(self, work: Callable[..., T], *, write: bool, params: dict[str, Any]) -> T:
        return await greenlet_spawn(self._run_request_unit, work, write, params)

    def _run_request_unit(self, work: Callable[..., T], write: bool, params: dict[str, Any]) -> T:
        assert self._request_connections is not None
        with self._unit_of_work(self._request_connections, write=write) as tx:
            return work(tx, **params)

    async def _scan_in_thread(self, work: Callable[..., T], params: dict[str, Any], *, snapshot: bool = False) -> T:
        try:
            with anyio.fail_after(self._wait_timeout):
                await self._admitted.acquire()
        except TimeoutError:
            raise Unavailable.busy() from None
        try:
            return await anyio.to_thread.run_sync(self._scan, work, params, snapshot, limiter=self._threads)
        finally:
            self._admitted.release()

    def _write(self, work: Callable[..., T], params: dict[str, Any]) -> T:
        with self._unit_of_work(self._connections, write=True) as tx:
            return work(tx, **params)

    def _scan(self, work: Callable[..., T], params: dict[str, Any], snapshot: bool) -> T:
        with self._unit_of_work(self._connections, write=False, snapshot=snapshot) as tx:
            return work(tx, **params)

    def _writer_turn(self) -> WriterTurn:
        loop = asyncio.get_running_loop()
        turns = self._writer_turns.get(loop)
        if turns is None:
            turns = self._writer_turns[loop] = asyncio.Lock()
        assert self._writer_lock is not None
        return WriterTurn(turns, self._writer_lock, self._wait_timeout)


def _ping(tx: Transaction) -> None:
    _execute(tx.connection, "SELECT 1")


def _execute(connection: Any, sql: str) -> None:
    with closing(connection.cursor()) as cursor:
        cursor.execute(sql)


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached, or a pool with no free connection, is a 503."""
    try:
        yield
    except PoolTimeout:
        raise Unavailable.busy() from None
    except (psycopg.OperationalError, sqlite3.OperationalError) as error:
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            raise Unavailable.busy() from None
        if isinstance(error, sqlite3.OperationalError) and "unable to open" not in str(error):
            raise
        raise Unavailable(messages.DATABASE_UNAVAILABLE) from None
    except SQLAlchemyError as error:
        if isinstance(getattr(error, "orig", None), psycopg.OperationalError | sqlite3.OperationalError):
            raise Unavailable(messages.DATABASE_UNAVAILABLE) from None
        raise


def _roll_back(connection: Any) -> None:
    try:
        _execute(connection, "ROLLBACK")
    except (sqlite3.Error, psycopg.Error):
        pass  # a broken connection has no transaction left to roll back
