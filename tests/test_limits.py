"""Everything a client controls is bounded, and paths, methods and HEAD behave exactly."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from helpers import User
from promptcrafter.auth import Tokens
from promptcrafter.storage.writer_lock import WriterLock

PROMPT = {"title": "Limits", "content": "Bounded content", "model": "m"}
BUSY = {"error": "The server is busy. Try again shortly."}


def add_prompt(client: TestClient, user: User) -> str:
    response = client.post("/prompts", json=PROMPT, headers=user.headers)
    assert response.status_code == 201
    return str(response.json()["_id"])


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/prompts", "GET, HEAD, POST"),
        ("POST", "/prompts/prompt_1", "DELETE, GET, HEAD, PATCH"),
        ("PATCH", "/logs", "GET, HEAD, POST"),
        ("GET", "/logs/log_1", "DELETE, PATCH"),
        ("POST", "/health", "GET, HEAD"),
        ("GET", "/auth/login", "POST"),
    ],
)
def test_405_lists_every_allowed_method(client: TestClient, method: str, path: str, allowed: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json() == {"error": "Method not allowed."}


def test_head_answers_like_get_without_a_body(client: TestClient, user: User) -> None:
    prompt_id = add_prompt(client, user)
    for path in (
        "/prompts",
        f"/prompts/{prompt_id}",
        "/logs",
        "/search?q=bounded",
        "/auth/me",
        "/health",
        "/openapi.json",
    ):
        get = client.get(path, headers=user.headers)
        head = client.head(path, headers=user.headers)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-length"] == get.headers["content-length"], path
    assert client.head("/prompts").status_code == 401
    assert client.head(f"/prompts/{prompt_id}x", headers=user.headers).status_code == 404


@pytest.mark.parametrize("suffix", ["%0A", "%0D", "%0D%0A", "%00", "%09"])
def test_paths_match_exactly_without_trailing_control_characters(client: TestClient, user: User, suffix: str) -> None:
    prompt_id = add_prompt(client, user)
    assert client.get(f"/health{suffix}").status_code == 404
    response = client.delete(f"/prompts/{prompt_id}{suffix}", headers=user.headers)
    assert response.status_code in (400, 404)
    assert client.get(f"/prompts/{prompt_id}", headers=user.headers).status_code == 200


def test_validation_details_are_capped(client: TestClient, user: User) -> None:
    body = {**PROMPT, **{f"unknown_{i}": i for i in range(5_000)}}
    response = client.post("/prompts", json=body, headers=user.headers)
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "Required fields are missing or invalid."
    assert len(answer["details"]) == 20
    assert answer["moreDetails"] == 5_000 - 20
    assert len(response.content) < 4_000


def test_long_url_is_414_and_large_headers_are_431(client: TestClient, user: User) -> None:
    response = client.get("/search?q=" + "a" * 9_000, headers=user.headers)
    assert (response.status_code, response.json()) == (414, {"error": "Request URL is too long."})
    response = client.get("/prompts", headers={**user.headers, "X-Padding": "p" * 20_000})
    assert (response.status_code, response.json()) == (431, {"error": "Request headers are too large."})


def test_search_query_length_and_term_count_are_bounded(client: TestClient, user: User) -> None:
    add_prompt(client, user)
    too_long = client.get("/search", params={"q": "b" * 1_001}, headers=user.headers)
    assert (too_long.status_code, too_long.json()) == (
        400,
        {"error": "The search query is too long: at most 1000 characters."},
    )
    too_many = client.get("/search", params={"q": " ".join(["bounded"] * 33)}, headers=user.headers)
    assert (too_many.status_code, too_many.json()) == (
        400,
        {"error": "The search query has too many terms: at most 32."},
    )
    most = client.get("/search", params={"q": " ".join(["bounded"] * 32)}, headers=user.headers)
    assert most.status_code == 200
    assert [prompt["title"] for prompt in most.json()] == ["Limits"]


class SmallCacheTokens(Tokens):
    CACHE_BYTES = 64 * 1024


def test_token_cache_keeps_only_verified_tokens_within_its_byte_budget() -> None:
    tokens = SmallCacheTokens(secret="s" * 40, ttl_seconds=3_600)
    for i in range(2_000):
        assert tokens.user_id(f"junk.{i}.token") is None
    assert tokens.user_id("x" * 5_000) is None
    assert len(tokens._verified) == 0
    issued = [tokens.issue(f"user_{i}") for i in range(1_000)]
    assert [tokens.user_id(token) for token in issued] == [f"user_{i}" for i in range(1_000)]
    assert 0 < tokens._verified.currsize <= SmallCacheTokens.CACHE_BYTES
    assert len(tokens._verified) < len(issued)


def test_token_longer_than_any_issued_is_invalid(client: TestClient) -> None:
    response = client.get("/auth/me", headers={"Authorization": "Bearer " + "a" * 2_000})
    assert (response.status_code, response.json()) == (401, {"error": "Authentication token is expired or invalid."})


def test_waiting_writers_get_503_quickly_and_reads_go_on(app_factory: Any, user: User, database_url: str) -> None:
    """A write that cannot get the write lock (SQLite) or a connection (PostgreSQL) in time
    is refused at once with Retry-After; when the holder lets go, everything works again."""
    with TestClient(app_factory(db_wait_timeout=0.3, db_pool_size=1), raise_server_exceptions=False) as client:
        prompt_id = add_prompt(client, user)
        with _hold_the_database(database_url, prompt_id) as release:
            started = time.monotonic()
            if database_url.startswith("sqlite"):
                blocked = client.post("/prompts", json=PROMPT, headers=user.headers)
                assert client.get(f"/prompts/{prompt_id}", headers=user.headers).status_code == 200
            else:
                # The one connection waits on a locked row; the next request finds none free.
                with ThreadPoolExecutor(1) as pool:
                    waiting = pool.submit(
                        client.patch, f"/prompts/{prompt_id}", json={"title": "Later"}, headers=user.headers
                    )
                    time.sleep(0.2)
                    blocked = client.get(f"/prompts/{prompt_id}", headers=user.headers)
                    release()
                    assert waiting.result().status_code == 200
            elapsed = time.monotonic() - started
            assert (blocked.status_code, blocked.json()) == (503, BUSY)
            assert blocked.headers["Retry-After"] == "1"
            assert elapsed < 3
        assert client.post("/prompts", json=PROMPT, headers=user.headers).status_code == 201
        assert client.get(f"/prompts/{prompt_id}", headers=user.headers).status_code == 200


class _hold_the_database:
    """Holds what a writer needs: SQLite's writer lock, or a PostgreSQL row lock on the prompt."""

    def __init__(self, database_url: str, prompt_id: str) -> None:
        self.database_url = database_url
        self.prompt_id = prompt_id
        self.released = False

    def __enter__(self) -> Any:
        if self.database_url.startswith("sqlite"):
            self.lock = WriterLock(self.database_url.removeprefix("sqlite:///") + ".writer-lock")
            self.lock.acquire()
        else:
            self.connection = psycopg.connect(self.database_url)
            self.connection.execute("SELECT 1 FROM prompts WHERE id = %s FOR UPDATE", (self.prompt_id,))
        return self.release

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.database_url.startswith("sqlite"):
            self.lock.release()
        else:
            self.connection.rollback()
            self.connection.close()

    def __exit__(self, *_exc: object) -> None:
        self.release()
