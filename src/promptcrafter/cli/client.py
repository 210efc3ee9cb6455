"""Client commands: accounts, prompts, search and logs on a PromptCrafter server, through the SDK.

Exit codes: 0 success, 1 an API or connection error (its message on stderr), 2 a usage error.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from promptcrafter.cli import credentials
from promptcrafter.client import DEFAULT_URL, URL_ENV, PromptCrafterClient
from promptcrafter.client_exceptions import AuthenticationError, PromptCrafterAPIError
from promptcrafter.client_files import ImportFileError

PASSWORD_ENV = "PROMPTCRAFTER_PASSWORD"
PREVIEW_CHARS = 60

Json = dict[str, Any]


def _checked_url(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        return credentials.server_url(url)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_ENV,
        show_envvar=True,
        callback=_checked_url,
        # Checked before anything else, so that a mistyped URL is reported before any question is asked.
        is_eager=True,
        help="Server URL; else the one you logged in to, else http://127.0.0.1:8000.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer instead of text, for scripts.")]
# Questions are asked only on a terminal: a script gets a usage error instead of a prompt reading its stdin.
NameOption = Annotated[
    str | None, typer.Option(help="Your name, 1 to 100 characters; asked on a terminal when not given.")
]
EmailOption = Annotated[
    str | None, typer.Option(help="Your account's email address; asked on a terminal when not given.")
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        envvar=PASSWORD_ENV,
        show_envvar=True,
        help="Asked on a terminal when not given; scripts use --password-stdin or the variable.",
    ),
]
NewPasswordOption = Annotated[
    str | None,
    typer.Option(
        envvar=PASSWORD_ENV,
        show_envvar=True,
        help="10 to 128 characters; asked on a terminal when not given; scripts use --password-stdin or the variable.",
    ),
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
TextFileOption = Annotated[
    Path | None,
    typer.Option(help="Read the text from this UTF-8 file; `-` is stdin."),
]


def _score(value: str) -> float:
    """The score as typed (`7` stays an integer); JSON has no NaN or infinity to send."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a number.") from None
    if not math.isfinite(number):
        raise typer.BadParameter(f"{value!r} is not a finite number.")
    return number


LimitOption = Annotated[
    int | None, typer.Option(min=1, max=1000, help="Show one page of this many; the next page's --cursor follows.")
]
CursorOption = Annotated[str | None, typer.Option(help="Where the page starts, as the previous page said.")]
VersionOption = Annotated[int | None, typer.Option(min=1, help="Show this version.")]
ScoreOption = Annotated[float | None, typer.Option(parser=_score, help="From 0 to 10.")]
TagsOption = Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")]

