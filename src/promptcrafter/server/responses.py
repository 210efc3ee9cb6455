"""JSON responses rendered with orjson, and JSON arrays streamed batch by batch."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

JSON_MEDIA_TYPE = "application/json; charset=utf-8"


class JSONResponse(Response):
    """A JSON body; faster than Starlette's own and with the contract's media type."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_array(batches: Iterable[Sequence[Any]]) -> Response:
    """`[item, …]`, streamed while the rows are read when there is more than one batch.

    The first batch is read before the response starts, so a failing query still gets a
    proper error status instead of a cut-off body; a result that fits in one batch (most
    do) is sent whole, sparing the streaming machinery.
    """
    remaining = iter(batches)
    first = next(remaining, [])
    second = next(remaining, None)
    if second is None:
        return Response(b"".join(_array_chunks(first, iter(()))), media_type=JSON_MEDIA_TYPE)
    chunks = _array_chunks(first, itertools.chain([second], remaining))
    return StreamingResponse(chunks, media_type=JSON_MEDIA_TYPE)


def _array_chunks(first: Sequence[Any], remaining: Iterator[Sequence[Any]]) -> Iterator[bytes]:
    separator = b"["
    for batch in itertools.chain([first], remaining):
        if batch:
            yield separator + b",".join(orjson.dumps(item) for item in batch)
            separator = b","
    yield b"[]" if separator == b"[" else b"]"
