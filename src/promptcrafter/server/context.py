"""What every request handler needs, built once per server process."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from promptcrafter.auth import ApiKeys, Passwords, Tokens
from promptcrafter.config import Settings
from promptcrafter.domain.api_keys import KeyUsage
from promptcrafter.runner import Runner
from promptcrafter.sealing import Sealer
from promptcrafter.storage import Database, users


@dataclass(frozen=True)
class ServerContext:
    settings: Settings
    db: Database
    passwords: Passwords
    tokens: Tokens
    # Signs the web pages' form tokens: derived from the signing secret, so every server
    # process of one database agrees on it, but never usable as that secret.
    form_key: bytes
    keys: ApiKeys
    key_usage: KeyUsage
    # Seals providers' API keys with a key derived from the signing secret.
    sealer: Sealer
    runner: Runner

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
            passwords=Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib),
            tokens=Tokens(secret=secret, ttl_seconds=settings.token_ttl),
            form_key=hmac.digest(secret.encode(), b"web forms", hashlib.sha256),
            keys=ApiKeys(),
            key_usage=KeyUsage(),
            sealer=(sealer := Sealer(secret)),
            runner=Runner(db, sealer, slots=settings.runner_slots),
        )
