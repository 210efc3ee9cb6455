"""The unit of work as requests use it: where work runs, and what waiting costs."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from promptcrafter.storage import Database
from promptcrafter.storage.transaction import Transaction


def _count(tx: Transaction, *, limit: int) -> tuple[int, int]:
    sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT count(*) FROM n"
        if tx.dialect_name == "sqlite"
        else "SELECT count(*) FROM generate_series(1, %s)"
    )
    cursor = tx.connection.cursor()
    cursor.execute(sql, (limit,))
    (count,) = cursor.fetchone()
    cursor.close()
    return int(count), threading.get_ident()


def test_short_scans_stay_on_the_event_loop_and_long_ones_move_off_it(database_url: str) -> None:
    database = Database(database_url)

    async def scans() -> tuple[Any, Any, int]:
        short = await database.scan(_count, limit=10)
        long = await database.scan(_count, limit=1_000_000)
        return short, long, threading.get_ident()

    try:
        (short_count, short_thread), (long_count, long_thread), loop_thread = asyncio.run(scans())
    finally:
        asyncio.run(database.aclose())
    assert (short_count, long_count) == (10, 1_000_000)
    assert short_thread == loop_thread
    if database.dialect == "sqlite":
        assert long_thread != loop_thread
    else:
        assert long_thread == loop_thread  # PostgreSQL does the work; the loop only awaits it
