"""Providers: OpenAI-compatible endpoints, with their models' prices and a sealed API key."""

from __future__ import annotations

from typing import Any, TypedDict

import orjson
from sqlalchemy import bindparam, delete, insert, select, update

from promptcrafter.storage.statements import Record, Statement
from promptcrafter.storage.tables import providers
from promptcrafter.storage.transaction import Transaction, is_integrity_error
from promptcrafter.storage.values import new_id, now_ms

_COLUMNS = (
    providers.c.id,
    providers.c.owner_id,
    providers.c.name,
    providers.c.base_url,
    providers.c.api_key_sealed,
    providers.c.api_key_hint,
    providers.c.models,
    providers.c.concurrency,
    providers.c.timeout_seconds,
    providers.c.created_at,
    providers.c.updated_at,
)
_EDITABLE = ("name", "base_url", "api_key_sealed", "api_key_hint", "models", "concurrency", "timeout_seconds")
_INSERT = Statement(insert(providers).values({column.name: bindparam(column.name) for column in _COLUMNS}))
_ONE = Statement(select(*_COLUMNS).where(providers.c.id == bindparam("provider_id")))
_NAMED = Statement(
    select(*_COLUMNS).where(providers.c.owner_id == bindparam("owner_id"), providers.c.name == bindparam("name"))
)
_OF_OWNER = Statement(select(*_COLUMNS).where(providers.c.owner_id == bindparam("owner_id")).order_by(providers.c.name))
_UPDATE = Statement(
    update(providers)
    .where(providers.c.id == bindparam("provider_id"))
    .values({name: bindparam(name) for name in (*_EDITABLE, "updated_at")})
)
_DELETE = Statement(delete(providers).where(providers.c.id == bindparam("provider_id")))


class ProviderRecord(TypedDict):
    """A provider; `models` each `{"name", "inputPer1M", "outputPer1M"}` (prices may be None)."""

    id: str
    owner_id: str
    name: str
    base_url: str
    api_key_sealed: str | None
    api_key_hint: str | None
    models: list[dict[str, Any]]
    concurrency: int
    timeout_seconds: float
    created_at: int
    updated_at: int


class NameTaken(Exception):
    """Another provider of the owner has this name."""


def _record(row: Record) -> ProviderRecord:
    return ProviderRecord(**{**row, "models": orjson.loads(row["models"])})  # type: ignore[typeddict-item]


def _row(record: ProviderRecord) -> dict[str, Any]:
    return {**record, "models": orjson.dumps(record["models"]).decode()}


def create(tx: Transaction, *, owner_id: str, fields: dict[str, Any]) -> ProviderRecord:
    """Store a provider (`fields` by column name, as in ProviderRecord); NameTaken if the name is."""
    now = now_ms()
    stored = {**fields, "id": new_id("provider"), "owner_id": owner_id, "created_at": now, "updated_at": now}
    record: ProviderRecord = ProviderRecord(**stored)  # type: ignore[typeddict-item]
    try:
        tx.run(_INSERT, **_row(record))
    except Exception as error:
        if is_integrity_error(error):
            raise NameTaken from None
        raise
    return record


def get(tx: Transaction, *, provider_id: str) -> ProviderRecord | None:
    row = tx.first(_ONE, provider_id=provider_id)
    return None if row is None else _record(row)


def named(tx: Transaction, *, owner_id: str, name: str) -> ProviderRecord | None:
    row = tx.first(_NAMED, owner_id=owner_id, name=name)
    return None if row is None else _record(row)


def of_owner(tx: Transaction, *, owner_id: str) -> list[ProviderRecord]:
    """Every provider of an account, by name (an account holds at most a hundred)."""
    return [_record(row) for row in tx.all(_OF_OWNER, owner_id=owner_id)]


def replace(tx: Transaction, *, record: ProviderRecord) -> ProviderRecord:
    """Store a provider's edited fields; NameTaken if its new name is another's."""
    record = ProviderRecord(**{**record, "updated_at": now_ms()})
    row = _row(record)
    try:
        tx.run(_UPDATE, provider_id=record["id"], **{name: row[name] for name in (*_EDITABLE, "updated_at")})
    except Exception as error:
        if is_integrity_error(error):
            raise NameTaken from None
        raise
    return record


def delete_one(tx: Transaction, *, provider_id: str) -> bool:
    return tx.run(_DELETE, provider_id=provider_id) == 1
