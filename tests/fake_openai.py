"""A real HTTP server speaking OpenAI's chat-completions protocol, for tests and benchmarks.

Standard library only, so benchmarks can run it without the test dependencies:

    with FakeOpenAI(delay=0.2) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="test")

or standalone: `python tests/fake_openai.py --port 8900 --delay 0.2`.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Message = dict[str, Any]
Answer = Callable[[list[Message]], str] | str

JUDGE_ANSWER = "Score: 7\nThe answer is mostly right."
# Cut mid-document, as a dying proxy would, so that it looks like JSON until a client parses it.
MALFORMED_BODY = b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"index": 0, "mess'
# The `type` and `code` of OpenAI's error bodies, by status.
ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout", "timeout"),
    409: ("conflict", "conflict"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
}


def text_of(content: Any) -> str:
    """The text of a message's content, which may also be a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def last_user_content(messages: list[Message]) -> str:
    """The text of the last message whose role is `user`, or "" when there is none."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def count_tokens(text: str) -> int:
    """Whitespace-separated words of `text`, at least 1 (real usage never reports 0)."""
    return max(1, len(text.split()))


def _echo(messages: list[Message]) -> str:
    return last_user_content(messages)


def default_answers() -> dict[str, Answer]:
    """The built-in models and how each answers."""
    return {
        "echo": _echo,
        "upper": lambda messages: last_user_content(messages).upper(),
        "reverse": lambda messages: " ".join(reversed(last_user_content(messages).split())),
        "judge": JUDGE_ANSWER,
        "json": lambda messages: json.dumps(
            {"answer": last_user_content(messages)}, separators=(",", ":"), ensure_ascii=False
        ),
    }


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour; build with the static methods."""

    kind: str
    status_code: int = 200
    retry_after: float | None = None
    seconds: float = 0.0
    message: str | None = None

    @staticmethod
    def status(code: int, retry_after: float | None = None, message: str | None = None) -> Fault:
        """Answer `code` with an OpenAI-style error body (and a `Retry-After` header when given)."""
        return Fault("status", status_code=code, retry_after=retry_after, message=message)

    @staticmethod
    def hang(seconds: float) -> Fault:
        """Wait `seconds` before answering normally: a timeout for a client that waits less."""
        return Fault("hang", seconds=seconds)

    @staticmethod
    def malformed() -> Fault:
        """Answer 200 with a JSON content type and a body that is not JSON."""
        return Fault("malformed")

    @staticmethod
    def empty_choices() -> Fault:
        """Answer 200 with a well-formed completion whose `choices` is empty."""
        return Fault("empty_choices")


