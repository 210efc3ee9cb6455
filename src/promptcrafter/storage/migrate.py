"""Brings a database to the current schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from promptcrafter.storage.database import Database

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
