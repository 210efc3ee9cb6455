"""Datasets of test cases, model providers, and runs of a prompt over a dataset on models:
the runs' work queue (`run_tasks`), and the logs a run makes know their run and item.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _owner() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("owner_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(64), primary_key=True),
        _owner(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_datasets_owner_created", "datasets", ["owner_id", "created_at", "id"])
    op.create_table(
        "dataset_items",
        sa.Column("seq", Sequence, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("dataset_id", sa.String(64), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("expected", sa.Text, nullable=True),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_dataset_items_dataset_seq", "dataset_items", ["dataset_id", "seq"])
    op.create_table(
        "providers",
        sa.Column("id", sa.String(64), primary_key=True),
        _owner(),
        sa.Column("name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("api_key_sealed", sa.Text, nullable=True),
        sa.Column("api_key_hint", sa.Text, nullable=True),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("timeout_seconds", sa.Float, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("owner_id", "name", name="uq_providers_owner_name"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        _owner(),
        sa.Column("prompt_id", sa.String(64), sa.ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("prompt_version", sa.Integer, nullable=False),
        sa.Column(
            "dataset_id", sa.String(64), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("scorers", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_runs_owner_created", "runs", ["owner_id", "created_at", "id"])
    op.create_index("ix_runs_prompt", "runs", ["prompt_id"])
    op.create_table(
        "run_tasks",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_seq", sa.BigInteger, primary_key=True),
        sa.Column("model_index", sa.Integer, primary_key=True),
        sa.Column("repeat", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.BigInteger, nullable=False),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("log_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_run_tasks_status_due", "run_tasks", ["status", "due_at"])
    op.create_index("ix_run_tasks_worker", "run_tasks", ["worker"])
    op.add_column("logs", sa.Column("run_id", sa.String(64), nullable=True))
    op.add_column("logs", sa.Column("item_id", sa.String(64), nullable=True))
    op.add_column("logs", sa.Column("scores", sa.Text, nullable=True))
    op.create_index("ix_logs_run", "logs", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_logs_run", "logs")
    for column in ("scores", "item_id", "run_id"):
        op.drop_column("logs", column)
    op.drop_table("run_tasks")
    op.drop_table("runs")
    op.drop_table("providers")
    op.drop_table("dataset_items")
    op.drop_table("datasets")
