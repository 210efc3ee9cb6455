"""Runs (EVALUATION.md §10): how close the server's runner comes to the throughput its
per-provider concurrency allows, and what it costs per item.

    python bench/runs.py [--db postgresql://…] [--concurrency 1,4,16] [--delay 0.2]
        [--seconds 10] [--items N] [--workers 1,2] [--keep-tmp]

For each number of server processes (`promptcrafter serve --workers W`, a fresh store each) and
each concurrency C: a provider with `concurrency` C pointing at a fake OpenAI-compatible server
that answers every call after `--delay` seconds (tests/fake_openai.py, in a process of its own),
a dataset of N items, and a run of the prompt over it on one model with the `exact` scorer,
timed from POST /runs until the client sees it done. Printed per run:

- items/s from the run's own `createdAt` → `finishedAt`, and as the client saw it;
- the ideal: every call slot busy all the time, W × C / delay (the limit is per server process);
- achieved / ideal;
- how many calls the fake saw at once at most; the share of the slots' time spent in calls (the
  sum of the logs' `latencyMs` over run time × W × C), and the median call as the server timed it;
- the wall-time overhead per item: (elapsed − N × delay / (W × C)) / N;
- CPU per item: the server's (user + system of every process of the server, from /proc), the
  PostgreSQL backends' serving its database, and the fake's own (it must not be the bottleneck);
  and how long the server's threads waited for a CPU (`/proc/…/schedstat`): what a busy machine
  cost it.

Without `--db` each server gets a fresh SQLite file. With `--db` (a PostgreSQL URL whose user
may create databases) each server gets a throwaway database on that PostgreSQL server, dropped
at the end. Nothing here is collected by pytest. See "Runs" in bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from processes import CLOCK_TICKS, ManagedProcess, find_executable, session_cpu_seconds
from promptcrafter.client import PromptCrafterClient
from promptcrafter_target import launch_promptcrafter

TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
POLL_SECONDS = 0.05
WARMUP_ITEMS = 32


# The fake provider, in a process of its own so that its threads never compete with this one's
# for a GIL; it answers "stats" and "reset" on a pipe.


def _fake_provider(delay: float, pipe: Connection) -> None:
    sys.path.insert(0, str(TESTS_DIR))
    from fake_openai import FakeOpenAI

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with FakeOpenAI(delay=delay) as fake:
        pipe.send(fake.base_url)
        while True:
            try:
                command = pipe.recv()
            except EOFError:
                return
            if command == "reset":
                fake.reset()
                pipe.send(None)
            elif command == "stats":
                pipe.send({"calls": fake.calls(), "max_concurrent": fake.max_concurrent})
            else:
                return


@dataclass
class FakeProvider:
    base_url: str
    pid: int
    pipe: Connection

    def reset(self) -> None:
        self.pipe.send("reset")
        self.pipe.recv()

    def stats(self) -> dict[str, int]:
        self.pipe.send("stats")
        stats: dict[str, int] = self.pipe.recv()
        return stats

    def cpu_seconds(self) -> float:
        return _process_cpu_seconds(self.pid)


@contextlib.contextmanager
def fake_provider(delay: float) -> Iterator[FakeProvider]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_fake_provider, args=(delay, theirs), name="fake-openai", daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the fake provider did not start within 30 s")
        assert process.pid is not None
        yield FakeProvider(base_url=ours.recv(), pid=process.pid, pipe=ours)
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()


# CPU time


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def session_wait_seconds(session_id: int) -> float:
    """Seconds the threads of a session's processes spent runnable but waiting for a CPU (the
    second field of /proc/<pid>/task/<tid>/schedstat): what other processes on the machine, or
    each other, cost them in delay."""
    total_ns = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
            if int(raw[raw.rfind(")") + 2 :].split()[3]) != session_id:
                continue
            for thread in os.listdir(f"/proc/{entry}/task"):
                total_ns += int(Path(f"/proc/{entry}/task/{thread}/schedstat").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone while we looked
    return total_ns / 1e9


def backend_cpu(database_url: str | None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the database (its server must
    run on this machine); nothing for SQLite."""
    if database_url is None or not database_url.startswith("postgresql"):
        return {}
    query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    shown = subprocess.run(["psql", database_url, "-Atc", query], capture_output=True, text=True, check=True).stdout
    found = {}
    for pid in shown.split():
        with contextlib.suppress(OSError):
            found[int(pid)] = _process_cpu_seconds(int(pid))
    return found


