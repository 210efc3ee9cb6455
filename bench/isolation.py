"""Latency isolation: does a slow client slow anybody else down?

    python bench/isolation.py [--db URL] [--workers 1] [--seconds 10]

Starts `promptcrafter serve`, seeds it through the storage layer (a user with 700 prompts
of 20,000 characters, and 100,000 logs), then measures the latency of
`GET /prompts/{id}` from 4 clients for `--seconds` in three phases:

1. quiet: nothing else happens;
2. slow readers: 30 connections have each asked for the 14 MB prompt list and read
   nothing (a small receive buffer, never emptied), measured once the server has
   filled what the kernel buffers for them;
3. slow stream: one client reads `GET /logs` (100,000 logs) at 100 KB/s.

It prints p50, p99 and max per phase, and each phase's p99 as a multiple of the quiet
one. The goal is within 2x. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from processes import ManagedProcess, find_executable, free_port
from promptcrafter.storage import Database, logs, prompts, users
from promptcrafter.storage.migrate import upgrade
from promptcrafter.storage.values import new_id, now_ms

CLIENTS = 4
SLOW_READERS = 30
STREAM_BYTES_PER_SECOND = 100_000


def seed(database_url: str) -> tuple[str, str, list[str]]:
    """A user with long prompts and 100,000 logs; returns (email, password, prompt ids)."""
    database = Database(database_url)
    upgrade(database)
    email, password = f"iso-{secrets.token_hex(4)}@bench.invalid", secrets.token_urlsafe(16)
    clock = now_ms() - 86_400_000
    with database.transaction(write=True) as tx:
        user_id = users.create(
            tx, name="Isolation", email=email,
            password_hash=PasswordHasher(time_cost=1, memory_cost=1024).hash(password),
        )
        rows = [
            {"id": new_id("prompt"), "owner_id": user_id, "title": f"Long prompt {i}", "content": "x" * 20_000,
             "model": "m", "tags": [], "created_at": clock + i, "updated_at": clock + i}
            for i in range(700)
        ]
        prompts.insert_many(tx, rows=rows)
    for start in range(0, 100_000, 10_000):
        with database.transaction(write=True) as tx:
            logs.insert_many(tx, rows=[
                {"id": new_id("log"), "prompt_id": rows[i % 700]["id"], "owner_id": user_id,
                 "output": f"Output number {i} of the isolation benchmark, long enough to matter.",
                 "notes": None, "model_used": "m", "score": i % 11, "created_at": clock + 1_000 + i}
                for i in range(start, start + 10_000)
            ])
    database.close()
    return email, password, [row["id"] for row in rows]


def latencies(base_url: str, headers: dict[str, str], prompt_ids: list[str], seconds: float) -> list[float]:
    """Milliseconds of every `GET /prompts/{id}` that CLIENTS clients sent back to back."""
    deadline = time.monotonic() + seconds

    def client(index: int) -> list[float]:
        measured = []
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
            n = index
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = http.get(f"/prompts/{prompt_ids[n % len(prompt_ids)]}")
                measured.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"GET /prompts/id answered {response.status_code}")
                n += CLIENTS
        return measured

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [value for values in pool.map(client, range(CLIENTS)) for value in values]


def request_bytes(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_slow_readers(port: int, headers: dict[str, str]) -> list[socket.socket]:
    readers = []
    for _ in range(SLOW_READERS):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(request_bytes("/prompts", headers))
        readers.append(sock)
    return readers


def wait_until_stalled(base_url: str, headers: dict[str, str], prompt_id: str, quiet_p50: float) -> float:
    """Seconds until 20 lookups in a row are fast again.

    Until then the server is still producing what the kernel accepts into each slow
    reader's socket buffers (megabytes each): work, not waiting.
    """
    started = time.monotonic()
    streak = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        while streak < 20 and time.monotonic() - started < 60:
            began = time.perf_counter()
            http.get(f"/prompts/{prompt_id}")
            streak = streak + 1 if (time.perf_counter() - began) * 1000 < 3 * quiet_p50 else 0
    return time.monotonic() - started


def slow_stream(port: int, headers: dict[str, str], stop: threading.Event, received: list[int]) -> None:
    """Read `GET /logs` at STREAM_BYTES_PER_SECOND until told to stop."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request_bytes("/logs", headers))
        chunk = STREAM_BYTES_PER_SECOND // 10
        while not stop.is_set():
            data = sock.recv(chunk)
            if not data:
                break
            received[0] += len(data)
            time.sleep(0.1)


def summary(name: str, values: list[float], quiet_p99: float | None) -> str:
    ordered = sorted(values)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    ratio = f"{p99 / quiet_p99:.2f}x" if quiet_p99 else "1.00x"
    return (f"| {name} | {len(values)} | {statistics.median(ordered):.2f} | {p99:.2f} | "
            f"{ordered[-1]:.1f} | {ratio} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file); an empty database")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each phase (default 10)")
    args = parser.parse_args()
    executable = find_executable("promptcrafter")
    if executable is None:
        print('promptcrafter not found: pip install -e ".[bench]"', file=sys.stderr)
        return 2
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="isolation-")))
        database_url = args.db or f"sqlite:///{workdir / 'isolation.db'}"
        email, password, prompt_ids = seed(database_url)
        port = free_port()
        env = {**os.environ, "PROMPTCRAFTER_SECRET_KEY": secrets.token_urlsafe(48)}
        server = ManagedProcess(
            name="promptcrafter",
            argv=[executable, "serve", "--port", str(port), "--db", database_url,
                  "--workers", str(args.workers), "--no-access-log"],
            log_path=workdir / "server.log",
            env=env,
        )
        server.start()
        stack.callback(server.stop)
        base_url = f"http://127.0.0.1:{port}"
        server.wait_http_ok(f"{base_url}/health")
        token = httpx.post(f"{base_url}/auth/login", json={"email": email, "password": password}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        latencies(base_url, headers, prompt_ids, 2)  # warm-up
        quiet = latencies(base_url, headers, prompt_ids, args.seconds)
        quiet_p99 = sorted(quiet)[int(len(quiet) * 0.99) - 1]

        readers = open_slow_readers(port, headers)
        try:
            settling = wait_until_stalled(base_url, headers, prompt_ids[0], statistics.median(quiet))
            stalled = latencies(base_url, headers, prompt_ids, args.seconds)
        finally:
            for sock in readers:
                sock.close()

        stop, received = threading.Event(), [0]
        streamer = threading.Thread(target=slow_stream, args=(port, headers, stop, received))
        streamer.start()
        time.sleep(1)
        try:
            streaming = latencies(base_url, headers, prompt_ids, args.seconds)
        finally:
            stop.set()
            streamer.join()

        store = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        print(f"\nGET /prompts/{{id}} latency (ms), {store}, {args.workers} worker(s), {CLIENTS} clients")
        print("| phase | requests | p50 | p99 | max | p99 vs quiet |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        print(summary("quiet", quiet, None))
        print(summary(f"{SLOW_READERS} slow readers of a 14 MB list", stalled, quiet_p99))
        print(summary("GET /logs (100,000 logs) read at 100 KB/s", streaming, quiet_p99))
        print(f"(the slow readers' socket buffers were full after {settling:.1f} s; "
              f"the slow stream received {received[0] / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
