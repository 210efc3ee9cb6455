"""POST /auth/signup, POST /auth/login, GET /auth/me."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from helpers import PASSWORD, User

SIGNUP = {"name": "John Doe", "email": "john@example.com", "password": "password123"}


def test_signup_creates_account_and_returns_usable_token(client: TestClient) -> None:
    response = client.post("/auth/signup", json=SIGNUP)
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "User account created successfully."
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "john@example.com"
    assert me.json()["name"] == "John Doe"


def test_me_shows_account_without_password(client: TestClient, user: User) -> None:
    body = client.get("/auth/me", headers=user.headers).json()
    assert set(body) == {"_id", "name", "email", "createdAt"}
    assert body["_id"].startswith("user_")
    assert body["createdAt"].endswith("Z") and len(body["createdAt"]) == 24


@pytest.mark.parametrize(
    "body",
    [
        {"name": "John Doe", "password": "password123"},
        {"email": "john@example.com", "password": "password123"},
        {"name": "John Doe", "email": "john@example.com"},
        {**SIGNUP, "name": "   "},
        {**SIGNUP, "name": "x" * 101},
        {**SIGNUP, "name": 42},
        {**SIGNUP, "email": "not-an-email"},
        {**SIGNUP, "email": "two@@example.com"},
        {**SIGNUP, "email": "@example.com"},
        {**SIGNUP, "email": "john@localhost"},
        {**SIGNUP, "email": "john doe@example.com"},
        {**SIGNUP, "email": "j" * 250 + "@example.com"},
        {**SIGNUP, "password": None},
        {**SIGNUP, "_id": "user1"},
        {**SIGNUP, "role": "admin"},
    ],
)
def test_signup_with_missing_or_invalid_field_is_rejected(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Required fields are missing or invalid."


@pytest.mark.parametrize("password", ["5", "short-pw!", "x" * 129])
def test_signup_with_password_outside_10_to_128_chars_is_rejected(client: TestClient, password: str) -> None:
    response = client.post("/auth/signup", json={**SIGNUP, "password": password})
    assert response.status_code == 400
    assert response.json() == {"error": "The password does not meet the security requirements."}


def test_password_length_counts_code_points_not_bytes(client: TestClient) -> None:
    response = client.post("/auth/signup", json={**SIGNUP, "password": "ü" * 10})
    assert response.status_code == 201


def test_password_is_not_trimmed(client: TestClient) -> None:
    client.post("/auth/signup", json={**SIGNUP, "password": "  spaced password  "})
    wrong = client.post("/auth/login", json={"email": SIGNUP["email"], "password": "spaced password"})
    right = client.post("/auth/login", json={"email": SIGNUP["email"], "password": "  spaced password  "})
    assert (wrong.status_code, right.status_code) == (401, 200)


def test_signup_with_taken_email_conflicts_whatever_its_case(client: TestClient) -> None:
    assert client.post("/auth/signup", json=SIGNUP).status_code == 201
    response = client.post("/auth/signup", json={**SIGNUP, "email": "JOHN@Example.COM"})
    assert response.status_code == 409
    assert response.json() == {"error": "Email already in use."}


def test_signup_body_that_is_not_a_json_object_is_rejected(client: TestClient) -> None:
    for raw in (b"{not json", b"[1, 2]", b'"text"', b""):
        response = client.post("/auth/signup", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, raw
        assert response.json()["error"] == "Required fields are missing or invalid."


def test_login_returns_hs256_token_naming_the_user(client: TestClient, user: User) -> None:
    response = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert claims["sub"] == user.id
    assert claims["exp"] - time.time() == pytest.approx(24 * 3600, abs=60)


def test_login_ignores_email_case(client: TestClient, user: User) -> None:
    response = client.post("/auth/login", json={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"email": "john@example.com"}, {"password": "password123"}, {"email": 1, "password": "x"}, {}],
)
def test_login_with_missing_fields_is_rejected(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/auth/login", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Required fields are missing or invalid."


def test_login_with_trailing_comma_json_is_rejected(client: TestClient) -> None:
    raw = b'{\n  "email": "john@example.com",\n}'
    response = client.post("/auth/login", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "Required fields are missing or invalid."}


@pytest.mark.parametrize("email", ["nobody@example.com", "not even an email"])
def test_login_failure_is_the_same_for_wrong_password_and_unknown_email(
    client: TestClient, user: User, email: str
) -> None:
    wrong_password = client.post("/auth/login", json={"email": user.email, "password": "wrong password"})
    unknown_email = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json() == {"error": "Incorrect email or password."}


def test_ten_failures_lock_the_email_even_for_the_right_password(client: TestClient, user: User) -> None:
    for _ in range(10):
        assert client.post("/auth/login", json={"email": user.email, "password": "wrong pass!"}).status_code == 401
    response = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.json() == {"error": "Too many login attempts. Try again later."}
    assert 1 <= int(response.headers["Retry-After"]) <= 900


def test_unknown_emails_are_throttled_too(client: TestClient) -> None:
    for _ in range(10):
        client.post("/auth/login", json={"email": "ghost@example.com", "password": "wrong pass!"})
    response = client.post("/auth/login", json={"email": "GHOST@example.com", "password": "wrong pass!"})
    assert response.status_code == 429


def test_successful_login_clears_the_failure_count(client: TestClient, user: User) -> None:
    for _ in range(9):
        client.post("/auth/login", json={"email": user.email, "password": "wrong pass!"})
    assert client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200
    for _ in range(9):
        client.post("/auth/login", json={"email": user.email, "password": "wrong pass!"})
    assert client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200


def test_lock_lifts_when_failures_leave_the_window(app_factory: Any, user: User) -> None:
    with TestClient(app_factory(login_window=1, login_max_failures=3)) as client:
        for _ in range(3):
            client.post("/auth/login", json={"email": user.email, "password": "wrong pass!"})
        locked = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
        assert locked.status_code == 429
        assert locked.headers["Retry-After"] == "1"
        time.sleep(1.1)
        assert client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200


def test_throttling_is_shared_by_every_server_on_the_database(app_factory: Any, user: User) -> None:
    with TestClient(app_factory()) as first, TestClient(app_factory()) as second:
        for attempt in range(10):
            server = first if attempt % 2 else second
            server.post("/auth/login", json={"email": user.email, "password": "wrong pass!"})
        assert first.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 429
        assert second.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 429


def test_passwords_are_stored_as_argon2id_hashes(client: TestClient, settings: Any, user: User) -> None:
    from sqlalchemy import select

    from promptcrafter.storage import Database
    from promptcrafter.storage.tables import users

    database = Database(settings.database_url)
    with database.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == user.id)).scalar_one()
    database.close()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
