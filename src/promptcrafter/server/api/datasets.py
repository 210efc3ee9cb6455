"""/datasets: sets of test cases (items) that runs render a prompt with (EVALUATION.md §10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import datasets as rules
from promptcrafter.domain import listing
from promptcrafter.schemas_runs import DatasetCreate, DatasetRead, DatasetUpdate, ItemBatch, ItemBatchRead, ItemRead
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body, parse_body_later
from promptcrafter.server.openapi import body, errors, paging, parameters
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import datasets

router = APIRouter(prefix="/datasets", tags=["datasets"], route_class=DirectRoute)
Pager = Annotated[Caller, authenticated("limit", "cursor", "sort")]
ItemPager = Annotated[Caller, authenticated("limit", "cursor")]
ONE = "/{dataset_id}"
DATASET: dict[int, str | tuple[str, ...]] = {
    400: messages.DATASET_BAD_ID,
    403: messages.DATASET_FORBIDDEN,
    404: messages.DATASET_NOT_FOUND,
}


@router.post(
    "",
    status_code=201,
    response_model=DatasetRead,
    responses=errors(401, 413, 415, saying={400: messages.FIELDS_INVALID}),
    openapi_extra=body(DatasetCreate),
)
async def create_dataset(caller: Authenticated, raw: Body) -> Response:
    """A new, empty dataset."""
    request = parse_body(raw, DatasetCreate, messages.FIELDS_INVALID)
    record = await caller.write(rules.create, user_id=caller.user_id, request=request)
    return JSONResponse(shapes.dataset(record), status_code=201)


@router.get(
    "",
    response_model=list[DatasetRead],
    responses=errors(400, 401),
    openapi_extra=parameters(*paging(listing.CREATED_SORTS)),
)
async def list_datasets(caller: Pager) -> Response:
    """Your datasets, oldest first unless `sort` says otherwise, in pages of `limit` when asked."""
    request = listing.created_request(caller.params)
    filters = {"owner_id": caller.user_id}
    return await caller.list_of(datasets.page, request, shapes.dataset, filters=filters, order=request.order)


@router.get(ONE, response_model=DatasetRead, responses=errors(401, saying=DATASET))
async def get_dataset(dataset_id: str, caller: Authenticated) -> Response:
    """One of your datasets, with how many items it holds."""
    return JSONResponse(shapes.dataset(await caller.read(rules.get, user_id=caller.user_id, dataset_id=dataset_id)))


@router.patch(
    ONE,
    response_model=DatasetRead,
    responses=errors(401, 413, 415, saying={**DATASET, 400: (messages.DATASET_BAD_ID, messages.FIELDS_INVALID)}),
    openapi_extra=body(DatasetUpdate),
)
async def update_dataset(dataset_id: str, caller: Authenticated, raw: Body) -> Response:
    """Rename a dataset or change its description."""
    rules.check_id(dataset_id)
    request = parse_body_later(raw, DatasetUpdate, messages.FIELDS_INVALID)
    record = await caller.write(rules.update, user_id=caller.user_id, dataset_id=dataset_id, request=request)
    return JSONResponse(shapes.dataset(record))


@router.delete(ONE, status_code=204, responses=errors(401, saying=DATASET))
async def delete_dataset(dataset_id: str, caller: Authenticated) -> Response:
    """Delete a dataset, its items and its runs; the logs its runs made stay."""
    await caller.write(rules.delete, user_id=caller.user_id, dataset_id=dataset_id)
    return Response(status_code=204)


@router.post(
    ONE + "/items",
    status_code=201,
    response_model=ItemBatchRead,
    responses=errors(
        401,
        413,
        415,
        saying={**DATASET, 400: (messages.DATASET_BAD_ID, messages.FIELDS_INVALID), 409: messages.DATASET_FULL},
    ),
    openapi_extra=body(ItemBatch),
)
async def add_items(dataset_id: str, caller: Authenticated, raw: Body) -> Response:
    """Add 1 to 1,000 items at the end of the dataset, all or none: one bad item is a 400 naming
    its index, and nothing is stored."""
    rules.check_id(dataset_id)
    request = parse_body_later(raw, ItemBatch, messages.FIELDS_INVALID, items_of="items")
    records = await caller.write(
        rules.add_items, bulk=True, user_id=caller.user_id, dataset_id=dataset_id, request=request
    )
    return JSONResponse({"items": [shapes.item(record) for record in records]}, status_code=201)


@router.get(
    ONE + "/items",
    response_model=list[ItemRead],
    responses=errors(401, saying=DATASET),
    openapi_extra=parameters(*paging(("",))),
)
async def list_items(dataset_id: str, caller: ItemPager) -> Response:
    """The dataset's items in the order they were added, in pages of `limit` when asked."""
    rules.check_id(dataset_id)
    request = listing.unsorted_request(caller.params)
    await caller.read(rules.require_readable, user_id=caller.user_id, dataset_id=dataset_id)
    return await caller.list_of(datasets.items_page, request, shapes.item, dataset_id=dataset_id)


@router.delete(
    ONE + "/items/{item_id}",
    status_code=204,
    responses=errors(
        401,
        saying={
            400: (messages.DATASET_BAD_ID, messages.ITEM_BAD_ID),
            403: messages.DATASET_FORBIDDEN,
            404: (messages.DATASET_NOT_FOUND, messages.ITEM_NOT_FOUND),
        },
    ),
)
async def delete_item(dataset_id: str, item_id: str, caller: Authenticated) -> Response:
    """Remove one item from the dataset (runs already made keep their logs)."""
    await caller.write(rules.delete_item, user_id=caller.user_id, dataset_id=dataset_id, item_id=item_id)
    return Response(status_code=204)
