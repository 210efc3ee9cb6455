"""`promptcrafter serve` and `promptcrafter migrate`."""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from promptcrafter import telemetry
from promptcrafter.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from promptcrafter.storage import Database

ENV_PREFIX = "PROMPTCRAFTER_"


class LogFormat(str, Enum):
    json = "json"
    text = "text"


def _environment_help() -> str:
    lines = ["Every setting can also come from the environment:\n"]
    for name, field in Settings.model_fields.items():
        default = "unset" if field.default is None else field.default
        lines.append(f"{ENV_PREFIX}{name.upper()}: {field.description} (default: {default})\n")
    return "\n".join(lines)


DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL: sqlite:///path/file.db or postgresql://user@host:port/db"),
]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    db: DbOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes sharing the port.")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request to standard output.")] = True,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(help="json: one JSON object per line (the default when output is not a terminal); text."),
    ] = None,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Serve Prometheus metrics at /metrics (or PROMPTCRAFTER_METRICS=1).")
    ] = False,
) -> None:
    """Migrate the database, then serve the API."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from promptcrafter.server.protocol import GuardedHttpToolsProtocol

    settings = _settings(db)
    if metrics:
        settings = settings.model_copy(update={"metrics": True})
    metrics_directory = None
    if settings.metrics and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Every worker writes its figures here and a scrape of any one adds them up; set before
        # the workers start, as prometheus-client reads it when first imported.
        metrics_directory = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="promptcrafter-metrics-")
    # Before the database is touched: a busy port then leaves no new database file behind.
    listener = _listen(host, port)
    _migrate(settings)
    config = uvicorn.Config(
        _AppFactory(settings),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # Each request's line comes from the server's own middleware, with its route template.
        access_log=False,
        log_config=telemetry.logging_config(
            (log_format or (LogFormat.text if sys.stdout.isatty() else LogFormat.json)).value, access_log=access_log
        ),
        # Many clients reuse connections; the default 5 s drops idle ones too eagerly.
        timeout_keep_alive=30,
        # Nothing here reads the client's address; parsing forwarding headers costs ~5 %.
        proxy_headers=False,
        # A partial, not a class made here: under several workers the config is pickled.
        http=functools.partial(GuardedHttpToolsProtocol, header_timeout=settings.header_timeout),  # type: ignore[arg-type]
    )
    # uvicorn announces the address only when it binds the socket itself.
    logging.getLogger("uvicorn.error").info("PromptCrafter running on %s (press Ctrl+C to quit)", _address(listener))
    try:
        if workers == 1:
            uvicorn.Server(config).run(sockets=[listener])
        else:
            Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        # The server has shut down cleanly already; Ctrl+C needs no traceback.
        pass
    finally:
        if metrics_directory is not None:
            shutil.rmtree(metrics_directory, ignore_errors=True)


@dataclass(frozen=True)
class _AppFactory:
    """Builds the app from these settings; each worker process receives it pickled, settings included.

    Unpickling it imports no server code: a worker answers the supervisor's health checks (due within
    5 s) only once unpickled, and importing the server takes over a second, more when many workers
    start at once on a busy machine.
    """

    settings: Settings

    def __call__(self) -> FastAPI:
        from promptcrafter.server import create_app

        return create_app(self.settings)


def migrate(db: DbOption = None) -> None:
    """Bring the database to the current schema, e.g. before starting several servers."""
    _migrate(_settings(db))
    typer.echo("Database is up to date.")


users_app = typer.Typer(
    help="Accounts, for the server's operator: reads and changes the database directly (--db).",
    no_args_is_help=True,
)
WhoArgument = Annotated[str, typer.Argument(help="The account's id or email.")]


@users_app.command("list")
def list_users(db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every account, oldest first, with its prompts and logs."""
    from promptcrafter.domain import operators

    with _database(db) as database, database.transaction(write=False) as tx:
        found = operators.accounts(tx)
    if as_json:
        typer.echo(json.dumps(found))
        return
    for account in found:
        state = "disabled" if account["disabled_at"] else "active"
        typer.echo(
            f"{account['id']}  {account['email']}  {account['name']}  {state}  "
            f"{account['prompts']} prompts, {account['logs']} logs"
        )
    if not found:
        typer.echo("No accounts.")


