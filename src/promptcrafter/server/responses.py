"""JSON responses rendered with orjson, and JSON arrays streamed batch by batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

JSON_MEDIA_TYPE = "application/json; charset=utf-8"


class JSONResponse(Response):
    """A JSON body; faster than Starlette's own and with the contract's media type."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def json_array(pages: AsyncIterator[tuple[list[Any], bool]], shape: Callable[[Any], Any]) -> Response:
    """`[shape(record), …]` from a list read page by page (`Database.pages`).

    The first page is read before the response starts, so a failing query still gets a
    proper error status instead of a cut-off body; a list that fits in one page (most
    do) is sent whole. Longer lists are streamed, each further page read only once the
    client has taken the one before, so a client that stops reading stops costing.
    """
    first, last = await anext(pages)
    if last:
        return Response(b"[" + _joined(first, shape) + b"]", media_type=JSON_MEDIA_TYPE)
    return StreamingResponse(_array_chunks(first, pages, shape), media_type=JSON_MEDIA_TYPE)


async def _array_chunks(
    first: Sequence[Any], remaining: AsyncIterator[tuple[list[Any], bool]], shape: Callable[[Any], Any]
) -> AsyncIterator[bytes]:
    # A page followed by others is never empty; a later one may be (rows deleted meanwhile).
    yield b"[" + _joined(first, shape)
    async for items, _last in remaining:
        if items:
            yield b"," + _joined(items, shape)
    yield b"]"


def _joined(items: Sequence[Any], shape: Callable[[Any], Any]) -> bytes:
    return b",".join(orjson.dumps(shape(item)) for item in items)


def json_page(records: Sequence[Any], shape: Callable[[Any], Any], next_page: str | None) -> Response:
    """`[shape(record), …]` of one limited page, with `Link: <next_page>; rel="next"` when
    more follow."""
    headers = {} if next_page is None else {"Link": f'<{next_page}>; rel="next"'}
    return Response(b"[" + _joined(records, shape) + b"]", media_type=JSON_MEDIA_TYPE, headers=headers)


async def download(
    chunks: AsyncIterator[bytes], *, filename: str, media_type: str
) -> Response:
    """A streamed file to save (`Content-Disposition: attachment`).

    The first chunk is made before the response starts, so a failing first query still
    gets a proper error status.
    """
    first = await anext(chunks, b"")

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body(), media_type=media_type, headers=headers)
