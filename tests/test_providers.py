"""Providers (EVALUATION.md §10), on both stores: the OpenAI-compatible endpoints a user's runs
call, with their models' prices. Their API keys are sealed with the server's secret, never
returned (only a hint of their last four characters), and managed with a login token only."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from helpers import User
from promptcrafter import messages
from promptcrafter.config import Settings
from promptcrafter.sealing import Sealer
from promptcrafter.server.scopes import SCOPES
from promptcrafter.storage import Database
from promptcrafter.storage.tables import providers, server_secrets

PROVIDER_FIELDS = {
    "_id",
    "name",
    "baseUrl",
    "apiKeyHint",
    "models",
    "concurrency",
    "timeoutSeconds",
    "createdAt",
    "updatedAt",
}
API_KEY = "sk-proj-Secret0123456789-x7Qa"
NEW_KEY = "sk-proj-Another9876543210-Zz42"
PROVIDER: dict[str, Any] = {
    "name": "openai",
    "baseUrl": "https://api.openai.com/v1",
    "apiKey": API_KEY,
    "models": [{"name": "gpt-4o-mini", "inputPer1M": 0.15, "outputPer1M": 0.6}],
}
UNKNOWN = "provider_01M8MEBV8V1YNTK4V776RNNECH"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def make_provider(client: TestClient, user: User, **fields: Any) -> dict[str, Any]:
    response = client.post("/providers", json={**PROVIDER, **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def patch(client: TestClient, user: User, provider_id: str, body: Any) -> Any:
    return client.patch(f"/providers/{provider_id}", json=body, headers=user.headers)


def sealed_keys(settings: Settings) -> dict[str, tuple[str | None, str | None]]:
    """Each stored provider's sealed key, and what the server's secret opens it to."""
    database = Database(settings.database_url)
    try:
        with database.engine.connect() as conn:
            secret = (
                settings.secret_key
                or conn.execute(
                    select(server_secrets.c.value).where(server_secrets.c.name == "jwt_secret")
                ).scalar_one()
            )
            rows = conn.execute(select(providers.c.id, providers.c.api_key_sealed)).all()
    finally:
        database.close()
    sealer = Sealer(secret)
    return {row.id: (row.api_key_sealed, row.api_key_sealed and sealer.open(row.api_key_sealed)) for row in rows}


# Creating and reading


def test_a_new_provider_shows_exactly_its_fields_and_a_hint_of_its_key(client: TestClient, user: User) -> None:
    response = client.post("/providers", json=PROVIDER, headers=user.headers)
    assert response.status_code == 201
    provider = response.json()
    assert set(provider) == PROVIDER_FIELDS
    assert provider["_id"].startswith("provider_")
    assert (provider["name"], provider["baseUrl"], provider["models"]) == (
        PROVIDER["name"],
        PROVIDER["baseUrl"],
        PROVIDER["models"],
    )
    assert provider["apiKeyHint"] == "…x7Qa"
    assert (provider["concurrency"], provider["timeoutSeconds"]) == (4, 60)
    assert TIMESTAMP.fullmatch(provider["createdAt"]) and provider["createdAt"] == provider["updatedAt"]
    assert client.get(f"/providers/{provider['_id']}", headers=user.headers).json() == provider


def test_a_short_key_is_not_shown_even_in_part(client: TestClient, user: User) -> None:
    # Four characters of an eleven-character key would give away too much of it.
    provider = make_provider(client, user, apiKey="sk-abcdefgh")
    assert provider["apiKeyHint"] == "…"
    assert "efgh" not in client.get("/providers", headers=user.headers).text


def test_a_provider_needs_no_key_and_no_prices(client: TestClient, user: User) -> None:
    response = client.post(
        "/providers", json={"name": "local", "baseUrl": "http://127.0.0.1:11434/v1"}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    provider = response.json()
    assert (provider["apiKeyHint"], provider["models"]) == (None, [])
    priced = make_provider(client, user, name="priced", models=[{"name": "llama3.1:8b"}])
    assert priced["models"] == [{"name": "llama3.1:8b", "inputPer1M": None, "outputPer1M": None}]


def test_concurrency_and_timeout_are_kept_as_sent(client: TestClient, user: User) -> None:
    provider = make_provider(client, user, concurrency=16, timeoutSeconds=2.5)
    assert (provider["concurrency"], provider["timeoutSeconds"]) == (16, 2.5)


def test_the_api_key_never_appears_in_a_response(client: TestClient, user: User) -> None:
    created = client.post("/providers", json=PROVIDER, headers=user.headers)
    provider_id = created.json()["_id"]
    responses = [
        created,
        client.get(f"/providers/{provider_id}", headers=user.headers),
        client.get("/providers", headers=user.headers),
        patch(client, user, provider_id, {"concurrency": 8}),
        patch(client, user, provider_id, {"apiKey": NEW_KEY}),
        client.get(f"/providers/{provider_id}", headers=user.headers),
        client.get("/providers", headers=user.headers),
    ]
    assert [response.status_code for response in responses] == [201, 200, 200, 200, 200, 200, 200]
    for response in responses:
        assert API_KEY not in response.text and NEW_KEY not in response.text
        assert "apiKey" not in (response.json() if isinstance(response.json(), dict) else response.json()[0])
    assert responses[-1].json()[0]["apiKeyHint"] == "…Zz42"


def test_the_api_key_is_stored_sealed_with_the_servers_secret(
    client: TestClient, user: User, settings: Settings
) -> None:
    provider = make_provider(client, user)
    keyless = make_provider(client, user, name="keyless", apiKey=None)
    stored = sealed_keys(settings)
    sealed, opened = stored[provider["_id"]]
    assert sealed is not None and API_KEY not in sealed and API_KEY[-4:] not in sealed
    assert opened == API_KEY
    assert stored[keyless["_id"]] == (None, None)


def test_providers_list_by_name_and_only_the_callers(client: TestClient, user: User, other_user: User) -> None:
    made = {name: make_provider(client, user, name=name) for name in ("zeta", "alpha", "Mid", "beta")}
    make_provider(client, other_user, name="aaa theirs")
    response = client.get("/providers", headers=user.headers)
    assert response.status_code == 200
    listed = response.json()
    # By code point on both stores, as prompt titles are: capitals before small letters.
    assert [provider["name"] for provider in listed] == ["Mid", "alpha", "beta", "zeta"]
    assert listed == [made[provider["name"]] for provider in listed]


def test_a_duplicate_name_is_a_conflict(client: TestClient, user: User, other_user: User) -> None:
    make_provider(client, user)
    response = client.post("/providers", json={**PROVIDER, "baseUrl": "https://other.example/v1"}, headers=user.headers)
    assert (response.status_code, response.json()) == (409, {"error": messages.PROVIDER_NAME_TAKEN})
    assert len(client.get("/providers", headers=user.headers).json()) == 1
    assert make_provider(client, other_user)["name"] == PROVIDER["name"]  # names are per account
    assert make_provider(client, user, name="OpenAI")["name"] == "OpenAI"  # and case counts


def test_renaming_to_a_taken_name_is_a_conflict(client: TestClient, user: User) -> None:
    make_provider(client, user)
    second = make_provider(client, user, name="second")
    response = patch(client, user, second["_id"], {"name": PROVIDER["name"]})
    assert (response.status_code, response.json()) == (409, {"error": messages.PROVIDER_NAME_TAKEN})
    assert client.get(f"/providers/{second['_id']}", headers=user.headers).json() == second
    assert patch(client, user, second["_id"], {"name": "second"}).status_code == 200  # its own name is free


BAD_BASE_URLS = [
    "api.openai.com/v1",
    "ftp://api.openai.com/v1",
    "file:///etc/passwd",
    "https://",
    "https:///v1",
    "https://api.openai.com/v1?key=sk-1",
    "https://api.openai.com/v1#models",
    "",
    7,
    None,
]


def test_the_base_url_must_be_http_or_https_without_a_query(client: TestClient, user: User) -> None:
    for base_url in BAD_BASE_URLS:
        response = client.post("/providers", json={**PROVIDER, "baseUrl": base_url}, headers=user.headers)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), base_url
        assert response.json()["details"][0]["field"] == "baseUrl", base_url
    assert client.get("/providers", headers=user.headers).json() == []
    provider = make_provider(client, user)
    for base_url in BAD_BASE_URLS[:-1]:  # null on PATCH keeps the value
        response = patch(client, user, provider["_id"], {"baseUrl": base_url})
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), base_url
    assert client.get(f"/providers/{provider['_id']}", headers=user.headers).json() == provider


def test_a_trailing_slash_is_removed_from_the_base_url(client: TestClient, user: User) -> None:
    provider = make_provider(client, user, baseUrl="https://api.openai.com/v1/")
    assert provider["baseUrl"] == "https://api.openai.com/v1"
    plain = make_provider(client, user, name="plain http", baseUrl="http://localhost:8080/")
    assert plain["baseUrl"] == "http://localhost:8080"
    patched = patch(client, user, provider["_id"], {"baseUrl": "https://openrouter.ai/api/v1/"}).json()
    assert patched["baseUrl"] == "https://openrouter.ai/api/v1"


def test_concurrency_is_1_to_64_and_timeout_1_to_600_seconds(client: TestClient, user: User) -> None:
    bad: list[dict[str, Any]] = [
        {"concurrency": 0},
        {"concurrency": 65},
        {"concurrency": 1.5},
        {"concurrency": "4"},
        {"timeoutSeconds": 0},
        {"timeoutSeconds": 0.5},
        {"timeoutSeconds": 600.5},
        {"timeoutSeconds": -1},
        {"timeoutSeconds": "60"},
    ]
    for fields in bad:
        response = client.post("/providers", json={**PROVIDER, **fields}, headers=user.headers)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), fields
        assert response.json()["details"][0]["field"] == next(iter(fields)), fields
    assert client.get("/providers", headers=user.headers).json() == []
    low = make_provider(client, user, name="low", concurrency=1, timeoutSeconds=1)
    high = make_provider(client, user, name="high", concurrency=64, timeoutSeconds=600)
    assert [(p["concurrency"], p["timeoutSeconds"]) for p in (low, high)] == [(1, 1), (64, 600)]
    for fields in bad:
        response = patch(client, user, low["_id"], fields)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), fields
    assert client.get(f"/providers/{low['_id']}", headers=user.headers).json() == low


def test_a_provider_takes_only_known_fields(client: TestClient, user: User) -> None:
    bodies: list[Any] = [
        {key: value for key, value in PROVIDER.items() if key != "name"},
        {key: value for key, value in PROVIDER.items() if key != "baseUrl"},
        {**PROVIDER, "name": ""},
        {**PROVIDER, "name": "x" * 101},
        {**PROVIDER, "apiKey": ""},
        {**PROVIDER, "apiKey": 1234},
        {**PROVIDER, "apiKeyHint": "…x7Qa"},
        {**PROVIDER, "_id": UNKNOWN},
        {**PROVIDER, "models": [{"name": "m", "inputPer1M": -1}]},
        {**PROVIDER, "models": [{"name": ""}]},
        {**PROVIDER, "models": "gpt-4o"},
        [PROVIDER],
    ]
    for body in bodies:
        response = client.post("/providers", json=body, headers=user.headers)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), body
    assert client.get("/providers", headers=user.headers).json() == []


# Changing and deleting


def test_patch_keeps_the_fields_it_does_not_send(client: TestClient, user: User, settings: Settings) -> None:
    provider = make_provider(client, user, concurrency=8, timeoutSeconds=30)
    response = patch(client, user, provider["_id"], {"name": "renamed"})
    assert response.status_code == 200
    changed = response.json()
    assert {**changed, "updatedAt": None} == {**provider, "name": "renamed", "updatedAt": None}
    assert changed["updatedAt"] >= provider["updatedAt"]
    prices = [{"name": "gpt-4.1", "inputPer1M": 2, "outputPer1M": 8}]
    changed = patch(client, user, provider["_id"], {"models": prices, "concurrency": 2, "timeoutSeconds": 9}).json()
    assert (changed["name"], changed["models"], changed["concurrency"], changed["timeoutSeconds"]) == (
        "renamed",
        prices,
        2,
        9,
    )
    assert (changed["baseUrl"], changed["apiKeyHint"]) == (provider["baseUrl"], "…x7Qa")
    assert client.get(f"/providers/{provider['_id']}", headers=user.headers).json() == changed
    assert sealed_keys(settings)[provider["_id"]][1] == API_KEY  # the key stays sealed as it was


def test_patch_with_a_null_api_key_removes_the_key(client: TestClient, user: User, settings: Settings) -> None:
    provider = make_provider(client, user)
    response = patch(client, user, provider["_id"], {"apiKey": None})
    assert response.status_code == 200
    assert response.json()["apiKeyHint"] is None
    assert client.get(f"/providers/{provider['_id']}", headers=user.headers).json()["apiKeyHint"] is None
    assert sealed_keys(settings)[provider["_id"]] == (None, None)


def test_patch_with_a_new_key_changes_the_hint_and_the_sealed_key(
    client: TestClient, user: User, settings: Settings
) -> None:
    provider = make_provider(client, user)
    response = patch(client, user, provider["_id"], {"apiKey": NEW_KEY})
    assert response.status_code == 200
    assert response.json()["apiKeyHint"] == "…Zz42"
    sealed, opened = sealed_keys(settings)[provider["_id"]]
    assert sealed is not None and NEW_KEY not in sealed and opened == NEW_KEY
    keyless = make_provider(client, user, name="keyless", apiKey=None)
    assert patch(client, user, keyless["_id"], {"apiKey": API_KEY}).json()["apiKeyHint"] == "…x7Qa"


def test_a_deleted_provider_is_gone(client: TestClient, user: User, settings: Settings) -> None:
    provider, kept = make_provider(client, user), make_provider(client, user, name="kept")
    response = client.delete(f"/providers/{provider['_id']}", headers=user.headers)
    assert (response.status_code, response.content) == (204, b"")
    for method in ("GET", "DELETE", "PATCH"):
        gone = client.request(method, f"/providers/{provider['_id']}", json={"name": "x"}, headers=user.headers)
        assert (gone.status_code, gone.json()) == (404, {"error": messages.PROVIDER_NOT_FOUND}), method
    assert client.get("/providers", headers=user.headers).json() == [kept]
    assert set(sealed_keys(settings)) == {kept["_id"]}
    assert make_provider(client, user)["name"] == PROVIDER["name"]  # its name is free again


# Who may touch a provider

# Every route of one provider: (method, JSON body).
ONE_PROVIDER = [("GET", None), ("PATCH", {"name": "taken over"}), ("DELETE", None)]


def test_another_users_provider_is_forbidden(client: TestClient, user: User, other_user: User) -> None:
    theirs = make_provider(client, other_user)
    for method, body in ONE_PROVIDER:
        response = client.request(method, f"/providers/{theirs['_id']}", json=body, headers=user.headers)
        assert (response.status_code, response.json()) == (403, {"error": messages.PROVIDER_FORBIDDEN}), method
    assert client.get(f"/providers/{theirs['_id']}", headers=other_user.headers).json() == theirs
    assert client.get("/providers", headers=user.headers).json() == []


def test_an_unknown_provider_is_404_and_a_bad_id_400(client: TestClient, user: User) -> None:
    for method, body in ONE_PROVIDER:
        unknown = client.request(method, f"/providers/{UNKNOWN}", json=body, headers=user.headers)
        assert (unknown.status_code, unknown.json()) == (404, {"error": messages.PROVIDER_NOT_FOUND}), method
        for bad_id in ("x" * 65, "bad.id"):
            malformed = client.request(method, f"/providers/{bad_id}", json=body, headers=user.headers)
            assert (malformed.status_code, malformed.json()) == (400, {"error": messages.PROVIDER_BAD_ID}), method


def test_patch_errors_follow_the_contract_order(client: TestClient, user: User, other_user: User) -> None:
    """API.md: the id's format (400), existence (404) and ownership (403), then the body (400)."""
    theirs = make_provider(client, other_user)
    bad_body = {"concurrency": 0}
    malformed = patch(client, user, "bad.id", bad_body)
    unknown = patch(client, user, UNKNOWN, bad_body)
    forbidden = patch(client, user, theirs["_id"], bad_body)
    assert (malformed.status_code, malformed.json()) == (400, {"error": messages.PROVIDER_BAD_ID})
    assert (unknown.status_code, unknown.json()) == (404, {"error": messages.PROVIDER_NOT_FOUND})
    assert (forbidden.status_code, forbidden.json()) == (403, {"error": messages.PROVIDER_FORBIDDEN})


def test_api_keys_cannot_manage_providers(client: TestClient, user: User) -> None:
    provider = make_provider(client, user)
    made = client.post("/auth/keys", json={"name": "ci", "scopes": list(SCOPES)}, headers=user.headers)
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    requests = [
        ("POST", "/providers", {**PROVIDER, "name": "by key"}),
        ("GET", "/providers", None),
        *((method, f"/providers/{provider['_id']}", body) for method, body in ONE_PROVIDER),
    ]
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        for method, path, body in requests:
            response = client.request(method, path, json=body, headers=headers)
            assert (response.status_code, response.json()) == (403, {"error": messages.KEY_NEEDS_LOGIN}), (method, path)
            assert API_KEY not in response.text
    assert client.get("/providers", headers=user.headers).json() == [provider]


def test_providers_need_authentication(client: TestClient) -> None:
    for method, path in (("GET", "/providers"), ("POST", "/providers"), ("GET", f"/providers/{UNKNOWN}")):
        response = client.request(method, path, json=PROVIDER)
        assert (response.status_code, response.json()) == (401, {"error": messages.TOKEN_MISSING}), method
