"""Lists that scale (EVALUATION.md §5): `limit` and `cursor` pages with a `Link` to the next,
`sort`, and the log and prompt filters, on every list route."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from helpers import SEED_STAMP, User, store_logs, store_prompts, stored_log, stored_prompt
from promptcrafter.config import Settings
from promptcrafter.server.shapes import timestamp
from promptcrafter.storage import Database
from promptcrafter.storage import logs as log_store
from promptcrafter.storage import prompts as prompt_store

MODELS = ["gpt-4o", "claude", "llama"]


def every_page(client: TestClient, user: User, path: str) -> tuple[list[dict[str, Any]], int]:
    """Follow `Link: rel="next"` from `path` to the end: every row, and how many pages."""
    rows: list[dict[str, Any]] = []
    pages = 0
    next_path: str | None = path
    while next_path is not None:
        response = client.get(next_path, headers=user.headers)
        assert response.status_code == 200, response.text
        rows += response.json()
        pages += 1
        link = response.headers.get("link")
        next_path = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1) if link else None  # type: ignore[union-attr]
    return rows, pages


def bad_parameter(client: TestClient, user: User, path: str) -> str:
    response = client.get(path, headers=user.headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "The request is malformed or contains invalid parameters."
    return str(body["details"][0]["field"])


@pytest.fixture
def prompt_id(client: TestClient, user: User) -> str:
    body = {"title": "Summarise", "content": "Summarise {{text}}.", "model": "gpt-4o"}
    created: str = client.post("/prompts", json=body, headers=user.headers).json()["_id"]
    client.patch(f"/prompts/{created}", json={"model": "claude"}, headers=user.headers)  # version 2
    return created


@pytest.fixture
def logs(settings: Settings, user: User, prompt_id: str) -> list[dict[str, Any]]:
    """57 logs: three models, versions 1 and 2, scores 0–10 with every seventh unscored, some
    sharing a millisecond (ties are broken by id)."""
    rows = [
        stored_log(
            prompt_id,
            user.id,
            i,
            created_at=SEED_STAMP + i // 3,
            model_used=MODELS[i % 3],
            prompt_version=1 + i % 2,
            score=None if i % 7 == 0 else (i * 3) % 11 + (0.5 if i % 4 == 0 else 0),
            output=f"output {i}",
        )
        for i in range(57)
    ]
    store_logs(settings.database_url, rows)
    return rows


def ids(rows: list[dict[str, Any]], key: str = "_id") -> list[str]:
    return [row[key] for row in rows]


def in_order(rows: list[dict[str, Any]], sort: str) -> list[str]:
    """The stored rows' ids in the order the API documents for `sort`."""
    descending = sort.startswith("-")
    field = {"createdAt": "created_at", "score": "score"}[sort.lstrip("-")]
    scored = [row for row in rows if row[field] is not None]
    unscored = [row for row in rows if row[field] is None]

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row[field], row["created_at"], row["id"])

    return ids(sorted(scored, key=key, reverse=descending), "id") + ids(
        sorted(unscored, key=key, reverse=descending), "id"
    )


# Paging