def server_cpu_seconds(server: ManagedProcess) -> float:
    """User + system CPU of the server and all its processes: psutil when installed, else /proc
    (every process of the server's session, including reaped children)."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return session_cpu_seconds(server.pid)
    root = psutil.Process(server.pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


# The store


def throwaway_database(server_url: str, name: str) -> str:
    """Create an empty database `name` on the PostgreSQL server of `server_url`; its URL."""
    subprocess.run(["psql", server_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def drop_database(server_url: str, name: str) -> None:
    subprocess.run(["psql", server_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def has_workers_option(executable: str) -> bool:
    shown = subprocess.run([executable, "serve", "--help"], capture_output=True, text=True, check=False).stdout
    return "--workers" in shown


# One measured run


@dataclass
class Result:
    workers: int
    concurrency: int
    items: int
    delay: float
    server_seconds: float
    client_seconds: float
    server_cpu: float
    database_cpu: float | None  # the PostgreSQL backends' CPU seconds (None on SQLite)
    server_wait: float  # seconds its threads waited for a CPU
    fake_cpu: float
    max_concurrent: int
    calls: int
    call_ms: float  # median latency of a call as the server measured it (its logs' latencyMs)
    call_seconds: float  # the sum of those latencies

    @property
    def slots(self) -> int:
        return self.workers * self.concurrency

    @property
    def ideal(self) -> float:
        return self.slots / self.delay

    @property
    def server_rate(self) -> float:
        return self.items / self.server_seconds

    @property
    def client_rate(self) -> float:
        return self.items / self.client_seconds

    @property
    def busy(self) -> float:
        """The share of the call slots' time spent in calls: the mean calls in flight / slots."""
        return self.call_seconds / self.server_seconds / self.slots

    @property
    def overhead_ms(self) -> float:
        return (self.server_seconds - self.items * self.delay / self.slots) / self.items * 1000


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def measure(
    client: PromptCrafterClient,
    server: ManagedProcess,
    fake: FakeProvider,
    *,
    prompt_id: str,
    database_url: str | None,
    workers: int,
    concurrency: int,
    items: int,
    delay: float,
    label: str,
) -> Result:
    provider = client.create_provider(
        f"fake-{label}",
        fake.base_url,
        models=[{"name": "echo", "inputPer1M": 1, "outputPer1M": 2}],
        concurrency=concurrency,
    )
    dataset = client.create_dataset(f"items-{label}")
    rows = [
        {"input": {"text": f"item {index} of {label}"}, "expected": f"item {index} of {label}"}
        for index in range(items)
    ]
    client.add_items(dataset["_id"], rows)
    fake.reset()
    time.sleep(0.5)  # let the setup's writes settle before the clocks start
    backends = backend_cpu(database_url)
    fake_cpu, server_cpu, server_wait = fake.cpu_seconds(), server_cpu_seconds(server), session_wait_seconds(server.pid)
    started = time.perf_counter()
    run = client.start_run(prompt_id, dataset["_id"], [f"{provider['name']}:echo"], scorers=["exact"])
    run = client.wait_for_run(run["_id"], poll_seconds=POLL_SECONDS, timeout=600)
    client_seconds = time.perf_counter() - started
    server_cpu, fake_cpu = server_cpu_seconds(server) - server_cpu, fake.cpu_seconds() - fake_cpu
    server_wait = session_wait_seconds(server.pid) - server_wait
    database_cpu = None
    if database_url is not None and database_url.startswith("postgresql"):
        database_cpu = sum(cpu - backends.get(pid, 0.0) for pid, cpu in backend_cpu(database_url).items())
    stats = fake.stats()
    progress = run["progress"]
    if run["status"] != "done" or progress["done"] != items or progress["failed"]:
        raise RuntimeError(f"run {label} ended {run['status']} with {progress}")
    # Read after the clocks stop: the whole list of results, streamed.
    latencies = [output["latencyMs"] for result in client.run_results(run["_id"]) for output in result["outputs"]]
    if len(latencies) != items:
        raise RuntimeError(f"run {label}: {len(latencies)} results for {items} items")
    means = [entry["mean"] for entry in run["leaderboard"]["entries"]]
    if means != [10]:
        raise RuntimeError(f"run {label}: not every answer scored 10 (means {means})")
    return Result(
        workers=workers,
        concurrency=concurrency,
        items=items,
        delay=delay,
        server_seconds=_seconds(run["finishedAt"]) - _seconds(run["createdAt"]),
        client_seconds=client_seconds,
        server_cpu=server_cpu,
        server_wait=server_wait,
        database_cpu=database_cpu,
        fake_cpu=fake_cpu,
        max_concurrent=stats["max_concurrent"],
        calls=stats["calls"],
        call_ms=statistics.median(latencies),
        call_seconds=sum(latencies) / 1000,
    )


# Output


