"""Logs: outputs a prompt produced, owned through their prompt."""

from __future__ import annotations

import hashlib
from typing import Any, TypedDict

import orjson
from sqlalchemy import bindparam, delete, insert, select, update

from promptcrafter import messages
from promptcrafter.errors import NotFound
from promptcrafter.storage.keyset import Filter, Phase, SortedList
from promptcrafter.storage.statements import IdLookup, Record, Statement
from promptcrafter.storage.tables import log_search, logs
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
    logs.c.prompt_version,
    logs.c.input,
    logs.c.latency_ms,
    logs.c.input_tokens,
    logs.c.output_tokens,
    logs.c.cost_usd,
    logs.c.run_id,
    logs.c.item_id,
    logs.c.scores,
)
_INSERT = Statement(
    insert(logs).values(
        {column.name: bindparam(column.name) for column in (*COLUMNS, logs.c.owner_id, logs.c.input_key)}
    )
)
_INSERT_SEARCH = Statement(
    insert(log_search).values(
        log_id=bindparam("id"),
        owner_id=bindparam("owner_id"),
        created_at=bindparam("created_at"),
        search_folded=bindparam("search_folded"),
    )
)
_OWNER = Statement(select(logs.c.owner_id).where(logs.c.id == bindparam("log_id")))
_OWNERS = IdLookup(lambda ids: select(logs.c.id, logs.c.owner_id).where(logs.c.id.in_(ids)))
_DELETE = Statement(delete(logs).where(logs.c.id == bindparam("log_id")))
_ONE = Statement(select(*COLUMNS, logs.c.owner_id).where(logs.c.id == bindparam("log_id")))
_REVIEW = Statement(
    update(logs)
    .where(logs.c.id == bindparam("log_id"))
    .values(score=bindparam("new_score"), score_is_integer=bindparam("is_integer"), notes=bindparam("new_notes"))
)
_REINDEX = Statement(
    update(log_search).where(log_search.c.log_id == bindparam("log_id")).values(search_folded=bindparam("folded"))
)
# Read off the index on (prompt_id, model_used, …) without visiting a log.
_MODELS = Statement(
    select(logs.c.model_used).where(logs.c.prompt_id == bindparam("prompt_id")).distinct().order_by(logs.c.model_used)
)


class LogRecord(TypedDict):
    """A stored log; `score` an int when it was sent as one, the timestamp in milliseconds."""

    id: str
    prompt_id: str
    output: str
    notes: str | None
    model_used: str
    score: float | None
    created_at: int
    prompt_version: int
    input: dict[str, str] | None
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    run_id: str | None
    item_id: str | None
    scores: dict[str, float | None] | None


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
        "prompt_version": row["prompt_version"],
        "input": None if row["input"] is None else orjson.loads(row["input"]),
        "latency_ms": row["latency_ms"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cost_usd": row["cost_usd"],
        "run_id": row["run_id"],
        "item_id": row["item_id"],
        "scores": None if row["scores"] is None else orjson.loads(row["scores"]),
    }


def create(
    tx: Transaction,
    *,
    owner_id: str,
    prompt_id: str,
    prompt_version: int,
    output: str,
    model_used: str,
    notes: str | None = None,
    score: float | None = None,
    input: dict[str, str] | None = None,
    latency_ms: float | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cost_usd: float | None = None,
    run_id: str | None = None,
    item_id: str | None = None,
    scores: dict[str, float | None] | None = None,
) -> LogRecord:
    """Store a log for a prompt the caller owns and return it."""
    row = _stored(
        {
            "id": new_id("log"),
            "prompt_id": prompt_id,
            "owner_id": owner_id,
            "prompt_version": prompt_version,
            "output": output,
            "notes": notes,
            "model_used": model_used,
            "score": score,
            "input": input,
            "latency_ms": latency_ms,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": cost_usd,
            "run_id": run_id,
            "item_id": item_id,
            "scores": scores,
            "created_at": now_ms(),
        }
    )
    try:
        tx.run(_INSERT, **row)
        tx.run(_INSERT_SEARCH, **row)
    except Exception as error:
        if is_integrity_error(error):
            # The prompt was deleted between the ownership check and this insert.
            raise NotFound(messages.LOG_PROMPT_INACCESSIBLE) from None
        raise
    return record(row)


def create_many(tx: Transaction, *, owner_id: str, logs: list[dict[str, Any]]) -> list[LogRecord]:
    """Store logs (each with the fields `create` takes) in one statement; their records, in order."""
    created = now_ms()
    rows = [
        _stored({**_OPTIONAL, **log, "id": new_id("log"), "owner_id": owner_id, "created_at": created}) for log in logs
    ]
    try:
        tx.run_many(_INSERT, rows)
        tx.run_many(_INSERT_SEARCH, rows)
    except Exception as error:
        if is_integrity_error(error):
            raise NotFound(messages.LOG_PROMPT_INACCESSIBLE) from None
        raise
    return [record(row) for row in rows]


def insert_many(tx: Transaction, *, rows: list[dict[str, Any]]) -> None:
    """Store logs that already have ids, owners and timestamps (imports, benchmarks), in bulk;
    fields left out are null, and the version 1."""
    stored = [_stored({**_OPTIONAL, **row}) for row in rows]
    tx.run_many(_INSERT, stored)
    tx.run_many(_INSERT_SEARCH, stored)


