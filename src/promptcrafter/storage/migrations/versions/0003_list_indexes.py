"""Indexes for sorted and filtered lists: logs by score and by model, prompts by update time
and by title. Titles sort by code point on both stores (PostgreSQL's `C` collation).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_logs_prompt_score", "logs", ["prompt_id", "score", "created_at", "id"]),
    ("ix_logs_owner_score", "logs", ["owner_id", "score", "created_at", "id"]),
    ("ix_logs_prompt_model", "logs", ["prompt_id", "model_used", "created_at", "id"]),
    ("ix_logs_owner_model", "logs", ["owner_id", "model_used", "created_at", "id"]),
    ("ix_prompts_owner_updated", "prompts", ["owner_id", "updated_at", "id"]),
    ("ix_prompts_owner_title", "prompts", ["owner_id", "title_folded", "id"]),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("prompts", "title_folded", type_=sa.Text(collation="C"), existing_nullable=False)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("prompts", "title_folded", type_=sa.Text(), existing_nullable=False)
