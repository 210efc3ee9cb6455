"""How SQLite writers take turns: across processes by a file lock, within one by an asyncio lock."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time

from promptcrafter.errors import Unavailable

WRITER_SPIN_SECONDS = 0.002
WRITER_SPIN_SLEEP = 0.00005


class WriterLock:
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

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it, without waiting."""
        if not self._threads.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._threads.release()
            return False
        except BaseException:
            self._threads.release()
            raise
        return True

    def acquire(self) -> None:
        """Wait for the lock (in a worker thread when called from a server)."""
        self._threads.acquire()
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def _descriptor(self) -> int:
        if self._file is None:
            self._file = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._file


class WriterTurn:
    """The SQLite write lock for one coroutine, taken without holding up the event loop.

    Coroutines of one process queue on an asyncio lock. The one at the front takes the
    file lock at once when no other process holds it. Otherwise another process is in
    the middle of a write of a few hundred microseconds: it retries for up to
    WRITER_SPIN_SECONDS, sleeping between tries, and only then waits in a worker thread.
    (A thread that got the lock would still need the event loop to run the transaction,
    and would hold the lock, and every other process, in the meantime.) Waiting past
    the deadline is a 503.
    """

    def __init__(self, turns: asyncio.Lock, writer_lock: WriterLock, timeout: float) -> None:
        self._turns = turns
        self._writer_lock = writer_lock
        self._timeout = timeout

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._turns.acquire()
        except TimeoutError:
            raise Unavailable.busy() from None
        try:
            if not self._writer_lock.try_acquire() and not self._spin():
                waiting = loop.run_in_executor(None, self._writer_lock.acquire)
                try:
                    async with asyncio.timeout_at(deadline):
                        await asyncio.shield(waiting)
                except TimeoutError:
                    # The thread still gets the lock in the end; hand it straight back.
                    waiting.add_done_callback(self._release_if_acquired)
                    raise Unavailable.busy() from None
        except BaseException:
            self._turns.release()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        try:
            self._writer_lock.release()
        finally:
            self._turns.release()

    def _spin(self) -> bool:
        give_up = time.perf_counter() + WRITER_SPIN_SECONDS
        while time.perf_counter() < give_up:
            time.sleep(WRITER_SPIN_SLEEP)
            if self._writer_lock.try_acquire():
                return True
        return False

    def _release_if_acquired(self, waiting: asyncio.Future[None]) -> None:
        if not waiting.cancelled() and waiting.exception() is None:
            self._writer_lock.release()
