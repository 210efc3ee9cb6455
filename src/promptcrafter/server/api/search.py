"""GET /search?q=…"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import listing
from promptcrafter.domain.search import searched_collection, terms_of
from promptcrafter.schemas import LogRead, PromptRead
from promptcrafter.server import shapes
from promptcrafter.server.deps import Caller, authenticated
from promptcrafter.server.openapi import errors, paging, parameter, parameters
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import search

router = APIRouter(tags=["search"], route_class=DirectRoute)
Searcher = Annotated[Caller, authenticated("q", "in", "limit", "cursor")]


@router.get(
    "/search",
    response_model=list[PromptRead | LogRead],
    responses=errors(
        401,
        saying={
            400: (messages.SEARCH_QUERY_INVALID, messages.SEARCH_QUERY_TOO_LONG, messages.SEARCH_TOO_MANY_TERMS)
        },
    ),
    openapi_extra=parameters(
        parameter(
            "q",
            "Whitespace-separated terms; all must occur. At most 1000 characters and 32 terms.",
            {"type": "string"},
            required=True,
        ),
        parameter("in", "`prompts` (default) or `logs` (their outputs and notes).", {"enum": ["prompts", "logs"]}),
        *paging(("",)),
    ),
)
async def search_library(caller: Searcher) -> Response:
    """The caller's prompts containing every whitespace-separated term of `q` (title matches
    first, then tag, then content matches, newest first in each); with `in=logs`, the
    caller's logs whose output or notes contain them all, newest first."""
    terms = terms_of(caller.params.get("q", []))
    searched = searched_collection(caller.params.get("in", []))
    request = listing.unsorted_request(caller.params)
    read_page, shape = (search.log_page, shapes.log) if searched == "logs" else (search.page, shapes.prompt)
    return await caller.list_of(read_page, request, shape, scan=True, owner_id=caller.user_id, terms=terms)
