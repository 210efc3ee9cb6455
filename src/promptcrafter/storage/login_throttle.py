"""Failed-login counting per email, in the database so every server process shares it."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from promptcrafter.storage.tables import login_failures
from promptcrafter.storage.values import now_ms


def locked_for(
    conn: Connection, *, email_key: str, max_failures: int, window_seconds: int
) -> int | None:
    """Seconds until the email may try again, or None when it is not locked."""
    now = now_ms()
    window_ms = window_seconds * 1000
    # The max_failures-th most recent failure decides: once it leaves the window, so does the lock.
    deciding = conn.execute(
        select(login_failures.c.failed_at)
        .where(login_failures.c.email_key == email_key, login_failures.c.failed_at > now - window_ms)
        .order_by(login_failures.c.failed_at.desc())
        .offset(max_failures - 1)
        .limit(1)
    ).scalar_one_or_none()
    if deciding is None:
        return None
    return max(1, -(-(deciding + window_ms - now) // 1000))


def record_failure(conn: Connection, *, email_key: str, window_seconds: int) -> None:
    """Count one failed attempt and forget this email's attempts older than the window."""
    now = now_ms()
    conn.execute(
        delete(login_failures).where(
            login_failures.c.email_key == email_key,
            login_failures.c.failed_at <= now - window_seconds * 1000,
        )
    )
    conn.execute(insert(login_failures).values(email_key=email_key, failed_at=now))


def clear(conn: Connection, *, email_key: str) -> None:
    """Forget the email's failures after a successful login."""
    conn.execute(delete(login_failures).where(login_failures.c.email_key == email_key))
