"""Several server processes on one database behave as one server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from helpers import PASSWORD, STORES, LiveServer, start_server, stop_server

WRITES = 300


@pytest.fixture(params=STORES)
def two_workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """`promptcrafter serve --workers 2` on each store."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    server = start_server(url, workers=2)
    yield server
    stop_server(server)


def sign_up(http: httpx.Client) -> dict[str, str]:
    email = f"writer-{uuid.uuid4().hex[:8]}@example.com"
    token = http.post("/auth/signup", json={"name": "Writer", "email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_parallel_log_writes_lose_nothing(two_workers: LiveServer) -> None:
    with httpx.Client(base_url=two_workers.url, timeout=60) as http:
        headers = sign_up(http)
        prompt = http.post("/prompts", json={"title": "Sink", "content": "c", "model": "m"}, headers=headers).json()

        def write(i: int) -> httpx.Response:
            body = {"promptId": prompt["_id"], "output": f"output {i}", "modelUsed": "m", "score": i % 11}
            return http.post("/logs", json=body, headers=headers)

        with ThreadPoolExecutor(max_workers=32) as pool:
            responses = list(pool.map(write, range(WRITES)))
        assert [r.status_code for r in responses] == [201] * WRITES
        acknowledged = {r.json()["_id"] for r in responses}
        stored = http.get(f"/logs?promptId={prompt['_id']}", headers=headers).json()
    assert {log["_id"] for log in stored} == acknowledged
    assert sorted(log["output"] for log in stored) == sorted(f"output {i}" for i in range(WRITES))


def test_racing_sign_ups_with_one_email_create_one_account(two_workers: LiveServer) -> None:
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=two_workers.url, timeout=60) as http:

        def attempt(i: int) -> int:
            body = {"name": "Racer", "email": email if i % 2 else email.upper(), "password": PASSWORD}
            return http.post("/auth/signup", json=body).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(attempt, range(16)))
    assert sorted(statuses) == [201] + [409] * 15


def test_tokens_work_on_every_worker(two_workers: LiveServer) -> None:
    # New connections are spread over the workers by the kernel; many fresh ones reach both.
    with httpx.Client(base_url=two_workers.url) as http:
        headers = sign_up(http)
    for _ in range(20):
        with httpx.Client(base_url=two_workers.url) as fresh:
            assert fresh.get("/auth/me", headers=headers).status_code == 200
