"""The ceiling target: ``ceiling_app.py`` under uvicorn with two workers."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

from processes import ManagedProcess, free_port
from target import CEILING_CASE, Case, Target

WORKERS = 2  # the same as PromptCrafter's


def start_ceiling(*, stack: ExitStack, workdir: Path) -> Target:
    """Start the bare FastAPI app and return it as a one-case target."""
    port = free_port()
    process = ManagedProcess(
        name="ceiling",
        argv=[sys.executable, "-m", "uvicorn", "ceiling_app:app",
              "--app-dir", str(Path(__file__).resolve().parent),
              "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
              # A ceiling measures the stack, not the terminal: no access log.
              "--no-access-log", "--log-level", "warning"],
        log_path=workdir / "ceiling.log",
    )
    process.start()
    stack.callback(process.stop)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_http_ok(base_url + "/")
    version = f"fastapi {metadata.version('fastapi')}, uvicorn {metadata.version('uvicorn')}"
    case = Case(CEILING_CASE, "GET", "/")
    return Target(name="ceiling", base_url=base_url, process=process, version=version,
                  cases={CEILING_CASE: case})
