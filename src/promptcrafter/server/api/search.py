"""GET /search?q=…"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.errors import Invalid
from promptcrafter.schemas import PromptRead
from promptcrafter.server.deps import Caller, authenticated
from promptcrafter.server.openapi import errors, query
from promptcrafter.server.responses import json_array
from promptcrafter.storage import search

router = APIRouter(tags=["search"])
Searcher = Annotated[Caller, authenticated("q")]


@router.get(
    "/search",
    response_model=list[PromptRead],
    responses=errors(400, 401),
    openapi_extra=query("q", "Whitespace-separated terms; all must occur.", required=True),
)
async def search_prompts(caller: Searcher) -> Response:
    """The caller's prompts containing every whitespace-separated term of `q`."""
    values = caller.params.get("q", [])
    terms = values[0].split() if len(values) == 1 else []
    if not terms or any("\x00" in term for term in terms):
        raise Invalid(messages.SEARCH_QUERY_INVALID)
    return json_array(search.search(caller.services.db, owner_id=caller.user_id, terms=terms))
