"""Runs of a prompt over a dataset on several models, followed live and summed up with a verdict
(EVALUATION.md §10).

Exit codes as for the other client commands: 0 success, 1 an API or connection error, 2 a usage
error; a run stopped with Ctrl-C is cancelled on the server and exits 130.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from promptcrafter.cli.client import (
    Json,
    JsonOption,
    UrlOption,
    _comparison_view,
    _emit,
    _leaderboard_table,
    _session,
    _short_time,
)
from promptcrafter.cli.datasets import _dataset, _entries, _fields, _line, _variables
from promptcrafter.client import PromptCrafterClient
from promptcrafter.client_exceptions import ConflictError

POLL_SECONDS = 0.25
PREVIEW_CHARS = 40
FAILURES_SHOWN = 3
INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C

runs_app = typer.Typer(
    help="Runs of a prompt over a dataset: their progress, leaderboards and side-by-side results.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `run` and `runs` to the `promptcrafter` command."""
    app.command("run")(run_prompt)
    app.add_typer(runs_app, name="runs")


# Runs


RunArgument = Annotated[str, typer.Argument(metavar="RUN_ID", help="The run's id.", show_default=False)]
SCORER_HELP = (
    "How answers are graded; the first gives the score, repeat for more: exact, contains, regex:PATTERN, "
    "numeric (or numeric:TOLERANCE), json-schema:SCHEMA (JSON, or @FILE), judge:PROVIDER:MODEL:RUBRIC, "
    'or a JSON object such as \'{"type": "exact", "caseSensitive": true}\'.'
)


def _scorer(text: str) -> Json:
    """A scorer from its compact form or its JSON."""
    if text.lstrip().startswith("{"):
        return _json_object(text, "--scorer")
    kind, colon, rest = text.partition(":")
    if not colon:
        return {"type": kind}
    if kind == "regex":
        return {"type": kind, "pattern": rest}
    if kind == "numeric":
        try:
            return {"type": kind, "tolerance": float(rest)}
        except ValueError:
            raise typer.BadParameter(f"{text!r}: the tolerance is not a number", param_hint="--scorer") from None
    if kind == "json-schema":
        schema = _read_option_file(rest[1:], "--scorer") if rest.startswith("@") else rest
        return {"type": kind, "schema": _json_object(schema, "--scorer")}
    if kind == "judge":
        provider, _, remainder = rest.partition(":")
        model, _, rubric = remainder.partition(":")
        if not (provider and model and rubric):
            raise typer.BadParameter(f"{text!r}: give judge:PROVIDER:MODEL:RUBRIC", param_hint="--scorer")
        return {"type": kind, "provider": provider, "model": model, "rubric": rubric}
    raise typer.BadParameter(
        f"{text!r}: only regex, numeric, json-schema and judge take options after a colon; "
        'give others as JSON, such as \'{"type": "exact", "caseSensitive": true}\'',
        param_hint="--scorer",
    )


def _run_model(text: str) -> Json | str:
    """A model as `provider:model` (the SDK splits it) or as a JSON object with `params`."""
    if text.lstrip().startswith("{"):
        return _json_object(text, "--model")
    provider, colon, model = text.partition(":")
    if not (colon and provider and model):
        raise typer.BadParameter(f"{text!r}: give PROVIDER:MODEL, such as openai:gpt-4o-mini", param_hint="--model")
    return text


def _json_object(text: str, option: str) -> Json:
    try:
        value = json.loads(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not JSON", param_hint=option) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{text!r} is not a JSON object", param_hint=option)
    return value