@pytest.mark.parametrize("sort", ["createdAt", "-createdAt", "score", "-score"])
@pytest.mark.parametrize("limit", [1, 7, 56, 57, 1000])
def test_pages_of_logs_hold_every_row_once_in_order(
    client: TestClient, user: User, prompt_id: str, logs: list[dict[str, Any]], sort: str, limit: int
) -> None:
    rows, pages = every_page(client, user, f"/logs?promptId={prompt_id}&sort={sort}&limit={limit}")
    assert ids(rows) == in_order(logs, sort)
    assert pages in (-(-57 // limit), -(-57 // limit) + 1)  # an exact fit may end on an empty page


def test_without_limit_a_sorted_list_comes_whole(
    client: TestClient, user: User, prompt_id: str, logs: list[dict[str, Any]]
) -> None:
    response = client.get(f"/logs?promptId={prompt_id}&sort=-score", headers=user.headers)
    assert "link" not in response.headers
    assert ids(response.json()) == in_order(logs, "-score")


def test_the_next_link_keeps_every_other_parameter(client: TestClient, user: User, prompt_id: str, logs: Any) -> None:
    path = f"/logs?promptId={prompt_id}&modelUsed=claude&modelUsed=llama&sort=-createdAt&limit=5&minScore=1"
    response = client.get(path, headers=user.headers)
    link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["link"])
    assert link is not None
    target = urlsplit(link.group(1))
    assert target.path == "/logs"
    query = parse_qsl(target.query)
    assert [pair for pair in query if pair[0] != "cursor"] == [
        ("promptId", prompt_id),
        ("modelUsed", "claude"),
        ("modelUsed", "llama"),
        ("sort", "-createdAt"),
        ("limit", "5"),
        ("minScore", "1"),
    ]
    assert [name for name, _ in query].count("cursor") == 1


def test_the_last_page_has_no_link(client: TestClient, user: User, prompt_id: str, logs: Any) -> None:
    response = client.get(f"/logs?promptId={prompt_id}&limit=1000", headers=user.headers)
    assert len(response.json()) == 57
    assert "link" not in response.headers


def test_no_row_is_skipped_or_repeated_while_rows_come_and_go(
    client: TestClient, settings: Settings, user: User, prompt_id: str, logs: list[dict[str, Any]]
) -> None:
    """Pages are read while another thread keeps inserting new logs and deleting others:
    every log that stays is listed exactly once, and no log is listed twice."""
    doomed = {row["id"] for row in logs[::5]}
    stop = threading.Event()

    def churn() -> None:
        index = 1000
        for log_id in doomed:
            client.delete(f"/logs/{log_id}", headers=user.headers)
            body = {"promptId": prompt_id, "output": f"new {index}", "modelUsed": "m", "score": index % 11}
            client.post("/logs", json=body, headers=user.headers)
            index += 1
            if stop.is_set():
                return

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        for sort in ("createdAt", "-score"):
            rows, _ = every_page(client, user, f"/logs?promptId={prompt_id}&sort={sort}&limit=4")
            listed = ids(rows)
            assert len(listed) == len(set(listed))
            kept = [log_id for log_id in in_order(logs, sort) if log_id not in doomed]
            assert [log_id for log_id in listed if log_id in set(kept)] == kept
    finally:
        stop.set()
        writer.join()


def test_prompts_page_by_every_sort(client: TestClient, settings: Settings, user: User) -> None:
    titles = ["banana", "Apple", "cherry", "apple pie", "Éclair", "date"]
    rows = [
        stored_prompt(user.id, i, title=title, updated_at=SEED_STAMP + (7 * i) % 5 * 10 + i)
        for i, title in enumerate(titles)
    ]
    store_prompts(settings.database_url, rows)
    expected = {
        "createdAt": ids(rows, "id"),
        "-createdAt": ids(rows, "id")[::-1],
        "updatedAt": ids(sorted(rows, key=lambda row: row["updated_at"]), "id"),
        "-updatedAt": ids(sorted(rows, key=lambda row: row["updated_at"], reverse=True), "id"),
        "title": ids(sorted(rows, key=lambda row: row["title"].casefold()), "id"),
    }
    for sort, order in expected.items():
        listed, _ = every_page(client, user, f"/prompts?sort={sort}&limit=2")
        assert ids(listed) == order, sort


def test_versions_and_search_page_too(client: TestClient, settings: Settings, user: User) -> None:
    created = client.post("/prompts", json={"title": "Paged", "content": "v1", "model": "m"}, headers=user.headers)
    prompt_id = created.json()["_id"]
    for version in range(2, 8):
        client.patch(f"/prompts/{prompt_id}", json={"content": f"v{version}"}, headers=user.headers)
    versions, pages = every_page(client, user, f"/prompts/{prompt_id}/versions?limit=3")
    assert [version["version"] for version in versions] == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3
    store_prompts(settings.database_url, [stored_prompt(user.id, i, title=f"Needle {i}") for i in range(11)])
    found, pages = every_page(client, user, "/search?q=needle&limit=4")
    whole = client.get("/search?q=needle", headers=user.headers).json()
    assert ids(found) == ids(whole) and len(found) == 11 and pages == 3


# Filters


def test_log_filters_combine(client: TestClient, user: User, prompt_id: str, logs: list[dict[str, Any]]) -> None:
    def listed(query: str) -> list[str]:
        return ids(client.get(f"/logs?promptId={prompt_id}&{query}", headers=user.headers).json())

    def stored(keep: Any) -> list[str]:
        return ids([row for row in logs if keep(row)], "id")

    assert listed("modelUsed=claude&modelUsed=llama") == stored(lambda row: row["model_used"] in ("claude", "llama"))
    assert listed("promptVersion=2") == stored(lambda row: row["prompt_version"] == 2)
    assert listed("minScore=3&maxScore=7.5") == stored(
        lambda row: row["score"] is not None and 3 <= row["score"] <= 7.5
    )
    assert listed("scored=false") == stored(lambda row: row["score"] is None)
    assert listed("scored=true&modelUsed=gpt-4o") == stored(
        lambda row: row["score"] is not None and row["model_used"] == "gpt-4o"
    )
    since, until = SEED_STAMP + 5, SEED_STAMP + 9
    window = f"since={timestamp(since)}&until={timestamp(until)}"
    assert listed(window) == stored(lambda row: since <= row["created_at"] < until)
    assert listed("since=2999-01-01") == []


def test_owner_wide_log_lists_filter_and_sort_too(
    client: TestClient, user: User, other_user: User, logs: list[dict[str, Any]]
) -> None:
    listed = client.get("/logs?modelUsed=llama&sort=-score&limit=1000", headers=user.headers).json()
    assert ids(listed) == in_order([row for row in logs if row["model_used"] == "llama"], "-score")
    assert client.get("/logs?modelUsed=llama", headers=other_user.headers).json() == []


def test_prompt_filters(client: TestClient, settings: Settings, user: User, other_user: User) -> None:
    rows = [
        stored_prompt(user.id, 0, tags=["Support", "email"], model="gpt-4o"),
        stored_prompt(user.id, 1, tags=["support"], model="claude"),
        stored_prompt(user.id, 2, tags=["email", "support_x"], model="gpt-4o"),
        stored_prompt(other_user.id, 3, tags=["support", "email"], model="gpt-4o"),
    ]
    store_prompts(settings.database_url, rows)

    def listed(query: str) -> list[str]:
        return ids(client.get(f"/prompts?{query}", headers=user.headers).json())

    assert listed("tag=support") == [rows[0]["id"], rows[1]["id"]]
    assert listed("tag=SUPPORT&tag=email") == [rows[0]["id"]]
    assert listed("tag=support_x") == [rows[2]["id"]]
    assert listed("tag=s%25") == []
    assert listed("model=gpt-4o") == [rows[0]["id"], rows[2]["id"]]
    assert listed("model=gpt-4o&tag=email&sort=-createdAt") == [rows[2]["id"], rows[0]["id"]]


# Bad values


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("limit=1&limit=2", "limit"),
        ("sort=output", "sort"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=WyJjcmVhdGVkQXQiLFs5OSxudWxsXV0", "cursor"),
        ("cursor=WyJjcmVhdGVkQXQiLFswLFsiYSIsImIiXV1d", "cursor"),
        ("minScore=high", "minScore"),
        ("maxScore=nan", "maxScore"),
        ("promptVersion=0", "promptVersion"),
        ("scored=yes", "scored"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(
    client: TestClient, user: User, prompt_id: str, query: str, field: str
) -> None:
    assert bad_parameter(client, user, f"/logs?promptId={prompt_id}&{query}") == field


def test_a_cursor_made_for_another_sort_is_refused(client: TestClient, user: User, prompt_id: str, logs: Any) -> None:
    link = client.get(f"/logs?promptId={prompt_id}&limit=2", headers=user.headers).headers["link"]
    cursor = dict(parse_qsl(urlsplit(link[1:].split(">")[0]).query))["cursor"]
    assert bad_parameter(client, user, f"/logs?promptId={prompt_id}&sort=score&cursor={cursor}") == "cursor"
    assert bad_parameter(client, user, f"/prompts?limit=2&cursor={cursor}x") == "cursor"


@pytest.mark.parametrize(
    ("path", "field"), [("/prompts?sort=score", "sort"), ("/prompts?tag=", "tag"), ("/search?q=a&sort=title", None)]
)
def test_prompt_lists_refuse_what_they_do_not_know(
    client: TestClient, user: User, path: str, field: str | None
) -> None:
    response = client.get(path, headers=user.headers)
    assert response.status_code == 400
    if field is not None:
        assert response.json()["details"][0]["field"] == field


# Every list reads an index (EVALUATION.md §9). SQLite's planner picks indexes whatever the
# size of the tables, so its plans can be checked here; PostgreSQL's, which depend on the
# data, are shown at 1,000,000 logs by bench/lists.py.

LOG_LISTS = [
    {"owner_id": "u"},
    {"prompt_id": "p"},
    {"owner_id": "u", "model_used": ["a", "b"]},
    {"prompt_id": "p", "model_used": ["a"]},
    {"prompt_id": "p", "prompt_version": 2},
    {"owner_id": "u", "min_score": 1.0, "max_score": 9.0},
    {"prompt_id": "p", "scored": True, "since": 0, "until": 10},
]


@pytest.mark.parametrize("filters", LOG_LISTS)
@pytest.mark.parametrize("order", ["createdAt", "-createdAt", "score", "-score"])
@pytest.mark.parametrize("following", [False, True])
def test_every_log_list_reads_an_index(
    sqlite_template: Path, filters: dict[str, Any], order: str, following: bool
) -> None:
    plan = " ".join(read_plan(sqlite_template, log_store.LIST, filters, order, following))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    # A range filter (score, time) may be read through its own index and then sorted.
    assert "SCAN logs" not in plan, plan


@pytest.mark.parametrize("filters", [{"owner_id": "u"}, {"owner_id": "u", "model": "m", "tag": ["%\na\n%"]}])
@pytest.mark.parametrize("order", ["createdAt", "-createdAt", "updatedAt", "-updatedAt", "title"])
def test_every_prompt_list_reads_an_index(sqlite_template: Path, filters: dict[str, Any], order: str) -> None:
    plan = " ".join(read_plan(sqlite_template, prompt_store.LIST, filters, order, True))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "SCAN prompts" not in plan and "USE TEMP B-TREE" not in plan, plan  # each order has its index


def read_plan(template: Path, listing: Any, filters: dict[str, Any], order: str, following: bool) -> list[str]:
    database = Database(f"sqlite:///{template}")
    try:
        with database.transaction(write=False) as tx:
            return list(listing.plan(tx, filters=filters, order=order, following=following))
    finally:
        database.close()
