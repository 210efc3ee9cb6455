"""`promptcrafter serve` and `promptcrafter migrate`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from promptcrafter.config import Settings

ENV_PREFIX = "PROMPTCRAFTER_"


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
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes sharing the port.")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request to standard output.")] = True,
) -> None:
    """Migrate the database, then serve the API."""
    import uvicorn

    if db is not None:
        # Worker processes build their settings from the environment, so pass it on there.
        os.environ[f"{ENV_PREFIX}DATABASE_URL"] = db
    _migrate(Settings())
    uvicorn.run(
        "promptcrafter.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        # Many clients reuse connections; the default 5 s drops idle ones too eagerly.
        timeout_keep_alive=30,
        # Nothing here reads the client's address; parsing forwarding headers costs ~5 %.
        proxy_headers=False,
        http="promptcrafter.server.protocol:GuardedHttpToolsProtocol",
    )


def migrate(db: DbOption = None) -> None:
    """Bring the database to the current schema, e.g. before starting several servers."""
    settings = Settings() if db is None else Settings(database_url=db)
    _migrate(settings)
    typer.echo("Database is up to date.")


def _migrate(settings: Settings) -> None:
    from promptcrafter.storage import Database
    from promptcrafter.storage.migrate import upgrade

    try:
        database = Database(settings.database_url)
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
