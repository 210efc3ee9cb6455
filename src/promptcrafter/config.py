"""Typed server settings: the only place that reads the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///promptcrafter.db"


class Settings(BaseSettings):
    """Server configuration, from `PROMPTCRAFTER_*` environment variables or arguments."""

    model_config = SettingsConfigDict(env_prefix="PROMPTCRAFTER_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/file.db or postgresql://user@host:port/dbname",
    )
    secret_key: str | None = Field(
        None,
        description="JWT signing key; when unset, one is generated once and kept in the database",
    )
    token_ttl: int = Field(86_400, ge=60, description="token lifetime in seconds")
    login_max_failures: int = Field(10, ge=1, description="failed logins before an email is locked")
    login_window: int = Field(900, ge=1, description="seconds over which failed logins are counted")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="largest accepted request body")
    password_time_cost: int = Field(3, ge=1, description="Argon2id iterations")
    password_memory_kib: int = Field(65_536, ge=1024, description="Argon2id memory in KiB")
    sqlite_busy_timeout_ms: int = Field(30_000, ge=0, description="how long a SQLite writer waits for the lock")

    @field_validator("secret_key")
    @classmethod
    def _secret_is_long_enough(cls, value: str | None) -> str | None:
        # A short HS256 key can be brute-forced offline from any issued token.
        if value is not None and len(value) < 32:
            raise ValueError("PROMPTCRAFTER_SECRET_KEY must be at least 32 characters")
        return value
