"""Brings a database to the current schema with Alembic."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from promptcrafter.storage.database import Database
from promptcrafter.storage.statements import Statement
from promptcrafter.storage.transaction import Transaction

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every server that migrates.
_MIGRATION_LOCK = 0x50524F4D


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every pending migration; safe when several servers start at once."""
    config = alembic_config()
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(database: Database, revision: str) -> None:
    """Revert to an earlier revision (`base` for an empty database)."""
    config = alembic_config()
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


@functools.cache
def head_revision() -> str:
    """The newest migration this package holds."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def describe(tx: Transaction) -> dict[str, Any]:
    """The store's kind, version and schema revision, as `GET /health?deep=1` reports them."""
    version_query = "SELECT sqlite_version()" if tx.dialect_name == "sqlite" else "SHOW server_version"
    version = tx.scalar(Statement(text(version_query)))
    current = tx.scalar(_CURRENT_REVISION)
    return {"kind": tx.dialect_name, "version": str(version).split(" ")[0], "current": current}


_CURRENT_REVISION = Statement(text("SELECT version_num FROM alembic_version"))
