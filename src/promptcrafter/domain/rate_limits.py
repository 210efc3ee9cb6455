"""The per-user write rate limit (OPERATIONS.md): a token bucket of `burst` writes refilled at
`rate` per second, kept in the database so that every server process spends from the same one."""

from __future__ import annotations

import math

from promptcrafter import messages
from promptcrafter.errors import TooManyRequests
from promptcrafter.storage import write_allowances
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import now_ms


def spend_write(tx: Transaction, *, user_id: str, rate: float, burst: int) -> None:
    """Take one write from the user's allowance, in the write's own transaction; 429 with the
    seconds until one is back when none is left (and nothing is written)."""
    now = now_ms()
    left, counted_at = write_allowances.locked(tx, user_id=user_id, full=float(burst), now=now)
    tokens = min(burst, left + (now - counted_at) / 1000 * rate)
    if tokens < 1:
        raise TooManyRequests(messages.WRITES_THROTTLED, retry_after=max(1, math.ceil((1 - tokens) / rate)))
    write_allowances.put(tx, user_id=user_id, tokens=tokens - 1, counted_at=now)
