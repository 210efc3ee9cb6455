"""API keys (OPERATIONS.md), on both stores: made with a login token and shown once, sent as a
bearer token or in `X-API-Key`, held to their scopes on every route, revoked at once on every
server process, and when each was last used recorded without a write per request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import User, start_server, stop_server
from promptcrafter import messages
from promptcrafter.server.scopes import ROUTE_SCOPES, SCOPES

ID = "prompt_01M8MEBV8V1YNTK4V776RNNECH"
DATASET, RUN = "dataset_01M8MEBV8V1YNTK4V776RNNECH", "run_01M8MEBV8V1YNTK4V776RNNECH"
# One request per route with a key: (method, path, JSON body). Ids need not exist: a key that may
# make the request gets past authorisation (to a 404 or 400), one that may not gets a 403 first.
REQUESTS: dict[tuple[str, str], tuple[str, str, Any]] = {
    ("GET", "/auth/me"): ("GET", "/auth/me", None),
    ("POST", "/prompts"): ("POST", "/prompts", {"title": "Key made", "content": "Some text", "model": "m"}),
    ("GET", "/prompts"): ("GET", "/prompts", None),
    ("GET", "/prompts/export"): ("GET", "/prompts/export?format=jsonl", None),
    ("GET", "/prompts/{prompt_id:path}"): ("GET", f"/prompts/{ID}", None),
    ("PATCH", "/prompts/{prompt_id:path}"): ("PATCH", f"/prompts/{ID}", {"title": "Renamed"}),
    ("DELETE", "/prompts/{prompt_id:path}"): ("DELETE", f"/prompts/{ID}", None),
    ("GET", "/prompts/{prompt_id}/versions"): ("GET", f"/prompts/{ID}/versions", None),
    ("GET", "/prompts/{prompt_id}/versions/{version}"): ("GET", f"/prompts/{ID}/versions/1", None),
    ("POST", "/prompts/{prompt_id}/versions/{version}/restore"): ("POST", f"/prompts/{ID}/versions/1/restore", None),
    ("GET", "/prompts/{prompt_id}/diff"): ("GET", f"/prompts/{ID}/diff?from=1&to=2", None),
    ("PUT", "/prompts/{prompt_id}/labels/{label}"): ("PUT", f"/prompts/{ID}/labels/production", {"version": 1}),
    ("DELETE", "/prompts/{prompt_id}/labels/{label}"): ("DELETE", f"/prompts/{ID}/labels/production", None),
    ("POST", "/prompts/{prompt_id}/render"): ("POST", f"/prompts/{ID}/render", {"variables": {}}),
    ("GET", "/prompts/{prompt_id}/stats"): ("GET", f"/prompts/{ID}/stats", None),
    ("GET", "/prompts/{prompt_id}/compare"): ("GET", f"/prompts/{ID}/compare?by=modelUsed&a=x&b=y", None),
    ("GET", "/compare"): ("GET", "/compare?by=modelUsed&a=x&b=y", None),
    ("GET", "/stats/leaderboard"): ("GET", "/stats/leaderboard", None),
    ("POST", "/logs"): ("POST", "/logs", {"promptId": ID, "output": "o", "modelUsed": "m"}),
    ("POST", "/logs/batch"): ("POST", "/logs/batch", {"logs": [{"promptId": ID, "output": "o", "modelUsed": "m"}]}),
    ("GET", "/logs"): ("GET", "/logs", None),
    ("GET", "/logs/export"): ("GET", "/logs/export?format=jsonl", None),
    ("PATCH", "/logs/{log_id:path}"): ("PATCH", "/logs/log_01M8MEBV8V1YNTK4V776RNNECH", {"score": 5}),
    ("DELETE", "/logs/{log_id:path}"): ("DELETE", "/logs/log_01M8MEBV8V1YNTK4V776RNNECH", None),
    ("GET", "/search"): ("GET", "/search?q=text", None),
    ("POST", "/import"): ("POST", "/import", {"prompts": [], "logs": []}),
    ("POST", "/datasets"): ("POST", "/datasets", {"name": "tickets"}),
    ("GET", "/datasets"): ("GET", "/datasets", None),
    ("GET", "/datasets/{dataset_id}"): ("GET", f"/datasets/{DATASET}", None),
    ("PATCH", "/datasets/{dataset_id}"): ("PATCH", f"/datasets/{DATASET}", {"name": "renamed"}),
    ("DELETE", "/datasets/{dataset_id}"): ("DELETE", f"/datasets/{DATASET}", None),
    ("POST", "/datasets/{dataset_id}/items"): ("POST", f"/datasets/{DATASET}/items", {"items": [{"input": {}}]}),
    ("GET", "/datasets/{dataset_id}/items"): ("GET", f"/datasets/{DATASET}/items", None),
    ("DELETE", "/datasets/{dataset_id}/items/{item_id}"): ("DELETE", f"/datasets/{DATASET}/items/item_1", None),
    ("POST", "/runs"): (
        "POST",
        "/runs",
        {"promptId": ID, "datasetId": DATASET, "models": [{"provider": "local", "model": "echo"}]},
    ),
    ("GET", "/runs"): ("GET", "/runs", None),
    ("GET", "/runs/{run_id}"): ("GET", f"/runs/{RUN}", None),
    ("GET", "/runs/{run_id}/results"): ("GET", f"/runs/{RUN}/results", None),
    ("POST", "/runs/{run_id}/cancel"): ("POST", f"/runs/{RUN}/cancel", None),
}
KEY_ROUTES = {route for route, needs in ROUTE_SCOPES.items() if needs is None}


def make_key(client: TestClient, user: User, scopes: list[str] | tuple[str, ...] = SCOPES, **fields: Any) -> Any:
    body = {"name": "nightly evaluation", "scopes": list(scopes), **fields}
    return client.post("/auth/keys", json=body, headers=user.headers)


def key_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def send(client: TestClient, route: tuple[str, str], headers: dict[str, str]) -> Any:
    method, path, body = REQUESTS[route]
    return client.request(method, path, json=body, headers=headers)


def test_every_route_a_key_may_call_has_a_request_here() -> None:
    assert set(REQUESTS) == set(ROUTE_SCOPES) - KEY_ROUTES


def test_a_key_is_shown_once_and_only_its_hash_is_kept(client: TestClient, user: User) -> None:
    created = make_key(client, user, ["logs:write", "prompts:read"])
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("pc_live_") and len(body["key"]) == 8 + 43
    assert body["key"].startswith(body["prefix"]) and body["scopes"] == ["logs:write", "prompts:read"]
    assert body["lastUsedAt"] is None and body["expiresAt"] is None
    listed = client.get("/auth/keys", headers=user.headers).json()
    assert listed == [{name: value for name, value in body.items() if name != "key"}]
    assert body["key"] not in client.get("/auth/keys", headers=user.headers).text


def test_a_key_works_as_a_bearer_token_or_in_x_api_key(client: TestClient, user: User) -> None:
    key = make_key(client, user).json()["key"]
    for headers in (key_headers(key), {"X-API-Key": key}):
        response = client.get("/auth/me", headers=headers)
        assert response.status_code == 200 and response.json()["_id"] == user.id
    assert client.get("/auth/me", headers={"X-API-Key": user.token}).status_code == 401  # keys only there


@pytest.mark.parametrize("route", sorted(REQUESTS), ids=lambda route: f"{route[0]} {route[1]}")
def test_each_route_needs_its_scopes(client: TestClient, user: User, route: tuple[str, str]) -> None:
    needs = ROUTE_SCOPES[route] or ()
    if not needs:  # any live key may ask whose it is
        assert send(client, route, key_headers(make_key(client, user, ["stats:read"]).json()["key"])).status_code == 200
        return
    without = make_key(client, user, [scope for scope in SCOPES if scope not in needs]).json()["key"]
    refused = send(client, route, key_headers(without))
    assert refused.status_code == 403 and refused.json() == {"error": messages.KEY_SCOPE}
    allowed = make_key(client, user, needs).json()["key"]
    assert send(client, route, key_headers(allowed)).status_code not in (401, 403)


def test_searching_outputs_needs_logs_read(client: TestClient, user: User) -> None:
    prompts_only = make_key(client, user, ["prompts:read"]).json()["key"]
    assert client.get("/search?q=x", headers=key_headers(prompts_only)).status_code == 200
    assert client.get("/search?q=x&in=logs", headers=key_headers(prompts_only)).status_code == 403


def test_keys_are_managed_with_a_login_token_only(client: TestClient, user: User) -> None:
    key = make_key(client, user).json()["key"]
    for method, path in (("GET", "/auth/keys"), ("POST", "/auth/keys"), ("DELETE", "/auth/keys/key_1")):
        response = client.request(method, path, json={"name": "n", "scopes": ["logs:read"]}, headers=key_headers(key))
        assert response.status_code == 403 and response.json() == {"error": messages.KEY_NEEDS_LOGIN}


def test_a_revoked_key_fails_at_once_on_every_server_process(client: TestClient, user: User, app_factory: Any) -> None:
    created = make_key(client, user).json()
    with TestClient(app_factory()) as other_process:
        assert other_process.get("/prompts", headers=key_headers(created["key"])).status_code == 200
        assert client.delete(f"/auth/keys/{created['_id']}", headers=user.headers).status_code == 204
        for server in (client, other_process):
            response = server.get("/prompts", headers=key_headers(created["key"]))
            assert response.status_code == 401 and response.json() == {"error": messages.TOKEN_INVALID}
    assert client.get("/auth/keys", headers=user.headers).json() == []


def test_an_expired_key_fails(client: TestClient, user: User) -> None:
    key = make_key(client, user, expiresAt="2001-01-01T00:00:00Z").json()["key"]
    assert client.get("/prompts", headers=key_headers(key)).status_code == 401


def test_keys_are_their_owners_own(client: TestClient, user: User, other_user: User) -> None:
    created = make_key(client, user).json()
    assert client.delete(f"/auth/keys/{created['_id']}", headers=other_user.headers).status_code == 403
    assert client.get("/auth/keys", headers=other_user.headers).json() == []
    assert client.delete("/auth/keys/key_01M8MEBV8V1YNTK4V776RNNECH", headers=user.headers).status_code == 404
    assert client.delete("/auth/keys/not an id", headers=user.headers).status_code == 400
    made = client.post(
        "/prompts", json={"title": "Mine", "content": "Some text", "model": "m"}, headers=key_headers(created["key"])
    )
    assert client.get(f"/prompts/{made.json()['_id']}", headers=other_user.headers).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"name": "n", "scopes": []},
        {"name": "n", "scopes": ["admin"]},
        {"name": "", "scopes": ["logs:read"]},
        {"name": "n", "scopes": ["logs:read"], "expiresAt": "tomorrow"},
        {"scopes": ["logs:read"]},
    ],
)
def test_a_bad_key_request_is_a_400(client: TestClient, user: User, body: dict[str, Any]) -> None:
    response = client.post("/auth/keys", json=body, headers=user.headers)
    assert response.status_code == 400 and response.json()["error"] == messages.FIELDS_INVALID


def test_when_a_key_was_last_used_is_recorded_without_a_write_per_request(app_factory: Any, user: User) -> None:
    with TestClient(app_factory()) as client:
        key = make_key(client, user).json()["key"]
        for _ in range(20):
            assert client.get("/prompts", headers=key_headers(key)).status_code == 200
    # The server wrote the uses when it stopped (and every few seconds while it runs).
    with TestClient(app_factory()) as client:
        [listed] = client.get("/auth/keys", headers=user.headers).json()
        assert listed["lastUsedAt"] is not None


def test_a_key_revoked_through_one_server_process_fails_at_once_on_another(tmp_path: Any) -> None:
    database = f"sqlite:///{tmp_path / 'keys.db'}"
    first, second = start_server(database), start_server(database)
    try:
        body = {"name": "Ada", "email": "ada@example.com", "password": "a long passphrase"}
        token = httpx.post(f"{first.url}/auth/signup", json=body).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{first.url}/auth/keys", json={"name": "k", "scopes": ["prompts:read"]}, headers=headers)
        key = {"Authorization": f"Bearer {created.json()['key']}"}
        assert httpx.get(f"{second.url}/prompts", headers=key).status_code == 200  # now known to the second
        assert httpx.delete(f"{first.url}/auth/keys/{created.json()['_id']}", headers=headers).status_code == 204
        assert httpx.get(f"{second.url}/prompts", headers=key).status_code == 401
    finally:
        stop_server(first)
        stop_server(second)
