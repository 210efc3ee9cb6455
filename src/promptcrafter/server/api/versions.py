"""A prompt's versions, labels and rendering: /prompts/{id}/versions, /diff, /labels, /render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.domain import versions as rules
from promptcrafter.schemas import DiffRead, LabelRead, LabelSet, PromptRead, RenderRead, RenderRequest, VersionRead
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body_later
from promptcrafter.server.openapi import body, errors, paging, parameters, queries
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import versions

router = APIRouter(prefix="/prompts/{prompt_id}", tags=["versions"], route_class=DirectRoute)
Differ = Annotated[Caller, authenticated("from", "to")]
Pager = Annotated[Caller, authenticated("limit", "cursor")]

READING: dict[int, str | tuple[str, ...]] = {
    400: (messages.PROMPT_READ_BAD_ID, messages.VERSION_INVALID),
    403: messages.PROMPT_READ_FORBIDDEN,
    404: (messages.PROMPT_NOT_FOUND, messages.VERSION_NOT_FOUND),
}
CHANGING: dict[int, str | tuple[str, ...]] = {
    400: (messages.PROMPT_BAD_ID, messages.VERSION_INVALID),
    403: messages.PROMPT_FORBIDDEN,
    404: (messages.PROMPT_NOT_FOUND, messages.VERSION_NOT_FOUND),
}


@router.get(
    "/versions",
    response_model=list[VersionRead],
    responses=errors(401, saying=READING),
    openapi_extra=parameters(*paging(("",))),
)
async def list_versions(prompt_id: str, caller: Pager) -> Response:
    """The prompt's versions, newest first, each with the labels naming it."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    request = listing.unsorted_request(caller.params)
    await caller.read(prompt_rules.require_readable, user_id=caller.user_id, prompt_id=prompt_id)
    return await caller.list_of(versions.page_newest_first, request, shapes.version, prompt_id=prompt_id)


@router.get("/versions/{version}", response_model=VersionRead, responses=errors(401, saying=READING))
async def get_version(prompt_id: str, version: str, caller: Authenticated) -> Response:
    """One version of the prompt."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    number = rules.parse_version(version)
    found = await caller.read(rules.get, user_id=caller.user_id, prompt_id=prompt_id, version=number)
    return JSONResponse(shapes.version(found))


@router.post("/versions/{version}/restore", response_model=PromptRead, responses=errors(401, saying=CHANGING))
async def restore_version(prompt_id: str, version: str, caller: Authenticated) -> Response:
    """Make an earlier version's fields current again, as a new version (none when they are
    already current)."""
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    number = rules.parse_version(version)
    prompt = await caller.write(rules.restore, user_id=caller.user_id, prompt_id=prompt_id, version=number)
    return JSONResponse(shapes.prompt(prompt))


@router.get(
    "/diff",
    response_model=DiffRead,
    responses=errors(401, saying=READING),
    openapi_extra=queries(("from", "The earlier version.", True), ("to", "The later version.", True)),
)
async def diff_versions(prompt_id: str, caller: Differ) -> Response:
    """What changed between two versions: the fields that differ and a unified diff of the content."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    old = rules.parse_version(caller.param("from", required=True) or "")
    new = rules.parse_version(caller.param("to", required=True) or "")
    found = await caller.read(rules.diff, user_id=caller.user_id, prompt_id=prompt_id, old=old, new=new)
    return JSONResponse(shapes.diff(found))


LABELS: dict[int, str | tuple[str, ...]] = {
    400: (messages.PROMPT_BAD_ID, messages.LABEL_INVALID, messages.LABEL_RESERVED, messages.FIELDS_INVALID),
    403: messages.PROMPT_FORBIDDEN,
    404: (messages.PROMPT_NOT_FOUND, messages.VERSION_NOT_FOUND, messages.LABEL_NOT_FOUND),
}


@router.put(
    "/labels/{label}",
    response_model=LabelRead,
    responses=errors(401, 413, 415, saying=LABELS),
    openapi_extra=body(LabelSet),
)
async def set_label(prompt_id: str, label: str, caller: Authenticated, raw: Body) -> Response:
    """Point a label (`production`, `staging`, …) at a version; moves it if it exists."""
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    rules.check_label_name(label, settable=True)
    request = parse_body_later(raw, LabelSet, messages.FIELDS_INVALID)
    found = await caller.write(
        rules.set_label, user_id=caller.user_id, prompt_id=prompt_id, name=label, request=request
    )
    return JSONResponse(shapes.label(found))


@router.delete("/labels/{label}", status_code=204, responses=errors(401, saying=LABELS))
async def delete_label(prompt_id: str, label: str, caller: Authenticated) -> Response:
    """Remove a label."""
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    rules.check_label_name(label, settable=True)
    await caller.write(rules.delete_label, user_id=caller.user_id, prompt_id=prompt_id, name=label)
    return Response(status_code=204)


@router.post(
    "/render",
    response_model=RenderRead,
    responses=errors(
        401,
        413,
        415,
        saying={
            400: (
                messages.PROMPT_READ_BAD_ID,
                messages.FIELDS_INVALID,
                messages.VARIABLES_MISSING,
                messages.LABEL_INVALID,
                messages.VERSION_AND_LABEL,
            ),
            403: messages.PROMPT_READ_FORBIDDEN,
            404: (messages.PROMPT_NOT_FOUND, messages.VERSION_NOT_FOUND, messages.LABEL_NOT_FOUND),
        },
    ),
    openapi_extra=body(RenderRequest),
)
async def render(prompt_id: str, caller: Authenticated, raw: Body) -> Response:
    """The content of a version (default: the current one) with its variables filled in."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    request = parse_body_later(raw, RenderRequest, messages.FIELDS_INVALID)
    rendered = await caller.write(rules.render, user_id=caller.user_id, prompt_id=prompt_id, request=request)
    return JSONResponse(rendered)
