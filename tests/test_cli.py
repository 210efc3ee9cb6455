"""The client commands against a real `promptcrafter serve`, through Typer's CliRunner."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from helpers import PASSWORD, LiveServer, start_server, stop_server
from promptcrafter import PromptCrafterClient
from promptcrafter.cli import app
from promptcrafter.cli.credentials import Credentials, config_dir, credentials_path, save


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
    for name in ("PROMPTCRAFTER_URL", "PROMPTCRAFTER_PASSWORD", "PROMPTCRAFTER_API_KEY"):
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


def plain(text: str) -> str:
    """Output as one line of words, without the frame drawn around usage errors and its line breaks."""
    return " ".join(text.replace("│", " ").split())


def how_to_log_in(url: str) -> str:
    return f"Run `promptcrafter login --url {url}`, or `promptcrafter signup --url {url}` for a new account."


def run_on_a_terminal(*args: str, question: str, answer: str) -> tuple[int, str]:
    """`promptcrafter` in a process whose stdin, stdout and stderr are a terminal; `answer` is typed
    once `question` shows. Returns the exit code and everything the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "promptcrafter", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    shown = b""
    answered = False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if select.select([controller], [], [], 0.1)[0]:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the process has exited and closed the terminal
                    break
                shown += chunk
            if not answered and question.encode() in shown:
                os.write(controller, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(controller)
        if process.poll() is None:  # still waiting after 30 s: stuck
            process.kill()
    return process.wait(), shown.decode()


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


def test_login_asks_for_the_password_on_a_terminal_without_echoing_it(server: LiveServer, email: str) -> None:
    # The space after the colon is written once echo is off; typed before, the answer would show, then be discarded.
    exit_code, shown = run_on_a_terminal(
        "login", "--email", email, "--url", server.url, question="Password: ", answer=PASSWORD
    )
    assert exit_code == 0, shown
    assert "Password" in shown
    assert PASSWORD not in shown
    assert f"Logged in to {server.url} as {email}." in shown


def test_login_reads_the_password_from_the_first_line_of_stdin(server: LiveServer, email: str) -> None:
    run("logout")
    result = run(
        "login", "--email", email, "--password-stdin", "--url", server.url, input=f"{PASSWORD}\nnot read\n"
    )
    assert result.exit_code == 0, result.output
    assert run_json("whoami")["email"] == email


def test_signup_reads_the_password_from_stdin(server: LiveServer) -> None:
    address = unique_email()
    result = run(
        "signup", "--name", "Ada", "--email", address, "--password-stdin", "--url", server.url, input=PASSWORD
    )
    assert result.exit_code == 0, result.output
    assert run_json("whoami")["email"] == address


@pytest.mark.parametrize("command", [["login"], ["signup", "--name", "Ada"]], ids=["login", "signup"])
def test_without_a_terminal_a_missing_password_is_a_usage_error_suggesting_password_stdin(
    server: LiveServer, command: list[str]
) -> None:
    result = run(*command, "--email", unique_email(), "--url", server.url, input=f"{PASSWORD}\n")
    assert result.exit_code == 2, result.output
    assert "--password-stdin" in plain(result.stderr)
    assert "Warning" not in result.output


def test_without_a_terminal_a_missing_email_is_a_usage_error(server: LiveServer) -> None:
    result = run("login", "--password-stdin", "--url", server.url, input=f"{PASSWORD}\n")
    assert result.exit_code == 2, result.output
    assert "--email" in plain(result.stderr)


def test_password_and_password_stdin_together_are_a_usage_error(server: LiveServer, email: str) -> None:
    result = run(
        "login", "--email", email, "--password", PASSWORD, "--password-stdin", "--url", server.url, input=PASSWORD
    )
    assert result.exit_code == 2, result.output
    assert "not both" in plain(result.stderr)


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
    assert result.stderr.splitlines() == [
        f"Not logged in to {server.url}.",
        how_to_log_in(server.url),
    ]
    assert run("logout").stdout.strip() == "Not logged in."


def test_stored_token_is_sent_only_to_the_server_that_issued_it(
    server: LiveServer, email: str, live_server: LiveServer
) -> None:
    result = run("whoami", "--url", live_server.url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Not logged in to {live_server.url} (you are logged in to {server.url}).",
        how_to_log_in(live_server.url),
    ]


def test_a_refused_token_exits_1_saying_how_to_log_in_again(server: LiveServer) -> None:
    save(Credentials(url=server.url, token="expired-or-forged"))
    result = run("whoami")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Authentication token is expired or invalid.",
        how_to_log_in(server.url),
    ]


