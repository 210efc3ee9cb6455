"""The web pages at 1,000,000 logs: a page of 100 logs must render in under 50 ms (issue "A web
interface"), with every filter the logs page offers; the other pages are timed for reference.

    python bench/pages.py [--db postgresql://…] [--requests 20] [--quick]

1. seed the data of `evaluation.py` through the storage layer: one user's 1,000,000 logs, a
   prompt with 100,000 of them (4 versions × 5 models × 5,000 inputs), 99,099 other prompts;
2. start `promptcrafter serve`, sign in through the sign-in form (a session cookie);
3. ask for each page `--requests` times, one after another, and print p50 and p95 of the whole
   request as the client sees it (so the server's share is at most that).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from evaluation import seed, timed
from promptcrafter.storage import Database
from promptcrafter_target import launch_promptcrafter

TARGET_MS = 50


def sign_in(http: httpx.Client, email: str, password: str) -> None:
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', http.get("/login").text)
    assert token, "no sign-in form"
    response = http.post("/login", data={"form_token": token.group(1), "email": email, "password": password})
    response.raise_for_status()
    assert "pc_session" in http.cookies, "not signed in"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="PostgreSQL URL of an empty database (default: a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a twentieth of the data: a smoke test, not figures")
    args = parser.parse_args()
    scale = 20 if args.quick else 1
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        database_url = args.db or f"sqlite:///{Path(workdir) / 'pages.db'}"
        _process, base_url = launch_promptcrafter(
            stack=stack, workdir=Path(workdir), command=["promptcrafter"], db_url=database_url
        )
        started = time.perf_counter()
        email, password, hot = seed(database_url, other_prompts=99_099 // scale, scale=scale)
        print(f"Seeded {1_000_000 // scale:,} logs in {time.perf_counter() - started:.0f} s")
        if database_url.startswith("postgresql"):
            engine = Database(database_url).engine.execution_options(isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        logs = f"/p/{hot}/logs"
        # `seed` dates the logs from 30 days ago, a millisecond apart: all on that day.
        day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86_400))
        next_day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 29 * 86_400))
        cases = {
            "logs, newest 100": (logs, True),
            "logs, oldest 100": (f"{logs}?sort=createdAt", True),
            "logs, best score": (f"{logs}?sort=-score", True),
            "logs, one version": (f"{logs}?promptVersion=2", True),
            "logs, one model": (f"{logs}?modelUsed=gpt-4o-mini", True),
            "logs, score 4 to 6": (f"{logs}?minScore=4&maxScore=6", True),
            "logs, one day, one model": (f"{logs}?since={day}&until={next_day}&modelUsed=gpt-4o", True),
            "library (25 prompts)": ("/", False),
            "prompt": (f"/p/{hot}", False),
            "compare two versions": (f"/p/{hot}/compare?by=promptVersion&a=1&b=2", False),
        }
        failures = 0
        with httpx.Client(base_url=base_url, timeout=120, follow_redirects=True) as http:
            sign_in(http, email, password)
            print(f"\n{'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'target':>9}")
            for name, (path, targeted) in cases.items():
                times = timed(http, path, args.requests)
                p50 = statistics.median(times)
                p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
                failures += int(targeted and p50 >= TARGET_MS)
                print(f"{name:<28}{p50:>9.1f}{p95:>9.1f}{TARGET_MS if targeted else '':>9}")
    print(f"\n{'PASS' if not failures else 'FAIL'}  every page of 100 logs under {TARGET_MS} ms")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
