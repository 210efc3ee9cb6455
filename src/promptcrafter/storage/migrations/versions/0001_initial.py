"""Accounts, prompts with their search index, logs, login throttling, server secrets.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_SEARCH = [
    # External-content FTS5 over the folded text: the index holds trigrams, not a second copy.
    """CREATE VIRTUAL TABLE prompts_search USING fts5(
        search_folded, content='prompts', content_rowid='seq', tokenize='trigram case_sensitive 1')""",
    """CREATE TRIGGER prompts_search_insert AFTER INSERT ON prompts BEGIN
        INSERT INTO prompts_search(rowid, search_folded) VALUES (new.seq, new.search_folded);
    END""",
    """CREATE TRIGGER prompts_search_delete AFTER DELETE ON prompts BEGIN
        INSERT INTO prompts_search(prompts_search, rowid, search_folded)
        VALUES ('delete', old.seq, old.search_folded);
    END""",
    """CREATE TRIGGER prompts_search_update AFTER UPDATE OF search_folded ON prompts BEGIN
        INSERT INTO prompts_search(prompts_search, rowid, search_folded)
        VALUES ('delete', old.seq, old.search_folded);
        INSERT INTO prompts_search(rowid, search_folded) VALUES (new.seq, new.search_folded);
    END""",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_prompts_search ON prompts USING gin (search_folded gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("email_key", sa.Text, nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "prompts",
        sa.Column("seq", Sequence, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "owner_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("title_folded", sa.Text, nullable=False),
        sa.Column("tags_folded", sa.Text, nullable=False),
        sa.Column("search_folded", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_prompts_owner_created", "prompts", ["owner_id", "created_at", "id"])
    op.create_table(
        "logs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "prompt_id",
            sa.String(64),
            sa.ForeignKey("prompts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "owner_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("model_used", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("score_is_integer", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_logs_prompt_created", "logs", ["prompt_id", "created_at", "id"])
    op.create_index("ix_logs_owner_created", "logs", ["owner_id", "created_at", "id"])
    op.create_table(
        "login_failures",
        sa.Column("id", Sequence, primary_key=True, autoincrement=True),
        sa.Column("email_key", sa.Text, nullable=False),
        sa.Column("failed_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_email", "login_failures", ["email_key", "failed_at"])
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER prompts_search_{trigger}")
        op.execute("DROP TABLE prompts_search")
    for table in ("server_secrets", "login_failures", "logs", "prompts", "users"):
        op.drop_table(table)
