"""Failed-login counting per email, in the database so every server process shares it.

An attempt is counted before its password is checked, under a lock per email: so however
many arrive at once, on however many servers, at most `max_failures` passwords are ever
checked while the email is locked out, and a right password cannot slip in between a
wrong one's check and its count.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, insert, select

from promptcrafter.storage.statements import Statement
from promptcrafter.storage.tables import login_failures
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import now_ms

_EMAIL = login_failures.c.email_key == bindparam("email_key")
# SQLite writers already hold the whole database; PostgreSQL needs a lock per email.
_LOCK_EMAIL = Statement(select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("email_key"), 0))))
# The max_failures-th most recent attempt decides: once it leaves the window, so does the lock.
_DECIDING_ATTEMPT = Statement(
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
    insert(login_failures)
    .values(email_key=bindparam("email_key"), failed_at=bindparam("failed_at"))
    .returning(login_failures.c.id)
)
_CLEAR_UP_TO = Statement(delete(login_failures).where(_EMAIL, login_failures.c.id <= bindparam("attempt_id")))


def begin_attempt(
    tx: Transaction, *, email_key: str, max_failures: int, window_seconds: int
) -> tuple[int | None, int | None]:
    """Count an attempt as failed until it succeeds: (its id, None), or (None, seconds to
    wait) when the email is locked. Run it in a writing transaction."""
    if tx.dialect_name == "postgresql":
        tx.scalar(_LOCK_EMAIL, email_key=email_key)
    now = now_ms()
    window_ms = window_seconds * 1000
    deciding = tx.scalar(_DECIDING_ATTEMPT, email_key=email_key, since=now - window_ms, skip=max_failures - 1)
    if deciding is not None:
        return None, max(1, -(-(deciding + window_ms - now) // 1000))
    tx.run(_FORGET_OLD, email_key=email_key, before=now - window_ms)
    attempt_id: int = tx.scalar(_RECORD, email_key=email_key, failed_at=now)
    return attempt_id, None


def succeeded(tx: Transaction, *, email_key: str, attempt_id: int) -> None:
    """A right password clears the count: this attempt and every one counted before it."""
    tx.run(_CLEAR_UP_TO, email_key=email_key, attempt_id=attempt_id)
