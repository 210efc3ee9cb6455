"""The files the SDK reads for `POST /import`: our JSON Lines export (prompts and logs, one
per line) and the public sample-data document (`{"prompts": [...], "logs": [...]}`).

A file is sent in batches small enough for the server's limits, prompts before logs so that
every log's prompt is already there; each item remembers where in the file it came from, so
that a refusal can name the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

Json = dict[str, Any]

BATCH_ITEMS = 500
# Well under the server's default 2 MiB body limit.
BATCH_BYTES = 1_000_000


class ImportFileError(ValueError):
    """The file is not one `import_file` reads; the message says where and why."""


@dataclass
class Batch:
    """One `POST /import` body's worth of a file's prompts or logs, with where each came from."""

    kind: str  # "prompts" or "logs"
    items: list[Json] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    size: int = 0

    def body(self) -> Json:
        return {self.kind: self.items}

    def origin(self, field_path: str) -> str | None:
        """Where the item a server's `field` (`logs.3.promptId`) names came from."""
        kind, _, rest = field_path.partition(".")
        index = rest.partition(".")[0]
        if kind != self.kind or not index.isdigit() or int(index) >= len(self.origins):
            return None
        return self.origins[int(index)]


@dataclass(frozen=True)
class ImportFile:
    """A file to import: how many items it holds, and its batches (read lazily)."""

    path: Path
    total: int
    _document: Json | None

    @classmethod
    def open(cls, path: Path) -> ImportFile:
        document = _document(path)
        if document is not None:
            return cls(path, len(document["prompts"]) + len(document["logs"]), document)
        with path.open("rb") as lines:
            total = sum(1 for line in lines if line.strip())
        return cls(path, total, None)

    def batches(self) -> Iterator[Batch]:
        """Every prompt, then every log, in batches."""
        for kind in ("prompts", "logs"):
            yield from _batched(kind, self._items(kind))

    def _items(self, kind: str) -> Iterator[tuple[Json, str, int]]:
        if self._document is not None:
            for number, item in enumerate(self._document[kind], start=1):
                yield item, f"{kind} item {number}", len(orjson.dumps(item))
            return
        with self.path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                item = _line_item(line, number)
                if _kind_of(item, number) == kind:
                    yield item, f"line {number}", len(line)


def _document(path: Path) -> Json | None:
    """The sample-data document the file holds, or None for JSON Lines."""
    try:
        with path.open("rb") as file:
            first = next((line for line in file if line.strip()), b"")
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error.strerror or error}") from None
    try:
        head = orjson.loads(first)
        if isinstance(head, dict) and not _is_document(head):
            return None  # a line of JSON Lines
    except orjson.JSONDecodeError:
        pass  # a document spread over several lines
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ImportFileError(f"{path} is neither JSON Lines nor a JSON document: {error}") from None
    if not isinstance(document, dict) or not _is_document(document):
        raise ImportFileError(f'{path} holds no "prompts" or "logs" list.')
    for kind in ("prompts", "logs"):
        items = document.setdefault(kind, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ImportFileError(f'"{kind}" in {path} must be a list of objects.')
    return document


def _is_document(data: Json) -> bool:
    return ("prompts" in data or "logs" in data) and "content" not in data and "output" not in data


def _line_item(line: bytes, number: int) -> Json:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ImportFileError(f"line {number} is not JSON: {error}") from None
    if not isinstance(item, dict):
        raise ImportFileError(f"line {number} is not a JSON object.")
    return item


def _kind_of(item: Json, number: int) -> str:
    if "output" in item:
        return "logs"
    if "content" in item:
        return "prompts"
    raise ImportFileError(f"line {number} is neither a prompt (no content) nor a log (no output).")


def _batched(kind: str, items: Iterator[tuple[Json, str, int]]) -> Iterator[Batch]:
    batch = Batch(kind)
    for item, origin, size in items:
        if batch.items and (len(batch.items) >= BATCH_ITEMS or batch.size + size > BATCH_BYTES):
            yield batch
            batch = Batch(kind)
        batch.items.append(item)
        batch.origins.append(origin)
        batch.size += size
    if batch.items:
        yield batch
