"""The web pages in a real browser (Debian's Chromium, driven by Playwright) against a live
`promptcrafter serve`: the whole evaluation loop as a person does it, a run on a dataset
against a real OpenAI-compatible server (tests/fake_openai.py), what another account and a
forged form get, an accessibility check (axe-core) of every page, and screenshots of every page
in light and dark mode and at a phone's width under `build/screenshots/` (the README shows two
of them)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from fake_openai import FakeOpenAI, Fault
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


def test_a_run_on_a_dataset_in_a_browser(browser: Browser, server: LiveServer) -> None:
    page = new_page(browser, server.url)
    sign_up(page, "Fox Mulder", "fox@example.com")
    with FakeOpenAI() as fake:
        page.get_by_role("link", name="Providers").click()
        page.get_by_label("Name", exact=True).fill("local")
        page.get_by_label("Base URL").fill(fake.base_url)
        page.get_by_label("API key (optional)").fill("sk-browser-secret-4242")
        page.get_by_label("Models", exact=True).fill("echo 0.15 0.60\nupper 0.15 0.60")
        page.get_by_role("button", name="Add provider").click()
        expect(page.get_by_role("status")).to_have_text("Provider added.")
        assert "sk-browser-secret-4242" not in page.content()

        page.get_by_role("link", name="Datasets").click()
        page.get_by_label("Name", exact=True).fill("tickets")
        page.get_by_role("button", name="Create dataset").click()
        tickets = ("refund please", "where is my parcel", "cancel my plan", "upgrade me")
        page.get_by_label("CSV or JSON Lines").fill("ticket,expected\n" + "".join(f"{t},{t}\n" for t in tickets))
        page.get_by_role("button", name="Add these items").click()
        expect(page.get_by_role("status")).to_have_text("Added 4 items.")
        expect(page.locator("table.items tbody tr")).to_have_count(4)

        page.get_by_role("link", name="New prompt").first.click()
        page.get_by_label("Title").fill("Echo a ticket")
        page.get_by_label("Content").fill("{{ticket}}")
        page.get_by_label("Model").fill("echo")
        page.get_by_role("button", name="Save").click()
        page.get_by_role("link", name="Run on a dataset").click()
        page.get_by_label("Dataset", exact=True).select_option(label="tickets (4 items)")
        page.get_by_label("local:echo").check()
        page.get_by_label("local:upper").check()
        page.get_by_label("exact: the answer is the expected one").check()
        page.get_by_role("button", name="Start the run").click()
        # The page follows the run by itself, then shows the leaderboard once it is done.
        expect(page.locator(".run-progress .status")).to_have_text("done", timeout=15_000)
    expect(page.locator("table.leaderboard tbody th")).to_have_text(["local/echo", "local/upper"])
    expect(page.locator("table.leaderboard tbody tr").first).to_contain_text("10.00")
    expect(page.locator("table.results tbody tr")).to_have_count(4)
    page.get_by_label("a", exact=True).select_option("local/upper")
    page.get_by_label("b", exact=True).select_option("local/echo")
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("status").first).to_contain_text("Only the logs of")
    expect(page.locator(".verdict")).to_have_text(
        "local/echo scores higher than local/upper by 10.0 points on each of the 4 inputs both scored."
    )


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
    seeded = _seeded_account(server)
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
        "datasets": "/d",
        "dataset": f"/d/{seeded['dataset']}",
        "providers": "/account/providers",
        "run-form": f"{prompt}/run",
        "runs": "/r",
        "run": f"/r/{seeded['run']}",
        "compare-run": f"{prompt}/compare?by=modelUsed&a=local/echo&b=local/upper&runId={seeded['run']}",
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
    for name in ("library", "compare", "datasets", "dataset", "providers", "run-form", "runs", "run", "compare-run"):
        phone.goto(pages[name])
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} is {width} px wide on a phone"
        phone.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)


def _seeded_account(server: LiveServer) -> dict[str, str]:
    """An account holding the README's example (a prompt whose two versions ran on 30 tickets),
    and a dataset of tickets that prompt ran on with two models, one call failing; the ids of
    the dataset and the run."""
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
        headers = {"Authorization": f"Bearer {token}"}
        response = http.post("/import", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return {"dataset": (dataset := _seeded_dataset(http, headers)), "run": _seeded_run(http, headers, dataset)}


def _seeded_dataset(http: httpx.Client, headers: dict[str, str]) -> str:
    dataset = {"name": "support tickets", "description": "Real tickets, with the product area each is about."}
    dataset_id: str = http.post("/datasets", json=dataset, headers=headers).json()["_id"]
    areas = ("billing", "SHIPPING", "accounts", "billing", "API", "mobile app")
    items = [
        {
            "input": {
                "ticket": f"Ticket {1000 + number}: the customer writes about {area.lower()}; needs an answer soon."
            },
            "expected": area,
        }
        for number, area in enumerate(areas)
    ]
    response = http.post(f"/datasets/{dataset_id}/items", json={"items": items}, headers=headers)
    assert response.status_code == 201, response.text
    return dataset_id


def _seeded_run(http: httpx.Client, headers: dict[str, str], dataset_id: str) -> str:
    """The README's prompt run on the dataset with two models (one call refused), scored by
    whether each answer holds the expected product area."""
    with FakeOpenAI() as fake:
        fake.script("upper", Fault.status(400, message="This model is not available in your region."))
        provider = {
            "name": "local",
            "baseUrl": fake.base_url,
            "apiKey": "sk-seeded-never-shown-0042",
            "models": [{"name": "echo", "inputPer1M": 0.15, "outputPer1M": 0.6}, {"name": "upper"}],
        }
        assert http.post("/providers", json=provider, headers=headers).status_code == 201
        run = {
            "promptId": "support-summary",
            "datasetId": dataset_id,
            "models": [{"provider": "local", "model": "echo"}, {"provider": "local", "model": "upper"}],
            "scorers": [{"type": "contains"}, {"type": "exact"}],
        }
        response = http.post("/runs", json=run, headers=headers)
        assert response.status_code == 202, response.text
        run_id: str = response.json()["_id"]
        deadline = time.monotonic() + 20
        while http.get(f"/runs/{run_id}", headers=headers).json()["status"] != "done":
            assert time.monotonic() < deadline, "the seeded run did not finish"
            time.sleep(0.1)
    return run_id
