"""How many prompts and logs are stored, estimated in constant time for the metrics.

PostgreSQL keeps each table's row count estimate (`pg_class.reltuples`, refreshed by autovacuum);
on SQLite the largest row number of each table is read off its B-tree (deleted rows still count).
"""

from __future__ import annotations

from sqlalchemy import text

from promptcrafter.storage.statements import Statement
from promptcrafter.storage.transaction import Transaction

_ESTIMATES = {
    "postgresql": Statement(
        text(
            "SELECT relname AS kind, GREATEST(reltuples, 0)::bigint AS count FROM pg_class "
            "WHERE relname IN ('prompts', 'logs') AND relkind = 'r'"
        )
    ),
    "sqlite": Statement(
        text(
            "SELECT 'prompts' AS kind, coalesce(max(rowid), 0) AS count FROM prompts "
            "UNION ALL SELECT 'logs', coalesce(max(rowid), 0) FROM logs"
        )
    ),
}


def estimates(tx: Transaction) -> dict[str, int]:
    """{"prompts": n, "logs": n}, estimated."""
    return {row["kind"]: int(row["count"]) for row in tx.all(_ESTIMATES[tx.dialect_name])}