def test_a_login_holds_for_every_spelling_of_the_servers_url(server: LiveServer, email: str) -> None:
    port = server.url.rsplit(":", 1)[1]
    run("login", "--email", email, "--password", PASSWORD, "--url", f"HTTP://LocalHost:{port}/")
    assert json.loads(credentials_path().read_text())["url"] == f"http://localhost:{port}"
    for spelling in (f"http://127.0.0.1:{port}", f"http://localhost:{port}/", f"http://LOCALHOST:{port}"):
        result = run("whoami", "--url", spelling, "--json")
        assert result.exit_code == 0, (spelling, result.output)
        assert json.loads(result.stdout)["email"] == email


@pytest.mark.parametrize(
    ("stored", "chosen", "applies"),
    [
        ("http://127.0.0.1:8000", "http://localhost:8000", True),
        ("http://localhost:8000", "http://[::1]:8000/", True),
        ("http://example.com:80/", "HTTP://EXAMPLE.COM", True),
        ("https://example.com", "https://example.com:443/", True),
        ("https://example.com/promptcrafter", "https://example.com/promptcrafter/", True),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8001", False),
        ("http://127.0.0.1:8000", "https://127.0.0.1:8000", False),
        ("http://127.0.0.1:8000", "http://192.168.1.2:8000", False),
        ("https://example.com", "https://example.com/other", False),
        ("not a url", "http://127.0.0.1:8000", False),
    ],
)
def test_stored_credentials_apply_to_the_same_server_however_its_url_is_written(
    stored: str, chosen: str, applies: bool
) -> None:
    assert Credentials(url=stored, token="t").applies_to(chosen) is applies


def test_url_comes_from_promptcrafter_url_before_the_stored_one(
    server: LiveServer, email: str, closed_url: str
) -> None:
    result = run("whoami", env={"PROMPTCRAFTER_URL": closed_url})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Cannot reach the PromptCrafter server at {closed_url}")


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


def test_json_output_ends_with_a_newline(server: LiveServer, email: str, prompt_id: str) -> None:
    for command in (
        ["prompts", "list"],
        ["prompts", "show", prompt_id],
        ["search", "subject"],
        ["logs", "list"],
        ["whoami"],
        ["login", "--email", email, "--password", PASSWORD, "--url", server.url],
    ):
        result = run(*command, "--json")
        assert result.exit_code == 0, result.output
        assert result.stdout.endswith("}\n") or result.stdout.endswith("]\n"), (command, result.stdout)


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


@pytest.mark.parametrize("url", ["localhost:8000", "http://", "ftp://example.com"])
def test_a_url_that_names_no_http_server_is_a_usage_error_showing_a_valid_one(url: str) -> None:
    for command in (["prompts", "list"], ["login", "--email", "ada@example.com", "--password", PASSWORD]):
        result = run(*command, "--url", url)
        assert result.exit_code == 2, result.output
        message = plain(result.stderr)
        assert "--url" in message
        assert "like http://127.0.0.1:8000" in message


# The command itself and `serve`


def test_promptcrafter_alone_lists_the_commands_after_how_to_start_a_server() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    opening = plain("\n".join(result.stdout.strip().splitlines()[:6]))
    assert "Start a server with `promptcrafter serve`" in opening
    for command in ("serve", "migrate", "signup", "login", "whoami", "search", "prompts", "logs"):
        assert f"│ {command} " in result.stdout


def test_serve_on_a_busy_port_exits_1_before_creating_the_database(server: LiveServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port = server.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "promptcrafter", "serve", "--port", port, "--db", f"sqlite:///{data / 'new.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Port {port} on 127.0.0.1 is in use; choose another with --port.\n"
    assert list(data.iterdir()) == []


def test_serve_gives_every_worker_the_database_named_by_db(tmp_path: Path) -> None:
    chosen, ignored = tmp_path / "chosen.db", tmp_path / "ignored.db"
    live = start_server(
        f"sqlite:///{chosen}", workers=2, env={"PROMPTCRAFTER_DATABASE_URL": f"sqlite:///{ignored}"}
    )
    try:
        # A new connection each time, so that both workers get some.
        for _ in range(20):
            assert httpx.get(f"{live.url}/health").status_code == 200
    finally:
        stop_server(live)
    assert chosen.exists()
    assert not ignored.exists()


def test_a_bad_setting_in_the_environment_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["migrate", "--db", f"sqlite:///{tmp_path / 'x.db'}"], env={"PROMPTCRAFTER_SECRET_KEY": "short"}
    )
    assert result.exit_code == 2
    assert "PROMPTCRAFTER_SECRET_KEY: must be at least 32 characters long" in " ".join(result.output.split())
    assert not (tmp_path / "x.db").exists()


