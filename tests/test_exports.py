"""Exports (EVALUATION.md §6): logs as JSON Lines or spreadsheet-safe CSV, prompts with their
versions as JSON Lines, streamed."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import User, store_logs, stored_log
from promptcrafter.config import Settings


@pytest.fixture
def prompt_id(client: TestClient, user: User) -> str:
    body = {"title": "Export me", "content": "Say {{x}}.", "model": "gpt-4o", "tags": ["a"]}
    created: str = client.post("/prompts", json=body, headers=user.headers).json()["_id"]
    return created


def log(client: TestClient, user: User, prompt_id: str, **fields: Any) -> dict[str, Any]:
    body = {"promptId": prompt_id, "output": "out", "modelUsed": "m", **fields}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_logs_export_as_json_lines(client: TestClient, user: User, prompt_id: str) -> None:
    created = [log(client, user, prompt_id, score=i, input={"x": str(i)}) for i in range(3)]
    response = client.get("/logs/export?format=jsonl", headers=user.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"] == 'attachment; filename="logs.jsonl"'
    assert response.text.endswith("\n")
    assert [json.loads(line) for line in response.text.splitlines()] == created


def test_logs_export_as_csv_that_spreadsheets_cannot_run(client: TestClient, user: User, prompt_id: str) -> None:
    dangerous = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", 'plain, "quoted"\nline']
    for text in dangerous:
        log(client, user, prompt_id, output=text, notes="=1+1", input={"a": "=b"}, score=7.5, latencyMs=12)
    response = client.get("/logs/export?format=csv", headers=user.headers)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="logs.csv"'
    assert "\r\n" in response.text
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert list(rows[0]) == [
        "_id",
        "promptId",
        "promptVersion",
        "modelUsed",
        "output",
        "notes",
        "score",
        "input",
        "latencyMs",
        "inputTokens",
        "outputTokens",
        "costUsd",
        "createdAt",
    ]
    assert [row["output"] for row in rows] == ["'" + text for text in dangerous[:-1]] + [dangerous[-1]]
    assert {row["notes"] for row in rows} == {"'=1+1"}
    assert {row["input"] for row in rows} == {'{"a":"=b"}'}
    assert {(row["score"], row["latencyMs"], row["costUsd"]) for row in rows} == {("7.5", "12.0", "")}


def test_logs_export_takes_the_list_filters(client: TestClient, user: User, other_user: User, prompt_id: str) -> None:
    kept = log(client, user, prompt_id, modelUsed="claude", score=9)
    log(client, user, prompt_id, modelUsed="gpt", score=9)
    log(client, user, prompt_id, modelUsed="claude", score=1)
    response = client.get(
        f"/logs/export?format=jsonl&promptId={prompt_id}&modelUsed=claude&minScore=5", headers=user.headers
    )
    assert [json.loads(line) for line in response.text.splitlines()] == [kept]
    assert client.get("/logs/export?format=jsonl", headers=other_user.headers).text == ""
    assert client.get(f"/logs/export?format=jsonl&promptId={prompt_id}", headers=other_user.headers).status_code == 403


def test_a_long_export_streams_every_row(client: TestClient, settings: Settings, user: User, prompt_id: str) -> None:
    rows = [stored_log(prompt_id, user.id, i, output="x" * 1000) for i in range(1200)]
    store_logs(settings.database_url, rows)
    response = client.get("/logs/export?format=csv", headers=user.headers)
    assert [row["_id"] for row in csv.DictReader(io.StringIO(response.text, newline=""))] == [row["id"] for row in rows]


def test_prompts_export_with_their_versions_and_labels(client: TestClient, user: User, prompt_id: str) -> None:
    client.patch(f"/prompts/{prompt_id}", json={"content": "Say {{x}} twice."}, headers=user.headers)
    client.put(f"/prompts/{prompt_id}/labels/production", json={"version": 1}, headers=user.headers)
    other = client.post("/prompts", json={"title": "Second", "content": "c", "model": "m"}, headers=user.headers).json()
    response = client.get("/prompts/export?format=jsonl", headers=user.headers)
    assert response.headers["content-disposition"] == 'attachment; filename="prompts.jsonl"'
    first, second = [json.loads(line) for line in response.text.splitlines()]
    current = client.get(f"/prompts/{prompt_id}", headers=user.headers).json()
    assert {key: value for key, value in first.items() if key != "versions"} == current
    assert first["versions"] == client.get(f"/prompts/{prompt_id}/versions", headers=user.headers).json()
    assert [version["labels"] for version in first["versions"]] == [[], ["production"]]
    assert second["_id"] == other["_id"] and len(second["versions"]) == 1


@pytest.mark.parametrize(
    "path",
    ["/logs/export", "/logs/export?format=xml", "/logs/export?format=csv&format=jsonl", "/prompts/export?format=csv"],
)
def test_export_needs_a_known_format(client: TestClient, user: User, path: str) -> None:
    response = client.get(path, headers=user.headers)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "format"
