"""Dataset items written as CSV or JSON Lines, read the same way by the command line
(`promptcrafter datasets import`) and the web pages (items pasted into a form).

CSV: a header row naming one column per variable, and optional `expected` and `metadata`
(a JSON object) columns; an empty `expected` cell is no expected answer. JSON Lines: one object
a line, either `{"input": {…}, "expected": …, "metadata": {…}}` or the variables themselves
beside `expected` and `metadata`; numbers and true/false become their JSON text.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal, NoReturn

Format = Literal["csv", "jsonl"]
EXPECTED, METADATA = "expected", "metadata"
Item = dict[str, Any]


class DatasetFileError(ValueError):
    """A problem with what was written, and the line it is on (None: the text as a whole)."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem if line is None else f"line {line}: {problem}")
        self.problem = problem
        self.line = line


def guess_format(text: str) -> Format:
    """JSON Lines when the first line that is not blank is an object, CSV otherwise."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    return "jsonl" if first.startswith("{") else "csv"


def read_items(text: str, format: Format) -> list[tuple[int, Item]]:
    """The items as the API takes them (`input`, and `expected`, `metadata` when given), each with
    the line it starts on; DatasetFileError for the first line that is wrong."""
    text = text.removeprefix("\ufeff")
    items = _csv_items(text) if format == "csv" else _jsonl_items(text)
    if not items:
        raise DatasetFileError("no items")
    return items


def _csv_items(text: str) -> list[tuple[int, Item]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    items: list[tuple[int, Item]] = []
    header: list[str] | None = None
    ended = 0  # the line the previous row ended on: a quoted value may span lines
    try:
        for row in reader:
            line, ended = ended + 1, reader.line_num
            if not row:
                continue
            if header is None:
                header = _header(row, line)
                continue
            if len(row) != len(header):
                raise DatasetFileError(f"{len(row)} fields; the header has {len(header)}", line)
            items.append((line, _csv_item(dict(zip(header, row, strict=True)), line)))
    except csv.Error as error:
        raise DatasetFileError(f"not CSV: {error}", reader.line_num) from None
    return items


def _header(row: list[str], line: int) -> list[str]:
    names = [name.strip() for name in row]
    for position, name in enumerate(names, start=1):
        if not name:
            raise DatasetFileError(f"column {position} of the header has no name", line)
        if names.index(name) != position - 1:
            raise DatasetFileError(f"the header names {name!r} twice", line)
    return names


def _csv_item(row: dict[str, str], line: int) -> Item:
    item: Item = {"input": {name: value for name, value in row.items() if name not in (EXPECTED, METADATA)}}
    # An empty cell is no expected answer (or no metadata), not an empty one.
    if row.get(EXPECTED):
        item[EXPECTED] = row[EXPECTED]
    if row.get(METADATA):
        try:
            metadata = json.loads(row[METADATA], parse_constant=_refuse_constant)
        except ValueError:
            raise DatasetFileError("metadata is not JSON", line) from None
        item[METADATA] = _metadata(metadata, line)
    return item


def _jsonl_items(text: str) -> list[tuple[int, Item]]:
    items: list[tuple[int, Item]] = []
    # Split on newlines only: JSON strings may hold other line separators (U+2028) as they are.
    for line, written in enumerate(text.split("\n"), start=1):
        if not written.strip():
            continue
        try:
            value = json.loads(written, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise DatasetFileError("not JSON", line) from None
        items.append((line, _jsonl_item(value, line)))
    return items


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _jsonl_item(value: Any, line: int) -> Item:
    if not isinstance(value, dict):
        raise DatasetFileError("not a JSON object", line)
    if isinstance(value.get("input"), dict):
        unknown = sorted(set(value) - {"input", EXPECTED, METADATA})
        if unknown:
            raise DatasetFileError(f"{unknown[0][:40]!r} beside input; an item has input, expected, metadata", line)
        variables = value["input"]
    else:
        variables = {name: text for name, text in value.items() if name not in (EXPECTED, METADATA)}
    item: Item = {"input": {name: _text(text, line, f"variable {name[:40]!r}") for name, text in variables.items()}}
    if value.get(EXPECTED) is not None:
        item[EXPECTED] = _text(value[EXPECTED], line, EXPECTED)
    if value.get(METADATA) is not None:
        item[METADATA] = _metadata(value[METADATA], line)
    return item


def _text(value: Any, line: int, what: str) -> str:
    """A variable or expected answer as text: numbers and booleans as their JSON (`3.5`, `true`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    kind = "null" if value is None else "a list" if isinstance(value, list) else "an object"
    raise DatasetFileError(f"{what} is {kind}; give a string, a number, true or false", line)


def _metadata(value: Any, line: int) -> Item:
    if not isinstance(value, dict):
        raise DatasetFileError("metadata is not a JSON object", line)
    return value
