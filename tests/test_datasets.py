"""Datasets and their items (EVALUATION.md §10), on both stores: a user's named sets of test
cases, created empty, filled 1 to 1,000 items at a time (all or none), listed in pages as in §5,
and kept from every other user."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from helpers import User
from promptcrafter import messages
from promptcrafter.config import Settings
from promptcrafter.storage import Database
from promptcrafter.storage.tables import dataset_items

DATASET_FIELDS = {"_id", "name", "description", "itemCount", "createdAt"}
ITEM_FIELDS = {"_id", "input", "expected", "metadata", "createdAt"}
UNKNOWN = "dataset_01M8MEBV8V1YNTK4V776RNNECH"
UNKNOWN_ITEM = "item_01M8MEBV8V1YNTK4V776RNNECH"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def make_dataset(client: TestClient, user: User, **fields: Any) -> dict[str, Any]:
    response = client.post("/datasets", json={"name": "support tickets", **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def item(index: int, **fields: Any) -> dict[str, Any]:
    """The `index`-th test case of a batch: one variable, and the answer wanted."""
    return {"input": {"ticket": f"ticket {index}"}, "expected": f"answer {index}", **fields}


def add_items(client: TestClient, user: User, dataset_id: str, items: Any) -> Any:
    return client.post(f"/datasets/{dataset_id}/items", json={"items": items}, headers=user.headers)


def stored_items(client: TestClient, user: User, dataset_id: str, count: int) -> list[dict[str, Any]]:
    response = add_items(client, user, dataset_id, [item(i) for i in range(count)])
    assert response.status_code == 201, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def item_count(client: TestClient, user: User, dataset_id: str) -> int:
    return int(client.get(f"/datasets/{dataset_id}", headers=user.headers).json()["itemCount"])


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
        next_path = next_link(response)
    return rows, pages


def next_link(response: Any) -> str | None:
    link = response.headers.get("link")
    return re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1) if link else None  # type: ignore[union-attr]


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["_id"] for row in rows]


# Datasets


def test_a_new_dataset_is_empty_and_shows_exactly_its_fields(client: TestClient, user: User) -> None:
    response = client.post(
        "/datasets", json={"name": "support tickets", "description": "Fifty real tickets."}, headers=user.headers
    )
    assert response.status_code == 201
    dataset = response.json()
    assert set(dataset) == DATASET_FIELDS
    assert dataset["_id"].startswith("dataset_")
    assert (dataset["name"], dataset["description"]) == ("support tickets", "Fifty real tickets.")
    assert dataset["itemCount"] == 0
    assert TIMESTAMP.fullmatch(dataset["createdAt"])
    assert client.get(f"/datasets/{dataset['_id']}", headers=user.headers).json() == dataset


def test_a_dataset_without_a_description_has_a_null_one(client: TestClient, user: User) -> None:
    assert make_dataset(client, user)["description"] is None


def test_names_and_descriptions_are_stored_exactly_as_sent(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user, name="  Ünïcode 🚀 set ", description="line\n\ttab  ")
    fetched = client.get(f"/datasets/{dataset['_id']}", headers=user.headers).json()
    assert (fetched["name"], fetched["description"]) == ("  Ünïcode 🚀 set ", "line\n\ttab  ")


BAD_DATASETS: list[Any] = [
    {},
    {"name": ""},
    {"name": "   "},
    {"name": None},
    {"name": 7},
    {"name": "x" * 101},
    {"name": "n", "description": "x" * 2001},
    {"name": "n", "description": 5},
    {"name": "n", "itemCount": 3},
    {"name": "n", "_id": UNKNOWN},
    ["n"],
]


def test_a_dataset_needs_a_name_and_only_known_fields(client: TestClient, user: User) -> None:
    for body in BAD_DATASETS:
        response = client.post("/datasets", json=body, headers=user.headers)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), body
    assert client.get("/datasets", headers=user.headers).json() == []


def test_datasets_list_oldest_first_and_only_the_callers(client: TestClient, user: User, other_user: User) -> None:
    made = [make_dataset(client, user, name=f"set {i}") for i in range(4)]
    make_dataset(client, other_user, name="theirs")
    response = client.get("/datasets", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == made
    assert "link" not in response.headers


def test_datasets_list_newest_first_with_sort_minus_created_at(client: TestClient, user: User) -> None:
    made = [make_dataset(client, user, name=f"set {i}") for i in range(4)]
    assert client.get("/datasets?sort=-createdAt", headers=user.headers).json() == made[::-1]
    assert client.get("/datasets?sort=createdAt", headers=user.headers).json() == made


def test_datasets_list_in_pages_of_limit_linked_to_the_next(client: TestClient, user: User) -> None:
    made = [make_dataset(client, user, name=f"set {i}") for i in range(7)]
    for sort, order in (("createdAt", made), ("-createdAt", made[::-1])):
        first = client.get(f"/datasets?limit=3&sort={sort}", headers=user.headers)
        assert first.json() == order[:3]
        link = next_link(first)
        assert link is not None and link.startswith("/datasets?") and f"sort={sort}" in link and "limit=3" in link
        assert every_page(client, user, f"/datasets?limit=3&sort={sort}") == (order, 3)


def test_a_page_is_not_shifted_by_datasets_made_or_deleted_between_pages(client: TestClient, user: User) -> None:
    made = [make_dataset(client, user, name=f"set {i}") for i in range(6)]
    first = client.get("/datasets?limit=3", headers=user.headers)
    assert ids(first.json()) == ids(made[:3])
    client.delete(f"/datasets/{made[0]['_id']}", headers=user.headers)
    client.delete(f"/datasets/{made[4]['_id']}", headers=user.headers)
    later = make_dataset(client, user, name="later")
    link = next_link(first)
    assert link is not None
    rest, _ = every_page(client, user, link)
    assert ids(rest) == [made[3]["_id"], made[5]["_id"], later["_id"]]


def test_a_bad_list_parameter_is_400_naming_it(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    queries = ["limit=0", "limit=1001", "limit=ten", "cursor=not-a-cursor"]
    for path in [f"/datasets?{query}" for query in [*queries, "sort=name"]] + [
        f"/datasets/{dataset['_id']}/items?{query}" for query in queries
    ]:
        response = client.get(path, headers=user.headers)
        assert response.status_code == 400, path
        assert response.json()["error"] == messages.BAD_PARAMETERS
        assert response.json()["details"][0]["field"] == path.split("?")[1].split("=")[0], path


def test_an_unknown_list_parameter_is_rejected(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    items = f"/datasets/{dataset['_id']}/items"
    for path in ("/datasets?owner=me", "/datasets?offset=5", f"{items}?page=2", f"{items}?sort=createdAt"):
        response = client.get(path, headers=user.headers)
        assert (response.status_code, response.json()) == (400, {"error": messages.BAD_PARAMETERS}), path


def test_patch_renames_a_dataset_and_keeps_its_description(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user, description="kept")
    response = client.patch(f"/datasets/{dataset['_id']}", json={"name": "renamed"}, headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {**dataset, "name": "renamed"}
    assert client.get(f"/datasets/{dataset['_id']}", headers=user.headers).json() == {**dataset, "name": "renamed"}


def test_patch_changes_the_description_and_keeps_the_name(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user, description="old")
    response = client.patch(f"/datasets/{dataset['_id']}", json={"description": "new"}, headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {**dataset, "description": "new"}


def test_patch_with_a_null_description_clears_it(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user, description="old")
    response = client.patch(f"/datasets/{dataset['_id']}", json={"description": None}, headers=user.headers)
    assert response.status_code == 200
    assert response.json()["description"] is None
    assert client.get(f"/datasets/{dataset['_id']}", headers=user.headers).json() == {**dataset, "description": None}


def test_a_bad_patch_changes_nothing(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user, description="old")
    bodies: list[Any] = [{"name": ""}, {"name": "x" * 101}, {"description": "x" * 2001}, {"itemCount": 9}, ["x"]]
    for body in bodies:
        response = client.patch(f"/datasets/{dataset['_id']}", json=body, headers=user.headers)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), body
    assert client.get(f"/datasets/{dataset['_id']}", headers=user.headers).json() == dataset


def test_a_deleted_dataset_is_gone(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    response = client.delete(f"/datasets/{dataset['_id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    gone = client.get(f"/datasets/{dataset['_id']}", headers=user.headers)
    assert (gone.status_code, gone.json()) == (404, {"error": messages.DATASET_NOT_FOUND})
    again = client.delete(f"/datasets/{dataset['_id']}", headers=user.headers)
    assert (again.status_code, again.json()) == (404, {"error": messages.DATASET_NOT_FOUND})
    assert client.get("/datasets", headers=user.headers).json() == []


def test_deleting_a_dataset_removes_its_items(client: TestClient, user: User, settings: Settings) -> None:
    dataset, kept = make_dataset(client, user), make_dataset(client, user, name="kept")
    stored_items(client, user, dataset["_id"], 5)
    stored_items(client, user, kept["_id"], 2)
    assert client.delete(f"/datasets/{dataset['_id']}", headers=user.headers).status_code == 204
    assert client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).status_code == 404
    database = Database(settings.database_url)
    try:
        with database.engine.connect() as conn:
            counted = select(dataset_items.c.dataset_id, func.count()).group_by(dataset_items.c.dataset_id)
            assert dict(conn.execute(counted).all()) == {kept["_id"]: 2}  # type: ignore[arg-type]
    finally:
        database.close()
    assert item_count(client, user, kept["_id"]) == 2


# Every route of one dataset: (method, path with {dataset} and {item}, JSON body).
ROUTES = [
    ("GET", "/datasets/{dataset}", None),
    ("PATCH", "/datasets/{dataset}", {"name": "taken over"}),
    ("DELETE", "/datasets/{dataset}", None),
    ("POST", "/datasets/{dataset}/items", {"items": [item(9)]}),
    ("GET", "/datasets/{dataset}/items", None),
    ("GET", "/datasets/{dataset}/items?limit=1", None),
    ("DELETE", "/datasets/{dataset}/items/{item}", None),
]


def route_id(route: tuple[str, str, Any]) -> str:
    return f"{route[0]} {route[1]}"


def test_a_bad_dataset_id_is_400_on_every_route(client: TestClient, user: User) -> None:
    for method, path, body in ROUTES:
        for bad_id in ("x" * 65, "bad.id", "bad!id"):
            url = path.format(dataset=bad_id, item=UNKNOWN_ITEM)
            response = client.request(method, url, json=body, headers=user.headers)
            assert (response.status_code, response.json()) == (400, {"error": messages.DATASET_BAD_ID}), url


def test_an_unknown_dataset_is_404_on_every_route(client: TestClient, user: User) -> None:
    for method, path, body in ROUTES:
        url = path.format(dataset=UNKNOWN, item=UNKNOWN_ITEM)
        response = client.request(method, url, json=body, headers=user.headers)
        assert (response.status_code, response.json()) == (404, {"error": messages.DATASET_NOT_FOUND}), (method, url)


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_another_users_dataset_is_forbidden(
    client: TestClient, user: User, other_user: User, route: tuple[str, str, Any]
) -> None:
    theirs = make_dataset(client, other_user, name="theirs")
    their_item = stored_items(client, other_user, theirs["_id"], 1)[0]
    method, path, body = route
    response = client.request(
        method, path.format(dataset=theirs["_id"], item=their_item["_id"]), json=body, headers=user.headers
    )
    assert (response.status_code, response.json()) == (403, {"error": messages.DATASET_FORBIDDEN})
    assert client.get(f"/datasets/{theirs['_id']}", headers=other_user.headers).json() == {**theirs, "itemCount": 1}
    assert client.get(f"/datasets/{theirs['_id']}/items", headers=other_user.headers).json() == [their_item]


@pytest.mark.parametrize(
    ("method", "path", "bad_body"),
    [("PATCH", "/datasets/{dataset}", {"name": ""}), ("POST", "/datasets/{dataset}/items", {"items": []})],
    ids=["PATCH dataset", "POST items"],
)
def test_errors_follow_the_contract_order_id_then_existence_then_ownership_then_body(
    client: TestClient, user: User, other_user: User, method: str, path: str, bad_body: dict[str, Any]
) -> None:
    """API.md: for routes with an id in the path, the id's format (400), existence (404) and
    ownership (403) are checked before the body (400)."""
    theirs = make_dataset(client, other_user, name="theirs")
    malformed = client.request(method, path.format(dataset="bad.id"), json=bad_body, headers=user.headers)
    unknown = client.request(method, path.format(dataset=UNKNOWN), json=bad_body, headers=user.headers)
    forbidden = client.request(method, path.format(dataset=theirs["_id"]), json=bad_body, headers=user.headers)
    assert (malformed.status_code, malformed.json()) == (400, {"error": messages.DATASET_BAD_ID})
    assert (unknown.status_code, unknown.json()) == (404, {"error": messages.DATASET_NOT_FOUND})
    assert (forbidden.status_code, forbidden.json()) == (403, {"error": messages.DATASET_FORBIDDEN})


def test_a_dataset_needs_authentication(client: TestClient) -> None:
    response = client.get("/datasets")
    assert (response.status_code, response.json()) == (401, {"error": messages.TOKEN_MISSING})


# Items


def test_items_are_added_at_the_end_with_exactly_their_fields(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    sent = [
        {"input": {"ticket": "VAT number wrong", "tone": "formal"}, "expected": "billing", "metadata": {"n": 1}},
        {"input": {"ticket": "VPN down"}},
        {"input": {}, "expected": None, "metadata": None},
    ]
    response = add_items(client, user, dataset["_id"], sent)
    assert response.status_code == 201
    assert set(response.json()) == {"items"}
    created = response.json()["items"]
    assert [set(row) for row in created] == [ITEM_FIELDS] * 3
    assert all(row["_id"].startswith("item_") and TIMESTAMP.fullmatch(row["createdAt"]) for row in created)
    assert [{key: row[key] for key in ("input", "expected", "metadata")} for row in created] == [
        sent[0],
        {"input": {"ticket": "VPN down"}, "expected": None, "metadata": None},
        sent[2],
    ]
    assert client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).json() == created
    assert item_count(client, user, dataset["_id"]) == 3


def test_inputs_expected_answers_and_metadata_are_stored_exactly_as_sent(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    sent = {
        "input": {"text": "  Ünïcode 🚀\n\ttab ", "empty": "", "z": "last", "a": "first"},
        "expected": '  {"json": true}\n',
        "metadata": {"source": "zendesk", "nested": {"list": [1, 2.5, None, True, "x"]}, "empty": {}},
    }
    created = add_items(client, user, dataset["_id"], [sent]).json()["items"][0]
    listed = client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).json()
    assert listed == [created]
    assert {key: listed[0][key] for key in sent} == sent


def test_a_batch_of_1000_items_is_stored_in_order(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    created = stored_items(client, user, dataset["_id"], 1000)
    assert [row["input"]["ticket"] for row in created] == [f"ticket {i}" for i in range(1000)]
    assert len(set(ids(created))) == 1000
    assert item_count(client, user, dataset["_id"]) == 1000
    assert ids(client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).json()) == ids(created)


BAD_BATCHES: dict[str, Any] = {
    "no items": {"items": []},
    "1001 items": {"items": [item(0)] * 1001},
    "no list": {},
    "a string": {"items": "x"},
    "null": {"items": None},
    "an unknown field": {"items": [item(0)], "x": 1},
    "not an object": [item(0)],
}


def test_a_batch_holds_1_to_1000_items(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    before = stored_items(client, user, dataset["_id"], 2)
    for case, body in BAD_BATCHES.items():
        response = client.post(f"/datasets/{dataset['_id']}/items", json=body, headers=user.headers)
        assert (response.status_code, response.json()["error"]) == (400, messages.FIELDS_INVALID), case
    assert item_count(client, user, dataset["_id"]) == 2
    assert client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).json() == before


# One bad field of an item: input an object of strings, expected a string or null, metadata an
# object or null of at most 10,000 bytes as JSON, nothing else.
BAD_ITEM_FIELDS: list[dict[str, Any]] = [
    {"input": None},
    {"input": "ticket"},
    {"input": ["ticket"]},
    {"input": {"ticket": 1}},
    {"input": {"ticket": None}},
    {"input": {"ticket": True}},
    {"input": {"ticket": {"nested": "x"}}},
    {"input": {"ticket": "x" * 100_001}},
    {"expected": 5},
    {"expected": {"a": "b"}},
    {"expected": ["a"]},
    {"expected": "x" * 100_001},
    {"metadata": "zendesk"},
    {"metadata": ["zendesk"]},
    {"metadata": 3},
    {"metadata": {"blob": "x" * 10_000}},
    {"score": 3},
]


def test_one_bad_item_stores_nothing_and_is_named_by_index_and_field(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    before = stored_items(client, user, dataset["_id"], 2)
    for fields in BAD_ITEM_FIELDS:
        response = add_items(client, user, dataset["_id"], [item(0), item(1), item(2, **fields), item(3)])
        assert response.status_code == 400, fields
        body = response.json()
        assert body["error"] == messages.FIELDS_INVALID
        assert {detail["index"] for detail in body["details"]} == {2}, fields
        assert {detail["field"].split(".")[0] for detail in body["details"]} == set(fields), fields
    assert item_count(client, user, dataset["_id"]) == 2
    assert client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).json() == before


def test_an_item_without_input_is_named_by_index(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    response = add_items(client, user, dataset["_id"], [item(0), {"expected": "x"}, item(2), {"input": 1}])
    assert response.status_code == 400
    assert [(detail["index"], detail["field"]) for detail in response.json()["details"]] == [(1, "input"), (3, "input")]
    assert item_count(client, user, dataset["_id"]) == 0


def test_metadata_up_to_the_limit_is_kept(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    metadata = {"blob": "x" * (10_000 - len('{"blob":""}'))}
    response = add_items(client, user, dataset["_id"], [item(0, metadata=metadata)])
    assert response.status_code == 201, response.text
    assert response.json()["items"][0]["metadata"] == metadata


def test_item_count_follows_adds_and_deletes(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    first = stored_items(client, user, dataset["_id"], 3)
    assert item_count(client, user, dataset["_id"]) == 3
    stored_items(client, user, dataset["_id"], 4)
    assert item_count(client, user, dataset["_id"]) == 7
    for row in first[:2]:
        assert client.delete(f"/datasets/{dataset['_id']}/items/{row['_id']}", headers=user.headers).status_code == 204
    assert item_count(client, user, dataset["_id"]) == 5
    assert client.get("/datasets", headers=user.headers).json()[0]["itemCount"] == 5
    patched = client.patch(f"/datasets/{dataset['_id']}", json={"name": "renamed"}, headers=user.headers).json()
    assert patched["itemCount"] == 5


def test_items_list_in_pages_of_limit_with_no_repeats_or_gaps(client: TestClient, user: User) -> None:
    dataset, other = make_dataset(client, user), make_dataset(client, user, name="other")
    created = stored_items(client, user, dataset["_id"], 25)
    stored_items(client, user, other["_id"], 5)
    first = client.get(f"/datasets/{dataset['_id']}/items?limit=10", headers=user.headers)
    assert ids(first.json()) == ids(created[:10])
    link = next_link(first)
    assert link is not None and link.startswith(f"/datasets/{dataset['_id']}/items?") and "limit=10" in link
    rows, pages = every_page(client, user, f"/datasets/{dataset['_id']}/items?limit=10")
    assert (pages, rows) == (3, created)
    exact, exact_pages = every_page(client, user, f"/datasets/{dataset['_id']}/items?limit=25")
    assert exact == created and exact_pages in (1, 2)  # an exact fit may end on an empty page


def test_items_pages_are_not_shifted_by_items_added_or_deleted_between_pages(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    created = stored_items(client, user, dataset["_id"], 12)
    first = client.get(f"/datasets/{dataset['_id']}/items?limit=5", headers=user.headers)
    assert ids(first.json()) == ids(created[:5])
    for gone in (created[1], created[7]):
        client.delete(f"/datasets/{dataset['_id']}/items/{gone['_id']}", headers=user.headers)
    added = stored_items(client, user, dataset["_id"], 3)
    link = next_link(first)
    assert link is not None
    rest, _ = every_page(client, user, link)
    assert ids(rest) == ids(created[5:7] + created[8:] + added)


def test_a_deleted_item_is_gone(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    created = stored_items(client, user, dataset["_id"], 3)
    path = f"/datasets/{dataset['_id']}/items/{created[1]['_id']}"
    response = client.delete(path, headers=user.headers)
    assert (response.status_code, response.content) == (204, b"")
    again = client.delete(path, headers=user.headers)
    assert (again.status_code, again.json()) == (404, {"error": messages.ITEM_NOT_FOUND})
    assert client.get(f"/datasets/{dataset['_id']}/items", headers=user.headers).json() == [created[0], created[2]]
    assert item_count(client, user, dataset["_id"]) == 2


def test_an_item_of_another_dataset_is_404(client: TestClient, user: User, other_user: User) -> None:
    dataset, other = make_dataset(client, user), make_dataset(client, user, name="other")
    elsewhere = stored_items(client, user, other["_id"], 1)[0]
    stored_items(client, user, dataset["_id"], 1)
    response = client.delete(f"/datasets/{dataset['_id']}/items/{elsewhere['_id']}", headers=user.headers)
    assert (response.status_code, response.json()) == (404, {"error": messages.ITEM_NOT_FOUND})
    assert client.get(f"/datasets/{other['_id']}/items", headers=user.headers).json() == [elsewhere]
    assert (item_count(client, user, dataset["_id"]), item_count(client, user, other["_id"])) == (1, 1)
    theirs = make_dataset(client, other_user, name="theirs")
    their_item = stored_items(client, other_user, theirs["_id"], 1)[0]
    response = client.delete(f"/datasets/{dataset['_id']}/items/{their_item['_id']}", headers=user.headers)
    assert (response.status_code, response.json()) == (404, {"error": messages.ITEM_NOT_FOUND})
    assert client.get(f"/datasets/{theirs['_id']}/items", headers=other_user.headers).json() == [their_item]


def test_an_unknown_or_malformed_item_id_is_404_or_400(client: TestClient, user: User) -> None:
    dataset = make_dataset(client, user)
    stored_items(client, user, dataset["_id"], 1)
    unknown = client.delete(f"/datasets/{dataset['_id']}/items/{UNKNOWN_ITEM}", headers=user.headers)
    assert (unknown.status_code, unknown.json()) == (404, {"error": messages.ITEM_NOT_FOUND})
    malformed = client.delete(f"/datasets/{dataset['_id']}/items/{'x' * 65}", headers=user.headers)
    assert (malformed.status_code, malformed.json()) == (400, {"error": messages.ITEM_BAD_ID})
    assert item_count(client, user, dataset["_id"]) == 1
