"""Dataset and provider commands: test cases imported from CSV or JSON Lines, and the
OpenAI-compatible endpoints runs call (EVALUATION.md §10).

Exit codes as for the other client commands: 0 success, 1 an API or connection error or a file
that cannot be imported (its message on stderr), 2 a usage error.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from promptcrafter import dataset_files
from promptcrafter.cli.client import (
    Json,
    JsonOption,
    UrlOption,
    _ask,
    _emit,
    _progress,
    _session,
    _short_time,
)
from promptcrafter.client import ITEMS_PER_BATCH, PromptCrafterClient
from promptcrafter.client_exceptions import BadRequestError, PromptCrafterAPIError
from promptcrafter.dataset_files import DatasetFileError

PROVIDER_KEY_ENV = "PROMPTCRAFTER_PROVIDER_KEY"
# Well under the server's default 2 MiB body limit, whatever 1,000 items weigh.
BATCH_BYTES = 1_000_000
CELL_CHARS = 200
DATASET_PREFIX = "dataset_"
PROVIDER_PREFIX = "provider_"

datasets_app = typer.Typer(
    help="Datasets: test cases (the prompt's variables, optionally the expected answer) to run prompts on.",
    no_args_is_help=True,
)
providers_app = typer.Typer(
    help="Providers: OpenAI-compatible endpoints that runs call; their keys stay encrypted on the server.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `datasets` and `providers` to the `promptcrafter` command."""
    app.add_typer(datasets_app, name="datasets")
    app.add_typer(providers_app, name="providers")


# Dataset files


class FileFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


EXTENSIONS = {".csv": FileFormat.csv, ".jsonl": FileFormat.jsonl, ".ndjson": FileFormat.jsonl}


def read_items(path: Path, format: FileFormat) -> list[tuple[int, Json]]:
    """The file's items as the API takes them, each with the line it starts on."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetFileError("not UTF-8 text") from None
    return dataset_files.read_items(text, "csv" if format is FileFormat.csv else "jsonl")


def _batches(items: list[Json]) -> Iterator[tuple[int, list[Json]]]:
    """The items in request-sized batches (at most 1,000 items, well under the body limit),
    each with the index of its first item."""
    start, size = 0, 0
    batch: list[Json] = []
    for index, item in enumerate(items):
        weight = len(json.dumps(item, ensure_ascii=False).encode())
        if batch and (len(batch) == ITEMS_PER_BATCH or size + weight > BATCH_BYTES):
            yield start, batch
            start, batch, size = index, [], 0
        batch.append(item)
        size += weight
    if batch:
        yield start, batch


def _located(error: BadRequestError, lines: list[int]) -> BadRequestError:
    """The server's refusal of a batch, each detail saying which line of the file its item is on."""
    details = []
    for detail in error.details or []:
        index = detail.get("index")
        where = {"origin": f"line {lines[index]}"} if isinstance(index, int) and 0 <= index < len(lines) else {}
        details.append({**detail, **where})
    return BadRequestError(error.message, status_code=error.status_code, details=details, response=error.response)


# Datasets