@dataclass(frozen=True)
class Received:
    """A chat-completions request as the fake received it."""

    model: str
    messages: list[Message]
    params: dict[str, Any]
    authorization: str | None
    arrived_at: float
    fault: Fault | None = field(default=None, compare=False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections would otherwise make server_close() wait for their clients.
    block_on_close = False

    def __init__(self, address: tuple[str, int], fake: FakeOpenAI) -> None:
        super().__init__(address, _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out hang up mid-answer; that is the point of some faults, not an error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, like the real API, so a benchmark measures answers rather than TCP handshakes.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait for the
    # client's delayed acknowledgement (about 40 ms a call).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request on stderr would swamp test output and slow benchmarks.
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, self.server.fake.models_listing())
        else:
            self._send_error(404, f"Unknown path {self.path}", "invalid_request_error", "not_found")

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"Unknown path {self.path}", "invalid_request_error", "not_found")
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._send_error(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json")
            return
        problem = _request_problem(payload)
        if problem:
            self._send_error(400, problem, "invalid_request_error", "invalid_request")
            return
        status, headers, response = self.server.fake._complete(payload, self.headers.get("Authorization"))
        self._send(status, response, headers)

    def do_PUT(self) -> None:
        self._read_body()
        self._send_error(404, f"Unknown path {self.path}", "invalid_request_error", "not_found")

    do_DELETE = do_PUT
    do_PATCH = do_PUT

    def _read_body(self) -> bytes:
        # The whole body must be read even when it is refused, or the next request on the connection breaks.
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_error(self, status: int, message: str, type_: str, code: str) -> None:
        self._send_json(status, _error_body(message, type_, code))

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _error_body(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _request_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "The request body must be a JSON object."
    if not isinstance(payload.get("model"), str):
        return "`model` must be a string."
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return "`messages` must be a non-empty list of objects."
    if payload.get("stream"):
        # Saying so beats answering a streaming client with a body it cannot read.
        return "The fake does not stream; call without `stream`."
    return None


class FakeOpenAI:
    """An OpenAI-compatible chat-completions server on 127.0.0.1, run in a daemon thread."""

    def __init__(self, delay: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare a server; `delay` is the seconds every answer takes, like a model thinking."""
        self.delay = delay
        self.host = host
        self.port = port
        self.answers: dict[str, Answer] = default_answers()
        self.max_concurrent = 0
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._faults: dict[str | None, deque[Fault]] = {}
        self._in_flight = 0
        self._sequence = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Hangs and delays wait on this, so that stop() does not wait for them.
        self._stopping = threading.Event()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> FakeOpenAI:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeOpenAI is already running")
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake hanging requests and drop open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # Already closed by its client.
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in /v1."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running; call start() or use it in a with block")
        return f"http://{self.host}:{self.port}/v1"

    def answer(self, model: str, messages: list[Message]) -> str:
        """What `model` answers to `messages`; unknown models echo the last user message."""
        answer = self.answers.get(model, _echo)
        return answer if isinstance(answer, str) else answer(messages)

    def script(self, model: str | None, *faults: Fault) -> None:
        """Queue faults for `model` (None: any model), each consumed by one request, in order."""
        with self._lock:
            self._faults.setdefault(model, deque()).extend(faults)

    def pending_faults(self, model: str | None = None) -> int:
        """How many faults scripted for `model` (None: for any model) are still unconsumed."""
        with self._lock:
            return len(self._faults.get(model, ()))

    @property
    def requests(self) -> list[Received]:
        """A snapshot of the chat-completions requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def calls(self, model: str | None = None) -> int:
        """How many chat-completions requests arrived (for `model`, when given)."""
        with self._lock:
            return sum(1 for request in self._requests if model is None or request.model == model)

    def reset(self) -> None:
        """Forget received requests, unconsumed faults and the concurrency high-water mark."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self.max_concurrent = self._in_flight

    def models_listing(self) -> dict[str, Any]:
        """The body of GET /v1/models."""
        created = int(time.time())
        models = [
            {"id": name, "object": "model", "created": created, "owned_by": "fake-openai"} for name in self.answers
        ]
        return {"object": "list", "data": models}

    def _complete(self, payload: dict[str, Any], authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        arrived_at = time.monotonic()
        model: str = payload["model"]
        messages: list[Message] = payload["messages"]
        params = {key: value for key, value in payload.items() if key not in ("model", "messages")}
        with self._lock:
            fault = self._next_fault(model)
            self._requests.append(Received(model, messages, params, authorization, arrived_at, fault))
            self._sequence += 1
            sequence = self._sequence
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)
        try:
            return self._respond(model, messages, fault, sequence)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _next_fault(self, model: str) -> Fault | None:
        for key in (model, None):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    def _respond(
        self, model: str, messages: list[Message], fault: Fault | None, sequence: int
    ) -> tuple[int, dict[str, str], bytes]:
        if fault is not None and fault.kind == "status":
            # A gateway refuses at once; only requests that reach the model pay its delay.
            return self._status_fault(fault)
        if fault is not None and fault.kind == "hang":
            self._stopping.wait(fault.seconds)
        if self.delay > 0:
            self._stopping.wait(self.delay)
        if fault is not None and fault.kind == "malformed":
            return 200, {}, MALFORMED_BODY
        content = self.answer(model, messages)
        prompt_tokens = count_tokens(" ".join(text_of(message.get("content")) for message in messages))
        completion_tokens = count_tokens(content)
        choices = [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        completion = {
            "id": f"chatcmpl-fake-{sequence}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [] if fault is not None and fault.kind == "empty_choices" else choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, {}, json.dumps(completion).encode()

    @staticmethod
    def _status_fault(fault: Fault) -> tuple[int, dict[str, str], bytes]:
        type_, code = ERROR_KINDS.get(fault.status_code, ("api_error", None))
        message = fault.message or f"Scripted fault: HTTP {fault.status_code}."
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        return fault.status_code, headers, json.dumps(_error_body(message, type_, code)).encode()


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted, printing the base URL first (for benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every answer takes")
    args = parser.parse_args(argv)
    # A benchmark stops the server with SIGTERM, or with SIGINT from a shell that started it in the
    # background (which would otherwise ignore SIGINT); leave as cleanly as after Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with FakeOpenAI(delay=args.delay, host=args.host, port=args.port) as fake:
        print(fake.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
