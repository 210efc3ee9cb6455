"""A write the server acknowledged survives `kill -9` of every server process.

A real `promptcrafter serve --workers 2` takes concurrent log writes and deletes; the
whole process group is SIGKILLed mid-stream, the server is started again on the same
database, and every acknowledged write must be there (every acknowledged delete gone),
with the database passing its own consistency checks. Requests cut off by the kill
were never acknowledged, so either outcome is allowed for them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from helpers import FAST_HASHING, User, free_port
from promptcrafter.storage import Database

ROUNDS = {"sqlite": 3, "postgres": 2}
WRITERS = 12
PROMPTS = 3
# Kill once this many more writes were acknowledged, so that every round kills mid-stream.
ACKS_PER_ROUND = 40


@dataclass
class ServerGroup:
    """`promptcrafter serve` as the leader of its own process group, with its workers."""

    url: str
    process: subprocess.Popen[bytes]


def start_group(database_url: str, log_path: Path, *, workers: int = 2) -> ServerGroup:
    """Start a server in a new session, so that one signal reaches the parent and all workers."""
    port = free_port()
    environment = {**os.environ, **{f"PROMPTCRAFTER_{key.upper()}": str(value) for key, value in FAST_HASHING.items()}}
    command = [
        sys.executable, "-m", "promptcrafter", "serve",
        "--port", str(port), "--db", database_url, "--workers", str(workers),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = ServerGroup(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        time.sleep(0.1)
    kill_group(server)
    raise RuntimeError("server did not start within 30 s")


def kill_group(server: ServerGroup) -> None:
    """SIGKILL the server and every worker at once: no shutdown code runs anywhere."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    # SIGKILL is delivered asynchronously: a worker inside a system call (an fsync) dies a moment later.
    deadline = time.monotonic() + 5
    while live_members(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def live_members(pgid: int) -> list[int]:
    """Processes of the group that still run; zombies count as dead (they wait for a reaper)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may contain spaces: parse after the last ')'.
        state, _ppid, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class Ledger:
    """What the server acknowledged, shared by the writer threads."""

    created: dict[str, str] = field(default_factory=dict)  # log id -> output
    deleted: set[str] = field(default_factory=set)
    # Logs whose DELETE the kill cut off: it may or may not have committed.
    in_doubt: set[str] = field(default_factory=set)
    # Any answer but the expected success, before the kill: the test fails on these.
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self) -> int:
        """Writes answered with a success status so far."""
        with self.lock:
            return len(self.created) + len(self.deleted)


def write_until_killed(url: str, headers: dict[str, str], prompt_ids: list[str], ledger: Ledger, writer: int) -> None:
    """POST logs (and delete every fifth one again) until the server stops answering."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for i in itertools.count():
            output = f"writer {writer} entry {i} {uuid.uuid4().hex}"
            body = {"promptId": prompt_ids[i % len(prompt_ids)], "output": output, "modelUsed": "m", "score": i % 11}
            try:
                response = http.post("/logs", json=body)
                if response.status_code != 201:
                    with ledger.lock:
                        ledger.errors.append(f"POST /logs: {response.status_code} {response.text}")
                    return
                log_id = response.json()["_id"]
                with ledger.lock:
                    ledger.created[log_id] = output
                if i % 5 == 4:
                    with ledger.lock:
                        ledger.in_doubt.add(log_id)
                    deleted = http.delete(f"/logs/{log_id}")
                    if deleted.status_code != 204:
                        with ledger.lock:
                            ledger.errors.append(f"DELETE /logs/{log_id}: {deleted.status_code} {deleted.text}")
                        return
                    with ledger.lock:
                        ledger.in_doubt.discard(log_id)
                        ledger.deleted.add(log_id)
            except httpx.TransportError:
                return  # the kill: this request's outcome is unknown, and it was never acknowledged


def stored_logs(http: httpx.Client, headers: dict[str, str], prompt_ids: list[str]) -> dict[str, str]:
    """Every log of the prompts as a server on the database reports it: id -> output."""
    found: dict[str, str] = {}
    for prompt_id in prompt_ids:
        response = http.get("/logs", params={"promptId": prompt_id}, headers=headers)
        assert response.status_code == 200, response.text
        found.update({log["_id"]: log["output"] for log in response.json()})
    return found


def assert_acknowledged_writes_kept(stored: dict[str, str], ledger: Ledger) -> None:
    """Every acknowledged log is stored as sent; no acknowledged delete came back."""
    with ledger.lock:
        gone_or_doubtful = ledger.deleted | ledger.in_doubt
        kept = {log_id: output for log_id, output in ledger.created.items() if log_id not in gone_or_doubtful}
        deleted = set(ledger.deleted)
    missing = kept.keys() - stored.keys()
    assert not missing, f"{len(missing)} acknowledged logs are gone, e.g. {sorted(missing)[:3]}"
    assert {log_id: stored[log_id] for log_id in kept} == kept
    assert not deleted & stored.keys(), "acknowledged deletes came back"


def sqlite_consistency(database_url: str) -> None:
    """SQLite's own checks on the file, opened the way any other program would open it."""
    path = make_url(database_url).database
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def orphans_and_count(database_url: str, owner_id: str) -> tuple[int, int]:
    """Logs whose prompt or owner is missing (must be none), and how many logs the owner has."""
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            orphans = connection.execute(
                text(
                    "SELECT count(*) FROM logs"
                    " LEFT JOIN prompts ON prompts.id = logs.prompt_id"
                    " LEFT JOIN users ON users.id = logs.owner_id"
                    " WHERE prompts.id IS NULL OR users.id IS NULL"
                )
            ).scalar_one()
            count = connection.execute(
                text("SELECT count(*) FROM logs WHERE owner_id = :owner"), {"owner": owner_id}
            ).scalar_one()
    finally:
        database.close()
    return int(orphans), int(count)


@pytest.fixture
def prompt_ids(client: TestClient, user: User) -> list[str]:
    """A few prompts of `user`, made in-process on the database the servers will use."""
    body = {"title": "Crash target", "content": "Write something.", "model": "m"}
    return [client.post("/prompts", json=body, headers=user.headers).json()["_id"] for _ in range(PROMPTS)]


def test_acknowledged_writes_survive_kill_9_of_every_worker(
    database_url: str, user: User, prompt_ids: list[str], app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    is_sqlite = database_url.startswith("sqlite")
    ledger = Ledger()
    for round_number in range(ROUNDS["sqlite" if is_sqlite else "postgres"]):
        server = start_group(database_url, tmp_path / "server.log")
        try:
            # From the second round on, this server is the restart after the previous crash.
            with httpx.Client(base_url=server.url, timeout=30) as http:
                assert_acknowledged_writes_kept(stored_logs(http, user.headers, prompt_ids), ledger)
            target = ledger.acknowledged() + ACKS_PER_ROUND
            writers = [
                threading.Thread(target=write_until_killed, args=(server.url, user.headers, prompt_ids, ledger, n))
                for n in range(WRITERS)
            ]
            for thread in writers:
                thread.start()
            deadline = time.monotonic() + 15
            while ledger.acknowledged() < target and not ledger.errors and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            kill_group(server)
        for thread in writers:
            thread.join(timeout=15)
        assert live_members(server.process.pid) == [], "a worker outlived the kill"
        assert not ledger.errors, ledger.errors[:3]
        assert ledger.acknowledged() >= target, f"round {round_number}: too few writes before the kill"
        if is_sqlite:
            # Straight after the crash, before any server reopens (and so recovers) the file.
            sqlite_consistency(database_url)

    # After the last crash, a fresh app opens the database exactly as a restarted server would.
    with TestClient(app_factory()) as restarted:
        stored = stored_logs(restarted, user.headers, prompt_ids)
    assert_acknowledged_writes_kept(stored, ledger)
    orphans, count = orphans_and_count(database_url, user.id)
    assert orphans == 0
    assert count == len(stored)
    if is_sqlite:
        sqlite_consistency(database_url)
