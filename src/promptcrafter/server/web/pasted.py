"""Dataset items pasted into a form as CSV or JSON Lines, read as the command line reads files
(`promptcrafter.dataset_files`). All or nothing: the first bad line is a problem naming it, and
no item is made."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from promptcrafter import dataset_files
from promptcrafter.schemas_runs import ITEMS_MAX, ItemCreate
from promptcrafter.server.web.forms import FormProblems

FIELD = "pasted"


def pasted_items(text: str) -> list[ItemCreate]:
    """The items of pasted CSV or JSON Lines (JSON Lines when the first line is an object), or
    FormProblems under `pasted` naming the first line that is wrong."""
    if not text.strip():
        raise FormProblems({FIELD: "Paste at least one item."})
    try:
        found = dataset_files.read_items(text, dataset_files.guess_format(text))
    except dataset_files.DatasetFileError as error:
        if error.line is None:
            raise FormProblems({FIELD: "No items: there is a header row, but no row below it."}) from None
        raise _problem(error.line, error.problem + ".") from None
    if len(found) > ITEMS_MAX:
        line = found[ITEMS_MAX][0]
        raise _problem(line, f"at most {ITEMS_MAX:,} items can be added at a time; add the rest from here on after.")
    return [_item(line, raw) for line, raw in found]


def _problem(line: int, message: str) -> FormProblems:
    return FormProblems({FIELD: f"Line {line}: {message}"})


def _item(line: int, raw: dict[str, Any]) -> ItemCreate:
    try:
        return ItemCreate.model_validate(raw)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise _problem(line, f"{where}: {message}.") from None
