"""Attacks beyond forged tokens (tests/test_authentication.py covers those).

Tokens of deleted accounts and garbage in the Authorization header; another user's ids
on every route that takes one; SQL and LIKE metacharacters, oversized passwords,
hostile bodies and wrong content types; login throttling across processes and
restarts; security headers. Every refusal is a 4xx with `{"error": ...}`, shows none
of the other user's data, and changes nothing in the store.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpers import PASSWORD, LiveServer, User, start_server, stop_server
from promptcrafter.storage import Database

MISSING = {"error": "Authentication token is missing."}
INVALID = {"error": "Authentication token is expired or invalid."}
FIELDS_INVALID = "Required fields are missing or invalid."
SECRET = "s" * 40
# A word that occurs only in the other user's prompt, so a leak through search is unmistakable.
THEIR_WORD = "zanzibarquartz"


@dataclass
class Victim:
    """The other user's data, and every string that must never appear in the caller's answers."""

    user: User
    prompt: dict[str, Any]
    log: dict[str, Any]

    @property
    def secrets(self) -> list[str]:
        """Values only the other user may see."""
        return [
            self.user.id, self.user.email, self.prompt["_id"], self.prompt["title"], self.prompt["content"],
            self.log["_id"], self.log["output"], THEIR_WORD,
        ]


def snapshot(client: TestClient, user: User) -> tuple[Any, Any]:
    """Everything a user owns, as the API lists it."""
    prompts = client.get("/prompts", headers=user.headers)
    logs = client.get("/logs", headers=user.headers)
    assert prompts.status_code == logs.status_code == 200
    return prompts.json(), logs.json()


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    """A refusal in the contract's shape: the status, JSON `{"error": ...}`, and the message if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str)
    if message is not None:
        assert body["error"] == message


def make_prompt(client: TestClient, user: User, title: str, content: str = "Summarize this.") -> dict[str, Any]:
    """A new prompt of `user`."""
    body = {"title": title, "content": content, "model": "GPT-4o"}
    response = client.post("/prompts", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def make_log(client: TestClient, user: User, prompt_id: str, output: str) -> dict[str, Any]:
    """A new log of one of `user`'s prompts."""
    body = {"promptId": prompt_id, "output": output, "modelUsed": "GPT-4o", "score": 8}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def victim(client: TestClient, other_user: User) -> Victim:
    prompt = make_prompt(client, other_user, "Grace's private prompt", f"Secret {THEIR_WORD} recipe.")
    log = make_log(client, other_user, prompt["_id"], "Grace's private output")
    return Victim(user=other_user, prompt=prompt, log=log)


# --- Tokens and the Authorization header ---------------------------------------------


def delete_account_row(database_url: str, user_id: str) -> None:
    """Remove a user behind the API's back, as an administrator with SQL would."""
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :user_id"), {"user_id": user_id})
    finally:
        database.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/auth/me"), ("GET", "/prompts"), ("POST", "/prompts"), ("GET", "/logs"), ("GET", "/search?q=x")],
)
def test_token_of_a_deleted_account_is_invalid(
    client: TestClient, database_url: str, user: User, method: str, path: str
) -> None:
    assert client.get("/auth/me", headers=user.headers).status_code == 200
    delete_account_row(database_url, user.id)
    body = {"title": "After deletion", "content": "c", "model": "m"} if method == "POST" else None
    response = client.request(method, path, headers=user.headers, json=body)
    assert response.status_code == 401
    assert response.json() == INVALID


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/prompts/not a valid id", None),
        ("POST", "/prompts", {"title": ""}),
        ("POST", "/logs", {"unknown": 1}),
        ("PATCH", "/prompts/prompt_unknown", {"title": "x" * 500}),
        ("DELETE", "/logs/log_unknown", None),
        ("GET", "/logs?promptId=", None),
        ("GET", "/search?q=" + "+".join(["t"] * 40), None),
    ],
)
def test_token_of_a_deleted_account_is_401_before_any_other_error(
    client: TestClient, database_url: str, user: User, method: str, path: str, body: Any
) -> None:
    delete_account_row(database_url, user.id)
    response = client.request(method, path, headers=user.headers, json=body)
    assert (response.status_code, response.json()) == (401, INVALID)


