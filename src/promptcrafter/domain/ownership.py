"""The one ownership check: who may touch a stored resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from promptcrafter.errors import Forbidden, NotFound


def require_owner(owner_id: str | None, user_id: str, *, not_found: str, forbidden: str) -> None:
    """404 `not_found` when the resource does not exist (`owner_id` is None), 403 `forbidden`
    when it belongs to someone else."""
    if owner_id is None:
        raise NotFound(not_found)
    if owner_id != user_id:
        raise Forbidden(forbidden)


Owned = TypeVar("Owned", bound=Mapping[str, object])


def owned(record: Owned | None, user_id: str, *, not_found: str, forbidden: str) -> Owned:
    """The record (its `owner_id` names its owner) when it is the user's; 404 or 403 as
    `require_owner` says otherwise."""
    require_owner(
        None if record is None else str(record["owner_id"]), user_id, not_found=not_found, forbidden=forbidden
    )
    assert record is not None
    return record
