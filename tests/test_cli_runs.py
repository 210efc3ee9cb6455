"""`promptcrafter datasets`, `providers`, `run` and `runs` against a real `promptcrafter serve`
on each store, calling a real OpenAI-compatible server (tests/fake_openai.py)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from fake_openai import FakeOpenAI, Fault
from helpers import PASSWORD, LiveServer, start_server, stop_server
from promptcrafter import PromptCrafterClient
from promptcrafter.cli import app
from promptcrafter.cli.credentials import credentials_path

KEY = "sk-test-never-shown-abcd"
# Two models over these: echo answers the ticket (exact on the 1st and 3rd), upper shouts it (the 2nd).
TICKETS_CSV = "".join(
    f"{line}\n"
    for line in (
        "ticket,expected",
        "refund please,refund please",
        "where is my parcel,WHERE IS MY PARCEL",
        "cancel my plan,cancel my plan",
    )
)
# What a terminal draws with: colours, cursor moves, line clearing.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[LiveServer]:
    """One real server per store for the module; each test signs up its own account."""
    live = start_server(module_database_url)
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as answering:
        yield answering


@pytest.fixture(scope="module")
def slow() -> Iterator[FakeOpenAI]:
    """Half a second an answer: runs long enough to watch and to cancel."""
    with FakeOpenAI(delay=0.5) as answering:
        yield answering


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials go to the test's own directory; nothing comes from the caller's environment."""
    directory = tmp_path / "config"
    monkeypatch.setenv("PROMPTCRAFTER_CONFIG_DIR", str(directory))
    for name in ("PROMPTCRAFTER_URL", "PROMPTCRAFTER_PASSWORD", "PROMPTCRAFTER_API_KEY", "PROMPTCRAFTER_PROVIDER_KEY"):
        monkeypatch.delenv(name, raising=False)
    return directory


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=env)


