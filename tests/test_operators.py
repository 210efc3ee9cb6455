"""What an operator does from the command line (OPERATIONS.md), on both stores: list accounts,
disable one (its tokens, keys and sessions fail at once), delete one with everything it holds;
and back up a SQLite database while a server writes to it, then serve the copy."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from helpers import PASSWORD, User, start_server, stop_server
from promptcrafter import messages
from promptcrafter.cli import app


def operator(*args: str, database_url: str, input: str | None = None) -> object:
    return CliRunner().invoke(app, [*args, "--db", database_url], input=input)


def test_users_lists_every_account_with_what_it_holds(client: TestClient, user: User, database_url: str) -> None:
    client.post("/prompts", json={"title": "Kept", "content": "Some text", "model": "m"}, headers=user.headers)
    result = CliRunner().invoke(app, ["users", "list", "--json", "--db", database_url])
    assert result.exit_code == 0, result.output
    [account] = json.loads(result.stdout)
    assert (account["id"], account["email"], account["prompts"], account["logs"]) == (user.id, user.email, 1, 0)


def test_a_disabled_account_is_locked_out_at_once_and_can_be_enabled(
    client: TestClient, user: User, database_url: str
) -> None:
    key = client.post("/auth/keys", json={"name": "k", "scopes": ["prompts:read"]}, headers=user.headers).json()["key"]
    assert CliRunner().invoke(app, ["users", "disable", user.email, "--db", database_url]).exit_code == 0
    for headers in (user.headers, {"Authorization": f"Bearer {key}"}):
        assert client.get("/prompts", headers=headers).status_code == 401
    refused = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json() == {"error": messages.ACCOUNT_DISABLED}
    assert CliRunner().invoke(app, ["users", "enable", user.id, "--db", database_url]).exit_code == 0
    assert client.get("/prompts", headers=user.headers).status_code == 200
    assert client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200


def test_deleting_an_account_removes_everything_it_holds(
    client: TestClient, user: User, other_user: User, database_url: str
) -> None:
    prompt = client.post("/prompts", json={"title": "Gone", "content": "Some text", "model": "m"}, headers=user.headers)
    prompt_id = prompt.json()["_id"]
    client.patch(f"/prompts/{prompt_id}", json={"content": "Other text"}, headers=user.headers)
    client.put(f"/prompts/{prompt_id}/labels/production", json={"version": 1}, headers=user.headers)
    client.post("/logs", json={"promptId": prompt_id, "output": "o", "modelUsed": "m"}, headers=user.headers)
    client.post("/auth/keys", json={"name": "k", "scopes": ["logs:read"]}, headers=user.headers)
    kept = client.post(
        "/prompts", json={"title": "Kept", "content": "Some text", "model": "m"}, headers=other_user.headers
    )
    asked = CliRunner().invoke(app, ["users", "delete", user.email, "--db", database_url], input="n\n")
    assert asked.exit_code == 1 and client.get("/prompts", headers=user.headers).status_code == 200
    deleted = CliRunner().invoke(app, ["users", "delete", user.email, "--yes", "--db", database_url])
    assert deleted.exit_code == 0, deleted.output
    assert client.get("/prompts", headers=user.headers).status_code == 401
    listed = json.loads(CliRunner().invoke(app, ["users", "list", "--json", "--db", database_url]).stdout)
    assert [account["id"] for account in listed] == [other_user.id]
    assert client.get(f"/prompts/{kept.json()['_id']}", headers=other_user.headers).status_code == 200
    missing = CliRunner().invoke(app, ["users", "delete", user.email, "--yes", "--db", database_url])
    assert missing.exit_code == 1 and "No account" in missing.stderr


def test_a_backup_taken_while_a_server_writes_serves_everything_acknowledged(tmp_path: Path) -> None:
    database = tmp_path / "live.db"
    server = start_server(f"sqlite:///{database}")
    acknowledged: list[str] = []
    stop = threading.Event()
    try:
        token = httpx.post(
            f"{server.url}/auth/signup", json={"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def write() -> None:
            with httpx.Client(base_url=server.url, headers=headers) as http:
                while not stop.is_set():
                    body = {"title": f"Prompt {len(acknowledged)}", "content": "Some text", "model": "m"}
                    response = http.post("/prompts", json=body)
                    if response.status_code == 201:
                        acknowledged.append(response.json()["_id"])

        writer = threading.Thread(target=write)
        writer.start()
        while len(acknowledged) < 20:
            stop.wait(0.05)
        copy = tmp_path / "copy.db"
        before = len(acknowledged)
        result = CliRunner().invoke(app, ["backup", str(copy), "--db", f"sqlite:///{database}"])
        assert result.exit_code == 0, result.output
        stop.set()
        writer.join()
    finally:
        stop.set()
        stop_server(server)
    restored = start_server(f"sqlite:///{copy}")
    try:
        with httpx.Client(base_url=restored.url) as http:
            login = http.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
            listed = http.get("/prompts", headers={"Authorization": f"Bearer {login.json()['token']}"}).json()
        ids = {prompt["_id"] for prompt in listed}
        assert set(acknowledged[:before]) <= ids  # everything acknowledged before the copy began
    finally:
        stop_server(restored)
    assert CliRunner().invoke(app, ["backup", str(copy), "--db", f"sqlite:///{database}"]).exit_code == 2  # exists


def test_postgresql_is_backed_up_with_pg_dump(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backup", str(tmp_path / "x.db"), "--db", "postgresql://u@127.0.0.1:1/db"])
    assert result.exit_code == 2 and "pg_dump" in result.stderr
