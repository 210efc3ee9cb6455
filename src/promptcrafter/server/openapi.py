"""Helpers that keep the OpenAPI document as exact as the handlers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from promptcrafter.schemas import ErrorResponse

_REASONS = {
    400: "Malformed request or invalid data",
    401: "Missing, expired or invalid token",
    403: "The resource belongs to another user",
    404: "No such resource",
    409: "Conflict with stored data",
    413: "Request body is too large",
    415: "The body is not declared as JSON",
    429: "Too many attempts",
    503: "Database unavailable, or busy past the wait timeout (with Retry-After)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route; every route may also answer 503 and 500."""
    documented = {
        status: {"model": ErrorResponse, "description": _REASONS[status]} for status in (*statuses, 503)
    }
    documented[500] = {"model": ErrorResponse, "description": "Unexpected server error"}
    return documented  # type: ignore[return-value]


PUBLIC: dict[str, Any] = {"security": []}


def query(name: str, description: str, *, required: bool) -> dict[str, Any]:
    """`openapi_extra` for a query parameter read from the request (to order its checks)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": required,
                "description": description,
                "schema": {"type": "string"},
            }
        ]
    }


def body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself (to order its checks)."""
    schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
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
    for path_item in document["paths"].values():
        for operation in path_item.values():
            operation.get("responses", {}).pop("422", None)
    app.openapi_schema = document
    return document
