"""Filtered, sorted pages of logs at 1,000,000 logs (EVALUATION.md §9: any filtered page of
100 logs under 50 ms p50), and the query plan of each.

    python bench/lists.py [--db postgresql://…] [--requests 100]

1. add 100,000 prompts and 1,000,000 logs through the storage layer (scale.py's data set:
   one user owns 100,000 of the logs, over 1,000 prompts);
2. start `promptcrafter serve` and log in as that user;
3. send each case's request `--requests` times, one after another, and print p50 and p95;
4. print how the database reads each case's first page (EXPLAIN).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from promptcrafter.storage import Database
from promptcrafter.storage import logs as log_store
from promptcrafter_target import start_promptcrafter
from scale import seed_bulk

TARGET_P50_MS = 50
Y2000, Y2100 = 946_684_800_000, 4_102_444_800_000


def cases(prompt_id: str, cursor: str) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Each case's request path, and the filters and order of its list (None: not a plain list)."""
    prompt = {"prompt_id": prompt_id}
    return {
        "prompt, newest": (f"/logs?promptId={prompt_id}&limit=100&sort=-createdAt", {**prompt, "order": "-createdAt"}),
        "prompt, best score": (f"/logs?promptId={prompt_id}&limit=100&sort=-score", {**prompt, "order": "-score"}),
        "owner, newest": ("/logs?limit=100&sort=-createdAt", {"order": "-createdAt"}),
        "owner, model": ("/logs?limit=100&modelUsed=GPT-4o&modelUsed=claude", {"model_used": ["GPT-4o", "claude"]}),
        "owner, rare model": ("/logs?limit=100&modelUsed=claude", {"model_used": ["claude"]}),
        "owner, score 9-10": ("/logs?limit=100&minScore=9", {"min_score": 9.0}),
        "owner, by score": ("/logs?limit=100&sort=score", {"order": "score"}),
        "owner, version 1": ("/logs?limit=100&promptVersion=1", {"prompt_version": 1}),
        "owner, a century": ("/logs?limit=100&since=2000-01-01&until=2100-01-01", {"since": Y2000, "until": Y2100}),
        "owner, page 2": (f"/logs?limit=100&cursor={cursor}", None),
        "search logs": ("/search?in=logs&q=haiku%20sonnet&limit=100", None),
    }


def timed(http: httpx.Client, path: str, requests: int) -> tuple[float, float]:
    """p50 and p95 of `requests` sequential GETs, in ms; each must answer 200."""
    took = []
    for _ in range(requests):
        started = time.perf_counter()
        response = http.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
    quantiles = statistics.quantiles(took, n=20)
    return statistics.median(took), quantiles[18]


def plan(database_url: str, owner_id: str, filters: dict[str, Any]) -> str:
    order = filters.pop("order", "createdAt")
    scope = {} if "prompt_id" in filters else {"owner_id": owner_id}
    database = Database(database_url)
    try:
        with database.transaction(write=False) as tx:
            return " / ".join(log_store.LIST.plan(tx, filters={**scope, **filters}, order=order, following=False))
    finally:
        database.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--logs", type=int, default=1_000_000)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        database_url = args.db or f"sqlite:///{Path(workdir) / 'lists.db'}"
        target = start_promptcrafter(
            stack=stack, workdir=Path(workdir), command=["promptcrafter"], db_url=database_url, seed_concurrency=4
        )
        started = time.perf_counter()
        email, password = seed_bulk(database_url, prompt_count=args.prompts, log_count=args.logs, big_user_logs=100_000)
        print(f"Seeded {args.prompts:,} prompts and {args.logs:,} logs in {time.perf_counter() - started:.0f} s")
        with httpx.Client(base_url=target.base_url, timeout=60) as http:
            token = http.post("/auth/login", json={"email": email, "password": password}).json()["token"]
            http.headers["Authorization"] = f"Bearer {token}"
            me = http.get("/auth/me").json()["_id"]
            first = http.get("/logs?limit=100")
            prompt_id = first.json()[0]["promptId"]
            cursor = str(httpx.URL(first.links["next"]["url"]).params["cursor"])
            if database_url.startswith("postgresql"):
                with Database(database_url).engine.begin() as connection:
                    connection.exec_driver_sql("ANALYZE")
            print(f"\n{'case':<22}{'p50 ms':>8}{'p95 ms':>8}  plan")
            failures = 0
            for name, (path, filters) in cases(prompt_id, cursor).items():
                p50, p95 = timed(http, path, args.requests)
                failures += p50 >= TARGET_P50_MS
                shown = plan(database_url, me, dict(filters)) if filters is not None else ""
                print(f"{name:<22}{p50:>8.1f}{p95:>8.1f}  {shown}")
    print(f"\n{'PASS' if not failures else 'FAIL'}  every case under {TARGET_P50_MS} ms p50")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
