"""Imports (EVALUATION.md §6): prompts with their versions and labels, and logs, from our own
export or the public sample data, into the caller's library.

An imported record keeps its id when no record has it, and gets a new one when another
user's record does. Where each went is remembered per owner, so importing the same file
again adds nothing; a record that already is the caller's own (a re-imported export) is
recognised the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promptcrafter import messages
from promptcrafter.domain import versions as version_rules
from promptcrafter.domain.logs import stored_fields
from promptcrafter.errors import Invalid
from promptcrafter.schemas import ImportBatch, ImportedLog, ImportedPrompt
from promptcrafter.storage import imports, logs, prompts, versions
from promptcrafter.storage.imports import Kind
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import new_id, now_ms


@dataclass(frozen=True)
class Placed:
    """Where the imported records of one kind went."""

    targets: dict[str, str]  # each id in the file -> the id stored under
    new: dict[int, str]  # the position of each record to store -> its id
    total: int

    @property
    def existing(self) -> int:
        return self.total - len(self.new)


@dataclass(frozen=True)
class ImportResult:
    prompts: Placed
    logs: Placed


def import_batch(tx: Transaction, *, user_id: str, request: ImportBatch) -> ImportResult:
    """Store what of these prompts and logs the caller does not have yet, all or nothing.

    A log's `promptId` names a prompt of this batch or of an earlier import by its id in the
    file, or one of the caller's own prompts; anything else is a 400 naming the log.
    """
    imports.take_turn(tx)
    placed_prompts = _import_prompts(tx, user_id, request.prompts)
    placed_logs = _import_logs(tx, user_id, request.logs, placed_prompts.targets)
    return ImportResult(placed_prompts, placed_logs)


def _import_prompts(tx: Transaction, user_id: str, items: list[ImportedPrompt]) -> Placed:
    def owners(ids: list[str]) -> dict[str, str]:
        return {id_: owner for id_, (owner, _) in prompts.owners_and_versions(tx, prompt_ids=ids).items()}

    placed = _place(tx, user_id, "prompt", [item.id for item in items], owners)
    now = now_ms()
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    labels: list[tuple[str, str, int]] = []
    for position, target in placed.new.items():
        item = items[position]
        current = item.current_version()
        created = item.created_at or now
        rows.append(
            {
                "id": target,
                "owner_id": user_id,
                "created_at": created,
                "updated_at": max(item.updated_at or created, created),
                "version": current,
                **prompts.versioned_fields(item.model_dump()),
            }
        )
        for version in item.versions:
            if version.version != current:
                fields = prompts.versioned_fields(version.model_dump())
                created_at = version.created_at or created
                history.append({"prompt_id": target, "version": version.version, **fields, "created_at": created_at})
            labels.extend((target, name, version.version) for name in version.labels if name != version_rules.LATEST)
    prompts.insert_many(tx, rows=rows)
    versions.insert_many(tx, rows=history)
    for prompt_id, name, number in labels:
        versions.set_label(tx, prompt_id=prompt_id, name=name, version=number, now=now)
    return placed


def _import_logs(tx: Transaction, user_id: str, items: list[ImportedLog], prompt_targets: dict[str, str]) -> Placed:
    unplaced = [item.prompt_id for item in items if item.prompt_id not in prompt_targets]
    earlier = imports.targets(tx, owner_id=user_id, kind="prompt", source_ids=unplaced)
    prompt_of = [prompt_targets.get(item.prompt_id) or earlier.get(item.prompt_id) or item.prompt_id for item in items]
    found = prompts.owners_and_versions(tx, prompt_ids=prompt_of)
    problems: list[dict[str, Any]] = []
    for index, (item, prompt_id) in enumerate(zip(items, prompt_of, strict=True)):
        owner, current = found.get(prompt_id, (None, 0))
        if owner != user_id:
            problems.append({"field": f"logs.{index}.promptId", "message": messages.IMPORT_PROMPT_UNKNOWN})
        elif (item.prompt_version or current) > current:
            problems.append({"field": f"logs.{index}.promptVersion", "message": messages.VERSION_NOT_FOUND})
    if problems:
        raise Invalid(messages.FIELDS_INVALID, details=problems)

    placed = _place(tx, user_id, "log", [item.id for item in items], lambda ids: logs.owners_of(tx, log_ids=ids))
    now = now_ms()
    rows = [
        {
            **stored_fields(items[position]),
            "id": target,
            "owner_id": user_id,
            "prompt_id": prompt_of[position],
            "prompt_version": items[position].prompt_version or found[prompt_of[position]][1],
            "created_at": items[position].created_at or now,
        }
        for position, target in placed.new.items()
    ]
    logs.insert_many(tx, rows=rows)
    return placed


def _place(
    tx: Transaction,
    user_id: str,
    kind: Kind,
    source_ids: list[str | None],
    owners_of: Callable[[list[str]], dict[str, str]],
) -> Placed:
    """Decide where each record goes: where it went before, else its own id; a record already
    at that id that is the caller's is the same record, another user's means a new id."""
    known = imports.targets(tx, owner_id=user_id, kind=kind, source_ids=[s for s in source_ids if s])
    candidates = [known.get(source, source) if source else None for source in source_ids]
    owners = owners_of([candidate for candidate in candidates if candidate])
    targets: dict[str, str] = {}
    new: dict[int, str] = {}
    claimed = set(owners)
    for position, (source, candidate) in enumerate(zip(source_ids, candidates, strict=True)):
        if source is not None and source in targets:
            continue  # the same record twice in one batch is stored once
        if candidate is not None and owners.get(candidate) == user_id:
            target = candidate
        else:
            free = candidate is not None and candidate not in claimed
            target = new[position] = candidate if candidate is not None and free else new_id(kind)
            claimed.add(target)
        if source is not None:
            targets[source] = target
    imports.remember(tx, owner_id=user_id, kind=kind, targets=targets)
    return Placed(targets, new, len(source_ids))
