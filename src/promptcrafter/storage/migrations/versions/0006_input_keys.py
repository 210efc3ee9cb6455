"""Statistics read logs through one covering index: a log's input is paired by a 64-bit
`input_key` (its prompt and canonical input, hashed) instead of a 64-character text hash,
and the index holds every column the aggregates read, so they never visit the table.

Revision ID: 0006
Revises: 0005
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000
INDEX_COLUMNS = [
    "owner_id",
    "prompt_id",
    "input_key",
    "model_used",
    "score",
    "prompt_version",
    "latency_ms",
    "cost_usd",
    "created_at",
]


def input_key(prompt_id: str, canonical_input: str) -> int:
    """The same as `storage.logs.input_key`, frozen here."""
    digest = hashlib.sha256(f"{prompt_id}\n{canonical_input}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def upgrade() -> None:
    op.add_column("logs", sa.Column("input_key", sa.BigInteger, nullable=True))
    connection = op.get_bind()
    logs = sa.table("logs", sa.column("id"), sa.column("prompt_id"), sa.column("input"), sa.column("input_key"))
    update = sa.update(logs).where(logs.c.id == sa.bindparam("log_id")).values(input_key=sa.bindparam("key"))
    after = ""
    while True:
        rows = connection.execute(
            sa.select(logs.c.id, logs.c.prompt_id, logs.c.input)
            .where(logs.c.id > after, logs.c.input.is_not(None))
            .order_by(logs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(update, [{"log_id": row.id, "key": input_key(row.prompt_id, row.input)} for row in rows])
        after = rows[-1].id
    op.drop_column("logs", "input_hash")
    op.create_index("ix_logs_owner_inputs", "logs", INDEX_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_logs_owner_inputs", "logs")
    op.add_column("logs", sa.Column("input_hash", sa.String(64), nullable=True))
    connection = op.get_bind()
    logs = sa.table("logs", sa.column("id"), sa.column("input"), sa.column("input_hash"))
    update = sa.update(logs).where(logs.c.id == sa.bindparam("log_id")).values(input_hash=sa.bindparam("digest"))
    after = ""
    while True:
        rows = connection.execute(
            sa.select(logs.c.id, logs.c.input)
            .where(logs.c.id > after, logs.c.input.is_not(None))
            .order_by(logs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            update, [{"log_id": row.id, "digest": hashlib.sha256(row.input.encode()).hexdigest()} for row in rows]
        )
        after = rows[-1].id
    op.drop_column("logs", "input_key")