HEADERS_TOO_LARGE = {"error": "Request headers are too large."}


def garbage_headers(user: User) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Authorization values no client should send, each with the answer it must get."""
    return {
        "non-ascii token": (b"Bearer \xff\xfe\xfd\x80", INVALID),
        "latin-1 token": ("Bearer jöhn.dö.sig".encode("latin-1"), INVALID),
        "utf-8 token": ("Bearer 🚀.🚀.🚀".encode(), INVALID),
        "non-ascii scheme": (b"B\xe9arer abc", MISSING),
        "very long token": (b"Bearer " + b"a" * 100_000, HEADERS_TOO_LARGE),
        "valid token then garbage": (f"Bearer {user.token}".encode() + b"x" * 5_000, INVALID),
        "only dots": (b"Bearer " + b"." * 10_000, INVALID),
        "huge base64 segments": (b"Bearer " + b"eyJ" * 30_000 + b".e30.sig", HEADERS_TOO_LARGE),
    }


GARBAGE = [
    "non-ascii token", "latin-1 token", "utf-8 token", "non-ascii scheme", "very long token",
    "valid token then garbage", "only dots", "huge base64 segments",
]


@pytest.mark.parametrize("kind", GARBAGE)
def test_garbage_authorization_header_is_401_or_431_not_500(client: TestClient, user: User, kind: str) -> None:
    header, expected = garbage_headers(user)[kind]
    response = client.get("/prompts", headers={b"Authorization": header})
    assert response.status_code == (431 if expected == HEADERS_TOO_LARGE else 401)
    assert response.json() == expected


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, User]]:
    """One `promptcrafter serve` for the module, so real HTTP parsing sees the headers; with an account."""
    server = start_server(f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}")
    try:
        email = f"live-{uuid.uuid4().hex[:8]}@example.com"
        signup = httpx.post(f"{server.url}/auth/signup", json={"name": "Live", "email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        token = signup.json()["token"]
        me = httpx.get(f"{server.url}/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        yield server, User(id=me["_id"], email=email, password=PASSWORD, token=token)
    finally:
        stop_server(server)


@pytest.mark.parametrize("kind", GARBAGE)
def test_garbage_authorization_header_survives_the_http_parser(real_server: tuple[LiveServer, User], kind: str) -> None:
    server, user = real_server
    header, expected = garbage_headers(user)[kind]
    response = httpx.get(f"{server.url}/prompts", headers={b"Authorization": header})
    assert response.status_code == (431 if expected == HEADERS_TOO_LARGE else 401)
    assert response.json() == expected


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": 12345},
        {"sub": None},
        {"sub": ["user_x"]},
        {"sub": ""},
        {"sub": "user\x00"},
        {"sub": "' OR 1=1 --"},
        {"sub": "%"},
        {"sub": "x" * 10_000},
        {"exp": "tomorrow"},
        {"exp": -1},
        {"exp": None},
    ],
    ids=repr,
)
def test_signed_tokens_with_odd_claims_are_invalid_not_errors(
    app_factory: Callable[..., Any], user: User, claims: dict[str, Any]
) -> None:
    # Only someone holding the key can sign these; even then they must not crash a lookup.
    with TestClient(app_factory(secret_key=SECRET), raise_server_exceptions=False) as client:
        token = jwt.encode({"sub": user.id, "exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")
        response = client.get("/prompts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == INVALID


# --- Another user's ids on every route that takes one ---------------------------------


@dataclass(frozen=True)
class Attempt:
    """A request that names the other user's resources, and the answer the contract gives it."""

    method: str
    path: str
    body: dict[str, Any] | None
    status: int
    message: str | None


