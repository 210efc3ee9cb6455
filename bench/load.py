"""Mixed read/write load from many concurrent clients against `promptcrafter serve --workers 2`.

    python bench/load.py [--duration 60] [--clients 64] [--db URL] [--workers 2]

Starts the server on a free port of 127.0.0.1 (fresh SQLite file in a temp dir unless
`--db` names a database; `postgresql://…` databases are migrated by the server), seeds
one user, a few prompts with logs, and a "sink" prompt, then runs `--clients` clients,
each on its own keep-alive connection, for `--duration` seconds. Each client picks its
next request at random:

    50%  POST /logs                 (to the sink prompt)
    20%  GET /logs?promptId=…       (a seeded prompt: a fixed number of logs)
    20%  GET /prompts/{id}
    10%  GET /search?q=translation

Prints throughput, latency percentiles per request kind, the status counts, and the
first error bodies; then checks that every acknowledged POST /logs is stored. Exits
with 1 on any non-2xx answer, transport error or lost write. The server (its own
process group) is stopped on exit, also on Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from processes import ManagedProcess, free_port

SEEDED_PROMPTS = 8
LOGS_PER_PROMPT = 20
SEARCH_TERM = "translation"
# Kind of request -> share of the traffic.
MIX = {"create_log": 50, "list_logs": 20, "get_prompt": 20, "search": 10}
ERROR_SAMPLES = 5


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the request mix (default 1)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (default 30)")
    return parser.parse_args(argv)


@dataclass
class Seeded:
    """The ids the clients use."""

    token: str
    prompt_ids: list[str]
    sink_id: str


@dataclass
class Tally:
    """Everything the clients observed, shared by all of them (one event loop, so no lock)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in MIX})
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    error_times: list[float] = field(default_factory=list)  # time.monotonic() of each
    logs_created: int = 0

    def error(self, description: str) -> None:
        """Count an error, when it happened, and keep the first few descriptions."""
        self.errors += 1
        self.error_times.append(time.monotonic())
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(description)


def start_server(args: argparse.Namespace, workdir: Path) -> tuple[ManagedProcess, str]:
    """`promptcrafter serve` in its own process group, once /health answers."""
    port = free_port()
    database = args.db or f"sqlite:///{workdir / 'load.db'}"
    env = {
        **os.environ,
        # A fixed key for the run, so the workers never race to create one.
        "PROMPTCRAFTER_SECRET_KEY": secrets.token_urlsafe(48),
    }
    process = ManagedProcess(
        name="promptcrafter",
        argv=[sys.executable, "-m", "promptcrafter", "serve", "--host", "127.0.0.1", "--port", str(port),
              "--db", database, "--workers", str(args.workers), "--no-access-log"],
        log_path=workdir / "server.log",
        env=env,
    )
    process.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http_ok(base_url + "/health")
    except BaseException:
        process.stop()
        raise
    return process, base_url


def expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    """The response, or a clear error if seeding did not get `status`."""
    if response.status_code != status:
        raise RuntimeError(f"{what}: expected {status}, got {response.status_code}: {response.text[:300]}")
    return response