def test_prompt_versions_diff_label_render_and_restore(email: str) -> None:
    prompt = run_json("prompts", "add", "--title", "Greeting", "--model", "gpt-4o", "--content", "Hello {{name}}.")
    run_json("prompts", "edit", prompt["_id"], "--content", "Hi {{name}}, from {{team}}.")
    versions = run("prompts", "versions", prompt["_id"])
    assert versions.exit_code == 0, versions.output
    assert "Hello {{name}}." in versions.stdout and "Hi {{name}}, from" in versions.stdout
    assert [v["version"] for v in run_json("prompts", "versions", prompt["_id"])] == [2, 1]

    diff = run("prompts", "diff", prompt["_id"], "1", "2")
    assert diff.exit_code == 0, diff.output
    assert "-Hello {{name}}." in diff.stdout and "+Hi {{name}}, from {{team}}." in diff.stdout

    label = run("prompts", "label", prompt["_id"], "production", "1")
    assert label.stdout.strip() == "Label production now names version 1."
    shown = run_json("prompts", "show", prompt["_id"], "--label", "production")
    assert (shown["version"], shown["content"]) == (1, "Hello {{name}}.")

    rendered = run("prompts", "render", prompt["_id"], "--var", "name=Ada", "--var", "team=a=b")
    assert rendered.stdout == "Hi Ada, from a=b.\n"
    missing = run("prompts", "render", prompt["_id"], "--var", "name=Ada")
    assert missing.exit_code == 1
    assert "variables.team" in missing.stderr
    assert run("prompts", "render", prompt["_id"], "--var", "oops").exit_code == 2

    assert run_json("prompts", "restore", prompt["_id"], "1")["version"] == 3
    removed = run("prompts", "label", prompt["_id"], "production", "--remove")
    assert removed.stdout.strip() == "Removed label production."
    assert run("prompts", "label", prompt["_id"], "production").exit_code == 2


def test_logs_add_records_version_input_and_usage(prompt_id: str) -> None:
    log = run_json(
        "logs", "add", "--prompt", prompt_id, "--model", "gpt-4o", "--version", "1",
        "--input", "topic=tea", "--input", "tone=warm", "--latency-ms", "812.5",
        "--input-tokens", "12", "--output-tokens", "30", "--cost-usd", "0.0004",
        input="Five subject lines about tea.",
    )
    assert log["promptVersion"] == 1
    assert log["input"] == {"topic": "tea", "tone": "warm"}
    assert (log["latencyMs"], log["inputTokens"], log["outputTokens"], log["costUsd"]) == (812.5, 12, 30, 0.0004)


def test_logs_list_filters_sorts_and_pages(prompt_id: str) -> None:
    for score, model in [(3, "a"), (9, "b"), (6, "a")]:
        run_json("logs", "add", "--prompt", prompt_id, "--model", model, "--score", str(score), input="out")
    assert [log["score"] for log in run_json("logs", "list", "--sort", "-score")] == [9, 6, 3]
    assert [log["score"] for log in run_json("logs", "list", "--model", "a", "--min-score", "4")] == [6]
    first = run("logs", "list", "--sort", "score", "--limit", "2", "--json")
    assert [log["score"] for log in json.loads(first.stdout)] == [3, 6]
    cursor = first.stderr.strip().removeprefix("More follow: add --cursor ")
    last = run_json("logs", "list", "--sort", "score", "--limit", "2", "--cursor", cursor)
    assert [log["score"] for log in last] == [9]
    assert run("logs", "list", "--limit", "0").exit_code == 2


def test_search_logs_finds_outputs(prompt_id: str) -> None:
    log = run_json("logs", "add", "--prompt", prompt_id, "--model", "m", input="Ein Straßenname")
    assert run_json("search", "STRASSE", "--logs") == [log]
    assert log["_id"] in run("search", "strasse", "--logs").stdout


SAMPLE_DATA = Path(__file__).parent / "data" / "promptcrafter-db-source.json"


