"""Identifiers and timestamps, as the server generates and stores them."""

from __future__ import annotations

import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def now_ms() -> int:
    """Milliseconds since the Unix epoch: how timestamps are stored."""
    return time.time_ns() // 1_000_000


_last_lock = threading.Lock()
_last_value = 0


def new_id(prefix: str) -> str:
    """`prefix_` and a ULID: 48 bits of time then 80 random bits, so ids sort by creation.

    Within one millisecond a process increments the previous value instead, so rows created
    in the same millisecond still list in creation order when ties are broken by id.
    """
    global _last_value
    with _last_lock:
        value = (now_ms() << 80) | int.from_bytes(os.urandom(10), "big")
        if value >> 80 == _last_value >> 80 and value <= _last_value:
            value = _last_value + 1
        _last_value = value
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
