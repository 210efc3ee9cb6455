"""Each user's write allowance: read under the write lock of the transaction, then stored."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from promptcrafter.storage.statements import Statement, upsert
from promptcrafter.storage.tables import write_allowances
from promptcrafter.storage.transaction import Transaction

_GET = {
    # Locked until the transaction ends, so that two server processes never both spend the last one.
    "postgresql": Statement(
        select(write_allowances.c.tokens, write_allowances.c.counted_at)
        .where(write_allowances.c.user_id == bindparam("user_id"))
        .with_for_update()
    ),
    # SQLite's writers take turns already (BEGIN IMMEDIATE).
    "sqlite": Statement(
        select(write_allowances.c.tokens, write_allowances.c.counted_at).where(
            write_allowances.c.user_id == bindparam("user_id")
        )
    ),
}
_SET = upsert(write_allowances, ["user_id"], ["tokens", "counted_at"])
# A user's first write makes the row that later ones lock: two first writes at once then take
# turns on it instead of each finding none.
_FIRST = {
    name: Statement(
        dialect.insert(write_allowances)
        .values(user_id=bindparam("user_id"), tokens=bindparam("tokens"), counted_at=bindparam("counted_at"))
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def locked(tx: Transaction, *, user_id: str, full: float, now: int) -> tuple[float, int]:
    """What is left of the user's allowance (`full` the first time) and when it was counted
    (milliseconds), locked until the transaction ends."""
    tx.run(_FIRST[tx.dialect_name], user_id=user_id, tokens=full, counted_at=now)
    row = tx.first(_GET[tx.dialect_name], user_id=user_id)
    assert row is not None
    return row["tokens"], row["counted_at"]


def put(tx: Transaction, *, user_id: str, tokens: float, counted_at: int) -> None:
    tx.run(_SET[tx.dialect_name], user_id=user_id, tokens=tokens, counted_at=counted_at)
