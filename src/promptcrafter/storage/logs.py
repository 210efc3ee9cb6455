"""Logs: outputs a prompt produced, owned through their prompt."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy import bindparam, delete, insert, select

from promptcrafter import messages
from promptcrafter.errors import NotFound
from promptcrafter.storage.keyset import OldestFirst, Page
from promptcrafter.storage.statements import Record, Statement
from promptcrafter.storage.tables import logs
from promptcrafter.storage.transaction import Transaction, is_integrity_error
from promptcrafter.storage.values import new_id, now_ms

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


class LogRecord(TypedDict):
    """A stored log; `score` an int when it was sent as one, the timestamp in milliseconds."""

    id: str
    prompt_id: str
    output: str
    notes: str | None
    model_used: str
    score: float | None
    created_at: int


def record(row: Record) -> LogRecord:
    """A log row with its score as it was sent."""
    score = row["score"]
    if score is not None:
        # SQLite may hand a whole REAL back as an integer; the flag says what was sent.
        score = int(score) if row["score_is_integer"] else float(score)
    return {
        "id": row["id"],
        "prompt_id": row["prompt_id"],
        "output": row["output"],
        "notes": row["notes"],
        "model_used": row["model_used"],
        "score": score,
        "created_at": row["created_at"],
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
) -> LogRecord:
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
    return record(row)


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


def delete_one(tx: Transaction, *, log_id: str) -> bool:
    """Delete one log; whether this call removed it."""
    return tx.run(_DELETE, log_id=log_id) == 1


_TEXTS = (logs.c.output, logs.c.notes)
_BY_OWNER = OldestFirst(
    select(*COLUMNS).where(logs.c.owner_id == bindparam("owner_id")), logs.c.created_at, logs.c.id, _TEXTS, record
)
_BY_PROMPT = OldestFirst(
    select(*COLUMNS).where(logs.c.prompt_id == bindparam("prompt_id")), logs.c.created_at, logs.c.id, _TEXTS, record
)


def page_for_owner(tx: Transaction, *, owner_id: str, after: tuple[int, str] | None) -> Page:
    """One page of the owner's logs, oldest first, starting after the key `after`."""
    return _BY_OWNER.page(tx, after, owner_id=owner_id)


def page_for_prompt(tx: Transaction, *, prompt_id: str, after: tuple[int, str] | None) -> Page:
    """One page of a prompt's logs, oldest first, starting after the key `after`."""
    return _BY_PROMPT.page(tx, after, prompt_id=prompt_id)
