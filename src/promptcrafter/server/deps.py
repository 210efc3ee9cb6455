"""Request dependencies: who is calling and with what, and the raw body.

Each route takes one dependency that does all the per-request checks (authentication,
query parameters), because every FastAPI dependency has a measurable cost per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.auth import API_KEY_PREFIX, ApiKeys, KeyHolder
from promptcrafter.domain import api_keys as key_rules
from promptcrafter.domain import rate_limits
from promptcrafter.domain.listing import LIMITED_PAGE_CHARACTERS, ListRequest, encode_cursor
from promptcrafter.errors import (
    MAX_DETAILS,
    Invalid,
    PayloadTooLarge,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
)
from promptcrafter.server import scopes
from promptcrafter.server.context import ServerContext
from promptcrafter.server.responses import json_array, json_page
from promptcrafter.storage import users
from promptcrafter.storage.keyset import Page
from promptcrafter.storage.transaction import Transaction

Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")
QueryParams = dict[str, list[str]]


class Caller:
    """Who is calling (on protected routes), with the request's checked query parameters.

    A bearer token names an account that may since have been deleted. Instead of a
    separate query per request, the account's existence is checked in the same unit of
    work as the request's own first database call (`read`, `write`, `scan`, `analyse`, `pages`);
    if the request fails before making one, `confirm` checks it before the error is
    answered, so a deleted account's token is a 401 whatever else is wrong. An API key is
    checked the same way, in place of the account: that it still exists (so revoking it
    takes effect at once on every server process) and that it allows the route.
    """

    __slots__ = ("context", "path", "params", "user_id", "confirmed", "key")

    def __init__(
        self,
        context: ServerContext,
        path: str,
        params: QueryParams,
        user_id: str = "",
        key: PresentedKey | None = None,
    ) -> None:
        self.context = context
        self.path = path
        self.params = params
        self.user_id = user_id
        self.confirmed = not user_id  # nothing to confirm on public routes
        self.key = key

    async def read(self, work: Callable[..., T], /, **params: Any) -> T:
        """`Database.read`, checking the account first."""
        return await self.context.db.read(self._checked(work), **params)

    async def scan(self, work: Callable[..., T], /, **params: Any) -> T:
        """`Database.scan` (a read that may visit many rows), checking the account first."""
        return await self.context.db.scan(self._checked(work), **params)

    async def analyse(self, work: Callable[..., T], /, **params: Any) -> T:
        """`Database.analyse` (statistics: one snapshot, off the event loop), checking the
        account first."""
        return await self.context.db.analyse(self._checked(work), **params)

    async def write(self, work: Callable[..., T], /, *, bulk: bool = False, **params: Any) -> T:
        """`Database.write`, checking the account first, and its write allowance when writes
        are limited."""
        return await self.context.db.write(self._checked(self._limited(work)), bulk=bulk, **params)

    def _limited(self, work: Callable[..., T]) -> Callable[..., T]:
        settings = self.context.settings
        rate = settings.write_rate
        if rate is None or not self.user_id:
            return work

        def limited(tx: Transaction, **params: Any) -> T:
            rate_limits.spend_write(tx, user_id=self.user_id, rate=rate, burst=settings.write_burst)
            return work(tx, **params)

        return limited

    def pages(
        self, read_page: Callable[..., Page], /, *, scan: bool = False, start: Any = None, **params: Any
    ) -> AsyncIterator[tuple[list[Any], bool]]:
        """`Database.pages`, checking the account with the first page."""
        return self.context.db.pages(self._checked(read_page), scan=scan, start=start, **params)

    async def list_of(
        self,
        read_page: Callable[..., Page],
        request: ListRequest,
        shape: Callable[[Any], Any],
        /,
        *,
        scan: bool = False,
        **params: Any,
    ) -> Response:
        """A list as asked: whole and streamed, or one page of `request.limit` with a `Link` to
        the next. `read_page(tx, after=…, size=…, characters=…, **params)` reads each page."""
        if request.limit is None:
            return await json_array(self.pages(read_page, scan=scan, start=request.after, **params), shape)
        run = self.context.db.scan if scan else self.context.db.read
        records, key = await run(
            self._checked(read_page),
            after=request.after,
            size=request.limit,
            characters=LIMITED_PAGE_CHARACTERS,
            **params,
        )
        next_page = None if key is None else self.link_to_page(encode_cursor(request.order, key))
        return json_page(records, shape, next_page)

    def param(self, name: str, *, required: bool = False) -> str | None:
        """A query parameter that may appear at most once; 400 naming it otherwise."""
        values = self.params.get(name, [])
        if len(values) > 1 or (required and not values):
            problem = "Give it exactly once." if values else "Missing."
            raise Invalid(messages.BAD_PARAMETERS, details=[{"field": name, "message": problem}])
        return values[0] if values else None

    def link_to_page(self, cursor: str) -> str:
        """This request's path and query with `cursor` in place of its own: the next page."""
        query = [(name, value) for name, values in self.params.items() if name != "cursor" for value in values]
        return f"{self.path}?{urlencode([*query, ('cursor', cursor)])}"

    async def account(self) -> users.UserRecord:
        """The caller's account."""
        user = await self.read(users.get, user_id=self.user_id)
        assert user is not None  # the account was checked in the same unit of work
        return user

    async def confirm(self) -> None:
        """401 unless the token's account exists."""
        if not self.confirmed:
            await self.read(_nothing)

    def _checked(self, work: Callable[..., T]) -> Callable[..., T]:
        if self.confirmed:
            return work

        def checked(tx: Transaction, **params: Any) -> T:
            if not self.confirmed:
                if self.key is not None:
                    key_rules.check_use(
                        tx, key_hash=self.key.key_hash, refused=self.key.refused, usage=self.context.key_usage
                    )
                elif users.get(tx, user_id=self.user_id) is None:
                    raise Unauthorized(messages.TOKEN_INVALID)
                self.confirmed = True
            return work(tx, **params)

        return checked


