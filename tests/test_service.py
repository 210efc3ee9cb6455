"""What every route shares: errors as JSON, limits, headers, health, the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpers import FAST_HASHING, User
from promptcrafter.config import Settings
from promptcrafter.server import create_app
from promptcrafter.storage import Database

PROMPT = {"title": "Title", "content": "Content", "model": "GPT-4o"}


def test_health_is_ok_without_a_token(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "database_url",
    ["postgresql://postgres@127.0.0.1:1/nowhere", "sqlite:////nonexistent-directory/promptcrafter.db"],
)
def test_health_reports_an_unreachable_database(database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key="k" * 40, **FAST_HASHING)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert (response.status_code, response.json()) == (503, {"error": "Database unavailable."})


def test_unknown_route_is_json_404(client: TestClient) -> None:
    for path in ("/nope", "/auth", "/api/prompts", "/prompts-old", "/auth/me/extra"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/prompts"),
        ("DELETE", "/prompts"),
        ("POST", "/search"),
        ("GET", "/auth/login"),
        ("PUT", "/logs/log1"),
        ("PATCH", "/logs"),
        ("POST", "/health"),
    ],
)
def test_wrong_method_is_json_405(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed."}


def test_route_and_method_are_checked_before_authentication(client: TestClient) -> None:
    assert client.get("/nowhere").status_code == 404
    assert client.put("/prompts").status_code == 405


def test_body_over_the_limit_is_413_with_a_length(client: TestClient, user: User) -> None:
    body = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post("/prompts", content=body, headers={**user.headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"error": "Request body is too large."}


def test_body_over_the_limit_is_413_without_a_length(client: TestClient, user: User) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = client.post("/prompts", content=chunks(), headers={**user.headers, "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == {"error": "Request body is too large."}


def test_body_limit_is_configurable(app_factory: Any, user: User) -> None:
    with TestClient(app_factory(max_body_bytes=2048)) as client:
        response = client.post("/prompts", json={**PROMPT, "content": "x" * 3000}, headers=user.headers)
        assert response.status_code == 413
        assert client.post("/prompts", json=PROMPT, headers=user.headers).status_code == 201


def test_body_size_is_checked_before_the_id(client: TestClient, user: User) -> None:
    response = client.patch("/prompts/bad id", content=b"x" * (3 * 1024 * 1024), headers=user.headers)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",
        b'{"title": "\xc3\x28"}',
        b'{"a": ' * 5000 + b"1" + b"}" * 5000,
        b"null",
        b"42",
        b'"\\ud800"',
    ],
)
def test_hostile_bodies_are_400_and_store_nothing(client: TestClient, user: User, raw: bytes) -> None:
    response = client.post("/prompts", content=raw, headers={**user.headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "Required fields are missing or invalid."
    assert client.get("/prompts", headers=user.headers).json() == []


def test_body_declared_as_another_type_is_415_and_stores_nothing(client: TestClient, user: User) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = client.post(
            "/prompts", content=json.dumps(PROMPT), headers={**user.headers, "Content-Type": content_type}
        )
        assert response.status_code == 415, content_type
        assert response.json() == {"error": "The request body must be sent as application/json."}
    assert client.get("/prompts", headers=user.headers).json() == []


def test_json_body_is_accepted_with_a_charset_a_json_suffix_or_no_type(client: TestClient, user: User) -> None:
    for headers in (
        {"Content-Type": "application/json; charset=utf-8"},
        {"Content-Type": "application/vnd.api+json"},
        {},
    ):
        response = client.post("/prompts", content=json.dumps(PROMPT), headers={**user.headers, **headers})
        assert response.status_code == 201, headers


def test_unknown_query_parameter_is_rejected_on_every_route(client: TestClient, user: User) -> None:
    for method, path in [("GET", "/auth/me"), ("POST", "/prompts"), ("GET", "/health"), ("POST", "/auth/login")]:
        response = client.request(method, f"{path}?debug=1", headers=user.headers, json=PROMPT)
        assert response.status_code == 400, path
        assert response.json() == {"error": "The request is malformed or contains invalid parameters."}


def test_responses_carry_security_headers_and_request_id(client: TestClient, user: User) -> None:
    for response in (client.get("/prompts", headers=user.headers), client.get("/nope"), client.get("/docs")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert len(response.headers["x-request-id"]) == 32
    assert (
        client.get("/prompts", headers=user.headers).headers["content-security-policy"].startswith("default-src 'none'")
    )


def test_unexpected_failure_is_a_json_500_without_internals(
    client: TestClient, settings: Settings, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(settings.database_url)
    with database.engine.begin() as conn:
        conn.execute(text("ALTER TABLE logs RENAME TO logs_moved"))
    try:
        response = client.get("/logs", headers=user.headers)
    finally:
        with database.engine.begin() as conn:
            conn.execute(text("ALTER TABLE logs_moved RENAME TO logs"))
        database.close()
    assert response.status_code == 500
    assert response.json() == {"error": "An unexpected server error occurred."}
    assert response.headers["x-content-type-options"] == "nosniff"
    [failure] = [record for record in caplog.records if record.getMessage() == "request failed"]
    assert failure.request_id == response.headers["x-request-id"] and failure.exc_info is not None


def test_openapi_document_describes_every_route(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("POST", "/auth/signup"),
        ("POST", "/auth/login"),
        ("GET", "/auth/me"),
        ("POST", "/auth/keys"),
        ("GET", "/auth/keys"),
        ("DELETE", "/auth/keys/{key_id}"),
        ("POST", "/prompts"),
        ("GET", "/prompts"),
        ("GET", "/prompts/{prompt_id}"),
        ("PATCH", "/prompts/{prompt_id}"),
        ("DELETE", "/prompts/{prompt_id}"),
        ("GET", "/search"),
        ("POST", "/logs"),
        ("POST", "/logs/batch"),
        ("GET", "/logs/export"),
        ("GET", "/prompts/export"),
        ("GET", "/logs"),
        ("PATCH", "/logs/{log_id}"),
        ("DELETE", "/logs/{log_id}"),
        ("GET", "/health"),
        ("GET", "/prompts/{prompt_id}/versions"),
        ("GET", "/prompts/{prompt_id}/versions/{version}"),
        ("POST", "/prompts/{prompt_id}/versions/{version}/restore"),
        ("GET", "/prompts/{prompt_id}/diff"),
        ("PUT", "/prompts/{prompt_id}/labels/{label}"),
        ("DELETE", "/prompts/{prompt_id}/labels/{label}"),
        ("POST", "/prompts/{prompt_id}/render"),
        ("POST", "/import"),
        ("GET", "/prompts/{prompt_id}/stats"),
        ("GET", "/prompts/{prompt_id}/compare"),
        ("GET", "/compare"),
        ("GET", "/stats/leaderboard"),
        ("POST", "/datasets"),
        ("GET", "/datasets"),
        ("GET", "/datasets/{dataset_id}"),
        ("PATCH", "/datasets/{dataset_id}"),
        ("DELETE", "/datasets/{dataset_id}"),
        ("POST", "/datasets/{dataset_id}/items"),
        ("GET", "/datasets/{dataset_id}/items"),
        ("DELETE", "/datasets/{dataset_id}/items/{item_id}"),
        ("POST", "/providers"),
        ("GET", "/providers"),
        ("GET", "/providers/{provider_id}"),
        ("PATCH", "/providers/{provider_id}"),
        ("DELETE", "/providers/{provider_id}"),
        ("POST", "/runs"),
        ("GET", "/runs"),
        ("GET", "/runs/{run_id}"),
        ("GET", "/runs/{run_id}/results"),
        ("POST", "/runs/{run_id}/cancel"),
    }
    create_log = document["paths"]["/logs"]["post"]
    assert set(create_log["responses"]) == {"201", "400", "401", "404", "413", "415", "500", "503"}
    assert "moreDetails" in document["components"]["schemas"]["ErrorResponse"]["properties"]
    assert "promptId" in create_log["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert document["paths"]["/auth/login"]["post"]["security"] == []
    assert "422" not in str(document)


def test_docs_page_is_served_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")
    for asset in ("/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js", "/docs/init.js"):
        assert client.get(asset).status_code == 200, asset


def test_ids_are_prefixed_and_time_ordered(client: TestClient, user: User) -> None:
    ids = [client.post("/prompts", json=PROMPT, headers=user.headers).json()["_id"] for _ in range(20)]
    assert ids == sorted(ids)
    assert all(len(i) == len("prompt_") + 26 for i in ids)


def test_a_deleted_database_file_does_not_leak_details(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/missing/x.db", secret_key="k" * 40, **FAST_HASHING)  # type: ignore[arg-type]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/auth/signup", json={"name": "A", "email": "a@b.co", "password": "password123"})
    assert response.status_code == 500
    assert response.json() == {"error": "An unexpected server error occurred."}
