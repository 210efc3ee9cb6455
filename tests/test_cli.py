"""The client commands against a real `promptcrafter serve`, through Typer's CliRunner."""

from __future__ import annotations

import json
import socket
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from helpers import PASSWORD, LiveServer, start_server, stop_server
from promptcrafter import PromptCrafterClient
from promptcrafter.cli import app
from promptcrafter.cli.credentials import config_dir, credentials_path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for the module: starting takes seconds; each test signs up its own users."""
    live = start_server(f"sqlite:///{tmp_path_factory.mktemp('cli') / 'live.db'}")
    yield live
    stop_server(live)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials go to the test's own directory; nothing comes from the caller's environment."""
    directory = tmp_path / "config"
    monkeypatch.setenv("PROMPTCRAFTER_CONFIG_DIR", str(directory))
    for name in ("PROMPTCRAFTER_URL", "PROMPTCRAFTER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return directory


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A URL nobody answers: the port is held, so no one else can take it, but never listened on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=env)


def run_json(*args: str, input: str | None = None) -> Any:
    """Run a command with --json; it must succeed, and its output is the API's JSON."""
    result = run(*args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def unique_email() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def email(server: LiveServer) -> str:
    """The email of an account signed up, and logged in, through the command line."""
    address = unique_email()
    result = run(
        "signup",
        "--name",
        "Ada Lovelace",
        "--email",
        address,
        "--password",
        PASSWORD,
        "--url",
        server.url,
    )
    assert result.exit_code == 0, result.output
    return address


@pytest.fixture
def prompt_id(email: str) -> str:
    created = run_json(
        "prompts",
        "add",
        "--title",
        "Subject lines",
        "--model",
        "gpt-4o",
        "--content",
        "Write five.",
    )
    return str(created["_id"])


def stored_token() -> str:
    return str(json.loads(credentials_path().read_text())["token"])


# Accounts and the credentials file


def test_signup_logs_in_and_stores_credentials_only_the_owner_can_read(
    server: LiveServer, config_home: Path
) -> None:
    result = run(
        "signup",
        "--name",
        "Ada",
        "--email",
        unique_email(),
        "--password",
        PASSWORD,
        "--url",
        server.url,
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(config_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((config_home / "credentials.json").stat().st_mode) == 0o600
    assert json.loads((config_home / "credentials.json").read_text())["url"] == server.url


def test_login_makes_an_existing_config_directory_private(
    server: LiveServer, email: str, config_home: Path
) -> None:
    config_home.chmod(0o755)
    (config_home / "credentials.json").chmod(0o644)
    result = run("login", "--email", email, "--password", PASSWORD, "--url", server.url)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(config_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((config_home / "credentials.json").stat().st_mode) == 0o600


def test_login_asks_for_the_password_without_echoing_it(server: LiveServer, email: str) -> None:
    result = run("login", "--email", email, "--url", server.url, input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.stdout
    assert PASSWORD not in result.output
    assert email in result.stdout


def test_login_takes_the_password_from_promptcrafter_password(
    server: LiveServer, email: str
) -> None:
    run("logout")
    result = run(
        "login", "--email", email, "--url", server.url, env={"PROMPTCRAFTER_PASSWORD": PASSWORD}
    )
    assert result.exit_code == 0, result.output
    assert run_json("whoami")["email"] == email


def test_login_json_prints_the_token_it_stores(server: LiveServer, email: str) -> None:
    answer = run_json("login", "--email", email, "--password", PASSWORD, "--url", server.url)
    assert answer == {"token": stored_token()}


def test_login_on_wrong_password_exits_1_with_the_servers_message(
    server: LiveServer, email: str
) -> None:
    result = run(
        "login", "--email", email, "--password", "wrong password, clearly", "--url", server.url
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "Incorrect email or password."


def test_signup_with_a_taken_email_exits_1_with_the_servers_message(
    server: LiveServer, email: str
) -> None:
    result = run(
        "signup", "--name", "Someone", "--email", email, "--password", PASSWORD, "--url", server.url
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "Email already in use."


def test_whoami_shows_the_logged_in_account(email: str) -> None:
    result = run("whoami")
    assert result.exit_code == 0, result.output
    assert email in result.stdout
    account = run_json("whoami")
    assert (account["email"], account["name"]) == (email, "Ada Lovelace")


def test_logout_forgets_the_server_and_the_token(server: LiveServer, email: str) -> None:
    assert run("logout").stdout.strip() == "Logged out."
    assert not credentials_path().exists()
    result = run("whoami", "--url", server.url)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Authentication token is missing."
    assert run("logout").stdout.strip() == "Not logged in."


def test_stored_token_is_sent_only_to_the_server_that_issued_it(
    email: str, live_server: LiveServer
) -> None:
    result = run("whoami", "--url", live_server.url)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Authentication token is missing."


def test_url_comes_from_promptcrafter_url_before_the_stored_one(
    server: LiveServer, email: str, closed_url: str
) -> None:
    result = run("whoami", env={"PROMPTCRAFTER_URL": closed_url})
    assert result.exit_code == 1
    assert closed_url in result.stderr


def test_config_directory_falls_back_to_xdg_config_home_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMPTCRAFTER_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "promptcrafter"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".config" / "promptcrafter"


# Prompts, search and logs


def test_prompt_and_log_commands_run_the_whole_flow(email: str, tmp_path: Path) -> None:
    prompt = run_json(
        "prompts",
        "add",
        "--title",
        "Photosynthesis",
        "--model",
        "claude",
        "--content",
        "Explain photosynthesis.",
        "--tag",
        "science",
        "--tag",
        "kids",
    )
    assert prompt["tags"] == ["science", "kids"]
    assert run_json("prompts", "list") == [prompt]
    assert run_json("prompts", "show", prompt["_id"]) == prompt

    edited = run_json(
        "prompts", "edit", prompt["_id"], "--title", "Photosynthesis for kids", "--no-tags"
    )
    assert (edited["title"], edited["tags"], edited["content"]) == (
        "Photosynthesis for kids",
        [],
        prompt["content"],
    )
    assert run_json("search", "photo", "KIDS") == [edited]
    assert run_json("search", "nothing-matches") == []

    output_file = tmp_path / "output.txt"
    output_file.write_text("Plants turn light into sugar.\n", encoding="utf-8")
    first = run_json(
        "logs",
        "add",
        "--prompt",
        prompt["_id"],
        "--model",
        "claude",
        "--output-file",
        str(output_file),
        "--score",
        "7",
        "--notes",
        "Clear.",
    )
    second = run_json(
        "logs", "add", "--prompt", prompt["_id"], "--model", "gpt-4o", input="Leaves eat sunshine."
    )
    assert (first["output"], first["score"], first["notes"]) == (
        "Plants turn light into sugar.\n",
        7,
        "Clear.",
    )
    assert (second["output"], second["score"], second["notes"]) == (
        "Leaves eat sunshine.",
        None,
        None,
    )
    assert run_json("logs", "list") == [first, second]
    assert run_json("logs", "list", "--prompt", prompt["_id"]) == [first, second]

    assert run("logs", "rm", first["_id"]).exit_code == 0
    assert run_json("logs", "list") == [second]
    result = run("prompts", "rm", prompt["_id"], "--json")
    assert (result.exit_code, result.stdout) == (0, "")
    assert run_json("prompts", "list") == []
    assert run_json("logs", "list") == []


def test_json_output_is_what_the_api_returned(server: LiveServer, prompt_id: str) -> None:
    run_json(
        "logs", "add", "--prompt", prompt_id, "--model", "gpt-4o", "--score", "9.5", input="Output."
    )
    with PromptCrafterClient(server.url, token=stored_token()) as client:
        assert run_json("prompts", "show", prompt_id) == client.get_prompt(prompt_id)
        assert run_json("logs", "list") == client.get_logs()
        assert run_json("whoami") == client.me()


def test_tables_show_prompts_and_logs_to_people(prompt_id: str) -> None:
    run_json(
        "logs", "add", "--prompt", prompt_id, "--model", "claude", "--score", "8", input="[b]ok[/b]"
    )
    prompts = run("prompts", "list")
    assert prompts.exit_code == 0
    assert prompt_id in prompts.stdout
    assert "Subject lines" in prompts.stdout
    shown = run("prompts", "show", prompt_id)
    assert "Write five." in shown.stdout
    logs = run("logs", "list", "--prompt", prompt_id)
    assert "[b]ok[/b]" in logs.stdout  # user text is printed as it is, never read as markup


def test_empty_lists_say_so(email: str) -> None:
    assert run("prompts", "list").stdout.strip() == "No prompts."
    assert run("logs", "list").stdout.strip() == "No logs."


def test_logs_add_reads_the_output_from_stdin_given_as_dash(prompt_id: str) -> None:
    long_output = "line\n" * 20_000
    log = run_json(
        "logs",
        "add",
        "--prompt",
        prompt_id,
        "--model",
        "claude",
        "--output-file",
        "-",
        input=long_output,
    )
    assert log["output"] == long_output


def test_prompts_add_reads_the_content_from_a_file(email: str, tmp_path: Path) -> None:
    content_file = tmp_path / "prompt.txt"
    content_file.write_text("Ünïcode content\n", encoding="utf-8")
    prompt = run_json(
        "prompts",
        "add",
        "--title",
        "From a file",
        "--model",
        "m",
        "--content-file",
        str(content_file),
    )
    assert prompt["content"] == "Ünïcode content\n"


# Failures and exit codes


def test_api_error_exits_1_with_the_servers_message_on_stderr(email: str) -> None:
    result = run("prompts", "show", "prompt_doesnotexist")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "No prompt found with the specified ID."


def test_validation_error_prints_the_field_details_under_the_message(prompt_id: str) -> None:
    result = run(
        "logs", "add", "--prompt", prompt_id, "--model", "claude", "--score", "11", input="Output."
    )
    assert result.exit_code == 1
    message, *details = result.stderr.strip().splitlines()
    assert message == "Required fields are missing or invalid."
    assert details and details[0].strip().startswith("score:")


def test_other_users_prompt_exits_1_as_forbidden(server: LiveServer, prompt_id: str) -> None:
    run(
        "signup",
        "--name",
        "Grace",
        "--email",
        unique_email(),
        "--password",
        PASSWORD,
        "--url",
        server.url,
    )
    result = run("prompts", "rm", prompt_id)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Prompt does not belong to the authenticated user."


def test_unreachable_server_exits_1_naming_the_url(closed_url: str) -> None:
    result = run("prompts", "list", "--url", closed_url)
    assert result.exit_code == 1
    assert closed_url in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["prompts", "add", "--title", "No model", "--content", "x"],
            id="missing-required-option",
        ),
        pytest.param(["prompts", "edit", "prompt_1"], id="edit-without-changes"),
        pytest.param(
            ["prompts", "edit", "prompt_1", "--content", "a", "--content-file", "-"],
            id="two-contents",
        ),
        pytest.param(
            ["prompts", "edit", "prompt_1", "--tag", "a", "--no-tags"], id="tags-and-no-tags"
        ),
        pytest.param(
            ["logs", "add", "--prompt", "p", "--model", "m", "--score", "nan"],
            id="score-not-finite",
        ),
        pytest.param(
            ["logs", "add", "--prompt", "p", "--model", "m", "--score", "high"],
            id="score-not-a-number",
        ),
        pytest.param(
            ["logs", "add", "--prompt", "p", "--model", "m", "-o", "/no/such/file"],
            id="missing-file",
        ),
        pytest.param(
            ["logs", "add", "--prompt", "p", "--model", "m", "-o", "/"], id="directory-as-file"
        ),
        pytest.param(["prompts", "list", "--colour"], id="unknown-option"),
        pytest.param(["prompts", "frobnicate"], id="unknown-command"),
    ],
)
def test_usage_errors_exit_2_without_calling_the_server(args: list[str], closed_url: str) -> None:
    result = run(*args, "--url", closed_url, input="")
    assert result.exit_code == 2, result.output


def test_malformed_url_exits_2() -> None:
    result = run("prompts", "list", "--url", "http://256.1.1.1")
    assert result.exit_code == 2
    assert "256.1.1.1" in result.stderr