def _read_option_file(path: str, option: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {path}: {error}", param_hint=option) from None


def run_prompt(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="The prompt's id.", show_default=False)],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="The dataset's id or name.", show_default=False)],
    models: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            help="PROVIDER:MODEL (the provider's name or id), or JSON such as "
            '\'{"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0}}\'; repeat for each model.',
            show_default=False,
        ),
    ],
    version: Annotated[int | None, typer.Option(min=1, help="Run this version (default: the current one).")] = None,
    label: Annotated[str | None, typer.Option(help="Run the version this label names.")] = None,
    repeats: Annotated[int | None, typer.Option(min=1, max=10, help="Calls per item and model (default 1).")] = None,
    scorers: Annotated[list[str] | None, typer.Option("--scorer", "-s", help=SCORER_HELP)] = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Print the run's id and return at once; the server runs it anyway.")
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a prompt over a dataset on models, with a live progress bar, then sum it up.

    The summary: the leaderboard (mean score, 95% interval, logs per model) and the failed calls.

    With two models, the verdict of `promptcrafter compare` on the run's logs (b − a: the second --model's lead).

    With more, the ranking, with 95% intervals of each rank.

    Ctrl-C cancels the run on the server (exit 130); exit 1 when every call failed. --json prints the finished run.
    """
    if version is not None and label is not None:
        raise typer.BadParameter("give --version or --label, not both.", param_hint="--label")
    chosen = [_run_model(model) for model in models]
    graders: list[Json | str] | None = [_scorer(scorer) for scorer in scorers] if scorers else None
    with _session(url) as client:
        dataset_id = _dataset(client, dataset)["_id"]
        started = client.start_run(
            prompt, dataset_id, chosen, version=version, label=label, repeats=repeats, scorers=graders
        )
        if detach:
            _emit(started, as_json, lambda run: run["_id"])
            if not as_json:
                typer.echo(f"Follow it with `promptcrafter runs show {started['_id']}`.", err=True)
            return
        typer.echo(_started(started), err=True)
        run, interrupted = _follow(client, started)
        # --json prints the run alone: the summary's other parts would go unread.
        comparison = None if as_json else _comparison(client, run)
        failures = [] if as_json else _failures(client, run)
    if interrupted:
        typer.echo(_cancelled(run), err=True)
    _emit(run, as_json, lambda found: _run_summary(found, comparison, failures))
    if interrupted:
        raise typer.Exit(INTERRUPTED)
    if run["status"] != "done":
        raise typer.Exit(1)


def _started(run: Json) -> str:
    total, models, repeats = run["progress"]["total"], len(run["models"]), run["repeats"]
    times = f" × {repeats} repeats" if repeats > 1 else ""
    return (
        f"Run {run['_id']} (version {run['version']}): "
        f"{total // (models * repeats):,} items × {models} models{times} = {total:,} calls."
    )


def _follow(client: PromptCrafterClient, run: Json) -> tuple[Json, bool]:
    """The run once it ends, and whether Ctrl-C ended it (by cancelling it on the server)."""
    try:
        with _run_progress(run) as show:
            return client.wait_for_run(run["_id"], poll_seconds=POLL_SECONDS, on_progress=show), False
    except KeyboardInterrupt:
        try:
            return client.cancel_run(run["_id"]), True
        except ConflictError:  # it finished meanwhile
            return client.get_run(run["_id"]), False


@contextmanager
def _run_progress(run: Json) -> Iterator[Callable[[Json], None]]:
    """A live bar on stderr when it is a terminal: calls answered or failed of all, failures, time."""
    if not sys.stderr.isatty():
        yield lambda run: None
        return
    columns = [
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls · {task.fields[failed]} failed ·"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(run["status"], total=run["progress"]["total"], failed=0)

        def show(current: Json) -> None:
            counts = current["progress"]
            progress.update(
                task,
                description=current["status"],
                completed=counts["done"] + counts["failed"],
                total=counts["total"],
                failed=counts["failed"],
            )

        yield show


def _comparison(client: PromptCrafterClient, run: Json) -> Json | None:
    """With two models, `compare` of the second against the first over this run's logs."""
    if run["status"] != "done" or len(run["models"]) != 2 or not run["scorers"]:
        return None
    a, b = (model["modelUsed"] for model in run["models"])
    if a == b:  # one model twice (with other params, say): its logs are one side
        return None
    return client.compare(run["promptId"], a, b, by="modelUsed", run_id=run["_id"])


def _failures(client: PromptCrafterClient, run: Json) -> list[str]:
    """The first few failed calls, as `model on "the item's input": error`."""
    if not run["progress"]["failed"]:
        return []
    found = []
    for result in client.run_results(run["_id"]):
        for output in result["outputs"]:
            if output["status"] == "failed":
                item = result["itemId"] if result["input"] is None else f'"{_short(_variables(result["input"]))}"'
                found.append(f"{output['modelUsed']} on {item}: {output['error']}")
                if len(found) == FAILURES_SHOWN:
                    return found
    return found


def _cancelled(run: Json) -> str:
    return f"Ctrl-C: cancelled run {run['_id']}; no other call starts."


def _run_summary(run: Json, comparison: Json | None, failures: list[str]) -> RenderableType:
    parts: list[RenderableType] = [Text(_headline(run), style="bold"), Text("")]
    board = run.get("leaderboard")
    if board is not None:
        parts.append(_leaderboard_table(board))
    if not run["scorers"] and run["status"] == "done":
        parts.append(Text("Nothing was scored: give --scorer (exact, contains, …) to grade the answers."))
    if failures:
        failed = run["progress"]["failed"]
        parts.append(Text(f"{failed:,} calls failed" + (f"; the first {len(failures)}:" if failed > 1 else ":")))
        parts.extend(Text(f"  {failure}") for failure in failures)
        parts.append(Text(""))
    if comparison is not None:
        parts.append(_comparison_view(comparison))
    elif board is not None and len(run["models"]) > 2:
        parts.append(_ranking(board))
    return Group(*parts)


def _headline(run: Json) -> str:
    progress = run["progress"]
    took = _duration(run["createdAt"], run["finishedAt"])
    return (
        f"{run['status'].capitalize()}: {progress['done']:,} of {progress['total']:,} calls answered, "
        f"{progress['failed']:,} failed" + (f", in {took}." if took else ".")
    )


def _duration(start: str, end: str | None) -> str | None:
    if end is None:
        return None
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {round(seconds % 60):d} s"


