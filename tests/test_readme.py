"""The README's shell examples run as written, twice in a row, against a real server.

The README addresses the server as `localhost:8000` and `127.0.0.1:8000`; the test's server
listens on a free port of 127.0.0.1, so `address` replaces both in the text before it runs.
Nothing else in the examples is changed.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_openai import FakeOpenAI
from helpers import LiveServer, start_server, stop_server

README = Path(__file__).resolve().parent.parent / "README.md"
TICKETS = README.parent / "examples" / "tickets.csv"
README_ADDRESSES = ("localhost:8000", "127.0.0.1:8000")
# The README's account.
PASSWORD = "a long passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(f"sqlite:///{tmp_path_factory.mktemp('readme') / 'readme.db'}")
    yield live
    stop_server(live)


def shell_example(heading: str) -> str:
    """The first ```bash block after the README's `## heading`."""
    section = README.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1]
    found = re.search(r"^```bash\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert found, f"no bash block under {heading!r}"
    return found.group(1)


def for_server(example: str, server: LiveServer) -> str:
    address = server.url.removeprefix("http://")
    for readme_address in README_ADDRESSES:
        example = example.replace(readme_address, address)
    return example


def run_bash(script: str, tmp_path: Path) -> str:
    """The script's output; it must succeed, every step of it (`set -e`, `pipefail`)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PROMPTCRAFTER_")}
    environment.update(
        # The commands installed beside this Python, as after `source .venv/bin/activate`.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PROMPTCRAFTER_CONFIG_DIR=str(tmp_path / "config"),
        # Stands in for the password that `login` asks for on a terminal.
        PROMPTCRAFTER_PASSWORD=PASSWORD,
    )
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_curl_session_runs_twice_in_a_row(server: LiveServer, tmp_path: Path) -> None:
    example = for_server(shell_example("A first session with curl"), server)
    for _ in range(2):
        answers: list[Any] = [json.loads(line) for line in run_bash(example, tmp_path).splitlines()]
        log, logs, found = answers
        assert (log["output"], log["modelUsed"], log["score"]) == ("Bonjour le monde", "GPT-4o", 8)
        assert logs == [log]
        assert log["promptId"] in [prompt["_id"] for prompt in found]
        assert {prompt["title"] for prompt in found} == {"Translate to French"}


def test_command_line_example_runs_after_the_curl_session(server: LiveServer, tmp_path: Path) -> None:
    run_bash(for_server(shell_example("A first session with curl"), server), tmp_path)
    example = for_server(shell_example("Command line"), server)
    for _ in range(2):
        output = run_bash(example, tmp_path)
        assert output.startswith(f"Logged in to {server.url} as ada@example.com.\n")
        # Tables for people around the one JSON line: `logs list --json`.
        prompts_table, logs_json, search_table = re.split(r"^(\[.*\])$", output, flags=re.MULTILINE)
        [log] = json.loads(logs_json)
        assert (log["output"], log["modelUsed"], log["score"]) == ("Bonjour le monde\n", "GPT-4o", 8)
        assert log["promptId"] in prompts_table
        assert log["promptId"] in search_table


def test_versions_example_runs_after_the_curl_session_twice(server: LiveServer, tmp_path: Path) -> None:
    session = shell_example("A first session with curl") + shell_example("Versions, labels and variables")
    for _ in range(2):
        answers = [json.loads(line) for line in run_bash(for_server(session, server), tmp_path).splitlines()]
        label, production, rendered, versions, diff = answers[3:]
        assert (label["label"], label["version"]) == ("production", 1)
        assert (production["version"], production["content"]) == (1, "Translate the text below into French.")
        assert rendered == {"text": "Translate the text below into German.", "version": 2}
        assert [version["version"] for version in versions] == [2, 1]
        assert versions[1]["labels"] == ["production"]
        assert list(diff["changes"]) == ["content"]


def test_command_line_example_works_with_versions(server: LiveServer, tmp_path: Path) -> None:
    run_bash(for_server(shell_example("A first session with curl"), server), tmp_path)
    output = run_bash(for_server(shell_example("Command line"), server), tmp_path)
    assert "Label production now names version 2.\nTranslate the text below into German.\n" in output
    assert "-Translate the text below into French.\n+Translate the text below into {{language}}.\n" in output


def test_export_and_import_example_runs_twice_after_the_command_line(server: LiveServer, tmp_path: Path) -> None:
    # The module's server is shared, so the README's account holds what earlier tests stored too.
    run_bash(for_server(shell_example("A first session with curl"), server), tmp_path)
    run_bash(for_server(shell_example("Command line"), server), tmp_path)
    for _ in range(2):
        output = run_bash(for_server(shell_example("Export and import"), server), tmp_path)
        lines = [json.loads(line) for line in (tmp_path / "library.jsonl").read_text().splitlines()]
        prompts = [line for line in lines if "content" in line]
        logs = len(lines) - len(prompts)
        assert output == f"Prompts: 0 added, {len(prompts)} already there.\nLogs: 0 added, {logs} already there.\n"
        assert "Translate the text below into {{language}}." in [prompt["content"] for prompt in prompts]
        assert "Bonjour le monde\n" in [line.get("output") for line in lines]
    assert (tmp_path / "logs.csv").read_text().startswith("_id,promptId,promptVersion,")


def test_statistics_example_prints_the_verdict_shown(server: LiveServer, tmp_path: Path) -> None:
    run_bash(for_server(shell_example("A first session with curl"), server), tmp_path)
    run_bash(for_server(shell_example("Command line"), server), tmp_path)
    example = for_server(shell_example("Is version 2 better? Statistics you can act on"), server)
    example = example.replace("examples/", f"{README.parent}/examples/")
    shown = README.read_text(encoding="utf-8").split("(after a table")[0].rsplit("```\n", 2)[-2]
    for _ in range(2):
        output = run_bash(example, tmp_path)
        assert " ".join(shown.split()) in " ".join(output.split())


def answer_as_team(messages: list[dict[str, Any]], wrong_every: int) -> str:
    """A model that names the right team for a ticket, except for every `wrong_every`-th ticket."""
    ticket = str(messages[-1]["content"]).rsplit("\n", 1)[-1]
    with TICKETS.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    index, team = next((index, row["expected"]) for index, row in enumerate(rows) if row["ticket"] == ticket)
    return "Shipping." if index % wrong_every == 0 and team != "shipping" else team.capitalize() + "."


def test_runs_example_runs_a_prompt_on_two_models_and_prints_the_verdict(server: LiveServer, tmp_path: Path) -> None:
    run_bash(for_server(shell_example("A first session with curl"), server), tmp_path)
    run_bash(for_server(shell_example("Command line"), server), tmp_path)
    example = for_server(shell_example("Run a prompt over a dataset"), server)
    with FakeOpenAI() as ollama:
        ollama.answers["llama3.1:8b"] = lambda messages: answer_as_team(messages, wrong_every=10)
        ollama.answers["qwen2.5:7b"] = lambda messages: answer_as_team(messages, wrong_every=2)
        example = example.replace("examples/", f"{README.parent}/examples/")
        output = run_bash(example.replace("http://localhost:11434/v1", ollama.base_url), tmp_path)
        assert ollama.calls() == 40
    said = " ".join(output.split())
    assert "40 of 40 calls answered, 0 failed" in said
    assert "local/llama3.1:8b scores higher than local/qwen2.5:7b" in said, output
