"""Prompts: one owner each; the folded copies that search reads are kept in step here."""

from __future__ import annotations

from typing import Any, TypedDict

import orjson
from sqlalchemy import BindParameter, and_, bindparam, case, delete, insert, literal, select, update

from promptcrafter.storage import versions
from promptcrafter.storage.keyset import PAGE_CHARACTERS, PAGE_SIZE, Filter, Page, Phase, SortedList
from promptcrafter.storage.statements import IdLookup, Record, Statement, escape_like
from promptcrafter.storage.tables import prompt_labels, prompt_versions, prompts
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import new_id, now_ms

COLUMNS = (
    prompts.c.id,
    prompts.c.owner_id,
    prompts.c.title,
    prompts.c.content,
    prompts.c.model,
    prompts.c.tags,
    prompts.c.created_at,
    prompts.c.updated_at,
    prompts.c.version,
)
_FOLDED = ("title_folded", "tags_folded", "search_folded")
_EDITABLE = ("title", "content", "model", "tags", *_FOLDED)

_INSERT_VALUES = insert(prompts).values(
    {name: bindparam(name) for name in ("id", "owner_id", "created_at", "updated_at", "version", *_EDITABLE)}
)
_INSERT = Statement(_INSERT_VALUES.returning(*COLUMNS))
_INSERT_MANY = Statement(_INSERT_VALUES)
_GET = Statement(select(*COLUMNS).where(prompts.c.id == bindparam("prompt_id")))
# Concurrent edits of one prompt queue on its row instead of overwriting each other.
_GET_FOR_UPDATE = Statement(select(*COLUMNS).where(prompts.c.id == bindparam("prompt_id")).with_for_update())
_OWNER = Statement(select(prompts.c.owner_id).where(prompts.c.id == bindparam("prompt_id")))
_OWNER_AND_VERSION = Statement(
    select(prompts.c.owner_id, prompts.c.version).where(prompts.c.id == bindparam("prompt_id"))
)
_NOW: BindParameter[int] = bindparam("now")
_UPDATE = Statement(
    update(prompts)
    .where(prompts.c.id == bindparam("prompt_id"))
    .values(
        {
            **{name: bindparam(name) for name in (*_EDITABLE, "version")},
            # Two edits within one millisecond must still move updatedAt strictly forward.
            "updated_at": case((prompts.c.updated_at >= _NOW, prompts.c.updated_at + 1), else_=_NOW),
        }
    )
    .returning(*COLUMNS)
)
_DELETE = Statement(delete(prompts).where(prompts.c.id == bindparam("prompt_id")))
# What an application fetches at run time, `GET /prompts/{id}?label=…`, in one statement: the
# prompt, the version its label names, and that version's fields.
_AS_LABELLED = Statement(
    select(
        *COLUMNS,
        prompt_labels.c.version.label("labelled_version"),
        *(prompt_versions.c[name].label(f"labelled_{name}") for name in versions.FIELDS),
    )
    .select_from(
        prompts.outerjoin(
            prompt_labels, and_(prompt_labels.c.prompt_id == prompts.c.id, prompt_labels.c.name == bindparam("name"))
        ).outerjoin(
            prompt_versions,
            and_(
                prompt_versions.c.prompt_id == prompt_labels.c.prompt_id,
                prompt_versions.c.version == prompt_labels.c.version,
            ),
        )
    )
    .where(prompts.c.id == bindparam("prompt_id"))
)


class PromptRecord(TypedDict):
    """A stored prompt; timestamps in milliseconds since the Unix epoch."""

    id: str
    owner_id: str
    title: str
    content: str
    model: str
    tags: list[str]
    created_at: int
    updated_at: int
    version: int


