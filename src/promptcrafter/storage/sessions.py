"""Web page sessions: looked up by the hash of their cookie, joined with their account."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import bindparam, delete, insert, select

from promptcrafter.storage.statements import Statement
from promptcrafter.storage.tables import users, web_sessions
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import now_ms

_INSERT = Statement(
    insert(web_sessions).values(
        {name: bindparam(name) for name in ("token_hash", "user_id", "created_at", "expires_at")}
    )
)
_GET = Statement(
    select(users.c.id, users.c.name, users.c.email)
    .select_from(web_sessions.join(users, users.c.id == web_sessions.c.user_id))
    .where(
        web_sessions.c.token_hash == bindparam("token_hash"),
        web_sessions.c.expires_at > bindparam("now"),
        users.c.disabled_at.is_(None),
    )
)
_DELETE = Statement(delete(web_sessions).where(web_sessions.c.token_hash == bindparam("token_hash")))
_DELETE_ACCOUNTS = Statement(delete(web_sessions).where(web_sessions.c.user_id == bindparam("user_id")))
_DELETE_EXPIRED = Statement(delete(web_sessions).where(web_sessions.c.expires_at <= bindparam("now")))


class SessionUser(TypedDict):
    """The account a live session belongs to."""

    id: str
    name: str
    email: str


def create(tx: Transaction, *, token_hash: str, user_id: str, lifetime_ms: int) -> None:
    """Start a session; expired sessions of anyone are removed on the way."""
    now = now_ms()
    tx.run(_DELETE_EXPIRED, now=now)
    tx.run(_INSERT, token_hash=token_hash, user_id=user_id, created_at=now, expires_at=now + lifetime_ms)


def user_of(tx: Transaction, *, token_hash: str) -> SessionUser | None:
    """The account of the live session with this hash, or None."""
    row = tx.first(_GET, token_hash=token_hash, now=now_ms())
    return None if row is None else SessionUser(id=row["id"], name=row["name"], email=row["email"])


def end(tx: Transaction, *, token_hash: str) -> None:
    """End one session (signing out)."""
    tx.run(_DELETE, token_hash=token_hash)


def end_all(tx: Transaction, *, user_id: str) -> None:
    """End every session of the account (signing out everywhere)."""
    tx.run(_DELETE_ACCOUNTS, user_id=user_id)