def test_import_reads_the_sample_data_and_a_second_import_adds_nothing(email: str) -> None:
    first = run("import", str(SAMPLE_DATA))
    assert first.exit_code == 0, first.output
    assert first.stdout == "Prompts: 3 added, 0 already there.\nLogs: 3 added, 0 already there.\n"
    again = run_json("import", str(SAMPLE_DATA))
    assert again == {"prompts": {"created": 0, "existing": 3}, "logs": {"created": 0, "existing": 3}}
    titles = [prompt["title"] for prompt in json.loads(SAMPLE_DATA.read_text())["prompts"]]
    assert [prompt["title"] for prompt in run_json("prompts", "list")] == titles


def test_export_writes_what_import_reads_into_another_account(
    prompt_id: str, server: LiveServer, tmp_path: Path
) -> None:
    run("prompts", "edit", prompt_id, "--content", "Write subject lines about {{topic}}.")
    assert run("prompts", "label", prompt_id, "production", "1").exit_code == 0
    logged = run("logs", "add", "--prompt", prompt_id, "--model", "gpt-4o", "--version", "1", input="Big news")
    assert logged.exit_code == 0, logged.output
    library = tmp_path / "library.jsonl"
    exported = run("export", "-o", str(library))
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in library.read_text().splitlines()]
    assert [("content" in line, "output" in line) for line in lines] == [(True, False), (False, True)]
    assert not (tmp_path / "library.jsonl.partial").exists()
    assert run("export").stdout == library.read_text()

    run("signup", "--name", "Grace", "--email", unique_email(), "--password", PASSWORD, "--url", server.url)
    assert run_json("import", str(library))["prompts"] == {"created": 1, "existing": 0}
    [moved] = run_json("prompts", "list")
    assert moved["_id"] != prompt_id and moved["content"] == "Write subject lines about {{topic}}."
    versions = run_json("prompts", "versions", moved["_id"])
    assert [(version["version"], version["labels"]) for version in versions] == [(2, []), (1, ["production"])]
    [log] = run_json("logs", "list")
    assert (log["promptId"], log["promptVersion"], log["output"]) == (moved["_id"], 1, "Big news")
    csv_file = tmp_path / "logs.csv"
    assert run("export", "--format", "csv", "-o", str(csv_file)).exit_code == 0
    assert csv_file.read_text().startswith("_id,promptId,promptVersion,modelUsed,output,")
    assert len(csv_file.read_text().splitlines()) == 2