async def seed(base_url: str) -> Seeded:
    """One user (unique, so a reused database works), a few prompts with logs, and a sink prompt."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        email, password = f"load-{secrets.token_hex(6)}@bench.invalid", secrets.token_urlsafe(18)
        signup = await http.post("/auth/signup", json={"name": "Load", "email": email, "password": password})
        token = expect(signup, 201, "signup").json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        prompt_ids: list[str] = []
        for i in range(SEEDED_PROMPTS):
            # Half the prompts mention the search term, so search returns a few full prompts.
            title = f"French {SEARCH_TERM} {i}" if i % 2 else f"Meeting summary {i}"
            prompt = {"title": title, "content": "Work on the text below. " * 20, "model": "gpt-4o", "tags": ["load"]}
            prompt_ids.append(expect(await http.post("/prompts", json=prompt), 201, "create prompt").json()["_id"])
        for prompt_id in prompt_ids:
            for j in range(LOGS_PER_PROMPT):
                output = f"Seeded output {j}. " * 10
                log = {"promptId": prompt_id, "output": output, "modelUsed": "gpt-4o", "score": j % 11}
                expect(await http.post("/logs", json=log), 201, "create log")
        sink = {"title": "Load sink", "content": "Receives the benchmark's writes.", "model": "gpt-4o"}
        sink_id = expect(await http.post("/prompts", json=sink), 201, "create sink").json()["_id"]
    return Seeded(token=token, prompt_ids=prompt_ids, sink_id=sink_id)


async def client(
    number: int, base_url: str, seeded: Seeded, tally: Tally, deadline: float, args: argparse.Namespace
) -> None:
    """One client: its own connection, requests back to back until the deadline."""
    rng = random.Random(args.seed * 1_000 + number)
    kinds, weights = list(MIX), list(MIX.values())
    headers = {"Authorization": f"Bearer {seeded.token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=args.timeout, limits=limits) as http:
        sequence = 0
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            prompt_id = rng.choice(seeded.prompt_ids)
            sequence += 1
            started = time.perf_counter()
            try:
                if kind == "create_log":
                    body = {"promptId": seeded.sink_id, "output": f"client {number} request {sequence}",
                            "modelUsed": "gpt-4o", "score": sequence % 11}
                    response = await http.post("/logs", json=body)
                elif kind == "list_logs":
                    response = await http.get("/logs", params={"promptId": prompt_id})
                elif kind == "get_prompt":
                    response = await http.get(f"/prompts/{prompt_id}")
                else:
                    response = await http.get("/search", params={"q": SEARCH_TERM})
            except httpx.HTTPError as error:
                tally.statuses["transport error"] += 1
                tally.error(f"{kind}: {type(error).__name__}: {error}")
                continue
            tally.latencies[kind].append(time.perf_counter() - started)
            tally.statuses[str(response.status_code)] += 1
            if not response.is_success:
                tally.error(f"{kind}: HTTP {response.status_code}: {response.text[:300]}")
            elif kind == "create_log":
                tally.logs_created += 1


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values lie (nearest rank)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def report(tally: Tally, seconds: float, args: argparse.Namespace, database: str) -> None:
    """Print throughput, latencies per kind and overall, statuses and error samples."""
    everything = sorted(value for values in tally.latencies.values() for value in values)
    total = sum(tally.statuses.values())
    print(f"\n{args.clients} clients, {seconds:.1f} s, {args.workers} workers, database {database}")
    print(f"{'kind':12} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, values in [*tally.latencies.items(), ("all", everything)]:
        ordered = sorted(values)
        print(f"{kind:12} {len(ordered):9d} {len(ordered) / seconds:8.1f} "
              f"{percentile(ordered, 0.50) * 1000:8.1f} {percentile(ordered, 0.99) * 1000:8.1f}")
    print(f"throughput: {total / seconds:.1f} req/s ({total} requests)")
    print("statuses: " + ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items())))
    print(f"errors: {tally.errors}")
    for sample in tally.error_samples:
        print(f"  {sample}")


async def run_load(base_url: str, seeded: Seeded, args: argparse.Namespace) -> tuple[Tally, float]:
    """All clients at once for the configured duration."""
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.duration
    async with asyncio.TaskGroup() as group:
        for number in range(args.clients):
            group.create_task(client(number, base_url, seeded, tally, deadline, args))
    return tally, time.monotonic() - started


async def stored_sink_logs(base_url: str, seeded: Seeded) -> int:
    """How many logs the sink prompt holds now."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        response = await http.get(
            "/logs", params={"promptId": seeded.sink_id}, headers={"Authorization": f"Bearer {seeded.token}"}
        )
        return len(expect(response, 200, "list sink logs").json())


def _forward_as_sigint(_signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGHUP into Ctrl-C, so the same cleanup path stops the server."""
    signal.raise_signal(signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load; 0 when every request succeeded and every write was stored."""
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _forward_as_sigint)
    workdir = Path(tempfile.mkdtemp(prefix="promptcrafter-load-"))
    server: ManagedProcess | None = None
    try:
        server, base_url = start_server(args, workdir)
        seeded = asyncio.run(seed(base_url))
        print(f"server on {base_url}; seeded {SEEDED_PROMPTS} prompts x {LOGS_PER_PROMPT} logs; "
              f"{args.clients} clients for {args.duration:g} s", flush=True)
        tally, seconds = asyncio.run(run_load(base_url, seeded, args))
        report(tally, seconds, args, "SQLite (temp file)" if args.db is None else args.db)
        stored = asyncio.run(stored_sink_logs(base_url, seeded))
        lost = tally.logs_created - stored
        print(f"acknowledged log writes: {tally.logs_created}, stored: {stored}")
        if lost:
            print(f"LOST WRITES: {lost}")
        return 1 if tally.errors or lost else 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            if server.popen is not None and server.popen.poll() is not None:
                print(f"server exited early:\n{server.log_tail()}", file=sys.stderr)
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
