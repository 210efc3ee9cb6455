"""The seed's resource: /logs, /logs?promptId=… and /logs/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.errors import Forbidden, Invalid, NotFound
from promptcrafter.schemas import LogCreate, LogRead, is_valid_id
from promptcrafter.server.deps import Caller, RawBody, authenticated, owned_log_id, parse_body
from promptcrafter.server.openapi import body, errors, query
from promptcrafter.server.responses import JSONResponse, json_array
from promptcrafter.storage import logs, prompts

router = APIRouter(prefix="/logs", tags=["logs"])
Authenticated = Annotated[Caller, authenticated()]
Lister = Annotated[Caller, authenticated("promptId")]


@router.post(
    "",
    status_code=201,
    response_model=LogRead,
    responses=errors(400, 401, 404, 413, 415),
    openapi_extra=body(LogCreate),
)
async def create_log(caller: Authenticated, raw: Annotated[bytes, RawBody]) -> Response:
    """Record what a prompt produced; another user's prompt is 404, as the public docs say."""
    request = parse_body(raw, LogCreate, messages.FIELDS_INVALID)
    with caller.services.db.transaction(write=True) as tx:
        if prompts.owner_of(tx, prompt_id=request.prompt_id) != caller.user_id:
            raise NotFound(messages.LOG_PROMPT_INACCESSIBLE)
        log = logs.create(
            tx,
            owner_id=caller.user_id,
            prompt_id=request.prompt_id,
            output=request.output,
            model_used=request.model_used,
            notes=request.notes,
            score=request.score,
        )
    return JSONResponse(log, status_code=201)


@router.get(
    "",
    response_model=list[LogRead],
    responses=errors(400, 401, 403, 404),
    openapi_extra=query("promptId", "Only this prompt's logs.", required=False),
)
async def list_logs(caller: Lister) -> Response:
    """All the caller's logs, or one prompt's with `promptId`; oldest first."""
    db = caller.services.db
    if "promptId" not in caller.params:
        return json_array(logs.list_for_owner(db, owner_id=caller.user_id))
    values = caller.params["promptId"]
    if len(values) != 1 or not is_valid_id(values[0]):
        raise Invalid(messages.LOGS_PROMPT_ID_INVALID)
    with db.transaction(write=False) as tx:
        owner = prompts.owner_of(tx, prompt_id=values[0])
    if owner is None:
        raise NotFound(messages.LOGS_PROMPT_NOT_FOUND)
    if owner != caller.user_id:
        raise Forbidden(messages.LOGS_PROMPT_FORBIDDEN)
    return json_array(logs.list_for_prompt(db, prompt_id=values[0]))


@router.delete("/{log_id:path}", status_code=204, responses=errors(400, 401, 403, 404))
async def delete_log(log_id: str, caller: Authenticated) -> Response:
    """Delete one of the caller's logs."""
    with caller.services.db.transaction(write=True) as tx:
        owned_log_id(tx, user_id=caller.user_id, log_id=log_id)
        logs.delete_one(tx, log_id=log_id)
    return Response(status_code=204)
