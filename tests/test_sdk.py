"""The Python SDK against a real `promptcrafter serve`: every method, every exception class."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_openai import FakeOpenAI
from helpers import PASSWORD, LiveServer, start_server, stop_server
from promptcrafter import (
    AsyncPromptCrafterClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PromptCrafterAPIError,
    PromptCrafterClient,
    PromptCrafterConnectionError,
    RateLimitError,
    ServerError,
)

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "sdk_quickstart.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for the module: starting one takes seconds; each test signs up its own users.

    Tests that change the server itself use the per-test `live_server` instead.
    """
    live = start_server(f"sqlite:///{tmp_path_factory.mktemp('sdk') / 'live.db'}")
    yield live
    stop_server(live)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTCRAFTER_URL", raising=False)
    monkeypatch.delenv("PROMPTCRAFTER_API_KEY", raising=False)


def unique_email() -> str:
    return f"sdk-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[PromptCrafterClient]:
    """A client signed up as a new user."""
    with PromptCrafterClient(server.url) as client:
        client.signup("Ada Lovelace", unique_email(), PASSWORD)
        yield client


@pytest.fixture
def other_sdk(server: LiveServer) -> Iterator[PromptCrafterClient]:
    """A client signed up as a second, unrelated user."""
    with PromptCrafterClient(server.url) as client:
        client.signup("Grace Hopper", unique_email(), PASSWORD)
        yield client


@pytest.fixture
def prompt(sdk: PromptCrafterClient) -> dict[str, Any]:
    return sdk.create_prompt("Subject lines", "Write five subject lines.", "gpt-4o", tags=["email"])


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A URL nobody answers: the port is held, so no one else can take it, but never listened on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# Accounts and service


def test_health_reports_ok_without_a_token(server: LiveServer) -> None:
    with PromptCrafterClient(server.url) as client:
        assert client.health() == {"status": "ok"}


def test_signup_returns_a_token_that_the_client_then_sends(server: LiveServer) -> None:
    email = unique_email()
    with PromptCrafterClient(server.url) as client:
        token = client.signup("Ada Lovelace", email, PASSWORD)
        assert client.token == token
        me = client.me()
    assert me["email"] == email
    assert me["name"] == "Ada Lovelace"
    assert set(me) == {"_id", "name", "email", "createdAt"}


def test_login_returns_a_token_that_the_client_then_sends(server: LiveServer) -> None:
    email = unique_email()
    with PromptCrafterClient(server.url) as client:
        client.signup("Ada Lovelace", email, PASSWORD)
    with PromptCrafterClient(server.url) as client:
        token = client.login(email, PASSWORD)
        assert client.token == token
        assert client.me()["email"] == email


def test_set_token_makes_the_client_act_as_that_user(sdk: PromptCrafterClient, other_sdk: PromptCrafterClient) -> None:
    assert other_sdk.token is not None
    sdk.set_token(other_sdk.token)
    assert sdk.me() == other_sdk.me()


def test_token_given_to_the_constructor_is_sent(server: LiveServer, sdk: PromptCrafterClient) -> None:
    with PromptCrafterClient(server.url, token=sdk.token) as client:
        assert client.me() == sdk.me()


