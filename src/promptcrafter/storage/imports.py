"""Where imported records went: per owner, the id a prompt or log had in its file and the id
it is stored under."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import bindparam, func, literal, select

from promptcrafter.storage.statements import IdLookup, Statement, upsert
from promptcrafter.storage.tables import imported_ids
from promptcrafter.storage.transaction import Transaction

Kind = Literal["prompt", "log"]

_TARGETS = IdLookup(
    lambda ids: select(imported_ids.c.source_id, imported_ids.c.target_id).where(
        imported_ids.c.owner_id == bindparam("owner_id"),
        imported_ids.c.kind == bindparam("kind"),
        imported_ids.c.source_id.in_(ids),
    )
)
# Two imports at once could each find an id free and both take it. On PostgreSQL they queue on
# this lock for the rest of their transaction; a SQLite writer holds the whole database already.
_ONE_AT_A_TIME = Statement(
    select(func.pg_advisory_xact_lock(func.hashtextextended(literal("promptcrafter.import"), 0)))
)
_REMEMBER = upsert(imported_ids, ["owner_id", "kind", "source_id"], ["target_id"])


def take_turn(tx: Transaction) -> None:
    """Wait until no other import is running, until this transaction ends."""
    if tx.dialect_name == "postgresql":
        tx.first(_ONE_AT_A_TIME)


def targets(tx: Transaction, *, owner_id: str, kind: Kind, source_ids: list[str]) -> dict[str, str]:
    """The stored id of each of these source ids (at most 1,000) imported before by this owner."""
    if not source_ids:
        return {}
    statement, params = _TARGETS.bind(source_ids)
    rows = tx.all(statement, owner_id=owner_id, kind=kind, **params)
    return {row["source_id"]: row["target_id"] for row in rows}


def remember(tx: Transaction, *, owner_id: str, kind: Kind, targets: dict[str, str]) -> None:
    """Record (or move) where these source ids went."""
    if targets:
        rows = [
            {"owner_id": owner_id, "kind": kind, "source_id": source, "target_id": target}
            for source, target in targets.items()
        ]
        tx.run_many(_REMEMBER[tx.dialect_name], rows)
