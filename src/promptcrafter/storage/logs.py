"""Logs: outputs a prompt produced, owned through their prompt."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select
from sqlalchemy.exc import IntegrityError

from promptcrafter import messages
from promptcrafter.errors import NotFound
from promptcrafter.storage.database import Database
from promptcrafter.storage.tables import logs
from promptcrafter.storage.values import iso, new_id, now_ms

COLUMNS = (
    logs.c.id,
    logs.c.prompt_id,
    logs.c.output,
    logs.c.notes,
    logs.c.model_used,
    logs.c.score,
    logs.c.score_is_integer,
    logs.c.created_at,
)


def to_api(row: Row[Any]) -> dict[str, Any]:
    """A stored log as the API shows it."""
    score = row.score
    if score is not None:
        # SQLite may hand a whole REAL back as an integer; the flag says what was sent.
        score = int(score) if row.score_is_integer else float(score)
    return {
        "_id": row.id,
        "promptId": row.prompt_id,
        "output": row.output,
        "notes": row.notes,
        "modelUsed": row.model_used,
        "score": score,
        "createdAt": iso(row.created_at),
    }


def create(
    conn: Connection,
    *,
    owner_id: str,
    prompt_id: str,
    output: str,
    model_used: str,
    notes: str | None,
    score: float | None,
) -> dict[str, Any]:
    """Store a log for a prompt the caller owns and return it."""
    values = {
        "id": new_id("log"),
        "prompt_id": prompt_id,
        "owner_id": owner_id,
        "output": output,
        "notes": notes,
        "model_used": model_used,
        "score": score,
        "score_is_integer": isinstance(score, int),
        "created_at": now_ms(),
    }
    try:
        row = conn.execute(insert(logs).values(values).returning(*COLUMNS)).one()
    except IntegrityError:
        # The prompt was deleted between the ownership check and this insert.
        raise NotFound(messages.LOG_PROMPT_INACCESSIBLE) from None
    return to_api(row)


def owner_of(conn: Connection, *, log_id: str) -> str | None:
    """The id of the log's owner, or None when there is no such log."""
    return conn.execute(select(logs.c.owner_id).where(logs.c.id == log_id)).scalar_one_or_none()


def delete_one(conn: Connection, *, log_id: str) -> None:
    """Delete one log."""
    conn.execute(delete(logs).where(logs.c.id == log_id))


def list_for_owner(db: Database, *, owner_id: str) -> Iterator[Sequence[dict[str, Any]]]:
    """All the owner's logs, oldest first, in batches."""
    query = select(*COLUMNS).where(logs.c.owner_id == owner_id).order_by(logs.c.created_at, logs.c.id)
    return _stream(db, query)


def list_for_prompt(db: Database, *, prompt_id: str) -> Iterator[Sequence[dict[str, Any]]]:
    """One prompt's logs, oldest first, in batches."""
    query = (
        select(*COLUMNS).where(logs.c.prompt_id == prompt_id).order_by(logs.c.created_at, logs.c.id)
    )
    return _stream(db, query)


def _stream(db: Database, query: Any) -> Iterator[Sequence[dict[str, Any]]]:
    for rows in db.stream(query):
        yield [to_api(row) for row in rows]
