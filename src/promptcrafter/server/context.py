"""What every request handler needs, built once per server process."""

from __future__ import annotations

from dataclasses import dataclass

from promptcrafter.auth import Passwords, Tokens
from promptcrafter.config import Settings
from promptcrafter.storage import Database, users


@dataclass(frozen=True)
class ServerContext:
    settings: Settings
    db: Database
    passwords: Passwords
    tokens: Tokens

    @classmethod
    def start(cls, settings: Settings) -> ServerContext:
        """Connect to the (already migrated) database and load the signing secret."""
        db = Database.from_settings(settings)
        secret = settings.secret_key
        if secret is None:
            with db.transaction(write=True) as tx:
                secret = users.signing_secret(tx)
        return cls(
            settings=settings,
            db=db,
            passwords=Passwords(
                time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
            ),
            tokens=Tokens(secret=secret, ttl_seconds=settings.token_ttl),
        )
