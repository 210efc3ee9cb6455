"""GET /health."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.errors import Unavailable
from promptcrafter.schemas import HealthResponse
from promptcrafter.server.deps import Anyone
from promptcrafter.server.openapi import PUBLIC, errors
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute

router = APIRouter(tags=["health"], route_class=DirectRoute)


@router.get(
    "/health",
    response_model=HealthResponse,
    responses=errors(400, saying={503: messages.DATABASE_UNAVAILABLE}),
    openapi_extra=PUBLIC,
)
async def health(caller: Anyone) -> Response:
    """Whether the server and its database answer."""
    if not await caller.context.db.is_available():
        raise Unavailable(messages.DATABASE_UNAVAILABLE)
    return JSONResponse({"status": "ok"})
