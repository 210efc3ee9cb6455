"""Accounts and the signing secret."""

from __future__ import annotations

import secrets
from typing import Any, TypedDict

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from promptcrafter import messages
from promptcrafter.errors import Conflict
from promptcrafter.storage.statements import Statement
from promptcrafter.storage.tables import logs, prompts, server_secrets, users
from promptcrafter.storage.transaction import Transaction, is_integrity_error
from promptcrafter.storage.values import new_id, now_ms

_INSERT = Statement(
    insert(users).values(
        {column: bindparam(column) for column in ("id", "name", "email", "email_key", "password_hash", "created_at")}
    )
)
_CREDENTIALS = Statement(
    select(users.c.id, users.c.password_hash, users.c.disabled_at).where(users.c.email_key == bindparam("email_key"))
)
_SET_HASH = Statement(
    update(users).where(users.c.id == bindparam("user_id")).values(password_hash=bindparam("password_hash"))
)
# A disabled account is, to every request, one that does not exist.
_GET = Statement(
    select(users.c.id, users.c.name, users.c.email, users.c.created_at).where(
        users.c.id == bindparam("user_id"), users.c.disabled_at.is_(None)
    )
)
_ACCOUNTS = Statement(
    select(
        users.c.id,
        users.c.name,
        users.c.email,
        users.c.created_at,
        users.c.disabled_at,
        select(func.count()).where(prompts.c.owner_id == users.c.id).scalar_subquery().label("prompts"),
        select(func.count()).where(logs.c.owner_id == users.c.id).scalar_subquery().label("logs"),
    ).order_by(users.c.created_at, users.c.id)
)
_FIND = Statement(
    select(users.c.id).where(or_(users.c.id == bindparam("who"), users.c.email_key == bindparam("who_key")))
)
_SET_DISABLED = Statement(
    update(users).where(users.c.id == bindparam("user_id")).values(disabled_at=bindparam("disabled_at"))
)
_DELETE = Statement(delete(users).where(users.c.id == bindparam("user_id")))
_SECRET = Statement(select(server_secrets.c.value).where(server_secrets.c.name == bindparam("name")))
_SECRET_INSERTS = {
    "postgresql": Statement(
        postgresql.insert(server_secrets)
        .values(name=bindparam("name"), value=bindparam("value"))
        .on_conflict_do_nothing(index_elements=["name"])
    ),
    "sqlite": Statement(
        sqlite.insert(server_secrets)
        .values(name=bindparam("name"), value=bindparam("value"))
        .on_conflict_do_nothing(index_elements=["name"])
    ),
}


def email_key(email: str) -> str:
    """The form under which emails are unique and compared: case does not matter."""
    return email.lower()


def create(tx: Transaction, *, name: str, email: str, password_hash: str) -> str:
    """Create an account and return its id; Conflict when the email is taken."""
    user_id = new_id("user")
    try:
        tx.run(
            _INSERT,
            id=user_id,
            name=name,
            email=email,
            email_key=email_key(email),
            password_hash=password_hash,
            created_at=now_ms(),
        )
    except Exception as error:
        if is_integrity_error(error):
            raise Conflict(messages.EMAIL_TAKEN) from None
        raise
    return user_id


def credentials(tx: Transaction, *, email: str) -> tuple[str, str, bool] | None:
    """The id and password hash of the account with this email, and whether it is disabled."""
    row = tx.first(_CREDENTIALS, email_key=email_key(email))
    return (row["id"], row["password_hash"], row["disabled_at"] is not None) if row else None


def set_password_hash(tx: Transaction, *, user_id: str, password_hash: str) -> None:
    """Replace a stored hash, when its parameters were strengthened."""
    tx.run(_SET_HASH, user_id=user_id, password_hash=password_hash)


class UserRecord(TypedDict):
    """The public part of an account; `created_at` in milliseconds since the Unix epoch."""

    id: str
    name: str
    email: str
    created_at: int


def get(tx: Transaction, *, user_id: str) -> UserRecord | None:
    """The public part of an account, or None when it does not exist."""
    row = tx.first(_GET, user_id=user_id)
    if row is None:
        return None
    return {"id": row["id"], "name": row["name"], "email": row["email"], "created_at": row["created_at"]}


def accounts(tx: Transaction) -> list[dict[str, Any]]:
    """Every account, oldest first, with how many prompts and logs it holds (for an operator)."""
    return tx.all(_ACCOUNTS)


def find(tx: Transaction, *, who: str) -> str | None:
    """The id of the account with this id or email."""
    found: str | None = tx.scalar(_FIND, who=who, who_key=email_key(who))
    return found


def set_disabled(tx: Transaction, *, user_id: str, disabled: bool) -> None:
    tx.run(_SET_DISABLED, user_id=user_id, disabled_at=now_ms() if disabled else None)


def delete_one(tx: Transaction, *, user_id: str) -> None:
    """Delete an account and, through the foreign keys, everything it holds."""
    tx.run(_DELETE, user_id=user_id)


def signing_secret(tx: Transaction) -> str:
    """The token signing key shared by every server on this database, made on first use."""
    tx.run(_SECRET_INSERTS[tx.dialect_name], name="jwt_secret", value=secrets.token_urlsafe(48))
    secret: str = tx.scalar(_SECRET, name="jwt_secret")
    return secret
