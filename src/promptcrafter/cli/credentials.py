"""The per-user credentials file written by `promptcrafter login`: readable by its owner only."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

CONFIG_DIR_ENV = "PROMPTCRAFTER_CONFIG_DIR"
FILE_NAME = "credentials.json"
DIR_MODE = 0o700
FILE_MODE = 0o600


@dataclass(frozen=True)
class Credentials:
    """The server last logged in to, and the token it issued."""

    url: str
    token: str


def config_dir() -> Path:
    """$PROMPTCRAFTER_CONFIG_DIR, or $XDG_CONFIG_HOME/promptcrafter, or ~/.config/promptcrafter."""
    explicit = os.environ.get(CONFIG_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "promptcrafter"


def credentials_path() -> Path:
    """Where the credentials are kept."""
    return config_dir() / FILE_NAME


def load() -> Credentials | None:
    """The stored credentials, or None when there are none (or they are unreadable)."""
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
        return Credentials(url=str(data["url"]), token=str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(credentials: Credentials) -> Path:
    """Store the credentials, replacing the old ones atomically; returns the file's path."""
    directory = config_dir()
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # mkdir leaves an existing directory's mode alone, and its mode is subject to the umask.
    directory.chmod(DIR_MODE)
    path = directory / FILE_NAME
    partial = path.with_suffix(".tmp")
    # Created 0600 from the start, so the token is never readable by others, even briefly.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    # A leftover file keeps its old mode through O_CREAT, so set it explicitly.
    partial.chmod(FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(asdict(credentials), file)
    os.replace(partial, path)
    return path


def delete() -> bool:
    """Forget the stored credentials; False when there were none."""
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True
