"""Logs: outputs a prompt produced, owned through their prompt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from promptcrafter import messages
from promptcrafter.errors import NotFound
from promptcrafter.storage.database import Database, Record, Statement, Transaction, is_integrity_error
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
_INSERT = Statement(
    insert(logs).values({column.name: bindparam(column.name) for column in (*COLUMNS, logs.c.owner_id)})
)
_OWNER = Statement(select(logs.c.owner_id).where(logs.c.id == bindparam("log_id")))
_DELETE = Statement(delete(logs).where(logs.c.id == bindparam("log_id")))
_BY_OWNER = Statement(
    select(*COLUMNS).where(logs.c.owner_id == bindparam("owner_id")).order_by(logs.c.created_at, logs.c.id)
)
_BY_PROMPT = Statement(
    select(*COLUMNS).where(logs.c.prompt_id == bindparam("prompt_id")).order_by(logs.c.created_at, logs.c.id)
)


def to_api(row: Record) -> dict[str, Any]:
    """A stored log as the API shows it."""
    score = row["score"]
    if score is not None:
        # SQLite may hand a whole REAL back as an integer; the flag says what was sent.
        score = int(score) if row["score_is_integer"] else float(score)
    return {
        "_id": row["id"],
        "promptId": row["prompt_id"],
        "output": row["output"],
        "notes": row["notes"],
        "modelUsed": row["model_used"],
        "score": score,
        "createdAt": iso(row["created_at"]),
    }


def create(
    tx: Transaction,
    *,
    owner_id: str,
    prompt_id: str,
    output: str,
    model_used: str,
    notes: str | None,
    score: float | None,
) -> dict[str, Any]:
    """Store a log for a prompt the caller owns and return it."""
    row = {
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
        tx.run(_INSERT, **row)
    except Exception as error:
        if is_integrity_error(error):
            # The prompt was deleted between the ownership check and this insert.
            raise NotFound(messages.LOG_PROMPT_INACCESSIBLE) from None
        raise
    return to_api(row)


def insert_many(tx: Transaction, *, rows: list[dict[str, Any]]) -> None:
    """Store logs that already have ids, owners and timestamps (imports, benchmarks), in bulk."""
    tx.run_many(
        _INSERT,
        [{**row, "score_is_integer": isinstance(row["score"], int)} for row in rows],
    )


def owner_of(tx: Transaction, *, log_id: str) -> str | None:
    """The id of the log's owner, or None when there is no such log."""
    owner: str | None = tx.scalar(_OWNER, log_id=log_id)
    return owner


def delete_one(tx: Transaction, *, log_id: str) -> None:
    """Delete one log."""
    tx.run(_DELETE, log_id=log_id)


def list_for_owner(db: Database, *, owner_id: str) -> Iterator[list[dict[str, Any]]]:
    """All the owner's logs, oldest first, in batches."""
    return _stream(db, _BY_OWNER, owner_id=owner_id)


def list_for_prompt(db: Database, *, prompt_id: str) -> Iterator[list[dict[str, Any]]]:
    """One prompt's logs, oldest first, in batches."""
    return _stream(db, _BY_PROMPT, prompt_id=prompt_id)


def _stream(db: Database, statement: Statement, **params: Any) -> Iterator[list[dict[str, Any]]]:
    for rows in db.stream(statement, **params):
        yield [to_api(row) for row in rows]
