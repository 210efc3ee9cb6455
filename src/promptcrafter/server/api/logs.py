"""The seed's resource: /logs, /logs?promptId=… and /logs/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import listing
from promptcrafter.domain import logs as rules
from promptcrafter.schemas import LogBatch, LogBatchRead, LogCreate, LogRead, LogReview
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body, parse_body_later
from promptcrafter.server.openapi import LOG_FILTERS, body, errors, paging, parameter, parameters
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import logs

router = APIRouter(prefix="/logs", tags=["logs"], route_class=DirectRoute)
Lister = Annotated[Caller, authenticated("promptId", *listing.PAGING, *listing.LOG_FILTERS)]


@router.post(
    "",
    status_code=201,
    response_model=LogRead,
    responses=errors(401, 413, 415, saying={400: messages.FIELDS_INVALID, 404: messages.LOG_PROMPT_INACCESSIBLE}),
    openapi_extra=body(LogCreate),
)
async def create_log(caller: Authenticated, raw: Body) -> Response:
    """Record what a prompt produced; another user's prompt is 404, as the public docs say."""
    request = parse_body(raw, LogCreate, messages.FIELDS_INVALID)
    log = await caller.write(rules.create, user_id=caller.user_id, request=request)
    return JSONResponse(shapes.log(log), status_code=201)


@router.post(
    "/batch",
    status_code=201,
    response_model=LogBatchRead,
    responses=errors(401, 413, 415, saying={400: messages.FIELDS_INVALID}),
    openapi_extra=body(LogBatch),
)
async def create_logs(caller: Authenticated, raw: Body) -> Response:
    """Record up to 1,000 outputs in one request, all or none: a bad item is a 400 whose
    `details` name its `index` and `field`, and nothing is stored."""
    request = parse_body(raw, LogBatch, messages.FIELDS_INVALID, items_of="logs")
    created = await caller.write(rules.create_many, bulk=True, user_id=caller.user_id, requests=request.logs)
    return JSONResponse({"logs": [shapes.log(log) for log in created]}, status_code=201)


# The errors of a list of logs, one prompt's with `promptId`: its id, its owner, its existence.
LISTING_ERRORS = errors(
    401,
    saying={
        400: messages.LOGS_PROMPT_ID_INVALID,
        403: messages.LOGS_PROMPT_FORBIDDEN,
        404: messages.LOGS_PROMPT_NOT_FOUND,
    },
)


@router.get(
    "",
    response_model=list[LogRead],
    responses=LISTING_ERRORS,
    openapi_extra=parameters(
        parameter("promptId", "Only this prompt's logs.", {"type": "string"}),
        *LOG_FILTERS,
        *paging(listing.LOG_SORTS),
    ),
)
async def list_logs(caller: Lister) -> Response:
    """All the caller's logs, or one prompt's with `promptId`: oldest first unless `sort`
    says otherwise, filtered, and in pages of `limit` when asked."""
    prompt_id = listed_prompt(caller)
    request = listing.logs_request(caller.params)
    filters = {**request.filters, **await scope_of(caller, prompt_id)}
    return await caller.list_of(logs.page, request, shapes.log, filters=filters, order=request.order)


def listed_prompt(caller: Caller) -> str | None:
    """The prompt a list of logs is limited to (`promptId`), checked for its format."""
    return listing.prompt_filter(caller.params["promptId"]) if "promptId" in caller.params else None


async def scope_of(caller: Caller, prompt_id: str | None) -> dict[str, Any]:
    """The filter a list of logs reads by: the prompt's logs, once it is found to be the
    caller's, else all the caller's logs."""
    if prompt_id is None:
        return {"owner_id": caller.user_id}
    await caller.read(rules.require_listable, user_id=caller.user_id, prompt_id=prompt_id)
    return {"prompt_id": prompt_id}


@router.patch(
    "/{log_id:path}",
    response_model=LogRead,
    responses=errors(
        401,
        413,
        415,
        saying={
            400: (messages.LOG_BAD_ID, messages.FIELDS_INVALID),
            403: messages.LOG_FORBIDDEN,
            404: messages.LOG_NOT_FOUND,
        },
    ),
    openapi_extra=body(LogReview),
)
async def review_log(log_id: str, caller: Authenticated, raw: Body) -> Response:
    """Score a log (or change its notes) by hand: the score replaces `score`, and a run's
    scorers' results stay in `scores`."""
    rules.check_id(log_id)
    request = parse_body_later(raw, LogReview, messages.FIELDS_INVALID)
    return JSONResponse(
        shapes.log(await caller.write(rules.review, user_id=caller.user_id, log_id=log_id, request=request))
    )


@router.delete(
    "/{log_id:path}",
    status_code=204,
    responses=errors(401, saying={400: messages.LOG_BAD_ID, 403: messages.LOG_FORBIDDEN, 404: messages.LOG_NOT_FOUND}),
)
async def delete_log(log_id: str, caller: Authenticated) -> Response:
    """Delete one of the caller's logs."""
    rules.check_id(log_id)
    await caller.write(rules.delete, user_id=caller.user_id, log_id=log_id)
    return Response(status_code=204)