def attempts(victim: Victim) -> dict[str, Attempt]:
    """Every way of naming another user's prompt or log, by the contract's answer."""
    prompt_id, log_id = victim.prompt["_id"], victim.log["_id"]
    read_forbidden = "You do not have permission to access this resource."
    forbidden = "Prompt does not belong to the authenticated user."
    return {
        "get prompt": Attempt("GET", f"/prompts/{prompt_id}", None, 403, read_forbidden),
        "patch prompt": Attempt("PATCH", f"/prompts/{prompt_id}", {"title": "Taken over"}, 403, forbidden),
        "patch prompt with invalid body": Attempt("PATCH", f"/prompts/{prompt_id}", {"ownerId": "me"}, 403, forbidden),
        "delete prompt": Attempt("DELETE", f"/prompts/{prompt_id}", None, 403, forbidden),
        "list its logs": Attempt(
            "GET", f"/logs?promptId={prompt_id}", None, 403, "User is not authorized to view logs for this prompt."
        ),
        "log against it": Attempt(
            "POST", "/logs", {"promptId": prompt_id, "output": "injected", "modelUsed": "m"},
            404, "Prompt ID does not exist or is not accessible.",
        ),
        "delete its log": Attempt(
            "DELETE", f"/logs/{log_id}", None, 403, "Log does not belong to the authenticated user."
        ),
        "delete its log by prompt id": Attempt(
            "DELETE", f"/logs/{prompt_id}", None, 404, "No log found with the specified ID."
        ),
        "get its log as a prompt": Attempt(
            "GET", f"/prompts/{log_id}", None, 404, "No prompt found with the specified ID."
        ),
        "search its word": Attempt("GET", f"/search?q={THEIR_WORD}", None, 200, None),
        "search a wildcard": Attempt("GET", "/search?q=%25", None, 200, None),
        "list prompts": Attempt("GET", "/prompts", None, 200, None),
        "list logs": Attempt("GET", "/logs", None, 200, None),
    }


ATTEMPTS = [
    "get prompt", "patch prompt", "patch prompt with invalid body", "delete prompt", "list its logs",
    "log against it", "delete its log", "delete its log by prompt id", "get its log as a prompt",
    "search its word", "search a wildcard", "list prompts", "list logs",
]


@pytest.mark.parametrize("name", ATTEMPTS)
def test_other_users_data_is_never_shown_or_changed(
    client: TestClient, user: User, victim: Victim, name: str
) -> None:
    make_log(client, user, make_prompt(client, user, "My own prompt")["_id"], "My own output")
    before = snapshot(client, victim.user)
    attempt = attempts(victim)[name]
    response = client.request(attempt.method, attempt.path, json=attempt.body, headers=user.headers)
    if attempt.status == 200:
        assert response.status_code == 200, response.text
        assert all(item.get("ownerId", user.id) == user.id for item in response.json())
    else:
        assert_error(response, attempt.status, attempt.message)
    for secret in victim.secrets:
        assert secret not in response.text
    assert snapshot(client, victim.user) == before


# --- Hostile input -------------------------------------------------------------------


@dataclass
class Store:
    """Both users own a prompt and a log; `contents` lists everything either of them owns."""

    client: TestClient
    user: User
    victim: Victim
    prompt_id: str

    def contents(self) -> tuple[Any, ...]:
        """Both users' prompts and logs, to compare before and after an attack."""
        return (*snapshot(self.client, self.user), *snapshot(self.client, self.victim.user))


@pytest.fixture
def store(client: TestClient, user: User, victim: Victim) -> Store:
    prompt = make_prompt(client, user, "Translate to French")
    make_log(client, user, prompt["_id"], "Bonjour")
    return Store(client=client, user=user, victim=victim, prompt_id=prompt["_id"])


METACHARACTERS = ["' OR 1=1 --", "'", "%", "_", "\\", "%%", "\\%", "'; DROP TABLE prompts; --", '" OR ""="']


@pytest.mark.parametrize("term", METACHARACTERS)
def test_metacharacters_in_search_match_only_literally(store: Store, term: str) -> None:
    before = store.contents()
    response = store.client.get("/search", params={"q": term}, headers=store.user.headers)
    # Neither prompt of the caller contains these characters; the other user's title has a `'`.
    assert (response.status_code, response.json()) == (200, [])
    assert store.contents() == before


def percent_encoded(term: str) -> str:
    """Every byte percent-encoded, so the term reaches the route exactly as written."""
    return "".join(f"%{byte:02X}" for byte in term.encode())