def _nothing(_tx: Transaction) -> None:
    return None


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """An API key a request presented: its hash, and why it may not make the request (None: it
    may), to be said once the key is found to still exist."""

    key_hash: str
    refused: str | None


def authenticated(*allowed_params: str) -> Any:
    """The dependency of a protected route accepting these query parameters."""

    async def caller(request: Request) -> Caller:
        context: ServerContext = request.app.state.context
        credential = _credential(request)
        if not credential.startswith(API_KEY_PREFIX):
            user_id = context.tokens.user_id(credential)
            if user_id is None:
                raise Unauthorized(messages.TOKEN_INVALID)
            request.state.user_id = user_id
            return Caller(context, request.scope["path"], _query_params(request, allowed_params), user_id)
        holder = context.keys.remembered(credential) or await _look_up_key(context, credential)
        if holder.expires_at is not None and holder.expires_at <= time.time() * 1000:
            raise Unauthorized(messages.TOKEN_INVALID)
        request.state.user_id = holder.owner_id
        params = _query_params(request, allowed_params)
        needs = scopes.required(request.method, request.scope["route"].path, params)
        presented = PresentedKey(holder.key_hash, key_rules.refusal(holder, needs))
        return Caller(context, request.scope["path"], params, holder.owner_id, presented)

    return Depends(caller)


def public(*allowed_params: str) -> Any:
    """The dependency of a route anyone may call; it has no `user_id`."""

    async def caller(request: Request) -> Caller:
        return Caller(request.app.state.context, request.scope["path"], _query_params(request, allowed_params))

    return Depends(caller)


Anyone = Annotated[Caller, public()]
"""The caller of a public route."""
Authenticated = Annotated[Caller, authenticated()]
"""The caller of a protected route that takes no query parameters."""


def _credential(request: Request) -> str:
    """The bearer token or API key the request presents (`Authorization: Bearer …`, or an API
    key in `X-API-Key`); 401 with the contract's message when there is none."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        return token
    key = request.headers.get("x-api-key", "").strip()
    if key:
        if not key.startswith(API_KEY_PREFIX):  # the header takes keys, never a login token
            raise Unauthorized(messages.TOKEN_INVALID)
        return key
    raise Unauthorized(messages.TOKEN_MISSING)


async def _look_up_key(context: ServerContext, key: str) -> KeyHolder:
    """Who a presented key names, read once per server process (what a key names never changes;
    whether it still exists is checked with every request); 401 for a key that does not exist."""
    if len(key) > ApiKeys.MAX_LENGTH:
        raise Unauthorized(messages.TOKEN_INVALID)
    holder = await context.db.read(key_rules.holder, key_hash=ApiKeys.hashed(key))
    if holder is None:
        raise Unauthorized(messages.TOKEN_INVALID)
    context.keys.remember(key, holder)
    return holder


def _query_params(request: Request, allowed: tuple[str, ...]) -> QueryParams:
    params: QueryParams = {}
    if not request.scope["query_string"]:
        return params
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            raise Invalid(messages.BAD_PARAMETERS)
        params.setdefault(key, []).append(value)
    return params


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the limit whether or not a length was declared.

    A dependency listed after the route's `Caller`, so authentication is checked first.
    """
    settings = request.app.state.context.settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    body = bytearray()
    try:
        async with asyncio.timeout(settings.body_timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise PayloadTooLarge(messages.BODY_TOO_LARGE)
    except TimeoutError:
        raise RequestTimeout(messages.REQUEST_TIMEOUT) from None
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


Body = Annotated[bytes, Depends(read_body)]
"""A route's raw request body, read within the size and time limits."""


def _detail(location: tuple[int | str, ...], message: str, items_of: str | None) -> dict[str, Any]:
    index: dict[str, Any] = {}
    if items_of is not None and len(location) > 1 and location[0] == items_of and isinstance(location[1], int):
        index, location = {"index": location[1]}, location[2:]
    return {**index, "field": (".".join(str(part) for part in location) or "body")[:200], "message": message[:200]}


def parse_body_later(raw: bytes, model: type[Model], message: str, *, items_of: str | None = None) -> Model | Invalid:
    """`parse_body`, its error returned rather than raised: the contract checks a body only
    after the existence and ownership of the resource in the path."""
    try:
        return parse_body(raw, model, message, items_of=items_of)
    except Invalid as error:
        return error


def parse_body(raw: bytes, model: type[Model], message: str, *, items_of: str | None = None) -> Model:
    """The body validated against `model`; 400 with the endpoint's message otherwise.

    A problem inside an item
    of the list `items_of` names the item's `index` and its own `field`.
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
        details = [_detail(item["loc"], item["msg"], items_of) for item in problems[:MAX_DETAILS]]
        raise Invalid(message, details=details, more_details=len(problems) - len(details)) from None
