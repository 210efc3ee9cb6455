"""Prompt versions and labels; logs gain their prompt version, input and usage.

Every existing prompt becomes version 1 with its current fields (dated when they were last
set), and every existing log belongs to version 1.

Revision ID: 0002
Revises: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LOG_COLUMNS: list[sa.Column[Any]] = [
    # A constant default: both stores add such a column without rewriting the table.
    sa.Column("prompt_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("input", sa.Text, nullable=True),
    sa.Column("input_hash", sa.String(64), nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("input_tokens", sa.BigInteger, nullable=True),
    sa.Column("output_tokens", sa.BigInteger, nullable=True),
    sa.Column("cost_usd", sa.Float, nullable=True),
]


def upgrade() -> None:
    op.add_column("prompts", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "prompt_versions",
        sa.Column(
            "prompt_id", sa.String(64), sa.ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO prompt_versions (prompt_id, version, title, content, model, tags, created_at) "
        "SELECT id, 1, title, content, model, tags, updated_at FROM prompts"
    )
    op.create_table(
        "prompt_labels",
        sa.Column("prompt_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id", "version"],
            ["prompt_versions.prompt_id", "prompt_versions.version"],
            ondelete="CASCADE",
        ),
    )
    for column in LOG_COLUMNS:
        op.add_column("logs", column)
    op.create_index("ix_logs_prompt_version", "logs", ["prompt_id", "prompt_version", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_logs_prompt_version", "logs")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of `prompts` would lose its search triggers.
    for column in reversed(LOG_COLUMNS):
        op.drop_column("logs", column.name)
    op.drop_table("prompt_labels")
    op.drop_table("prompt_versions")
    op.drop_column("prompts", "version")
