"""GET /health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.errors import Invalid, Unavailable
from promptcrafter.schemas import HealthResponse
from promptcrafter.server.deps import Caller, public
from promptcrafter.server.openapi import PUBLIC, errors, parameter, parameters
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute

router = APIRouter(tags=["health"], route_class=DirectRoute)


Checker = Annotated[Caller, public("deep")]


@router.get(
    "/health",
    response_model=HealthResponse,
    responses=errors(400, saying={503: messages.DATABASE_UNAVAILABLE}),
    openapi_extra={
        **PUBLIC,
        **parameters(parameter("deep", "`1`: also the store's kind, version and migrations.", {"enum": ["1"]})),
    },
)
async def health(caller: Checker) -> Response:
    """Whether the server and its database answer; with `deep=1`, whether the database's schema
    is the one this server expects, and what store it is."""
    deep = caller.param("deep")
    if deep not in (None, "1"):
        raise Invalid(messages.BAD_PARAMETERS, details=[{"field": "deep", "message": "Use 1."}])
    if not await caller.context.db.is_available():
        raise Unavailable(messages.DATABASE_UNAVAILABLE)
    if deep is None:
        return JSONResponse({"status": "ok"})
    # Alembic is imported only here: every server process would pay for it on start otherwise.
    from promptcrafter.storage import migrate

    store = await caller.read(migrate.describe)
    head = migrate.head_revision()
    migrations = {"current": store["current"], "head": head, "upToDate": store["current"] == head}
    body = {"kind": store["kind"], "version": store["version"], "migrations": migrations}
    return JSONResponse({"status": "ok" if migrations["upToDate"] else "outdated", "store": body})
