"""What tests share besides fixtures: test constants, signed-up users, rows seeded through the
storage layer, live server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from promptcrafter.storage import Database, logs, prompts
from promptcrafter.storage.values import new_id, now_ms

POSTGRES_ENV = "PROMPTCRAFTER_TEST_POSTGRES_URL"
# Argon2id stays the algorithm; tests only make it cheaper so hundreds of sign-ups stay fast.
FAST_HASHING = {"password_time_cost": 1, "password_memory_kib": 1024}
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PASSWORD = "correct horse battery"
# Seeded rows are dated in the past, so that rows the API creates afterwards list after them.
SEED_STAMP = now_ms() - 10_000_000


@dataclass
class User:
    """A signed-up account and the headers that authenticate as it."""

    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def stored_prompt(owner_id: str, index: int, **fields: Any) -> dict[str, Any]:
    """A prompt row as the storage layer takes it, the `index`-th of a seeded list."""
    row = {
        "id": new_id("prompt"),
        "owner_id": owner_id,
        "title": f"Prompt {index}",
        "content": "Plain text.",
        "model": "m",
        "tags": [],
        "created_at": SEED_STAMP + index,
        "updated_at": SEED_STAMP + index,
    }
    return {**row, **fields}


def stored_log(prompt_id: str, owner_id: str, index: int, **fields: Any) -> dict[str, Any]:
    """A log row as the storage layer takes it: an output, no notes and no score by default."""
    row = {
        "id": new_id("log"),
        "prompt_id": prompt_id,
        "owner_id": owner_id,
        "output": "o",
        "notes": None,
        "model_used": "m",
        "score": None,
        "created_at": SEED_STAMP + index,
    }
    return {**row, **fields}


def store_prompts(database_url: str, rows: list[dict[str, Any]]) -> list[str]:
    """Store prompts in bulk through the storage layer (far faster than the API); their ids."""
    database = Database(database_url)
    with database.transaction(write=True) as tx:
        prompts.insert_many(tx, rows=rows)
    database.close()
    return [row["id"] for row in rows]


def store_logs(database_url: str, rows: list[dict[str, Any]]) -> list[str]:
    """Store logs in bulk through the storage layer; their ids."""
    database = Database(database_url)
    with database.transaction(write=True) as tx:
        logs.insert_many(tx, rows=rows)
    database.close()
    return [row["id"] for row in rows]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]


def start_server(database_url: str, *, workers: int = 1, env: dict[str, str] | None = None) -> LiveServer:
    """`promptcrafter serve` in a child process, once it answers /health."""
    port = free_port()
    environment = {
        **os.environ,
        **{f"PROMPTCRAFTER_{key.upper()}": str(value) for key, value in FAST_HASHING.items()},
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "promptcrafter",
        "serve",
        "--port",
        str(port),
        "--db",
        database_url,
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return LiveServer(url=url, database_url=database_url, process=process)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start within 30 s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.process.stderr:
        server.process.stderr.close()


def make_prompt(client: Any, user: User, content: str = "{{ticket}}") -> str:
    """A prompt of the user's made through the API (a client of the app or of a live server)."""
    body = {"title": "Ticket echo", "content": content, "model": "echo"}
    response = client.post("/prompts", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["_id"]  # type: ignore[no-any-return]


def make_dataset(client: Any, user: User, items: list[dict[str, Any]]) -> str:
    """A dataset of the user's holding these items, made through the API."""
    response = client.post("/datasets", json={"name": "tickets"}, headers=user.headers)
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["_id"]
    response = client.post(f"/datasets/{dataset_id}/items", json={"items": items}, headers=user.headers)
    assert response.status_code == 201, response.text
    return dataset_id
