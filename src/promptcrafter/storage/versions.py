"""Prompt versions (immutable snapshots) and the labels that name them."""

from __future__ import annotations

from typing import Any, TypedDict

import orjson
from sqlalchemy import bindparam, delete, insert, select

from promptcrafter.storage.keyset import PAGE_CHARACTERS, PAGE_SIZE, Page, PageQuery, bad_key
from promptcrafter.storage.statements import Record, Statement, upsert
from promptcrafter.storage.tables import prompt_labels, prompt_versions
from promptcrafter.storage.transaction import Transaction

FIELDS = ("title", "content", "model", "tags")
COLUMNS = (
    prompt_versions.c.version,
    prompt_versions.c.title,
    prompt_versions.c.content,
    prompt_versions.c.model,
    prompt_versions.c.tags,
    prompt_versions.c.created_at,
)


_NO_VERSION_ABOVE = 2**31 - 1


class VersionRecord(TypedDict):
    """A version of a prompt, with the names of the labels pointing at it (sorted)."""

    version: int
    title: str
    content: str
    model: str
    tags: list[str]
    created_at: int
    labels: list[str]


class LabelRecord(TypedDict):
    label: str
    version: int
    updated_at: int


_INSERT = Statement(
    insert(prompt_versions).values({name: bindparam(name) for name in ("prompt_id", "version", *FIELDS, "created_at")})
)
_ONE = Statement(
    select(*COLUMNS).where(
        prompt_versions.c.prompt_id == bindparam("prompt_id"), prompt_versions.c.version == bindparam("version")
    )
)
_NEWEST_FIRST = PageQuery(
    select(*COLUMNS)
    .where(prompt_versions.c.prompt_id == bindparam("prompt_id"), prompt_versions.c.version < bindparam("before"))
    .order_by(prompt_versions.c.version.desc())
    .limit(bindparam("page_size")),
    (prompt_versions.c.title, prompt_versions.c.content, prompt_versions.c.tags),
    [("version", True)],
)
_LABELS = Statement(
    select(prompt_labels.c.name, prompt_labels.c.version).where(prompt_labels.c.prompt_id == bindparam("prompt_id"))
)
_LABELLED = Statement(
    select(prompt_labels.c.version).where(
        prompt_labels.c.prompt_id == bindparam("prompt_id"), prompt_labels.c.name == bindparam("name")
    )
)
_SET_LABEL = upsert(prompt_labels, ["prompt_id", "name"], ["version", "updated_at"])
_DELETE_LABEL = Statement(
    delete(prompt_labels).where(
        prompt_labels.c.prompt_id == bindparam("prompt_id"), prompt_labels.c.name == bindparam("name")
    )
)


def insert_one(
    tx: Transaction,
    *,
    prompt_id: str,
    version: int,
    title: str,
    content: str,
    model: str,
    tags: list[str],
    created_at: int,
) -> None:
    """Store a new snapshot of a prompt's fields."""
    tx.run(
        _INSERT,
        prompt_id=prompt_id,
        version=version,
        title=title,
        content=content,
        model=model,
        tags=orjson.dumps(tags).decode(),
        created_at=created_at,
    )


def insert_many(tx: Transaction, *, rows: list[dict[str, Any]]) -> None:
    """Store snapshots in bulk (imports, benchmarks); `tags` as lists."""
    tx.run_many(_INSERT, [{**row, "tags": orjson.dumps(row["tags"]).decode()} for row in rows])


def get(tx: Transaction, *, prompt_id: str, version: int, with_labels: bool = True) -> VersionRecord | None:
    """One version of a prompt, or None; its `labels` are left empty unless `with_labels`."""
    row = tx.first(_ONE, prompt_id=prompt_id, version=version)
    if row is None:
        return None
    return _record(row, labels_by_version(tx, prompt_id=prompt_id) if with_labels else {})


def page_newest_first(
    tx: Transaction, *, prompt_id: str, after: Any, size: int = PAGE_SIZE, characters: int = PAGE_CHARACTERS
) -> Page:
    """One page of a prompt's versions, newest first, after the version `after`."""
    if after is not None and type(after) is not int:
        raise bad_key()
    before = _NO_VERSION_ABOVE if after is None else after
    rows, more = _NEWEST_FIRST.rows(tx, prompt_id=prompt_id, before=before, page_size=size, page_characters=characters)
    labels = labels_by_version(tx, prompt_id=prompt_id) if rows else {}
    return [_record(row, labels) for row in rows], rows[-1]["version"] if more and rows else None


def labels_by_version(tx: Transaction, *, prompt_id: str) -> dict[int, list[str]]:
    """The names of a prompt's labels, sorted, by the version each points at."""
    labels: dict[int, list[str]] = {}
    for row in sorted(tx.all(_LABELS, prompt_id=prompt_id), key=lambda row: row["name"]):
        labels.setdefault(row["version"], []).append(row["name"])
    return labels


def labelled_version(tx: Transaction, *, prompt_id: str, name: str) -> int | None:
    """The version a label points at, or None when the prompt has no such label."""
    version: int | None = tx.scalar(_LABELLED, prompt_id=prompt_id, name=name)
    return version


def set_label(tx: Transaction, *, prompt_id: str, name: str, version: int, now: int) -> LabelRecord:
    """Point a label at a version, creating or moving it."""
    tx.run(_SET_LABEL[tx.dialect_name], prompt_id=prompt_id, name=name, version=version, updated_at=now)
    return {"label": name, "version": version, "updated_at": now}


def delete_label(tx: Transaction, *, prompt_id: str, name: str) -> bool:
    """Remove a label; whether it was set."""
    return tx.run(_DELETE_LABEL, prompt_id=prompt_id, name=name) == 1


def _record(row: Record, labels: dict[int, list[str]]) -> VersionRecord:
    return {
        "version": row["version"],
        "title": row["title"],
        "content": row["content"],
        "model": row["model"],
        "tags": orjson.loads(row["tags"]),
        "created_at": row["created_at"],
        "labels": labels.get(row["version"], []),
    }
