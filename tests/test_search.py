"""GET /search?q=…: case-insensitive substring terms over title, content and tags."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from helpers import User, store_logs, store_prompts, stored_log, stored_prompt
from promptcrafter.config import Settings
from promptcrafter.storage import search as search_store
from promptcrafter.storage.search import INDEXED_SEARCH_THRESHOLD


def add(client: TestClient, user: User, title: str, content: str = "Plain text.", tags: list[str] | None = None) -> str:
    body = {"title": title, "content": content, "model": "GPT-4o", "tags": tags or []}
    response = client.post("/prompts", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()["_id"]  # type: ignore[no-any-return]


def search(client: TestClient, user: User, query: str) -> list[str]:
    response = client.get("/search", params={"q": query}, headers=user.headers)
    assert response.status_code == 200, response.text
    return [prompt["_id"] for prompt in response.json()]


def test_finds_terms_in_title_content_or_tags(client: TestClient, user: User) -> None:
    by_title = add(client, user, "Workshop Agenda Creator")
    by_content = add(client, user, "Explain a concept", "Explain photosynthesis simply.")
    by_tag = add(client, user, "Function generator", tags=["python", "code"])
    add(client, user, "Unrelated")
    assert search(client, user, "workshop") == [by_title]
    assert search(client, user, "photo") == [by_content]
    assert search(client, user, "PYTHON") == [by_tag]


def test_returns_full_prompts(client: TestClient, user: User) -> None:
    prompt_id = add(client, user, "Workshop Agenda Creator", tags=["agenda"])
    response = client.get("/search?q=Workshop", headers=user.headers)
    assert response.json() == [client.get(f"/prompts/{prompt_id}", headers=user.headers).json()]


def test_every_term_must_occur_but_may_hit_different_fields(client: TestClient, user: User) -> None:
    both = add(client, user, "Email writer", "Write an apology to a customer.", tags=["support"])
    add(client, user, "Email writer", "Write a thank-you note.")
    assert search(client, user, "email apology") == [both]
    assert search(client, user, "  support\tEMAIL  ") == [both]
    assert search(client, user, "email nowhere") == []


def test_ranks_title_then_tag_then_content_then_newest(client: TestClient, user: User) -> None:
    content_old = add(client, user, "Alpha", "about translation")
    tag_hit = add(client, user, "Beta", tags=["translation"])
    title_old = add(client, user, "Translation helper")
    content_new = add(client, user, "Gamma", "more translation work")
    title_new = add(client, user, "Quick translation")
    assert search(client, user, "translation") == [title_new, title_old, tag_hit, content_new, content_old]


def test_editing_a_prompt_moves_it_up_its_group(client: TestClient, user: User) -> None:
    older = add(client, user, "Translation one")
    newer = add(client, user, "Translation two")
    assert search(client, user, "translation") == [newer, older]
    time.sleep(0.002)
    client.patch(f"/prompts/{older}", json={"model": "Claude"}, headers=user.headers)
    assert search(client, user, "translation") == [older, newer]


def test_edited_text_is_searched_and_old_text_is_not(client: TestClient, user: User) -> None:
    prompt_id = add(client, user, "Original heading", tags=["first"])
    client.patch(f"/prompts/{prompt_id}", json={"title": "Renamed heading", "tags": ["second"]}, headers=user.headers)
    assert search(client, user, "original") == []
    assert search(client, user, "first") == []
    assert search(client, user, "renamed second") == [prompt_id]


def test_deleted_prompts_are_not_found(client: TestClient, user: User) -> None:
    prompt_id = add(client, user, "Disposable prompt")
    client.delete(f"/prompts/{prompt_id}", headers=user.headers)
    assert search(client, user, "disposable") == []


def test_never_shows_other_users_prompts(client: TestClient, user: User, other_user: User) -> None:
    add(client, other_user, "Secret translation plan", tags=["translation"])
    assert search(client, user, "translation") == []
    assert search(client, user, "se") == []


@pytest.mark.parametrize("term", ["a", "ab", "é", "🚀"])
def test_terms_shorter_than_three_characters_match(client: TestClient, user: User, term: str) -> None:
    hit = add(client, user, "Title here", f"x{term.upper()}y")
    add(client, user, "Another title", "nothing")
    assert hit in search(client, user, term)
    assert search(client, user, f"{term} title") and hit in search(client, user, f"{term} title")


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("Straße", "STRASSE"),
        ("STRASSE", "straße"),
        ("Ελληνικά κείμενα", "ΕΛΛΗΝΙΚΆ"),
        ("ПРИВЕТ мир", "привет"),
        ("Café au lait", "CAFÉ"),
        ("日本語のプロンプト", "プロンプト"),
        ("emoji 🚀🚀 rocket", "🚀🚀"),
        ("İstanbul", "i̇stanbul"),
    ],
)
def test_unicode_is_case_folded(client: TestClient, user: User, stored: str, query: str) -> None:
    hit = add(client, user, "Unicode sample", stored)
    assert search(client, user, query) == [hit]


@pytest.mark.parametrize(
    "query", ["%", "_", "100%", "a_b", "\\", "'", '"', "' OR 1=1 --", "*", "NEAR(", 'x" OR "y', "^", ":"]
)
def test_sql_like_and_fts_metacharacters_are_plain_text(client: TestClient, user: User, query: str) -> None:
    literal = add(client, user, "Literal symbols", f"before {query} after")
    add(client, user, "Other prompt", "abc xyz 1 2")
    assert search(client, user, query) == [literal]


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_query_is_rejected(client: TestClient, user: User, query: str) -> None:
    response = client.get("/search", params={"q": query}, headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "Missing or malformed query string."}


def test_missing_or_repeated_query_is_rejected(client: TestClient, user: User) -> None:
    for path in ("/search", "/search?q=a&q=b", "/search?q=%00"):
        response = client.get(path, headers=user.headers)
        assert response.json() == {"error": "Missing or malformed query string."}, path


def test_unknown_parameter_is_rejected(client: TestClient, user: User) -> None:
    response = client.get("/search?q=x&offset=5", headers=user.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "The request is malformed or contains invalid parameters."}


def test_no_match_is_empty_array(client: TestClient, user: User) -> None:
    add(client, user, "Something")
    assert search(client, user, "absent") == []


def test_terms_do_not_match_across_tag_boundaries(client: TestClient, user: User) -> None:
    add(client, user, "Tagged", tags=["abc", "def"])
    assert search(client, user, "cde") == []
    assert search(client, user, "bcd") == []


def test_large_result_sets_stream_completely(client: TestClient, settings: Settings, user: User) -> None:
    rows = [stored_prompt(user.id, i, title=f"Bulk translation {i}") for i in range(620)]
    created = store_prompts(settings.database_url, rows)
    assert search(client, user, "bulk") == list(reversed(created))


def test_owner_with_thousands_of_prompts_is_searched_through_the_index(
    client: TestClient, settings: Settings, user: User, other_user: User
) -> None:
    rows = [
        stored_prompt(user.id, i, title=f"Bulk {i}", content=f"filler text {i}")
        for i in range(INDEXED_SEARCH_THRESHOLD + 10)
    ]
    store_prompts(settings.database_url, rows)
    title_hit = add(client, user, "Rare Ünicode Translation")
    content_hit = add(client, user, "Other", "about TRANSLATIONS")
    add(client, other_user, "Translation of someone else")
    assert search(client, user, "translation") == [title_hit, content_hit]
    assert search(client, user, "ünicode translation") == [title_hit]
    assert search(client, user, "ün translation") == [title_hit]
    assert search(client, user, "1999") == [rows[1999]["id"]]
    assert search(client, user, "nowhere-to-be-found") == []


def test_long_results_keep_their_ranking_across_pages(client: TestClient, user: User) -> None:
    """Pages of long prompts end on a size budget, also in the middle of a rank group."""
    body = "filler " * 3_000
    in_content = [add(client, user, f"Content {i}", f"{body} needle") for i in range(25)]
    in_title = [add(client, user, f"Needle {i}", body) for i in range(25)]
    in_tags = [add(client, user, f"Tagged {i}", body, tags=["needles"]) for i in range(25)]
    found = search(client, user, "needle")
    assert found == [*reversed(in_title), *reversed(in_tags), *reversed(in_content)]


# Search over outputs and notes (EVALUATION.md §7)


def add_log(client: TestClient, user: User, prompt_id: str, output: str, notes: str | None = None) -> str:
    body = {"promptId": prompt_id, "output": output, "modelUsed": "m", "notes": notes}
    response = client.post("/logs", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["_id"])


def search_logs(client: TestClient, user: User, query: str) -> list[str]:
    response = client.get("/search", params={"q": query, "in": "logs"}, headers=user.headers)
    assert response.status_code == 200, response.text
    return [log["_id"] for log in response.json()]


@pytest.mark.parametrize(
    ("output", "query"),
    [
        ("The café is OPEN", "CAFÉ open"),
        ("Straße gesperrt", "STRASSE"),
        ("今日は晴れです", "晴れ"),
        ("مرحبا بالعالم", "بالعالم"),
        ("Résumé rédigé", "rédigé résumé"),
        ("ok", "k"),
    ],
)
def test_log_search_finds_outputs_in_any_script(client: TestClient, user: User, output: str, query: str) -> None:
    prompt_id = add(client, user, "Any prompt")
    found = add_log(client, user, prompt_id, output)
    add_log(client, user, prompt_id, "something else entirely")
    assert search_logs(client, user, query) == [found]


def test_log_search_reads_notes_too_newest_first_and_only_the_callers(
    client: TestClient, user: User, other_user: User
) -> None:
    mine = add(client, user, "Mine")
    theirs = add(client, other_user, "Theirs")
    older = add_log(client, user, mine, "first answer", notes="needs a citation")
    newer = add_log(client, user, mine, "a citation was added")
    add_log(client, other_user, theirs, "citation in someone else's log")
    assert search_logs(client, user, "citation") == [newer, older]
    assert search_logs(client, user, "citation first") == [older]
    client.delete(f"/logs/{newer}", headers=user.headers)
    assert search_logs(client, user, "citation") == [older]
    client.delete(f"/prompts/{mine}", headers=user.headers)
    assert search_logs(client, user, "citation") == []


def test_log_search_through_the_index_for_owners_with_many_logs(
    client: TestClient, settings: Settings, user: User
) -> None:
    prompt_id = add(client, user, "Bulk")
    rows = [stored_log(prompt_id, user.id, i, output=f"filler {i}") for i in range(INDEXED_SEARCH_THRESHOLD + 10)]
    store_logs(settings.database_url, rows)
    hit = add_log(client, user, prompt_id, "A rare Ünicode needle")
    assert search_logs(client, user, "ünicode needle") == [hit]
    assert search_logs(client, user, "filler 1999") == [rows[1999]["id"]]
    pages = client.get("/search?q=filler&in=logs&limit=900", headers=user.headers)
    assert len(pages.json()) == 900 and 'rel="next"' in pages.headers["link"]


@pytest.mark.parametrize("value", ["outputs", "", "logs&in=prompts"])
def test_search_in_must_be_prompts_or_logs(client: TestClient, user: User, value: str) -> None:
    response = client.get(f"/search?q=x&in={value}", headers=user.headers)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "in"


def test_log_search_pages_stay_whole_whichever_way_each_is_read(
    client: TestClient, settings: Settings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big owners' pages come from their newest logs or from the index; paging through either
    way lists every match once, newest first."""
    monkeypatch.setattr(search_store, "RECENT_LOGS", 100)
    prompt_id = add(client, user, "Bulk")
    rows = [
        stored_log(prompt_id, user.id, i, output=f"needle {i}" if i % 3 == 0 else f"hay {i}")
        for i in range(INDEXED_SEARCH_THRESHOLD + 100)
    ]
    store_logs(settings.database_url, rows)
    expected = [row["id"] for row in reversed(rows) if row["output"].startswith("needle")]
    found: list[str] = []
    path: str | None = "/search?q=needle&in=logs&limit=50"
    while path is not None:
        response = client.get(path, headers=user.headers)
        found += [log["_id"] for log in response.json()]
        path = response.links.get("next", {}).get("url")
    assert found == expected
    assert search_logs(client, user, "needle 2049") == [rows[2049]["id"]]
