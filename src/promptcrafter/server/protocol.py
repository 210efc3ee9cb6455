"""uvicorn's HTTP protocol with the limits it lacks: a deadline and a size for request heads.

Without them a client can hold a connection forever by sending a header a byte at a
time (slowloris), or make the server buffer megabytes of headers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from promptcrafter import messages

MAX_HEAD_BYTES = 32 * 1024
_LINGER_SECONDS = 2.0
_END_OF_HEAD = b"\r\n\r\n"
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Refuses a request head larger than MAX_HEAD_BYTES (431) or slower than the header
    timeout (408), then closes the connection. `serve` passes the timeout from its settings."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""
        self._head_deadline: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:
            self._arm_head_deadline()
            seen = self._tail + data
            end = seen.find(_END_OF_HEAD)
            self._head_bytes += len(data) if end < 0 else max(0, end + len(_END_OF_HEAD) - len(self._tail))
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, messages.HEADERS_TOO_LARGE)
                return
            if end < 0:
                self._tail = seen[-(len(_END_OF_HEAD) - 1):]
            else:
                self._head_complete()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_complete()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Whatever comes next on this connection is the head of another request.
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""

    def _head_complete(self) -> None:
        self._reading_head = False
        self._disarm_head_deadline()

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self._header_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._reading_head and not self.transport.is_closing():
            self._refuse(408, messages.REQUEST_TIMEOUT)

    def _refuse(self, status: int, message: str) -> None:
        self._refused = True
        self._disarm_head_deadline()
        body = orjson.dumps({"error": message})
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, _REASONS[status], len(body), body)
        )
        # Half-close and keep discarding what the client still sends for a moment: closing
        # with unread data would reset the connection before the client reads the answer.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
