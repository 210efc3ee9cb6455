"""Running wrk for one case and turning its output into numbers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from target import Case, Target

SCRIPT = Path(__file__).resolve().parent / "case.lua"
RESULT_PREFIX = "BENCH_RESULT "


@dataclass(frozen=True)
class LoadShape:
    """How hard and how long wrk pushes."""

    threads: int = 2
    connections: int = 32
    duration: float = 10.0
    timeout: float = 5.0


@dataclass(frozen=True)
class Run:
    """The outcome of one wrk run against one case of one target."""

    target: str
    case: str
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    first_non2xx_status: int
    socket_errors: int
    timeouts: int
    cpu_seconds: float
    cpu_ms_per_request: float

    @property
    def failed_requests(self) -> int:
        """Requests that did not get a 2xx answer."""
        return self.non2xx + self.socket_errors + self.timeouts


def wrk_executable() -> str:
    """Path of wrk, or a clear error saying how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    return found


def run_case(target: Target, case: Case, shape: LoadShape) -> Run:
    """Run wrk once and measure the server's CPU time around it."""
    env = dict(os.environ)
    env["BENCH_METHOD"] = case.method
    env["BENCH_BODY"] = case.body or ""
    env["BENCH_AUTHORIZATION"] = case.authorization or ""
    argv = [
        wrk_executable(),
        f"--threads={shape.threads}",
        f"--connections={shape.connections}",
        f"--duration={shape.duration:g}s",
        f"--timeout={shape.timeout:g}s",
        "--latency",
        f"--script={SCRIPT}",
        target.base_url + case.path,
    ]
    cpu_before = target.process.cpu_seconds()
    stdout = _run(argv, env, time_limit=shape.duration + shape.timeout + 30)
    cpu_used = target.process.cpu_seconds() - cpu_before
    result = _parse(stdout)
    requests = int(result["requests"])
    seconds = result["duration_us"] / 1e6
    return Run(
        target=target.name,
        case=case.name,
        requests=requests,
        seconds=seconds,
        requests_per_second=requests / seconds if seconds else 0.0,
        p50_ms=result["p50_us"] / 1000,
        p90_ms=result["p90_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        non2xx=int(result["non2xx"]),
        first_non2xx_status=int(result["first_non2xx_status"]),
        socket_errors=int(result["socket_errors"]),
        timeouts=int(result["timeouts"]),
        cpu_seconds=cpu_used,
        cpu_ms_per_request=cpu_used * 1000 / requests if requests else 0.0,
    )


def _run(argv: list[str], env: dict[str, str], time_limit: float) -> str:
    """Run wrk in its own process group, killing it if we are interrupted."""
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=time_limit)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {stderr.strip() or stdout.strip()}")
    return stdout


def _parse(stdout: str) -> dict[str, float]:
    """Read the JSON line that case.lua prints when wrk is done."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            parsed: dict[str, float] = json.loads(line[len(RESULT_PREFIX):])
            return parsed
    raise RuntimeError(f"wrk printed no result line:\n{stdout}")
