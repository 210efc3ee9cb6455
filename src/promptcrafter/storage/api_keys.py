"""API keys: created with their hash, looked up by it (with their account), listed, revoked."""

from __future__ import annotations

from contextlib import closing
from typing import TypedDict

from sqlalchemy import bindparam, delete, insert, select, update

from promptcrafter.storage.statements import Record, Statement
from promptcrafter.storage.tables import api_keys, users
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import new_id, now_ms

_COLUMNS = (
    api_keys.c.id,
    api_keys.c.owner_id,
    api_keys.c.name,
    api_keys.c.scopes,
    api_keys.c.prefix,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.last_used_at,
)
_INSERT = Statement(
    insert(api_keys).values({column.name: bindparam(column.name) for column in (*_COLUMNS, api_keys.c.key_hash)})
)
# Joined with the account, so that a deleted account's keys are as dead as its tokens.
_BY_HASH = Statement(
    select(*_COLUMNS)
    .select_from(api_keys.join(users, users.c.id == api_keys.c.owner_id))
    .where(api_keys.c.key_hash == bindparam("key_hash"), users.c.disabled_at.is_(None))
)
# What every request presenting a key reads of it, in its own unit of work: as little as will do.
_IN_USE = Statement(
    select(api_keys.c.id, api_keys.c.expires_at, api_keys.c.last_used_at)
    .select_from(api_keys.join(users, users.c.id == api_keys.c.owner_id))
    .where(api_keys.c.key_hash == bindparam("key_hash"), users.c.disabled_at.is_(None))
)
_OF_OWNER = Statement(
    select(*_COLUMNS).where(api_keys.c.owner_id == bindparam("owner_id")).order_by(api_keys.c.created_at, api_keys.c.id)
)
_OWNER = Statement(select(api_keys.c.owner_id).where(api_keys.c.id == bindparam("key_id")))
_DELETE = Statement(delete(api_keys).where(api_keys.c.id == bindparam("key_id")))
_TOUCH = Statement(
    update(api_keys).where(api_keys.c.id == bindparam("key_id")).values(last_used_at=bindparam("used_at"))
)


class KeyRecord(TypedDict):
    """A stored API key (never the key itself); times in milliseconds."""

    id: str
    owner_id: str
    name: str
    scopes: list[str]
    prefix: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None


def _record(row: Record) -> KeyRecord:
    return KeyRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        scopes=row["scopes"].split(),
        prefix=row["prefix"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
    )


def create(
    tx: Transaction, *, owner_id: str, name: str, scopes: list[str], prefix: str, key_hash: str, expires_at: int | None
) -> KeyRecord:
    """Store a new key's hash and what it allows."""
    row: Record = {
        "id": new_id("key"),
        "owner_id": owner_id,
        "name": name,
        "scopes": " ".join(scopes),
        "prefix": prefix,
        "created_at": now_ms(),
        "expires_at": expires_at,
        "last_used_at": None,
    }
    tx.run(_INSERT, key_hash=key_hash, **row)
    return _record(row)


def by_hash(tx: Transaction, *, key_hash: str) -> KeyRecord | None:
    """The key with this hash, if it exists and its account does."""
    row = tx.first(_BY_HASH, key_hash=key_hash)
    return None if row is None else _record(row)


def in_use(tx: Transaction, *, key_hash: str) -> tuple[str, int | None, int | None] | None:
    """A key's id, expiry and last use, if it exists and its account is not disabled."""
    with closing(tx.execute(_IN_USE, key_hash=key_hash)) as cursor:
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2])


def of_owner(tx: Transaction, *, owner_id: str) -> list[KeyRecord]:
    """Every key of an account, oldest first (an account holds at most a few hundred)."""
    return [_record(row) for row in tx.all(_OF_OWNER, owner_id=owner_id)]


def owner_of(tx: Transaction, *, key_id: str) -> str | None:
    owner: str | None = tx.scalar(_OWNER, key_id=key_id)
    return owner


def delete_one(tx: Transaction, *, key_id: str) -> bool:
    """Revoke a key; whether it existed."""
    return tx.run(_DELETE, key_id=key_id) > 0


def touch(tx: Transaction, *, key_id: str, used_at: int) -> None:
    """Record when a key was last used (callers do it at most once a minute per key)."""
    tx.run(_TOUCH, key_id=key_id, used_at=used_at)
