"""The outermost layer: request ids, security headers, request limits, HEAD, and the
last-resort 500."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptcrafter import messages, telemetry

logger = logging.getLogger("promptcrafter")

API_POLICY = b"default-src 'none'; frame-ancestors 'none'"
# The docs viewer runs its own script and styles, all served by this server.
DOCS_POLICY = b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
# The web pages load only this server's stylesheet, script and icon, and post forms only to it.
PAGES_POLICY = b"default-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
MAX_URL_LENGTH = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024


class _ClientStalled(Exception):
    """The client read nothing of a streamed response for the whole send timeout."""


class EdgeMiddleware:
    """Tags every response with a request id and security headers; refuses oversized URLs
    and headers; answers HEAD like GET without the body; gives up on a client that stops
    reading a streamed response; turns crashes into JSON."""

    def __init__(
        self, app: ASGIApp, *, send_timeout: float, observe: Callable[[str | None, str, int, float], None] | None = None
    ) -> None:
        self.app = app
        self.send_timeout = send_timeout
        # The metrics' count of each answered request (route template, method, status, seconds).
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = telemetry.request_id(_header(scope, b"x-request-id"))
        # Handlers leave the caller's account here for the request's log line.
        scope.setdefault("state", {})
        docs = scope["path"].startswith("/docs")
        extra_headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        status = 0
        responded = streaming = False
        head_only = scope["method"] == "HEAD"
        if head_only:
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            nonlocal responded, streaming, status
            if message["type"] == "http.response.start":
                responded = True
                status = message["status"]
                headers = message.get("headers", [])
                policy = DOCS_POLICY if docs else PAGES_POLICY if _is_page(headers) else API_POLICY
                message["headers"] = [*headers, *extra_headers, (b"content-security-policy", policy)]
            elif message["type"] == "http.response.body":
                if head_only:
                    message = {**message, "body": b""}
                if message.get("more_body") or streaming:
                    streaming = True
                    try:
                        async with asyncio.timeout(self.send_timeout):
                            await send(message)
                    except TimeoutError:
                        raise _ClientStalled from None
                    return
            await send(message)

        refusal = _refusal(scope)
        try:
            if refusal is not None:
                await _send_error(send_with_headers, *refusal)
            else:
                await self.app(scope, receive, send_with_headers)
        except _ClientStalled:
            # Returning without finishing the response makes the server drop the connection.
            logger.info("client stopped reading", extra={"request_id": request_id})
        except Exception:
            logger.exception("request failed", extra={"request_id": request_id, "method": scope["method"]})
            if responded:
                raise
            await _send_error(send_with_headers, 500, messages.UNEXPECTED)
        finally:
            route = getattr(scope.get("route"), "path", None)
            method = "HEAD" if head_only else scope["method"]
            telemetry.log_request(
                request_id=request_id,
                method=method,
                route=route,
                status=status,
                started=started,
                user_id=scope["state"].get("user_id"),
            )
            if self.observe is not None:
                self.observe(route, method, status, time.perf_counter() - started)


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


def _is_page(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"content-type" and value.startswith(b"text/html") for name, value in headers)


def _refusal(scope: Scope) -> tuple[int, str] | None:
    """What a request too big to look at gets, if it is one."""
    if len(scope["path"]) + len(scope["query_string"]) > MAX_URL_LENGTH:
        return 414, messages.URL_TOO_LONG
    if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
        return 431, messages.HEADERS_TOO_LARGE
    return None


async def _send_error(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"error": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
