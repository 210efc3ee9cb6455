"""API keys for programs (OPERATIONS.md): made, listed and revoked by their owner with a login
token; checked on every request that presents one; when each was last used, recorded in batches."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from promptcrafter import messages
from promptcrafter.auth import ApiKeys, KeyHolder
from promptcrafter.domain.ownership import require_owner
from promptcrafter.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from promptcrafter.schemas import KeyCreate, is_valid_id
from promptcrafter.storage import api_keys
from promptcrafter.storage.api_keys import KeyRecord
from promptcrafter.storage.transaction import Transaction
from promptcrafter.storage.values import now_ms

MAX_KEYS = 100
# `lastUsedAt` is worth a write at most this often per key.
TOUCH_EVERY_MS = 60_000


def create(tx: Transaction, *, user_id: str, request: KeyCreate) -> tuple[KeyRecord, str]:
    """A new key of the user's: its record and the key itself (returned this once)."""
    if len(api_keys.of_owner(tx, owner_id=user_id)) >= MAX_KEYS:
        raise Conflict(messages.KEYS_TOO_MANY)
    key, prefix, key_hash = ApiKeys.generate()
    scopes: list[str] = sorted(set(request.scopes))
    record = api_keys.create(
        tx,
        owner_id=user_id,
        name=request.name,
        scopes=scopes,
        prefix=prefix,
        key_hash=key_hash,
        expires_at=request.expires_at,
    )
    return record, key


def listed(tx: Transaction, *, user_id: str) -> list[KeyRecord]:
    return api_keys.of_owner(tx, owner_id=user_id)


def revoke(tx: Transaction, *, user_id: str, key_id: str) -> None:
    """Delete one of the user's keys: no request presenting it succeeds afterwards."""
    if not is_valid_id(key_id):
        raise Invalid(messages.KEY_BAD_ID)
    owner = api_keys.owner_of(tx, key_id=key_id)
    require_owner(owner, user_id, not_found=messages.KEY_NOT_FOUND, forbidden=messages.KEY_FORBIDDEN)
    if not api_keys.delete_one(tx, key_id=key_id):
        raise NotFound(messages.KEY_NOT_FOUND)


def holder(tx: Transaction, *, key_hash: str) -> KeyHolder | None:
    """Who a presented key's hash names, if it is a live key of an existing account."""
    record = api_keys.by_hash(tx, key_hash=key_hash)
    if record is None or _expired(record["expires_at"]):
        return None
    return KeyHolder(key_hash, record["id"], record["owner_id"], frozenset(record["scopes"]), record["expires_at"])


def refusal(holder: KeyHolder, needs: tuple[str, ...] | None) -> str | None:
    """Why the key may not make a request that needs these scopes (None: it may); known from
    what the key names, which never changes."""
    if needs is None:
        return messages.KEY_NEEDS_LOGIN
    if not holder.scopes.issuperset(needs):
        return messages.KEY_SCOPE
    return None


def check_use(tx: Transaction, *, key_hash: str, refused: str | None, usage: KeyUsage) -> None:
    """In the unit of work of a request presenting the key: it still exists (revoked keys fail at
    once, on every server process) and its account is not disabled; then whether it allows the
    route (`refused`, worked out beforehand), and its use is noted."""
    found = api_keys.in_use(tx, key_hash=key_hash)
    now = now_ms()
    if found is None or (found[1] is not None and found[1] <= now):
        raise Unauthorized(messages.TOKEN_INVALID)
    if refused is not None:
        raise Forbidden(refused)
    usage.used(found[0], found[2], now)


def _expired(expires_at: int | None) -> bool:
    return expires_at is not None and expires_at <= now_ms()


class KeyUsage:
    """When keys were last used, kept in memory and written in one batch now and then, so that a
    request with a key costs no write of its own."""

    def __init__(self) -> None:
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()

    def used(self, key_id: str, last_written: int | None, now: int) -> None:
        if (last_written is None or now - last_written >= TOUCH_EVERY_MS) and key_id not in self._pending:
            with self._lock:
                self._pending[key_id] = now

    def take(self) -> dict[str, int]:
        """The uses noted since the last call, forgotten here."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending


def record_uses(tx: Transaction, *, uses: Iterable[tuple[str, int]]) -> None:
    for key_id, used_at in uses:
        api_keys.touch(tx, key_id=key_id, used_at=used_at)
