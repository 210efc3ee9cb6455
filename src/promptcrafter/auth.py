"""Password hashing (Argon2id) and bearer tokens (HS256 JWT)."""

from __future__ import annotations

import time
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from promptcrafter.schemas import is_valid_id

ALGORITHM = "HS256"


class Passwords:
    """Argon2id hashing with a dummy hash so unknown emails cost as much as known ones."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy_hash = self._hasher.hash("a password nobody has")

    def hash(self, password: str) -> str:
        """A salted Argon2id hash of the password."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches; with no hash, spends the same time and says no."""
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)


class Tokens:
    """Issues and checks the bearer tokens every protected route requires."""

    def __init__(self, *, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        # Clients send the same token with every request; checking its signature once is enough.
        self._claims = lru_cache(maxsize=8192)(self._verified_claims)

    def issue(self, user_id: str) -> str:
        """A signed token naming the user, valid for the configured lifetime."""
        now = int(time.time())
        claims = {"sub": user_id, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def user_id(self, token: str) -> str | None:
        """The user a valid token names, or None when it is malformed, forged or expired."""
        claims = self._claims(token)
        if claims is None or claims[1] <= time.time():
            return None
        return claims[0]

    def _verified_claims(self, token: str) -> tuple[str, float] | None:
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
        return subject, expires
