"""/providers: OpenAI-compatible endpoints for runs, managed with a login token (they hold keys)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import providers as rules
from promptcrafter.schemas_runs import ProviderCreate, ProviderRead, ProviderUpdate
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, parse_body, parse_body_later
from promptcrafter.server.openapi import body, errors
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute

router = APIRouter(prefix="/providers", tags=["runs"], route_class=DirectRoute)
ONE = "/{provider_id}"
PROVIDER: dict[int, str | tuple[str, ...]] = {
    400: messages.PROVIDER_BAD_ID,
    403: (messages.KEY_NEEDS_LOGIN, messages.PROVIDER_FORBIDDEN),
    404: messages.PROVIDER_NOT_FOUND,
}


@router.post(
    "",
    status_code=201,
    response_model=ProviderRead,
    responses=errors(
        401,
        413,
        415,
        saying={
            400: messages.FIELDS_INVALID,
            403: messages.KEY_NEEDS_LOGIN,
            409: (messages.PROVIDER_NAME_TAKEN, messages.PROVIDERS_TOO_MANY),
        },
    ),
    openapi_extra=body(ProviderCreate),
)
async def create_provider(caller: Authenticated, raw: Body) -> Response:
    """An endpoint runs may call: any OpenAI-compatible base URL, its key (kept encrypted, never
    shown again) and its models' prices."""
    await caller.confirm()
    request = parse_body(raw, ProviderCreate, messages.FIELDS_INVALID)
    sealer = caller.context.sealer
    record = await caller.write(rules.create, user_id=caller.user_id, request=request, sealer=sealer)
    return JSONResponse(shapes.provider(record), status_code=201)


@router.get("", response_model=list[ProviderRead], responses=errors(401, saying={403: messages.KEY_NEEDS_LOGIN}))
async def list_providers(caller: Authenticated) -> Response:
    """Your providers, by name."""
    return JSONResponse([shapes.provider(record) for record in await caller.read(rules.listed, user_id=caller.user_id)])


@router.get(ONE, response_model=ProviderRead, responses=errors(401, saying=PROVIDER))
async def get_provider(provider_id: str, caller: Authenticated) -> Response:
    """One of your providers."""
    record = await caller.read(rules.get, user_id=caller.user_id, provider_id=provider_id)
    return JSONResponse(shapes.provider(record))


@router.patch(
    ONE,
    response_model=ProviderRead,
    responses=errors(
        401,
        413,
        415,
        saying={
            **PROVIDER,
            400: (messages.PROVIDER_BAD_ID, messages.FIELDS_INVALID),
            409: messages.PROVIDER_NAME_TAKEN,
        },
    ),
    openapi_extra=body(ProviderUpdate),
)
async def update_provider(provider_id: str, caller: Authenticated, raw: Body) -> Response:
    """Change a provider: fields left out keep their value; `apiKey: null` removes the key."""
    request = parse_body_later(raw, ProviderUpdate, messages.FIELDS_INVALID)
    record = await caller.write(
        rules.update, user_id=caller.user_id, provider_id=provider_id, request=request, sealer=caller.context.sealer
    )
    return JSONResponse(shapes.provider(record))


@router.delete(ONE, status_code=204, responses=errors(401, saying=PROVIDER))
async def delete_provider(provider_id: str, caller: Authenticated) -> Response:
    """Delete a provider; runs that still need it fail their remaining calls."""
    await caller.write(rules.delete, user_id=caller.user_id, provider_id=provider_id)
    return Response(status_code=204)
