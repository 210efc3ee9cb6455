"""GET /search?q=…"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.errors import Invalid
from promptcrafter.schemas import PromptRead
from promptcrafter.server.deps import CurrentUser, ServicesDep, query_params
from promptcrafter.server.openapi import errors
from promptcrafter.server.responses import json_array
from promptcrafter.storage import search

router = APIRouter(tags=["search"])
SearchQuery = Annotated[dict[str, list[str]], query_params("q")]


@router.get("/search", response_model=list[PromptRead], responses=errors(400, 401))
async def search_prompts(user: CurrentUser, params: SearchQuery, services: ServicesDep) -> Response:
    """The caller's prompts containing every whitespace-separated term of `q`."""
    values = params.get("q", [])
    terms = values[0].split() if len(values) == 1 else []
    if not terms or any("\x00" in term for term in terms):
        raise Invalid(messages.SEARCH_QUERY_INVALID)
    return json_array(search.search(services.db, owner_id=user["_id"], terms=terms))