@users_app.command("disable")
def disable_user(who: WhoArgument, db: DbOption = None) -> None:
    """Stop an account: its tokens, API keys and sessions fail at once, and it cannot log in."""
    _change_account(who, db, "disable", "Disabled")


@users_app.command("enable")
def enable_user(who: WhoArgument, db: DbOption = None) -> None:
    """Let a disabled account log in again (its old tokens work again until they expire)."""
    _change_account(who, db, "enable", "Enabled")


@users_app.command("delete")
def delete_user(
    who: WhoArgument,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
) -> None:
    """Delete an account and every prompt, version, label, log and API key it holds."""
    if not yes:
        typer.confirm(f"Delete {who} and everything it holds? This cannot be undone", abort=True)
    _change_account(who, db, "delete", "Deleted")


def _change_account(who: str, db: str | None, action: str, done: str) -> None:
    from promptcrafter.domain import operators

    with _database(db) as database:
        try:
            with database.transaction(write=True) as tx:
                if action == "delete":
                    user_id = operators.delete(tx, who=who)
                else:
                    user_id = operators.disable(tx, who=who, disabled=action == "disable")
        except operators.NoSuchAccount as missing:
            typer.echo(str(missing), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{done} account {user_id}.")


def backup(
    output: Annotated[Path, typer.Argument(help="The copy to write (a SQLite file).")],
    db: DbOption = None,
) -> None:
    """A consistent copy of a SQLite database while servers run on it (SQLite's online backup).
    For PostgreSQL, use pg_dump."""
    from sqlalchemy.engine import make_url

    url = make_url(_settings(db).database_url)
    if url.get_backend_name() != "sqlite":
        typer.echo("This database is PostgreSQL: back it up with pg_dump (see the README).", err=True)
        raise typer.Exit(2)
    source_file = url.database or ""
    if not Path(source_file).is_file():
        typer.echo(f"No SQLite database at {source_file!r}.", err=True)
        raise typer.Exit(2)
    if output.exists():
        typer.echo(f"{output} exists; choose a new file.", err=True)
        raise typer.Exit(2)
    partial = output.with_name(output.name + ".partial")
    # Page by page, letting writers in between; the copy is of one moment all the same.
    with closing(sqlite3.connect(source_file)) as source, closing(sqlite3.connect(partial)) as target:
        source.backup(target, pages=1024)
    partial.rename(output)
    typer.echo(f"Backed up {source_file} to {output}.")


@contextmanager
def _database(db: str | None) -> Iterator[Database]:
    from promptcrafter.storage import Database

    database = Database(_settings(db).database_url)
    try:
        yield database
    finally:
        database.close()


def _settings(db: str | None) -> Settings:
    """The environment's settings, with --db before PROMPTCRAFTER_DATABASE_URL; a bad value is a
    usage error naming where it came from."""
    try:
        return Settings() if db is None else Settings(database_url=db)
    except ValidationError as error:
        problems = [
            f"{_source(str(problem['loc'][0]), db)}: {problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors(include_url=False)
        ]
        raise typer.BadParameter("; ".join(problems)) from None


def _source(setting: str, db: str | None) -> str:
    return "--db" if setting == "database_url" and db is not None else f"{ENV_PREFIX}{setting.upper()}"


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, as uvicorn binds it; a port in use ends the command with code 1.

    Bound here rather than by uvicorn's `Config.bind_socket`, which logs the bare OS error and exits with 3.
    """
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            typer.echo(f"Port {port} on {host} is in use; choose another with --port.", err=True)
        else:
            typer.echo(f"Cannot listen on port {port} of {host}: {error.strerror}; check --host and --port.", err=True)
        raise typer.Exit(1) from None
    return listener


def _address(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"http://[{host}]:{port}" if listener.family == socket.AF_INET6 else f"http://{host}:{port}"


def _migrate(settings: Settings) -> None:
    from promptcrafter.storage import Database
    from promptcrafter.storage.migrate import upgrade

    try:
        database = Database.from_settings(settings)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--db") from None
    try:
        upgrade(database)
    finally:
        database.close()


def register(app: typer.Typer) -> None:
    """Add the server commands to the `promptcrafter` command."""
    app.command(epilog=_environment_help())(serve)
    app.command(epilog=_environment_help())(migrate)
    app.command(epilog=_environment_help())(backup)
    app.add_typer(users_app, name="users")
