"""A stored record has one API shape: `server/shapes.py` builds it, and the `*Read` schemas that
document it in OpenAPI say the same — the same fields, of the documented types and formats."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from helpers import User
from promptcrafter.schemas import (
    CompareRead,
    DiffRead,
    ImportRead,
    LabelRead,
    LeaderboardRead,
    LogRead,
    PromptRead,
    RenderRead,
    StatsRead,
    UserRead,
    VersionRead,
)
from promptcrafter.server import shapes
from promptcrafter.storage import Database, logs, prompts, users

PROMPTS = [
    {"title": "Summarize a report", "content": "Summarize {{report}}.", "model": "GPT-4o", "tags": []},
    {"title": "Traduire", "content": "Traduis en français : 「こんにちは」", "model": "m", "tags": ["fr", "日本語"]},
]
LOGS = [
    {"output": "Revenue rose 12%.", "modelUsed": "GPT-4o"},
    {"output": "…", "modelUsed": "m", "notes": "too short", "score": 7},
    {"output": "x", "modelUsed": "m", "notes": "", "score": 7.5},
    {"output": "y", "modelUsed": "m", "score": 0},
]


def assert_documented(shaped: dict[str, Any], schema: type[BaseModel]) -> None:
    """`shaped` has exactly the schema's fields and matches it, formats included."""
    document = schema.model_json_schema(by_alias=True)
    assert set(shaped) == set(document["properties"])
    jsonschema_rs.validator_for(document, validate_formats=True).validate(shaped)
    assert schema.model_validate(shaped).model_dump(by_alias=True) == shaped


def read(database_url: str, work: Any, **params: Any) -> Any:
    database = Database(database_url)
    try:
        with database.transaction(write=False) as tx:
            return work(tx, **params)
    finally:
        database.close()


@pytest.mark.parametrize("fields", PROMPTS)
def test_a_prompt_is_shown_as_documented(
    client: TestClient, user: User, database_url: str, fields: dict[str, Any]
) -> None:
    created = client.post("/prompts", json=fields, headers=user.headers).json()
    record = read(database_url, prompts.get, prompt_id=created["_id"])
    assert shapes.prompt(record) == created == client.get(f"/prompts/{created['_id']}", headers=user.headers).json()
    assert_documented(created, PromptRead)


@pytest.mark.parametrize("fields", LOGS)
def test_a_log_is_shown_as_documented(
    client: TestClient, user: User, database_url: str, fields: dict[str, Any]
) -> None:
    prompt = client.post("/prompts", json=PROMPTS[0], headers=user.headers).json()
    created = client.post("/logs", json={"promptId": prompt["_id"], **fields}, headers=user.headers).json()
    [record], _ = read(database_url, logs.page, filters={"prompt_id": prompt["_id"]}, after=None)
    assert shapes.log(record) == created
    assert_documented(created, LogRead)
    assert type(created["score"]) is type(fields.get("score"))  # 7 stays 7, 7.5 stays 7.5


def test_an_account_is_shown_as_documented(client: TestClient, user: User, database_url: str) -> None:
    me = client.get("/auth/me", headers=user.headers).json()
    assert shapes.user(read(database_url, users.get, user_id=user.id)) == me
    assert_documented(me, UserRead)


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert shapes.timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert shapes.timestamp(1_700_000_000_007) == "2023-11-14T22:13:20.007Z"


def test_versions_labels_diffs_and_renders_are_shown_as_documented(client: TestClient, user: User) -> None:
    prompt = client.post("/prompts", json=PROMPTS[0], headers=user.headers).json()
    path = f"/prompts/{prompt['_id']}"
    client.patch(path, json={"tags": ["x"]}, headers=user.headers)
    label = client.put(f"{path}/labels/production", json={"version": 1}, headers=user.headers).json()
    assert_documented(label, LabelRead)
    for version in client.get(f"{path}/versions", headers=user.headers).json():
        assert_documented(version, VersionRead)
    assert_documented(client.get(f"{path}/diff?from=1&to=2", headers=user.headers).json(), DiffRead)
    rendered = client.post(f"{path}/render", json={"variables": {"report": "r"}}, headers=user.headers).json()
    assert_documented(rendered, RenderRead)


def test_an_import_answer_is_shown_as_documented(client: TestClient, user: User) -> None:
    body = {
        "prompts": [{"_id": "shape-prompt", "title": "Imported", "content": "c", "model": "m"}],
        "logs": [
            {
                "_id": f"shape-log-{i}",
                "promptId": "shape-prompt",
                "output": "o",
                "modelUsed": model,
                "score": i,
                "input": {"x": str(i // 2)},
                "latencyMs": 10 * i,
                "costUsd": 0.001,
            }
            for i in range(6)
            for model in ("small", "large")
        ],
    }
    answer = client.post("/import", json=body, headers=user.headers).json()
    assert_documented(answer, ImportRead)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/prompts/shape-prompt/stats", StatsRead),
        ("/prompts/shape-prompt/stats?groupBy=day", StatsRead),
        ("/prompts/shape-prompt/compare?by=modelUsed&a=small&b=large", CompareRead),
        ("/compare?by=modelUsed&a=small&b=nobody", CompareRead),
        ("/stats/leaderboard?method=bradley-terry", LeaderboardRead),
    ],
)
def test_statistics_are_shown_as_documented(client: TestClient, user: User, path: str, schema: type[BaseModel]) -> None:
    logs = [
        {
            "promptId": "shape-prompt",
            "output": "o",
            "modelUsed": model,
            "score": i + (model == "large"),
            "input": {"x": str(i // 2)},
            "latencyMs": 10 * i,
            "costUsd": 0.001,
        }
        for i in range(6)
        for model in ("small", "large")
    ]
    prompt = {"_id": "shape-prompt", "title": "Imported", "content": "c", "model": "m"}
    assert client.post("/import", json={"prompts": [prompt], "logs": logs}, headers=user.headers).status_code == 200
    response = client.get(path, headers=user.headers)
    assert response.status_code == 200, response.text
    assert_documented(response.json(), schema)
