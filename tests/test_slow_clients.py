"""Slow and stalled clients against a real server: nobody else waits for them, and the
server lets go of them in bounded time."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from helpers import PASSWORD, LiveServer, start_server, stop_server, store_prompts, stored_prompt

TIMEOUTS = {"PROMPTCRAFTER_HEADER_TIMEOUT": "1", "PROMPTCRAFTER_BODY_TIMEOUT": "1", "PROMPTCRAFTER_SEND_TIMEOUT": "3"}
PROMPT_COUNT = 700  # many pages, 14 MB in all: more than the kernel buffers of a connection
SLOW_READERS = 30


@dataclass
class Library:
    server: LiveServer
    headers: dict[str, str]
    prompt_ids: list[str]

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.server.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


@pytest.fixture(scope="module")
def library(module_database_url: str) -> Iterator[Library]:
    """A server with short client timeouts, and a user whose prompt list takes megabytes."""
    url = module_database_url
    server = start_server(url, env=TIMEOUTS)
    try:
        email = f"slow-{uuid.uuid4().hex[:8]}@example.com"
        signup = httpx.post(f"{server.url}/auth/signup", json={"name": "Slow", "email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {signup.json()['token']}"}
        user_id = httpx.get(f"{server.url}/auth/me", headers=headers).json()["_id"]
        rows = [stored_prompt(user_id, i, title=f"Long prompt {i}", content="x" * 20_000) for i in range(PROMPT_COUNT)]
        stored = store_prompts(url, rows)
        yield Library(server, headers, stored)
    finally:
        stop_server(server)


def raw_connection(library: Library, receive_buffer: int = 4096) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(library.address)
    return sock


def request_head(path: str, headers: dict[str, str], method: str = "GET", extra: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def read_until_closed(sock: socket.socket, limit_seconds: float) -> bytes:
    sock.settimeout(limit_seconds)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_clients_that_never_read_hold_up_nobody(library: Library) -> None:
    readers = [raw_connection(library) for _ in range(SLOW_READERS)]
    try:
        for sock in readers:
            sock.sendall(request_head("/prompts", library.headers))
        time.sleep(1)  # every slow reader's response is now stuck in a full socket
        started = time.monotonic()
        with httpx.Client(base_url=library.server.url, timeout=10) as http:
            for prompt_id in library.prompt_ids[:20]:
                assert http.get(f"/prompts/{prompt_id}", headers=library.headers).status_code == 200
            assert http.get("/openapi.json").status_code == 200
            assert http.get("/health").status_code == 200
            listed = http.get("/prompts", headers=library.headers).json()
        assert [prompt["_id"] for prompt in listed] == library.prompt_ids
        assert time.monotonic() - started < 10
    finally:
        for sock in readers:
            sock.close()


def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout(library: Library) -> None:
    sock = raw_connection(library)
    try:
        sock.sendall(request_head("/prompts", library.headers))
        time.sleep(6)  # well past the send timeout of 3 s
        received = read_until_closed(sock, limit_seconds=10)
    finally:
        sock.close()
    assert received.startswith(b"HTTP/1.1 200")
    assert not received.rstrip().endswith(b"]0\r\n\r\n")  # cut off: the list never finished


def test_headers_sent_a_byte_at_a_time_are_cut_off(library: Library) -> None:
    sock = raw_connection(library)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        with pytest.raises(OSError):  # noqa: PT012 - the server closes while we keep sending
            for _ in range(40):
                sock.sendall(b"a")
                time.sleep(0.1)
        received = read_until_closed(sock, limit_seconds=5)
    except OSError:
        received = b""
    finally:
        sock.close()
    assert time.monotonic() - started < 5
    if received:
        assert received.startswith(b"HTTP/1.1 408")
        assert received.endswith(b'{"error":"The request was not received in time."}')


def test_a_connection_that_sends_nothing_is_closed(library: Library) -> None:
    sock = raw_connection(library)
    try:
        started = time.monotonic()
        received = read_until_closed(sock, limit_seconds=5)
    finally:
        sock.close()
    assert time.monotonic() - started < 4
    assert received.startswith(b"HTTP/1.1 408")


def test_a_body_that_stops_coming_is_408(library: Library) -> None:
    sock = raw_connection(library)
    try:
        head = request_head(
            "/prompts", {**library.headers, "Content-Type": "application/json", "Content-Length": "100"}, method="POST"
        )
        sock.sendall(head + b'{"title": ')
        received = read_until_closed(sock, limit_seconds=5)
    finally:
        sock.close()
    assert received.startswith(b"HTTP/1.1 408")
    assert received.endswith(b'{"error":"The request was not received in time."}')


def test_an_oversized_request_head_is_431_before_it_is_read_whole(library: Library) -> None:
    response = httpx.get(f"{library.server.url}/health", headers={f"X-Big-{i}": "v" * 4_000 for i in range(10)})
    assert (response.status_code, response.json()) == (431, {"error": "Request headers are too large."})
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: httpx.get(f"{library.server.url}/health").status_code, range(8)))
    assert statuses == [200] * 8


def test_a_batch_of_a_thousand_logs_holds_up_nobody(library: Library) -> None:
    # On SQLite most of a batch's time goes into storing it with its search index: done on the
    # event loop, every other request of the process would wait for it.
    logs = [
        {"promptId": library.prompt_ids[0], "output": f"{i} " + "word " * 300, "modelUsed": "m"} for i in range(1000)
    ]
    waits: list[float] = []
    with httpx.Client(base_url=library.server.url, timeout=60) as other, ThreadPoolExecutor(1) as pool:
        other.get("/health")  # connected before the batch starts
        started = time.perf_counter()
        batch = pool.submit(
            lambda: httpx.post(
                f"{library.server.url}/logs/batch", json={"logs": logs}, headers=library.headers, timeout=60
            )
        )
        while not batch.done():
            asked = time.perf_counter()
            assert other.get(f"/prompts/{library.prompt_ids[1]}", headers=library.headers).status_code == 200
            waits.append(time.perf_counter() - asked)
        assert batch.result().status_code == 201
        took = time.perf_counter() - started
    # Stored inline, a SQLite batch makes one wait ~40 % of the batch; in a thread, under 10 %. On
    # PostgreSQL the store awaits the network and only preparing the rows (~20 %) is on the loop.
    share = 4 if library.server.database_url.startswith("sqlite") else 2
    assert max(waits) < took / share, (max(waits), took)
