"""The prompt library: /prompts and /prompts/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.errors import NotFound
from promptcrafter.schemas import PromptCreate, PromptRead, PromptUpdate
from promptcrafter.server.deps import Caller, RawBody, authenticated, owned_prompt, parse_body
from promptcrafter.server.openapi import body, errors
from promptcrafter.server.responses import JSONResponse, json_array
from promptcrafter.storage import prompts

router = APIRouter(prefix="/prompts", tags=["prompts"])
Authenticated = Annotated[Caller, authenticated()]
Body = Annotated[bytes, RawBody]
# `:path` so that an empty or slash-containing id reaches the format check (400), not a 404.
ONE = "/{prompt_id:path}"
# The contract words GET's 400 and 403 differently from PATCH's and DELETE's.
READ_MESSAGES = {"bad_id": messages.PROMPT_READ_BAD_ID, "forbidden": messages.PROMPT_READ_FORBIDDEN}
CHANGE_MESSAGES = {"bad_id": messages.PROMPT_BAD_ID, "forbidden": messages.PROMPT_FORBIDDEN}


@router.post(
    "",
    status_code=201,
    response_model=PromptRead,
    responses=errors(400, 401, 413, 415),
    openapi_extra=body(PromptCreate),
)
async def create_prompt(caller: Authenticated, raw: Body) -> Response:
    """Save a prompt."""
    request = parse_body(raw, PromptCreate, messages.FIELDS_INVALID)
    with caller.services.db.transaction(write=True) as tx:
        prompt = prompts.create(tx, owner_id=caller.user_id, **request.model_dump())
    return JSONResponse(prompt, status_code=201)


@router.get("", response_model=list[PromptRead], responses=errors(400, 401))
async def list_prompts(caller: Authenticated) -> Response:
    """The caller's prompts, oldest first."""
    return json_array(prompts.list_for_owner(caller.services.db, owner_id=caller.user_id))


@router.get(ONE, response_model=PromptRead, responses=errors(400, 401, 403, 404))
async def get_prompt(prompt_id: str, caller: Authenticated) -> Response:
    """One of the caller's prompts."""
    with caller.services.db.transaction(write=False) as tx:
        prompt = owned_prompt(
            tx,
            user_id=caller.user_id,
            prompt_id=prompt_id,
            **READ_MESSAGES,
        )
    return JSONResponse(prompt)


@router.patch(
    ONE,
    response_model=PromptRead,
    responses=errors(400, 401, 403, 404, 413, 415),
    openapi_extra=body(PromptUpdate),
)
async def update_prompt(prompt_id: str, caller: Authenticated, raw: Body) -> Response:
    """Change some of a prompt's fields; tags replace the old list."""
    with caller.services.db.transaction(write=True) as tx:
        prompt = owned_prompt(
            tx,
            user_id=caller.user_id,
            prompt_id=prompt_id,
            **CHANGE_MESSAGES,
        )
        request = parse_body(raw, PromptUpdate, messages.PROMPT_UPDATE_INVALID)
        updated = prompts.update_fields(tx, prompt=prompt, changes=request.changes())
    if updated is None:  # deleted by a concurrent request after the lookup
        raise NotFound(messages.PROMPT_NOT_FOUND)
    return JSONResponse(updated)


@router.delete(ONE, status_code=204, responses=errors(400, 401, 403, 404))
async def delete_prompt(prompt_id: str, caller: Authenticated) -> Response:
    """Delete a prompt and its logs."""
    with caller.services.db.transaction(write=True) as tx:
        owned_prompt(
            tx,
            user_id=caller.user_id,
            prompt_id=prompt_id,
            **CHANGE_MESSAGES,
        )
        prompts.delete_one(tx, prompt_id=prompt_id)
    return Response(status_code=204)
