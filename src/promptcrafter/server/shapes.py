"""How stored records look in the API: the one place that knows `_id`, the camelCase field
names and ISO 8601 timestamps.

The `*Read` schemas in `schemas.py` describe the same shapes for the OpenAPI document, and
`tests/test_shapes.py` proves the two agree. Responses are built here rather than through
the schemas because validating every row of a long list would cost more than reading it.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from promptcrafter.domain import templates
from promptcrafter.domain.imports import ImportResult, Placed
from promptcrafter.storage.api_keys import KeyRecord
from promptcrafter.storage.logs import LogRecord
from promptcrafter.storage.prompts import PromptRecord
from promptcrafter.storage.users import UserRecord
from promptcrafter.storage.versions import LabelRecord, VersionRecord


def prompt(record: PromptRecord) -> dict[str, Any]:
    return {
        "_id": record["id"],
        "ownerId": record["owner_id"],
        "title": record["title"],
        "content": record["content"],
        "model": record["model"],
        "tags": record["tags"],
        "version": record["version"],
        "variables": templates.variables(record["content"]),
        "createdAt": timestamp(record["created_at"]),
        "updatedAt": timestamp(record["updated_at"]),
    }


def log(record: LogRecord) -> dict[str, Any]:
    return {
        "_id": record["id"],
        "promptId": record["prompt_id"],
        "output": record["output"],
        "notes": record["notes"],
        "modelUsed": record["model_used"],
        "score": record["score"],
        "promptVersion": record["prompt_version"],
        "input": record["input"],
        "latencyMs": record["latency_ms"],
        "inputTokens": record["input_tokens"],
        "outputTokens": record["output_tokens"],
        "costUsd": record["cost_usd"],
        "createdAt": timestamp(record["created_at"]),
    }


def version(record: VersionRecord) -> dict[str, Any]:
    return {
        "version": record["version"],
        "title": record["title"],
        "content": record["content"],
        "model": record["model"],
        "tags": record["tags"],
        "variables": templates.variables(record["content"]),
        "labels": record["labels"],
        "createdAt": timestamp(record["created_at"]),
    }


def label(record: LabelRecord) -> dict[str, Any]:
    return {"label": record["label"], "version": record["version"], "updatedAt": timestamp(record["updated_at"])}


def diff(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "from": record["from"],
        "to": record["to"],
        "changes": record["changes"],
        "contentDiff": record["content_diff"],
    }


def import_result(result: ImportResult) -> dict[str, Any]:
    def counts(placed: Placed) -> dict[str, int]:
        return {"created": len(placed.new), "existing": placed.existing}

    return {
        "prompts": counts(result.prompts),
        "logs": counts(result.logs),
        "ids": {"prompts": result.prompts.targets, "logs": result.logs.targets},
    }


def user(record: UserRecord) -> dict[str, Any]:
    return {
        "_id": record["id"],
        "name": record["name"],
        "email": record["email"],
        "createdAt": timestamp(record["created_at"]),
    }


def key(record: KeyRecord) -> dict[str, Any]:
    """An API key as `GET /auth/keys` shows it: never the key itself."""
    return {
        "_id": record["id"],
        "name": record["name"],
        "scopes": record["scopes"],
        "prefix": record["prefix"],
        "createdAt": timestamp(record["created_at"]),
        "expiresAt": None if record["expires_at"] is None else timestamp(record["expires_at"]),
        "lastUsedAt": None if record["last_used_at"] is None else timestamp(record["last_used_at"]),
    }


def timestamp(ms: int) -> str:
    """Milliseconds since the Unix epoch as ISO 8601 UTC: `2026-11-26T05:43:40.123Z`."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_seconds(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    # strftime is slow, and lists show many timestamps of the same second.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
