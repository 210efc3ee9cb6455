"""Logs: what a prompt produced, recorded, listed and deleted by the prompt's owner."""

from __future__ import annotations

from typing import Any

from promptcrafter import messages
from promptcrafter.domain.ownership import require_owner
from promptcrafter.errors import Invalid, NotFound
from promptcrafter.schemas import LogCreate, LogReview, is_valid_id
from promptcrafter.storage import logs, prompts
from promptcrafter.storage.logs import LogRecord
from promptcrafter.storage.transaction import Transaction


def create(tx: Transaction, *, user_id: str, request: LogCreate) -> LogRecord:
    """Record an output of one of the user's prompts; another user's prompt is a 404 here.
    Without `promptVersion` the output came from the prompt's current version."""
    prompt = prompts.owner_and_version(tx, prompt_id=request.prompt_id)
    if prompt is None or prompt[0] != user_id:
        raise NotFound(messages.LOG_PROMPT_INACCESSIBLE)
    version = prompt[1] if request.prompt_version is None else request.prompt_version
    if version > prompt[1]:
        problem = {"field": "promptVersion", "message": messages.VERSION_NOT_FOUND}
        raise Invalid(messages.FIELDS_INVALID, details=[problem])
    return logs.create(tx, owner_id=user_id, prompt_version=version, **stored_fields(request))


def create_many(tx: Transaction, *, user_id: str, requests: list[LogCreate]) -> list[LogRecord]:
    """Record up to 1,000 outputs at once, all or none: an item whose prompt is not the
    user's, or whose version does not exist, is a 400 naming its index."""
    prompts_found = prompts.owners_and_versions(tx, prompt_ids=[request.prompt_id for request in requests])
    problems: list[dict[str, Any]] = []
    logs_to_store = []
    for index, request in enumerate(requests):
        owner, current = prompts_found.get(request.prompt_id, (None, 0))
        if owner != user_id:
            problems.append({"index": index, "field": "promptId", "message": messages.LOG_PROMPT_INACCESSIBLE})
            continue
        version = current if request.prompt_version is None else request.prompt_version
        if version > current:
            problems.append({"index": index, "field": "promptVersion", "message": messages.VERSION_NOT_FOUND})
        logs_to_store.append({**stored_fields(request), "prompt_version": version})
    if problems:
        raise Invalid(messages.FIELDS_INVALID, details=problems)
    return logs.create_many(tx, owner_id=user_id, logs=logs_to_store)


def stored_fields(request: LogCreate) -> dict[str, Any]:
    """What `logs.create` stores of a request, by storage name (all but the version)."""
    return {
        "prompt_id": request.prompt_id,
        "output": request.output,
        "model_used": request.model_used,
        "notes": request.notes,
        "score": request.score,
        "input": request.input,
        "latency_ms": request.latency_ms,
        "input_tokens": request.input_tokens,
        "output_tokens": request.output_tokens,
        "cost_usd": request.cost_usd,
    }


def checked_prompt_filter(values: list[str]) -> str:
    """The `promptId` of a log listing: exactly one, of the id format."""
    if len(values) != 1 or not is_valid_id(values[0]):
        raise Invalid(messages.LOGS_PROMPT_ID_INVALID)
    return values[0]


def require_listable(tx: Transaction, *, user_id: str, prompt_id: str) -> None:
    """The user may list this prompt's logs: it exists and is theirs."""
    require_owner(
        prompts.owner_of(tx, prompt_id=prompt_id),
        user_id,
        not_found=messages.LOGS_PROMPT_NOT_FOUND,
        forbidden=messages.LOGS_PROMPT_FORBIDDEN,
    )


def check_id(log_id: str) -> None:
    """400 for a log id not of the contract's format."""
    if not is_valid_id(log_id):
        raise Invalid(messages.LOG_BAD_ID)


def review(tx: Transaction, *, user_id: str, log_id: str, request: LogReview | Invalid) -> LogRecord:
    """A person's score and notes for a log: they replace `score` and `notes`; the scorers'
    results stay in `scores`. Fields left out keep their value."""
    found = logs.get(tx, log_id=log_id)
    require_owner(
        None if found is None else found[0], user_id, not_found=messages.LOG_NOT_FOUND, forbidden=messages.LOG_FORBIDDEN
    )
    assert found is not None
    if isinstance(request, Invalid):
        raise request
    log = found[1]
    sent = request.model_fields_set
    score = request.score if "score" in sent else log["score"]
    notes = request.notes if "notes" in sent else log["notes"]
    return logs.review(tx, log=log, score=score, notes=notes)


def delete(tx: Transaction, *, user_id: str, log_id: str) -> None:
    """Delete one of the user's logs; 404 to all but the call that removed it."""
    require_owner(
        logs.owner_of(tx, log_id=log_id),
        user_id,
        not_found=messages.LOG_NOT_FOUND,
        forbidden=messages.LOG_FORBIDDEN,
    )
    if not logs.delete_one(tx, log_id=log_id):
        raise NotFound(messages.LOG_NOT_FOUND)
