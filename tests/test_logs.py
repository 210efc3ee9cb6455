"""The seed's resource: POST /logs, GET /logs, GET /logs?promptId=…, DELETE /logs/{id}."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import SEED_STAMP, User, store_logs, stored_log

INVALID = "Required fields are missing or invalid."
# What logs gained with prompt versions (EVALUATION.md §4); null when not given.
NEW_FIELDS = {
    "promptVersion",
    "input",
    "latencyMs",
    "inputTokens",
    "outputTokens",
    "costUsd",
    "runId",
    "itemId",
    "scores",
}
OUTPUT = "The business report finds that revenue increased 12% last quarter."


@pytest.fixture
def prompt_id(client: TestClient, user: User) -> str:
    return make_prompt(client, user)


def make_prompt(client: TestClient, user: User, title: str = "Summarize a report") -> str:
    body = {"title": title, "content": "Summarize this business report.", "model": "GPT-4o"}
    return client.post("/prompts", json=body, headers=user.headers).json()["_id"]  # type: ignore[no-any-return]


def make_log(client: TestClient, user: User, prompt_id: str, **fields: Any) -> dict[str, Any]:
    body = {"promptId": prompt_id, "output": OUTPUT, "modelUsed": "GPT-4o", **fields}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_returns_the_stored_log(client: TestClient, user: User, prompt_id: str) -> None:
    log = make_log(client, user, prompt_id, notes="Clear and actionable.", score=9)
    assert set(log) == {"_id", "promptId", "output", "notes", "modelUsed", "score", "createdAt", *NEW_FIELDS}
    assert log["_id"].startswith("log_")
    assert (log["promptId"], log["output"], log["notes"], log["modelUsed"], log["score"]) == (
        prompt_id,
        OUTPUT,
        "Clear and actionable.",
        "GPT-4o",
        9,
    )


def test_optional_fields_default_to_null(client: TestClient, user: User, prompt_id: str) -> None:
    log = make_log(client, user, prompt_id)
    assert (log["notes"], log["score"]) == (None, None)


@pytest.mark.parametrize("score", [0, 10, 7, 7.0, 0.0, 10.0, 7.5, 0.25, 9.999])
def test_score_is_returned_as_sent(client: TestClient, user: User, prompt_id: str, score: float) -> None:
    created = make_log(client, user, prompt_id, score=score)
    raw = client.get(f"/logs?promptId={prompt_id}", headers=user.headers).text
    assert created["score"] == score
    assert type(created["score"]) is type(score)
    assert f'"score":{score}' in raw


def test_empty_notes_are_kept(client: TestClient, user: User, prompt_id: str) -> None:
    assert make_log(client, user, prompt_id, notes="")["notes"] == ""


def test_model_is_accepted_as_alias_of_model_used(client: TestClient, user: User, prompt_id: str) -> None:
    body = {"promptId": prompt_id, "output": OUTPUT, "model": "Claude"}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 201
    assert response.json()["modelUsed"] == "Claude"
    both = client.post("/logs", json={**body, "modelUsed": "Claude"}, headers=user.headers)
    assert both.status_code == 201


@pytest.mark.parametrize(
    "fields",
    [
        {"output": None},
        {"output": ""},
        {"output": "   "},
        {"output": "x" * 200_001},
        {"modelUsed": ""},
        {"modelUsed": "m" * 101},
        {"modelUsed": 5},
        {"notes": "n" * 10_001},
        {"notes": 5},
        {"score": -0.1},
        {"score": 10.01},
        {"score": True},
        {"score": "7"},
        {"score": [7]},
        {"promptId": ""},
        {"promptId": "bad id"},
        {"promptId": 101},
        {"model": "Claude"},
        {"_id": "log1"},
        {"createdAt": "2024-03-03T13:00:00Z"},
        {"extra": 1},
    ],
)
def test_create_with_invalid_field_is_rejected(
    client: TestClient, user: User, prompt_id: str, fields: dict[str, Any]
) -> None:
    body = {"promptId": prompt_id, "output": OUTPUT, "modelUsed": "GPT-4o", **fields}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["error"] == INVALID
    assert client.get("/logs", headers=user.headers).json() == []


@pytest.mark.parametrize("missing", ["promptId", "output", "modelUsed"])
def test_create_without_required_field_is_rejected(
    client: TestClient, user: User, prompt_id: str, missing: str
) -> None:
    body = {
        key: value
        for key, value in {"promptId": prompt_id, "output": OUTPUT, "modelUsed": "m"}.items()
        if key != missing
    }
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["error"] == INVALID


@pytest.mark.parametrize("raw", [b"NaN", b'{"score": NaN}', b"Infinity", b'{"score": 1e400}'])
def test_non_finite_numbers_are_rejected(client: TestClient, user: User, prompt_id: str, raw: bytes) -> None:
    body = (
        raw
        if not raw.startswith(b"{")
        else raw[:-1] + f', "promptId": "{prompt_id}", "output": "o", "modelUsed": "m"}}'.encode()
    )
    response = client.post("/logs", content=body, headers={**user.headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == INVALID


def test_create_for_unknown_prompt_is_not_found(client: TestClient, user: User) -> None:
    response = client.post(
        "/logs", json={"promptId": "prompt101", "output": OUTPUT, "modelUsed": "GPT-4o"}, headers=user.headers
    )
    assert response.status_code == 404
    assert response.json() == {"error": "Prompt ID does not exist or is not accessible."}


def test_create_for_other_users_prompt_is_not_found(client: TestClient, user: User, other_user: User) -> None:
    theirs = make_prompt(client, other_user)
    response = client.post("/logs", json={"promptId": theirs, "output": OUTPUT, "modelUsed": "m"}, headers=user.headers)
    assert response.status_code == 404
    assert response.json() == {"error": "Prompt ID does not exist or is not accessible."}
    assert client.get(f"/logs?promptId={theirs}", headers=other_user.headers).json() == []


def test_body_is_validated_before_the_prompt_is_looked_up(client: TestClient, user: User) -> None:
    response = client.post("/logs", json={"promptId": "prompt101", "modelUsed": "m"}, headers=user.headers)
    assert response.status_code == 400


def test_list_shows_all_own_logs_oldest_first(client: TestClient, user: User, other_user: User) -> None:
    first, second = make_prompt(client, user), make_prompt(client, user, "Another prompt")
    make_log(client, other_user, make_prompt(client, other_user))
    created = [make_log(client, user, pid, output=f"output {i}")["_id"] for i, pid in enumerate([first, second, first])]
    response = client.get("/logs", headers=user.headers)
    assert response.status_code == 200
    assert [log["_id"] for log in response.json()] == created


def test_list_is_empty_array_without_logs(client: TestClient, user: User) -> None:
    assert client.get("/logs", headers=user.headers).json() == []


def test_list_by_prompt_shows_that_prompts_logs(client: TestClient, user: User, prompt_id: str) -> None:
    other = make_prompt(client, user, "Other prompt")
    mine = [make_log(client, user, prompt_id)["_id"] for _ in range(3)]
    make_log(client, user, other)
    logs = client.get(f"/logs?promptId={prompt_id}", headers=user.headers).json()
    assert [log["_id"] for log in logs] == mine


def test_list_by_prompt_without_logs_is_empty_array(client: TestClient, user: User, prompt_id: str) -> None:
    response = client.get(f"/logs?promptId={prompt_id}", headers=user.headers)
    assert (response.status_code, response.json()) == (200, [])


def test_list_by_unknown_prompt_is_not_found(client: TestClient, user: User) -> None:
    response = client.get("/logs?promptId=prompt101", headers=user.headers)
    assert response.status_code == 404
    assert response.json() == {"error": "No logs found for the specified prompt ID."}


def test_list_by_other_users_prompt_is_forbidden(client: TestClient, user: User, other_user: User) -> None:
    theirs = make_prompt(client, other_user)
    make_log(client, other_user, theirs)
    response = client.get(f"/logs?promptId={theirs}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == {"error": "User is not authorized to view logs for this prompt."}


@pytest.mark.parametrize("query", ["promptId=", "promptId=bad%20id", "promptId=" + "x" * 65, "promptId=a&promptId=b"])
def test_list_with_malformed_prompt_id_is_rejected(client: TestClient, user: User, query: str) -> None:
    response = client.get(f"/logs?{query}", headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "`promptId` missing or malformed"}


@pytest.mark.parametrize("query", ["offset=50", "promptid=x", "order=score"])
def test_list_with_unknown_parameter_is_rejected(client: TestClient, user: User, query: str) -> None:
    response = client.get(f"/logs?{query}", headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "The request is malformed or contains invalid parameters."}


def test_large_outputs_stream_back_intact(client: TestClient, user: User, prompt_id: str) -> None:
    outputs = [f"{i}:" + "ü" * 199_990 for i in range(5)]
    for output in outputs:
        make_log(client, user, prompt_id, output=output)
    logs = client.get("/logs", headers=user.headers).json()
    assert [log["output"] for log in logs] == outputs


def test_delete_removes_one_log(client: TestClient, user: User, prompt_id: str) -> None:
    gone, kept = make_log(client, user, prompt_id), make_log(client, user, prompt_id)
    response = client.delete(f"/logs/{gone['_id']}", headers=user.headers)
    assert (response.status_code, response.content) == (204, b"")
    assert client.get("/logs", headers=user.headers).json() == [kept]
    again = client.delete(f"/logs/{gone['_id']}", headers=user.headers)
    assert (again.status_code, again.json()) == (404, {"error": "No log found with the specified ID."})


def test_delete_of_other_users_log_is_forbidden(client: TestClient, user: User, other_user: User) -> None:
    theirs = make_log(client, other_user, make_prompt(client, other_user))
    response = client.delete(f"/logs/{theirs['_id']}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == {"error": "Log does not belong to the authenticated user."}
    assert client.get("/logs", headers=other_user.headers).json() == [theirs]


@pytest.mark.parametrize("path", ["/logs/invalid log id", "/logs/", "/logs/a/b", "/logs/" + "x" * 65])
def test_delete_with_malformed_id_is_rejected(client: TestClient, user: User, path: str) -> None:
    response = client.delete(path, headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "The request is malformed or the log ID format is invalid."}


def test_logs_stored_in_bulk_list_like_any_other(client: TestClient, settings: Any, user: User, prompt_id: str) -> None:
    rows = [
        stored_log(prompt_id, user.id, i, output=f"bulk {i}", score=score) for i, score in enumerate([7, 7.5, None])
    ]
    store_logs(settings.database_url, rows)
    listed = client.get(f"/logs?promptId={prompt_id}", headers=user.headers).json()
    assert [(log["_id"], log["score"]) for log in listed] == [
        (rows[0]["id"], 7),
        (rows[1]["id"], 7.5),
        (rows[2]["id"], None),
    ]
    assert type(listed[0]["score"]) is int


def test_long_lists_come_back_whole_and_in_order_across_pages(
    client: TestClient, settings: Any, user: User, prompt_id: str
) -> None:
    """Pages end after 500 rows or once their texts pass a size budget; ties in time are
    broken by id, so no row is lost or repeated at a page boundary."""
    rows = [
        stored_log(
            prompt_id,
            user.id,
            i,
            created_at=SEED_STAMP + i // 7,
            output="long " * 20_000 if i % 97 == 0 else f"short {i}",
            notes="n" * (i % 50) or None,
        )
        for i in range(1_234)
    ]
    store_logs(settings.database_url, rows)
    expected = [row["id"] for row in sorted(rows, key=lambda row: (row["created_at"], row["id"]))]
    for path in (f"/logs?promptId={prompt_id}", "/logs"):
        listed = client.get(path, headers=user.headers).json()
        assert [log["_id"] for log in listed] == expected
    assert listed[0]["output"] == rows[0]["output"]


@pytest.mark.parametrize("count", [499, 500, 501])
def test_lists_of_about_one_page_are_whole(
    client: TestClient, settings: Any, user: User, prompt_id: str, count: int
) -> None:
    rows = [stored_log(prompt_id, user.id, i, output=f"o {i}") for i in range(count)]
    store_logs(settings.database_url, rows)
    response = client.get(f"/logs?promptId={prompt_id}", headers=user.headers)
    assert [log["_id"] for log in response.json()] == [row["id"] for row in rows]


# Version, input and usage (EVALUATION.md §4)


def test_a_log_shows_every_new_field_null_when_not_given(client: TestClient, user: User, prompt_id: str) -> None:
    log = make_log(client, user, prompt_id)
    assert NEW_FIELDS <= set(log)
    assert log["promptVersion"] == 1
    unset = NEW_FIELDS - {"promptVersion"}
    assert {field: log[field] for field in unset} == dict.fromkeys(unset)


def test_a_log_comes_from_the_current_version_unless_it_says(client: TestClient, user: User, prompt_id: str) -> None:
    client.patch(f"/prompts/{prompt_id}", json={"model": "gpt-4o-mini"}, headers=user.headers)
    assert make_log(client, user, prompt_id)["promptVersion"] == 2
    assert make_log(client, user, prompt_id, promptVersion=1)["promptVersion"] == 1
    response = client.post(
        "/logs", json={"promptId": prompt_id, "output": "o", "modelUsed": "m", "promptVersion": 3}, headers=user.headers
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "promptVersion", "message": "The prompt has no version with the specified number."}
    ]


def test_input_and_usage_are_stored_as_sent(client: TestClient, user: User, prompt_id: str) -> None:
    fields = {
        "input": {"ticket": "VPN down", "audience": "Ops"},
        "latencyMs": 812.5,
        "inputTokens": 120,
        "outputTokens": 0,
        "costUsd": 0.0004,
    }
    log = make_log(client, user, prompt_id, **fields)
    assert {key: log[key] for key in fields} == fields
    listed = client.get(f"/logs?promptId={prompt_id}", headers=user.headers).json()
    assert listed == [log]


@pytest.mark.parametrize(
    "fields",
    [
        {"promptVersion": 0},
        {"promptVersion": 1.0},
        {"promptVersion": "1"},
        {"input": {"a": 1}},
        {"input": ["a"]},
        {"input": {"a": "x" * 100_000}},
        {"latencyMs": -1},
        {"latencyMs": True},
        {"inputTokens": 1.5},
        {"outputTokens": -3},
        {"inputTokens": 10**16},
        {"costUsd": "0.1"},
        {"costUsd": -0.01},
    ],
)
def test_bad_new_fields_are_rejected_and_nothing_is_stored(
    client: TestClient, user: User, prompt_id: str, fields: dict[str, Any]
) -> None:
    body = {"promptId": prompt_id, "output": "o", "modelUsed": "m", **fields}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 400, fields
    assert response.json()["error"] == INVALID
    assert response.json()["details"][0]["field"].split(".")[0] == next(iter(fields))
    assert client.get(f"/logs?promptId={prompt_id}", headers=user.headers).json() == []


def test_logs_of_versions_survive_edits_of_the_prompt(client: TestClient, user: User, prompt_id: str) -> None:
    first = make_log(client, user, prompt_id)
    client.patch(f"/prompts/{prompt_id}", json={"content": "Something else entirely."}, headers=user.headers)
    second = make_log(client, user, prompt_id)
    assert (first["promptVersion"], second["promptVersion"]) == (1, 2)
    version_1 = client.get(f"/prompts/{prompt_id}/versions/1", headers=user.headers).json()
    assert version_1["content"] == "Summarize this business report."


# Batch (EVALUATION.md §6)


def batch(client: TestClient, user: User, logs: Any) -> Any:
    return client.post("/logs/batch", json={"logs": logs}, headers=user.headers)


def test_a_batch_stores_every_log_in_order(client: TestClient, user: User, prompt_id: str) -> None:
    client.patch(f"/prompts/{prompt_id}", json={"model": "claude"}, headers=user.headers)
    items = [
        {"promptId": prompt_id, "output": f"output {i}", "modelUsed": "m", "score": i % 11, "input": {"n": str(i)}}
        for i in range(300)
    ]
    items[7]["promptVersion"] = 1
    response = batch(client, user, items)
    assert response.status_code == 201, response.text
    created = response.json()["logs"]
    assert [log["output"] for log in created] == [f"output {i}" for i in range(300)]
    assert [log["promptVersion"] for log in created[6:9]] == [2, 1, 2]
    assert client.get(f"/logs?promptId={prompt_id}", headers=user.headers).json() == created


def test_one_bad_item_stores_nothing_and_is_named_by_index(
    client: TestClient, user: User, other_user: User, prompt_id: str
) -> None:
    theirs = client.post("/prompts", json={"title": "Theirs", "content": "c", "model": "m"}, headers=other_user.headers)
    good = {"promptId": prompt_id, "output": "o", "modelUsed": "m"}
    response = batch(client, user, [good, {**good, "score": 11}, good, {**good, "output": ""}])
    assert response.status_code == 400
    assert response.json()["error"] == INVALID
    assert [(d["index"], d["field"]) for d in response.json()["details"]] == [(1, "score"), (3, "output")]
    response = batch(client, user, [good, {**good, "promptId": theirs.json()["_id"]}, {**good, "promptVersion": 9}])
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"index": 1, "field": "promptId", "message": "Prompt ID does not exist or is not accessible."},
        {"index": 2, "field": "promptVersion", "message": "The prompt has no version with the specified number."},
    ]
    assert client.get(f"/logs?promptId={prompt_id}", headers=user.headers).json() == []


@pytest.mark.parametrize("body", [{"logs": []}, {"logs": "x"}, {}, {"logs": [{}] * 1001}, [], {"logs": [], "x": 1}])
def test_a_batch_holds_1_to_1000_logs(client: TestClient, user: User, body: Any) -> None:
    response = client.post("/logs/batch", json=body, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["error"] == INVALID


def test_a_batch_of_1000_bad_items_lists_20_problems(client: TestClient, user: User, prompt_id: str) -> None:
    response = batch(client, user, [{"promptId": prompt_id, "output": "", "modelUsed": "m"}] * 1000)
    assert response.status_code == 400
    assert len(response.json()["details"]) == 20
    assert response.json()["moreDetails"] == 980
