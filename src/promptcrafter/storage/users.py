"""Accounts and the signing secret."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from promptcrafter import messages
from promptcrafter.errors import Conflict
from promptcrafter.storage.tables import server_secrets, users
from promptcrafter.storage.values import iso, new_id, now_ms


def email_key(email: str) -> str:
    """The form under which emails are unique and compared: case does not matter."""
    return email.lower()


def create(conn: Connection, *, name: str, email: str, password_hash: str) -> str:
    """Create an account and return its id; Conflict when the email is taken."""
    user_id = new_id("user")
    try:
        conn.execute(
            insert(users).values(
                id=user_id,
                name=name,
                email=email,
                email_key=email_key(email),
                password_hash=password_hash,
                created_at=now_ms(),
            )
        )
    except IntegrityError:
        raise Conflict(messages.EMAIL_TAKEN) from None
    return user_id


def credentials(conn: Connection, *, email: str) -> tuple[str, str] | None:
    """The id and password hash of the account with this email, if any."""
    row = conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.email_key == email_key(email))
    ).first()
    return (row.id, row.password_hash) if row else None


def set_password_hash(conn: Connection, *, user_id: str, password_hash: str) -> None:
    """Replace a stored hash, when its parameters were strengthened."""
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


def get(conn: Connection, *, user_id: str) -> dict[str, Any] | None:
    """The public view of an account, or None when it does not exist."""
    row = conn.execute(
        select(users.c.id, users.c.name, users.c.email, users.c.created_at).where(
            users.c.id == user_id
        )
    ).first()
    if row is None:
        return None
    return {"_id": row.id, "name": row.name, "email": row.email, "createdAt": iso(row.created_at)}


def signing_secret(conn: Connection) -> str:
    """The token signing key shared by every server on this database, made on first use."""
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert_(server_secrets)
        .values(name="jwt_secret", value=secrets.token_urlsafe(48))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return conn.execute(
        select(server_secrets.c.value).where(server_secrets.c.name == "jwt_secret")
    ).scalar_one()
