"""The schema as SQLAlchemy Core tables. Migrations create it; queries use these objects."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only aliases the rowid with a column declared exactly INTEGER PRIMARY KEY.
Sequence = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("email_key", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Set by an operator (`promptcrafter users disable`): the account's tokens, keys and
    # sessions stop working and it cannot log in, until it is enabled again.
    Column("disabled_at", BigInteger, nullable=True),
)

prompts = Table(
    "prompts",
    metadata,
    # A stable integer key for the search index: SQLite's VACUUM may renumber implicit rowids.
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("tags", Text, nullable=False),
    # Case-folded copies for search; `search_folded` joins title, tags and content by newlines.
    # Sorted by code point on both stores (SQLite's BINARY, PostgreSQL's "C"), not by locale.
    Column("title_folded", Text().with_variant(Text(collation="C"), "postgresql"), nullable=False),
    Column("tags_folded", Text, nullable=False),
    Column("search_folded", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The current version; its fields are the ones above, kept here so a prompt is one row.
    Column("version", Integer, nullable=False, server_default="1"),
)

# Immutable snapshots: version 1 on creation, one more for every PATCH that changes a field.
prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("prompt_id", String(64), ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

prompt_labels = Table(
    "prompt_labels",
    metadata,
    Column("prompt_id", String(64), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["prompt_id", "version"], ["prompt_versions.prompt_id", "prompt_versions.version"], ondelete="CASCADE"
    ),
)

logs = Table(
    "logs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("prompt_id", String(64), ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("output", Text, nullable=False),
    Column("notes", Text, nullable=True),
    Column("model_used", Text, nullable=False),
    Column("score", Float, nullable=True),
    # JSON does not distinguish 7 from 7.0 but clients see the difference: keep what was sent.
    Column("score_is_integer", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Logs stored before prompts had versions came from what is now version 1.
    Column("prompt_version", Integer, nullable=False, server_default="1"),
    # The variables the output was produced with, as canonical JSON (sorted keys), and the
    # first 64 bits of the SHA-256 of its prompt's id and that JSON: logs with equal
    # `input_key` had the same input on the same prompt, which pairs them for comparison.
    Column("input", Text, nullable=True),
    Column("input_key", BigInteger, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("input_tokens", BigInteger, nullable=True),
    Column("output_tokens", BigInteger, nullable=True),
    Column("cost_usd", Float, nullable=True),
    # Set on the logs a run made (EVALUATION.md §10), with every scorer's result as JSON.
    Column("run_id", String(64), nullable=True),
    Column("item_id", String(64), nullable=True),
    Column("scores", Text, nullable=True),
)

# Each log's output and notes, case-folded, for search; the migrations add a trigram index
# over `search_folded` (SQLite FTS5, PostgreSQL pg_trgm). Logs never change, so rows are only
# added and (with their log) deleted.
log_search = Table(
    "log_search",
    metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("log_id", String(64), ForeignKey("logs.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("owner_id", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("search_folded", Text, nullable=False),
)

# Where imported prompts and logs went: the id each had in its file (`source_id`) and the id
# it is stored under, per owner, so that importing the same file again adds nothing.
imported_ids = Table(
    "imported_ids",
    metadata,
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("source_id", String(64), primary_key=True),
    Column("target_id", String(64), nullable=False),
)

# Keys that programs authenticate with instead of a person's token: only the SHA-256 of each
# key is kept (a key is 32 random bytes, so a fast hash is as safe as a slow one), with the
# scopes it allows, space-separated. Revoking a key deletes its row.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("last_used_at", BigInteger, nullable=True),
)

# Each user's write allowance (a token bucket), shared by every server process: how many
# writes are left, and when that was counted.
write_allowances = Table(
    "write_allowances",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("counted_at", BigInteger, nullable=False),
)

# Web page sessions: the SHA-256 of each session's cookie (never the cookie itself), whose
# account it is and until when it holds. Signing out deletes the row; signing out everywhere
# deletes the account's rows.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Sequence, primary_key=True, autoincrement=True),
    Column("email_key", Text, nullable=False),
    Column("failed_at", BigInteger, nullable=False),
)

server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Test cases: a dataset's items, in the order they were added (`seq`), each an input (canonical
# JSON of string variables) with an optional expected answer. `item_count` is kept with them.
datasets = Table(
    "datasets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("item_count", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

dataset_items = Table(
    "dataset_items",
    metadata,
    Column("seq", Sequence, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("dataset_id", String(64), ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("input", Text, nullable=False),
    Column("expected", Text, nullable=True),
    Column("metadata", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# OpenAI-compatible endpoints a user's runs call. The API key is sealed with a key derived
# from the server's signing secret (never stored or shown in the clear); `models` is JSON:
# each model's name and its prices in USD per million tokens.
providers = Table(
    "providers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # Listed by name in code point order on both stores, as prompt titles are.
    Column("name", Text().with_variant(Text(collation="C"), "postgresql"), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("api_key_sealed", Text, nullable=True),
    Column("api_key_hint", Text, nullable=True),
    Column("models", Text, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("owner_id", "name", name="uq_providers_owner_name"),
)

# A prompt version run over a dataset on models; `models` and `scorers` are JSON as shown.
runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("prompt_id", String(64), ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
    Column("prompt_version", Integer, nullable=False),
    Column("dataset_id", String(64), ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("models", Text, nullable=False),
    Column("repeats", Integer, nullable=False),
    Column("scorers", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("done", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
)

# The runs' work queue, shared by every server process: one row per (item, model, repeat).
# `pending` rows are claimed once `due_at` has passed. Claiming a row starts its call: it becomes
# `calling`, held by `worker` until `due_at`, which the worker keeps pushing forward while it
# lives; a row whose worker died lapses and is claimed again. A row ends `done` (with its log,
# stored in the same transaction), `failed` (with its error) or `cancelled`.
run_tasks = Table(
    "run_tasks",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("item_seq", BigInteger, primary_key=True),
    Column("model_index", Integer, primary_key=True),
    Column("repeat", Integer, primary_key=True),
    Column("item_id", String(64), nullable=False),
    # The model's provider, so that a process claims no more calls than it may make at once.
    Column("provider_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("worker", String(64), nullable=True, index=True),
    Column("error", Text, nullable=True),
    Column("log_id", String(64), nullable=True),
)

Index("ix_prompts_owner_created", prompts.c.owner_id, prompts.c.created_at, prompts.c.id)
Index("ix_logs_prompt_created", logs.c.prompt_id, logs.c.created_at, logs.c.id)
Index("ix_logs_owner_created", logs.c.owner_id, logs.c.created_at, logs.c.id)
Index("ix_logs_prompt_version", logs.c.prompt_id, logs.c.prompt_version, logs.c.created_at, logs.c.id)
Index("ix_logs_prompt_score", logs.c.prompt_id, logs.c.score, logs.c.created_at, logs.c.id)
Index("ix_logs_owner_score", logs.c.owner_id, logs.c.score, logs.c.created_at, logs.c.id)
Index("ix_logs_prompt_model", logs.c.prompt_id, logs.c.model_used, logs.c.created_at, logs.c.id)
Index("ix_logs_owner_model", logs.c.owner_id, logs.c.model_used, logs.c.created_at, logs.c.id)
# Covers every column statistics read, in the order their groupings stream: by prompt, then input.
Index(
    "ix_logs_owner_inputs",
    logs.c.owner_id,
    logs.c.prompt_id,
    logs.c.input_key,
    logs.c.model_used,
    logs.c.score,
    logs.c.prompt_version,
    logs.c.latency_ms,
    logs.c.cost_usd,
    logs.c.created_at,
)
Index("ix_prompts_owner_updated", prompts.c.owner_id, prompts.c.updated_at, prompts.c.id)
Index("ix_prompts_owner_title", prompts.c.owner_id, prompts.c.title_folded, prompts.c.id)
Index("ix_login_failures_email", login_failures.c.email_key, login_failures.c.failed_at)
Index("ix_logs_run", logs.c.run_id)
Index("ix_datasets_owner_created", datasets.c.owner_id, datasets.c.created_at, datasets.c.id)
Index("ix_dataset_items_dataset_seq", dataset_items.c.dataset_id, dataset_items.c.seq)
Index("ix_runs_owner_created", runs.c.owner_id, runs.c.created_at, runs.c.id)
Index("ix_runs_prompt", runs.c.prompt_id)
Index("ix_run_tasks_status_due", run_tasks.c.status, run_tasks.c.due_at)
Index("ix_log_search_owner_created", log_search.c.owner_id, log_search.c.created_at, log_search.c.log_id)