@datasets_app.command("import")
def import_dataset(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The dataset: created, or added to if you have one of this name.")
    ],
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="CSV: a header row, one column per variable, optional `expected` and `metadata` (JSON) columns. "
            'JSONL: one object a line, {"input": {...}, "expected": ..., "metadata": {...}} or the variables '
            "themselves beside `expected`; numbers and booleans become their JSON text.",
            show_default=False,
        ),
    ],
    description: Annotated[str | None, typer.Option(help="The dataset's description (replaces the old one).")] = None,
    format: Annotated[
        FileFormat | None, typer.Option("--format", help="Read the file as this (default: from its extension).")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a CSV or JSONL file's test cases to a dataset (made if need be).

    The whole file is read first: a line that cannot be imported is named, and nothing is stored.

    Items go in batches of up to 1,000, with a progress bar on a terminal.

    An item the server refuses is named by its line; the batches before it stay.
    """
    file_format = format or EXTENSIONS.get(file.suffix.lower())
    if file_format is None:
        raise typer.BadParameter(
            f"cannot tell the format of {file.name}: name it .csv or .jsonl, or give --format", param_hint="FILE"
        )
    try:
        located = read_items(file, file_format)
    except OSError as error:
        raise typer.BadParameter(f"cannot read {file}: {error.strerror}", param_hint="FILE") from None
    except DatasetFileError as error:
        _refuse(f"{file}: {error}")
    lines = [line for line, _ in located]
    items = [item for _, item in located]
    with _session(url) as client:
        dataset, created = _dataset_to_fill(client, name, description)
        stored = 0
        try:
            with _progress("Uploading", bytes_done=False) as advance:
                advance(0, len(items))
                for start, batch in _batches(items):
                    try:
                        client.add_items(dataset["_id"], batch)
                    except BadRequestError as error:
                        raise _located(error, lines[start : start + len(batch)]) from None
                    stored += len(batch)
                    advance(stored, len(items))
        except PromptCrafterAPIError:
            _after_refusal(client, dataset, created=created, stored=stored)
            raise
        dataset = client.get_dataset(dataset["_id"])
    if created:
        summary = f"Created dataset {name} ({dataset['_id']}) with {stored:,} items."
    else:
        summary = (
            f"Added {stored:,} items to your existing dataset {name} ({dataset['_id']}); "
            f"it now holds {dataset['itemCount']:,}."
        )
    _emit(dataset, as_json, lambda _: summary)


def _dataset_to_fill(client: PromptCrafterClient, name: str, description: str | None) -> tuple[Json, bool]:
    """Your dataset of that name (its description replaced when one is given), or a new one;
    and whether it is new."""
    named = [dataset for dataset in client.list_datasets() if dataset["name"] == name]
    if len(named) > 1:
        _refuse(f"You have {len(named)} datasets named {name!r}; rename all but one (their ids: {_ids(named)}).")
    if not named:
        return client.create_dataset(name, description=description), True
    if description is not None:
        return client.update_dataset(named[0]["_id"], description=description), False
    return named[0], False


def _after_refusal(client: PromptCrafterClient, dataset: Json, *, created: bool, stored: int) -> None:
    """After a refused batch: no empty dataset left behind, and what was stored said."""
    if created and not stored:
        try:
            client.delete_dataset(dataset["_id"])
        except PromptCrafterAPIError:
            pass  # The refusal is what to report; an empty dataset is harmless.
    elif stored:
        typer.echo(f"{stored:,} items before the refused one were stored in {dataset['_id']}.", err=True)


@datasets_app.command("list")
def list_datasets(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your datasets, oldest first, with how many items each holds."""
    with _session(url) as client:
        datasets = client.list_datasets()
    _emit(datasets, as_json, _datasets_table)


@datasets_app.command("show")
def show_dataset(
    dataset: Annotated[str, typer.Argument(metavar="DATASET", help="The dataset's id or name.")],
    items: Annotated[int, typer.Option("--items", min=0, help="How many of its first items to show.")] = 10,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A dataset and its first items (--json: {"dataset": …, "items": …})."""
    with _session(url) as client:
        found = _dataset(client, dataset)
        first = client.list_items(found["_id"])[:items] if items else []
    _emit({"dataset": found, "items": first}, as_json, _dataset_view)


@datasets_app.command("rm")
def remove_dataset(
    dataset: Annotated[str, typer.Argument(metavar="DATASET", help="The dataset's id or name.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a dataset with its items and runs (the logs its runs made stay). --json prints nothing."""
    with _session(url) as client:
        found = _dataset(client, dataset)
        client.delete_dataset(found["_id"])
    if not as_json:
        typer.echo(f"Deleted dataset {found['name']} ({found['_id']}) and its {found['itemCount']:,} items.")


def _dataset(client: PromptCrafterClient, wanted: str) -> Json:
    """Your dataset whose id, or else name, is `wanted`; exits 1 when none is (or several are)."""
    datasets = client.list_datasets()
    for dataset in datasets:
        if dataset["_id"] == wanted:
            return dataset
    named = [dataset for dataset in datasets if dataset["name"] == wanted]
    if len(named) > 1:
        _refuse(f"You have {len(named)} datasets named {wanted!r}; give one's id: {_ids(named)}.")
    if named:
        return named[0]
    if wanted.startswith(DATASET_PREFIX):
        return client.get_dataset(wanted)  # someone else's, or none: the server says which
    _refuse(f"No dataset of yours is named {wanted!r}; `promptcrafter datasets list` shows them.")


def _datasets_table(datasets: list[Json]) -> RenderableType:
    # An entry of a few lines each, as for API keys: an id alone takes half of a terminal of 80.
    if not datasets:
        return "No datasets. Make one with `promptcrafter datasets import NAME FILE`."
    return _entries(
        (
            dataset["_id"],
            dataset["name"],
            [
                f"{dataset['itemCount']:,} items · created {_short_time(dataset['createdAt'])}"
                + (f" · {_line(dataset['description'])}" if dataset["description"] else "")
            ],
        )
        for dataset in datasets
    )


def _dataset_view(shown: Json) -> RenderableType:
    dataset, items = shown["dataset"], shown["items"]
    fields = _fields(
        ("ID", dataset["_id"]),
        ("Name", dataset["name"]),
        ("Description", dataset["description"] or "-"),
        ("Items", f"{dataset['itemCount']:,}"),
        ("Created", dataset["createdAt"]),
    )
    if not items:
        return fields
    table = Table("#", "Input", "Expected", "Metadata", box=box.SIMPLE_HEAD)
    for column in table.columns[1:]:
        column.overflow = "ellipsis"
    for number, item in enumerate(items, start=1):
        metadata = "" if item["metadata"] is None else json.dumps(item["metadata"], ensure_ascii=False)
        table.add_row(
            *(Text(cell) for cell in (str(number), _variables(item["input"]), item["expected"] or "-")),
            Text(_line(metadata)),
        )
    parts: list[RenderableType] = [fields, table]
    if dataset["itemCount"] > len(items):
        parts.append(Text(f"The first {len(items):,} of {dataset['itemCount']:,}; --items shows more."))
    return Group(*parts)


# Providers


def _no_key_argument(context: typer.Context, parameter: typer.CallbackParam, value: str | None) -> str | None:
    """Refuse a key typed as an argument; only the environment may give it this way."""
    source = context.get_parameter_source(parameter.name or "")
    if value is not None and source is not None and source.name == "COMMANDLINE":
        raise typer.BadParameter(
            f"never give a key as an argument: your shell's history would keep it. "
            f"Pipe it in with --api-key-stdin, or set {PROVIDER_KEY_ENV}."
        )
    return value


def _priced_model(text: str) -> Json:
    """`NAME` or `NAME=IN_PRICE,OUT_PRICE` as a provider's model."""
    name, equals, prices = text.rpartition("=") if "=" in text else (text, "", "")
    if not name:
        raise typer.BadParameter(f"{text!r} names no model", param_hint="--model")
    if not equals:
        return {"name": name}
    figures = prices.split(",")
    try:
        numbers = [float(figure) for figure in figures]
    except ValueError:
        numbers = []
    if len(numbers) != 2 or not all(math.isfinite(number) and number >= 0 for number in numbers):
        raise typer.BadParameter(
            f"{text!r}: give NAME=IN_PRICE,OUT_PRICE, in USD per million tokens, such as gpt-4o-mini=0.15,0.6",
            param_hint="--model",
        )
    return {"name": name, "inputPer1M": numbers[0], "outputPer1M": numbers[1]}


@providers_app.command("add")
def add_provider(
    name: Annotated[str, typer.Argument(metavar="NAME", help="How runs name it: `--model NAME:MODEL`.")],
    base_url: Annotated[
        str, typer.Argument(metavar="BASE_URL", help="Its OpenAI-compatible base URL, e.g. https://api.openai.com/v1.")
    ],
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="NAME, or NAME=IN_PRICE,OUT_PRICE in USD per million tokens (for the logs' cost); repeatable.",
        ),
    ] = None,
    api_key_stdin: Annotated[
        bool,
        typer.Option(
            "--api-key-stdin",
            help=f"Read the API key from stdin's first line (asked, hidden, on a terminal). Without this, "
            f"the key comes from {PROVIDER_KEY_ENV} if set.",
        ),
    ] = False,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar=PROVIDER_KEY_ENV, hidden=True, callback=_no_key_argument)
    ] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, max=64, help="Calls at once (server default 4).")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=1, max=600, help="Seconds per call attempt (server default 60).")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an OpenAI-compatible endpoint for runs.

    Its key is stored encrypted and never shown again, only its last 4 characters.

    The key is never an argument, which shell history would keep: use --api-key-stdin or PROMPTCRAFTER_PROVIDER_KEY.
    """
    priced = [_priced_model(model) for model in models or []]
    key = _provider_key(api_key, api_key_stdin)
    with _session(url) as client:
        provider = client.create_provider(
            name, base_url, api_key=key, models=priced or None, concurrency=concurrency, timeout_seconds=timeout
        )
    _emit(
        provider,
        as_json,
        lambda p: (
            f"Added provider {p['name']} ({p['_id']}), "
            + (f"key {p['apiKeyHint']}." if p["apiKeyHint"] else "without a key.")
        ),
    )


def _provider_key(from_environment: str | None, from_stdin: bool) -> str | None:
    if not from_stdin:
        return from_environment or None
    if from_environment:
        raise typer.BadParameter(
            f"give --api-key-stdin or ${PROVIDER_KEY_ENV}, not both.", param_hint="--api-key-stdin"
        )
    if sys.stdin.isatty():
        return _ask(None, "API key", "--api-key-stdin", secret=True)
    key = sys.stdin.readline().strip()
    if not key:
        raise typer.BadParameter("stdin held no key.", param_hint="--api-key-stdin")
    return key


@providers_app.command("list")
def list_providers(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your providers: their URL, models and prices, and the last characters of their key."""
    with _session(url) as client:
        providers = client.list_providers()
    _emit(providers, as_json, _providers_table)


