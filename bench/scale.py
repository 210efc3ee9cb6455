"""Does PromptCrafter keep its speed with a big store? Small store vs 1,000,000 logs.

One run, one machine:
1. start `promptcrafter serve --workers 2` on a fresh database and seed the benchmark
   user through the API (the data set of compare.py);
2. measure create_log, list_logs and search with wrk (the small store);
3. add 100,000 prompts and 1,000,000 logs in all through the storage layer, among them
   one user with 100,000 logs, and measure the same cases again;
4. stream that user's `GET /logs` (100,000 logs) and watch the workers' memory.

Targets: create and list keep >= 80 % of their small-store throughput, search p50 stays
under 25 ms, and streaming 100,000 logs grows the server by less than 50 MB.

    python bench/scale.py [--db postgresql://…] [--duration 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from loadgen import LoadShape, Run, run_case
from promptcrafter.storage import Database, logs, prompts, users
from promptcrafter.storage.values import new_id, now_ms
from promptcrafter_target import start_promptcrafter
from target import Target

CASES = ("create_log", "list_logs", "search")
WORDS = (
    "summary report email review code poem story plan outline draft letter essay "
    "recipe lesson quiz agenda pitch slogan caption tweet haiku sonnet brief memo"
).split()


def seed_bulk(database_url: str, *, prompt_count: int, log_count: int, big_user_logs: int) -> tuple[str, str]:
    """Add prompts and logs through the storage layer; return the big user's email and password.

    The big user owns `big_user_logs` logs over prompts of 100 logs; the other prompts and
    logs are spread over users of 100 prompts each. About 1 % of the bulk prompts mention
    "translation", so search still has to sift other users' matches.
    """
    rng = random.Random(7)
    db = Database(database_url)
    email, password = f"big-{secrets.token_hex(4)}@bench.invalid", secrets.token_urlsafe(16)
    big_prompts = big_user_logs // 100
    clock = now_ms() - 10 * 86_400_000
    owners: list[str] = []
    with db.transaction(write=True) as tx:
        # Hashing a real password for 1,000 users would take minutes; only the big user logs in.
        from argon2 import PasswordHasher

        password_hash = PasswordHasher(time_cost=1, memory_cost=1024).hash(password)
        big_user = users.create(tx, name="Big User", email=email, password_hash=password_hash)
        for index in range((prompt_count - big_prompts) // 100):
            owners.append(
                users.create(
                    tx,
                    name=f"User {index}",
                    email=f"bulk-{index}-{secrets.token_hex(3)}@bench.invalid",
                    password_hash="!",
                )
            )
    remaining_logs = log_count - big_user_logs
    plan = [(big_user, 100)] * big_prompts
    other_prompts = prompt_count - big_prompts
    per_prompt, extra = divmod(remaining_logs, other_prompts)
    plan += [(owners[i // 100], per_prompt + (1 if i < extra else 0)) for i in range(other_prompts)]
    for start in range(0, len(plan), 2_000):
        prompt_rows, log_rows = [], []
        for owner, count in plan[start : start + 2_000]:
            clock += 1
            words = rng.sample(WORDS, 6)
            if rng.random() < 0.01:
                words.append("translation")
            prompt_id = new_id("prompt")
            prompt_rows.append(
                {
                    "id": prompt_id,
                    "owner_id": owner,
                    "title": " ".join(words[:3]).title(),
                    "content": "Write a " + " ".join(words) + ".",
                    "model": "GPT-4o",
                    "tags": words[:2],
                    "created_at": clock,
                    "updated_at": clock,
                }
            )
            for n in range(count):
                clock += 1
                log_rows.append(
                    {
                        "id": new_id("log"),
                        "prompt_id": prompt_id,
                        "owner_id": owner,
                        "output": f"Output {n} " + " ".join(rng.sample(WORDS, 8)),
                        "notes": None,
                        "model_used": "GPT-4o",
                        "score": n % 11,
                        "created_at": clock,
                    }
                )
        with db.transaction(write=True) as tx:
            prompts.insert_many(tx, rows=prompt_rows)
            logs.insert_many(tx, rows=log_rows)
    db.close()
    return email, password


def measure(target: Target, shape: LoadShape, repeats: int) -> dict[str, Run]:
    """The best of `repeats` wrk runs for each case."""
    best: dict[str, Run] = {}
    for _ in range(repeats):
        for name in CASES:
            run = run_case(target, target.cases[name], shape)
            if run.failed_requests:
                raise RuntimeError(f"{name}: {run.failed_requests} failed requests")
            if name not in best or run.requests_per_second > best[name].requests_per_second:
                best[name] = run
    return best


def worker_pids(leader: int) -> list[int]:
    """The server's processes: the session leader and everything in its session."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == leader:  # field 6 of stat: session id
                found.append(int(entry))
    return found


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes, in bytes."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def stream_all_logs(target: Target, email: str, password: str) -> dict[str, Any]:
    """Download every log of the big user while sampling the server's memory."""
    token = httpx.post(f"{target.base_url}/auth/login", json={"email": email, "password": password}).json()["token"]
    pids = worker_pids(target.process.pid)
    before = rss_bytes(pids)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes(pids))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = 0
    try:
        with httpx.stream(
            "GET", f"{target.base_url}/logs", headers={"Authorization": f"Bearer {token}"}, timeout=300
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
            body_ok = response.status_code == 200
    finally:
        done.set()
        sampler.join()
    return {
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "ok": body_ok,
        "rss_before_mb": before / 2**20,
        "rss_peak_mb": peak / 2**20,
        "growth_mb": (peak - before) / 2**20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=2, help="wrk runs per case; the best is kept")
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--big-user-logs", type=int, default=100_000)
    args = parser.parse_args()
    shape = LoadShape(duration=args.duration)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        database_url = args.db or f"sqlite:///{Path(workdir) / 'scale.db'}"
        target = start_promptcrafter(
            stack=stack, workdir=Path(workdir), command=["promptcrafter"], db_url=database_url, seed_concurrency=16
        )
        small = measure(target, shape, args.repeats)
        started = time.perf_counter()
        email, password = seed_bulk(
            database_url, prompt_count=args.prompts, log_count=args.logs, big_user_logs=args.big_user_logs
        )
        seed_seconds = time.perf_counter() - started
        big = measure(target, shape, args.repeats)
        streamed = stream_all_logs(target, email, password)

    rows = []
    print(f"\nBulk seeding: {args.prompts:,} prompts and {args.logs:,} logs in {seed_seconds:.0f} s\n")
    print(f"{'case':<12}{'small req/s':>12}{'big req/s':>11}{'kept':>8}{'small p50':>11}{'big p50':>9}{'big p99':>9}")
    for name in CASES:
        kept = big[name].requests_per_second / small[name].requests_per_second
        rows.append({"case": name, "small": small[name].__dict__, "big": big[name].__dict__, "kept": kept})
        print(
            f"{name:<12}{small[name].requests_per_second:>12.0f}{big[name].requests_per_second:>11.0f}"
            f"{kept:>7.0%}{small[name].p50_ms:>9.1f}ms{big[name].p50_ms:>7.1f}ms{big[name].p99_ms:>7.1f}ms"
        )
    print(
        f"\nGET /logs of {args.big_user_logs:,} logs: {streamed['bytes'] / 2**20:.0f} MB in "
        f"{streamed['seconds']:.1f} s; server memory {streamed['rss_before_mb']:.0f} MB -> peak "
        f"{streamed['rss_peak_mb']:.0f} MB (+{streamed['growth_mb']:.1f} MB)"
    )
    checks = {
        "create_log keeps >= 80%": rows[0]["kept"] >= 0.8,
        "list_logs keeps >= 80%": rows[1]["kept"] >= 0.8,
        "search p50 < 25 ms": big["search"].p50_ms < 25,
        "streaming grows memory < 50 MB": streamed["growth_mb"] < 50,
    }
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    out = results / f"scale-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({"args": vars(args), "cases": rows, "streamed": streamed, "checks": checks}, indent=2))
    print(f"\nWritten: {out}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
