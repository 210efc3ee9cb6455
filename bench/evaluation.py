"""Evaluation statistics at scale (EVALUATION.md §9): at 100,000 prompts and 1,000,000 logs,
`stats` of a prompt with 100,000 logs under 300 ms, `compare` under 500 ms, the leaderboard
over 1,000,000 logs under 3 s.

    python bench/evaluation.py [--db postgresql://…] [--requests 20]

1. add, through the storage layer, one user's 1,000,000 logs: a prompt with 100,000 of them
   (4 versions × 5 models × 5,000 inputs) and 900 prompts of 1,000 (5 models × 200 inputs),
   each with a score, an input, a latency and a cost; and 99,099 other prompts;
2. start `promptcrafter serve` and log in as that user;
3. send each case's request `--requests` times, one after another, and print p50 and p95; the
   leaderboard's first request (computed) apart from the following ones (cached).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from promptcrafter.storage import Database, logs, prompts, users
from promptcrafter.storage.values import new_id, now_ms
from promptcrafter_target import start_promptcrafter

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "mistral-large")
MODEL_LIFT = (0.6, 0.0, 0.5, -0.4, -0.2)
TARGETS_MS = {"stats": 300, "compare": 500, "leaderboard": 3000}


def seed(database_url: str, *, other_prompts: int, scale: int) -> tuple[str, str, str]:
    """The user's email, password, and the id of the prompt with 100,000 logs."""
    rng = random.Random(11)
    db = Database(database_url)
    email, password = f"eval-{secrets.token_hex(4)}@bench.invalid", secrets.token_urlsafe(16)
    with db.transaction(write=True) as tx:
        # Hashing real passwords would take minutes; only this user logs in.
        password_hash = PasswordHasher(time_cost=1, memory_cost=1024).hash(password)
        owner = users.create(tx, name="Evaluator", email=email, password_hash=password_hash)
        others = users.create(
            tx, name="Others", email=f"others-{secrets.token_hex(4)}@bench.invalid", password_hash="!"
        )
    clock = now_ms() - 30 * 86_400_000
    hot = new_id("prompt")
    batches: list[tuple[str, int, int, int]] = [(hot, 4, 5_000 // scale, 0)]
    batches += [(new_id("prompt"), 1, 200, index + 1) for index in range(900 // scale)]
    for start in range(0, len(batches), 50):
        prompt_rows, log_rows = [], []
        for prompt_id, versions, inputs, seed_index in batches[start : start + 50]:
            clock += 1
            prompt_rows.append(_prompt(prompt_id, owner, clock, versions, seed_index))
            difficulty = [rng.gauss(0, 1.2) for _ in range(inputs)]
            for version in range(1, versions + 1):
                for model, lift in zip(MODELS, MODEL_LIFT, strict=True):
                    for item in range(inputs):
                        clock += 1
                        score = 6 + difficulty[item] + lift + 0.25 * version + rng.gauss(0, 0.8)
                        log_rows.append(
                            {
                                "id": new_id("log"),
                                "prompt_id": prompt_id,
                                "owner_id": owner,
                                "prompt_version": version,
                                "output": f"Answer {item}",
                                "notes": None,
                                "model_used": model,
                                "score": round(min(10.0, max(0.0, score)), 1),
                                "input": {"case": f"{seed_index}-{item}"},
                                "latency_ms": float(rng.randint(150, 4000)),
                                "cost_usd": 0.0004,
                                "created_at": clock,
                            }
                        )
        with db.transaction(write=True) as tx:
            prompts.insert_many(tx, rows=prompt_rows)
            logs.insert_many(tx, rows=log_rows)
    for start in range(0, other_prompts, 5_000):
        rows = [
            _prompt(new_id("prompt"), others, clock + index, 1, index)
            for index in range(start, min(other_prompts, start + 5_000))
        ]
        with db.transaction(write=True) as tx:
            prompts.insert_many(tx, rows=rows)
    db.close()
    return email, password, hot


def _prompt(prompt_id: str, owner: str, clock: int, version: int, index: int) -> dict[str, object]:
    return {
        "id": prompt_id,
        "owner_id": owner,
        "title": f"Support summary {index}",
        "content": "Summarise {{case}} for the on-call engineer.",
        "model": "gpt-4o",
        "tags": ["support"],
        "created_at": clock,
        "updated_at": clock,
        "version": version,
    }


def timed(http: httpx.Client, path: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--other-prompts", type=int, default=99_099)
    parser.add_argument("--quick", action="store_true", help="a twentieth of the data: a smoke test, not figures")
    args = parser.parse_args()
    scale = 20 if args.quick else 1
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        database_url = args.db or f"sqlite:///{Path(workdir) / 'evaluation.db'}"
        target = start_promptcrafter(
            stack=stack, workdir=Path(workdir), command=["promptcrafter"], db_url=database_url, seed_concurrency=4
        )
        started = time.perf_counter()
        email, password, hot = seed(database_url, other_prompts=args.other_prompts // scale, scale=scale)
        print(f"Seeded {1_000_000 // scale:,} logs in {time.perf_counter() - started:.0f} s")
        if database_url.startswith("postgresql"):
            # What autovacuum does after a million inserts: statistics for the planner, and the
            # visibility map that lets the statistics read the covering index alone.
            engine = Database(database_url).engine.execution_options(isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        cases = {
            "stats by version": ("stats", f"/prompts/{hot}/stats"),
            "stats by model": ("stats", f"/prompts/{hot}/stats?groupBy=modelUsed"),
            "stats by day": ("stats", f"/prompts/{hot}/stats?groupBy=day"),
            "compare versions": ("compare", f"/prompts/{hot}/compare?by=promptVersion&a=1&b=2"),
            "compare models": ("compare", f"/prompts/{hot}/compare?by=modelUsed&a=gpt-4o-mini&b=gpt-4o"),
            "compare all prompts": ("compare", "/compare?by=modelUsed&a=gpt-4o-mini&b=gpt-4o"),
        }
        failures = 0
        with httpx.Client(base_url=target.base_url, timeout=120) as http:
            token = http.post("/auth/login", json={"email": email, "password": password}).json()["token"]
            http.headers["Authorization"] = f"Bearer {token}"
            print(f"\n{'case':<34}{'p50 ms':>9}{'p95 ms':>9}{'target':>9}")
            for name, (kind, path) in cases.items():
                times = timed(http, path, args.requests)
                failures += _report(name, times, kind if kind != "compare" or "all" not in name else None)
            for method in ("mean", "bradley-terry"):
                path = f"/stats/leaderboard?method={method}"
                failures += _report(f"leaderboard {method}, computed", timed(http, path, 1), "leaderboard")
                failures += _report(f"leaderboard {method}, cached", timed(http, path, args.requests), "leaderboard")
    print(f"\n{'PASS' if not failures else 'FAIL'}  every case within its target")
    return 1 if failures else 0


def _report(name: str, times: list[float], kind: str | None) -> int:
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    target = TARGETS_MS.get(kind or "")
    print(f"{name:<34}{p50:>9.1f}{p95:>9.1f}{target or '':>9}")
    return int(target is not None and p50 >= target)


if __name__ == "__main__":
    raise SystemExit(main())
