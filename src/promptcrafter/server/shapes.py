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
from promptcrafter.domain.runs import model_used
from promptcrafter.storage.api_keys import KeyRecord
from promptcrafter.storage.datasets import DatasetRecord, ItemRecord
from promptcrafter.storage.logs import LogRecord
from promptcrafter.storage.prompts import PromptRecord
from promptcrafter.storage.providers import ProviderRecord
from promptcrafter.storage.runs import RunRecord
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
        "runId": record["run_id"],
        "itemId": record["item_id"],
        "scores": record["scores"],
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


def dataset(record: DatasetRecord) -> dict[str, Any]:
    return {
        "_id": record["id"],
        "name": record["name"],
        "description": record["description"],
        "itemCount": record["item_count"],
        "createdAt": timestamp(record["created_at"]),
    }


def item(record: ItemRecord) -> dict[str, Any]:
    return {
        "_id": record["id"],
        "input": record["input"],
        "expected": record["expected"],
        "metadata": record["metadata"],
        "createdAt": timestamp(record["created_at"]),
    }


def provider(record: ProviderRecord) -> dict[str, Any]:
    """A provider as the API shows it: never its key, only the key's last characters."""
    return {
        "_id": record["id"],
        "name": record["name"],
        "baseUrl": record["base_url"],
        "apiKeyHint": record["api_key_hint"],
        "models": record["models"],
        "concurrency": record["concurrency"],
        "timeoutSeconds": record["timeout_seconds"],
        "createdAt": timestamp(record["created_at"]),
        "updatedAt": timestamp(record["updated_at"]),
    }


def run(record: RunRecord, leaderboard: dict[str, Any] | None = None) -> dict[str, Any]:
    shown = {
        "_id": record["id"],
        "promptId": record["prompt_id"],
        "version": record["prompt_version"],
        "datasetId": record["dataset_id"],
        "models": [{**model, "modelUsed": model_used(model)} for model in record["models"]],
        "repeats": record["repeats"],
        "scorers": record["scorers"],
        "status": record["status"],
        "progress": {"done": record["done"], "failed": record["failed"], "total": record["total"]},
        "createdAt": timestamp(record["created_at"]),
        "finishedAt": None if record["finished_at"] is None else timestamp(record["finished_at"]),
    }
    if leaderboard is not None:
        shown["leaderboard"] = leaderboard
    return shown


def run_result(result: dict[str, Any], models: list[dict[str, Any]]) -> dict[str, Any]:
    """One item of a run's results: its input, expected answer, and each model's answers."""
    return {
        "itemId": result["item_id"],
        "input": result["input"],
        "expected": result["expected"],
        "outputs": [
            {
                "modelUsed": model_used(models[output["model_index"]]),
                "repeat": output["repeat"],
                "status": output["status"],
                "error": output["error"],
                "logId": output["log_id"],
                "output": output["output"],
                "score": output["score"],
                "scores": output["scores"],
                "notes": output["notes"],
                "latencyMs": output["latency_ms"],
                "costUsd": output["cost_usd"],
            }
            for output in result["outputs"]
        ],
    }


def timestamp(ms: int) -> str:
    """Milliseconds since the Unix epoch as ISO 8601 UTC: `2026-11-26T05:43:40.123Z`."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_seconds(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    # strftime is slow, and lists show many timestamps of the same second.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
