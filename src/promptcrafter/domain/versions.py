"""Versions, labels and rendering: what a prompt was, what its labels name, what it says
with its variables filled in."""

from __future__ import annotations

import difflib
import re
from typing import Any

from promptcrafter import messages
from promptcrafter.domain import templates
from promptcrafter.domain.prompts import CHANGING, READING, IdMessages, require_prompt_owner, require_readable
from promptcrafter.errors import Invalid, NotFound
from promptcrafter.schemas import LabelSet, RenderRequest
from promptcrafter.storage import prompts, versions
from promptcrafter.storage.prompts import PromptRecord
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import now_ms
from promptcrafter.storage.versions import LabelRecord, VersionRecord

LATEST = "latest"
LABEL_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
_NO_SUCH_VERSION = 2**31 - 1


def parse_version(text: str) -> int:
    """A version number from a path or query: 400 unless a positive integer."""
    if not (text.isascii() and text.isdigit()) or not text.strip("0"):
        raise Invalid(messages.VERSION_INVALID)
    # Numbers past any real version all mean one that does not exist.
    return _NO_SUCH_VERSION if len(text) > 9 else int(text)


def check_label_name(name: str, *, settable: bool) -> None:
    """400 for a name no label can have; `latest` may be read but never set or removed."""
    if not LABEL_NAME.fullmatch(name):
        raise Invalid(messages.LABEL_INVALID)
    if settable and name == LATEST:
        raise Invalid(messages.LABEL_RESERVED)


def parse_as_of(version: str | None, label: str | None) -> tuple[int | None, str | None]:
    """The version a request asks for, by number or by label; at most one of them."""
    if version is not None and label is not None:
        raise Invalid(messages.VERSION_AND_LABEL)
    if label is not None:
        check_label_name(label, settable=False)
    return (None if version is None else parse_version(version)), label


def get(tx: Transaction, *, user_id: str, prompt_id: str, version: int) -> VersionRecord:
    """One version of one of the user's prompts."""
    require_readable(tx, user_id=user_id, prompt_id=prompt_id)
    return _version(tx, prompt_id, version)


def as_of(
    tx: Transaction, *, user_id: str, prompt_id: str, version: int | None = None, label: str | None = None
) -> PromptRecord:
    """The prompt with the fields of a version, by number or label (neither: the current)."""
    if label is not None and label != LATEST and version is None:
        found = prompts.get_as_labelled(tx, prompt_id=prompt_id, label=label)
        require_prompt_owner(None if found is None else found[0]["owner_id"], user_id, READING)
        assert found is not None
        labelled, has_label = found
        if not has_label:
            raise NotFound(messages.LABEL_NOT_FOUND)
        return labelled
    prompt = _prompt(tx, user_id, prompt_id, READING)
    return _at(tx, prompt, _resolve(tx, prompt, version, label))


def _at(tx: Transaction, prompt: PromptRecord, number: int) -> PromptRecord:
    """The prompt with the fields of its version `number`."""
    if number == prompt["version"]:
        return prompt
    snapshot = _version(tx, prompt["id"], number, with_labels=False)
    return {
        **prompt,
        "title": snapshot["title"],
        "content": snapshot["content"],
        "model": snapshot["model"],
        "tags": snapshot["tags"],
        "version": number,
    }


def diff(tx: Transaction, *, user_id: str, prompt_id: str, old: int, new: int) -> dict[str, Any]:
    """What changed from version `old` to `new`: the fields that differ, and a unified diff
    of the content with three lines of context (empty when the content is equal)."""
    require_readable(tx, user_id=user_id, prompt_id=prompt_id)
    before = prompts.versioned_fields(_version(tx, prompt_id, old, with_labels=False))
    after = prompts.versioned_fields(_version(tx, prompt_id, new, with_labels=False))
    changes = {name: {"from": before[name], "to": after[name]} for name in before if before[name] != after[name]}
    lines = difflib.unified_diff(
        before["content"].splitlines(), after["content"].splitlines(), f"v{old}", f"v{new}", lineterm=""
    )
    content_diff = "\n".join(lines)
    return {"from": old, "to": new, "changes": changes, "content_diff": content_diff + "\n" if content_diff else ""}