@pytest.mark.parametrize("term", [term for term in METACHARACTERS if term != "_"])  # `_` is a well-formed id
@pytest.mark.parametrize(
    ("method", "template", "message"),
    [
        ("GET", "/prompts/{}", "The request is malformed or the prompt ID format is invalid."),
        ("PATCH", "/prompts/{}", "The prompt ID format is invalid."),
        ("DELETE", "/prompts/{}", "The prompt ID format is invalid."),
        ("DELETE", "/logs/{}", "The request is malformed or the log ID format is invalid."),
        ("GET", "/logs?promptId={}", "`promptId` missing or malformed"),
    ],
)
def test_metacharacters_in_ids_are_a_format_error(
    store: Store, term: str, method: str, template: str, message: str
) -> None:
    before = store.contents()
    body = {"title": "Changed title"} if method == "PATCH" else None
    path = template.format(percent_encoded(term))
    response = store.client.request(method, path, json=body, headers=store.user.headers)
    assert_error(response, 400, message)
    assert store.contents() == before


@pytest.mark.parametrize("wildcard", ["_", "-"])
def test_underscore_in_an_id_is_not_a_wildcard(store: Store, wildcard: str) -> None:
    # Same length and prefix as a real id, one character replaced: a LIKE lookup would match it.
    lookalike = store.prompt_id[:-1] + wildcard
    http, headers = store.client, store.user.headers
    no_prompt, no_logs = "No prompt found with the specified ID.", "No logs found for the specified prompt ID."
    before = store.contents()
    assert_error(http.get(f"/prompts/{lookalike}", headers=headers), 404, no_prompt)
    assert_error(http.get(f"/logs?promptId={lookalike}", headers=headers), 404, no_logs)
    assert_error(http.delete(f"/prompts/{lookalike}", headers=headers), 404, no_prompt)
    assert store.contents() == before


@pytest.mark.parametrize("length", [10_000, 1_000_000])
def test_huge_password_at_signup_is_the_password_error(client: TestClient, length: int) -> None:
    body = {"name": "Big", "email": f"big-{uuid.uuid4().hex[:8]}@example.com", "password": "p" * length}
    response = client.post("/auth/signup", json=body)
    assert_error(response, 400, "The password does not meet the security requirements.")
    assert client.post("/auth/login", json={"email": body["email"], "password": "p" * 10}).status_code == 401


@pytest.mark.parametrize("length", [10_000, 1_000_000])
def test_huge_password_at_login_is_refused_quickly(client: TestClient, user: User, length: int) -> None:
    started = time.monotonic()
    response = client.post("/auth/login", json={"email": user.email, "password": "p" * length})
    elapsed = time.monotonic() - started
    assert_error(response, 401, "Incorrect email or password.")
    # Hashing cost must not grow with what an attacker sends; 2 s leaves room for a busy machine.
    assert elapsed < 2, f"{elapsed:.2f} s"


BODY_ROUTES = {
    "signup": ("POST", "/auth/signup", FIELDS_INVALID, False),
    "login": ("POST", "/auth/login", FIELDS_INVALID, False),
    "create prompt": ("POST", "/prompts", FIELDS_INVALID, True),
    "patch prompt": ("PATCH", "/prompts/{prompt_id}", "Submitted data is invalid.", True),
    "create log": ("POST", "/logs", FIELDS_INVALID, True),
}
HOSTILE = [
    "nested arrays", "deeply nested field", "150k unknown keys", "huge array", "non-utf-8 field",
    "lone surrogate", "utf-16", "raw nul byte", "duplicate key turns into an object", "empty",
]


