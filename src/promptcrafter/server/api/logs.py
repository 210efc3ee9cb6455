"""The seed's resource: /logs, /logs?promptId=… and /logs/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import logs as rules
from promptcrafter.schemas import LogCreate, LogRead
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body
from promptcrafter.server.openapi import body, errors, query
from promptcrafter.server.responses import JSONResponse, json_array
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import logs

router = APIRouter(prefix="/logs", tags=["logs"], route_class=DirectRoute)
Lister = Annotated[Caller, authenticated("promptId")]


@router.post(
    "",
    status_code=201,
    response_model=LogRead,
    responses=errors(
        401, 413, 415, saying={400: messages.FIELDS_INVALID, 404: messages.LOG_PROMPT_INACCESSIBLE}
    ),
    openapi_extra=body(LogCreate),
)
async def create_log(caller: Authenticated, raw: Body) -> Response:
    """Record what a prompt produced; another user's prompt is 404, as the public docs say."""
    request = parse_body(raw, LogCreate, messages.FIELDS_INVALID)
    log = await caller.write(rules.create, user_id=caller.user_id, request=request)
    return JSONResponse(shapes.log(log), status_code=201)


@router.get(
    "",
    response_model=list[LogRead],
    responses=errors(
        401,
        saying={
            400: messages.LOGS_PROMPT_ID_INVALID,
            403: messages.LOGS_PROMPT_FORBIDDEN,
            404: messages.LOGS_PROMPT_NOT_FOUND,
        },
    ),
    openapi_extra=query("promptId", "Only this prompt's logs.", required=False),
)
async def list_logs(caller: Lister) -> Response:
    """All the caller's logs, or one prompt's with `promptId`; oldest first."""
    if "promptId" not in caller.params:
        return await json_array(caller.pages(logs.page_for_owner, owner_id=caller.user_id), shapes.log)
    prompt_id = rules.checked_prompt_filter(caller.params["promptId"])
    await caller.read(rules.require_listable, user_id=caller.user_id, prompt_id=prompt_id)
    return await json_array(caller.pages(logs.page_for_prompt, prompt_id=prompt_id), shapes.log)


@router.delete(
    "/{log_id:path}",
    status_code=204,
    responses=errors(
        401, saying={400: messages.LOG_BAD_ID, 403: messages.LOG_FORBIDDEN, 404: messages.LOG_NOT_FOUND}
    ),
)
async def delete_log(log_id: str, caller: Authenticated) -> Response:
    """Delete one of the caller's logs."""
    rules.check_id(log_id)
    await caller.write(rules.delete, user_id=caller.user_id, log_id=log_id)
    return Response(status_code=204)
