"""Runs: a prompt version rendered with each item of a dataset, sent to models, the answers
scored and stored as logs. This module checks and records a run; `promptcrafter.runner`
executes the queued work."""

from __future__ import annotations

from typing import Any

from promptcrafter import messages
from promptcrafter.domain import datasets as dataset_rules
from promptcrafter.domain import providers as provider_rules
from promptcrafter.domain import versions as version_rules
from promptcrafter.domain.ownership import owned
from promptcrafter.domain.scorers import parse_scorers
from promptcrafter.errors import Conflict, Invalid, NotFound
from promptcrafter.schemas import is_valid_id
from promptcrafter.schemas_runs import RunCreate
from promptcrafter.storage import datasets, runs
from promptcrafter.storage.runs import RunRecord
from promptcrafter.storage.transaction import Transaction

MAX_CALLS = 100_000
FINISHED = ("done", "failed", "cancelled")


def model_used(model: dict[str, Any]) -> str:
    """What a run's logs from this model say in `modelUsed`."""
    return f"{model['providerName']}/{model['model']}"


def create(tx: Transaction, *, user_id: str, request: RunCreate) -> RunRecord:
    """Check everything a run needs (the version, the dataset, each provider, the scorers) and
    queue its calls; a run of an empty dataset is refused."""
    scorers = parse_scorers(request.scorers)
    prompt = version_rules.as_of(
        tx, user_id=user_id, prompt_id=request.prompt_id, version=request.version, label=request.label
    )
    dataset = dataset_rules.get(tx, user_id=user_id, dataset_id=request.dataset_id)
    problems: list[dict[str, Any]] = []
    models = []
    for index, model in enumerate(request.models):
        provider = provider_rules.find(tx, user_id=user_id, reference=model.provider)
        if provider is None:
            problems.append({"field": f"models[{index}].provider", "message": messages.PROVIDER_UNKNOWN})
            continue
        models.append(
            {"provider": provider["id"], "providerName": provider["name"], "model": model.model, "params": model.params}
        )
    for index, scorer in enumerate(scorers):
        if (
            scorer.type == "judge"
            and provider_rules.find(tx, user_id=user_id, reference=scorer.options["provider"]) is None
        ):
            problems.append({"field": f"scorers[{index}].provider", "message": messages.PROVIDER_UNKNOWN})
    if problems:
        raise Invalid(messages.FIELDS_INVALID, details=problems)
    if dataset["item_count"] == 0:
        raise Invalid(messages.DATASET_EMPTY)
    if dataset["item_count"] * len(models) * request.repeats > MAX_CALLS:
        raise Invalid(messages.RUN_TOO_LARGE)
    return runs.create(
        tx,
        owner_id=user_id,
        prompt_id=prompt["id"],
        prompt_version=prompt["version"],
        dataset_id=dataset["id"],
        models=models,
        repeats=request.repeats,
        scorers=[scorer.to_json() for scorer in scorers],
        items=datasets.item_numbers(tx, dataset_id=dataset["id"]),
    )


def get(tx: Transaction, *, user_id: str, run_id: str) -> RunRecord:
    if not is_valid_id(run_id):
        raise Invalid(messages.RUN_BAD_ID)
    found = runs.get(tx, run_id=run_id)
    return owned(found, user_id, not_found=messages.RUN_NOT_FOUND, forbidden=messages.RUN_FORBIDDEN)


def require_readable(tx: Transaction, *, user_id: str, run_id: str) -> None:
    get(tx, user_id=user_id, run_id=run_id)


def cancel(tx: Transaction, *, user_id: str, run_id: str) -> RunRecord:
    """Stop a run: no call starts after this (calls under way may still be stored). A run
    already finished is a 409, except one already cancelled, which is answered as it is."""
    found = get(tx, user_id=user_id, run_id=run_id)
    if found["status"] == "cancelled":
        return found
    if found["status"] in FINISHED:
        raise Conflict(messages.RUN_FINISHED)
    runs.cancel(tx, run_id=run_id)
    cancelled = runs.get(tx, run_id=run_id)
    if cancelled is None:
        raise NotFound(messages.RUN_NOT_FOUND)
    return cancelled