def record(row: Record) -> PromptRecord:
    """A prompt row with its tags decoded."""
    return {
        "id": row["id"],
        "owner_id": row["owner_id"],
        "title": row["title"],
        "content": row["content"],
        "model": row["model"],
        "tags": orjson.loads(row["tags"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
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


def create(tx: Transaction, *, owner_id: str, title: str, content: str, model: str, tags: list[str]) -> PromptRecord:
    """Store a new prompt, and its fields as version 1, and return it."""
    created = now_ms()
    row = tx.first(
        _INSERT,
        id=new_id("prompt"),
        owner_id=owner_id,
        created_at=created,
        updated_at=created,
        version=1,
        **_editable(title, content, model, tags),
    )
    assert row is not None
    prompt = record(row)
    versions.insert_one(tx, prompt_id=prompt["id"], version=1, **versioned_fields(prompt), created_at=created)
    return prompt


def insert_many(tx: Transaction, *, rows: list[dict[str, Any]]) -> None:
    """Store prompts that already have ids and timestamps (imports, benchmarks), in bulk, each
    with its fields as its current `version` (1 unless given); earlier versions are the caller's."""
    tx.run_many(
        _INSERT_MANY,
        [
            {
                "id": row["id"],
                "owner_id": row["owner_id"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
                "version": row.get("version", 1),
                **_editable(row["title"], row["content"], row["model"], row["tags"]),
            }
            for row in rows
        ],
    )
    versions.insert_many(
        tx,
        rows=[
            {
                "prompt_id": row["id"],
                "version": row.get("version", 1),
                **versioned_fields(row),
                "created_at": row["updated_at"],
            }
            for row in rows
        ],
    )


def get(tx: Transaction, *, prompt_id: str, for_update: bool = False) -> PromptRecord | None:
    """A prompt by id, whoever owns it (callers check ownership), or None.

    `for_update` locks its row until the transaction ends (PostgreSQL; a SQLite writer
    holds the whole database already).
    """
    row = tx.first(_GET_FOR_UPDATE if for_update else _GET, prompt_id=prompt_id)
    return record(row) if row else None


def get_as_labelled(tx: Transaction, *, prompt_id: str, label: str) -> tuple[PromptRecord, bool] | None:
    """A prompt with the fields of the version `label` names, and whether it has that label
    (if not, the prompt as it is); None when there is no such prompt."""
    row = tx.first(_AS_LABELLED, prompt_id=prompt_id, name=label)
    if row is None:
        return None
    prompt = record(row)
    if row["labelled_version"] is None:
        return prompt, False
    labelled: PromptRecord = {
        **prompt,
        "title": row["labelled_title"],
        "content": row["labelled_content"],
        "model": row["labelled_model"],
        "tags": orjson.loads(row["labelled_tags"]),
        "version": row["labelled_version"],
    }
    return labelled, True


def owner_of(tx: Transaction, *, prompt_id: str) -> str | None:
    """The id of the prompt's owner, or None when there is no such prompt."""
    owner: str | None = tx.scalar(_OWNER, prompt_id=prompt_id)
    return owner


def owner_and_version(tx: Transaction, *, prompt_id: str) -> tuple[str, int] | None:
    """The prompt's owner and current version, or None when there is no such prompt."""
    row = tx.first(_OWNER_AND_VERSION, prompt_id=prompt_id)
    return None if row is None else (row["owner_id"], row["version"])


_OWNERS_AND_VERSIONS = IdLookup(
    lambda ids: select(prompts.c.id, prompts.c.owner_id, prompts.c.version).where(prompts.c.id.in_(ids))
)


def owners_and_versions(tx: Transaction, *, prompt_ids: list[str]) -> dict[str, tuple[str, int]]:
    """The owner and current version of each of these prompts that exists (at most 1,000 ids)."""
    if not prompt_ids:
        return {}
    statement, params = _OWNERS_AND_VERSIONS.bind(prompt_ids)
    return {row["id"]: (row["owner_id"], row["version"]) for row in tx.all(statement, **params)}


def update_fields(
    tx: Transaction, *, prompt: PromptRecord, changes: dict[str, Any], new_version: bool
) -> PromptRecord | None:
    """Apply changed fields to a prompt read `for_update` in this transaction; with
    `new_version`, store the result as the next version."""
    merged = {**prompt, **changes}
    version = prompt["version"] + 1 if new_version else prompt["version"]
    row = tx.first(
        _UPDATE,
        prompt_id=prompt["id"],
        now=now_ms(),
        version=version,
        **_editable(merged["title"], merged["content"], merged["model"], merged["tags"]),
    )
    if row is None:
        return None
    updated = record(row)
    if new_version:
        fields = versioned_fields(updated)
        versions.insert_one(tx, prompt_id=prompt["id"], version=version, **fields, created_at=updated["updated_at"])
    return updated


def versioned_fields(prompt: Any) -> dict[str, Any]:
    """The fields a version snapshots: title, content, model and tags."""
    return {name: prompt[name] for name in versions.FIELDS}


def delete_one(tx: Transaction, *, prompt_id: str) -> bool:
    """Delete a prompt, its logs with it (ON DELETE CASCADE); whether this call removed it."""
    return tx.run(_DELETE, prompt_id=prompt_id) == 1


_TEXTS = (prompts.c.title, prompts.c.content, prompts.c.tags)
_CREATED, _UPDATED = (prompts.c.created_at, prompts.c.id), (prompts.c.updated_at, prompts.c.id)
FILTERS: dict[str, Filter] = {
    "owner_id": lambda _: prompts.c.owner_id == bindparam("owner_id"),
    "model": lambda _: prompts.c.model == bindparam("model"),
    # Every tag given must be among the prompt's: `tags_folded` holds them one per line, so a
    # tag is a whole line (see `page`).
    "tag": lambda count: and_(
        *(
            (literal("\n") + prompts.c.tags_folded + literal("\n")).like(bindparam(f"tag_{i}"), escape="\\")
            for i in range(count)
        )
    ),
}
ORDERS: dict[str, tuple[Phase, ...]] = {
    "createdAt": (Phase(_CREATED),),
    "-createdAt": (Phase(_CREATED, descending=True),),
    "updatedAt": (Phase(_UPDATED),),
    "-updatedAt": (Phase(_UPDATED, descending=True),),
    "title": (Phase((prompts.c.title_folded, prompts.c.id)),),
}
LIST = SortedList(COLUMNS, _TEXTS, record, FILTERS, ORDERS)


def page(
    tx: Transaction,
    *,
    filters: dict[str, Any],
    order: str = "createdAt",
    after: Any,
    size: int = PAGE_SIZE,
    characters: int = PAGE_CHARACTERS,
) -> Page:
    """One page of the prompts that pass `filters` (FILTERS, `owner_id` always among them),
    in one of ORDERS, after the key `after`. `tag` is a list of tags, matched regardless of case."""
    if "tag" in filters:
        filters = {**filters, "tag": [f"%\n{escape_like(tag.casefold())}\n%" for tag in filters["tag"]]}
    return LIST.page(tx, filters=filters, order=order, after=after, size=size, characters=characters)
