"""Migrations run forward and back on both stores, and the commands that run them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from promptcrafter.cli import app
from promptcrafter.storage import Database
from promptcrafter.storage.logs import input_key
from promptcrafter.storage.migrate import downgrade, upgrade
from promptcrafter.storage.tables import metadata

TABLES = set(metadata.tables)


def tables(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names()) & (TABLES | {"prompts_search"})


def test_migrations_downgrade_to_empty_and_upgrade_again(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert TABLES <= tables(database)
        downgrade(database, "base")
        assert tables(database) == set()
        upgrade(database)
        upgrade(database)  # a second run is a no-op
        assert TABLES <= tables(database)
    finally:
        database.close()


def is_search_index(difference: tuple[Any, ...]) -> bool:
    """The trigram search indexes (FTS5 tables on SQLite, GIN indexes on PostgreSQL) are written
    in each store's own SQL by the migrations, so `tables.py` does not describe them."""
    kind, item = difference[0], difference[1]
    return (kind == "remove_table" and item.name.startswith(("prompts_search", "log_search_fts"))) or (
        kind == "remove_index" and item.name in ("ix_prompts_search", "ix_log_search_text")
    )


def test_the_migrations_build_exactly_the_schema_tables_py_describes(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            options = {"compare_type": True, "compare_server_default": True}
            differences = compare_metadata(MigrationContext.configure(connection, opts=options), metadata)
    finally:
        database.close()
    assert [difference for difference in differences if not is_search_index(difference)] == []


def test_every_list_and_lookup_has_an_index(database_url: str) -> None:
    database = Database(database_url)
    inspector = inspect(database.engine)
    indexed = {
        table: [tuple(index["column_names"]) for index in inspector.get_indexes(table)]
        + [tuple(c["column_names"]) for c in inspector.get_unique_constraints(table)]
        + [tuple(inspector.get_pk_constraint(table)["constrained_columns"])]
        for table in TABLES
    }
    database.close()
    assert ("owner_id", "created_at", "id") in indexed["prompts"]
    assert ("id",) in indexed["prompts"]
    assert ("prompt_id", "created_at", "id") in indexed["logs"]
    assert ("owner_id", "created_at", "id") in indexed["logs"]
    assert ("email_key",) in indexed["users"]
    assert ("email_key", "failed_at") in indexed["login_failures"]


def test_migrate_command_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(app, ["migrate", "--db", url])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    database = Database(url)
    assert TABLES <= tables(database)
    database.close()


def test_migrate_command_rejects_an_unknown_database_scheme() -> None:
    result = CliRunner().invoke(app, ["migrate", "--db", "mysql://root@localhost/db"])
    assert result.exit_code == 2
    assert "unsupported database URL" in result.output


def test_serve_help_documents_the_environment() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for variable in ("PROMPTCRAFTER_DATABASE_URL", "PROMPTCRAFTER_SECRET_KEY", "PROMPTCRAFTER_TOKEN_TTL"):
        assert variable in result.output


def test_upgrading_a_database_of_the_first_release_keeps_its_data_as_version_1(database_url: str) -> None:
    """Prompts and logs stored before versions existed become version 1, and a downgrade
    gives the first release's data back unchanged."""
    database = Database(database_url)
    try:
        downgrade(database, "base")
        upgrade(database, "0001")
        with database.engine.begin() as connection:
            for statement in FIRST_RELEASE_ROWS:
                connection.execute(text(statement))
        before = first_release_rows(database)

        upgrade(database)
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT id, version FROM prompts ORDER BY id")).all() == [
                ("prompt_a", 1),
                ("prompt_b", 1),
            ]
            versions = connection.execute(
                text("SELECT prompt_id, version, title, content, model, tags, created_at FROM prompt_versions")
            ).all()
            assert sorted(versions) == [
                ("prompt_a", 1, "A", "Say {{x}}", "m", '["t"]', 2_000),
                ("prompt_b", 1, "B", "b", "m", "[]", 1_500),
            ]
            assert connection.execute(text("SELECT id, prompt_version, input FROM logs ORDER BY id")).all() == [
                ("log_1", 1, None),
                ("log_2", 1, None),
            ]
            searchable = text("SELECT log_id, owner_id, search_folded FROM log_search ORDER BY log_id")
            assert connection.execute(searchable).all() == [("log_1", "user_1", "out\n"), ("log_2", "user_1", "out\nn")]

        downgrade(database, "0001")
        assert first_release_rows(database) == before
    finally:
        upgrade(database)
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM users"))
        database.close()


