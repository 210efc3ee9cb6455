"""Per-user write rate limits, held across server processes.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_allowances",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("counted_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("write_allowances")
