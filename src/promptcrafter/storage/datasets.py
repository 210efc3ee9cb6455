"""Datasets and their items: test cases a run renders a prompt with."""

from __future__ import annotations

from typing import Any, TypedDict

import orjson
from sqlalchemy import bindparam, delete, insert, select, update

from promptcrafter.storage.keyset import PAGE_CHARACTERS, PAGE_SIZE, Page, PageQuery, Phase, SortedList, bad_key
from promptcrafter.storage.statements import IdLookup, Record, Statement
from promptcrafter.storage.tables import dataset_items, datasets
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import new_id, now_ms

_COLUMNS = (
    datasets.c.id,
    datasets.c.owner_id,
    datasets.c.name,
    datasets.c.description,
    datasets.c.item_count,
    datasets.c.created_at,
)
_ITEM_COLUMNS = (
    dataset_items.c.seq,
    dataset_items.c.id,
    dataset_items.c.input,
    dataset_items.c.expected,
    dataset_items.c.metadata,
    dataset_items.c.created_at,
)
_INSERT = Statement(insert(datasets).values({column.name: bindparam(column.name) for column in _COLUMNS}))
_ONE = Statement(select(*_COLUMNS).where(datasets.c.id == bindparam("dataset_id")))
_OWNER = Statement(select(datasets.c.owner_id).where(datasets.c.id == bindparam("dataset_id")))
_UPDATE = Statement(
    update(datasets)
    .where(datasets.c.id == bindparam("dataset_id"))
    .values(name=bindparam("name"), description=bindparam("description"))
)
_COUNT = Statement(
    update(datasets)
    .where(datasets.c.id == bindparam("dataset_id"))
    .values(item_count=datasets.c.item_count + bindparam("change"))
)
_DELETE = Statement(delete(datasets).where(datasets.c.id == bindparam("dataset_id")))
_INSERT_ITEM = Statement(
    insert(dataset_items).values(
        {column.name: bindparam(column.name) for column in (*_ITEM_COLUMNS[1:], dataset_items.c.dataset_id)}
    )
)
_ITEM_SEQS = IdLookup(lambda ids: select(dataset_items.c.seq, dataset_items.c.id).where(dataset_items.c.id.in_(ids)))
_ITEMS_AFTER = PageQuery(
    select(*_ITEM_COLUMNS)
    .where(dataset_items.c.dataset_id == bindparam("dataset_id"), dataset_items.c.seq > bindparam("after"))
    .order_by(dataset_items.c.seq)
    .limit(bindparam("page_size")),
    (dataset_items.c.input, dataset_items.c.expected, dataset_items.c.metadata),
    [("seq", False)],
)
_ITEM_BY_SEQ = Statement(select(*_ITEM_COLUMNS).where(dataset_items.c.seq == bindparam("seq")))
_DELETE_ITEM = Statement(
    delete(dataset_items).where(
        dataset_items.c.dataset_id == bindparam("dataset_id"), dataset_items.c.id == bindparam("item_id")
    )
)
_SEQS = Statement(
    select(dataset_items.c.seq, dataset_items.c.id)
    .where(dataset_items.c.dataset_id == bindparam("dataset_id"))
    .order_by(dataset_items.c.seq)
)


class DatasetRecord(TypedDict):
    id: str
    owner_id: str
    name: str
    description: str | None
    item_count: int
    created_at: int


class ItemRecord(TypedDict):
    """A test case: its input variables, the answer expected (if any), and free metadata."""

    seq: int
    id: str
    input: dict[str, str]
    expected: str | None
    metadata: dict[str, Any] | None
    created_at: int


def _record(row: Record) -> DatasetRecord:
    return DatasetRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        description=row["description"],
        item_count=row["item_count"],
        created_at=row["created_at"],
    )


def item_record(row: Record) -> ItemRecord:
    return ItemRecord(
        seq=row["seq"],
        id=row["id"],
        input=orjson.loads(row["input"]),
        expected=row["expected"],
        metadata=None if row["metadata"] is None else orjson.loads(row["metadata"]),
        created_at=row["created_at"],
    )