FIRST_RELEASE_ROWS = [
    "INSERT INTO users (id, name, email, email_key, password_hash, created_at) "
    "VALUES ('user_1', 'Ada', 'ada@example.com', 'ada@example.com', 'x', 1000)",
    "INSERT INTO prompts (id, owner_id, title, content, model, tags, title_folded, tags_folded, search_folded,"
    " created_at, updated_at) VALUES ('prompt_a', 'user_1', 'A', 'Say {{x}}', 'm', '[\"t\"]', 'a', 't',"
    " 'a\nt\nsay {{x}}', 1000, 2000)",
    "INSERT INTO prompts (id, owner_id, title, content, model, tags, title_folded, tags_folded, search_folded,"
    " created_at, updated_at) VALUES ('prompt_b', 'user_1', 'B', 'b', 'm', '[]', 'b', '', 'b\n\nb', 1500, 1500)",
    "INSERT INTO logs (id, prompt_id, owner_id, output, notes, model_used, score, score_is_integer, created_at)"
    " VALUES ('log_1', 'prompt_a', 'user_1', 'out', NULL, 'm', 7, TRUE, 3000)",
    "INSERT INTO logs (id, prompt_id, owner_id, output, notes, model_used, score, score_is_integer, created_at)"
    " VALUES ('log_2', 'prompt_b', 'user_1', 'out', 'n', 'm', NULL, FALSE, 3001)",
]


def first_release_rows(database: Database) -> dict[str, list[Any]]:
    with database.engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            for table in ("users", "prompts", "logs")
        }


def test_logs_stored_before_input_keys_get_theirs_and_get_their_hashes_back(database_url: str) -> None:
    """Migration 0006 gives each stored log with an input the key a new log would get (so old and
    new logs pair), and a downgrade gives the hashes back."""
    database = Database(database_url)
    canonical = '{"ticket":"T-1"}'
    try:
        downgrade(database, "base")
        upgrade(database, "0001")
        with database.engine.begin() as connection:
            for statement in FIRST_RELEASE_ROWS[:3]:
                connection.execute(text(statement))
        upgrade(database, "0005")
        with database.engine.begin() as connection:
            for log_id, prompt_id in (("log_1", "prompt_a"), ("log_2", "prompt_a"), ("log_3", "prompt_b")):
                connection.execute(
                    text(
                        "INSERT INTO logs (id, prompt_id, owner_id, output, model_used, score_is_integer, created_at,"
                        " input, input_hash) VALUES (:id, :prompt, 'user_1', 'o', 'm', FALSE, 3000, :input, :hash)"
                    ),
                    {
                        "id": log_id,
                        "prompt": prompt_id,
                        "input": canonical,
                        "hash": hashlib.sha256(canonical.encode()).hexdigest(),
                    },
                )
        upgrade(database)
        with database.engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, input_key FROM logs")).all())
        assert keys == {
            "log_1": input_key("prompt_a", canonical),
            "log_2": input_key("prompt_a", canonical),
            "log_3": input_key("prompt_b", canonical),  # the same input on another prompt pairs apart
        }
        downgrade(database, "0005")
        with database.engine.connect() as connection:
            hashes = {row[0] for row in connection.execute(text("SELECT input_hash FROM logs")).all()}
        assert hashes == {hashlib.sha256(canonical.encode()).hexdigest()}
    finally:
        upgrade(database)
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM users"))
        database.close()
