"""/runs: a prompt version run over a dataset on models, scored, stored as logs (EVALUATION.md §10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import listing
from promptcrafter.domain import runs as rules
from promptcrafter.schemas_runs import RunCreate, RunRead, RunResultRead
from promptcrafter.server import shapes
from promptcrafter.server.api.evaluation import ranking
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body
from promptcrafter.server.openapi import body, errors, paging, parameters
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import runs

router = APIRouter(prefix="/runs", tags=["runs"], route_class=DirectRoute)
Pager = Annotated[Caller, authenticated("limit", "cursor", "sort")]
ResultPager = Annotated[Caller, authenticated("limit", "cursor")]
ONE = "/{run_id}"
RUN: dict[int, str | tuple[str, ...]] = {
    400: messages.RUN_BAD_ID,
    403: messages.RUN_FORBIDDEN,
    404: messages.RUN_NOT_FOUND,
}


@router.post(
    "",
    status_code=202,
    response_model=RunRead,
    responses=errors(
        401,
        413,
        415,
        saying={
            400: (
                messages.FIELDS_INVALID,
                messages.VERSION_AND_LABEL,
                messages.DATASET_BAD_ID,
                messages.DATASET_EMPTY,
                messages.RUN_TOO_LARGE,
            ),
            403: (messages.PROMPT_READ_FORBIDDEN, messages.DATASET_FORBIDDEN),
            404: (
                messages.PROMPT_NOT_FOUND,
                messages.VERSION_NOT_FOUND,
                messages.LABEL_NOT_FOUND,
                messages.DATASET_NOT_FOUND,
            ),
        },
    ),
    openapi_extra=body(RunCreate),
)
async def start_run(caller: Authenticated, raw: Body) -> Response:
    """Queue a run: every (item, model, repeat) is called by the server processes, scored, and
    stored as a log; the answer comes at once, with the run `queued`."""
    request = parse_body(raw, RunCreate, messages.FIELDS_INVALID)
    record = await caller.write(rules.create, bulk=True, user_id=caller.user_id, request=request)
    caller.context.runner.wake()
    return JSONResponse(shapes.run(record), status_code=202)


@router.get(
    "",
    response_model=list[RunRead],
    responses=errors(400, 401),
    openapi_extra=parameters(*paging(listing.CREATED_SORTS)),
)
async def list_runs(caller: Pager) -> Response:
    """Your runs, oldest first unless `sort` says otherwise, in pages of `limit` when asked."""
    request = listing.created_request(caller.params)
    filters = {"owner_id": caller.user_id}
    return await caller.list_of(runs.page, request, shapes.run, filters=filters, order=request.order)


@router.get(ONE, response_model=RunRead, responses=errors(401, saying=RUN))
async def get_run(run_id: str, caller: Authenticated) -> Response:
    """A run and its progress; once done, its models ranked by mean score (§8)."""
    record = await caller.read(rules.get, user_id=caller.user_id, run_id=run_id)
    board = None
    if record["status"] == "done":
        board = await ranking(
            caller, by="modelUsed", method="mean", prompt_id=record["prompt_id"], filters={"run_id": run_id}
        )
    return JSONResponse(shapes.run(record, board))


@router.get(
    ONE + "/results",
    response_model=list[RunResultRead],
    responses=errors(401, saying=RUN),
    openapi_extra=parameters(*paging(("",))),
)
async def run_results(run_id: str, caller: ResultPager) -> Response:
    """The run item by item, in dataset order: each item's input and expected answer, and every
    model's output, score and error, side by side."""
    request = listing.unsorted_request(caller.params)
    record = await caller.read(rules.get, user_id=caller.user_id, run_id=run_id)
    models = record["models"]
    return await caller.list_of(
        runs.results_page, request, lambda result: shapes.run_result(result, models), run_id=run_id
    )


@router.post(
    ONE + "/cancel",
    response_model=RunRead,
    responses=errors(401, saying={**RUN, 409: messages.RUN_FINISHED}),
)
async def cancel_run(run_id: str, caller: Authenticated) -> Response:
    """Stop a run: no call starts after the answer; calls already under way may still be stored."""
    record = await caller.write(rules.cancel, user_id=caller.user_id, run_id=run_id)
    return JSONResponse(shapes.run(record))
