"""Runs outlive their server process (EVALUATION.md §10): a server killed with SIGKILL mid-run
leaves its claimed calls to lapse, a server started again resumes within seconds, and no
(item, model, repeat) is stored twice; several servers share one run's calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fake_openai import FakeOpenAI
from helpers import PASSWORD, LiveServer, start_server, stop_server

ITEMS = 30


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(delay=0.15) as server:
        yield server


def prepare(server: LiveServer, fake: FakeOpenAI, *, concurrency: int) -> tuple[dict[str, str], dict[str, Any]]:
    """An account with a prompt, a dataset of ITEMS items and a provider; its headers and the run body."""
    token = httpx.post(
        f"{server.url}/auth/signup", json={"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    prompt = httpx.post(
        f"{server.url}/prompts", json={"title": "Echo", "content": "{{text}}", "model": "echo"}, headers=headers
    ).json()
    dataset = httpx.post(f"{server.url}/datasets", json={"name": "many"}, headers=headers).json()
    items = [{"input": {"text": f"item {index}"}, "expected": f"item {index}"} for index in range(ITEMS)]
    added = httpx.post(f"{server.url}/datasets/{dataset['_id']}/items", json={"items": items}, headers=headers)
    assert added.status_code == 201, added.text
    provider = {"name": "local", "baseUrl": fake.base_url, "concurrency": concurrency}
    assert httpx.post(f"{server.url}/providers", json=provider, headers=headers).status_code == 201
    body = {
        "promptId": prompt["_id"],
        "datasetId": dataset["_id"],
        "models": [{"provider": "local", "model": "echo"}],
        "scorers": [{"type": "exact"}],
    }
    return headers, body


def progress(server: LiveServer, run_id: str, headers: dict[str, str]) -> dict[str, Any]:
    return httpx.get(f"{server.url}/runs/{run_id}", headers=headers).json()  # type: ignore[no-any-return]


def wait_until(condition: Any, timeout: float) -> float:
    """Seconds until `condition()` held; AssertionError after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def run_logs(server: LiveServer, run_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/logs", params={"runId": run_id}, headers=headers)
    return response.json()  # type: ignore[no-any-return]


def test_a_run_killed_mid_way_resumes_after_a_restart_without_storing_anything_twice(
    database_url: str, fake: FakeOpenAI
) -> None:
    server = start_server(database_url)
    try:
        headers, body = prepare(server, fake, concurrency=2)
        run = httpx.post(f"{server.url}/runs", json=body, headers=headers).json()
        wait_until(lambda: progress(server, run["_id"], headers)["progress"]["done"] >= 6, timeout=20)
    finally:
        server.process.kill()  # SIGKILL: no shutdown code runs, the claims stay in the database
        server.process.wait()
        stop_server(server)
    at_kill = fake.calls()
    server = start_server(database_url)
    try:
        resumed = wait_until(lambda: fake.calls() > at_kill, timeout=15)
        assert resumed < 10
        wait_until(lambda: progress(server, run["_id"], headers)["status"] == "done", timeout=30)
        final = progress(server, run["_id"], headers)
        assert final["progress"] == {"done": ITEMS, "failed": 0, "total": ITEMS}
        logs = run_logs(server, run["_id"], headers)
        assert len(logs) == ITEMS
        assert len({log["itemId"] for log in logs}) == ITEMS
        assert all(log["score"] == 10 for log in logs)
        # At most the calls under way when the server died were made again.
        assert ITEMS <= fake.calls() <= ITEMS + 2
    finally:
        stop_server(server)


def test_two_servers_share_one_runs_calls_and_store_each_once(database_url: str, fake: FakeOpenAI) -> None:
    first = start_server(database_url)
    second = start_server(database_url)
    try:
        headers, body = prepare(first, fake, concurrency=1)
        run = httpx.post(f"{second.url}/runs", json=body, headers=headers).json()
        wait_until(lambda: progress(first, run["_id"], headers)["status"] == "done", timeout=30)
        final = progress(second, run["_id"], headers)
        assert final["progress"] == {"done": ITEMS, "failed": 0, "total": ITEMS}
        logs = run_logs(first, run["_id"], headers)
        assert len(logs) == ITEMS and len({log["itemId"] for log in logs}) == ITEMS
        assert fake.calls() == ITEMS
        # One call at a time per server process: two at once means both servers worked.
        assert fake.max_concurrent == 2
    finally:
        stop_server(first)
        stop_server(second)
