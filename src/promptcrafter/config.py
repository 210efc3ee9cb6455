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
    db_pool_size: int = Field(
        10, ge=1, le=200, description="PostgreSQL connections per server process (SQLite: search threads)"
    )
    db_wait_timeout: float = Field(
        5.0, gt=0, le=300, description="seconds a request waits for a connection or the write lock before 503"
    )
    header_timeout: float = Field(10.0, gt=0, le=300, description="seconds a client has to send a request's headers")
    body_timeout: float = Field(30.0, gt=0, le=3600, description="seconds a client has to send a request's body")
    send_timeout: float = Field(
        60.0, gt=0, le=3600, description="seconds a response may wait for a client that reads nothing"
    )
    write_rate: float | None = Field(
        None, gt=0, description="writes per second each user may make, sustained (unset: no limit)"
    )
    write_burst: int = Field(60, ge=1, description="writes a user may make at once before write_rate applies")
    metrics: bool = Field(False, description="serve Prometheus metrics at /metrics")
    runner: bool = Field(True, description="execute queued runs in this server process")
    runner_slots: int = Field(64, ge=1, le=1024, description="run calls this process has under way at most")
    metrics_token: str | None = Field(None, description="a bearer token /metrics requires (unset: none)")

    @field_validator("secret_key")
    @classmethod
    def _secret_is_long_enough(cls, value: str | None) -> str | None:
        # A short HS256 key can be brute-forced offline from any issued token.
        if value is not None and len(value) < 32:
            raise ValueError("must be at least 32 characters long")
        return value
