"""The `promptcrafter` command: `serve` and `migrate` here, client commands beside them."""

from __future__ import annotations

import typer

from promptcrafter.cli import client, server

app = typer.Typer(
    name="promptcrafter",
    help="PromptCrafter: keep, test and evaluate generative-AI prompts.",
    no_args_is_help=True,
    add_completion=False,
)
server.register(app)
client.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
