"""Request dependencies: who is calling and with what, the raw body, lookups.

Each route takes one dependency that does all the per-request checks (authentication,
query parameters), because every FastAPI dependency has a measurable cost per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from promptcrafter import messages
from promptcrafter.errors import (
    Invalid,
    PayloadTooLarge,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
)
from promptcrafter.server.services import Services
from promptcrafter.storage import users

Model = TypeVar("Model", bound=BaseModel)
QueryParams = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Caller:
    """The request's services, its checked query parameters and, on protected routes, its user."""

    services: Services
    params: QueryParams
    user: dict[str, Any]

    @property
    def user_id(self) -> str:
        return str(self.user["_id"])


def authenticated(*allowed_params: str) -> Any:
    """The dependency of a protected route accepting these query parameters."""

    async def caller(request: Request) -> Caller:
        services: Services = request.app.state.services
        user = await _authenticate(request, services)
        return Caller(services, _query_params(request, allowed_params), user)

    return Depends(caller)


def public(*allowed_params: str) -> Any:
    """The dependency of a route anyone may call; `user` is empty."""

    async def caller(request: Request) -> Caller:
        return Caller(request.app.state.services, _query_params(request, allowed_params), {})

    return Depends(caller)


async def _authenticate(request: Request, services: Services) -> dict[str, Any]:
    """The account named by the bearer token; 401 with the contract's two messages."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(messages.TOKEN_MISSING)
    user_id = services.tokens.user_id(token)
    user = None if user_id is None else await services.db.read(users.get, user_id=user_id)
    if user is None:
        raise Unauthorized(messages.TOKEN_INVALID)
    return user


def _query_params(request: Request, allowed: tuple[str, ...]) -> QueryParams:
    params: QueryParams = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            raise Invalid(messages.BAD_PARAMETERS)
        params.setdefault(key, []).append(value)
    return params


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the limit whether or not a length was declared.

    A dependency listed after the route's `Caller`, so authentication is checked first.
    """
    settings = request.app.state.services.settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    body = bytearray()
    with anyio.move_on_after(settings.body_timeout) as deadline:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    if deadline.cancelled_caught:
        raise RequestTimeout(messages.REQUEST_TIMEOUT)
    if not _declares_json(request.headers.get("content-type")):
        raise UnsupportedMediaType(messages.NOT_JSON)
    return bytes(body)


def _declares_json(content_type: str | None) -> bool:
    """JSON, or no type at all. Browsers send text/plain, form and multipart bodies to any
    site without asking first, so a JSON API must never act on them."""
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


RawBody = Depends(read_body)


MAX_DETAILS = 20


def parse_body(raw: bytes, model: type[Model], message: str) -> Model:
    """The body validated against `model`; 400 with the endpoint's message otherwise.

    At most MAX_DETAILS problems are listed (and `moreDetails` counts the rest), so a
    body of a hundred thousand unknown keys gets a short answer.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid(message) from None
    if not isinstance(data, dict):
        raise Invalid(message)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        details = [
            {
                "field": (".".join(str(part) for part in item["loc"]) or "body")[:200],
                "message": item["msg"][:200],
            }
            for item in problems[:MAX_DETAILS]
        ]
        raise Invalid(message, details=details, more_details=len(problems) - len(details)) from None