def _ranking(board: Json) -> RenderableType:
    """The ranking in words: each model's rank and its 95% interval, and whether one is clearly first."""
    ranked = [entry for entry in board["entries"] if entry["rank"] is not None]
    if not ranked:
        return Text("No scores to rank the models by.")
    lines = [
        f"{entry['rank']}. {entry['key']} (rank 95% interval {entry['rankCi95'][0]}–{entry['rankCi95'][1]})"
        for entry in ranked
    ]
    contenders = [str(entry["key"]) for entry in ranked if entry["rankCi95"][0] == 1]
    if len(contenders) == 1:
        verdict = f"{contenders[0]} ranks first: no other model's rank interval reaches 1."
    else:
        verdict = f"No clear winner: {_listed(contenders)} could each rank first; more items would tell them apart."
    return Group(Text("Ranking:"), *(Text(f"  {line}") for line in lines), Text(verdict, style="bold"))


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@runs_app.command("list")
def list_runs(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your runs, oldest first, with their status and progress."""
    with _session(url) as client:
        runs = client.list_runs()
    _emit(runs, as_json, _runs_table)


@runs_app.command("show")
def show_run(run_id: RunArgument, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """A run: its status, progress, models and scorers, and once done its leaderboard."""
    with _session(url) as client:
        run = client.get_run(run_id)
    _emit(run, as_json, _run_view)


@runs_app.command("results")
def run_results(run_id: RunArgument, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """A run item by item: input, expected answer, and each model's score and output side by side.

    Cut to the terminal's width; --json gives everything, with latency, cost and notes.
    """
    with _session(url) as client:
        run = client.get_run(run_id)
        results = client.run_results(run_id)
    _emit(results, as_json, lambda rows: _results_table(run, rows))


@runs_app.command("cancel")
def cancel_run(run_id: RunArgument, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Stop a run: no call starts after this (calls under way may still be stored)."""
    with _session(url) as client:
        run = client.cancel_run(run_id)
    _emit(run, as_json, lambda found: f"Cancelled run {found['_id']}: {_made(found['progress'])}.")


def _runs_table(runs: list[Json]) -> RenderableType:
    if not runs:
        return "No runs. Start one with `promptcrafter run PROMPT --dataset D --model PROVIDER:MODEL`."
    return _entries(
        (
            run["_id"],
            f"{run['status']}  {_made(run['progress'])}, {run['progress']['failed']:,} failed",
            [
                f"created {_short_time(run['createdAt'])} · prompt {run['promptId']} v{run['version']}",
                ", ".join(model["modelUsed"] for model in run["models"]),
            ],
        )
        for run in runs
    )


def _run_view(run: Json) -> RenderableType:
    progress = run["progress"]
    fields = _fields(
        ("ID", run["_id"]),
        ("Status", run["status"]),
        ("Progress", f"{_made(progress)}, {progress['failed']:,} failed"),
        ("Prompt", f"{run['promptId']} version {run['version']}"),
        ("Dataset", run["datasetId"]),
        ("Models", ", ".join(model["modelUsed"] for model in run["models"])),
        ("Repeats", str(run["repeats"])),
        ("Scorers", ", ".join(_scorer_text(scorer) for scorer in run["scorers"]) or "none"),
        ("Created", run["createdAt"]),
        ("Finished", run["finishedAt"] or "-"),
    )
    board = run.get("leaderboard")
    return fields if board is None else Group(fields, Text(""), _leaderboard_table(board))


def _scorer_text(scorer: Json) -> str:
    options = {name: value for name, value in scorer.items() if name != "type"}
    return str(scorer["type"]) + (f" {json.dumps(options, ensure_ascii=False)}" if options else "")


def _results_table(run: Json, results: list[Json]) -> RenderableType:
    if not results:
        return "No results."
    repeats = run["repeats"]
    keys = [(model["modelUsed"], repeat) for model in run["models"] for repeat in range(repeats)]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for heading in (
        "Input",
        "Expected",
        *(f"{model} #{repeat + 1}" if repeats > 1 else model for model, repeat in keys),
    ):
        # Narrow terminals shorten every column rather than drop the expected answers.
        table.add_column(heading, no_wrap=True, overflow="ellipsis", min_width=8)
    for result in results:
        answers = {(output["modelUsed"], output["repeat"]): output for output in result["outputs"]}
        inputs = "(item deleted)" if result["input"] is None else _variables(result["input"])
        table.add_row(
            Text(_line(inputs)),
            Text(_line(result["expected"] or "-")),
            *(_answer(answers.get(key)) for key in keys),
        )
    return table


def _answer(output: Json | None) -> Text:
    """One model's answer as a cell: its score first (it must survive the cut), then its output."""
    if output is None or output["status"] in ("pending", "claimed", "calling"):
        return Text("…", style="dim")
    if output["status"] == "failed":
        return Text(f"failed: {_line(output['error'] or '')}", style="red")
    if output["status"] == "cancelled":
        return Text("cancelled", style="dim")
    score = output["score"]
    cell = Text()
    if score is not None:
        cell.append(f"{score:g} ", style="green" if score >= 5 else "red")
    cell.append(_line(output["output"] or ""))
    return cell


def _short(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _made(progress: Json) -> str:
    """`12 of 50 calls made`: answered or failed, of all."""
    return f"{progress['done'] + progress['failed']:,} of {progress['total']:,} calls made"
