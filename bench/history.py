"""What each optimisation bought: the same PromptCrafter cases on several commits, one run.

    python bench/history.py COMMIT [COMMIT …] [--duration 5]

Each commit is checked out into a temporary git worktree and served from its source
(`python -m promptcrafter` with PYTHONPATH pointing there) with the dependencies of the
current environment; compare.py then seeds and measures it. Commits are measured one
after another, and the whole list twice in alternating order, so that a change in the
machine's load shows up as disagreement between the two rounds rather than as a trend.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CASES = ("create_log", "list_logs", "get_prompt", "search")


def measure(commit: str, workdir: Path, duration: float) -> dict[str, float]:
    """req/s of each case for one commit."""
    tree = workdir / commit
    if not tree.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
                       check=True, capture_output=True)
    output = workdir / f"results-{commit}"
    command = f"env PYTHONPATH={tree / 'src'} {sys.executable} -m promptcrafter"
    subprocess.run(
        [sys.executable, str(BENCH_DIR / "compare.py"), "--targets", "promptcrafter",
         "--cases", ",".join(CASES), "--duration", str(duration), "--repeats", "1",
         "--warmup", "1", "--promptcrafter-cmd", command, "--output", str(output)],
        check=True, capture_output=True,
    )
    result = json.loads(max(output.glob("*.json")).read_text())
    return {run["case"]: run["requests_per_second"] for run in result["best"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commits", nargs="+")
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    rounds: dict[str, list[dict[str, float]]] = {commit: [] for commit in args.commits}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        try:
            for order in (args.commits, list(reversed(args.commits))):
                for commit in order:
                    rounds[commit].append(measure(commit, workdir, args.duration))
                    print(f"measured {commit}: {rounds[commit][-1]}", file=sys.stderr)
        finally:
            for commit in args.commits:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(workdir / commit)],
                               capture_output=True)
    print(f"{'commit':<10}" + "".join(f"{case:>22}" for case in CASES))
    for commit, runs in rounds.items():
        cells = [f"{min(r[c] for r in runs):>9.0f}–{max(r[c] for r in runs):<6.0f} req/s" for c in CASES]
        print(f"{commit:<10}" + "".join(f"{cell:>22}" for cell in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
