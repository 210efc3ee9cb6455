"""The per-user credentials file written by `promptcrafter login`: readable by its owner only."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from promptcrafter.client import DEFAULT_URL

CONFIG_DIR_ENV = "PROMPTCRAFTER_CONFIG_DIR"
FILE_NAME = "credentials.json"
DIR_MODE = 0o700
FILE_MODE = 0o600
DEFAULT_PORTS = {"http": 80, "https": 443}
# Names of this machine that reach the same local server.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Credentials:
    """The server last logged in to, and the token it issued."""

    url: str
    token: str

    def applies_to(self, url: str) -> bool:
        """Whether the token comes from the server at `url`, however either URL is spelled."""
        try:
            return _server_identity(self.url) == _server_identity(url)
        except ValueError:
            return False


def server_url(url: str) -> str:
    """`url` spelled one way: scheme and host in lower case, no default port, no trailing slash.

    Raises ValueError, with a message to show, for anything but http(s)://host[:port][/path].
    """
    scheme, host, port, path = _server_parts(url)
    shown_host = f"[{host}]" if ":" in host else host
    shown_port = "" if port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{shown_host}{shown_port}{path}"


def _server_parts(url: str) -> tuple[str, str, int, str]:
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as error:
        raise ValueError(f"{url!r} is not a valid URL: {error}; give one like {DEFAULT_URL}.") from None
    port = DEFAULT_PORTS.get(parsed.scheme, 0) if parsed.port is None else parsed.port
    if (
        parsed.scheme not in DEFAULT_PORTS
        or not parsed.host
        or not 0 < port < 65536
        or parsed.userinfo
        or parsed.query
        or parsed.fragment
    ):
        raise ValueError(f"{url!r} is not a server URL; give http(s)://host[:port], like {DEFAULT_URL}.")
    return parsed.scheme, parsed.host, port, parsed.raw_path.decode("ascii").rstrip("/")


def _server_identity(url: str) -> tuple[str, str, int, str]:
    scheme, host, port, path = _server_parts(url)
    return scheme, "localhost" if host in LOOPBACK_HOSTS else host, port, path


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
