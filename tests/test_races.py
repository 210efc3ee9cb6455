"""Two server processes on one database: parallel requests never lose or double an effect."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from helpers import PASSWORD, start_server, stop_server


class TwoServers:
    """Two `promptcrafter serve` processes on one database; requests alternate between them."""

    def __init__(self, urls: list[str]) -> None:
        self.clients = [httpx.Client(base_url=url, timeout=60) for url in urls]
        self._turn = itertools.count()

    def next(self) -> httpx.Client:
        return self.clients[next(self._turn) % len(self.clients)]

    def sign_up(self) -> tuple[str, dict[str, str]]:
        email = f"racer-{uuid.uuid4().hex[:10]}@example.com"
        response = self.next().post("/auth/signup", json={"name": "Racer", "email": email, "password": PASSWORD})
        assert response.status_code == 201, response.text
        return email, {"Authorization": f"Bearer {response.json()['token']}"}

    def in_parallel(self, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
        """Every call at once, each on the next server in turn."""
        assigned = [(call, self.next()) for call in calls]
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(lambda pair: pair[0](pair[1]), assigned))


@pytest.fixture(scope="module")
def servers(module_database_url: str) -> Iterator[TwoServers]:
    """Shared by the module's tests, which each sign up their own account."""
    started = [start_server(module_database_url), start_server(module_database_url)]
    pair = TwoServers([server.url for server in started])
    yield pair
    for client in pair.clients:
        client.close()
    for server in started:
        stop_server(server)


def new_prompt(servers: TwoServers, headers: dict[str, str]) -> dict[str, Any]:
    body = {"title": "Original title", "content": "Original content", "model": "m", "tags": ["t"]}
    response = servers.next().post("/prompts", json=body, headers=headers)
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


def test_parallel_patches_of_different_fields_keep_both_changes(servers: TwoServers) -> None:
    _, headers = servers.sign_up()
    for trial in range(8):
        prompt = new_prompt(servers, headers)
        path = f"/prompts/{prompt['_id']}"
        responses = servers.in_parallel(
            [
                lambda http: http.patch(path, json={"title": f"New title {trial}"}, headers=headers),
                lambda http: http.patch(path, json={"content": f"New content {trial}"}, headers=headers),
            ]
        )
        assert [response.status_code for response in responses] == [200, 200]
        stored = servers.next().get(path, headers=headers).json()
        assert (stored["title"], stored["content"], stored["tags"]) == (
            f"New title {trial}",
            f"New content {trial}",
            ["t"],
        )


def test_parallel_deletes_of_one_prompt_answer_204_exactly_once(servers: TwoServers) -> None:
    _, headers = servers.sign_up()
    for _ in range(5):
        path = f"/prompts/{new_prompt(servers, headers)['_id']}"
        responses = servers.in_parallel([lambda http: http.delete(path, headers=headers)] * 20)
        assert Counter(response.status_code for response in responses) == {204: 1, 404: 19}


def test_parallel_deletes_of_one_log_answer_204_exactly_once(servers: TwoServers) -> None:
    _, headers = servers.sign_up()
    prompt = new_prompt(servers, headers)
    log = servers.next().post(
        "/logs", json={"promptId": prompt["_id"], "output": "o", "modelUsed": "m"}, headers=headers
    )
    path = f"/logs/{log.json()['_id']}"
    responses = servers.in_parallel([lambda http: http.delete(path, headers=headers)] * 20)
    assert Counter(response.status_code for response in responses) == {204: 1, 404: 19}


def test_a_burst_of_wrong_passwords_checks_no_more_than_the_limit(servers: TwoServers) -> None:
    email, _ = servers.sign_up()
    wrong = {"email": email, "password": "not the password"}
    responses = servers.in_parallel([lambda http: http.post("/auth/login", json=wrong)] * 30)
    assert Counter(response.status_code for response in responses) == {401: 10, 429: 20}
    right = servers.next().post("/auth/login", json={"email": email, "password": PASSWORD})
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0


def test_parallel_edits_make_one_version_each_numbered_without_gaps(servers: TwoServers) -> None:
    _, headers = servers.sign_up()
    prompt = new_prompt(servers, headers)
    path = f"/prompts/{prompt['_id']}"
    edits = [lambda http, i=i: http.patch(path, json={"content": f"Edit {i}"}, headers=headers) for i in range(16)]
    labels = [
        lambda http, i=i: http.put(f"{path}/labels/l{i % 3}", json={"version": 1}, headers=headers) for i in range(6)
    ]
    responses = servers.in_parallel([*edits, *labels])
    assert [response.status_code for response in responses] == [200] * 22
    versions = servers.next().get(f"{path}/versions", headers=headers).json()
    assert [version["version"] for version in versions] == list(range(17, 0, -1))
    # Each edit's content is exactly one version, whatever order they were applied in.
    assert sorted(version["content"] for version in versions[:-1]) == sorted(f"Edit {i}" for i in range(16))
    assert versions[-1]["labels"] == ["l0", "l1", "l2"]


def test_parallel_imports_of_one_file_store_each_record_once_per_account(servers: TwoServers) -> None:
    tag = uuid.uuid4().hex[:8]
    prompts = [{"_id": f"p{tag}-{i}", "title": f"Imported {i}", "content": "c", "model": "m"} for i in range(5)]
    logs = [{"_id": f"l{tag}-{i}", "promptId": f"p{tag}-{i % 5}", "output": "o", "modelUsed": "m"} for i in range(20)]
    body = {"prompts": prompts, "logs": logs}
    accounts = [servers.sign_up()[1] for _ in range(2)]
    calls: list[Callable[[httpx.Client], httpx.Response]] = [
        lambda http, headers=headers: http.post("/import", json=body, headers=headers)  # type: ignore[misc]
        for headers in accounts
        for _ in range(3)
    ]
    responses = servers.in_parallel(calls)
    assert [response.status_code for response in responses] == [200] * 6, [r.text for r in responses]
    for account, answers in zip(accounts, (responses[:3], responses[3:]), strict=True):
        assert sum(answer.json()["prompts"]["created"] for answer in answers) == 5
        assert sum(answer.json()["logs"]["created"] for answer in answers) == 20
        assert len(servers.next().get("/prompts", headers=account).json()) == 5
        assert len(servers.next().get("/logs", headers=account).json()) == 20


def test_a_burst_of_writes_spends_one_shared_allowance_exactly(module_database_url: str) -> None:
    limit = {"PROMPTCRAFTER_WRITE_RATE": "0.001", "PROMPTCRAFTER_WRITE_BURST": "5"}
    started = [start_server(module_database_url, env=limit), start_server(module_database_url, env=limit)]
    pair = TwoServers([server.url for server in started])
    try:
        _, headers = pair.sign_up()
        body = {"title": "Racing", "content": "Some text", "model": "m"}
        responses = pair.in_parallel([lambda http: http.post("/prompts", json=body, headers=headers)] * 20)
        assert Counter(response.status_code for response in responses) == {201: 5, 429: 15}
        assert len(pair.next().get("/prompts", headers=headers).json()) == 5
    finally:
        for client in pair.clients:
            client.close()
        for server in started:
            stop_server(server)
