"""Helpers that keep the OpenAPI document as exact as the handlers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from promptcrafter import messages
from promptcrafter.schemas import ErrorResponse

_REASONS = {
    400: "Malformed request or invalid data",
    401: "Not authenticated",
    403: "The resource belongs to another user",
    404: "No such resource",
    409: "Conflict with stored data",
    413: "Request body is too large",
    415: "The body is not declared as JSON",
    429: "Too many failed log-ins for this email",
    500: "Unexpected server error",
    503: "Database unavailable, or busy past the wait timeout",
}
# What a status says on every route that answers it; the others are the route's own (`saying`).
_USUAL = {
    400: (messages.BAD_PARAMETERS,),
    401: (messages.TOKEN_MISSING, messages.TOKEN_INVALID),
    413: (messages.BODY_TOO_LARGE,),
    415: (messages.NOT_JSON,),
    500: (messages.UNEXPECTED,),
    503: (messages.DATABASE_UNAVAILABLE, messages.SERVER_BUSY),
}
# A body that fails validation also lists the problems; a read-only field is one every body route refuses.
_DETAILS = {
    text: [{"field": "createdAt", "message": "Extra inputs are not permitted"}]
    for text in (messages.FIELDS_INVALID, messages.PROMPT_UPDATE_INVALID)
}
_EXAMPLE_NAMES = {text: name.lower() for name, text in vars(messages).items() if name.isupper()}
_RETRY_AFTER = {"schema": {"type": "integer", "minimum": 1}}
_HEADERS = {
    429: {"Retry-After": {**_RETRY_AFTER, "required": True, "description": "Seconds until the email is unlocked."}},
    503: {
        "Retry-After": {
            **_RETRY_AFTER,
            "description": "Seconds to wait before trying again; sent when the server is busy, "
            "not when the database is unavailable.",
        }
    },
}


def errors(
    *statuses: int, saying: Mapping[int, str | tuple[str, ...]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route, with an example of every message each can carry.

    `statuses` carry their usual messages; `saying` gives the route's own. Every route may also
    answer 500 and 503, and 400 for an unknown query parameter.
    """
    said = {status: (text,) if isinstance(text, str) else text for status, text in (saying or {}).items()}
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *said, 500, 503}):
        if status not in said and status not in _USUAL:
            raise ValueError(f"a {status} has no usual message: give the route's in `saying`")
        texts = said.get(status) or _USUAL[status]
        if status == 400 and messages.BAD_PARAMETERS not in texts:
            texts = (*texts, messages.BAD_PARAMETERS)
        examples = {_EXAMPLE_NAMES[text]: {"summary": text, "value": _error_body(text)} for text in texts}
        documented[status] = {
            "model": ErrorResponse,
            "description": _REASONS[status],
            "content": {"application/json": {"examples": examples}},
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
    return documented


def _error_body(text: str) -> dict[str, Any]:
    return {"error": text, "details": _DETAILS[text]} if text in _DETAILS else {"error": text}


PUBLIC: dict[str, Any] = {"security": []}


def query(name: str, description: str, *, required: bool) -> dict[str, Any]:
    """`openapi_extra` for a query parameter read from the request (to order its checks)."""
    return queries((name, description, required))


def queries(*parameters: tuple[str, str, bool]) -> dict[str, Any]:
    """`openapi_extra` for query parameters read from the request: (name, description, required)."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": required, "description": text, "schema": {"type": "string"}}
            for name, text, required in parameters
        ]
    }


def parameters(*described: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for query parameters described with `parameter`."""
    return {"parameters": list(described)}


def parameter(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    """A query parameter; an array schema means the parameter may repeat."""
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


TEXTS = {"type": "array", "items": {"type": "string"}}
# The log filters of EVALUATION.md §5, read by lists, exports and statistics alike.
LOG_FILTERS = [
    parameter("modelUsed", "Only logs of these models (any of them).", TEXTS),
    parameter("promptVersion", "Only logs of this version of the prompt.", {"type": "integer", "minimum": 1}),
    parameter("minScore", "Only logs scored at least this.", {"type": "number"}),
    parameter("maxScore", "Only logs scored at most this.", {"type": "number"}),
    parameter("scored", "Only scored (`true`) or unscored (`false`) logs.", {"enum": ["true", "false"]}),
    parameter("since", "Only logs created at or after this time.", {"type": "string", "format": "date-time"}),
    parameter("until", "Only logs created before this time.", {"type": "string", "format": "date-time"}),
    parameter("runId", "Only logs made by this run.", {"type": "string"}),
]


def paging(sorts: tuple[str, ...]) -> list[dict[str, Any]]:
    """The parameters of a list that pages (EVALUATION.md §5)."""
    described = [
        parameter(
            "limit",
            "Answer one page of at most this many rows; `Link: <…>; rel=\"next\"` names the next page. "
            "Without it the whole list comes, streamed.",
            {"type": "integer", "minimum": 1, "maximum": 1000},
        ),
        parameter("cursor", "Where the page starts: copied from the previous page's `Link`.", {"type": "string"}),
    ]
    if len(sorts) > 1:
        order = {"type": "string", "enum": list(sorts)}
        described.append(parameter("sort", f"The order; default `{sorts[0]}`.", order))
    return described


NEXT_PAGE_LINK = {
    "Link": {
        "description": 'With `limit`, when more rows follow: `<path?…&cursor=…>; rel="next"`.',
        "schema": {"type": "string"},
    }
}


_REFERRED: dict[str, Any] = {}


def body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself (to order its checks)."""
    schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    # The models it refers to (a batch's items) go to the document's components.
    _REFERRED.update(schema.pop("$defs", {}))
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document FastAPI generates, with the bearer scheme and without its unused 422s."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    document["security"] = [{"bearerAuth": []}]
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    for name, schema in _REFERRED.items():
        components.setdefault("schemas", {}).setdefault(name, schema)
    for path_item in document["paths"].values():
        for operation in path_item.values():
            operation.get("responses", {}).pop("422", None)
    _show_examples(document)
    app.openapi_schema = document
    return document


def _show_examples(document: dict[str, Any]) -> None:
    """Put every body schema's example where viewers look, its fields in the schema's order.

    pydantic sorts the keys of examples alphabetically, and Swagger UI 4 (the bundled viewer)
    shows only a media type's examples, never a schema's.
    """
    schemas = document["components"]["schemas"]
    media_types = list(_media_types(document))
    for schema in [*schemas.values(), *(media["schema"] for media in media_types)]:
        if "examples" in schema and "properties" in schema:
            fields = list(schema["properties"])
            schema["examples"] = [_in_order(example, fields) for example in schema["examples"]]
    for media in media_types:
        example = _example(media["schema"], schemas)
        if example is not None and "example" not in media and "examples" not in media:
            media["example"] = example


def _media_types(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for part in (operation.get("requestBody", {}), *operation["responses"].values()):
                yield from part.get("content", {}).values()


def _in_order(example: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    # Updating a key keeps its place: the fields come first in order, then anything else.
    return {**{name: example[name] for name in fields if name in example}, **example}


def _example(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """The schema's first example, or a one-item array of its items' first example."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rpartition("/")[2]]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("anyOf"):
        return _example(schema["anyOf"][0], schemas)
    if schema.get("type") == "array":
        item = _example(schema["items"], schemas)
        return None if item is None else [item]
    return None
