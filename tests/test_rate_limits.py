"""The per-user write rate limit (OPERATIONS.md), on both stores: off by default; when set, a
user's writes spend from one allowance that every server process shares, and a write past it is
a 429 with Retry-After that writes nothing."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from helpers import User
from promptcrafter import messages

PROMPT = {"title": "Limited", "content": "Some text", "model": "m"}


def test_writes_are_unlimited_by_default(client: TestClient, user: User) -> None:
    assert all(client.post("/prompts", json=PROMPT, headers=user.headers).status_code == 201 for _ in range(70))


def test_a_users_writes_share_one_allowance_across_server_processes(
    app_factory: Any, user: User, other_user: User
) -> None:
    with (
        TestClient(app_factory(write_rate=0.5, write_burst=3)) as first,
        TestClient(app_factory(write_rate=0.5, write_burst=3)) as second,
    ):
        statuses = [
            server.post("/prompts", json=PROMPT, headers=user.headers).status_code for server in (first, second, first)
        ]
        assert statuses == [201, 201, 201]
        refused = second.post("/prompts", json={**PROMPT, "title": "One too many"}, headers=user.headers)
        assert refused.status_code == 429 and refused.json() == {"error": messages.WRITES_THROTTLED}
        assert int(refused.headers["retry-after"]) == 2  # one write every two seconds
        listed = first.get("/prompts", headers=user.headers)  # reads are not limited
        assert listed.status_code == 200 and "One too many" not in listed.text
        assert second.post("/prompts", json=PROMPT, headers=other_user.headers).status_code == 201


def test_the_allowance_refills_at_the_rate(app_factory: Any, user: User) -> None:
    with TestClient(app_factory(write_rate=20, write_burst=1)) as client:
        assert client.post("/prompts", json=PROMPT, headers=user.headers).status_code == 201
        assert client.post("/prompts", json=PROMPT, headers=user.headers).status_code == 429
        time.sleep(0.1)  # two writes' worth at 20 a second
        assert client.post("/prompts", json=PROMPT, headers=user.headers).status_code == 201


def test_a_refused_write_spends_nothing(app_factory: Any, user: User) -> None:
    with TestClient(app_factory(write_rate=0.01, write_burst=2)) as client:
        missing = client.delete("/prompts/prompt_01M8MEBV8V1YNTK4V776RNNECH", headers=user.headers)
        assert missing.status_code == 404  # rolled back with the write, allowance and all
        assert [client.post("/prompts", json=PROMPT, headers=user.headers).status_code for _ in range(3)] == [
            201,
            201,
            429,
        ]
