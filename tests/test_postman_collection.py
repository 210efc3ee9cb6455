"""The public Postman collection, run top to bottom against a fresh server, unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import LiveServer

COLLECTION = Path(__file__).parent / "data" / "PromptCrafter.postman_collection.json"
# What the contract answers to each request, in the collection's order.
EXPECTED = [
    ("Sign up", 201),
    ("Log in", 200),
    ("Save a prompt", 201),
    ("Retrieve a prompt by ID", 200),
    ("Update a prompt", 200),
    ("Delete a prompt", 204),
    ("Log a generated output", 404),  # the literal promptId "prompt101" does not exist
    ("Retrieve all logs", 200),
    ("Retrieve logs by prompt", 404),  # its prompt was just deleted
    ("Delete a log", 400),  # {{logId}} was never set: DELETE /logs/ has an empty id
    ("Search prompts", 400),  # {{searchQuery}} is empty
]
SAVE_VARIABLE = re.compile(r'pm\.collectionVariables\.set\("(\w+)",\s*\w+\.(\w+)\)')
ON_STATUS = re.compile(r"pm\.response\.code === (\d+)")


def requests_in_order(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from requests_in_order(item["item"])
        else:
            yield item


def run_collection(
    send: Callable[[str, str, dict[str, str], str | None], httpx.Response],
    pinned: dict[str, str] | None = None,
) -> list[tuple[str, int, Any]]:
    """Send every request as Postman would, applying the collection's own test scripts; the
    `pinned` variables keep their values whatever the scripts set (a person pasting a value)."""
    collection = json.loads(COLLECTION.read_text())
    variables = {variable["key"]: variable["value"] for variable in collection["variable"]}

    def fill(value: str) -> str:
        return re.sub(r"\{\{(\w+)\}\}", lambda match: variables.get(match.group(1), ""), value)

    results = []
    for item in requests_in_order(collection["item"]):
        request = item["request"]
        url = fill(request["url"]["raw"]).removeprefix(variables["baseUrl"])
        headers = {header["key"]: fill(header["value"]) for header in request.get("header", [])}
        body = request.get("body", {}).get("raw")
        response = send(request["method"], url, headers, fill(body) if body else None)
        payload = response.json() if response.content else None
        for event in item.get("event", []):
            script = "\n".join(event["script"]["exec"])
            status = ON_STATUS.search(script)
            if status and int(status.group(1)) == response.status_code:
                for name, field in SAVE_VARIABLE.findall(script):
                    variables[name] = payload[field]
        variables.update(pinned or {})
        results.append((item["name"], response.status_code, payload))
    return results


def check(results: list[tuple[str, int, Any]]) -> None:
    assert [(name, status) for name, status, _ in results] == EXPECTED
    by_name = {name: payload for name, _, payload in results}
    assert by_name["Sign up"]["message"] == "User account created successfully."
    assert by_name["Update a prompt"]["model"] == "GPT-4 Turbo"
    assert by_name["Update a prompt"]["tags"] == ["email", "apology", "customer"]
    assert by_name["Log a generated output"] == {"error": "Prompt ID does not exist or is not accessible."}
    assert by_name["Retrieve all logs"] == []
    assert by_name["Retrieve logs by prompt"] == {"error": "No logs found for the specified prompt ID."}
    assert by_name["Search prompts"] == {"error": "Missing or malformed query string."}


def test_collection_runs_through_the_app_on_each_store(client: TestClient) -> None:
    check(run_collection(lambda method, url, headers, body: client.request(method, url, headers=headers, content=body)))


def test_collection_runs_against_a_live_server(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        check(
            run_collection(lambda method, url, headers, body: http.request(method, url, headers=headers, content=body))
        )


def test_second_run_conflicts_on_sign_up_but_logs_in(client: TestClient) -> None:
    run_collection(lambda method, url, headers, body: client.request(method, url, headers=headers, content=body))
    again = run_collection(
        lambda method, url, headers, body: client.request(method, url, headers=headers, content=body)
    )
    assert [status for _, status, _ in again][:3] == [409, 200, 201]


def test_collection_runs_with_an_api_key_in_place_of_the_token(client: TestClient) -> None:
    def send(method: str, url: str, headers: dict[str, str], body: str | None) -> httpx.Response:
        return client.request(method, url, headers=headers, content=body)

    run_collection(send)  # makes the collection's account
    token = client.post("/auth/login", json={"email": "john@example.com", "password": "password123"}).json()
    scopes = ["prompts:read", "prompts:write", "logs:read", "logs:write", "stats:read"]
    created = client.post(
        "/auth/keys", json={"name": "postman", "scopes": scopes}, headers={"Authorization": f"Bearer {token['token']}"}
    )
    results = run_collection(send, pinned={"token": created.json()["key"]})
    assert [status for _, status, _ in results] == [409, *(status for _, status in EXPECTED[1:])]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
