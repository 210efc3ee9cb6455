"""The one ownership check: who may touch a stored resource."""

from __future__ import annotations

from promptcrafter.errors import Forbidden, NotFound


def require_owner(owner_id: str | None, user_id: str, *, not_found: str, forbidden: str) -> None:
    """404 `not_found` when the resource does not exist (`owner_id` is None), 403 `forbidden`
    when it belongs to someone else."""
    if owner_id is None:
        raise NotFound(not_found)
    if owner_id != user_id:
        raise Forbidden(forbidden)