@providers_app.command("rm")
def remove_provider(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="The provider's id or name.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a provider (runs still under way that need it fail their remaining calls). --json prints nothing."""
    with _session(url) as client:
        found = next(
            (p for p in client.list_providers() if provider in (p["_id"], p["name"])),
            None,
        )
        if found is None and not provider.startswith(PROVIDER_PREFIX):
            _refuse(f"No provider of yours is named {provider!r}; `promptcrafter providers list` shows them.")
        client.delete_provider(provider if found is None else found["_id"])
    shown = provider if found is None else f"{found['name']} ({found['_id']})"
    if not as_json:
        typer.echo(f"Deleted provider {shown}.")


def _providers_table(providers: list[Json]) -> RenderableType:
    if not providers:
        return "No providers. Add one with `promptcrafter providers add NAME BASE_URL`."
    return _entries(
        (
            provider["_id"],
            f"{provider['name']}  key {provider['apiKeyHint'] or 'none'}",
            [
                f"{provider['baseUrl']} · {provider['concurrency']} at once · {provider['timeoutSeconds']:g} s a call",
                "models: " + (", ".join(_price(model) for model in provider["models"]) or "any"),
            ],
        )
        for provider in providers
    )


def _price(model: Json) -> str:
    if model["inputPer1M"] is None and model["outputPer1M"] is None:
        return str(model["name"])
    return f"{model['name']} (${_money(model['inputPer1M'])}/${_money(model['outputPer1M'])} per 1M in/out)"


def _money(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


# Shared


def _entries(entries: Iterable[tuple[str, str, list[str]]]) -> Text:
    """A list of a few lines an entry: its id in bold and a summary, then its details, indented."""
    lines = Text()
    for identifier, summary, details in entries:
        lines.append(f"{identifier}  ", style="bold")
        lines.append(f"{summary}\n")
        for detail in details:
            lines.append(f"  {detail}\n")
    lines.rstrip()
    return lines


def _fields(*rows: tuple[str, str]) -> Table:
    grid = Table.grid(padding=(0, 2))
    for label, value in rows:
        grid.add_row(Text(label, style="bold"), Text(value))
    return grid


def _variables(variables: dict[str, str]) -> str:
    if len(variables) == 1:
        return _line(next(iter(variables.values())))
    return "; ".join(f"{name}={_line(value)}" for name, value in variables.items())


def _line(text: str) -> str:
    """The text on one line, at most CELL_CHARS long: a table cell."""
    flat = " ".join(text.split())
    return flat if len(flat) <= CELL_CHARS else flat[: CELL_CHARS - 1] + "…"


def _ids(datasets: list[Json]) -> str:
    return ", ".join(dataset["_id"] for dataset in datasets)


def _refuse(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)
