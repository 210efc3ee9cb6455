"""Fuzz every operation of the OpenAPI document, long: tests/test_openapi_fuzz.py with more examples.

    python bench/fuzz.py [--examples 1000] [--seed N] [--auth both|token|none]
        [--operation "POST /logs" ...]

Builds the ASGI app on a fresh SQLite file in a temp dir, signs up two users with a
prompt and a log each, then sends schemathesis-generated requests (valid and invalid)
to each operation, with a valid token and without one. Every answer must be a
documented status with the documented content type and body schema, and never a 5xx.
Prints one line per operation and run, then every failure with a curl command that
reproduces it; exits with 1 if there was any. Nothing is sent over the network.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

# pytest's configuration silences this notice for the suite; do the same here.
warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
# Each 500 is reported below with the request that caused it; the server's traceback would bury that.
logging.getLogger("promptcrafter").setLevel(logging.CRITICAL)
# The fuzzing itself lives with the test, so that this script and the suite cannot drift apart.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_openapi_fuzz import OPERATIONS, SEED, build_world, fuzz_operation, load_schema  # noqa: E402

AUTH_RUNS = {"token": [True], "none": [False], "both": [True, False]}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000, help="examples per operation and run (default 1000)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"Hypothesis seed (default {SEED})")
    parser.add_argument("--auth", choices=sorted(AUTH_RUNS), default="both",
                        help="run with a valid token, without one, or both (default both)")
    parser.add_argument("--operation", action="append", choices=OPERATIONS, metavar="'METHOD /path'",
                        help="fuzz only this operation (repeatable; default all)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fuzzer; 0 when every answer was documented, 1 otherwise."""
    args = parse_args(argv)
    failures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="promptcrafter-fuzz-") as tmp:
        world = build_world(Path(tmp) / "fuzz.db")
        try:
            schema = load_schema(world)
            for label in args.operation or OPERATIONS:
                for authenticated in AUTH_RUNS[args.auth]:
                    run = f"{label} ({'valid token' if authenticated else 'no token'})"
                    started = time.monotonic()
                    try:
                        fuzz_operation(
                            schema.find_operation_by_label(label),
                            world,
                            authenticated=authenticated,
                            examples=args.examples,
                            random_seed=args.seed,
                        )
                    # Schemathesis raises its findings as an exception group; report them and go on.
                    except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001
                        failures.append((run, "".join(traceback.format_exception_only(error))))
                        outcome = "FAIL"
                    else:
                        outcome = "ok"
                    print(f"{outcome:4} {run:45} {time.monotonic() - started:6.1f} s", flush=True)
        finally:
            world.close()
    for run, report in failures:
        print(f"\n=== {run}\n{report}")
    print(f"\n{len(failures)} failing run(s), {args.examples} examples per operation and run, seed {args.seed}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
