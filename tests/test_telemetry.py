"""What the server tells its operator (OPERATIONS.md): request ids in and out, one log line per
request with its route template and never a secret, and log lines as JSON objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import PASSWORD, User, free_port


def test_a_sane_request_id_is_kept_and_any_other_replaced(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "batch-7.item:12"}).headers["x-request-id"] == "batch-7.item:12"
    )
    for insane in ("", "x" * 65, "new\\nline", "<script>"):
        given = client.get("/health", headers={"X-Request-ID": insane}).headers["x-request-id"]
        assert given != insane and len(given) == 32


def test_each_request_has_one_line_with_its_route_template_and_no_secret(
    client: TestClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    prompt = client.post(
        "/prompts", json={"title": "Logged", "content": "Some text", "model": "m"}, headers=user.headers
    )
    caplog.clear()
    with caplog.at_level("INFO", logger="promptcrafter.access"):
        client.get(f"/prompts/{prompt.json()['_id']}", headers={**user.headers, "X-Request-ID": "req-1"})
        client.get("/no/such/route")
    lines = [record for record in caplog.records if record.name == "promptcrafter.access"]
    assert [(line.method, line.route, line.status) for line in lines] == [
        ("GET", "/prompts/{prompt_id:path}", 200),
        ("GET", None, 404),
    ]
    assert lines[0].request_id == "req-1" and lines[0].user_id == user.id and lines[0].duration_ms >= 0
    for record in caplog.records:
        assert user.token not in json.dumps(vars(record), default=str)
        assert prompt.json()["_id"] not in record.getMessage()


def test_the_server_logs_json_lines_when_asked(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        "-m",
        "promptcrafter",
        "serve",
        "--port",
        str(port),
        "--log-format",
        "json",
        "--db",
        f"sqlite:///{tmp_path / 'logged.db'}",
    ]
    environment = {"PROMPTCRAFTER_PASSWORD_TIME_COST": "1", "PROMPTCRAFTER_PASSWORD_MEMORY_KIB": "1024"}
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **environment})
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            body = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
            token = httpx.post(f"{url}/auth/signup", json=body).json()["token"]
            httpx.get(f"{url}/prompts", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "from-test"})
        finally:
            server.terminate()
            server.wait(timeout=10)
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    [listed] = [line for line in lines if line.get("request_id") == "from-test"]
    assert listed["route"] == "/prompts" and listed["status"] == 200 and listed["user_id"]
    assert token not in log.read_text() and PASSWORD not in log.read_text()


def test_a_deep_health_check_reports_the_store_and_its_migrations(client: TestClient, database_url: str) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    deep = client.get("/health?deep=1").json()
    assert deep["status"] == "ok"
    assert deep["store"]["kind"] == database_url.split(":")[0].split("+")[0]
    assert deep["store"]["migrations"]["upToDate"] is True
    assert deep["store"]["migrations"]["current"] == deep["store"]["migrations"]["head"]
    assert deep["store"]["version"][0].isdigit()
    assert client.get("/health?deep=yes").status_code == 400
