"""The pages of datasets, providers and runs over HTTP, on both stores: each renders for its owner
and is refused to another account, each form works and refuses a forged token, and a run
launched from a prompt calls a real OpenAI-compatible server (tests/fake_openai.py) in the
background, its page showing its progress, then its leaderboard, results and comparison."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from fake_openai import FakeOpenAI, Fault
from helpers import User, make_dataset, make_prompt
from test_web import form_token, sign_up, submit

TICKETS = [
    {"input": {"ticket": "refund please"}, "expected": "refund please"},
    {"input": {"ticket": "where is my parcel"}, "expected": "WHERE IS MY PARCEL"},
    {"input": {"ticket": "cancel my plan"}, "expected": "cancel my plan"},
]
RUN_PATH = re.compile(r"^/r/(run_[0-9A-Z]+)$")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def member(client: TestClient, user: User) -> TestClient:
    """The client signed in through the form as `user`, whose token the API checks take."""
    response = submit(client, "/login", "/login", {"email": user.email, "password": user.password})
    assert response.status_code == 200, response.text
    return client


def new_dataset(client: TestClient, name: str = "support tickets", description: str = "") -> str:
    response = submit(client, "/d", "/d", {"name": name, "description": description}, follow_redirects=False)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location.removeprefix("/d/")


def stored_items(client: TestClient, user: User, dataset_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/datasets/{dataset_id}/items", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def add_provider(client: TestClient, fake: FakeOpenAI, **fields: str) -> Any:
    values = {
        "name": "local",
        "base_url": fake.base_url,
        "api_key": "sk-test-secret-9876",
        "models": "echo 1 2\nupper 0.5 1.5",
        **fields,
    }
    return submit(client, "/account/providers", "/account/providers", values)


def launch(client: TestClient, prompt_id: str, dataset_id: str, **fields: str) -> Any:
    """The run form sent with the dataset and the exact scorer, and `fields` (the models)."""
    page = f"/p/{prompt_id}/run"
    values = {"dataset": dataset_id, "repeats": "1", "scorer.exact": "on", "numeric_tolerance": "0", **fields}
    return submit(client, page, page, values, follow_redirects=False)


def launched_run(response: Any) -> str:
    assert response.status_code == 303, response.text
    found = RUN_PATH.match(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def wait_for_page(client: TestClient, run_id: str, status: str = "done", timeout: float = 30) -> str:
    """The run's page once it says the run is `status` (runs go on in the server's background)."""
    deadline = time.monotonic() + timeout
    html = ""
    while time.monotonic() < deadline:
        html = client.get(f"/r/{run_id}").text
        if f'class="status status-{status}"' in html:
            return html
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never showed {status}: {html[-2000:]}")


def test_the_new_pages_send_a_visitor_without_a_session_to_sign_in(client: TestClient) -> None:
    for path in ("/d", "/d/dataset_01H0000000000000000000000", "/r", "/account/providers", "/p/x/run"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


def test_the_navigation_leads_to_datasets_runs_and_providers(member: TestClient) -> None:
    page = member.get("/").text
    assert all(f'href="{path}"' in page for path in ("/d", "/r", "/account/providers"))
    assert "No datasets yet." in member.get("/d").text
    assert "No runs yet." in member.get("/r").text
    assert "No providers yet." in member.get("/account/providers").text


def test_creating_a_dataset_lists_it_and_its_name_can_be_changed(member: TestClient, user: User) -> None:
    dataset_id = new_dataset(member, description="Fifty real tickets.")
    listed = member.get("/d").text
    assert f'href="/d/{dataset_id}"' in listed and "support tickets" in listed and "Fifty real tickets." in listed
    edited = submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/edit", {"name": "billing tickets", "description": ""})
    assert edited.status_code == 200 and "Saved." in edited.text and "billing tickets" in edited.text
    stored = member.get(f"/datasets/{dataset_id}", headers=user.headers).json()
    assert stored["name"] == "billing tickets" and stored["description"] is None
    unnamed = submit(member, "/d", "/d", {"name": " ", "description": "kept"})
    assert unnamed.status_code == 400 and 'id="name-problem"' in unnamed.text and "kept" in unnamed.text


def test_an_item_added_by_hand_keeps_its_variables_and_expected_answer(member: TestClient, user: User) -> None:
    dataset_id = new_dataset(member)
    page = f"/d/{dataset_id}"
    fields = {"input": "ticket = My invoice is wrong\nlanguage = en", "expected": "billing"}
    added = submit(member, page, f"{page}/items", fields)
    assert added.status_code == 200 and "Added 1 item." in added.text
    assert '<th scope="col">language</th>' in added.text and "My invoice is wrong" in added.text
    [item] = stored_items(member, user, dataset_id)
    assert item["input"] == {"ticket": "My invoice is wrong", "language": "en"} and item["expected"] == "billing"
    bad = submit(member, page, f"{page}/items", {"input": "just words", "expected": ""})
    assert bad.status_code == 400 and 'id="input-problem"' in bad.text and "just words" in bad.text
    assert len(stored_items(member, user, dataset_id)) == 1


def test_pasting_csv_adds_a_row_per_item_with_its_expected_column(member: TestClient, user: User) -> None:
    dataset_id = new_dataset(member)
    pasted = 'ticket,team,expected\n"Refund, please",billing,billing\n\nWhere is it?,shipping,\n'
    response = submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/paste", {"pasted": pasted})
    assert response.status_code == 200 and "Added 2 items." in response.text
    items = stored_items(member, user, dataset_id)
    assert [item["input"] for item in items] == [
        {"ticket": "Refund, please", "team": "billing"},
        {"ticket": "Where is it?", "team": "shipping"},
    ]
    assert [item["expected"] for item in items] == ["billing", None]
    short = submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/paste", {"pasted": "a,b\n1,2\n3\n"})
    assert short.status_code == 400 and "Line 3: 1 fields; the header has 2." in short.text
    assert len(stored_items(member, user, dataset_id)) == 2


def test_pasting_json_lines_takes_both_shapes(member: TestClient, user: User) -> None:
    dataset_id = new_dataset(member)
    pasted = '{"input": {"ticket": "T-1"}, "expected": "ok"}\n{"ticket": "T-2", "priority": 2, "expected": "late"}\n'
    response = submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/paste", {"pasted": pasted})
    assert response.status_code == 200 and "Added 2 items." in response.text
    items = stored_items(member, user, dataset_id)
    assert [(item["input"], item["expected"]) for item in items] == [
        ({"ticket": "T-1"}, "ok"),
        ({"ticket": "T-2", "priority": "2"}, "late"),
    ]


def test_pasted_json_lines_with_a_bad_line_name_it_and_store_nothing(member: TestClient, user: User) -> None:
    dataset_id = new_dataset(member)
    pasted = '{"ticket": "T-1"}\n\n{"ticket": "T-2", oops}\n{"ticket": "T-3"}\n'
    response = submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/paste", {"pasted": pasted})
    assert response.status_code == 400
    assert 'id="pasted-problem"' in response.text and "Line 3: not JSON." in response.text
    assert escape('{"ticket": "T-2", oops}') in response.text  # what was pasted, kept to fix
    assert stored_items(member, user, dataset_id) == []
    nested = submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/paste", {"pasted": '{"ticket": {"a": 1}}'})
    assert nested.status_code == 400 and "Line 1: variable &#39;ticket&#39; is an object; give a string" in nested.text


def test_the_items_are_shown_a_hundred_to_a_page(member: TestClient, user: User) -> None:
    dataset_id = new_dataset(member)
    items = [{"input": {"ticket": f"T-{index}"}} for index in range(130)]
    assert member.post(f"/datasets/{dataset_id}/items", json={"items": items}, headers=user.headers).is_success
    first = member.get(f"/d/{dataset_id}").text
    assert first.count('/delete" class="inline"') == 100 and "T-99<" in first and "T-100<" not in first
    next_page = re.search(r'href="(/d/[^"]+\?cursor=[^"#]+)', first)
    assert next_page
    second = member.get(next_page.group(1)).text
    assert second.count('/delete" class="inline"') == 30 and "T-129<" in second and "T-99<" not in second


def test_deleting_an_item_then_the_dataset_after_asking(member: TestClient, user: User) -> None:
    dataset_id = make_dataset(member, user, TICKETS)
    page = member.get(f"/d/{dataset_id}").text
    item_id = re.search(r"/items/(item_[0-9A-Z]+)/delete", page)
    assert item_id
    submit(member, f"/d/{dataset_id}", f"/d/{dataset_id}/items/{item_id.group(1)}/delete", {"back": "//evil.example"})
    assert len(stored_items(member, user, dataset_id)) == 2
    assert "cannot be undone" in member.get(f"/d/{dataset_id}/delete").text
    response = submit(member, f"/d/{dataset_id}/delete", f"/d/{dataset_id}/delete", {})
    assert response.status_code == 200 and "were deleted" in response.text
    assert member.get(f"/d/{dataset_id}").status_code == 404


def test_a_provider_is_listed_with_its_prices_but_never_its_key(
    member: TestClient, user: User, fake: FakeOpenAI
) -> None:
    response = add_provider(member, fake)
    assert response.status_code == 200 and "Provider added." in response.text
    assert "sk-test-secret-9876" not in response.text and "9876" in response.text  # the hint only
    assert "<code>echo</code>" in response.text and "$0.50 in / $1.50 out" in response.text
    [stored] = member.get("/providers", headers=user.headers).json()
    assert stored["models"][0] == {"name": "echo", "inputPer1M": 1, "outputPer1M": 2}
    bad = add_provider(member, fake, name="second", base_url="ftp://nowhere", api_key="sk-never-shown-4321")
    assert bad.status_code == 400 and 'id="base_url-problem"' in bad.text
    assert "sk-never-shown-4321" not in bad.text and "second" in bad.text
    taken = add_provider(member, fake)
    assert taken.status_code == 409 and 'id="name-problem"' in taken.text
    prices = add_provider(member, fake, name="third", models="echo cheap dear")
    assert prices.status_code == 400 and "Line 1: “cheap” is not a price" in prices.text
    submit(member, "/account/providers", f"/account/providers/{stored['_id']}/delete", {})
    assert member.get("/providers", headers=user.headers).json() == []


def test_a_run_launched_from_a_prompt_shows_its_results_leaderboard_and_comparison(
    member: TestClient, user: User, fake: FakeOpenAI
) -> None:
    prompt_id = make_prompt(member, user)
    dataset_id = make_dataset(member, user, TICKETS)
    provider_id = member.post(
        "/providers",
        json={"name": "local", "baseUrl": fake.base_url, "models": [{"name": "echo"}]},
        headers=user.headers,
    ).json()["_id"]
    assert 'href="/p/' + prompt_id + '/run"' in member.get(f"/p/{prompt_id}").text
    form = member.get(f"/p/{prompt_id}/run").text
    assert f'name="model.{provider_id}:echo"' in form and "tickets (3 items)" in form
    run_id = launched_run(
        launch(member, prompt_id, dataset_id, **{f"model.{provider_id}:echo": "on", "more_models": "local:upper"})
    )
    page = wait_for_page(member, run_id)
    assert "6 done of 6" in page and "Cancel the run" not in page
    board = member.get(f"/runs/{run_id}", headers=user.headers).json()["leaderboard"]
    assert [entry["key"] for entry in board["entries"]] == ["local/echo", "local/upper"]
    leaderboard = page[page.index('id="board-heading"') : page.index('id="results-heading"')]
    assert 'role="img"' in leaderboard and leaderboard.index(">local/echo<") < leaderboard.index(">local/upper<")
    assert f"{board['entries'][0]['mean']:.2f}" in leaderboard
    results = page[page.index('id="results-heading"') :]
    assert "REFUND PLEASE" in results and "WHERE IS MY PARCEL" in results, results
    assert results.count("<tr>") == 4
    runs = member.get("/r").text
    assert f'href="/r/{run_id}"' in runs and "Ticket echo" in runs and "tickets" in runs and "status-done" in runs

    compare = re.search(r'<form method="get" action="(/p/[^"]+/compare)"', page)
    assert compare and f'name="runId" value="{run_id}"' in page
    # Logs of the same models and input made outside the run: its comparison leaves them out.
    for model in ("local/echo", "local/upper"):
        outside = {"promptId": prompt_id, "output": "OUTSIDE THE RUN", "modelUsed": model, "score": 5}
        assert member.post("/logs", json={**outside, "input": TICKETS[0]["input"]}, headers=user.headers).is_success
    query = {"by": "modelUsed", "a": "local/echo", "b": "local/upper", "runId": run_id}
    shown = member.get(compare.group(1), params=query).text
    verdict = member.get(f"/prompts/{prompt_id}/compare", params=query, headers=user.headers).json()["verdict"]
    assert escape(verdict) in shown and "Only the logs of" in shown
    assert shown.count("<tr>") - shown.count("<tr><th") >= 3  # the run's three items, side by side
    assert "OUTSIDE THE RUN" not in shown
    everything = {name: value for name, value in query.items() if name != "runId"}
    assert "OUTSIDE THE RUN" in member.get(compare.group(1), params=everything).text


def test_a_failed_call_shows_its_error_beside_the_answers(member: TestClient, user: User, fake: FakeOpenAI) -> None:
    prompt_id = make_prompt(member, user)
    dataset_id = make_dataset(member, user, TICKETS[:1])
    add_provider(member, fake)
    fake.script("upper", Fault.status(400, message="This model is switched off."))
    run_id = launched_run(launch(member, prompt_id, dataset_id, more_models="local:echo\nlocal:upper"))
    page = wait_for_page(member, run_id)
    assert "1 done, 1 failed of 2" in page
    assert "The provider answered 400" in page and "This model is switched off." in page


def test_cancelling_a_run_stops_it(member: TestClient, user: User) -> None:
    with FakeOpenAI(delay=0.5) as slow:
        prompt_id = make_prompt(member, user)
        dataset_id = make_dataset(member, user, [{"input": {"ticket": f"T-{index}"}} for index in range(40)])
        add_provider(member, slow)
        run_id = launched_run(launch(member, prompt_id, dataset_id, more_models="local:echo"))
        running = member.get(f"/r/{run_id}").text
        assert 'data-live-run="/r/' in running and '<meta http-equiv="refresh" content="2">' in running
        partial = member.get(f"/r/{run_id}?partial=1").text
        assert "<html" not in partial and "of 40" in partial and "data-finished" not in partial
        cancelled = submit(member, f"/r/{run_id}", f"/r/{run_id}/cancel", {})
        assert cancelled.status_code == 200 and 'class="status status-cancelled"' in cancelled.text
        assert "Cancel the run" not in cancelled.text and "data-live-run" not in cancelled.text
        assert "data-finished" in member.get(f"/r/{run_id}?partial=1").text
        assert member.get(f"/runs/{run_id}", headers=user.headers).json()["progress"]["done"] < 40


def test_the_run_form_says_what_is_missing_or_wrong(member: TestClient, user: User, fake: FakeOpenAI) -> None:
    prompt_id = make_prompt(member, user)
    dataset_id = make_dataset(member, user, TICKETS)
    add_provider(member, fake)
    none_chosen = launch(member, prompt_id, dataset_id)
    assert none_chosen.status_code == 400 and "Choose at least one model." in none_chosen.text
    unknown = launch(member, prompt_id, dataset_id, more_models="nowhere:echo")
    assert unknown.status_code == 400 and 'id="models-problem"' in unknown.text
    pattern = launch(member, prompt_id, dataset_id, more_models="local:echo", regex_pattern="(unclosed")
    assert pattern.status_code == 400 and 'id="regex_pattern-problem"' in pattern.text
    label = launch(member, prompt_id, dataset_id, more_models="local:echo", version="label:missing")
    assert label.status_code == 404 and 'id="version-problem"' in label.text
    empty = member.post("/datasets", json={"name": "empty"}, headers=user.headers).json()["_id"]
    nothing = launch(member, prompt_id, empty, more_models="local:echo")
    assert nothing.status_code == 400 and 'id="dataset-problem"' in nothing.text
    assert member.get("/runs", headers=user.headers).json() == []


def test_another_users_datasets_providers_and_runs_are_refused(
    member: TestClient, user: User, fake: FakeOpenAI, app_factory: Any
) -> None:
    prompt_id = make_prompt(member, user)
    dataset_id = make_dataset(member, user, TICKETS)
    add_provider(member, fake)
    provider_id = member.get("/providers", headers=user.headers).json()[0]["_id"]
    run_id = launched_run(launch(member, prompt_id, dataset_id, more_models="local:echo"))
    wait_for_page(member, run_id)
    item_id = stored_items(member, user, dataset_id)[0]["_id"]
    with TestClient(app_factory(runner=False)) as intruder:
        sign_up(intruder, "grace@example.com")
        for path in (
            f"/d/{dataset_id}",
            f"/d/{dataset_id}/delete",
            f"/r/{run_id}",
            f"/r/{run_id}?partial=1",
            f"/p/{prompt_id}/run",
            f"/p/{prompt_id}/compare?by=modelUsed&a=local/echo&b=local/upper&runId={run_id}",
        ):
            response = intruder.get(path)
            assert response.status_code in (403, 404), path
            assert "tickets" not in response.text and "Ticket echo" not in response.text, path
        for listing in ("/d", "/r", "/account/providers"):
            assert dataset_id not in intruder.get(listing).text and "local" not in intruder.get(listing).text
        for action, fields in (
            (f"/d/{dataset_id}/edit", {"name": "mine now", "description": ""}),
            (f"/d/{dataset_id}/items", {"input": "ticket = x", "expected": ""}),
            (f"/d/{dataset_id}/paste", {"pasted": "ticket\nx\n"}),
            (f"/d/{dataset_id}/items/{item_id}/delete", {}),
            (f"/d/{dataset_id}/delete", {}),
            (f"/account/providers/{provider_id}/delete", {}),
            (f"/r/{run_id}/cancel", {}),
        ):
            assert submit(intruder, "/d", action, fields).status_code == 403, action
    assert len(stored_items(member, user, dataset_id)) == 3
    assert member.get(f"/datasets/{dataset_id}", headers=user.headers).json()["name"] == "tickets"
    assert len(member.get("/providers", headers=user.headers).json()) == 1


@pytest.mark.parametrize("token", [None, "0" * 64])
def test_forged_forms_are_refused_and_change_nothing(
    member: TestClient, user: User, fake: FakeOpenAI, token: str | None
) -> None:
    prompt_id = make_prompt(member, user)
    dataset_id = make_dataset(member, user, TICKETS)
    forged = {} if token is None else {"form_token": token}
    for action, fields in (
        ("/d", {"name": "forged"}),
        (f"/d/{dataset_id}/paste", {"pasted": "ticket\nforged\n"}),
        (f"/d/{dataset_id}/delete", {"confirm": "yes"}),
        ("/account/providers", {"name": "forged", "base_url": fake.base_url, "models": "echo"}),
        (f"/p/{prompt_id}/run", {"dataset": dataset_id, "more_models": "local:echo", "scorer.exact": "on"}),
    ):
        response = member.post(action, data={**forged, **fields})
        assert response.status_code == 403 and "did not come from this site" in response.text, action
    assert form_token(member.get("/d").text)  # the real token still works: the pages carry it
    assert [dataset["name"] for dataset in member.get("/datasets", headers=user.headers).json()] == ["tickets"]
    assert len(stored_items(member, user, dataset_id)) == 3
    assert member.get("/providers", headers=user.headers).json() == []
    assert member.get("/runs", headers=user.headers).json() == []