_OPTIONAL: dict[str, Any] = {
    "prompt_version": 1,
    "input": None,
    "latency_ms": None,
    "input_tokens": None,
    "output_tokens": None,
    "cost_usd": None,
    "run_id": None,
    "item_id": None,
    "scores": None,
}


def _stored(log: dict[str, Any]) -> dict[str, Any]:
    """A log's row: its score's type kept, its input as canonical JSON with its `input_key`."""
    row = {**log, "score_is_integer": isinstance(log["score"], int)}
    if log["input"] is not None:
        row["input"] = orjson.dumps(log["input"], option=orjson.OPT_SORT_KEYS).decode()
    if log["scores"] is not None:
        row["scores"] = orjson.dumps(log["scores"]).decode()
    row["input_key"] = None if row["input"] is None else input_key(row["prompt_id"], row["input"])
    row["search_folded"] = search_text(log["output"], log["notes"])
    return row


def input_key(prompt_id: str, canonical_input: str) -> int:
    """What pairs logs for comparison: equal for the same input on the same prompt. 64 bits of
    SHA-256 (among a million inputs, two share a key with odds of about 1 in 37 million)
    keep the statistics index small."""
    digest = hashlib.sha256(f"{prompt_id}\n{canonical_input}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def search_text(output: str, notes: str | None) -> str:
    """What search reads of a log: its output and notes, case-folded, a line apart."""
    return f"{output.casefold()}\n{(notes or '').casefold()}"


def owner_of(tx: Transaction, *, log_id: str) -> str | None:
    """The id of the log's owner, or None when there is no such log."""
    owner: str | None = tx.scalar(_OWNER, log_id=log_id)
    return owner


def owners_of(tx: Transaction, *, log_ids: list[str]) -> dict[str, str]:
    """The owner of each of these logs that exists (at most 1,000 ids)."""
    if not log_ids:
        return {}
    statement, params = _OWNERS.bind(log_ids)
    return {row["id"]: row["owner_id"] for row in tx.all(statement, **params)}


def models_of(tx: Transaction, *, prompt_id: str) -> list[str]:
    """The models a prompt's logs were produced by, in order."""
    return [row["model_used"] for row in tx.all(_MODELS, prompt_id=prompt_id)]


def get(tx: Transaction, *, log_id: str) -> tuple[str, LogRecord] | None:
    """A log and its owner's id, or None."""
    row = tx.first(_ONE, log_id=log_id)
    return None if row is None else (row["owner_id"], record(row))


def review(tx: Transaction, *, log: LogRecord, score: float | None, notes: str | None) -> LogRecord:
    """Set a log's score and notes (a person's review); its output and `scores` stay."""
    tx.run(_REVIEW, log_id=log["id"], new_score=score, is_integer=isinstance(score, int), new_notes=notes)
    tx.run(_REINDEX, log_id=log["id"], folded=search_text(log["output"], notes))
    return {**log, "score": score, "notes": notes}


def delete_one(tx: Transaction, *, log_id: str) -> bool:
    """Delete one log; whether this call removed it."""
    return tx.run(_DELETE, log_id=log_id) == 1


_TEXTS = (logs.c.output, logs.c.notes)
_NEWEST_LAST = (logs.c.created_at, logs.c.id)
_SCORED, _UNSCORED = logs.c.score.is_not(None), logs.c.score.is_(None)
# Every filter keeps the owner's or the prompt's index usable: each list is scoped by one.
FILTERS: dict[str, Filter] = {
    "owner_id": lambda _: logs.c.owner_id == bindparam("owner_id"),
    "prompt_id": lambda _: logs.c.prompt_id == bindparam("prompt_id"),
    "model_used": lambda count: logs.c.model_used.in_([bindparam(f"model_used_{i}") for i in range(count)]),
    "prompt_version": lambda _: logs.c.prompt_version == bindparam("prompt_version"),
    "min_score": lambda _: logs.c.score >= bindparam("min_score"),
    "max_score": lambda _: logs.c.score <= bindparam("max_score"),
    "scored": lambda _: _SCORED,
    "unscored": lambda _: _UNSCORED,
    "since": lambda _: logs.c.created_at >= bindparam("since"),
    "until": lambda _: logs.c.created_at < bindparam("until"),
    "run_id": lambda _: logs.c.run_id == bindparam("run_id"),
}
ORDERS: dict[str, tuple[Phase, ...]] = {
    "createdAt": (Phase(_NEWEST_LAST),),
    "-createdAt": (Phase(_NEWEST_LAST, descending=True),),
    # Unscored logs come last either way.
    "score": (Phase((logs.c.score, *_NEWEST_LAST), where=_SCORED), Phase(_NEWEST_LAST, where=_UNSCORED)),
    "-score": (
        Phase((logs.c.score, *_NEWEST_LAST), descending=True, where=_SCORED),
        Phase(_NEWEST_LAST, descending=True, where=_UNSCORED),
    ),
}
LIST = SortedList(COLUMNS, _TEXTS, record, FILTERS, ORDERS)
# One page of the logs that pass `filters` (FILTERS; `owner_id` or `prompt_id` among them),
# in one of ORDERS, after the key `after`: `page(tx, filters=…, order=…, after=…)`.
page = LIST.page
