"""Bearer tokens: the two 401 messages, and the attacks a token must survive."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from fastapi.testclient import TestClient

from helpers import User

MISSING = {"error": "Authentication token is missing."}
INVALID = {"error": "Authentication token is expired or invalid."}
PROTECTED = [
    ("GET", "/auth/me"),
    ("GET", "/prompts"),
    ("POST", "/prompts"),
    ("GET", "/prompts/prompt1"),
    ("PATCH", "/prompts/prompt1"),
    ("DELETE", "/prompts/prompt1"),
    ("GET", "/search?q=x"),
    ("POST", "/logs"),
    ("GET", "/logs"),
    ("GET", "/logs?promptId=prompt1"),
    ("DELETE", "/logs/log1"),
]


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_absent_empty_or_non_bearer_header_is_missing(
    client: TestClient, method: str, path: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.json() == MISSING


def test_bearer_scheme_name_is_case_insensitive(client: TestClient, user: User) -> None:
    response = client.get("/auth/me", headers={"Authorization": f"bEaReR {user.token}"})
    assert response.status_code == 200


def _attacks(user: User) -> dict[str, str]:
    header, payload, signature = user.token.split(".")
    claims = jwt.decode(user.token, options={"verify_signature": False})
    return {
        "garbage": "not-a-jwt",
        "tampered payload": f"{header}.{_b64({**claims, 'sub': 'user_someone_else'})}.{signature}",
        "wrong key": jwt.encode(claims, "another key that is long enough!!", algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 10}, "x" * 32, algorithm="HS256"),
        "no expiry": f"{header}.{_b64({'sub': user.id})}.{signature}",
        "truncated signature": user.token[:-5],
    }


@pytest.mark.parametrize(
    "attack",
    ["garbage", "tampered payload", "wrong key", "alg none", "expired", "no expiry", "truncated signature"],
)
def test_forged_or_broken_tokens_are_invalid(client: TestClient, user: User, attack: str) -> None:
    token = _attacks(user)[attack]
    response = client.get("/prompts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == INVALID


def test_expired_token_signed_with_the_real_key_is_invalid(app_factory: object, user: User) -> None:
    with TestClient(app_factory(token_ttl=60)) as client:  # type: ignore[operator]
        fresh = client.post("/auth/login", json={"email": user.email, "password": user.password}).json()["token"]
        assert client.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    secret_server = app_factory(secret_key="k" * 40)  # type: ignore[operator]
    expired = jwt.encode({"sub": user.id, "exp": int(time.time()) - 1}, "k" * 40, algorithm="HS256")
    with TestClient(secret_server) as client:
        response = client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.json() == INVALID


def test_token_naming_an_unknown_user_is_invalid(app_factory: object) -> None:
    with TestClient(app_factory(secret_key="s" * 40)) as client:  # type: ignore[operator]
        token = jwt.encode({"sub": "user_ghost", "exp": int(time.time()) + 60}, "s" * 40, algorithm="HS256")
        response = client.get("/prompts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == INVALID


def test_tokens_issued_by_one_server_are_accepted_by_another(app_factory: object, user: User) -> None:
    with TestClient(app_factory()) as other_server:  # type: ignore[operator]
        assert other_server.get("/auth/me", headers=user.headers).status_code == 200


def test_auth_is_checked_before_body_size_and_body(client: TestClient) -> None:
    huge = b"x" * (3 * 1024 * 1024)
    response = client.post("/prompts", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.json() == MISSING
