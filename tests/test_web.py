"""The web pages over HTTP, on both stores: sessions and their cookies, form tokens, who may see
which page, and every form of the library and a prompt's page. (The same pages in a real
browser, with screenshots and an accessibility check: `test_browser.py`.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from helpers import PASSWORD, User
from promptcrafter import messages

TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{64})"')


def form_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has no form"
    return found.group(1)


def submit(client: TestClient, page: str, action: str, fields: dict[str, Any], **options: Any) -> Any:
    """Open `page`, then send one of its forms to `action`, as a browser would."""
    token = form_token(client.get(page).text)
    return client.post(action, data={"form_token": token, **fields}, **options)


def sign_up(client: TestClient, email: str = "ada@example.com") -> Any:
    return submit(client, "/signup", "/signup", {"name": "Ada", "email": email, "password": PASSWORD})


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    """A client signed in through the sign-up form."""
    assert sign_up(client).status_code == 200
    return client


def new_prompt(browser: TestClient, **fields: str) -> str:
    values = {"title": "Ticket summary", "content": "Summarise {{ticket}}.", "model": "gpt-4o", "tags": "support, ops"}
    response = submit(browser, "/new", "/new", {**values, **fields}, follow_redirects=False)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location.removeprefix("/p/")


def test_signing_up_starts_a_session_in_an_http_only_lax_cookie(client: TestClient) -> None:
    response = sign_up(client)
    assert response.status_code == 200 and "Library" in response.text
    cookie = next(value for name, value in response.history[0].headers.multi_items() if "pc_session=" in value)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_over_https(app_factory: Any) -> None:
    with TestClient(app_factory(), base_url="https://testserver") as client:
        response = sign_up(client)
        cookies = [value for name, value in response.history[0].headers.multi_items() if name == "set-cookie"]
        assert cookies and all("Secure" in cookie for cookie in cookies)


def test_pages_send_a_visitor_without_a_session_to_sign_in(client: TestClient) -> None:
    for path in ("/", "/new", "/account", "/p/prompt_01H0000000000000000000000"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


def test_signing_in_returns_to_the_page_asked_for_and_only_on_this_site(client: TestClient) -> None:
    sign_up(client)
    client.cookies.clear()
    hostile = ("//evil.example/x", "https://evil.example", "/\\evil.example", "/\t/evil.example")
    for asked, landed in (("/account", "/account"), *((path, "/") for path in hostile)):
        response = submit(
            client,
            "/login",
            "/login",
            {"email": "ada@example.com", "password": PASSWORD, "next": asked},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == landed
        client.cookies.delete("pc_session")


def test_a_wrong_password_says_what_the_api_says(client: TestClient) -> None:
    sign_up(client)
    client.cookies.clear()
    response = submit(client, "/login", "/login", {"email": "ada@example.com", "password": "wrong password"})
    assert response.status_code == 401
    assert messages.LOGIN_FAILED in response.text
    assert "pc_session" not in client.cookies


def test_failed_sign_ins_are_throttled_like_the_api(app_factory: Any) -> None:
    with TestClient(app_factory(login_max_failures=2)) as client:
        sign_up(client)
        client.cookies.clear()
        statuses = [
            submit(client, "/login", "/login", {"email": "ada@example.com", "password": "wrong"}).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]


def test_sign_up_shows_each_problem_beside_its_field(client: TestClient) -> None:
    response = submit(client, "/signup", "/signup", {"name": "", "email": "not an email", "password": "short"})
    assert response.status_code == 400
    assert 'id="name-problem"' in response.text and 'id="email-problem"' in response.text
    sign_up(client, "taken@example.com")
    client.cookies.clear()
    taken = submit(client, "/signup", "/signup", {"name": "B", "email": "taken@example.com", "password": PASSWORD})
    assert taken.status_code == 409 and "already" in taken.text


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_a_form_without_a_valid_token_is_refused_and_changes_nothing(browser: TestClient, token: str | None) -> None:
    fields = {"title": "Forged", "content": "x", "model": "m"}
    if token is not None:
        fields["form_token"] = token
    response = browser.post("/new", data=fields)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert "Forged" not in browser.get("/").text


def test_the_api_never_accepts_the_session_cookie(browser: TestClient) -> None:
    assert "pc_session" in browser.cookies
    assert browser.get("/prompts").status_code == 401


def test_signing_out_ends_the_session(browser: TestClient) -> None:
    session = browser.cookies["pc_session"]
    assert submit(browser, "/", "/logout", {}, follow_redirects=False).status_code == 303
    browser.cookies.set("pc_session", session)
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_signing_out_everywhere_ends_every_session_of_the_account(client: TestClient, app_factory: Any) -> None:
    sign_up(client)
    with TestClient(app_factory()) as elsewhere:
        submit(elsewhere, "/login", "/login", {"email": "ada@example.com", "password": PASSWORD})
        assert elsewhere.get("/account").status_code == 200
        submit(client, "/account", "/account/sign-out-everywhere", {})
        assert elsewhere.get("/account", follow_redirects=False).status_code == 303


def test_creating_a_prompt_lists_it_in_the_library_with_its_tags(browser: TestClient) -> None:
    prompt_id = new_prompt(browser)
    library = browser.get("/").text
    assert f'href="/p/{prompt_id}"' in library and "Ticket summary" in library
    assert browser.get("/?tag=ops").text.count("Ticket summary") == 1
    assert "Nothing matches." in browser.get("/?tag=billing").text


def test_a_prompt_form_with_problems_keeps_what_was_typed(browser: TestClient) -> None:
    response = submit(browser, "/new", "/new", {"title": "", "content": "Kept text", "model": "gpt-4o", "tags": ""})
    assert response.status_code == 400
    assert 'id="title-problem"' in response.text and "Kept text" in response.text


def test_the_prompt_page_marks_its_variables(browser: TestClient) -> None:
    prompt_id = new_prompt(browser, content="Summarise {{ticket}} for <b>{{team}}</b>.")
    page = browser.get(f"/p/{prompt_id}").text
    assert '<mark class="variable">{{ticket}}</mark>' in page
    assert "&lt;b&gt;" in page  # the prompt's own text is escaped


def test_editing_makes_a_version_and_a_diff_shows_both_side_by_side(browser: TestClient) -> None:
    prompt_id = new_prompt(browser)
    fields = {"title": "Ticket summary", "content": "Summarise {{ticket}} in two lines.", "model": "gpt-4o", "tags": ""}
    submit(browser, f"/p/{prompt_id}/edit", f"/p/{prompt_id}/edit", fields)
    page = browser.get(f"/p/{prompt_id}?from=1&to=2").text
    assert "version 2" in page and "v1" in page
    assert '<tr class="replace"><td>Summarise {{ticket}}.</td><td>Summarise {{ticket}} in two lines.</td></tr>' in page


def test_labels_are_set_moved_and_removed(browser: TestClient) -> None:
    prompt_id = new_prompt(browser)
    fields = {"title": "Ticket summary, shorter", "content": "Two lines on {{ticket}}", "model": "gpt-4o"}
    assert submit(browser, f"/p/{prompt_id}/edit", f"/p/{prompt_id}/edit", fields).status_code == 200
    page = f"/p/{prompt_id}"
    submit(browser, page, f"{page}/labels", {"name": "production", "version": "1"})
    assert '<span class="version-label">production</span>' in browser.get(page).text
    refused = submit(browser, page, f"{page}/labels", {"name": "latest", "version": "1"})
    assert refused.status_code == 400
    submit(browser, page, f"{page}/labels/production/delete", {})
    assert '<span class="version-label">production</span>' not in browser.get(page).text


def test_logging_an_output_by_hand_stores_its_input(browser: TestClient, client: TestClient) -> None:
    prompt_id = new_prompt(browser)
    fields = {"output": "Two lines.", "modelUsed": "claude", "score": "8.5", "notes": "", "input": "ticket = T-1"}
    response = submit(browser, f"/p/{prompt_id}", f"/p/{prompt_id}/logs", fields)
    assert response.status_code == 200 and "Logged." in response.text
    bad = submit(browser, f"/p/{prompt_id}", f"/p/{prompt_id}/logs", {**fields, "score": "eleven"})
    assert bad.status_code == 400 and 'id="score-problem"' in bad.text
    found = browser.get("/?q=Two+lines&in=logs").text
    assert "claude" in found and "score 8.5" in found


def test_rendering_fills_in_the_variables(browser: TestClient) -> None:
    prompt_id = new_prompt(browser)
    page = browser.get(f"/p/{prompt_id}?render=1&var.ticket=the+printer+is+on+fire").text
    assert "Summarise the printer is on fire." in page
    missing = browser.get(f"/p/{prompt_id}?render=1").text
    assert escape(messages.VARIABLES_MISSING) in missing


def test_deleting_asks_first_then_removes_the_prompt(browser: TestClient) -> None:
    prompt_id = new_prompt(browser)
    assert "cannot be undone" in browser.get(f"/p/{prompt_id}/delete").text
    response = submit(browser, f"/p/{prompt_id}/delete", f"/p/{prompt_id}/delete", {})
    assert "were deleted" in response.text
    assert browser.get(f"/p/{prompt_id}").status_code == 404


def test_another_users_prompt_pages_are_refused(browser: TestClient, app_factory: Any) -> None:
    prompt_id = new_prompt(browser)
    with TestClient(app_factory()) as intruder:
        sign_up(intruder, "grace@example.com")
        for path in (f"/p/{prompt_id}", f"/p/{prompt_id}/edit", f"/p/{prompt_id}/delete"):
            assert intruder.get(path).status_code in (403, 404)
        deleting = submit(intruder, "/", f"/p/{prompt_id}/delete", {})
        assert deleting.status_code == 403
    assert browser.get(f"/p/{prompt_id}").status_code == 200


def test_search_as_you_type_gets_only_the_results(browser: TestClient) -> None:
    new_prompt(browser)
    partial = browser.get("/?q=ticket&partial=1").text
    assert "Ticket summary" in partial and "<html" not in partial


def test_an_api_user_can_use_the_same_account_in_the_browser(client: TestClient, user: User) -> None:
    response = submit(client, "/login", "/login", {"email": user.email, "password": user.password})
    assert response.status_code == 200 and "No prompts yet" in response.text


def log_pairs(client: TestClient, user_token: str, prompt_id: str, inputs: int = 12) -> None:
    """Versions 1 and 2 (version 2 better by a point) and two models, each on the same inputs."""
    headers = {"Authorization": f"Bearer {user_token}"}
    logs = [
        {
            "promptId": prompt_id,
            "promptVersion": version,
            "output": f"answer {item} by {model}",
            "modelUsed": model,
            "score": 5 + version + (item % 3) * 0.5 + (0.5 if model == "large" else 0),
            "input": {"ticket": f"T-{item}"},
        }
        for item in range(inputs)
        for version in (1, 2)
        for model in ("small", "large")
    ]
    assert client.post("/logs/batch", json={"logs": logs}, headers=headers).status_code == 201


@pytest.fixture
def evaluated(client: TestClient, user: User) -> str:
    """A prompt with two versions and paired logs, and a browser signed in as its owner."""
    headers = {"Authorization": f"Bearer {user.token}"}
    body = {"title": "Ticket summary", "content": "Summarise {{ticket}}.", "model": "gpt-4o"}
    prompt_id: str = client.post("/prompts", json=body, headers=headers).json()["_id"]
    client.patch(f"/prompts/{prompt_id}", json={"content": "Summarise {{ticket}} in two lines."}, headers=headers)
    log_pairs(client, user.token, prompt_id)
    submit(client, "/login", "/login", {"email": user.email, "password": user.password})
    return prompt_id


def test_the_logs_page_filters_pages_and_deletes(client: TestClient, evaluated: str, user: User) -> None:
    assert client.get(f"/p/{evaluated}/logs").text.count('class="output"') == 48
    log_pairs(client, user.token, evaluated, inputs=14)  # 104 logs: a page holds 100
    first = client.get(f"/p/{evaluated}/logs").text
    assert first.count('class="output"') == 100
    next_page = re.search(r'href="(/p/[^"]+/logs\?[^"]*cursor=[^"]+)"', first)
    assert next_page
    assert client.get(next_page.group(1).replace("&amp;", "&")).text.count('class="output"') == 4
    only = client.get(f"/p/{evaluated}/logs?promptVersion=2&modelUsed=large&minScore=8").text
    # Version 2 on the large model scores 7.5, 8 or 8.5 by input: 17 of its 26 inputs reach 8.
    assert only.count('class="output"') == 17 and "by small" not in only
    log_id = re.search(r"/logs/(log_[0-9A-Z]+)/delete", only)
    assert log_id
    submit(client, f"/p/{evaluated}/logs", f"/p/{evaluated}/logs/{log_id.group(1)}/delete", {"back": "/elsewhere"})
    after = client.get(f"/p/{evaluated}/logs?promptVersion=2&modelUsed=large&minScore=8").text
    assert after.count('class="output"') == 16 and log_id.group(1) not in after


def test_the_logs_page_exports_what_its_filters_select(client: TestClient, evaluated: str) -> None:
    exported = client.get(f"/p/{evaluated}/logs/export?format=csv&modelUsed=small&since=2000-01-01")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = exported.text.strip().splitlines()
    assert len(rows) == 1 + 24 and all(",small," in row for row in rows[1:])
    lines = client.get(f"/p/{evaluated}/logs/export?format=jsonl").text.strip().splitlines()
    assert len(lines) == 48


def test_the_compare_page_draws_the_answer_and_says_the_verdict(client: TestClient, evaluated: str, user: User) -> None:
    page = client.get(f"/p/{evaluated}/compare").text  # versions 1 and 2 by default
    verdict = client.get(
        f"/prompts/{evaluated}/compare?by=promptVersion&a=1&b=2", headers={"Authorization": f"Bearer {user.token}"}
    ).json()["verdict"]
    assert escape(verdict) in page
    assert page.count('role="img"') == 4  # two differences, the outcomes, the distributions
    assert "T-0" in page and "answer 0 by small" in page  # the same input, side by side
    models = client.get(f"/p/{evaluated}/compare?by=modelUsed&a=small&b=large").text
    assert "large scores higher than small" in models


def test_the_stats_page_and_the_leaderboard(client: TestClient, evaluated: str) -> None:
    stats = client.get(f"/p/{evaluated}/stats").text
    assert "Mean score per day" in stats and stats.count('role="img"') == 3
    board = client.get(f"/leaderboard?promptId={evaluated}").text
    assert board.index(">large<") < board.index(">small<")
    versions = client.get(f"/leaderboard?by=promptVersion&promptId={evaluated}&method=bradley-terry").text
    assert "Bradley–Terry rating" in versions and "rank 1–1" in versions
    assert client.get("/leaderboard?by=promptVersion").status_code == 400


def test_the_keys_page_shows_a_new_key_once_and_revokes_it(browser: TestClient) -> None:
    created = submit(
        browser, "/account/keys", "/account/keys", {"name": "nightly", "scope.logs:write": "on", "expires": ""}
    )
    assert created.status_code == 201
    key = re.search(r'id="new-key" class="secret" value="(pc_live_[0-9A-Za-z]+)"', created.text)
    assert key and browser.get("/prompts", headers={"Authorization": f"Bearer {key.group(1)}"}).status_code == 403
    page = browser.get("/account/keys").text
    assert "nightly" in page and key.group(1) not in page
    none_chosen = submit(browser, "/account/keys", "/account/keys", {"name": "x"})
    assert none_chosen.status_code == 400 and 'id="scopes-problem"' in none_chosen.text
    key_id = re.search(r"/account/keys/(key_[0-9A-Z]+)/revoke", page)
    assert key_id
    submit(browser, "/account/keys", f"/account/keys/{key_id.group(1)}/revoke", {})
    assert "No keys yet." in browser.get("/account/keys").text
    assert browser.get("/auth/me", headers={"Authorization": f"Bearer {key.group(1)}"}).status_code == 401
