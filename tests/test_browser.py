"""The web pages in a real browser (Debian's Chromium, driven by Playwright) against a live
`promptcrafter serve`: the whole evaluation loop as a person does it, what another account and
a forged form get, an accessibility check (axe-core) of every page, and screenshots of every
page in light and dark mode under `build/screenshots/` (the README shows two of them)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from helpers import LiveServer, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
PASSWORD = "correct horse battery"
# axe-core's two worst impact levels: what keeps a person from using the page.
BLOCKING = ("serious", "critical")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium package is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'pages.db'}")
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def new_page(browser: Browser, base_url: str, scheme: str = "light", width: int = 1280) -> Page:
    context = browser.new_context(base_url=base_url, color_scheme=scheme, viewport={"width": width, "height": 900})
    return context.new_page()


def sign_up(page: Page, name: str, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()


def log_output(page: Page, output: str, model: str, score: str, ticket: str) -> None:
    page.get_by_label("Output", exact=True).fill(output)
    page.get_by_label("Model", exact=True).fill(model)
    page.get_by_label("Score (0–10)").fill(score)
    page.get_by_label("Input", exact=True).fill(f"ticket = {ticket}")
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status")).to_have_text("Logged.")


def check_accessibility(page: Page) -> None:
    violations = Axe().run(page).response["violations"]
    blocking = [(item["id"], item["impact"], item["help"]) for item in violations if item["impact"] in BLOCKING]
    assert not blocking, f"{page.url}: {blocking}"


def test_the_evaluation_loop_in_a_browser(browser: Browser, server: LiveServer, tmp_path: Path) -> None:
    page = new_page(browser, server.url)
    sign_up(page, "Dana Scully", "dana@example.com")

    page.get_by_role("link", name="New prompt").first.click()
    page.get_by_label("Title").fill("Summarise a support ticket")
    page.get_by_label("Content").fill("Summarise this ticket for the on-call engineer.\n\n{{ticket}}")
    page.get_by_label("Model").fill("gpt-4o")
    page.get_by_label("Tags").fill("support, on-call")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("mark.variable")).to_have_text("{{ticket}}")
    prompt_url = page.url

    for content in (
        "Summarise this ticket in two sentences.\n\n{{ticket}}",
        "Two sentences, name the deadline.\n\n{{ticket}}",
    ):
        page.get_by_role("link", name="Edit").click()
        page.get_by_label("Content").fill(content)
        page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("version 3", exact=False).first).to_be_visible()

    page.get_by_label("Label").fill("production")
    page.get_by_label("points at").select_option("2")
    page.get_by_role("button", name="Set label").click()
    expect(page.locator(".version-label")).to_have_text("production")

    for ticket, small, large in (("T-1", "5", "7"), ("T-2", "6", "8.5"), ("T-3", "4.5", "7"), ("T-4", "6", "6.5")):
        log_output(page, f"Summary of {ticket} (small)", "small-model", small, ticket)
        log_output(page, f"Summary of {ticket} (large)", "large-model", large, ticket)

    page.get_by_role("link", name="Compare").click()
    page.get_by_label("Compare").select_option("modelUsed")
    page.get_by_label("a", exact=True).fill("small-model")
    page.get_by_label("b", exact=True).fill("large-model")
    page.get_by_role("button", name="Compare").click()
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text("large-model scores higher than small-model")
    expect(page.locator("table.examples tbody tr")).to_have_count(4)

    page.get_by_role("link", name="Library").click()
    page.get_by_label("Outputs").check()
    page.get_by_label("Search").fill("T-3 large")
    expect(page.locator("#results .card")).to_have_count(1)  # live, without submitting

    page.goto(prompt_url + "/logs")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    saved = tmp_path / "logs.csv"
    download.value.save_as(saved)
    assert len(saved.read_text().strip().splitlines()) == 1 + 8

    page.goto(prompt_url)
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete the prompt and its logs").click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    assert page.goto(prompt_url).status == 404

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.goto("/").url.endswith("/login?next=/")


def test_another_account_and_a_forged_form_get_nothing(browser: Browser, server: LiveServer) -> None:
    owner = new_page(browser, server.url)
    sign_up(owner, "Owner", "owner@example.com")
    owner.goto("/new")
    owner.get_by_label("Title").fill("Private prompt")
    owner.get_by_label("Content").fill("Nobody else may read {{this}}.")
    owner.get_by_label("Model").fill("gpt-4o")
    owner.get_by_role("button", name="Save").click()
    prompt_path = re.sub(r"^https?://[^/]+", "", owner.url)

    intruder = new_page(browser, server.url)
    sign_up(intruder, "Intruder", "intruder@example.com")
    for path in (prompt_path, f"{prompt_path}/logs", f"{prompt_path}/compare", f"{prompt_path}/stats"):
        response = intruder.goto(path)
        assert response is not None and response.status in (403, 404), path
        expect(intruder.get_by_text("Private prompt")).to_have_count(0)

    forged = owner.request.post(f"{prompt_path}/delete", form={"confirm": "yes"})
    assert forged.status == 403
    assert owner.goto(prompt_path).status == 200  # still there


def test_every_page_passes_an_accessibility_check_in_light_and_dark(browser: Browser, server: LiveServer) -> None:
    token = _seeded_account(server)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    prompt = "/p/support-summary"
    pages = {
        "library": "/",
        "prompt": f"{prompt}?from=1&to=2",
        "edit": f"{prompt}/edit",
        "logs": f"{prompt}/logs",
        "compare": f"{prompt}/compare",
        "stats": f"{prompt}/stats",
        "leaderboard": "/leaderboard",
        "new-prompt": "/new",
        "account": "/account",
        "api-keys": "/account/keys",
    }
    for scheme in ("light", "dark"):
        page = new_page(browser, server.url, scheme)
        for name, path in (("sign-in", "/login"), ("sign-up", "/signup")):
            page.goto(path)
            check_accessibility(page)
            page.screenshot(path=SCREENSHOTS / f"{name}-{scheme}.png", full_page=True)
        page.goto("/login")
        page.get_by_label("Email").fill("reader@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            check_accessibility(page)
            page.screenshot(path=SCREENSHOTS / f"{name}-{scheme}.png", full_page=True)
            page.screenshot(path=SCREENSHOTS / f"{name}-{scheme}-top.png")  # what the first screen shows
    phone = new_page(browser, server.url, "light", width=390)
    phone.goto("/login")
    phone.get_by_label("Email").fill("reader@example.com")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    for name in ("library", "compare"):
        phone.goto(pages[name])
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} is {width} px wide on a phone"
        phone.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    assert token


def _seeded_account(server: LiveServer) -> str:
    """An account holding the README's example (a prompt whose two versions ran on 30 tickets)."""
    with httpx.Client(base_url=server.url) as http:
        http.post("/auth/signup", json={"name": "Reader", "email": "reader@example.com", "password": PASSWORD})
        token: str = http.post("/auth/login", json={"email": "reader@example.com", "password": PASSWORD}).json()[
            "token"
        ]
        example = Path(__file__).resolve().parent.parent / "examples" / "two_versions.jsonl"
        records: list[dict[str, Any]] = [json.loads(line) for line in example.read_text().splitlines()]
        body = {
            "prompts": [record for record in records if "content" in record],
            "logs": [record for record in records if "output" in record],
        }
        response = http.post("/import", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
    return token
