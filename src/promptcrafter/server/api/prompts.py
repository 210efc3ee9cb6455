"""The prompt library: /prompts and /prompts/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import listing
from promptcrafter.domain import prompts as rules
from promptcrafter.domain import versions as version_rules
from promptcrafter.errors import Invalid
from promptcrafter.schemas import PromptCreate, PromptRead, PromptUpdate
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body
from promptcrafter.server.openapi import TEXTS, body, errors, paging, parameter, parameters, queries
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import prompts

router = APIRouter(prefix="/prompts", tags=["prompts"], route_class=DirectRoute)
# `:path` so that an empty or slash-containing id reaches the format check (400), not a 404.
ONE = "/{prompt_id:path}"
AsOf = Annotated[Caller, authenticated("version", "label")]
Lister = Annotated[Caller, authenticated(*listing.PAGING, *listing.PROMPT_FILTERS)]


@router.post(
    "",
    status_code=201,
    response_model=PromptRead,
    responses=errors(401, 413, 415, saying={400: messages.FIELDS_INVALID}),
    openapi_extra=body(PromptCreate),
)
async def create_prompt(caller: Authenticated, raw: Body) -> Response:
    """Save a prompt."""
    request = parse_body(raw, PromptCreate, messages.FIELDS_INVALID)
    prompt = await caller.write(rules.create, user_id=caller.user_id, request=request)
    return JSONResponse(shapes.prompt(prompt), status_code=201)


@router.get(
    "",
    response_model=list[PromptRead],
    responses=errors(400, 401),
    openapi_extra=parameters(
        parameter("tag", "Only prompts with all these tags (any case).", TEXTS),
        parameter("model", "Only prompts for this model.", {"type": "string"}),
        *paging(listing.PROMPT_SORTS),
    ),
)
async def list_prompts(caller: Lister) -> Response:
    """The caller's prompts: oldest first unless `sort` says otherwise, filtered by `tag` and
    `model`, and in pages of `limit` when asked."""
    request = listing.prompts_request(caller.params)
    filters = {**request.filters, "owner_id": caller.user_id}
    return await caller.list_of(prompts.page, request, shapes.prompt, filters=filters, order=request.order)


@router.get(
    ONE,
    response_model=PromptRead,
    responses=errors(
        401,
        saying={
            400: (messages.PROMPT_READ_BAD_ID, messages.VERSION_INVALID, messages.LABEL_INVALID),
            403: messages.PROMPT_READ_FORBIDDEN,
            404: (messages.PROMPT_NOT_FOUND, messages.VERSION_NOT_FOUND, messages.LABEL_NOT_FOUND),
        },
    ),
    openapi_extra=queries(
        ("version", "Show the prompt as of this version.", False),
        ("label", "Show the prompt as of the version this label names (`latest`: the current one).", False),
    ),
)
async def get_prompt(prompt_id: str, caller: AsOf) -> Response:
    """One of the caller's prompts; with `label` or `version`, as of that version (what an
    application fetches at run time)."""
    rules.check_id(prompt_id, rules.READING)
    version, label = version_rules.parse_as_of(caller.param("version"), caller.param("label"))
    prompt = await caller.read(
        version_rules.as_of, user_id=caller.user_id, prompt_id=prompt_id, version=version, label=label
    )
    return JSONResponse(shapes.prompt(prompt))


@router.patch(
    ONE,
    response_model=PromptRead,
    responses=errors(
        401,
        413,
        415,
        saying={
            400: (messages.PROMPT_BAD_ID, messages.PROMPT_UPDATE_INVALID),
            403: messages.PROMPT_FORBIDDEN,
            404: messages.PROMPT_NOT_FOUND,
        },
    ),
    openapi_extra=body(PromptUpdate),
)
async def update_prompt(prompt_id: str, caller: Authenticated, raw: Body) -> Response:
    """Change some of a prompt's fields; tags replace the old list."""
    rules.check_id(prompt_id, rules.CHANGING)
    request: PromptUpdate | Invalid
    try:
        request = parse_body(raw, PromptUpdate, messages.PROMPT_UPDATE_INVALID)
    except Invalid as error:
        request = error
    prompt = await caller.write(
        rules.update, user_id=caller.user_id, prompt_id=prompt_id, request=request
    )
    return JSONResponse(shapes.prompt(prompt))


@router.delete(
    ONE,
    status_code=204,
    responses=errors(
        401,
        saying={400: messages.PROMPT_BAD_ID, 403: messages.PROMPT_FORBIDDEN, 404: messages.PROMPT_NOT_FOUND},
    ),
)
async def delete_prompt(prompt_id: str, caller: Authenticated) -> Response:
    """Delete a prompt and its logs."""
    rules.check_id(prompt_id, rules.CHANGING)
    await caller.write(rules.delete, user_id=caller.user_id, prompt_id=prompt_id)
    return Response(status_code=204)
