"""Export formats: JSON Lines, and CSV that spreadsheets open safely (EVALUATION.md §6)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from promptcrafter import messages
from promptcrafter.errors import Invalid

LOG_COLUMNS = (
    "_id",
    "promptId",
    "promptVersion",
    "modelUsed",
    "output",
    "notes",
    "score",
    "input",
    "latencyMs",
    "inputTokens",
    "outputTokens",
    "costUsd",
    "createdAt",
)
# A cell starting with one of these is a formula to a spreadsheet; a leading `'` makes it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_format(values: list[str], allowed: Sequence[str]) -> str:
    """The `format` asked for; 400 naming the parameter otherwise."""
    if len(values) != 1 or values[0] not in allowed:
        problem = {"field": "format", "message": f"Use one of {', '.join(allowed)}."}
        raise Invalid(messages.BAD_PARAMETERS, details=[problem])
    return values[0]


def jsonl(items: Iterable[Any]) -> bytes:
    """One JSON object per line, each line ending with a newline."""
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


def csv_header(columns: Sequence[str]) -> bytes:
    return _csv_rows([list(columns)])


def csv_rows(items: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """RFC 4180 rows (CRLF, quoted where needed) of the items' columns; objects as JSON."""
    return _csv_rows([[_cell(item[column]) for column in columns] for item in items])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = orjson.dumps(value).decode()
    elif isinstance(value, str):
        text = value
    else:
        return str(value)  # numbers: never a formula, whatever their sign
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_rows(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()
