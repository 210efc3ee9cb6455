"""Prompt versions, labels and template variables (EVALUATION.md §1–3)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import User

PROMPT = {
    "title": "Summarise a ticket",
    "content": "Summarise this ticket for {{ audience }}:\n\n{{ticket}}\n\nSign as {{audience}}.",
    "model": "gpt-4o",
    "tags": ["support"],
}
VERSION_FIELDS = {"version", "title", "content", "model", "tags", "variables", "labels", "createdAt"}


def create(client: TestClient, user: User, **fields: Any) -> dict[str, Any]:
    response = client.post("/prompts", json={**PROMPT, **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def patch(client: TestClient, user: User, prompt_id: str, **fields: Any) -> dict[str, Any]:
    response = client.patch(f"/prompts/{prompt_id}", json=fields, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def get(client: TestClient, user: User, path: str, status: int = 200) -> Any:
    response = client.get(path, headers=user.headers)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def prompt(client: TestClient, user: User) -> dict[str, Any]:
    """A prompt at version 3: v1 as created, v2 a new model, v3 a new content."""
    created = create(client, user)
    patch(client, user, created["_id"], model="gpt-4o-mini")
    return patch(client, user, created["_id"], content="Summarise {{ticket}} in one line.")


# §1 Versions


def test_a_new_prompt_is_version_1_and_lists_its_variables(client: TestClient, user: User) -> None:
    created = create(client, user)
    assert created["version"] == 1
    assert created["variables"] == ["audience", "ticket"]
    assert get(client, user, f"/prompts/{created['_id']}") == created


def test_every_changing_patch_makes_a_version(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    assert prompt["version"] == 3
    assert prompt["variables"] == ["ticket"]
    listed = get(client, user, f"/prompts/{prompt['_id']}/versions")
    assert [version["version"] for version in listed] == [3, 2, 1]
    assert all(set(version) == VERSION_FIELDS for version in listed)
    assert [version["model"] for version in listed] == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]
    assert listed[0]["content"] == "Summarise {{ticket}} in one line."
    assert listed[2]["variables"] == ["audience", "ticket"]


def test_a_patch_that_changes_nothing_makes_no_version_but_moves_updated_at(
    client: TestClient, user: User, prompt: dict[str, Any]
) -> None:
    same = patch(client, user, prompt["_id"], model="gpt-4o-mini", tags=["support"])
    assert same["version"] == 3
    assert same["updatedAt"] > prompt["updatedAt"]
    assert len(get(client, user, f"/prompts/{prompt['_id']}/versions")) == 3


def test_a_version_is_an_immutable_snapshot(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    first = get(client, user, f"/prompts/{prompt['_id']}/versions/1")
    patch(client, user, prompt["_id"], title="Something else", tags=[])
    assert get(client, user, f"/prompts/{prompt['_id']}/versions/1") == first
    assert first["title"] == PROMPT["title"] and first["tags"] == ["support"] and first["labels"] == []


@pytest.mark.parametrize("number", ["0", "-1", "1.5", "one", "²", "01x"])
def test_a_version_number_must_be_a_positive_integer(
    client: TestClient, user: User, prompt: dict[str, Any], number: str
) -> None:
    body = get(client, user, f"/prompts/{prompt['_id']}/versions/{number}", 400)
    assert body == {"error": "The version must be a positive integer."}


@pytest.mark.parametrize("number", ["4", "99", "99999999999999999999999"])
def test_a_version_that_does_not_exist_is_404(
    client: TestClient, user: User, prompt: dict[str, Any], number: str
) -> None:
    body = get(client, user, f"/prompts/{prompt['_id']}/versions/{number}", 404)
    assert body == {"error": "The prompt has no version with the specified number."}


def test_diff_lists_changed_fields_and_a_unified_diff_of_the_content(
    client: TestClient, user: User, prompt: dict[str, Any]
) -> None:
    diff = get(client, user, f"/prompts/{prompt['_id']}/diff?from=1&to=3")
    assert diff["from"] == 1 and diff["to"] == 3
    assert diff["changes"] == {
        "content": {"from": PROMPT["content"], "to": "Summarise {{ticket}} in one line."},
        "model": {"from": "gpt-4o", "to": "gpt-4o-mini"},
    }
    assert diff["contentDiff"] == (
        "--- v1\n+++ v3\n@@ -1,5 +1 @@\n"
        "-Summarise this ticket for {{ audience }}:\n-\n-{{ticket}}\n-\n-Sign as {{audience}}.\n"
        "+Summarise {{ticket}} in one line.\n"
    )
    same = get(client, user, f"/prompts/{prompt['_id']}/diff?from=2&to=2")
    assert same == {"from": 2, "to": 2, "changes": {}, "contentDiff": ""}


def test_diff_keeps_three_lines_of_context(client: TestClient, user: User) -> None:
    lines = [f"line {i}" for i in range(1, 11)]
    created = create(client, user, content="\n".join(lines))
    patch(client, user, created["_id"], content="\n".join(lines[:5] + ["changed"] + lines[6:]))
    diff = get(client, user, f"/prompts/{created['_id']}/diff?from=1&to=2")
    assert (
        diff["contentDiff"]
        == "--- v1\n+++ v2\n@@ -3,7 +3,7 @@\n line 3\n line 4\n line 5\n-line 6\n+changed\n line 7\n line 8\n line 9\n"
    )


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("from=1", 400, "to"),
        ("to=1", 400, "from"),
        ("from=1&from=2&to=1", 400, "from"),
        ("from=x&to=1", 400, None),
        ("from=1&to=9", 404, None),
        ("from=1&to=1&x=1", 400, None),
    ],
)
def test_diff_needs_two_existing_versions(
    client: TestClient, user: User, prompt: dict[str, Any], query: str, status: int, field: str | None
) -> None:
    body = get(client, user, f"/prompts/{prompt['_id']}/diff?{query}", status)
    if field is not None:
        assert body["details"][0]["field"] == field


def test_restore_makes_a_new_version_equal_to_the_old_one(
    client: TestClient, user: User, prompt: dict[str, Any]
) -> None:
    response = client.post(f"/prompts/{prompt['_id']}/versions/1/restore", headers=user.headers)
    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["version"] == 4
    assert {key: restored[key] for key in PROMPT} == PROMPT
    assert get(client, user, f"/prompts/{prompt['_id']}") == restored
    assert get(client, user, f"/prompts/{prompt['_id']}/diff?from=1&to=4")["changes"] == {}


def test_restoring_the_current_version_makes_none(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    response = client.post(f"/prompts/{prompt['_id']}/versions/3/restore", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == prompt
    assert client.post(f"/prompts/{prompt['_id']}/versions/7/restore", headers=user.headers).status_code == 404


def test_deleting_a_prompt_deletes_its_versions_and_labels(
    client: TestClient, user: User, prompt: dict[str, Any]
) -> None:
    client.put(f"/prompts/{prompt['_id']}/labels/production", json={"version": 2}, headers=user.headers)
    assert client.delete(f"/prompts/{prompt['_id']}", headers=user.headers).status_code == 204
    assert get(client, user, f"/prompts/{prompt['_id']}/versions", 404) == {
        "error": "No prompt found with the specified ID."
    }


# §2 Labels


def test_a_label_names_a_version_and_can_move(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    path = f"/prompts/{prompt['_id']}/labels/production"
    response = client.put(path, json={"version": 2}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"label", "version", "updatedAt"}
    assert response.json()["label"] == "production" and response.json()["version"] == 2
    fetched = get(client, user, f"/prompts/{prompt['_id']}?label=production")
    assert fetched["version"] == 2 and fetched["model"] == "gpt-4o-mini" and fetched["content"] == PROMPT["content"]
    assert {key: fetched[key] for key in ("_id", "ownerId", "createdAt")} == {
        key: prompt[key] for key in ("_id", "ownerId", "createdAt")
    }
    client.put(path, json={"version": 3}, headers=user.headers)
    assert get(client, user, f"/prompts/{prompt['_id']}?label=production")["version"] == 3


def test_versions_list_their_labels_sorted(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    for label, version in [("staging", 3), ("canary", 3), ("production", 1)]:
        assert (
            client.put(
                f"/prompts/{prompt['_id']}/labels/{label}", json={"version": version}, headers=user.headers
            ).status_code
            == 200
        )
    listed = get(client, user, f"/prompts/{prompt['_id']}/versions")
    assert [version["labels"] for version in listed] == [["canary", "staging"], [], ["production"]]
    assert get(client, user, f"/prompts/{prompt['_id']}/versions/1")["labels"] == ["production"]


def test_latest_always_means_the_current_version(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    assert get(client, user, f"/prompts/{prompt['_id']}?label=latest") == prompt
    for method in ("put", "delete"):
        kwargs: dict[str, Any] = {"json": {"version": 1}} if method == "put" else {}
        response = client.request(
            method.upper(), f"/prompts/{prompt['_id']}/labels/latest", headers=user.headers, **kwargs
        )
        assert response.status_code == 400
        assert response.json() == {
            "error": "The label `latest` always names the current version; it cannot be set or removed."
        }


@pytest.mark.parametrize("name", ["Production", "-x", "a" * 33, "has space", "ü"])
def test_label_names_are_restricted(client: TestClient, user: User, prompt: dict[str, Any], name: str) -> None:
    response = client.put(f"/prompts/{prompt['_id']}/labels/{name}", json={"version": 1}, headers=user.headers)
    assert response.status_code == 400
    assert "A label is 1 to 32" in response.json()["error"]


def test_setting_a_label_checks_the_version_and_the_body(
    client: TestClient, user: User, prompt: dict[str, Any]
) -> None:
    path = f"/prompts/{prompt['_id']}/labels/prod"
    assert client.put(path, json={"version": 4}, headers=user.headers).status_code == 404
    for body in ({}, {"version": 0}, {"version": "2"}, {"version": 2, "extra": 1}, {"version": True}):
        response = client.put(path, json=body, headers=user.headers)
        assert response.status_code == 400, body
        assert response.json()["error"] == "Required fields are missing or invalid."


def test_deleting_a_label(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    path = f"/prompts/{prompt['_id']}/labels/staging"
    assert client.delete(path, headers=user.headers).status_code == 404
    client.put(path, json={"version": 1}, headers=user.headers)
    assert client.delete(path, headers=user.headers).status_code == 204
    assert get(client, user, f"/prompts/{prompt['_id']}?label=staging", 404) == {
        "error": "The prompt has no label with the specified name."
    }


def test_a_prompt_can_be_fetched_as_of_a_version(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    first = get(client, user, f"/prompts/{prompt['_id']}?version=1")
    assert first["version"] == 1 and first["model"] == "gpt-4o" and first["variables"] == ["audience", "ticket"]
    assert get(client, user, f"/prompts/{prompt['_id']}?version=3") == prompt
    get(client, user, f"/prompts/{prompt['_id']}?version=4", 404)
    get(client, user, f"/prompts/{prompt['_id']}?version=0", 400)
    get(client, user, f"/prompts/{prompt['_id']}?version=1&label=latest", 400)
    get(client, user, f"/prompts/{prompt['_id']}?version=1&version=2", 400)
    get(client, user, f"/prompts/{prompt['_id']}?tag=x", 400)


# §3 Variables and rendering


def render(client: TestClient, user: User, prompt_id: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(f"/prompts/{prompt_id}/render", json=body, headers=user.headers)
    assert response.status_code == status, response.text
    return response.json()


def test_render_fills_in_every_variable(client: TestClient, user: User) -> None:
    created = create(client, user)
    rendered = render(client, user, created["_id"], {"variables": {"audience": "Ops", "ticket": "VPN down", "x": "y"}})
    assert rendered == {"text": "Summarise this ticket for Ops:\n\nVPN down\n\nSign as Ops.", "version": 1}


def test_render_names_every_missing_variable(client: TestClient, user: User) -> None:
    created = create(client, user)
    body = render(client, user, created["_id"], {"variables": {}}, 400)
    assert body["error"] == "Some of the template's variables have no value."
    assert [detail["field"] for detail in body["details"]] == ["variables.audience", "variables.ticket"]


def test_render_a_version_or_a_label(client: TestClient, user: User, prompt: dict[str, Any]) -> None:
    client.put(f"/prompts/{prompt['_id']}/labels/production", json={"version": 1}, headers=user.headers)
    values = {"audience": "Ops", "ticket": "T"}
    assert render(client, user, prompt["_id"], {"variables": values})["text"] == "Summarise T in one line."
    assert render(client, user, prompt["_id"], {"variables": values, "version": 1})["version"] == 1
    assert render(client, user, prompt["_id"], {"variables": values, "label": "production"})["text"].startswith(
        "Summarise this ticket for Ops"
    )
    render(client, user, prompt["_id"], {"variables": values, "label": "nope"}, 404)
    render(client, user, prompt["_id"], {"variables": values, "version": 9}, 404)


@pytest.mark.parametrize("variables", [{"ticket": 1}, {"ticket": None}, ["ticket"], "ticket"])
def test_render_values_must_be_strings(client: TestClient, user: User, variables: Any) -> None:
    created = create(client, user)
    assert (
        render(client, user, created["_id"], {"variables": variables}, 400)["error"]
        == "Required fields are missing or invalid."
    )


@pytest.mark.parametrize(
    ("content", "variables"),
    [
        ("Hello {{name}} and {{ name }} and {{\tother.part }}", ["name", "other.part"]),
        ("{{ 1abc }} {{a-b}} {{}} {{ }} {x} {{{y}}}", ["y"]),
        ("no variables {{", []),
        ("{{_private}}{{A9}}", ["_private", "A9"]),
    ],
)
def test_variables_are_names_in_double_braces(
    client: TestClient, user: User, content: str, variables: list[str]
) -> None:
    assert create(client, user, content=content)["variables"] == variables


def test_text_that_is_not_a_variable_is_kept(client: TestClient, user: User) -> None:
    created = create(client, user, content="{{ 1abc }} {{{y}}} {{")
    assert render(client, user, created["_id"], {"variables": {"y": "Y"}})["text"] == "{{ 1abc }} {Y} {{"


# Ownership and the order of checks, on every new route


ROUTES = [
    ("GET", "?label=production", None),
    ("GET", "?version=1", None),
    ("GET", "/versions", None),
    ("GET", "/versions/1", None),
    ("POST", "/versions/1/restore", None),
    ("GET", "/diff?from=1&to=1", None),
    ("PUT", "/labels/production", {"version": 1}),
    ("DELETE", "/labels/production", None),
    ("POST", "/render", {"variables": {}}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_another_users_prompt_is_403_and_an_unknown_one_404(
    client: TestClient, user: User, other_user: User, method: str, suffix: str, body: Any
) -> None:
    theirs = create(client, other_user)
    response = client.request(method, f"/prompts/{theirs['_id']}{suffix}", json=body, headers=user.headers)
    assert response.status_code == 403
    unknown = client.request(method, f"/prompts/prompt_unknown{suffix}", json=body, headers=user.headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "No prompt found with the specified ID."}
    assert client.request(method, f"/prompts/{theirs['_id']}{suffix}", json=body).status_code == 401


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_a_malformed_prompt_id_is_400(client: TestClient, user: User, method: str, suffix: str, body: Any) -> None:
    response = client.request(method, f"/prompts/bad%20id{suffix}", json=body, headers=user.headers)
    assert response.status_code == 400


def test_a_bad_body_is_reported_after_ownership(client: TestClient, user: User, other_user: User) -> None:
    theirs = create(client, other_user)
    response = client.put(f"/prompts/{theirs['_id']}/labels/x", content=b"{", headers=user.headers)
    assert response.status_code == 403
    response = client.post(f"/prompts/{theirs['_id']}/render", content=b"[]", headers=user.headers)
    assert response.status_code == 403