def valid_body(route: str, store: Store) -> dict[str, Any]:
    """A body the route would accept (and act on) as it stands."""
    return {
        "signup": {"name": "Mallory", "email": f"mallory-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD},
        "login": {"email": store.user.email, "password": PASSWORD},
        "create prompt": {"title": "Smuggled prompt", "content": "c", "model": "m"},
        "patch prompt": {"title": "Smuggled title"},
        "create log": {"promptId": store.prompt_id, "output": "Smuggled output", "modelUsed": "m"},
    }[route]


def hostile_body(valid: dict[str, Any], kind: str) -> bytes:
    """The valid body with one hostile twist: the twist alone decides the answer."""
    field = next(key for key, value in valid.items() if isinstance(value, str) and key != "promptId")
    marker = "\u0001twist"

    def twisted(raw: bytes) -> bytes:
        return json.dumps({**valid, field: marker}).encode().replace(json.dumps(marker).encode(), raw)

    bodies: dict[str, Callable[[], bytes]] = {
        "nested arrays": lambda: b"[" * 200_000 + b"]" * 200_000,
        "deeply nested field": lambda: twisted(b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        "150k unknown keys": lambda: json.dumps({**valid, **{f"k{i}": 1 for i in range(150_000)}}).encode(),
        "huge array": lambda: json.dumps([valid] * 10_000).encode(),
        "non-utf-8 field": lambda: twisted(b'"\xff\xfe\xfa"'),
        "lone surrogate": lambda: twisted(b'"\\ud800 and \\udc00"'),
        "utf-16": lambda: json.dumps(valid).encode("utf-16"),
        "raw nul byte": lambda: twisted(b'"a\x00b"'),
        "duplicate key turns into an object": (
            lambda: json.dumps(valid).encode()[:-1] + f', "{field}": {{"$ne": ""}}}}'.encode()
        ),
        "empty": lambda: b"",
    }
    return bodies[kind]()


@pytest.mark.parametrize("route", list(BODY_ROUTES))
@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_bodies_are_a_clear_400_and_change_nothing(store: Store, route: str, kind: str) -> None:
    method, path, message, authenticated = BODY_ROUTES[route]
    valid = valid_body(route, store)
    headers = {"Content-Type": "application/json", **(store.user.headers if authenticated else {})}
    before = store.contents()
    response = store.client.request(
        method, path.format(prompt_id=store.prompt_id), content=hostile_body(valid, kind), headers=headers
    )
    assert_error(response, 400, message)
    assert store.contents() == before
    if route == "signup":
        assert store.client.post("/auth/login", json={"email": valid["email"], "password": PASSWORD}).status_code == 401


WRONG_TYPES = [
    "json as text/plain", "json as form-encoded", "json as multipart", "form fields", "multipart fields", "plain text",
]


def wrong_type_request(valid: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    """httpx arguments and headers that carry the body under a content type other than JSON."""
    json_text = json.dumps(valid).encode()
    fields = {key: str(value) for key, value in valid.items()}
    requests: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
        "json as text/plain": ({"content": json_text}, {"Content-Type": "text/plain"}),
        "json as form-encoded": ({"content": json_text}, {"Content-Type": "application/x-www-form-urlencoded"}),
        "json as multipart": ({"content": json_text}, {"Content-Type": "multipart/form-data; boundary=x"}),
        "form fields": ({"data": fields}, {}),
        "multipart fields": ({"data": fields, "files": {"body": ("body.json", json_text, "application/json")}}, {}),
        "plain text": ({"content": b"title=abc, content=c, model=m"}, {"Content-Type": "text/plain"}),
    }
    return requests[kind]


@pytest.mark.parametrize("route", ["signup", "create prompt", "patch prompt", "create log"])
@pytest.mark.parametrize("kind", WRONG_TYPES)
def test_bodies_not_declared_as_json_are_refused(store: Store, route: str, kind: str) -> None:
    method, path, _message, authenticated = BODY_ROUTES[route]
    valid = valid_body(route, store)
    arguments, headers = wrong_type_request(valid, kind)
    before = store.contents()
    response = store.client.request(
        method,
        path.format(prompt_id=store.prompt_id),
        headers={**(store.user.headers if authenticated else {}), **headers},
        **arguments,
    )
    # Browsers send these three types cross-site without a preflight; a JSON API must not act on them.
    assert response.status_code in (400, 415), f"{response.status_code} {response.text}"
    assert isinstance(response.json().get("error"), str)
    assert store.contents() == before
    if route == "signup":
        assert store.client.post("/auth/login", json={"email": valid["email"], "password": PASSWORD}).status_code == 401


# --- Login throttling across processes and restarts ----------------------------------


def failed_logins_then_right_password(url: str, email: str, *, right_attempts: int) -> list[int]:
    """Statuses of the right password after ten failures; every request on a fresh connection."""
    for _ in range(10):
        # A new connection each time: the kernel spreads them over the workers.
        response = httpx.post(f"{url}/auth/login", json={"email": email, "password": "wrong password!"})
        assert response.status_code == 401, response.text
    return [
        httpx.post(f"{url}/auth/login", json={"email": email, "password": PASSWORD}).status_code
        for _ in range(right_attempts)
    ]


def test_login_lockout_holds_across_workers_and_restarts(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'throttle.db'}"
    server = start_server(database_url, workers=2)
    try:
        email = f"locked-{uuid.uuid4().hex[:8]}@example.com"
        signup = httpx.post(f"{server.url}/auth/signup", json={"name": "Locked", "email": email, "password": PASSWORD})
        assert signup.status_code == 201
        statuses = failed_logins_then_right_password(server.url, email, right_attempts=8)
        assert statuses == [429] * 8
        locked = httpx.post(f"{server.url}/auth/login", json={"email": email, "password": PASSWORD})
        assert_error(locked, 429, "Too many login attempts. Try again later.")
        assert int(locked.headers["Retry-After"]) > 0
    finally:
        stop_server(server)
    restarted = start_server(database_url, workers=2)
    try:
        for _ in range(4):
            response = httpx.post(f"{restarted.url}/auth/login", json={"email": email, "password": PASSWORD})
            assert_error(response, 429, "Too many login attempts. Try again later.")
    finally:
        stop_server(restarted)


# --- Security headers ------------------------------------------------------------------


def _requests(user: User) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One request for each kind of answer: success, each error, the docs and their assets."""
    auth = {"headers": user.headers}
    return {
        "api 200": ("GET", "/prompts", auth),
        "api 201": ("POST", "/prompts", {**auth, "json": {"title": "Headers", "content": "c", "model": "m"}}),
        "api 204": ("DELETE", "/logs/{log_id}", auth),
        "400": ("POST", "/prompts", {**auth, "content": b"not json"}),
        "401": ("GET", "/prompts", {}),
        "403": ("GET", "/prompts/{their_prompt_id}", auth),
        "404 route": ("GET", "/nowhere", {}),
        "404 id": ("GET", "/prompts/prompt404", auth),
        "405": ("PUT", "/prompts", auth),
        "413": ("POST", "/prompts", {**auth, "content": b"x" * (3 * 1024 * 1024)}),
        "health": ("GET", "/health", {}),
        "openapi": ("GET", "/openapi.json", {}),
        "docs": ("GET", "/docs", {}),
        "docs script": ("GET", "/docs/init.js", {}),
        "docs asset": ("GET", "/docs/assets/swagger-ui-bundle.js", {}),
    }


RESPONSES = [
    "api 200", "api 201", "api 204", "400", "401", "403", "404 route", "404 id", "405", "413",
    "health", "openapi", "docs", "docs script", "docs asset",
]


@pytest.mark.parametrize("kind", RESPONSES)
def test_every_response_forbids_content_sniffing(client: TestClient, user: User, victim: Victim, kind: str) -> None:
    method, path, arguments = _requests(user)[kind]
    log_id = make_log(client, user, make_prompt(client, user, "Mine")["_id"], "out")["_id"]
    response = client.request(method, path.format(log_id=log_id, their_prompt_id=victim.prompt["_id"]), **arguments)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"]


def _policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive -> sources."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


@pytest.mark.parametrize("path", ["/docs", "/docs/init.js"])
def test_docs_policy_allows_only_this_server(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = _policy(response.headers["content-security-policy"])
    assert "default-src" in policy
    sources = [source for values in policy.values() for source in values]
    assert "'unsafe-eval'" not in sources
    # Only keywords, and data: URIs; no host, scheme or wildcard that reaches another server.
    assert set(sources) <= {"'self'", "'none'", "'unsafe-inline'", "data:"}, sources
    # Scripts come from this server's files only: no inline code, no data: URIs.
    script_sources = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in script_sources
    assert "data:" not in script_sources
    assert policy["frame-ancestors"] == ["'none'"]


def test_api_policy_allows_nothing(client: TestClient, user: User) -> None:
    policy = _policy(client.get("/prompts", headers=user.headers).headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
