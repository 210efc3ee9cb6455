"""Sign-up and log-in. Password hashing runs in worker threads, outside any transaction."""

from __future__ import annotations

from promptcrafter import messages
from promptcrafter.auth import Passwords, Tokens
from promptcrafter.config import Settings
from promptcrafter.errors import Forbidden, Invalid, TooManyRequests, Unauthorized
from promptcrafter.schemas import PASSWORD_MAX, PASSWORD_MIN, LoginRequest, SignupRequest
from promptcrafter.storage import Database, login_throttle, users
from promptcrafter.storage.transaction import Transaction


async def sign_up(db: Database, passwords: Passwords, tokens: Tokens, request: SignupRequest) -> str:
    """Create the account and return a token for it."""
    return tokens.issue(await register(db, passwords, request))


async def log_in(
    db: Database, passwords: Passwords, tokens: Tokens, settings: Settings, request: LoginRequest
) -> str:
    """A token for the account, unless the email is locked out or the password is wrong."""
    return tokens.issue(await authenticate(db, passwords, settings, request))


async def register(db: Database, passwords: Passwords, request: SignupRequest) -> str:
    """Create the account; its id."""
    if not PASSWORD_MIN <= len(request.password) <= PASSWORD_MAX:
        raise Invalid(messages.PASSWORD_WEAK)
    password_hash = await passwords.hash(request.password)
    user_id: str = await db.write(users.create, name=request.name, email=request.email, password_hash=password_hash)
    return user_id


async def authenticate(db: Database, passwords: Passwords, settings: Settings, request: LoginRequest) -> str:
    """The account's id, unless the email is locked out or the password is wrong.

    The attempt is counted before the password is checked (see `login_throttle`).
    """
    email_key = users.email_key(request.email)
    attempt_id, retry_after = await db.write(
        login_throttle.begin_attempt,
        email_key=email_key,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window,
    )
    if attempt_id is None:
        raise TooManyRequests(messages.LOGIN_THROTTLED, retry_after=retry_after or 1)
    found = await db.read(users.credentials, email=request.email)
    user_id, password_hash, disabled = found or (None, None, False)
    # Unknown emails are checked against a dummy hash, so both answers take as long.
    if not await passwords.verify(password_hash, request.password) or user_id is None or password_hash is None:
        raise Unauthorized(messages.LOGIN_FAILED)
    if disabled:
        raise Forbidden(messages.ACCOUNT_DISABLED)
    new_hash = await passwords.hash(request.password) if passwords.needs_rehash(password_hash) else None
    await db.write(_succeeded, email_key=email_key, attempt_id=attempt_id, user_id=user_id, new_hash=new_hash)
    return user_id


def _succeeded(
    tx: Transaction, *, email_key: str, attempt_id: int, user_id: str, new_hash: str | None
) -> None:
    login_throttle.succeeded(tx, email_key=email_key, attempt_id=attempt_id)
    if new_hash:
        users.set_password_hash(tx, user_id=user_id, password_hash=new_hash)
