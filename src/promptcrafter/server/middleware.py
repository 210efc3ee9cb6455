"""The outermost layer: request ids, security headers, and the last-resort 500."""

from __future__ import annotations

import logging
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptcrafter import messages

logger = logging.getLogger("promptcrafter")

API_POLICY = b"default-src 'none'; frame-ancestors 'none'"
# The docs viewer runs its own script and styles, all served by this server.
DOCS_POLICY = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    b"frame-ancestors 'none'"
)


class ServiceMiddleware:
    """Tags every response with a request id and security headers; turns crashes into JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        policy = DOCS_POLICY if scope["path"].startswith("/docs") else API_POLICY
        extra_headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", policy),
            (b"referrer-policy", b"no-referrer"),
        ]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *extra_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("request %s %s failed [request id %s]", scope["method"], scope["path"], request_id)
            if started:
                raise
            body = orjson.dumps({"error": messages.UNEXPECTED})
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": body})
