"""Request dependencies: who is calling and with what, the raw body, lookups.

Each route takes one dependency that does all the per-request checks (authentication,
query parameters), because every FastAPI dependency has a measurable cost per request.

Database work runs inline on the event loop in short synchronous transactions: one
indexed statement or a few take microseconds, less than a hand-off to a worker thread.
No transaction is ever held across an `await`, so a slow client can never keep a lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from promptcrafter import messages
from promptcrafter.errors import (
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from promptcrafter.schemas import is_valid_id
from promptcrafter.server.services import Services
from promptcrafter.storage import logs, prompts, users
from promptcrafter.storage.database import Transaction

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
        user = _authenticate(request, services)
        return Caller(services, _query_params(request, allowed_params), user)

    return Depends(caller)


def public(*allowed_params: str) -> Any:
    """The dependency of a route anyone may call; `user` is empty."""

    async def caller(request: Request) -> Caller:
        return Caller(request.app.state.services, _query_params(request, allowed_params), {})

    return Depends(caller)


def _authenticate(request: Request, services: Services) -> dict[str, Any]:
    """The account named by the bearer token; 401 with the contract's two messages."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(messages.TOKEN_MISSING)
    user_id = services.tokens.user_id(token)
    user = None
    if user_id is not None:
        with services.db.transaction(write=False) as tx:
            user = users.get(tx, user_id=user_id)
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
    limit = request.app.state.services.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(messages.BODY_TOO_LARGE)
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


def parse_body(raw: bytes, model: type[Model], message: str) -> Model:
    """The body validated against `model`; 400 with the endpoint's message otherwise."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid(message) from None
    if not isinstance(data, dict):
        raise Invalid(message)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = [
            {"field": ".".join(str(part) for part in item["loc"]) or "body", "message": item["msg"]}
            for item in error.errors(include_url=False)
        ]
        raise Invalid(message, details=details) from None


def owned_prompt(
    tx: Transaction, *, user_id: str, prompt_id: str, bad_id: str, forbidden: str
) -> dict[str, Any]:
    """The caller's prompt: 400 `bad_id` for a malformed id, 404 when none has it, 403 `forbidden`
    when it is someone else's."""
    if not is_valid_id(prompt_id):
        raise Invalid(bad_id)
    prompt = prompts.get(tx, prompt_id=prompt_id)
    if prompt is None:
        raise NotFound(messages.PROMPT_NOT_FOUND)
    if prompt["ownerId"] != user_id:
        raise Forbidden(forbidden)
    return prompt


def owned_log_id(tx: Transaction, *, user_id: str, log_id: str) -> str:
    """The id of the caller's log: 400 malformed, 404 unknown, 403 someone else's."""
    if not is_valid_id(log_id):
        raise Invalid(messages.LOG_BAD_ID)
    owner = logs.owner_of(tx, log_id=log_id)
    if owner is None:
        raise NotFound(messages.LOG_NOT_FOUND)
    if owner != user_id:
        raise Forbidden(messages.LOG_FORBIDDEN)
    return log_id
