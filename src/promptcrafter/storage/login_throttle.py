"""Failed-login counting per email, in the database so every server process shares it."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select

from promptcrafter.storage.database import Statement, Transaction
from promptcrafter.storage.tables import login_failures
from promptcrafter.storage.values import now_ms

_EMAIL = login_failures.c.email_key == bindparam("email_key")
# The max_failures-th most recent failure decides: once it leaves the window, so does the lock.
_DECIDING_FAILURE = Statement(
    select(login_failures.c.failed_at)
    .where(_EMAIL, login_failures.c.failed_at > bindparam("since"))
    .order_by(login_failures.c.failed_at.desc())
    .offset(bindparam("skip"))
    .limit(1)
)
_FORGET_OLD = Statement(
    delete(login_failures).where(_EMAIL, login_failures.c.failed_at <= bindparam("before"))
)
_RECORD = Statement(
    insert(login_failures).values(email_key=bindparam("email_key"), failed_at=bindparam("failed_at"))
)
_CLEAR = Statement(delete(login_failures).where(_EMAIL))


def locked_for(tx: Transaction, *, email_key: str, max_failures: int, window_seconds: int) -> int | None:
    """Seconds until the email may try again, or None when it is not locked."""
    now = now_ms()
    window_ms = window_seconds * 1000
    deciding = tx.scalar(_DECIDING_FAILURE, email_key=email_key, since=now - window_ms, skip=max_failures - 1)
    if deciding is None:
        return None
    return max(1, -(-(deciding + window_ms - now) // 1000))


def record_failure(tx: Transaction, *, email_key: str, window_seconds: int) -> None:
    """Count one failed attempt and forget this email's attempts older than the window."""
    now = now_ms()
    tx.run(_FORGET_OLD, email_key=email_key, before=now - window_seconds * 1000)
    tx.run(_RECORD, email_key=email_key, failed_at=now)


def clear(tx: Transaction, *, email_key: str) -> None:
    """Forget the email's failures after a successful login."""
    tx.run(_CLEAR, email_key=email_key)
