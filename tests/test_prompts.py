"""The prompt library: POST/GET /prompts, GET/PATCH/DELETE /prompts/{id}."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import User, store_prompts, stored_prompt
from promptcrafter.config import Settings

PROMPT = {
    "title": "Positive Product Review Writer",
    "content": "Imagine you are a satisfied customer. Write a friendly review for an e-bike.",
    "model": "Grok-3 Beta",
    "tags": ["review", "product", "writing"],
}
INVALID = "Required fields are missing or invalid."
SUBMITTED_INVALID = "Submitted data is invalid."


def create(client: TestClient, user: User, **fields: Any) -> dict[str, Any]:
    response = client.post("/prompts", json={**PROMPT, **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_returns_the_stored_prompt(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    assert prompt["_id"].startswith("prompt_")
    assert prompt["ownerId"] == user.id
    assert {key: prompt[key] for key in PROMPT} == PROMPT
    assert prompt["createdAt"] == prompt["updatedAt"]
    assert prompt["createdAt"].endswith("Z")


def test_tags_default_to_empty_list_and_repeats_are_kept_once(client: TestClient, user: User) -> None:
    untagged = client.post("/prompts", json={k: v for k, v in PROMPT.items() if k != "tags"}, headers=user.headers)
    assert untagged.json()["tags"] == []
    assert create(client, user, tags=["b", "a", "b", "c", "a"])["tags"] == ["b", "a", "c"]


def test_strings_are_stored_exactly_as_sent(client: TestClient, user: User) -> None:
    prompt = create(client, user, title="  Ünïcode 🚀 Title ", content="line\n\ttab  ")
    fetched = client.get(f"/prompts/{prompt['_id']}", headers=user.headers).json()
    assert fetched["title"] == "  Ünïcode 🚀 Title "
    assert fetched["content"] == "line\n\ttab  "


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "ab"},
        {"title": "x" * 101},
        {"title": "     "},
        {"title": None},
        {"title": 123},
        {"content": ""},
        {"content": " \n "},
        {"content": "x" * 100_001},
        {"model": ""},
        {"model": "m" * 101},
        {"tags": None},
        {"tags": "review"},
        {"tags": [""]},
        {"tags": ["   "]},
        {"tags": ["t" * 51]},
        {"tags": [f"tag{i}" for i in range(21)]},
        {"tags": [1, 2]},
        {"_id": "prompt1"},
        {"ownerId": "user1"},
        {"createdAt": "2024-01-01T00:00:00Z"},
        {"updatedAt": "2024-01-01T00:00:00Z"},
        {"color": "blue"},
        {"content": "nul \u0000 byte"},
    ],
)
def test_create_with_invalid_field_is_rejected(client: TestClient, user: User, fields: dict[str, Any]) -> None:
    response = client.post("/prompts", json={**PROMPT, **fields}, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["error"] == INVALID


@pytest.mark.parametrize("missing", ["title", "content", "model"])
def test_create_without_required_field_is_rejected_with_details(client: TestClient, user: User, missing: str) -> None:
    body = {key: value for key, value in PROMPT.items() if key != missing}
    response = client.post("/prompts", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["error"] == INVALID
    assert response.json()["details"][0]["field"] == missing


def test_limits_are_inclusive_and_count_code_points(client: TestClient, user: User) -> None:
    prompt = create(
        client,
        user,
        title="é" * 100,
        content="🚀" * 100_000,
        model="m" * 100,
        tags=[f"{i}" + "t" * 40 for i in range(20)],
    )
    assert len(prompt["content"]) == 100_000
    assert create(client, user, title="abc")["title"] == "abc"


def test_list_shows_only_own_prompts_oldest_first(client: TestClient, user: User, other_user: User) -> None:
    first = create(client, user, title="First")
    create(client, other_user, title="Not yours")
    second = create(client, user, title="Second")
    response = client.get("/prompts", headers=user.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert [p["_id"] for p in response.json()] == [first["_id"], second["_id"]]


def test_list_is_empty_array_for_new_user(client: TestClient, user: User) -> None:
    assert client.get("/prompts", headers=user.headers).json() == []


def test_list_streams_many_prompts_completely(client: TestClient, settings: Settings, user: User) -> None:
    stored = store_prompts(settings.database_url, [stored_prompt(user.id, i) for i in range(1203)])
    created = create(client, user, title="Created through the API")["_id"]
    listed = client.get("/prompts", headers=user.headers).json()
    assert [p["_id"] for p in listed] == [*stored, created]


@pytest.mark.parametrize("query", ["offset=50", "foo=bar", "page=x"])
def test_list_with_unknown_parameter_is_rejected(client: TestClient, user: User, query: str) -> None:
    response = client.get(f"/prompts?{query}", headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "The request is malformed or contains invalid parameters."}


def test_get_returns_own_prompt(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    response = client.get(f"/prompts/{prompt['_id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == prompt


def test_get_of_unknown_prompt_is_not_found(client: TestClient, user: User) -> None:
    response = client.get("/prompts/prompt101", headers=user.headers)
    assert response.status_code == 404
    assert response.json() == {"error": "No prompt found with the specified ID."}


def test_get_of_other_users_prompt_is_forbidden(client: TestClient, user: User, other_user: User) -> None:
    theirs = create(client, other_user)
    response = client.get(f"/prompts/{theirs['_id']}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == {"error": "You do not have permission to access this resource."}


@pytest.mark.parametrize("bad_id", ["invalid prompt id", "x" * 65, "semi;colon", "dot.ted", "a/b", "%27%20OR%201=1"])
def test_get_with_malformed_id_is_rejected(client: TestClient, user: User, bad_id: str) -> None:
    response = client.get(f"/prompts/{bad_id}", headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "The request is malformed or the prompt ID format is invalid."}


def test_get_with_empty_id_is_rejected(client: TestClient, user: User) -> None:
    response = client.get("/prompts/", headers=user.headers)
    assert response.status_code == 400


def test_patch_changes_only_given_fields_and_moves_updated_at(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    response = client.patch(
        f"/prompts/{prompt['_id']}",
        json={"model": "GPT-4 Turbo", "tags": ["email", "apology", "customer"]},
        headers=user.headers,
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["model"] == "GPT-4 Turbo"
    assert updated["tags"] == ["email", "apology", "customer"]
    assert (updated["title"], updated["content"]) == (prompt["title"], prompt["content"])
    assert updated["createdAt"] == prompt["createdAt"]
    assert updated["updatedAt"] > prompt["updatedAt"]
    assert client.get(f"/prompts/{prompt['_id']}", headers=user.headers).json() == updated


def test_rapid_patches_keep_updated_at_strictly_increasing(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    stamps = [prompt["updatedAt"]]
    for i in range(5):
        body = client.patch(f"/prompts/{prompt['_id']}", json={"title": f"Title {i}"}, headers=user.headers).json()
        stamps.append(body["updatedAt"])
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "a"},
        {"title": None},
        {"tags": None},
        {"tags": [""]},
        {"_id": "x"},
        {"ownerId": "x"},
        {"createdAt": "2024-01-01T00:00:00Z"},
        {"unknown": 1},
        {"content": ""},
    ],
)
def test_patch_with_invalid_data_is_rejected_and_changes_nothing(
    client: TestClient, user: User, body: dict[str, Any]
) -> None:
    prompt = create(client, user)
    response = client.patch(f"/prompts/{prompt['_id']}", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["error"] == SUBMITTED_INVALID
    assert client.get(f"/prompts/{prompt['_id']}", headers=user.headers).json() == prompt


def test_patch_with_malformed_json_is_rejected(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    raw = b'{\n  "title": "a"\n  "model": "GPT-4 Turbo"\n}'
    response = client.patch(
        f"/prompts/{prompt['_id']}", content=raw, headers={**user.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": SUBMITTED_INVALID}


def test_patch_errors_follow_the_contract_order(client: TestClient, user: User, other_user: User) -> None:
    theirs = create(client, other_user)
    bad_body = {"title": "a"}
    malformed = client.patch("/prompts/bad id", json=bad_body, headers=user.headers)
    unknown = client.patch("/prompts/prompt101", json=bad_body, headers=user.headers)
    forbidden = client.patch(f"/prompts/{theirs['_id']}", json=bad_body, headers=user.headers)
    assert (malformed.status_code, malformed.json()) == (400, {"error": "The prompt ID format is invalid."})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "No prompt found with the specified ID."})
    assert (forbidden.status_code, forbidden.json()) == (
        403,
        {"error": "Prompt does not belong to the authenticated user."},
    )
    assert client.get(f"/prompts/{theirs['_id']}", headers=other_user.headers).json() == theirs


def test_delete_removes_prompt_and_its_logs(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    kept = create(client, user, title="Kept")
    for target in (prompt, prompt, kept):
        client.post("/logs", json={"promptId": target["_id"], "output": "out", "modelUsed": "m"}, headers=user.headers)
    response = client.delete(f"/prompts/{prompt['_id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/prompts/{prompt['_id']}", headers=user.headers).status_code == 404
    assert client.get(f"/logs?promptId={prompt['_id']}", headers=user.headers).status_code == 404
    assert [log["promptId"] for log in client.get("/logs", headers=user.headers).json()] == [kept["_id"]]


def test_delete_errors(client: TestClient, user: User, other_user: User) -> None:
    theirs = create(client, other_user)
    assert client.delete("/prompts/bad%20id", headers=user.headers).json() == {
        "error": "The prompt ID format is invalid."
    }
    assert client.delete("/prompts/prompt101", headers=user.headers).status_code == 404
    forbidden = client.delete(f"/prompts/{theirs['_id']}", headers=user.headers)
    assert (forbidden.status_code, forbidden.json()) == (
        403,
        {"error": "Prompt does not belong to the authenticated user."},
    )
    assert client.get(f"/prompts/{theirs['_id']}", headers=other_user.headers).status_code == 200


def test_deleting_twice_is_not_found_the_second_time(client: TestClient, user: User) -> None:
    prompt = create(client, user)
    assert client.delete(f"/prompts/{prompt['_id']}", headers=user.headers).status_code == 204
    assert client.delete(f"/prompts/{prompt['_id']}", headers=user.headers).status_code == 404


def test_created_at_is_set_by_the_server(client: TestClient, user: User) -> None:
    before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 5))
    prompt = create(client, user)
    assert prompt["createdAt"] >= before
