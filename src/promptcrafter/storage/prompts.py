"""Prompts: one owner each; the folded copies that search reads are kept in step here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import bindparam, case, delete, insert, select, update

from promptcrafter.storage.database import Database, Record, Statement, Transaction
from promptcrafter.storage.tables import prompts
from promptcrafter.storage.values import iso, new_id, now_ms

COLUMNS = (
    prompts.c.id,
    prompts.c.owner_id,
    prompts.c.title,
    prompts.c.content,
    prompts.c.model,
    prompts.c.tags,
    prompts.c.created_at,
    prompts.c.updated_at,
)
_FOLDED = ("title_folded", "tags_folded", "search_folded")
_EDITABLE = ("title", "content", "model", "tags", *_FOLDED)

_INSERT_VALUES = insert(prompts).values(
    {name: bindparam(name) for name in ("id", "owner_id", "created_at", "updated_at", *_EDITABLE)}
)
_INSERT = Statement(_INSERT_VALUES.returning(*COLUMNS))
_INSERT_MANY = Statement(_INSERT_VALUES)
_GET = Statement(select(*COLUMNS).where(prompts.c.id == bindparam("prompt_id")))
_OWNER = Statement(select(prompts.c.owner_id).where(prompts.c.id == bindparam("prompt_id")))
_NOW = bindparam("now")
_UPDATE = Statement(
    update(prompts)
    .where(prompts.c.id == bindparam("prompt_id"))
    .values(
        {
            **{name: bindparam(name) for name in _EDITABLE},
            # Two edits within one millisecond must still move updatedAt strictly forward.
            "updated_at": case((prompts.c.updated_at >= _NOW, prompts.c.updated_at + 1), else_=_NOW),
        }
    )
    .returning(*COLUMNS)
)
_DELETE = Statement(delete(prompts).where(prompts.c.id == bindparam("prompt_id")))
_LIST = Statement(
    select(*COLUMNS)
    .where(prompts.c.owner_id == bindparam("owner_id"))
    .order_by(prompts.c.created_at, prompts.c.id)
)


def to_api(row: Record) -> dict[str, Any]:
    """A stored prompt as the API shows it."""
    return {
        "_id": row["id"],
        "ownerId": row["owner_id"],
        "title": row["title"],
        "content": row["content"],
        "model": row["model"],
        "tags": orjson.loads(row["tags"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def _editable(title: str, content: str, model: str, tags: list[str]) -> dict[str, str]:
    # Terms never contain whitespace, so newline separators cannot create false matches.
    tags_folded = "\n".join(tag.casefold() for tag in tags)
    title_folded = title.casefold()
    return {
        "title": title,
        "content": content,
        "model": model,
        "tags": orjson.dumps(tags).decode(),
        "title_folded": title_folded,
        "tags_folded": tags_folded,
        "search_folded": f"{title_folded}\n{tags_folded}\n{content.casefold()}",
    }


def create(
    tx: Transaction, *, owner_id: str, title: str, content: str, model: str, tags: list[str]
) -> dict[str, Any]:
    """Store a new prompt and return it."""
    created = now_ms()
    row = tx.first(
        _INSERT,
        id=new_id("prompt"),
        owner_id=owner_id,
        created_at=created,
        updated_at=created,
        **_editable(title, content, model, tags),
    )
    assert row is not None
    return to_api(row)


def insert_many(tx: Transaction, *, rows: list[dict[str, Any]]) -> None:
    """Store prompts that already have ids and timestamps (imports, benchmarks), in bulk."""
    tx.run_many(
        _INSERT_MANY,
        [
            {
                "id": row["id"],
                "owner_id": row["owner_id"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
                **_editable(row["title"], row["content"], row["model"], row["tags"]),
            }
            for row in rows
        ],
    )


def get(tx: Transaction, *, prompt_id: str) -> dict[str, Any] | None:
    """A prompt by id, whoever owns it (callers check ownership), or None."""
    row = tx.first(_GET, prompt_id=prompt_id)
    return to_api(row) if row else None


def owner_of(tx: Transaction, *, prompt_id: str) -> str | None:
    """The id of the prompt's owner, or None when there is no such prompt."""
    owner: str | None = tx.scalar(_OWNER, prompt_id=prompt_id)
    return owner


def update_fields(tx: Transaction, *, prompt: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply the changed fields; None when the prompt vanished meanwhile."""
    merged = {**prompt, **changes}
    row = tx.first(
        _UPDATE,
        prompt_id=prompt["_id"],
        now=now_ms(),
        **_editable(merged["title"], merged["content"], merged["model"], merged["tags"]),
    )
    return to_api(row) if row else None


def delete_one(tx: Transaction, *, prompt_id: str) -> None:
    """Delete a prompt; its logs go with it (ON DELETE CASCADE)."""
    tx.run(_DELETE, prompt_id=prompt_id)


def list_for_owner(db: Database, *, owner_id: str) -> Iterator[list[dict[str, Any]]]:
    """The owner's prompts, oldest first, in batches."""
    return stream(db, _LIST, owner_id=owner_id)


def stream(db: Database, statement: Statement, **params: Any) -> Iterator[list[dict[str, Any]]]:
    """Run a statement selecting COLUMNS and yield its prompts in API form, in batches."""
    for rows in db.stream(statement, **params):
        yield [to_api(row) for row in rows]