def restore(tx: Transaction, *, user_id: str, prompt_id: str, version: int) -> PromptRecord:
    """Make a version's fields current again, as a new version; nothing changes when they
    already are."""
    prompt = _prompt(tx, user_id, prompt_id, CHANGING, for_update=True)
    fields = prompts.versioned_fields(_version(tx, prompt_id, version, with_labels=False))
    if fields == prompts.versioned_fields(prompt):
        return prompt
    restored = prompts.update_fields(tx, prompt=prompt, changes=fields, new_version=True)
    assert restored is not None  # locked until commit
    return restored


def set_label(
    tx: Transaction, *, user_id: str, prompt_id: str, name: str, request: LabelSet | Invalid
) -> LabelRecord:
    """Point one of the prompt's labels at a version, creating or moving it."""
    owner = prompts.owner_and_version(tx, prompt_id=prompt_id)
    require_prompt_owner(None if owner is None else owner[0], user_id, CHANGING)
    assert owner is not None
    if isinstance(request, Invalid):
        raise request
    if request.version > owner[1]:
        raise NotFound(messages.VERSION_NOT_FOUND)
    return versions.set_label(tx, prompt_id=prompt_id, name=name, version=request.version, now=now_ms())


def delete_label(tx: Transaction, *, user_id: str, prompt_id: str, name: str) -> None:
    """Remove one of the prompt's labels."""
    require_prompt_owner(prompts.owner_of(tx, prompt_id=prompt_id), user_id, CHANGING)
    if not versions.delete_label(tx, prompt_id=prompt_id, name=name):
        raise NotFound(messages.LABEL_NOT_FOUND)


def render(tx: Transaction, *, user_id: str, prompt_id: str, request: RenderRequest | Invalid) -> dict[str, Any]:
    """The content of a version (default: the current) with its variables filled in; every
    variable needs a value, extra values are ignored."""
    prompt = _prompt(tx, user_id, prompt_id, READING)
    if isinstance(request, Invalid):
        raise request
    if request.label is not None:
        check_label_name(request.label, settable=False)
    prompt = _at(tx, prompt, _resolve(tx, prompt, request.version, request.label))
    values = request.variables
    missing = templates.missing(prompt["content"], values)
    if missing:
        details = [{"field": f"variables.{name}", "message": "Missing value."} for name in missing]
        raise Invalid(messages.VARIABLES_MISSING, details=details)
    return {"text": templates.render(prompt["content"], values), "version": prompt["version"]}


def _prompt(
    tx: Transaction, user_id: str, prompt_id: str, words: IdMessages, *, for_update: bool = False
) -> PromptRecord:
    prompt = prompts.get(tx, prompt_id=prompt_id, for_update=for_update)
    require_prompt_owner(None if prompt is None else prompt["owner_id"], user_id, words)
    assert prompt is not None
    return prompt


def _resolve(tx: Transaction, prompt: PromptRecord, version: int | None, label: str | None) -> int:
    if label is not None and version is not None:
        raise Invalid(messages.VERSION_AND_LABEL)
    if label is None or label == LATEST:
        number = prompt["version"] if version is None else version
    else:
        labelled = versions.labelled_version(tx, prompt_id=prompt["id"], name=label)
        if labelled is None:
            raise NotFound(messages.LABEL_NOT_FOUND)
        number = labelled
    if number > prompt["version"]:
        raise NotFound(messages.VERSION_NOT_FOUND)
    return number


def _version(tx: Transaction, prompt_id: str, version: int, *, with_labels: bool = True) -> VersionRecord:
    snapshot = versions.get(tx, prompt_id=prompt_id, version=version, with_labels=with_labels)
    if snapshot is None:
        raise NotFound(messages.VERSION_NOT_FOUND)
    return snapshot