def test_import_shows_its_progress_on_a_terminal(email: str, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    prompt = {"_id": "many", "title": "Many logs", "content": "Say {{x}}.", "model": "m"}
    logs = [{"_id": f"many-{i}", "promptId": "many", "output": f"o{i}", "modelUsed": "m"} for i in range(1200)]
    big.write_text("".join(json.dumps(item) + "\n" for item in [prompt, *logs]))
    exit_code, shown = run_on_a_terminal("import", str(big), question="\0", answer="")
    assert exit_code == 0, shown
    assert "Importing" in shown and "1201/1201" in shown
    assert "Logs: 1,200 added, 0 already there." in shown


def test_an_import_refusal_names_the_line_and_keeps_what_came_before(email: str, tmp_path: Path) -> None:
    file = tmp_path / "broken.jsonl"
    items = [*json.loads(SAMPLE_DATA.read_text())["prompts"], {"promptId": "ghost", "output": "o", "modelUsed": "m"}]
    file.write_text("".join(json.dumps(item) + "\n" for item in items))
    result = run("import", str(file))
    assert result.exit_code == 1
    assert result.stderr == (
        "Required fields are missing or invalid.\n"
        "  line 4, logs.0.promptId: The log's prompt is neither in this import nor one of yours.\n"
    )
    assert len(run_json("prompts", "list")) == 3


def test_import_refuses_a_file_that_is_neither_an_export_nor_sample_data(email: str, tmp_path: Path) -> None:
    cases = {
        "users.json": ('{\n  "users": []\n}', 'holds no "prompts" or "logs" list'),
        "other.jsonl": ('{"name": "x"}\n', "line 1 is neither a prompt (no content) nor a log (no output)"),
        "broken.jsonl": ('{"content": "x"}\n{oops\n', "line 2 is not JSON"),
        "missing.json": (None, "Cannot read"),
    }
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        result = run("import", str(tmp_path / name))
        assert result.exit_code == 2, result.output
        assert message in plain(result.stderr)


def test_stats_compare_and_leaderboard_print_tables_json_and_csv(prompt_id: str, tmp_path: Path) -> None:
    run("prompts", "edit", prompt_id, "--content", "Write subject lines about {{topic}}.")
    scored = tmp_path / "scored.jsonl"
    logs = [
        {"promptId": prompt_id, "promptVersion": version, "output": "o", "modelUsed": model,
         "score": 5 + version + (i % 3) * 0.5, "input": {"topic": str(i)}}
        for i in range(12)
        for version in (1, 2)
        for model in ("small", "large")
    ]
    scored.write_text("".join(json.dumps(log) + "\n" for log in logs))
    assert run("import", str(scored)).exit_code == 0

    table = run("stats", prompt_id)
    assert table.exit_code == 0, table.output
    assert "Scores by promptVersion" in table.stdout and "95% CI" in table.stdout
    assert [group["key"] for group in run_json("stats", prompt_id, "--by", "modelUsed")["groups"]] == ["large", "small"]
    rows = run("stats", prompt_id, "--format", "csv").stdout.splitlines()
    assert rows[0].startswith("key,n,scored,mean,sd,median,min,max,ci95.low,ci95.high,histogram,")
    assert [row.split(",")[:3] for row in rows[1:]] == [["1", "24", "24"], ["2", "24", "24"]]

    compared = run("compare", prompt_id, "1", "2")
    assert compared.exit_code == 0, compared.output
    assert "b wins 12, ties 0, loses 0" in plain(compared.stdout)
    assert "version 2 scores higher than version 1 by 1.0 points" in plain(compared.stdout)
    answer = run_json("compare", prompt_id, "small", "large", "--by", "modelUsed")
    assert answer["paired"]["n"] == 12 and answer["difference"]["mean"] == 0
    across = run_json("compare", "small", "large")  # no prompt: all of them (here one), by model
    assert across["by"] == "modelUsed" and across["paired"] == answer["paired"]
    too_few = run("compare", prompt_id)
    assert too_few.exit_code == 2 and "Give a prompt and two sides" in plain(too_few.stderr)

    board = run("leaderboard", "--prompt", prompt_id, "--by", "promptVersion", "--method", "bradley-terry")
    assert board.exit_code == 0, board.output
    assert "Leaderboard by promptVersion (bradley-terry)" in board.stdout
    assert [entry["key"] for entry in run_json("leaderboard", "--prompt", prompt_id)["entries"]] in (
        ["large", "small"],
        ["small", "large"],
    )
    assert run("leaderboard", "--format", "csv").stdout.startswith("key,n,mean,ci95.low,ci95.high,rating,")


def test_a_failed_export_leaves_no_file_behind(email: str, closed_url: str, tmp_path: Path) -> None:
    target = tmp_path / "library.jsonl"
    result = run("export", "-o", str(target), "--url", closed_url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Cannot reach the PromptCrafter server at {closed_url}")
    assert list(tmp_path.iterdir()) == [tmp_path / "config"]
    unwritable = run("export", "-o", str(tmp_path / "missing" / "library.jsonl"))
    assert unwritable.exit_code == 2 and "cannot write" in plain(unwritable.stderr)


def test_api_keys_are_made_listed_used_and_revoked(prompt_id: str, server: LiveServer) -> None:
    made = run("keys", "create", "nightly evaluation", "--scope", "logs:write", "--scope", "prompts:read")
    assert made.exit_code == 0, made.output
    key = made.stdout.splitlines()[0]
    assert key.startswith("pc_live_") and "not shown again" in plain(made.stdout)
    listed = run("keys", "list")
    assert "nightly evaluation" in listed.stdout and key not in listed.stdout and key[:12] in listed.stdout
    [stored] = run_json("keys", "list")
    assert run("logout").exit_code == 0
    # A program with only the key: PROMPTCRAFTER_API_KEY, no login.
    environment = {"PROMPTCRAFTER_API_KEY": key, "PROMPTCRAFTER_URL": server.url}
    shown = run("prompts", "show", prompt_id, "--json", env=environment)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["_id"] == prompt_id
    refused = run("prompts", "rm", prompt_id, env=environment)
    assert refused.exit_code == 1 and "This API key does not allow this action." in refused.stderr
    assert run("keys", "rm", stored["_id"], env=environment).exit_code == 1  # a key cannot revoke keys
