"""Provider API keys sealed at rest: Fernet (AES-128-CBC with HMAC-SHA256) under a key derived
from the server's signing secret, so every server process of one database can open what another
sealed. Keys never appear in the clear in the database, its backups or the logs; with the secret
given as PROMPTCRAFTER_SECRET_KEY (not kept in the database), a copy of the database alone
reveals none."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Sealer:
    """Seals and opens short secrets with a key derived from `secret`."""

    def __init__(self, secret: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"provider api keys").derive(
            secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The secret, or None when it was sealed under another signing secret."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def hint(plain: str) -> str:
    """What responses show of a key: its last four characters, when that is a small part of it."""
    return "…" + plain[-4:] if len(plain) >= 12 else "…"
