"""Search over log outputs and notes: `log_search` holds each log's case-folded text, with a
trigram index (SQLite FTS5, PostgreSQL pg_trgm) over it. Existing logs are indexed here.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000

SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE log_search_fts USING fts5(
        search_folded, content='log_search', content_rowid='seq', tokenize='trigram case_sensitive 1')""",
    """CREATE TRIGGER log_search_insert AFTER INSERT ON log_search BEGIN
        INSERT INTO log_search_fts(rowid, search_folded) VALUES (new.seq, new.search_folded);
    END""",
    """CREATE TRIGGER log_search_delete AFTER DELETE ON log_search BEGIN
        INSERT INTO log_search_fts(log_search_fts, rowid, search_folded)
        VALUES ('delete', old.seq, old.search_folded);
    END""",
    "INSERT INTO log_search_fts(log_search_fts) VALUES ('rebuild')",
]
POSTGRES_INDEX = ["CREATE INDEX ix_log_search_text ON log_search USING gin (search_folded gin_trgm_ops)"]


def folded(output: str, notes: str | None) -> str:
    """What search reads of a log; the same as `storage.logs.search_text`, frozen here."""
    return f"{output.casefold()}\n{(notes or '').casefold()}"


def upgrade() -> None:
    log_search = op.create_table(
        "log_search",
        sa.Column("seq", Sequence, primary_key=True, autoincrement=True),
        sa.Column("log_id", sa.String(64), sa.ForeignKey("logs.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("search_folded", sa.Text, nullable=False),
    )
    op.create_index("ix_log_search_owner_created", "log_search", ["owner_id", "created_at", "log_id"])
    connection = op.get_bind()
    logs = sa.table(
        "logs", sa.column("id"), sa.column("owner_id"), sa.column("created_at"), sa.column("output"), sa.column("notes")
    )
    after = ""
    while True:
        rows = connection.execute(
            sa.select(logs).where(logs.c.id > after).order_by(logs.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            log_search.insert(),
            [
                {"log_id": row.id, "owner_id": row.owner_id, "created_at": row.created_at,
                 "search_folded": folded(row.output, row.notes)}
                for row in rows
            ],
        )
        after = rows[-1].id
    for statement in SQLITE_INDEX if connection.dialect.name == "sqlite" else POSTGRES_INDEX:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete"):
            op.execute(f"DROP TRIGGER log_search_{trigger}")
        op.execute("DROP TABLE log_search_fts")
    op.drop_table("log_search")
