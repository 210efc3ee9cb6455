"""Password hashing (Argon2id), bearer tokens (HS256 JWT) and API keys."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

import anyio
import anyio.to_thread
import cachetools
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from promptcrafter.schemas import is_valid_id

ALGORITHM = "HS256"


class Passwords:
    """Argon2id hashing with a dummy hash so unknown emails cost as much as known ones.

    Hashing runs in worker threads, a few at a time: each takes `memory_kib` of memory
    and a core for tens of milliseconds, so a burst of log-ins queues instead of
    exhausting the machine.
    """

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy_hash = self._hasher.hash("a password nobody has")
        self._threads = anyio.CapacityLimiter(os.cpu_count() or 1)

    async def hash(self, password: str) -> str:
        """A salted Argon2id hash of the password."""
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._threads)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches; with no hash, spends the same time and says no."""
        return await anyio.to_thread.run_sync(self._verify, password_hash, password, limiter=self._threads)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True, slots=True)
class _Verified:
    user_id: str
    expires: float
    size: int  # of the token, which is the cache key


class Tokens:
    """Issues and checks the bearer tokens every protected route requires.

    Clients send the same token with every request, so a verified token is remembered
    and its signature checked once. Only verified tokens are kept (an attacker's junk
    never is), tokens longer than any this server issues are refused before any parsing,
    and the cache is bounded in bytes.
    """

    MAX_LENGTH = 1024
    CACHE_BYTES = 4 * 1024 * 1024
    _ENTRY_OVERHEAD = 200  # the dict slot, the entry and the user id, roughly

    def __init__(self, *, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._verified: cachetools.LRUCache[str, _Verified] = cachetools.LRUCache(
            maxsize=self.CACHE_BYTES, getsizeof=lambda entry: entry.size + self._ENTRY_OVERHEAD
        )

    def issue(self, user_id: str) -> str:
        """A signed token naming the user, valid for the configured lifetime."""
        now = int(time.time())
        claims = {"sub": user_id, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def user_id(self, token: str) -> str | None:
        """The user a valid token names, or None when it is malformed, forged or expired."""
        if len(token) > self.MAX_LENGTH:
            return None
        verified = self._verified.get(token)
        if verified is None:
            verified = self._verify(token)
            if verified is None:
                return None
            self._verified[token] = verified
        return verified.user_id if verified.expires > time.time() else None

    def _verify(self, token: str) -> _Verified | None:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        subject, expires = claims["sub"], claims["exp"]
        if not isinstance(subject, str) or not is_valid_id(subject):
            return None
        if not isinstance(expires, int | float):
            return None
        return _Verified(subject, expires, len(token))


API_KEY_PREFIX = "pc_live_"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """What a key names: its hash and id, its account, what it allows and until when."""

    key_hash: str
    key_id: str
    owner_id: str
    scopes: frozenset[str]
    expires_at: int | None  # milliseconds


class ApiKeys:
    """Makes API keys and remembers, per server process, which account a key's hash names.

    Only what never changes is remembered (the account, the scopes, the expiry): whether the
    key still exists is checked in the unit of work of every request that uses it, so a key
    revoked on one server process fails on all of them at once.
    """

    MAX_LENGTH = 100
    CACHE_ENTRIES = 50_000

    def __init__(self) -> None:
        self._holders: cachetools.LRUCache[str, KeyHolder] = cachetools.LRUCache(maxsize=self.CACHE_ENTRIES)

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new key (`pc_live_` and 32 random bytes in base62), its shown prefix and its hash."""
        number = int.from_bytes(os.urandom(32), "big")
        digits = []
        for _ in range(43):  # 62^43 > 2^256
            number, digit = divmod(number, 62)
            digits.append(_BASE62[digit])
        key = API_KEY_PREFIX + "".join(digits)
        return key, key[: len(API_KEY_PREFIX) + 4], ApiKeys.hashed(key)

    @staticmethod
    def hashed(key: str) -> str:
        """What is stored of a key: its SHA-256 (the key is random, so no salt or slow hash is needed)."""
        return hashlib.sha256(key.encode()).hexdigest()

    def remembered(self, key: str) -> KeyHolder | None:
        """Who a key names, if this process has seen it verified (keyed by the key itself, as
        verified tokens are: a hit costs no hashing)."""
        return self._holders.get(key)

    def remember(self, key: str, holder: KeyHolder) -> None:
        self._holders[key] = holder
