"""Prompts: create, read, change and delete one's own."""

from __future__ import annotations

from dataclasses import dataclass

from promptcrafter import messages
from promptcrafter.domain.ownership import require_owner
from promptcrafter.errors import Invalid, NotFound
from promptcrafter.schemas import PromptCreate, PromptUpdate, is_valid_id
from promptcrafter.storage import prompts
from promptcrafter.storage.prompts import PromptRecord
from promptcrafter.storage.transaction import Transaction


@dataclass(frozen=True)
class IdMessages:
    """The contract words a malformed id and another user's prompt differently per route."""

    bad_id: str
    forbidden: str


READING = IdMessages(messages.PROMPT_READ_BAD_ID, messages.PROMPT_READ_FORBIDDEN)
CHANGING = IdMessages(messages.PROMPT_BAD_ID, messages.PROMPT_FORBIDDEN)


def check_id(prompt_id: str, words: IdMessages) -> None:
    """400 for an id not of the contract's format; checked before any lookup."""
    if not is_valid_id(prompt_id):
        raise Invalid(words.bad_id)


def create(tx: Transaction, *, user_id: str, request: PromptCreate) -> PromptRecord:
    """Save a new prompt for the user."""
    return prompts.create(tx, owner_id=user_id, **request.model_dump())


def get(tx: Transaction, *, user_id: str, prompt_id: str) -> PromptRecord:
    """One of the user's prompts (the id's format already checked)."""
    prompt = prompts.get(tx, prompt_id=prompt_id)
    require_prompt_owner(None if prompt is None else prompt["owner_id"], user_id, READING)
    assert prompt is not None
    return prompt


def update(
    tx: Transaction, *, user_id: str, prompt_id: str, request: PromptUpdate | Invalid
) -> PromptRecord:
    """Change the fields sent. `request` may be the error parsing the body: the contract
    reports it only after the prompt's existence and ownership."""
    prompt = prompts.get(tx, prompt_id=prompt_id, for_update=True)
    require_prompt_owner(None if prompt is None else prompt["owner_id"], user_id, CHANGING)
    assert prompt is not None
    if isinstance(request, Invalid):
        raise request
    changes = request.changes()
    current = prompts.versioned_fields(prompt)
    changed = any(value != current[name] for name, value in changes.items())
    updated = prompts.update_fields(tx, prompt=prompt, changes=changes, new_version=changed)
    assert updated is not None  # the row is locked (or the database is) until commit
    return updated


def require_readable(tx: Transaction, *, user_id: str, prompt_id: str) -> None:
    """The prompt exists and is the user's (before reading what belongs to it)."""
    require_prompt_owner(prompts.owner_of(tx, prompt_id=prompt_id), user_id, READING)


def delete(tx: Transaction, *, user_id: str, prompt_id: str) -> None:
    """Delete one of the user's prompts and its logs; 404 to all but the call that removed it."""
    require_prompt_owner(prompts.owner_of(tx, prompt_id=prompt_id), user_id, CHANGING)
    if not prompts.delete_one(tx, prompt_id=prompt_id):
        raise NotFound(messages.PROMPT_NOT_FOUND)


def require_prompt_owner(owner_id: str | None, user_id: str, words: IdMessages) -> None:
    """404 when there is no such prompt, 403 with the route's words when it is another user's."""
    require_owner(owner_id, user_id, not_found=messages.PROMPT_NOT_FOUND, forbidden=words.forbidden)