def create(tx: Transaction, *, owner_id: str, name: str, description: str | None) -> DatasetRecord:
    row = {
        "id": new_id("dataset"),
        "owner_id": owner_id,
        "name": name,
        "description": description,
        "item_count": 0,
        "created_at": now_ms(),
    }
    tx.run(_INSERT, **row)
    return _record(row)


def get(tx: Transaction, *, dataset_id: str) -> DatasetRecord | None:
    row = tx.first(_ONE, dataset_id=dataset_id)
    return None if row is None else _record(row)


def owner_of(tx: Transaction, *, dataset_id: str) -> str | None:
    owner: str | None = tx.scalar(_OWNER, dataset_id=dataset_id)
    return owner


def update_one(tx: Transaction, *, dataset_id: str, name: str, description: str | None) -> None:
    tx.run(_UPDATE, dataset_id=dataset_id, name=name, description=description)


def delete_one(tx: Transaction, *, dataset_id: str) -> bool:
    """Delete a dataset with its items (and runs); whether this call removed it."""
    return tx.run(_DELETE, dataset_id=dataset_id) == 1


_NEWEST_LAST = (datasets.c.created_at, datasets.c.id)
LIST = SortedList(
    _COLUMNS,
    (datasets.c.name, datasets.c.description),
    _record,
    {"owner_id": lambda _: datasets.c.owner_id == bindparam("owner_id")},
    {"createdAt": (Phase(_NEWEST_LAST),), "-createdAt": (Phase(_NEWEST_LAST, descending=True),)},
)
page = LIST.page


def add_items(tx: Transaction, *, dataset_id: str, items: list[dict[str, Any]]) -> list[ItemRecord]:
    """Store items (`input`, `expected`, `metadata`) at the end of a dataset; their records."""
    created = now_ms()
    rows: list[dict[str, Any]] = [
        {
            "id": new_id("item"),
            "dataset_id": dataset_id,
            "input": orjson.dumps(item["input"], option=orjson.OPT_SORT_KEYS).decode(),
            "expected": item.get("expected"),
            "metadata": None if item.get("metadata") is None else orjson.dumps(item["metadata"]).decode(),
            "created_at": created,
        }
        for item in items
    ]
    tx.run_many(_INSERT_ITEM, rows)
    tx.run(_COUNT, dataset_id=dataset_id, change=len(rows))
    statement, params = _ITEM_SEQS.bind([row["id"] for row in rows])
    seqs = {row["id"]: row["seq"] for row in tx.all(statement, **params)}
    return [item_record({**row, "seq": seqs[row["id"]]}) for row in rows]


def items_page(
    tx: Transaction, *, dataset_id: str, after: Any, size: int = PAGE_SIZE, characters: int = PAGE_CHARACTERS
) -> Page:
    """One page of a dataset's items, in the order they were added, after the item numbered `after`."""
    if after is not None and type(after) is not int:
        raise bad_key()
    rows, more = _ITEMS_AFTER.rows(
        tx, dataset_id=dataset_id, after=-1 if after is None else after, page_size=size, page_characters=characters
    )
    return [item_record(row) for row in rows], rows[-1]["seq"] if more and rows else None


def item_numbers(tx: Transaction, *, dataset_id: str) -> list[tuple[int, str]]:
    """Every item's number and id, in order (what a run queues: at most MAX_ITEMS of them)."""
    return [(row[0], row[1]) for row in tx.rows(_SEQS, dataset_id=dataset_id)]


def item(tx: Transaction, *, seq: int) -> ItemRecord | None:
    row = tx.first(_ITEM_BY_SEQ, seq=seq)
    return None if row is None else item_record(row)


def delete_item(tx: Transaction, *, dataset_id: str, item_id: str) -> bool:
    """Delete one item of a dataset; whether it was there."""
    if tx.run(_DELETE_ITEM, dataset_id=dataset_id, item_id=item_id) != 1:
        return False
    tx.run(_COUNT, dataset_id=dataset_id, change=-1)
    return True