def table(store: str, results: list[Result]) -> str:
    lines = [
        f"### {store}",
        "",
        "| workers | concurrency | items | ideal items/s | items/s (run) | items/s (client) | achieved / ideal "
        "| calls at once (max) | slots busy | call p50 ms | overhead ms/item | server CPU ms/item "
        "| PostgreSQL CPU ms/item | server waiting for a CPU, ms/item | fake CPU ms/item |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.workers} | {r.concurrency} | {r.items:,} | {r.ideal:,.1f} | {r.server_rate:,.1f} "
            f"| {r.client_rate:,.1f} | **{r.server_rate / r.ideal:.2f}** | {r.max_concurrent} "
            f"| {r.busy:.0%} | {r.call_ms:.1f} | {r.overhead_ms:.1f} | {r.server_cpu / r.items * 1000:.2f} "
            f"| {'–' if r.database_cpu is None else f'{r.database_cpu / r.items * 1000:.2f}'} "
            f"| {r.server_wait / r.items * 1000:.2f} | {r.fake_cpu / r.items * 1000:.2f} |"
        )
    return "\n".join(lines)


def _integers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db",
        help="a PostgreSQL URL: each server gets a throwaway database on that server "
        "(default: a fresh SQLite file each)",
    )
    parser.add_argument("--concurrency", type=_integers, default=[1, 4, 16], help="provider concurrencies (1,4,16)")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the fake takes per answer (0.2)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="ideal duration of each run, which sets the items: seconds × workers × C / delay (10)",
    )
    parser.add_argument("--items", type=int, help="items per run, whatever the concurrency")
    parser.add_argument("--workers", type=_integers, default=[1, 2], help="server processes (1,2)")
    parser.add_argument("--promptcrafter-cmd", default="promptcrafter", help="the CLI (default: promptcrafter)")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir with the servers' logs")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    executable = find_executable(args.promptcrafter_cmd)
    if executable is None:
        raise SystemExit(f"{args.promptcrafter_cmd} not found: pip install -e '.[bench]'")
    workers_counts = args.workers
    if any(w > 1 for w in workers_counts) and not has_workers_option(executable):
        print("`promptcrafter serve` has no --workers: measuring one process only")
        workers_counts = [1]
    store = "PostgreSQL" if args.db else "SQLite"
    workdir = Path(tempfile.mkdtemp(prefix="promptcrafter-runs-"))
    created: list[str] = []
    results: list[Result] = []
    print(f"{store}, fake provider answering in {args.delay * 1000:.0f} ms; temp dir {workdir}", flush=True)
    try:
        with ExitStack() as stack:
            fake = stack.enter_context(fake_provider(args.delay))
            for workers in workers_counts:
                if args.db:
                    name = f"pc_runs_{secrets.token_hex(4)}"
                    database_url = throwaway_database(args.db, name)
                    created.append(name)
                else:
                    database_url = f"sqlite:///{workdir / f'runs-{workers}.db'}"
                with ExitStack() as server_stack:
                    server, base_url = launch_promptcrafter(
                        stack=server_stack,
                        workdir=workdir,
                        command=[executable],
                        db_url=database_url,
                        workers=workers,
                        access_log=False,
                        name=f"promptcrafter-{workers}",
                    )
                    with PromptCrafterClient(base_url, timeout=60) as client:
                        client.signup("Bench", f"runs-{secrets.token_hex(4)}@bench.invalid", "a long bench password")
                        prompt_id = client.create_prompt("Echo", "{{text}}", "echo")["_id"]
                        # Unmeasured: the first run of a process pays for imports and connections.
                        measure(
                            client,
                            server,
                            fake,
                            prompt_id=prompt_id,
                            database_url=database_url,
                            workers=workers,
                            concurrency=16,
                            items=WARMUP_ITEMS,
                            delay=args.delay,
                            label=f"w{workers}-warmup",
                        )
                        for concurrency in args.concurrency:
                            items = args.items or math.ceil(args.seconds * workers * concurrency / args.delay)
                            print(f"  {workers} workers, concurrency {concurrency}: {items} items…", flush=True)
                            result = measure(
                                client,
                                server,
                                fake,
                                prompt_id=prompt_id,
                                database_url=database_url,
                                workers=workers,
                                concurrency=concurrency,
                                items=items,
                                delay=args.delay,
                                label=f"w{workers}-c{concurrency}",
                            )
                            if result.calls != items:
                                raise RuntimeError(f"the fake saw {result.calls} calls for {items} items")
                            results.append(result)
    finally:
        for name in created:
            drop_database(args.db, name)
        if not args.keep_tmp:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(store, results))
    print(
        "\nideal = workers × concurrency / delay (the limit is per server process); overhead = (run time − items × "
        "delay / (workers × concurrency)) / items; PostgreSQL CPU: the backends connected to the run's database."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