def test_base_url_comes_from_promptcrafter_url_when_not_given(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPTCRAFTER_URL", server.url + "/")
    with PromptCrafterClient() as client:
        assert client.base_url == server.url
        assert client.health() == {"status": "ok"}


def test_base_url_defaults_to_port_8000_on_localhost() -> None:
    with PromptCrafterClient() as client:
        assert client.base_url == "http://127.0.0.1:8000"


# Prompts


def test_create_prompt_returns_the_stored_prompt(sdk: PromptCrafterClient) -> None:
    created = sdk.create_prompt("Subject lines", "Write five.", "gpt-4o", tags=["email", "email", "ads"])
    assert created["_id"].startswith("prompt_")
    assert created["ownerId"] == sdk.me()["_id"]
    assert (created["title"], created["content"], created["model"]) == (
        "Subject lines",
        "Write five.",
        "gpt-4o",
    )
    assert created["tags"] == ["email", "ads"]
    assert created["createdAt"] == created["updatedAt"]


def test_create_prompt_without_tags_stores_an_empty_list(sdk: PromptCrafterClient) -> None:
    assert sdk.create_prompt("No tags here", "Text.", "claude")["tags"] == []


def test_get_prompt_returns_the_prompt(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    assert sdk.get_prompt(prompt["_id"]) == prompt


def test_get_prompts_lists_only_own_prompts_oldest_first(
    sdk: PromptCrafterClient, other_sdk: PromptCrafterClient
) -> None:
    first = sdk.create_prompt("First prompt", "One.", "gpt-4o")
    second = sdk.create_prompt("Second prompt", "Two.", "gpt-4o")
    other_sdk.create_prompt("Someone else's", "Three.", "gpt-4o")
    assert sdk.get_prompts() == [first, second]


def test_update_prompt_changes_only_the_given_fields(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    updated = sdk.update_prompt(prompt["_id"], title="Better subject lines", tags=["email", "ab-test"])
    assert updated["title"] == "Better subject lines"
    assert updated["tags"] == ["email", "ab-test"]
    assert (updated["content"], updated["model"]) == (prompt["content"], prompt["model"])
    assert updated["updatedAt"] > prompt["updatedAt"]
    assert sdk.get_prompt(prompt["_id"]) == updated


def test_delete_prompt_removes_it_and_its_logs(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    sdk.create_log(prompt["_id"], "Output.", "gpt-4o")
    assert sdk.delete_prompt(prompt["_id"]) is None
    assert sdk.get_prompts() == []
    assert sdk.get_logs() == []


def test_search_prompts_returns_prompts_containing_every_term(sdk: PromptCrafterClient) -> None:
    photo = sdk.create_prompt("Photosynthesis explained", "For children.", "claude", tags=["science"])
    sdk.create_prompt("Photo captions", "For adults.", "claude")
    assert sdk.search_prompts("PHOTO children") == [photo]
    assert sdk.search_prompts("nothing-matches-this") == []


# Logs


def test_create_log_records_output_model_notes_and_score(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    log = sdk.create_log(prompt["_id"], "1. Hello\n2. Hi\n", "gpt-4o", notes="Too short.", score=7)
    assert log["_id"].startswith("log_")
    assert log["promptId"] == prompt["_id"]
    assert (log["output"], log["modelUsed"], log["notes"], log["score"]) == (
        "1. Hello\n2. Hi\n",
        "gpt-4o",
        "Too short.",
        7,
    )


def test_create_log_without_notes_or_score_stores_nulls(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    log = sdk.create_log(prompt["_id"], "Output.", "claude")
    assert (log["notes"], log["score"]) == (None, None)


def test_get_logs_lists_all_own_logs_oldest_first(
    sdk: PromptCrafterClient, other_sdk: PromptCrafterClient, prompt: dict[str, Any]
) -> None:
    second_prompt = sdk.create_prompt("Another prompt", "Text.", "claude")
    first = sdk.create_log(prompt["_id"], "One.", "gpt-4o")
    second = sdk.create_log(second_prompt["_id"], "Two.", "claude", score=9.5)
    other_prompt = other_sdk.create_prompt("Not yours", "Text.", "claude")
    other_sdk.create_log(other_prompt["_id"], "Three.", "claude")
    assert sdk.get_logs() == [first, second]


def test_get_logs_by_prompt_returns_only_that_prompts_logs(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    second_prompt = sdk.create_prompt("Another prompt", "Text.", "claude")
    mine = sdk.create_log(prompt["_id"], "One.", "gpt-4o")
    sdk.create_log(second_prompt["_id"], "Two.", "claude")
    assert sdk.get_logs_by_prompt(prompt["_id"]) == [mine]


def test_get_logs_by_prompt_without_logs_is_empty(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    assert sdk.get_logs_by_prompt(prompt["_id"]) == []


def test_delete_log_removes_only_that_log(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    kept = sdk.create_log(prompt["_id"], "Kept.", "gpt-4o")
    removed = sdk.create_log(prompt["_id"], "Removed.", "gpt-4o")
    assert sdk.delete_log(removed["_id"]) is None
    assert sdk.get_logs() == [kept]


# Errors


def test_versions_labels_and_rendering(sdk: PromptCrafterClient) -> None:
    prompt = sdk.create_prompt("Greeting", "Say hello to {{name}}.", "gpt-4o")
    assert (prompt["version"], prompt["variables"]) == (1, ["name"])
    sdk.update_prompt(prompt["_id"], content="Say hi to {{ name }} from {{team}}.")
    assert [version["version"] for version in sdk.list_versions(prompt["_id"])] == [2, 1]
    assert sdk.get_version(prompt["_id"], 1)["content"] == "Say hello to {{name}}."
    assert set(sdk.diff_versions(prompt["_id"], 1, 2)["changes"]) == {"content"}
    label = sdk.set_label(prompt["_id"], "production", 1)
    assert (label["label"], label["version"]) == ("production", 1)
    assert sdk.get_prompt(prompt["_id"], label="production")["content"] == "Say hello to {{name}}."
    assert sdk.get_prompt(prompt["_id"], version=2)["version"] == 2
    assert sdk.render_prompt(prompt["_id"], {"name": "Ada"}, label="production") == {
        "text": "Say hello to Ada.",
        "version": 1,
    }
    with pytest.raises(BadRequestError) as missing:
        sdk.render_prompt(prompt["_id"], {"name": "Ada"})
    assert missing.value.details == [{"field": "variables.team", "message": "Missing value."}]
    assert sdk.restore_version(prompt["_id"], 1)["version"] == 3
    sdk.delete_label(prompt["_id"], "production")
    with pytest.raises(NotFoundError):
        sdk.get_prompt(prompt["_id"], label="production")


def test_create_log_records_version_input_and_usage(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    log = sdk.create_log(
        prompt["_id"],
        "Out.",
        "gpt-4o",
        prompt_version=1,
        input={"topic": "tea"},
        latency_ms=420.5,
        input_tokens=12,
        output_tokens=3,
        cost_usd=0.0001,
    )
    sent = {
        "promptVersion": 1,
        "input": {"topic": "tea"},
        "latencyMs": 420.5,
        "inputTokens": 12,
        "outputTokens": 3,
        "costUsd": 0.0001,
    }
    assert {key: log[key] for key in sent} == sent


def test_request_without_token_raises_authentication_error(server: LiveServer) -> None:
    with PromptCrafterClient(server.url) as client, pytest.raises(AuthenticationError) as raised:
        client.get_prompts()
    assert raised.value.status_code == 401
    assert raised.value.message == "Authentication token is missing."


def test_bad_token_raises_authentication_error(server: LiveServer) -> None:
    with (
        PromptCrafterClient(server.url, token="not-a-jwt") as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.me()
    assert raised.value.status_code == 401
    assert str(raised.value) == "Authentication token is expired or invalid."


def test_login_on_wrong_password_raises_authentication_error(server: LiveServer, sdk: PromptCrafterClient) -> None:
    email = sdk.me()["email"]
    with PromptCrafterClient(server.url) as client, pytest.raises(AuthenticationError) as raised:
        client.login(email, "wrong password, clearly")
    assert raised.value.message == "Incorrect email or password."
    assert client.token is None


def test_other_users_prompt_raises_forbidden_error(other_sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    with pytest.raises(ForbiddenError) as raised:
        other_sdk.get_prompt(prompt["_id"])
    assert raised.value.status_code == 403
    assert raised.value.message == "You do not have permission to access this resource."
    with pytest.raises(ForbiddenError, match=re.escape("Prompt does not belong to the authenticated user.")):
        other_sdk.delete_prompt(prompt["_id"])


def test_other_users_log_raises_forbidden_error(
    sdk: PromptCrafterClient, other_sdk: PromptCrafterClient, prompt: dict[str, Any]
) -> None:
    log = sdk.create_log(prompt["_id"], "Output.", "gpt-4o")
    with pytest.raises(ForbiddenError, match=re.escape("Log does not belong to the authenticated user.")):
        other_sdk.delete_log(log["_id"])


def test_unknown_ids_raise_not_found_error(sdk: PromptCrafterClient) -> None:
    with pytest.raises(NotFoundError) as raised:
        sdk.get_prompt("prompt_doesnotexist")
    assert raised.value.status_code == 404
    assert raised.value.message == "No prompt found with the specified ID."
    with pytest.raises(NotFoundError, match=re.escape("No log found with the specified ID.")):
        sdk.delete_log("log_doesnotexist")
    with pytest.raises(NotFoundError, match=re.escape("Prompt ID does not exist or is not accessible.")):
        sdk.create_log("prompt_doesnotexist", "Output.", "gpt-4o")


def test_duplicate_signup_raises_conflict_error(server: LiveServer, sdk: PromptCrafterClient) -> None:
    email = sdk.me()["email"].upper()
    with PromptCrafterClient(server.url) as client, pytest.raises(ConflictError) as raised:
        client.signup("Someone Else", email, PASSWORD)
    assert raised.value.status_code == 409
    assert raised.value.message == "Email already in use."


def test_invalid_prompt_raises_bad_request_error_with_field_details(
    sdk: PromptCrafterClient,
) -> None:
    with pytest.raises(BadRequestError) as raised:
        sdk.create_prompt("ab", "Content.", "gpt-4o")
    assert raised.value.status_code == 400
    assert raised.value.message == "Required fields are missing or invalid."
    assert raised.value.details is not None
    assert [detail["field"] for detail in raised.value.details] == ["title"]


@pytest.mark.parametrize("bad_id", ["not/an/id", "..", ".", "?q=1", "#top", ""])
def test_malformed_id_raises_bad_request_error_not_another_route(sdk: PromptCrafterClient, bad_id: str) -> None:
    with pytest.raises(BadRequestError, match=re.escape("the prompt ID format is invalid.")):
        sdk.get_prompt(bad_id)
    with pytest.raises(BadRequestError, match=re.escape("the log ID format is invalid.")):
        sdk.delete_log(bad_id)


def test_malformed_ids_and_queries_raise_bad_request_error(sdk: PromptCrafterClient) -> None:
    with pytest.raises(
        BadRequestError,
        match=re.escape("The request is malformed or the prompt ID format is invalid."),
    ):
        sdk.get_prompt("not/an/id")
    with pytest.raises(BadRequestError, match=re.escape("Missing or malformed query string.")):
        sdk.search_prompts("   ")
    with pytest.raises(BadRequestError, match=re.escape("Submitted data is invalid.")):
        sdk.update_prompt(sdk.create_prompt("A prompt", "Text.", "claude")["_id"], ownerId="me")


def test_ten_failed_logins_raise_rate_limit_error_with_retry_after(server: LiveServer) -> None:
    email = unique_email()
    with PromptCrafterClient(server.url) as client:
        client.signup("Ada Lovelace", email, PASSWORD)
        for _ in range(10):
            with pytest.raises(AuthenticationError):
                client.login(email, "wrong password, clearly")
        with pytest.raises(RateLimitError) as raised:
            client.login(email, PASSWORD)
    assert raised.value.status_code == 429
    assert raised.value.message == "Too many login attempts. Try again later."
    assert raised.value.retry_after is not None
    assert 0 < raised.value.retry_after <= 15 * 60


def test_server_failure_raises_server_error(live_server: LiveServer) -> None:
    with PromptCrafterClient(live_server.url) as client:
        client.signup("Ada Lovelace", unique_email(), PASSWORD)
        # A table vanishing under the running server is a real, unexpected failure: it answers 500.
        database = sqlite3.connect(live_server.database_url.removeprefix("sqlite:///"))
        with database:
            database.execute("DROP TABLE logs")
        database.close()
        with pytest.raises(ServerError) as raised:
            client.get_logs()
    assert raised.value.status_code == 500
    assert raised.value.message == "An unexpected server error occurred."


def test_status_without_a_class_of_its_own_raises_the_root_error(sdk: PromptCrafterClient) -> None:
    with pytest.raises(PromptCrafterAPIError) as raised:
        sdk.create_prompt("Too large", "x" * (3 * 1024 * 1024), "gpt-4o")
    assert type(raised.value) is PromptCrafterAPIError
    assert raised.value.status_code == 413
    assert raised.value.message == "Request body is too large."


def test_malformed_base_url_raises_value_error() -> None:
    with pytest.raises(ValueError, match=re.escape("256.1.1.1")):
        PromptCrafterClient("http://256.1.1.1")


def test_closed_port_raises_connection_error_naming_the_url(closed_url: str) -> None:
    with (
        PromptCrafterClient(closed_url) as client,
        pytest.raises(PromptCrafterConnectionError) as raised,
    ):
        client.health()
    assert isinstance(raised.value, PromptCrafterAPIError)
    assert raised.value.status_code is None
    assert closed_url in str(raised.value)


# Transports and the async client


class CountingTransport(httpx.HTTPTransport):
    """A real transport that notes each request path and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)

    def close(self) -> None:
        self.closed = True
        super().close()


def test_requests_go_through_the_given_transport_which_the_context_manager_closes(
    server: LiveServer,
) -> None:
    transport = CountingTransport()
    with PromptCrafterClient(server.url, transport=transport) as client:
        client.health()
        client.signup("Ada Lovelace", unique_email(), PASSWORD)
    assert transport.paths == ["/health", "/auth/signup"]
    assert transport.closed


@pytest.fixture
async def async_sdk(server: LiveServer) -> AsyncIterator[AsyncPromptCrafterClient]:
    async with AsyncPromptCrafterClient(server.url) as client:
        await client.signup("Ada Lovelace", unique_email(), PASSWORD)
        yield client


@pytest.mark.anyio
async def test_async_client_runs_the_whole_flow(async_sdk: AsyncPromptCrafterClient) -> None:
    assert await async_sdk.health() == {"status": "ok"}
    me = await async_sdk.me()
    prompt = await async_sdk.create_prompt("Async prompt", "Text.", "claude", tags=["async"])
    assert await async_sdk.get_prompt(prompt["_id"]) == prompt
    assert await async_sdk.get_prompts() == [prompt]
    prompt = await async_sdk.update_prompt(prompt["_id"], content="New text.")
    assert await async_sdk.search_prompts("async") == [prompt]
    first = await async_sdk.create_log(prompt["_id"], "One.", "claude", notes="ok", score=8)
    second = await async_sdk.create_log(prompt["_id"], "Two.", "gpt-4o")
    assert await async_sdk.get_logs() == [first, second]
    assert await async_sdk.get_logs_by_prompt(prompt["_id"]) == [first, second]
    await async_sdk.delete_log(first["_id"])
    await async_sdk.delete_prompt(prompt["_id"])
    assert await async_sdk.get_logs() == []
    versioned = await async_sdk.create_prompt("Versioned", "Hi {{name}}.", "claude")
    await async_sdk.update_prompt(versioned["_id"], model="gpt-4o")
    assert [v["version"] for v in await async_sdk.list_versions(versioned["_id"])] == [2, 1]
    assert (await async_sdk.get_version(versioned["_id"], 1))["model"] == "claude"
    diff = await async_sdk.diff_versions(versioned["_id"], 1, 2)
    assert diff["changes"]["model"] == {"from": "claude", "to": "gpt-4o"}
    await async_sdk.set_label(versioned["_id"], "stable", 1)
    assert (await async_sdk.get_prompt(versioned["_id"], label="stable"))["model"] == "claude"
    assert (await async_sdk.render_prompt(versioned["_id"], {"name": "Bo"}))["text"] == "Hi Bo."
    assert (await async_sdk.restore_version(versioned["_id"], 1))["version"] == 3
    await async_sdk.delete_label(versioned["_id"], "stable")
    token = await async_sdk.login(me["email"], PASSWORD)
    async_sdk.set_token(token)
    assert (await async_sdk.me())["_id"] == me["_id"]


@pytest.mark.anyio
async def test_async_client_raises_the_same_errors(async_sdk: AsyncPromptCrafterClient, closed_url: str) -> None:
    with pytest.raises(NotFoundError, match=re.escape("No prompt found with the specified ID.")):
        await async_sdk.get_prompt("prompt_doesnotexist")
    async with AsyncPromptCrafterClient(closed_url) as client:
        with pytest.raises(PromptCrafterConnectionError, match=re.escape(closed_url)):
            await client.health()


# The documented quickstart


def test_quickstart_example_runs_against_a_server_and_again_after_signing_up(
    live_server: LiveServer,
) -> None:
    environment = {**os.environ, "PROMPTCRAFTER_URL": live_server.url}
    outputs = []
    for _ in range(2):  # the second run finds the account taken and logs in instead
        finished = subprocess.run(
            [sys.executable, str(QUICKSTART)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert finished.returncode == 0, finished.stderr
        outputs.append(finished.stdout)
    assert "Signed up" in outputs[0]
    assert "Logged in" in outputs[1]


def test_list_logs_and_prompts_page_filter_and_sort(sdk: PromptCrafterClient) -> None:
    prompt = sdk.create_prompt("Paged", "Text.", "gpt-4o", tags=["Alpha", "beta"])
    sdk.create_prompt("Other", "Text.", "claude", tags=["alpha"])
    logs = [sdk.create_log(prompt["_id"], f"o{i}", ["a", "b"][i % 2], score=i) for i in range(5)]
    first = sdk.list_logs(prompt_id=prompt["_id"], sort="-score", limit=2)
    assert [log["_id"] for log in first["items"]] == [logs[4]["_id"], logs[3]["_id"]]
    rest = sdk.list_logs(prompt_id=prompt["_id"], sort="-score", limit=10, cursor=first["next_cursor"])
    assert [log["score"] for log in rest["items"]] == [2, 1, 0] and rest["next_cursor"] is None
    assert [log["score"] for log in sdk.list_logs(model_used=["b"], min_score=2)["items"]] == [3]
    assert sdk.list_logs(scored=False)["items"] == []
    found = sdk.list_prompts(tag=["alpha", "BETA"])
    assert [p["_id"] for p in found["items"]] == [prompt["_id"]] and found["next_cursor"] is None
    with pytest.raises(BadRequestError) as bad:
        sdk.list_logs(sort="output")
    assert bad.value.details is not None and bad.value.details[0]["field"] == "sort"


def test_create_logs_stores_a_batch_all_or_none(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    created = sdk.create_logs([{"promptId": prompt["_id"], "output": f"o{i}", "modelUsed": "m"} for i in range(3)])
    assert [log["output"] for log in created] == ["o0", "o1", "o2"]
    with pytest.raises(BadRequestError) as bad:
        sdk.create_logs([{"promptId": prompt["_id"], "output": "o", "modelUsed": "m", "score": 99}])
    assert bad.value.details is not None and bad.value.details[0]["index"] == 0
    assert len(sdk.get_logs_by_prompt(prompt["_id"])) == 3


def test_export_logs_and_prompts(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    created = sdk.create_log(prompt["_id"], "=SUM(A1)", "gpt-4o", score=7)
    lines = sdk.export_logs().decode().splitlines()
    assert [json.loads(line) for line in lines] == [created]
    table = sdk.export_logs("csv", prompt_id=prompt["_id"]).decode()
    assert "'=SUM(A1)" in table
    [exported] = [json.loads(line) for line in sdk.export_prompts().decode().splitlines()]
    assert exported["_id"] == prompt["_id"] and [v["version"] for v in exported["versions"]] == [1]


def test_search_logs_finds_outputs_and_notes(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    found = sdk.create_log(prompt["_id"], "plain", "m", notes="Needs a CITATION")
    sdk.create_log(prompt["_id"], "other", "m")
    assert sdk.search_logs("citation") == [found]


SAMPLE_DATA = Path(__file__).parent / "data" / "promptcrafter-db-source.json"


def test_export_to_streams_what_import_file_reads(
    sdk: PromptCrafterClient, other_sdk: PromptCrafterClient, prompt: dict[str, Any], tmp_path: Path
) -> None:
    sdk.create_logs([{"promptId": prompt["_id"], "output": f"o{i}", "modelUsed": "m"} for i in range(3)])
    library = tmp_path / "library.jsonl"
    seen: list[int] = []
    with library.open("wb") as file:
        written = sdk.export_to(file, on_progress=seen.append)
    assert written == library.stat().st_size == seen[-1]
    progress: list[tuple[int, int]] = []
    summary = other_sdk.import_file(library, on_progress=lambda done, total: progress.append((done, total)))
    assert summary == {"prompts": {"created": 1, "existing": 0}, "logs": {"created": 3, "existing": 0}}
    assert progress == [(1, 4), (4, 4)]
    assert other_sdk.import_file(library)["logs"] == {"created": 0, "existing": 3}
    with (tmp_path / "logs.csv").open("wb") as file:
        sdk.export_to(file, format="csv")
    assert (tmp_path / "logs.csv").read_bytes().count(b"\r\n") == 4


def test_import_records_says_where_each_id_went(sdk: PromptCrafterClient) -> None:
    sample = json.loads(SAMPLE_DATA.read_text())
    answer = sdk.import_records(prompts=sample["prompts"][:1], logs=sample["logs"][:1])
    assert answer["prompts"]["created"] == 1 and set(answer["ids"]["logs"]) == {"log1"}


def test_import_file_names_the_line_of_a_refused_item(sdk: PromptCrafterClient, tmp_path: Path) -> None:
    file = tmp_path / "logs.jsonl"
    file.write_text(json.dumps({"promptId": "ghost", "output": "o", "modelUsed": "m"}) + "\n")
    with pytest.raises(BadRequestError) as refused:
        sdk.import_file(file)
    assert refused.value.details == [
        {
            "field": "logs.0.promptId",
            "message": "The log's prompt is neither in this import nor one of yours.",
            "origin": "line 1",
        }
    ]


@pytest.mark.anyio
async def test_async_export_to_and_import_file(server: LiveServer, tmp_path: Path) -> None:
    async with AsyncPromptCrafterClient(server.url) as first, AsyncPromptCrafterClient(server.url) as second:
        await first.signup("Ada Lovelace", unique_email(), PASSWORD)
        await second.signup("Grace Hopper", unique_email(), PASSWORD)
        assert (await first.import_file(SAMPLE_DATA))["logs"]["created"] == 3
        library = tmp_path / "library.jsonl"
        with library.open("wb") as file:
            await first.export_to(file)
        assert (await second.import_file(library))["prompts"] == {"created": 3, "existing": 0}
        with pytest.raises(BadRequestError):
            await second.import_records(logs=[])


def scored_versions(client: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    client.update_prompt(prompt["_id"], content="Write five short subject lines about {{topic}}.")
    client.create_logs(
        [
            {
                "promptId": prompt["_id"],
                "promptVersion": version,
                "output": "o",
                "modelUsed": model,
                "score": 5 + version + (i % 3) * 0.5,
                "input": {"topic": str(i)},
            }
            for i in range(12)
            for version in (1, 2)
            for model in ("small", "large")
        ]
    )


def test_stats_compare_and_leaderboard(sdk: PromptCrafterClient, prompt: dict[str, Any]) -> None:
    scored_versions(sdk, prompt)
    stats = sdk.stats(prompt["_id"])
    assert [group["key"] for group in stats["groups"]] == [1, 2]
    assert sdk.stats(prompt["_id"], group_by="modelUsed", model_used=["small"])["groups"][0]["n"] == 24
    comparison = sdk.compare(prompt["_id"], 1, 2)
    assert comparison["paired"]["n"] == 12 and comparison["paired"]["wins"] == 12
    assert comparison["verdict"].startswith("version 2 scores higher than version 1")
    assert sdk.compare_across("small", "large")["paired"]["n"] == 12
    board = sdk.leaderboard(method="bradley-terry", prompt_id=prompt["_id"], by="promptVersion")
    assert [entry["key"] for entry in board["entries"]] == [2, 1]
    with pytest.raises(TypeError, match="unknown log filters: colour"):
        sdk.stats(prompt["_id"], colour="red")


@pytest.mark.anyio
async def test_async_stats_compare_and_leaderboard(server: LiveServer) -> None:
    async with AsyncPromptCrafterClient(server.url) as client:
        await client.signup("Ada Lovelace", unique_email(), PASSWORD)
        prompt = await client.create_prompt("Subject lines", "Write five subject lines.", "gpt-4o")
        with PromptCrafterClient(server.url, token=client.token) as blocking:
            scored_versions(blocking, prompt)
        assert (await client.stats(prompt["_id"]))["groups"][1]["scored"] == 24
        assert (await client.compare(prompt["_id"], 1, 2))["difference"]["mean"] == 1.0
        assert len((await client.leaderboard())["entries"]) == 2


@pytest.mark.anyio
async def test_a_program_uses_an_api_key_by_argument_or_environment(
    sdk: PromptCrafterClient, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = sdk.create_key("nightly evaluation", ["prompts:read", "logs:write"])
    assert [key["_id"] for key in sdk.list_keys()] == [created["_id"]]
    made = sdk.create_prompt("Subject lines", "Write five about {{topic}}.", "gpt-4o")
    with PromptCrafterClient(server.url, api_key=created["key"]) as program:
        assert program.get_prompt(made["_id"])["title"] == "Subject lines"
        with pytest.raises(ForbiddenError) as refused:
            program.delete_prompt(made["_id"])
        assert refused.value.message == "This API key does not allow this action."
    monkeypatch.setenv("PROMPTCRAFTER_API_KEY", created["key"])
    async with AsyncPromptCrafterClient(server.url) as program:
        logged = await program.create_log(made["_id"], "Five lines.", "gpt-4o", score=7)
        assert logged["promptId"] == made["_id"]
    sdk.revoke_key(created["_id"])
    with PromptCrafterClient(server.url) as program, pytest.raises(AuthenticationError):
        program.get_prompt(made["_id"])


# Datasets and runs


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def test_a_run_from_the_sdk_over_more_than_one_batch_of_items(sdk: PromptCrafterClient, fake: FakeOpenAI) -> None:
    prompt = sdk.create_prompt("Echo", "{{text}}", "echo")
    dataset = sdk.create_dataset("many", description="more than one request's worth")
    items = [{"input": {"text": f"item {index}"}, "expected": f"item {index}"} for index in range(1_005)]
    added = sdk.add_items(dataset["_id"], items)
    assert len(added) == 1_005 and sdk.get_dataset(dataset["_id"])["itemCount"] == 1_005
    provider = sdk.create_provider("local", fake.base_url, api_key="sk-local-0123456789", concurrency=8)
    assert provider["apiKeyHint"] == "…6789" and "apiKey" not in provider
    seen: list[int] = []
    run = sdk.start_run(prompt["_id"], dataset["_id"], ["local:echo"], scorers=["exact"])
    done = sdk.wait_for_run(
        run["_id"], poll_seconds=0.1, timeout=60, on_progress=lambda r: seen.append(r["progress"]["done"])
    )
    assert done["status"] == "done" and done["progress"] == {"done": 1_005, "failed": 0, "total": 1_005}
    assert seen == sorted(seen) and seen[-1] == 1_005
    assert done["leaderboard"]["entries"][0]["key"] == "local/echo"
    first = sdk.run_results(run["_id"])[0]
    assert first["input"] == {"text": "item 0"} and first["outputs"][0]["score"] == 10
    assert [entry["_id"] for entry in sdk.list_runs()] == [run["_id"]]


def test_start_run_refuses_a_model_not_written_provider_colon_model(sdk: PromptCrafterClient) -> None:
    with pytest.raises(ValueError, match="provider:model"):
        sdk.start_run("prompt_1", "dataset_1", ["gpt-4o"])


@pytest.mark.anyio
async def test_the_async_client_starts_and_waits_for_a_run(
    async_sdk: AsyncPromptCrafterClient, fake: FakeOpenAI
) -> None:
    prompt = await async_sdk.create_prompt("Echo", "{{text}}", "echo")
    dataset = await async_sdk.create_dataset("few")
    await async_sdk.add_items(dataset["_id"], [{"input": {"text": "a"}, "expected": "A"}])
    await async_sdk.create_provider("local", fake.base_url)
    run = await async_sdk.start_run(
        prompt["_id"], dataset["_id"], [{"provider": "local", "model": "upper"}], scorers=["exact"]
    )
    done = await async_sdk.wait_for_run(run["_id"], poll_seconds=0.1, timeout=30)
    assert done["progress"]["done"] == 1 and done["leaderboard"]["entries"][0]["mean"] == 10
    cancelled = await async_sdk.start_run(prompt["_id"], dataset["_id"], ["local:echo"])
    with pytest.raises(ConflictError):
        await async_sdk.wait_for_run(cancelled["_id"], poll_seconds=0.1, timeout=30)
        await async_sdk.cancel_run(cancelled["_id"])
