"""Identifiers and timestamps, as the server generates and renders them."""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def now_ms() -> int:
    """Milliseconds since the Unix epoch: how timestamps are stored."""
    return time.time_ns() // 1_000_000


def iso(ms: int) -> str:
    """A stored timestamp as ISO 8601 UTC with milliseconds: `2026-11-26T05:43:40.123Z`."""
    seconds, millis = divmod(ms, 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def new_id(prefix: str) -> str:
    """`prefix_` and a ULID: 48 bits of time then 80 random bits, so ids sort by creation."""
    value = (now_ms() << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
