"""The `promptcrafter` command: `serve` and `migrate` here, client commands beside them."""

from __future__ import annotations

import typer

from promptcrafter.cli import client, datasets, runs, server

app = typer.Typer(
    name="promptcrafter",
    help=(
        "PromptCrafter: keep, test and evaluate generative-AI prompts.\n\n"
        "Start a server with `promptcrafter serve` (http://127.0.0.1:8000, data in ./promptcrafter.db); "
        "then `promptcrafter signup` and the other commands below talk to it."
    ),
    invoke_without_command=True,
    add_completion=False,
)
server.register(app)
client.register(app)
datasets.register(app)
runs.register(app)


@app.callback()
def _overview(context: typer.Context) -> None:
    # `promptcrafter` alone lists the commands, as --help does, rather than guessing one (say,
    # starting a server); asking for them is no error.
    if context.invoked_subcommand is None:
        typer.echo(context.get_help())
        raise typer.Exit()


def main() -> None:
    """Console-script entry point."""
    app()