prompts_app = typer.Typer(help="Your prompt library.", no_args_is_help=True)
logs_app = typer.Typer(help="What your prompts produced, with notes and scores.", no_args_is_help=True)
keys_app = typer.Typer(
    help="API keys for programs (sent as `Authorization: Bearer pc_live_…` or PROMPTCRAFTER_API_KEY).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the client commands to the `promptcrafter` command."""
    for command in (signup, login, logout, whoami, search, export, stats, compare, leaderboard):
        app.command()(command)
    app.command("import")(import_file)
    app.add_typer(prompts_app, name="prompts")
    app.add_typer(logs_app, name="logs")
    app.add_typer(keys_app, name="keys")


def signup(
    name: NameOption = None,
    email: EmailOption = None,
    password: NewPasswordOption = None,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account and log in to it. --json prints {"token": …}."""
    name = _ask(name, "Name", "--name")
    email = _ask(email, "Email", "--email")
    password = _password(password, password_stdin, new=True)
    with _session(url, needs_login=False) as client:
        token = client.signup(name, email, password)
    credentials.save(credentials.Credentials(url=client.base_url, token=token))
    _emit(
        {"token": token},
        as_json,
        lambda _: f"Account created; logged in to {client.base_url} as {email}.",
    )


def login(
    email: EmailOption = None,
    password: PasswordOption = None,
    password_stdin: PasswordStdinOption = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Log in; the server and token are kept for the next commands. --json prints {"token": …}."""
    email = _ask(email, "Email", "--email")
    password = _password(password, password_stdin, new=False)
    with _session(url, needs_login=False) as client:
        token = client.login(email, password)
    credentials.save(credentials.Credentials(url=client.base_url, token=token))
    _emit({"token": token}, as_json, lambda _: f"Logged in to {client.base_url} as {email}.")


def logout() -> None:
    """Forget the stored token."""
    typer.echo("Logged out." if credentials.delete() else "Not logged in.")


def whoami(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Show the account you are logged in as."""
    with _session(url) as client:
        account = client.me()
    _emit(
        account,
        as_json,
        lambda me: f"{me['name']} <{me['email']}> ({me['_id']}) on {client.base_url}",
    )


def search(
    query: Annotated[list[str], typer.Argument(help="Terms that must all occur (any case).")],
    logs: Annotated[bool, typer.Option("--logs", help="Search your logs' outputs and notes instead.")] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find your prompts whose title, content or tags contain every term (or, with --logs,
    your logs whose output or notes do)."""
    with _session(url) as client:
        found = client.search_logs(" ".join(query)) if logs else client.search_prompts(" ".join(query))
    _emit(found, as_json, (lambda rows: _logs_table(rows, with_prompt=False)) if logs else _prompts_table)


@prompts_app.command("list")
def list_prompts(
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only prompts with this tag; repeat: all.")] = None,
    model: Annotated[str | None, typer.Option(help="Only prompts for this model.")] = None,
    sort: Annotated[str | None, typer.Option(help="createdAt, -createdAt, updatedAt, -updatedAt or title.")] = None,
    limit: LimitOption = None,
    cursor: CursorOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List your prompts, oldest first unless --sort says otherwise."""
    with _session(url) as client:
        page = client.list_prompts(tag=tag, model=model, sort=sort, limit=limit, cursor=cursor)
    _emit_page(page, as_json, _prompts_table)


@prompts_app.command("show")
def show_prompt(
    prompt_id: str,
    version: VersionOption = None,
    label: Annotated[str | None, typer.Option(help="Show the version this label names.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one prompt in full: its current version, or the one --version or --label names."""
    with _session(url) as client:
        prompt = client.get_prompt(prompt_id, version=version, label=label)
    _emit(prompt, as_json, _prompt_view)


@prompts_app.command("versions")
def list_versions(prompt_id: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """List a prompt's versions, newest first, with their labels."""
    with _session(url) as client:
        versions = client.list_versions(prompt_id)
    _emit(versions, as_json, _versions_table)


@prompts_app.command("diff")
def diff_versions(
    prompt_id: str,
    from_version: Annotated[int, typer.Argument(metavar="FROM", min=1, help="The earlier version.")],
    to_version: Annotated[int, typer.Argument(metavar="TO", min=1, help="The later version.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what changed between two versions of a prompt."""
    with _session(url) as client:
        diff = client.diff_versions(prompt_id, from_version, to_version)
    _emit(diff, as_json, _diff_view)


@prompts_app.command("restore")
def restore_version(
    prompt_id: str,
    version: Annotated[int, typer.Argument(min=1, help="The version to make current again.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an earlier version's fields current again, as a new version."""
    with _session(url) as client:
        prompt = client.restore_version(prompt_id, version)
    _emit(prompt, as_json, lambda p: f"Prompt {p['_id']} is now at version {p['version']}.")


@prompts_app.command("label")
def label_version(
    prompt_id: str,
    label: Annotated[str, typer.Argument(help="A name such as production or staging.")],
    version: Annotated[int | None, typer.Argument(min=1, help="The version it names.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the label instead.")] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point a label at a version (moving it if it exists), or remove it with --remove."""
    if remove == (version is not None):
        raise typer.BadParameter("give a VERSION to set the label, or --remove to remove it.")
    with _session(url) as client:
        if version is None:
            client.delete_label(prompt_id, label)
        else:
            result = client.set_label(prompt_id, label, version)
    if version is None:
        if not as_json:
            typer.echo(f"Removed label {label}.")
        return
    _emit(result, as_json, lambda found: f"Label {found['label']} now names version {found['version']}.")


@prompts_app.command("render")
def render_prompt(
    prompt_id: str,
    var: Annotated[list[str] | None, typer.Option("--var", help="NAME=VALUE; repeat for each variable.")] = None,
    version: VersionOption = None,
    label: Annotated[str | None, typer.Option(help="Render the version this label names.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a prompt's text with its {{variables}} filled in."""
    variables = _assignments(var or [], "--var")
    with _session(url) as client:
        rendered = client.render_prompt(prompt_id, variables, version=version, label=label)
    _emit(rendered, as_json, lambda found: Text(found["text"]))


@prompts_app.command("add")
def add_prompt(
    title: Annotated[str, typer.Option(help="3 to 100 characters.")],
    model: Annotated[str, typer.Option(help="The model the prompt is written for.")],
    content: Annotated[str | None, typer.Option(help="The prompt's text.")] = None,
    content_file: TextFileOption = None,
    tag: TagsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save a prompt; its text comes from --content, --content-file, or stdin."""
    text = _one_text(content, content_file, "--content")
    with _session(url) as client:
        prompt = client.create_prompt(title, text, model, tags=tag or None)
    _emit(prompt, as_json, lambda p: f"Created prompt {p['_id']}.")


@prompts_app.command("edit")
def edit_prompt(
    prompt_id: str,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    model: Annotated[str | None, typer.Option(help="A new model.")] = None,
    content: Annotated[str | None, typer.Option(help="A new text.")] = None,
    content_file: TextFileOption = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Replace the tags; repeat for several.")] = None,
    no_tags: Annotated[bool, typer.Option("--no-tags", help="Remove all tags.")] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change some of a prompt's fields; the others stay as they are."""
    fields = _changes(
        title=title,
        model=model,
        content=content,
        content_file=content_file,
        tags=tag,
        no_tags=no_tags,
    )
    with _session(url) as client:
        prompt = client.update_prompt(prompt_id, **fields)
    _emit(prompt, as_json, lambda p: f"Updated prompt {p['_id']}.")


@prompts_app.command("rm")
def remove_prompt(prompt_id: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Delete a prompt and all its logs. The API answers no JSON, so --json prints nothing."""
    with _session(url) as client:
        client.delete_prompt(prompt_id)
    if not as_json:
        typer.echo(f"Deleted prompt {prompt_id} and its logs.")


@logs_app.command("list")
def list_logs(
    prompt: Annotated[str | None, typer.Option("--prompt", help="Only this prompt's logs.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="Only this model's logs; repeat: any.")] = None,
    version: Annotated[int | None, typer.Option(min=1, help="Only logs of this prompt version.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Only logs scored at least this.")] = None,
    max_score: Annotated[float | None, typer.Option(help="Only logs scored at most this.")] = None,
    scored: Annotated[bool | None, typer.Option("--scored/--unscored", help="Only scored, or unscored, logs.")] = None,
    since: Annotated[str | None, typer.Option(help="Only logs from this time on (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Only logs before this time (ISO 8601).")] = None,
    sort: Annotated[str | None, typer.Option(help="createdAt, -createdAt, score or -score.")] = None,
    limit: LimitOption = None,
    cursor: CursorOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List your logs, oldest first unless --sort says otherwise."""
    with _session(url) as client:
        page = client.list_logs(
            prompt_id=prompt,
            model_used=model,
            prompt_version=version,
            min_score=min_score,
            max_score=max_score,
            scored=scored,
            since=since,
            until=until,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
    _emit_page(page, as_json, lambda rows: _logs_table(rows, with_prompt=prompt is None))


@logs_app.command("add")
def add_log(
    prompt: Annotated[str, typer.Option("--prompt", help="The id of the prompt that produced it.")],
    model: Annotated[str, typer.Option(help="The model that produced it.")],
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file",
            "-o",
            help="Read the output from this file; `-` or nothing reads stdin.",
        ),
    ] = None,
    notes: Annotated[str | None, typer.Option(help="Your notes on the output.")] = None,
    score: ScoreOption = None,
    version: Annotated[
        int | None, typer.Option(min=1, help="The prompt version that produced it; default the current one.")
    ] = None,
    input_var: Annotated[
        list[str] | None, typer.Option("--input", help="NAME=VALUE: a variable it was produced with; repeatable.")
    ] = None,
    latency_ms: Annotated[float | None, typer.Option(min=0, help="How long the model took, in ms.")] = None,
    input_tokens: Annotated[int | None, typer.Option(min=0)] = None,
    output_tokens: Annotated[int | None, typer.Option(min=0)] = None,
    cost_usd: Annotated[float | None, typer.Option(min=0, help="What the call cost, in US dollars.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record what a prompt produced; the output is stored exactly as read."""
    inputs = _assignments(input_var, "--input") if input_var else None
    output = _read_text(output_file, "--output-file")
    with _session(url) as client:
        log = client.create_log(
            prompt,
            output,
            model,
            notes=notes,
            score=score,
            prompt_version=version,
            input=inputs,
            latency_ms=latency_ms,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd,
        )
    _emit(log, as_json, lambda entry: f"Logged {entry['_id']} for prompt {entry['promptId']}.")


@logs_app.command("rm")
def remove_log(log_id: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Delete a log. The API answers no JSON, so --json prints nothing."""
    with _session(url) as client:
        client.delete_log(log_id)
    if not as_json:
        typer.echo(f"Deleted log {log_id}.")


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. `nightly evaluation`.")],
    scopes: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="What it allows; repeat for several: prompts:read, prompts:write, logs:read, logs:write, stats:read.",
        ),
    ],
    expires: Annotated[str | None, typer.Option(help="When it stops working (ISO 8601, e.g. 2027-01-31).")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an API key. It is printed this once: store it now, the server keeps only its hash."""
    with _session(url) as client:
        created = client.create_key(name, scopes, expires_at=expires)
    _emit(
        created,
        as_json,
        lambda key: f"{key['key']}\n\nAPI key {key['_id']} ({', '.join(key['scopes'])}). Copy it now: "
        "it is not shown again. Programs send it as `Authorization: Bearer …` or set PROMPTCRAFTER_API_KEY.",
    )


@keys_app.command("list")
def list_keys(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your API keys (their first characters, never the keys)."""
    with _session(url) as client:
        keys = client.list_keys()
    _emit(keys, as_json, _keys_table)


@keys_app.command("rm")
def revoke_key(key_id: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Revoke an API key: it fails at once. The API answers no JSON, so --json prints nothing."""
    with _session(url) as client:
        client.revoke_key(key_id)
    if not as_json:
        typer.echo(f"Revoked API key {key_id}.")


def _keys_table(keys: list[Json]) -> RenderableType:
    # Two lines a key: a table of seven columns does not fit a terminal of 80.
    if not keys:
        return "No API keys."
    lines = Text()
    for key in keys:
        lines.append(f"{key['_id']}  ", style="bold")
        lines.append(f"{key['name']}\n")
        lines.append(
            f"  {key['prefix']}…  {', '.join(key['scopes'])}  · created {key['createdAt'][:10]}"
            f" · expires {(key['expiresAt'] or 'never')[:10]}"
            f" · last used {(key['lastUsedAt'] or 'never')[:16].replace('T', ' ')}\n"
        )
    return lines


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Write to this file; `-` is stdout.")] = Path("-"),
    format: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="jsonl: every prompt with its versions and labels, then every log (what `import` reads); "
            "csv: every log, safe to open in a spreadsheet.",
        ),
    ] = ExportFormat.jsonl,
    url: UrlOption = None,
) -> None:
    """Save your whole library to a file, streamed, with a progress display on a terminal."""
    with _session(url) as client, _progress("Exporting", bytes_done=True) as advance:
        if str(output) == "-":
            client.export_to(sys.stdout.buffer, format=format.value, on_progress=lambda done: advance(done, None))
            sys.stdout.buffer.flush()
            return
        # Written beside the target first, so that a failed export never leaves half a file under its name.
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("wb") as file:
                written = client.export_to(file, format=format.value, on_progress=lambda done: advance(done, None))
            partial.replace(output)
        except OSError as error:
            raise typer.BadParameter(f"cannot write {output}: {error.strerror}", param_hint="--output") from None
        finally:
            partial.unlink(missing_ok=True)
    typer.echo(f"Exported {written:,} bytes to {output}.", err=True)


def import_file(
    file: Annotated[Path, typer.Argument(help="A file `promptcrafter export` wrote, or the public sample data.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a file's prompts (with their versions and labels) and logs to your library. Ids are
    kept where free; importing the same file again adds nothing."""
    with _session(url) as client, _progress("Importing", bytes_done=False) as advance:
        try:
            summary = client.import_file(file, on_progress=advance)
        except ImportFileError as error:
            raise typer.BadParameter(str(error), param_hint="FILE") from None
    _emit(summary, as_json, _import_summary)


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"


FormatOption = Annotated[
    TableFormat, typer.Option("--format", help="table for people, csv to export (--json: the API's answer).")
]


def stats(
    prompt_id: Annotated[str, typer.Argument(help="The prompt.")],
    group_by: Annotated[str, typer.Option("--by", help="promptVersion, modelUsed or day.")] = "promptVersion",
    model: Annotated[list[str] | None, typer.Option("--model", help="Only this model's logs; repeat: any.")] = None,
    since: Annotated[str | None, typer.Option(help="Only logs from this time on (ISO 8601).")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
    format: FormatOption = TableFormat.table,
) -> None:
    """Score statistics of a prompt per version, model or day, with 95% intervals."""
    with _session(url) as client:
        answer = client.stats(prompt_id, group_by=group_by, model_used=model, since=since)
    _emit_statistics(answer, answer["groups"], as_json, format, _stats_table)


def compare(
    arguments: Annotated[
        list[str],
        typer.Argument(
            metavar="[PROMPT] A B",
            help="The prompt (leave it out to compare across all your prompts), then the two sides: "
            "version numbers or model names. Differences are b − a.",
            show_default=False,
        ),
    ],
    by: Annotated[
        str | None, typer.Option("--by", help="promptVersion or modelUsed (default: promptVersion with a prompt).")
    ] = None,
    target: Annotated[float | None, typer.Option(help="The difference worth detecting (default 0.5).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only the logs this run made.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
    format: FormatOption = TableFormat.table,
) -> None:
    """Whether b scores better than a, by how much, and how many more logs would settle it."""
    if len(arguments) not in (2, 3):
        raise typer.BadParameter("Give a prompt and two sides, or two sides to compare across all your prompts.")
    with _session(url) as client:
        if len(arguments) == 3:
            prompt_id, a, b = arguments
            answer = client.compare(prompt_id, a, b, by=by or "promptVersion", target=target, run_id=run_id)
        else:
            a, b = arguments
            answer = client.compare_across(a, b, by=by or "modelUsed", target=target, run_id=run_id)
    _emit_statistics(answer, _comparison_rows(answer), as_json, format, _comparison_view)


def leaderboard(
    by: Annotated[str, typer.Option("--by", help="modelUsed or promptVersion (with --prompt).")] = "modelUsed",
    method: Annotated[str, typer.Option(help="mean or bradley-terry.")] = "mean",
    prompt: Annotated[str | None, typer.Option("--prompt", help="Only this prompt's logs.")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
    format: FormatOption = TableFormat.table,
) -> None:
    """Models (or versions) ranked, with the uncertainty of each rating and rank."""
    with _session(url) as client:
        answer = client.leaderboard(by=by, method=method, prompt_id=prompt)
    _emit_statistics(answer, answer["entries"], as_json, format, _leaderboard_table)


def _emit_statistics(
    answer: Json, rows: list[Json], as_json: bool, format: TableFormat, human: Callable[[Json], RenderableType]
) -> None:
    if as_json:
        _emit(answer, True, human)
    elif format is TableFormat.csv:
        _write_csv(rows)
    else:
        Console().print(human(answer))


def _write_csv(rows: list[Json]) -> None:
    """Rows as CSV on stdout; nested figures flattened (`ci95.low`, `latencyMs.median`)."""
    flat = [_flattened(row) for row in rows]
    columns = list(dict.fromkeys(column for row in flat for column in row))
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)


def _flattened(row: Json, prefix: str = "") -> Json:
    flat: Json = {}
    for name, value in row.items():
        if isinstance(value, dict):
            flat.update(_flattened(value, f"{prefix}{name}."))
        elif isinstance(value, list) and len(value) == 2 and name.endswith(("ci95", "Ci95")):
            flat[f"{prefix}{name}.low"], flat[f"{prefix}{name}.high"] = value
        elif isinstance(value, list):
            flat[f"{prefix}{name}"] = " ".join(str(item) for item in value)
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _figure(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(values: list[float] | None, digits: int = 2) -> str:
    return "–" if values is None else f"{_figure(values[0], digits)} to {_figure(values[1], digits)}"


def _range(values: list[float] | None, digits: int = 2) -> str:
    """An interval as a table cell: `5.83–6.89`."""
    return "–" if values is None else f"{_figure(values[0], digits)}–{_figure(values[1], digits)}"


def _statistics_table(title: str, columns: Sequence[str]) -> Table:
    """A table of figures that fits a terminal of 80 columns: no vertical rules, numbers right."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    for column in columns:
        table.add_column(column, justify="left" if column in ("Key", "Side") else "right")
    return table


def _stats_table(answer: Json) -> RenderableType:
    columns = ("Key", "Logs", "Scored", "Mean", "95% CI", "SD", "Median", "Range", "ms p50/p95", "Cost $")
    table = _statistics_table(f"Scores by {answer['groupBy']}", columns)
    for group in answer["groups"]:
        latency = group["latencyMs"]
        table.add_row(
            Text(str(group["key"])),
            str(group["n"]),
            str(group["scored"]),
            _figure(group["mean"]),
            _range(group["ci95"]),
            _figure(group["sd"]),
            _figure(group["median"]),
            f"{_figure(group['min'], 1)}–{_figure(group['max'], 1)}",
            f"{_figure(latency['median'], 0)}/{_figure(latency['p95'], 0)}",
            _figure(group["costUsd"]["sum"], 3),
        )
    return table if answer["groups"] else Text("No logs yet.")


def _comparison_rows(answer: Json) -> list[Json]:
    parts = ("a", "b", "difference", "paired", "power")
    return [{"figure": part, **(answer[part] or {})} for part in parts]


def _comparison_view(answer: Json) -> RenderableType:
    sides = _statistics_table(f"Compared by {answer['by']}", ("Side", "Key", "Logs", "Scored", "Mean", "95% CI", "SD"))
    for side in ("a", "b"):
        summary = answer[side]
        sides.add_row(
            side,
            Text(str(summary["key"])),
            str(summary["n"]),
            str(summary["scored"]),
            _figure(summary["mean"]),
            _range(summary["ci95"]),
            _figure(summary["sd"]),
        )
    figures = Table(show_header=False, box=None)
    figures.add_column(style="bold")
    figures.add_column()
    difference, paired, power = answer["difference"], answer["paired"], answer["power"]
    if difference is not None:
        figures.add_row("b − a", f"{_figure(difference['mean'])} (95% CI {_interval(difference['ci95'])})")
        # Without spread on either side (every score equal) there is no test to show.
        welch, mann_whitney = difference["welch"] or {}, difference["mannWhitney"] or {}
        figures.add_row("Welch", f"t = {_figure(welch.get('t'))}, p = {_figure(welch.get('p'), 4)}")
        figures.add_row(
            "Mann–Whitney", f"U = {_figure(mann_whitney.get('u'), 1)}, p = {_figure(mann_whitney.get('p'), 4)}"
        )
        figures.add_row("Cohen's d", _figure(difference["cohensD"]))
    if paired is not None:
        figures.add_row(
            f"Paired ({paired['n']} inputs)",
            f"{_figure(paired['meanDifference'])} (95% CI {_interval(paired['ci95'])}); "
            f"b wins {paired['wins']}, ties {paired['ties']}, loses {paired['losses']}",
        )
        figures.add_row("Win rate", f"{_figure(paired['winRate'])} (95% CI {_interval(paired['winRateCi95'])})")
    figures.add_row(
        "Power",
        f"detectable now: {_figure(power['minimumDetectableDifference'])} points; "
        f"for {_figure(power['targetDifference'])}: {_figure(power['logsPerSideNeeded'])} scored logs per side",
    )
    return Group(sides, figures, Text(answer["verdict"], style="bold"))


def _leaderboard_table(answer: Json) -> RenderableType:
    rating = "Rating" if answer["method"] == "bradley-terry" else "Mean"
    columns = ("Key", "Rank", "Rank 95%", "Logs", rating, "95% CI")
    table = _statistics_table(f"Leaderboard by {answer['by']} ({answer['method']})", columns)
    for entry in answer["entries"]:
        ranks = entry["rankCi95"]
        table.add_row(
            Text(str(entry["key"])),
            _figure(entry["rank"]),
            "–" if ranks is None else f"{ranks[0]}–{ranks[1]}",
            str(entry["n"]),
            _figure(entry["rating"], 1 if answer["method"] == "bradley-terry" else 2),
            _range(entry["ratingCi95"], 1 if answer["method"] == "bradley-terry" else 2),
        )
    return table if answer["entries"] else Text("No scored logs yet.")


@contextmanager
def _progress(what: str, *, bytes_done: bool) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr when it is a terminal; `advance(done, total)` moves it."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    amount = DownloadColumn() if bytes_done else MofNCompleteColumn()
    columns = [TextColumn(what), BarColumn(), amount, TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(what, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@contextmanager
def _session(url: str | None, *, needs_login: bool = True) -> Iterator[PromptCrafterClient]:
    """A client for the chosen server; an API or connection error ends the command with code 1.

    The stored token goes only to the server that issued it, never to another `--url`.
    """
    stored = credentials.load()
    try:
        client = PromptCrafterClient(credentials.server_url(url or (stored.url if stored else DEFAULT_URL)))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--url") from None
    if stored is not None and stored.applies_to(client.base_url):
        client.set_token(stored.token)
    try:
        with client:
            yield client
    except AuthenticationError as error:
        if needs_login:
            _fail_logged_out(error, client, stored)
        _fail(error)
    except PromptCrafterAPIError as error:
        _fail(error)


def _fail(error: PromptCrafterAPIError) -> NoReturn:
    typer.echo(error.message, err=True)
    for detail in error.details or []:
        where = f"{detail['origin']}, " if detail.get("origin") else ""
        typer.echo(f"  {where}{detail.get('field')}: {detail.get('message')}", err=True)
    raise typer.Exit(1)


def _fail_logged_out(
    error: AuthenticationError, client: PromptCrafterClient, stored: credentials.Credentials | None
) -> NoReturn:
    """The server wants a token it was not given, or refused an expired one: say how to get one."""
    url = client.base_url
    if client.token is not None:
        typer.echo(error.message, err=True)
    elif stored is None:
        typer.echo(f"Not logged in to {url}.", err=True)
    else:
        typer.echo(f"Not logged in to {url} (you are logged in to {stored.url}).", err=True)
    typer.echo(
        f"Run `promptcrafter login --url {url}`, or `promptcrafter signup --url {url}` for a new account.",
        err=True,
    )
    raise typer.Exit(1)


def _ask(value: str | None, label: str, option: str, *, secret: bool = False, confirm: bool = False) -> str:
    """The option's value, else the answer to a question on the terminal."""
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise typer.BadParameter("none given, and there is no terminal to ask for it on.", param_hint=option)
    answer: str = typer.prompt(label, hide_input=secret, confirmation_prompt=confirm)
    return answer


def _password(value: str | None, from_stdin: bool, *, new: bool) -> str:
    """From --password or $PROMPTCRAFTER_PASSWORD, the first line of stdin, or a hidden question."""
    if from_stdin:
        if value is not None:
            raise typer.BadParameter(
                f"give --password-stdin, or --password or ${PASSWORD_ENV}, not both.", param_hint="--password-stdin"
            )
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise typer.BadParameter("stdin held no password.", param_hint="--password-stdin")
        return line
    if value is None and not sys.stdin.isatty():
        raise typer.BadParameter(
            "none given, and there is no terminal to ask for it on; "
            f"pipe it in with --password-stdin, or set {PASSWORD_ENV}.",
            param_hint="--password",
        )
    return _ask(value, "Password", "--password", secret=True, confirm=new)


def _emit(data: Any, as_json: bool, human: Callable[[Any], RenderableType]) -> None:
    """Print the API's answer as JSON, or as `human` renders it."""
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    view = human(data)
    # Plain strings become Text, so that brackets in user data are never read as Rich markup.
    Console().print(Text(view) if isinstance(view, str) else view)


def _emit_page(page: Json, as_json: bool, human: Callable[[Any], RenderableType]) -> None:
    """A list as `_emit` prints it; when more pages follow, how to ask for the next (on stderr,
    so that the JSON on stdout stays the API's)."""
    _emit(page["items"], as_json, human)
    if page["next_cursor"] is not None:
        typer.echo(f"More follow: add --cursor {page['next_cursor']}", err=True)


def _read_text(path: Path | None, option: str) -> str:
    """The file's text, or stdin's for `-` or no file; an unreadable file is a usage error."""
    if path is None or str(path) == "-":
        if sys.stdin.isatty():
            typer.echo("Reading from the terminal; end with Ctrl-D.", err=True)
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise typer.BadParameter(f"cannot read {path}: {error.strerror}", param_hint=option) from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint=option) from None


def _one_text(text: str | None, path: Path | None, option: str) -> str:
    if text is not None and path is not None:
        raise typer.BadParameter(f"give {option} or {option}-file, not both.", param_hint=f"{option}-file")
    return text if text is not None else _read_text(path, f"{option}-file")


def _changes(
    *,
    title: str | None,
    model: str | None,
    content: str | None,
    content_file: Path | None,
    tags: list[str] | None,
    no_tags: bool,
) -> Json:
    """The fields `prompts edit` was asked to change, as the API names them."""
    if tags and no_tags:
        raise typer.BadParameter("give --tag or --no-tags, not both.", param_hint="--no-tags")
    fields: Json = {"title": title, "model": model}
    if content is not None or content_file is not None:
        fields["content"] = _one_text(content, content_file, "--content")
    if tags or no_tags:
        fields["tags"] = tags or []
    changes = {name: value for name, value in fields.items() if value is not None}
    if not changes:
        raise typer.BadParameter(
            "nothing to change: give --title, --model, --content, --content-file, --tag, --no-tags."
        )
    return changes


def _prompts_table(prompts: list[Json]) -> RenderableType:
    if not prompts:
        return "No prompts."
    table = Table("ID", "Version", "Title", "Model", "Tags")
    table.columns[0].no_wrap = True
    for prompt in prompts:
        tags = ", ".join(prompt["tags"])
        table.add_row(
            *(Text(value) for value in (prompt["_id"], str(prompt["version"]), prompt["title"], prompt["model"], tags))
        )
    return table


def _prompt_view(prompt: Json) -> RenderableType:
    fields = Table.grid(padding=(0, 2))
    for label, value in (
        ("ID", prompt["_id"]),
        ("Version", str(prompt["version"])),
        ("Title", prompt["title"]),
        ("Model", prompt["model"]),
        ("Tags", ", ".join(prompt["tags"])),
        ("Variables", ", ".join(prompt["variables"]) or "-"),
        ("Created", prompt["createdAt"]),
        ("Updated", prompt["updatedAt"]),
    ):
        fields.add_row(Text(label, style="bold"), Text(value))
    return Group(fields, Text(""), Text(prompt["content"]))


def _versions_table(versions: list[Json]) -> RenderableType:
    table = Table("Version", "Labels", "Created", "Title", "Model", "Content")
    for version in versions:
        cells = (
            str(version["version"]),
            ", ".join(version["labels"]),
            _short_time(version["createdAt"]),
            version["title"],
            version["model"],
            _preview(version["content"]),
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


_DIFF_STYLES = {"+": "green", "-": "red", "@": "cyan"}


def _diff_view(diff: Json) -> RenderableType:
    parts: list[RenderableType] = [Text(f"Version {diff['from']} → {diff['to']}", style="bold")]
    if not diff["changes"]:
        parts.append(Text("No differences."))
    for name, change in diff["changes"].items():
        if name != "content":
            parts.append(
                Text(
                    f"{name}: {json.dumps(change['from'], ensure_ascii=False)} → "
                    f"{json.dumps(change['to'], ensure_ascii=False)}"
                )
            )
    for line in diff["contentDiff"].splitlines():
        parts.append(Text(line, style=_DIFF_STYLES.get(line[:1], "")))
    return Group(*parts)


def _assignments(values: list[str], option: str) -> dict[str, str]:
    """`NAME=VALUE` options as a dict; a value may itself contain `=`."""
    assigned = {}
    for value in values:
        name, equals, text = value.partition("=")
        if not equals or not name:
            raise typer.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        assigned[name] = text
    return assigned


def _logs_table(logs: list[Json], *, with_prompt: bool) -> RenderableType:
    if not logs:
        return "No logs."
    # One prompt's logs need no prompt column; the room goes to the output.
    prompt_column = ["Prompt"] if with_prompt else []
    table = Table("ID", *prompt_column, "v", "Model", "Score", "Created", "Output")
    table.columns[0].no_wrap = True
    for log in logs:
        prompt_cell = [log["promptId"]] if with_prompt else []
        score = "-" if log["score"] is None else str(log["score"])
        cells = (
            log["_id"],
            *prompt_cell,
            str(log["promptVersion"]),
            log["modelUsed"],
            score,
            _short_time(log["createdAt"]),
            _preview(log["output"]),
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _import_summary(summary: Json) -> str:
    return "\n".join(
        f"{kind.capitalize()}: {counts['created']:,} added, {counts['existing']:,} already there."
        for kind, counts in summary.items()
    )


def _short_time(timestamp: str) -> str:
    """`2026-11-26T05:43:40.123Z` as `2026-11-26 05:43`, narrow enough for a table column."""
    return timestamp[:16].replace("T", " ")


def _preview(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return first_line if len(first_line) <= PREVIEW_CHARS else first_line[: PREVIEW_CHARS - 1] + "…"
