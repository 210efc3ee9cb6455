"""POST /auth/keys, GET /auth/keys, DELETE /auth/keys/{id}: API keys, managed with a login token."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import api_keys as rules
from promptcrafter.schemas import KeyCreate, KeyCreated, KeyRead
from promptcrafter.server import shapes
from promptcrafter.server.deps import Authenticated, Body, parse_body
from promptcrafter.server.openapi import body, errors
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute

router = APIRouter(prefix="/auth/keys", tags=["accounts"], route_class=DirectRoute)


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    responses=errors(
        401, 413, 415, saying={400: messages.FIELDS_INVALID, 403: messages.KEY_NEEDS_LOGIN, 409: messages.KEYS_TOO_MANY}
    ),
    openapi_extra=body(KeyCreate),
)
async def create_key(caller: Authenticated, raw: Body) -> Response:
    """A key for a program, with the scopes it allows: the answer's `key` is shown this once,
    only its hash is kept."""
    await caller.confirm()  # a key may not make keys, whatever the body says
    request = parse_body(raw, KeyCreate, messages.FIELDS_INVALID)
    record, key = await caller.write(rules.create, user_id=caller.user_id, request=request)
    return JSONResponse({**shapes.key(record), "key": key}, status_code=201)


@router.get("", response_model=list[KeyRead], responses=errors(401, saying={403: messages.KEY_NEEDS_LOGIN}))
async def list_keys(caller: Authenticated) -> Response:
    """Your keys, oldest first, without the keys themselves."""
    return JSONResponse([shapes.key(record) for record in await caller.read(rules.listed, user_id=caller.user_id)])


@router.delete(
    "/{key_id:path}",
    status_code=204,
    responses=errors(
        401,
        saying={
            400: messages.KEY_BAD_ID,
            403: (messages.KEY_NEEDS_LOGIN, messages.KEY_FORBIDDEN),
            404: messages.KEY_NOT_FOUND,
        },
    ),
)
async def revoke_key(key_id: str, caller: Authenticated) -> Response:
    """Revoke one of your keys: it fails at once, on every server process."""
    await caller.write(rules.revoke, user_id=caller.user_id, key_id=key_id)
    return Response(status_code=204)
