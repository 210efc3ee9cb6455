"""Exports: GET /logs/export (JSON Lines or CSV) and GET /prompts/export (JSON Lines, each
prompt with its versions), streamed a page at a time; and POST /import, which reads them back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import exports, imports, listing
from promptcrafter.schemas import ImportBatch, ImportRead
from promptcrafter.server import shapes
from promptcrafter.server.api.logs import LISTING_ERRORS, listed_prompt, scope_of
from promptcrafter.server.deps import Authenticated, Body, Caller, authenticated, parse_body
from promptcrafter.server.openapi import LOG_FILTERS, body, errors, parameter, parameters
from promptcrafter.server.responses import JSONResponse, download
from promptcrafter.server.routing import DirectRoute
from promptcrafter.storage import logs, prompts, versions

router = APIRouter(tags=["export and import"], route_class=DirectRoute)
LogExporter = Annotated[Caller, authenticated("format", "promptId", "sort", *listing.LOG_FILTERS)]
PromptExporter = Annotated[Caller, authenticated("format")]
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
_LOG_LINE = '{"_id":"log_01M8KK11GQ57PJF8HE9SSBGTZ0","promptId":"prompt_01M8KJT9G029GMMM8WXDWBP2XJ",…}\n'
_CSV = "_id,promptId,promptVersion,modelUsed,output,…\r\nlog_01M8KK11GQ57PJF8HE9SSBGTZ0,prompt_01M8KJT9G…,3,…\r\n"
_PROMPT_LINE = '{"_id":"prompt_01M8KJT9G029GMMM8WXDWBP2XJ",…,"versions":[{"version":3,…},…]}\n'
FORMAT = parameter("format", "`jsonl` (one log per line) or `csv`.", {"enum": list(FORMATS)}, required=True)


@router.get(
    "/logs/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                FORMATS["jsonl"]: {"schema": {"type": "string", "examples": [_LOG_LINE]}},
                FORMATS["csv"]: {"schema": {"type": "string", "examples": [_CSV]}},
            }
        },
        **LISTING_ERRORS,
    },
    openapi_extra=parameters(
        FORMAT,
        parameter("promptId", "Only this prompt's logs.", {"type": "string"}),
        *LOG_FILTERS,
        parameter("sort", "The order; default `createdAt`.", {"enum": list(listing.LOG_SORTS)}),
    ),
)
async def export_logs(caller: LogExporter) -> Response:
    """Every log that passes the list filters, as a file: JSON Lines, or CSV with a header row
    (`input` as JSON text; a cell that a spreadsheet would read as a formula starts with `'`)."""
    chosen = exports.export_format(caller.params.get("format", []), list(FORMATS))
    request = listing.logs_request({name: values for name, values in caller.params.items() if name != "format"})
    scope = await scope_of(caller, listed_prompt(caller))
    pages = caller.pages(logs.page, filters={**request.filters, **scope}, order=request.order)
    return await download(_log_chunks(pages, chosen), filename=f"logs.{chosen}", media_type=FORMATS[chosen])


async def _log_chunks(pages: AsyncIterator[tuple[list[Any], bool]], chosen: str) -> AsyncIterator[bytes]:
    if chosen == "csv":
        yield exports.csv_header(exports.LOG_COLUMNS)
    async for records, _last in pages:
        shaped = [shapes.log(record) for record in records]
        yield exports.csv_rows(shaped, exports.LOG_COLUMNS) if chosen == "csv" else exports.jsonl(shaped)


@router.get(
    "/prompts/export",
    response_class=Response,
    responses={
        200: {"content": {FORMATS["jsonl"]: {"schema": {"type": "string", "examples": [_PROMPT_LINE]}}}},
        **errors(400, 401),
    },
    openapi_extra=parameters(
        parameter("format", "`jsonl`: one prompt per line, with its `versions`.", {"enum": ["jsonl"]}, required=True)
    ),
)
async def export_prompts(caller: PromptExporter) -> Response:
    """Every prompt, one per line, each with all its versions (newest first) and their labels."""
    exports.export_format(caller.params.get("format", []), ["jsonl"])
    pages = caller.pages(prompts.page, filters={"owner_id": caller.user_id})
    return await download(_prompt_lines(caller, pages), filename="prompts.jsonl", media_type=FORMATS["jsonl"])


async def _prompt_lines(caller: Caller, pages: AsyncIterator[tuple[list[Any], bool]]) -> AsyncIterator[bytes]:
    # A prompt's versions are read page by page too: however many there are, no more than a
    # page of them is held at once.
    async for records, _last in pages:
        for record in records:
            line = [orjson.dumps(shapes.prompt(record))[:-1] + b',"versions":[']
            separator = b""
            async for snapshots, _ in caller.pages(versions.page_newest_first, prompt_id=record["id"]):
                for snapshot in snapshots:
                    line.append(separator + orjson.dumps(shapes.version(snapshot)))
                    separator = b","
                yield b"".join(line)
                line = []
            yield b"]}\n"


@router.post(
    "/import",
    response_model=ImportRead,
    responses=errors(401, 413, 415, saying={400: messages.FIELDS_INVALID}),
    openapi_extra=body(ImportBatch),
)
async def import_records(caller: Authenticated, raw: Body) -> Response:
    """Add up to 1,000 prompts (with their versions and labels) and logs to your library, all
    or none: lines of `/prompts/export` and `/logs/export`, or the items of the public sample
    data. Ids are kept where free and replaced where another user has them (`ids` says where
    each went); what was imported before, or is already yours, is not added again."""
    request = parse_body(raw, ImportBatch, messages.FIELDS_INVALID)
    result = await caller.write(imports.import_batch, bulk=True, user_id=caller.user_id, request=request)
    return JSONResponse(shapes.import_result(result))