def run_json(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Run a command with --json; it must succeed, and its output is the API's JSON."""
    result = run(*args, "--json", input=input, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def plain(text: str) -> str:
    """Output as one line of words, without the frame drawn around usage errors and its line breaks."""
    return " ".join(text.replace("│", " ").split())


def on_a_terminal(*args: str, interrupt_when: str | None = None) -> tuple[int, str]:
    """`promptcrafter` with stdin, stdout and stderr on a terminal; Ctrl-C (SIGINT) once the
    terminal shows `interrupt_when`. Returns the exit code and everything the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "promptcrafter", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        # A shell that starts tests in the background ignores SIGINT, and a child inherits that;
        # a person at a terminal has Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(terminal)
    shown, interrupted = b"", False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if select.select([controller], [], [], 0.1)[0]:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the process has exited and closed the terminal
                    break
                shown += chunk
            if interrupt_when and not interrupted and interrupt_when in ESCAPES.sub("", shown.decode(errors="replace")):
                process.send_signal(signal.SIGINT)
                interrupted = True
    finally:
        os.close(controller)
        if process.poll() is None:  # still running after 30 s: stuck
            process.kill()
    return process.wait(), ESCAPES.sub("", shown.decode(errors="replace"))


@pytest.fixture
def email(server: LiveServer) -> str:
    """An account signed up, and logged in, through the command line."""
    address = f"runs-{uuid.uuid4().hex[:12]}@example.com"
    result = run("signup", "--name", "Ada", "--email", address, "--password", PASSWORD, "--url", server.url)
    assert result.exit_code == 0, result.output
    return address


@pytest.fixture
def sdk(server: LiveServer, email: str) -> Iterator[PromptCrafterClient]:
    """The SDK as the account logged in through the command line."""
    token = json.loads(credentials_path().read_text())["token"]
    with PromptCrafterClient(server.url, token=token) as client:
        yield client


@pytest.fixture
def prompt_id(email: str) -> str:
    created = run_json("prompts", "add", "--title", "Ticket echo", "--model", "echo", "--content", "{{ticket}}")
    return str(created["_id"])


@pytest.fixture
def tickets(email: str, tmp_path: Path) -> str:
    """A dataset of three tickets, imported from CSV; its id."""
    file = tmp_path / "tickets.csv"
    file.write_text(TICKETS_CSV)
    return str(run_json("datasets", "import", "tickets", str(file))["_id"])


@pytest.fixture
def provider(email: str, fake: FakeOpenAI) -> dict[str, Any]:
    """The provider `local`, with a key and echo's price."""
    created = run_json(
        "providers", "add", "local", fake.base_url, "--model", "echo=1,2", env={"PROMPTCRAFTER_PROVIDER_KEY": KEY}
    )
    return dict(created)


def wait_until_finished(run_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, Any] = run_json("runs", "show", run_id)
        if found["status"] in ("done", "failed", "cancelled"):
            return found
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {found}")


# Datasets


def test_import_creates_a_dataset_from_csv_then_adds_a_jsonl_file_to_it(email: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "first.csv"
    csv_file.write_text(
        'ticket,tone,expected,metadata\n"line one\nline two",calm,billing,"{""source"": ""email""}"\nhello,,,\n'
    )
    created = run("datasets", "import", "support", str(csv_file), "--description", "Real tickets")
    assert created.exit_code == 0, created.output
    assert plain(created.stdout).startswith("Created dataset support (dataset_")
    assert plain(created.stdout).endswith("with 2 items.")
    jsonl_file = tmp_path / "more.jsonl"
    lines = [
        {"input": {"ticket": "refund", "tone": "angry"}, "expected": "billing", "metadata": {"id": 7}},
        {"ticket": "order 42", "tone": "calm", "expected": 42},
        {"ticket": 3.5, "tone": True},
    ]
    jsonl_file.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    added = run("datasets", "import", "support", str(jsonl_file))
    assert added.exit_code == 0, added.output
    assert "Added 3 items to your existing dataset support" in plain(added.stdout)
    assert "it now holds 5." in plain(added.stdout)

    [listed] = run_json("datasets", "list")
    assert (listed["name"], listed["description"], listed["itemCount"]) == ("support", "Real tickets", 5)
    shown = run_json("datasets", "show", "support", "--items", "5")
    assert [(item["input"], item["expected"], item["metadata"]) for item in shown["items"]] == [
        ({"ticket": "line one\nline two", "tone": "calm"}, "billing", {"source": "email"}),
        ({"ticket": "hello", "tone": ""}, None, None),  # an empty cell is no expected answer
        ({"ticket": "refund", "tone": "angry"}, "billing", {"id": 7}),
        ({"ticket": "order 42", "tone": "calm"}, "42", None),
        ({"ticket": "3.5", "tone": "true"}, None, None),  # scalars as their JSON text
    ]
    table = run("datasets", "show", listed["_id"], "--items", "2")
    assert "line one line two" in table.stdout and "The first 2 of 5" in plain(table.stdout)
    assert "support" in run("datasets", "list").stdout

    removed = run("datasets", "rm", "support")
    assert removed.exit_code == 0, removed.output
    assert plain(removed.stdout) == f"Deleted dataset support ({listed['_id']}) and its 5 items."
    assert run_json("datasets", "list") == []


def test_a_malformed_file_exits_1_naming_its_line_and_creates_nothing(email: str, tmp_path: Path) -> None:
    cases = {
        "broken.jsonl": ('{"ticket": "a"}\n{"ticket": "b"\n', "broken.jsonl: line 2: not JSON"),
        "nested.jsonl": ('{"ticket": "a"}\n\n{"ticket": {"deep": 1}}\n', "line 3: variable 'ticket' is an object"),
        "null.jsonl": ('{"ticket": null}\n', "line 1: variable 'ticket' is null"),
        "list.jsonl": ("[1, 2]\n", "line 1: not a JSON object"),
        "extra.jsonl": ('{"input": {"t": "x"}, "note": "y"}\n', "line 1: 'note' beside input"),
        "short.csv": ("ticket,expected\na,b\nc\n", "line 3: 1 fields; the header has 2"),
        "metadata.csv": ("ticket,metadata\na,[1]\n", "line 2: metadata is not a JSON object"),
        "twice.csv": ("ticket,ticket\na,b\n", "line 1: the header names 'ticket' twice"),
        "empty.csv": ("", "empty.csv: no items"),
        "header-only.csv": ("ticket,expected\n", "no items"),
        "blank.jsonl": ("\n\n", "no items"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        result = run("datasets", "import", "tickets", str(tmp_path / name))
        assert result.exit_code == 1, (name, result.output)
        assert message in result.stderr, (name, result.stderr)
    (tmp_path / "tickets.txt").write_text('{"ticket": "a"}\n')
    unknown = run("datasets", "import", "tickets", str(tmp_path / "tickets.txt"))
    assert unknown.exit_code == 2 and "give --format" in plain(unknown.stderr)
    assert run_json("datasets", "list") == []
    overridden = run_json("datasets", "import", "tickets", str(tmp_path / "tickets.txt"), "--format", "jsonl")
    assert overridden["itemCount"] == 1


def test_items_go_in_batches_of_1000_and_a_refused_one_is_named_by_its_line(email: str, tmp_path: Path) -> None:
    file = tmp_path / "many.jsonl"
    rows = [{"n": str(i)} for i in range(2500)]
    rows[1600] = {"n": "has a NUL \u0000 in it"}  # valid JSON the server refuses, in the second batch
    file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    refused = run("datasets", "import", "many", str(file))
    assert refused.exit_code == 1
    assert "line 1601, input.n:" in refused.stderr
    assert "1,000 items before the refused one were stored" in refused.stderr
    rows[1600] = {"n": "1600"}
    file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert run_json("datasets", "import", "fresh", str(file))["itemCount"] == 2500
    # A refused first batch leaves no empty dataset behind.
    file.write_text('{"n": "\\u0000"}\n')
    assert run("datasets", "import", "never", str(file)).exit_code == 1
    assert sorted(dataset["name"] for dataset in run_json("datasets", "list")) == ["fresh", "many"]


def test_import_shows_a_progress_bar_on_a_terminal(email: str, tmp_path: Path) -> None:
    file = tmp_path / "many.csv"
    file.write_text("n\n" + "".join(f"{i}\n" for i in range(1500)))
    exit_code, shown = on_a_terminal("datasets", "import", "many", str(file))
    assert exit_code == 0, shown
    assert "Uploading" in shown and "1500/1500" in shown
    assert "with 1,500 items." in shown


# Providers


def test_providers_take_the_key_from_the_environment_or_stdin_and_never_show_it(email: str, fake: FakeOpenAI) -> None:
    typed = run("providers", "add", "typed", fake.base_url, "--api-key", KEY)
    assert typed.exit_code == 2 and "shell's history" in plain(typed.stderr)
    assert KEY not in typed.output

    added = run(
        "providers",
        "add",
        "local",
        fake.base_url,
        "--model",
        "echo=0.15,0.6",
        "--model",
        "upper",
        env={"PROMPTCRAFTER_PROVIDER_KEY": KEY},
    )
    assert added.exit_code == 0, added.output
    assert "key …abcd" in added.stdout and KEY not in added.stdout
    piped = run(
        "providers",
        "add",
        "piped",
        fake.base_url,
        "--api-key-stdin",
        "--concurrency",
        "2",
        "--timeout",
        "5",
        input="sk-piped-key-9999\n",
    )
    assert piped.exit_code == 0 and "key …9999" in piped.stdout
    both = run(
        "providers",
        "add",
        "both",
        fake.base_url,
        "--api-key-stdin",
        input="x\n",
        env={"PROMPTCRAFTER_PROVIDER_KEY": KEY},
    )
    assert both.exit_code == 2 and "not both" in plain(both.stderr)
    bad_price = run("providers", "add", "priced", fake.base_url, "--model", "echo=cheap")
    assert bad_price.exit_code == 2 and "NAME=IN_PRICE,OUT_PRICE" in plain(bad_price.stderr)

    listed = run("providers", "list")
    assert listed.exit_code == 0, listed.output
    assert "local  key …abcd" in listed.stdout and "piped  key …9999" in listed.stdout
    assert "echo ($0.15/$0.6 per 1M in/out), upper" in plain(listed.stdout)
    assert "2 at once · 5 s a call" in listed.stdout
    assert KEY not in listed.stdout and "sk-piped" not in listed.stdout
    as_json = run("providers", "list", "--json").stdout
    assert KEY not in as_json and 'apiKey"' not in as_json

    removed = run("providers", "rm", "piped")
    assert removed.exit_code == 0 and removed.stdout.startswith("Deleted provider piped (provider_")
    assert [provider["name"] for provider in run_json("providers", "list")] == ["local"]
    unknown = run("providers", "rm", "nobody")
    assert unknown.exit_code == 1 and "No provider of yours is named 'nobody'" in unknown.stderr


# Runs


def test_run_with_two_models_prints_the_leaderboard_and_the_verdict(
    prompt_id: str, tickets: str, provider: dict[str, Any], sdk: PromptCrafterClient
) -> None:
    result = run(
        "run", prompt_id, "--dataset", "tickets", "--model", "local:echo", "--model", "local:upper", "--scorer", "exact"
    )
    assert result.exit_code == 0, result.output
    assert "3 items × 2 models = 6 calls." in result.stderr
    out = plain(result.stdout)
    assert out.startswith("Done: 6 of 6 calls answered, 0 failed, in ")
    assert "Leaderboard by modelUsed (mean)" in out
    assert "local/echo 1 1–2 3 6.67" in out and "local/upper 2 1–2 3 3.33" in out
    [finished] = run_json("runs", "list")
    verdict = sdk.compare(prompt_id, "local/echo", "local/upper", by="modelUsed", run_id=finished["_id"])["verdict"]
    assert plain(verdict) in out  # the sentence `promptcrafter compare` prints
    assert "b wins 1, ties 0, loses 2" in out

    as_json = run_json("run", prompt_id, "-d", tickets, "-m", "local:echo", "-m", "local:upper", "-s", "exact")
    assert as_json["status"] == "done" and as_json["progress"] == {"done": 6, "failed": 0, "total": 6}
    assert [entry["key"] for entry in as_json["leaderboard"]["entries"]] == ["local/echo", "local/upper"]

    # `compare --run-id` reads one run's logs; without it, both runs' (three logs a side each).
    sides = ("compare", prompt_id, "local/echo", "local/upper", "--by", "modelUsed")
    one_run = plain(run(*sides, "--run-id", as_json["_id"]).stdout)
    assert "a local/echo 3 3 6.67" in one_run and "b local/upper 3 3 3.33" in one_run
    assert "a local/echo 6 6 6.67" in plain(run(*sides).stdout)


def test_run_with_three_models_ranks_them_with_rank_intervals(
    prompt_id: str, tickets: str, provider: dict[str, Any]
) -> None:
    result = run(
        "run",
        prompt_id,
        "-d",
        tickets,
        "-m",
        "local:echo",
        "-m",
        "local:upper",
        "-m",
        "local:reverse",
        "--scorer",
        "exact",
        "--scorer",
        "contains",
    )
    assert result.exit_code == 0, result.output
    out = plain(result.stdout)
    assert "Ranking: 1. local/echo (rank 95% interval 1–" in out
    assert "3. local/reverse (rank 95% interval" in out
    assert "Compared by" not in out
    unknown = run("run", prompt_id, "-d", "nowhere", "-m", "local:echo")
    assert unknown.exit_code == 1 and "No dataset of yours is named 'nowhere'" in unknown.stderr


def test_failed_calls_are_counted_with_their_first_errors(
    prompt_id: str, tickets: str, provider: dict[str, Any], fake: FakeOpenAI
) -> None:
    fake.script("flaky", *[Fault.status(400, message="This model is retired.")] * 3)
    result = run("run", prompt_id, "-d", tickets, "-m", "local:echo", "-m", "local:flaky", "-s", "exact")
    assert result.exit_code == 0, result.output
    out = plain(result.stdout)
    assert out.startswith("Done: 3 of 6 calls answered, 3 failed")
    assert "3 calls failed; the first 3:" in out
    assert 'local/flaky on "refund please": The provider answered 400: This model is retired.' in out
    assert "Too few scores to compare local/echo and local/flaky yet" in out

    fake.script("flaky", *[Fault.status(400, message="This model is retired.")] * 3)
    all_failed = run("run", prompt_id, "-d", tickets, "-m", "local:flaky")
    assert all_failed.exit_code == 1
    assert plain(all_failed.stdout).startswith("Failed: 0 of 3 calls answered, 3 failed")


def test_run_detach_then_runs_show_results_and_list(prompt_id: str, tickets: str, provider: dict[str, Any]) -> None:
    detached = run(
        "run", prompt_id, "-d", "tickets", "-m", "local:echo", "-m", "local:upper", "-s", "exact", "--detach"
    )
    assert detached.exit_code == 0, detached.output
    run_id = detached.stdout.strip()
    assert run_id.startswith("run_") and f"runs show {run_id}" in detached.stderr
    assert wait_until_finished(run_id)["status"] == "done"

    shown = run("runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "Status    done" in shown.stdout and "6 of 6 calls made, 0 failed" in shown.stdout
    assert "Scorers   exact" in shown.stdout and "Leaderboard by modelUsed (mean)" in shown.stdout

    results = run("runs", "results", run_id)
    assert results.exit_code == 0, results.output
    header, *rows = [line for line in results.stdout.splitlines() if line.strip() and "──" not in line]
    assert header.split() == ["Input", "Expected", "local/echo", "local/upper"]
    assert rows[0].split() == "refund please refund please 10 refund please 0 REFUND PLEASE".split()
    assert len(run_json("runs", "results", run_id)) == 3

    narrow = run("runs", "results", run_id, env={"COLUMNS": "50"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 50
    assert "…" in narrow.stdout

    listed = run("runs", "list")
    assert f"{run_id}  done  6 of 6 calls made, 0 failed" in listed.stdout
    assert "local/echo, local/upper" in listed.stdout
    finished = run("runs", "cancel", run_id)
    assert finished.exit_code == 1 and "The run has already finished." in finished.stderr


def test_runs_cancel_stops_a_run_under_way(prompt_id: str, email: str, slow: FakeOpenAI, tmp_path: Path) -> None:
    run_json("providers", "add", "slow", slow.base_url, "--concurrency", "1")
    file = tmp_path / "twenty.csv"
    file.write_text("ticket\n" + "".join(f"ticket {i}\n" for i in range(20)))
    run_json("datasets", "import", "twenty", str(file))
    run_id = run("run", prompt_id, "-d", "twenty", "-m", "slow:echo", "--detach").stdout.strip()

    cancelled = run("runs", "cancel", run_id)
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.startswith(f"Cancelled run {run_id}: ") and "of 20 calls made" in cancelled.stdout
    found = wait_until_finished(run_id)
    assert found["status"] == "cancelled" and found["progress"]["done"] < 20
    assert run_json("runs", "cancel", run_id)["status"] == "cancelled"  # again: answered as it is


def test_run_shows_live_progress_on_a_terminal_and_ctrl_c_cancels_the_run(
    prompt_id: str, tickets: str, provider: dict[str, Any], slow: FakeOpenAI, server: LiveServer, tmp_path: Path
) -> None:
    exit_code, shown = on_a_terminal(
        "run", prompt_id, "-d", tickets, "-m", "local:echo", "-m", "local:upper", "-s", "exact"
    )
    assert exit_code == 0, shown
    assert "done" in shown and "6/6 calls · 0 failed ·" in shown
    assert "Leaderboard by modelUsed (mean)" in shown

    run_json("providers", "add", "slow", slow.base_url, "--concurrency", "1")
    file = tmp_path / "twenty.csv"
    file.write_text("ticket\n" + "".join(f"ticket {i}\n" for i in range(20)))
    run_json("datasets", "import", "twenty", str(file))
    exit_code, shown = on_a_terminal("run", prompt_id, "-d", "twenty", "-m", "slow:echo", interrupt_when="/20 calls")
    assert exit_code == 130, shown
    assert "Ctrl-C: cancelled run run_" in shown and "; no other call starts." in shown
    assert "Cancelled: " in shown and " of 20 calls answered" in shown
    latest = run_json("runs", "list")[-1]
    assert latest["status"] == "cancelled" and latest["progress"]["done"] < 20


def test_usage_errors_exit_2_before_any_call() -> None:
    # Nobody listens on port 9: a command that called the server would exit 1, not 2.
    base = ["run", "prompt_01M8MP1JDCGCSTH4M9ZJD3KYRA", "-d", "tickets", "--url", "http://127.0.0.1:9"]
    cases = {
        ("-m", "echo"): "give PROVIDER:MODEL",
        ("-m", "local:echo", "--version", "1", "--label", "production"): "give --version or --label, not both",
        ("-m", "local:echo", "--scorer", "exact:yes"): "only regex, numeric, json-schema and judge take options",
        ("-m", "local:echo", "--scorer", "numeric:close"): "the tolerance is not a number",
        ("-m", "local:echo", "--scorer", "judge:local:gpt"): "give judge:PROVIDER:MODEL:RUBRIC",
        ("-m", "local:echo", "--scorer", "{oops"): "is not JSON",
    }
    for extra, message in cases.items():
        result = run(*base, *extra)
        assert result.exit_code == 2, (extra, result.output)
        assert message in plain(result.stderr), (extra, result.stderr)


def test_scorers_in_compact_form_reach_the_server_as_their_options(
    prompt_id: str, tickets: str, provider: dict[str, Any], tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object"}')
    started = run_json(
        "run",
        prompt_id,
        "-d",
        tickets,
        "-m",
        "local:echo",
        "--detach",
        "-s",
        "regex:^re",
        "-s",
        "numeric:0.5",
        "-s",
        f"json-schema:@{schema}",
        "-s",
        "judge:local:judge:Is it polite? Answer: yes or no.",
        "-s",
        '{"type": "exact", "caseSensitive": true}',
    )
    assert started["scorers"] == [
        {"type": "regex", "pattern": "^re"},
        {"type": "numeric", "tolerance": 0.5},
        {"type": "json-schema", "schema": {"type": "object"}},
        {"type": "judge", "provider": "local", "model": "judge", "rubric": "Is it polite? Answer: yes or no."},
        {"type": "exact", "caseSensitive": True},
    ]
    wait_until_finished(started["_id"])
