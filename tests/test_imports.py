"""Imports (EVALUATION.md §6): `POST /import` reads our exports and the public sample data,
keeps ids where they are free, maps them where not, and adds nothing the second time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from helpers import User

SAMPLE = json.loads((Path(__file__).parent / "data" / "promptcrafter-db-source.json").read_text())


def imported(client: TestClient, user: User, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/import", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def sample() -> dict[str, Any]:
    return {"prompts": SAMPLE["prompts"], "logs": SAMPLE["logs"]}


def all_logs(client: TestClient, user: User) -> list[dict[str, Any]]:
    return client.get("/logs", headers=user.headers).json()  # type: ignore[no-any-return]


def test_the_sample_data_keeps_its_ids_and_times(client: TestClient, user: User) -> None:
    answer = imported(client, user, sample())
    assert answer["prompts"] == {"created": 3, "existing": 0}
    assert answer["logs"] == {"created": 3, "existing": 0}
    assert answer["ids"] == {
        "prompts": {"prompt1": "prompt1", "prompt2": "prompt2", "prompt3": "prompt3"},
        "logs": {"log1": "log1", "log2": "log2", "log3": "log3"},
    }
    prompt = client.get("/prompts/prompt1", headers=user.headers).json()
    source = SAMPLE["prompts"][0]
    assert {key: prompt[key] for key in ("title", "content", "model", "tags")} == {
        key: source[key] for key in ("title", "content", "model", "tags")
    }
    assert prompt["ownerId"] == user.id
    assert (prompt["version"], prompt["createdAt"]) == (1, "2024-02-01T08:00:00.000Z")
    log = next(log for log in all_logs(client, user) if log["_id"] == "log1")
    assert (log["promptId"], log["promptVersion"], log["score"]) == ("prompt1", 1, 8)
    assert log["createdAt"] == "2024-03-01T11:00:00.000Z"
    assert client.get("/search?q=caption", headers=user.headers).json()[0]["_id"] == "prompt1"
    assert client.get("/search?q=caffeinemode&in=logs", headers=user.headers).json()[0]["_id"] == "log1"


def test_a_second_import_adds_nothing(client: TestClient, user: User) -> None:
    imported(client, user, sample())
    again = imported(client, user, sample())
    assert again["prompts"] == {"created": 0, "existing": 3}
    assert again["logs"] == {"created": 0, "existing": 3}
    assert len(client.get("/prompts", headers=user.headers).json()) == 3
    assert len(all_logs(client, user)) == 3


def test_ids_another_user_has_are_mapped_and_stay_mapped(client: TestClient, user: User, other_user: User) -> None:
    imported(client, user, sample())
    answer = imported(client, other_user, sample())
    mapped = answer["ids"]["prompts"]
    assert answer["prompts"]["created"] == 3
    assert all(target.startswith("prompt_") for target in mapped.values())
    logs = all_logs(client, other_user)
    assert {log["promptId"] for log in logs} == set(mapped.values())
    assert imported(client, other_user, sample())["ids"] == answer["ids"]
    assert len(all_logs(client, other_user)) == 3
    assert client.get("/prompts/prompt1", headers=user.headers).status_code == 200


def test_logs_can_follow_their_prompts_in_a_later_request(client: TestClient, user: User, other_user: User) -> None:
    imported(client, user, {"prompts": SAMPLE["prompts"]})
    imported(client, other_user, {"prompts": SAMPLE["prompts"]})
    answer = imported(client, other_user, {"logs": SAMPLE["logs"]})
    prompt_ids = {log["promptId"] for log in all_logs(client, other_user)}
    assert answer["logs"]["created"] == 3
    assert "prompt1" not in prompt_ids and len(prompt_ids) == 3


def test_an_export_moves_to_another_account_with_versions_labels_and_logs(
    client: TestClient, user: User, other_user: User
) -> None:
    body = {"title": "Greeter", "content": "Say hi to {{name}}.", "model": "gpt-4o", "tags": ["a"]}
    prompt_id = client.post("/prompts", json=body, headers=user.headers).json()["_id"]
    client.patch(f"/prompts/{prompt_id}", json={"content": "Greet {{name}} warmly."}, headers=user.headers)
    client.put(f"/prompts/{prompt_id}/labels/production", json={"version": 1}, headers=user.headers)
    log = {"promptId": prompt_id, "output": "Hi Ada", "modelUsed": "m", "promptVersion": 1, "input": {"name": "Ada"}}
    client.post("/logs", json=log, headers=user.headers)
    prompt_lines = client.get("/prompts/export?format=jsonl", headers=user.headers).text.splitlines()
    log_lines = client.get("/logs/export?format=jsonl", headers=user.headers).text.splitlines()
    body = {"prompts": [json.loads(line) for line in prompt_lines], "logs": [json.loads(line) for line in log_lines]}

    answer = imported(client, other_user, body)

    [new_id] = answer["ids"]["prompts"].values()
    assert new_id != prompt_id and answer["prompts"] == {"created": 1, "existing": 0}
    production = client.get(f"/prompts/{new_id}?label=production", headers=other_user.headers).json()
    assert (production["version"], production["content"]) == (1, "Say hi to {{name}}.")
    current = client.get(f"/prompts/{new_id}", headers=other_user.headers).json()
    assert (current["version"], current["content"]) == (2, "Greet {{name}} warmly.")
    [stored] = all_logs(client, other_user)
    assert (stored["promptId"], stored["promptVersion"], stored["input"]) == (new_id, 1, {"name": "Ada"})
    versions = client.get(f"/prompts/{new_id}/versions", headers=other_user.headers).json()
    assert [(version["version"], version["labels"]) for version in versions] == [(2, []), (1, ["production"])]


def test_a_reimported_export_of_ones_own_library_adds_nothing(client: TestClient, user: User) -> None:
    imported(client, user, sample())
    lines = client.get("/prompts/export?format=jsonl", headers=user.headers).text.splitlines()
    answer = imported(client, user, {"prompts": [json.loads(line) for line in lines]})
    assert answer["prompts"] == {"created": 0, "existing": 3}


def test_the_same_record_twice_in_one_request_is_stored_once(client: TestClient, user: User) -> None:
    prompt = SAMPLE["prompts"][0]
    answer = imported(client, user, {"prompts": [prompt, prompt], "logs": [SAMPLE["logs"][0]] * 2})
    assert answer["prompts"] == {"created": 1, "existing": 1}
    assert len(all_logs(client, user)) == 1


def test_records_without_ids_get_new_ones(client: TestClient, user: User) -> None:
    prompt = {key: value for key, value in SAMPLE["prompts"][0].items() if key != "_id"}
    answer = imported(client, user, {"prompts": [prompt]})
    assert answer["prompts"] == {"created": 1, "existing": 0} and answer["ids"]["prompts"] == {}
    [stored] = client.get("/prompts", headers=user.headers).json()
    assert stored["_id"].startswith("prompt_")


def test_a_log_whose_prompt_is_unknown_refuses_the_whole_request(client: TestClient, user: User) -> None:
    body = {"prompts": SAMPLE["prompts"][:1], "logs": [SAMPLE["logs"][0], {**SAMPLE["logs"][1], "promptId": "nope"}]}
    response = client.post("/import", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {
        "error": "Required fields are missing or invalid.",
        "details": [
            {"field": "logs.1.promptId", "message": "The log's prompt is neither in this import nor one of yours."}
        ],
    }
    assert client.get("/prompts", headers=user.headers).json() == []


def test_another_users_prompt_is_not_a_prompt_of_the_import(client: TestClient, user: User, other_user: User) -> None:
    imported(client, user, {"prompts": SAMPLE["prompts"]})
    response = client.post("/import", json={"logs": SAMPLE["logs"]}, headers=other_user.headers)
    assert response.status_code == 400
    assert [detail["field"] for detail in response.json()["details"]] == [
        "logs.0.promptId",
        "logs.1.promptId",
        "logs.2.promptId",
    ]


def test_a_version_the_prompt_does_not_have_is_refused(client: TestClient, user: User) -> None:
    body = {"prompts": SAMPLE["prompts"][:1], "logs": [{**SAMPLE["logs"][0], "promptVersion": 2}]}
    response = client.post("/import", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "logs.0.promptVersion", "message": "The prompt has no version with the specified number."}
    ]


def test_malformed_imports_are_400_naming_the_field(client: TestClient, user: User) -> None:
    prompt = SAMPLE["prompts"][0]
    cases: list[tuple[Any, str]] = [
        ({}, "body"),
        ({"prompts": []}, "body"),
        ({"prompts": [prompt] * 1001}, "prompts"),
        ({"prompts": [{**prompt, "createdAt": "yesterday"}]}, "prompts.0.createdAt"),
        ({"prompts": [{**prompt, "createdAt": "0001-01-01T00:00:00Z"}]}, "prompts.0.createdAt"),
        ({"prompts": [{**prompt, "_id": "no spaces"}]}, "prompts.0._id"),
        ({"prompts": [{**prompt, "title": "x"}]}, "prompts.0.title"),
        ({"prompts": [{**prompt, "versions": [{**prompt, "version": 1}] * 2}]}, "prompts.0"),
        ({"prompts": [{**prompt, "version": 1, "versions": [{**prompt, "version": 2}]}]}, "prompts.0"),
        (
            {"prompts": [{**prompt, "versions": [{**prompt, "version": 1, "labels": ["Bad Label"]}]}]},
            "prompts.0.versions.0.labels.0",
        ),
        ({"logs": [{**SAMPLE["logs"][0], "score": 11}]}, "logs.0.score"),
        ({"prompts": [prompt], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = client.post("/import", json=body, headers=user.headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == "Required fields are missing or invalid."
        assert field in [detail["field"] for detail in response.json()["details"]], (field, response.json())
    assert client.get("/prompts", headers=user.headers).json() == []


def test_import_needs_a_token(client: TestClient) -> None:
    response = client.post("/import", json=sample())
    assert (response.status_code, response.json()) == (401, {"error": "Authentication token is missing."})
