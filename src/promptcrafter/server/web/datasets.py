"""Datasets: the visitor's list with the form that creates one, and a dataset's editor (its name
and description, its items a hundred to a page, an item added by hand, many pasted as CSV or
JSON Lines, an item deleted, the dataset deleted after asking).

The API holds `/datasets`, so the pages live at `/d` and `/d/{id}`, as a prompt's at `/p/{id}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter.domain import datasets as dataset_rules
from promptcrafter.domain import listing
from promptcrafter.errors import Conflict, Invalid
from promptcrafter.schemas_runs import DatasetCreate, DatasetUpdate, ItemBatch, ItemCreate
from promptcrafter.server.web.forms import FormProblems, validated
from promptcrafter.server.web.pasted import pasted_items
from promptcrafter.server.web.prompt import input_of
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member, Visitor
from promptcrafter.storage import datasets
from promptcrafter.storage.transaction import Transaction

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LIST_SIZE = 50
ITEMS_PER_PAGE = 100
NEWEST_FIRST = "-createdAt"


def dataset_values(fields: dict[str, str]) -> dict[str, str]:
    """What the dataset form sent, as typed."""
    return {name: fields.get(name, "") for name in ("name", "description")}


def _dataset_body(values: dict[str, str]) -> dict[str, Any]:
    description = values["description"].strip()
    return {"name": values["name"], "description": description or None}


async def _list_page(visitor: Visitor, *, status: int = 200, **context: Any) -> Response:
    caller = visitor.caller
    cursor = visitor.request.query_params.get("cursor")
    after = listing.decode_cursor(cursor, NEWEST_FIRST) if cursor else None
    items, key = await caller.read(
        datasets.page, filters={"owner_id": caller.user_id}, order=NEWEST_FIRST, after=after, size=LIST_SIZE
    )
    next_cursor = None if key is None else listing.encode_cursor(NEWEST_FIRST, key)
    return page(
        visitor,
        "datasets.html",
        status=status,
        datasets=items,
        next_cursor=next_cursor,
        **{"values": {}, "problems": {}, **context},
    )


@router.get("/d")
async def datasets_page(visitor: Member) -> Response:
    return await _list_page(visitor)


@router.post("/d")
async def create_dataset(visitor: Member) -> Response:
    values = dataset_values(await visitor.form())
    try:
        request = validated(DatasetCreate, _dataset_body(values))
    except FormProblems as invalid:
        return await _list_page(visitor, status=400, values=values, problems=invalid.problems)
    created = await visitor.caller.write(dataset_rules.create, user_id=visitor.caller.user_id, request=request)
    return visitor.redirect(f"/d/{created['id']}")


def _dataset_and_items(tx: Transaction, *, user_id: str, dataset_id: str, after: Any) -> tuple[Any, Any, Any]:
    """The dataset (checked to be the user's) and one page of its items, in one snapshot."""
    dataset = dataset_rules.get(tx, user_id=user_id, dataset_id=dataset_id)
    items, key = datasets.items_page(tx, dataset_id=dataset_id, after=after, size=ITEMS_PER_PAGE)
    return dataset, items, key


async def _dataset_page(visitor: Visitor, dataset_id: str, *, status: int = 200, **context: Any) -> Response:
    caller = visitor.caller
    cursor = visitor.request.query_params.get("cursor")
    after = listing.decode_cursor(cursor, "") if cursor else None
    dataset, items, key = await caller.read(
        _dataset_and_items, user_id=caller.user_id, dataset_id=dataset_id, after=after
    )
    variables = sorted({name for item in items for name in item["input"]})
    return page(
        visitor,
        "dataset.html",
        status=status,
        dataset=dataset,
        items=items,
        variables=variables,
        first_page=cursor is None,
        next_cursor=None if key is None else listing.encode_cursor("", key),
        **{"values": {}, "problems": {}, **context},
    )


@router.get("/d/{dataset_id}")
async def dataset_page(dataset_id: str, visitor: Member) -> Response:
    return await _dataset_page(visitor, dataset_id)


@router.post("/d/{dataset_id}/edit")
async def edit_dataset(dataset_id: str, visitor: Member) -> Response:
    values = dataset_values(await visitor.form())
    dataset_rules.check_id(dataset_id)
    caller = visitor.caller
    try:
        request = validated(DatasetUpdate, _dataset_body(values))
    except FormProblems as invalid:
        return await _dataset_page(visitor, dataset_id, status=400, values=values, problems=invalid.problems)
    await caller.write(dataset_rules.update, user_id=caller.user_id, dataset_id=dataset_id, request=request)
    return visitor.redirect(f"/d/{dataset_id}?saved=1")


async def _add(visitor: Visitor, dataset_id: str, items: list[ItemCreate]) -> int:
    caller = visitor.caller
    added = await caller.write(
        dataset_rules.add_items,
        bulk=True,
        user_id=caller.user_id,
        dataset_id=dataset_id,
        request=ItemBatch(items=items),
    )
    return len(added)


@router.post("/d/{dataset_id}/items")
async def add_item(dataset_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    dataset_rules.check_id(dataset_id)
    values = {name: fields.get(name, "") for name in ("input", "expected")}
    try:
        expected = values["expected"] if values["expected"].strip() else None
        item = validated(ItemCreate, {"input": input_of(values["input"]) or {}, "expected": expected})
        await _add(visitor, dataset_id, [item])
    except FormProblems as invalid:
        problems = {name if name == "expected" else "input": problem for name, problem in invalid.problems.items()}
        return await _dataset_page(visitor, dataset_id, status=400, values=values, problems=problems)
    except Conflict as full:
        return await _dataset_page(visitor, dataset_id, status=409, values=values, problems={"input": full.message})
    return visitor.redirect(f"/d/{dataset_id}?added=1#items")


@router.post("/d/{dataset_id}/paste")
async def paste_items(dataset_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    dataset_rules.check_id(dataset_id)
    values = {"pasted": fields.get("pasted", "")}
    try:
        added = await _add(visitor, dataset_id, pasted_items(values["pasted"]))
    except FormProblems as invalid:
        return await _dataset_page(visitor, dataset_id, status=400, values=values, problems=invalid.problems)
    except (Conflict, Invalid) as refused:
        return await _dataset_page(
            visitor, dataset_id, status=refused.status_code, values=values, problems={"pasted": refused.message}
        )
    return visitor.redirect(f"/d/{dataset_id}?added={added}#items")


@router.post("/d/{dataset_id}/items/{item_id}/delete")
async def delete_item(dataset_id: str, item_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    caller = visitor.caller
    await caller.write(dataset_rules.delete_item, user_id=caller.user_id, dataset_id=dataset_id, item_id=item_id)
    back = fields.get("back", "")
    return visitor.redirect(back if back.startswith(f"/d/{dataset_id}") else f"/d/{dataset_id}#items")


@router.get("/d/{dataset_id}/delete")
async def delete_page(dataset_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    dataset = await caller.read(dataset_rules.get, user_id=caller.user_id, dataset_id=dataset_id)
    items = dataset["item_count"]
    return page(
        visitor,
        "delete.html",
        subject=dataset["name"],
        consequence=f"The dataset, its {items:,} item{'' if items == 1 else 's'} and the runs made on it will be "
        "deleted; the logs those runs stored stay with their prompts.",
        action=f"/d/{dataset_id}/delete",
        button="Delete the dataset and its items",
        back=f"/d/{dataset_id}",
    )


@router.post("/d/{dataset_id}/delete")
async def delete(dataset_id: str, visitor: Member) -> Response:
    await visitor.form()
    caller = visitor.caller
    await caller.write(dataset_rules.delete, user_id=caller.user_id, dataset_id=dataset_id)
    return visitor.redirect("/d?deleted=1")
