"""Prompts: one owner each; the folded copies that search reads are kept in step here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, Select, case, delete, insert, select, update

from promptcrafter.storage.database import Database
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


def to_api(row: Row[Any]) -> dict[str, Any]:
    """A stored prompt as the API shows it."""
    return {
        "_id": row.id,
        "ownerId": row.owner_id,
        "title": row.title,
        "content": row.content,
        "model": row.model,
        "tags": orjson.loads(row.tags),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def _folded(title: str, content: str, tags: list[str]) -> dict[str, str]:
    # Terms never contain whitespace, so newline separators cannot create false matches.
    tags_folded = "\n".join(tag.casefold() for tag in tags)
    title_folded = title.casefold()
    return {
        "title_folded": title_folded,
        "tags_folded": tags_folded,
        "search_folded": f"{title_folded}\n{tags_folded}\n{content.casefold()}",
    }


def create(
    conn: Connection, *, owner_id: str, title: str, content: str, model: str, tags: list[str]
) -> dict[str, Any]:
    """Store a new prompt and return it."""
    created = now_ms()
    values = {
        "id": new_id("prompt"),
        "owner_id": owner_id,
        "title": title,
        "content": content,
        "model": model,
        "tags": orjson.dumps(tags).decode(),
        "created_at": created,
        "updated_at": created,
        **_folded(title, content, tags),
    }
    row = conn.execute(insert(prompts).values(values).returning(*COLUMNS)).one()
    return to_api(row)


def get(conn: Connection, *, prompt_id: str) -> dict[str, Any] | None:
    """A prompt by id, whoever owns it (callers check ownership), or None."""
    row = conn.execute(select(*COLUMNS).where(prompts.c.id == prompt_id)).first()
    return to_api(row) if row else None


def owner_of(conn: Connection, *, prompt_id: str) -> str | None:
    """The id of the prompt's owner, or None when there is no such prompt."""
    return conn.execute(
        select(prompts.c.owner_id).where(prompts.c.id == prompt_id)
    ).scalar_one_or_none()


def update_fields(
    conn: Connection, *, prompt: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply the changed fields; None when the prompt vanished meanwhile."""
    merged = {**prompt, **changes}
    now = now_ms()
    # Two edits within one millisecond must still move updatedAt strictly forward.
    updated_at = case((prompts.c.updated_at >= now, prompts.c.updated_at + 1), else_=now)
    row = conn.execute(
        update(prompts)
        .where(prompts.c.id == prompt["_id"])
        .values(
            title=merged["title"],
            content=merged["content"],
            model=merged["model"],
            tags=orjson.dumps(merged["tags"]).decode(),
            updated_at=updated_at,
            **_folded(merged["title"], merged["content"], merged["tags"]),
        )
        .returning(*COLUMNS)
    ).first()
    return to_api(row) if row else None


def delete_one(conn: Connection, *, prompt_id: str) -> None:
    """Delete a prompt; its logs go with it (ON DELETE CASCADE)."""
    conn.execute(delete(prompts).where(prompts.c.id == prompt_id))


def list_for_owner(db: Database, *, owner_id: str) -> Iterator[Sequence[dict[str, Any]]]:
    """The owner's prompts, oldest first, in batches."""
    query = (
        select(*COLUMNS)
        .where(prompts.c.owner_id == owner_id)
        .order_by(prompts.c.created_at, prompts.c.id)
    )
    return stream(db, query)


def stream(db: Database, query: Select[Any]) -> Iterator[Sequence[dict[str, Any]]]:
    """Run a query selecting COLUMNS and yield its prompts in API form, in batches."""
    for rows in db.stream(query):
        yield [to_api(row) for row in rows]
