"""Sign-up and log-in: hashing runs outside any transaction so it never holds a lock."""

from __future__ import annotations

from promptcrafter import messages
from promptcrafter.auth import Passwords, Tokens
from promptcrafter.config import Settings
from promptcrafter.errors import Invalid, TooManyRequests, Unauthorized
from promptcrafter.schemas import PASSWORD_MAX, PASSWORD_MIN, LoginRequest, SignupRequest
from promptcrafter.storage import Database, login_throttle, users


def sign_up(db: Database, passwords: Passwords, tokens: Tokens, request: SignupRequest) -> str:
    """Create the account and return a token for it."""
    if not PASSWORD_MIN <= len(request.password) <= PASSWORD_MAX:
        raise Invalid(messages.PASSWORD_WEAK)
    password_hash = passwords.hash(request.password)
    with db.transaction(write=True) as tx:
        user_id = users.create(
            tx, name=request.name, email=request.email, password_hash=password_hash
        )
    return tokens.issue(user_id)


def log_in(
    db: Database, passwords: Passwords, tokens: Tokens, settings: Settings, request: LoginRequest
) -> str:
    """A token for the account, unless the email is locked out or the password is wrong."""
    email_key = users.email_key(request.email)
    with db.transaction(write=False) as tx:
        retry_after = login_throttle.locked_for(
            tx,
            email_key=email_key,
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_window,
        )
        found = None if retry_after else users.credentials(tx, email=request.email)
    if retry_after:
        raise TooManyRequests(messages.LOGIN_THROTTLED, retry_after=retry_after)
    user_id, password_hash = found or (None, None)
    # Unknown emails are checked against a dummy hash, so both answers take as long.
    valid = passwords.verify(password_hash, request.password)
    if user_id is None or password_hash is None or not valid:
        with db.transaction(write=True) as tx:
            login_throttle.record_failure(
                tx, email_key=email_key, window_seconds=settings.login_window
            )
        raise Unauthorized(messages.LOGIN_FAILED)
    new_hash = passwords.hash(request.password) if passwords.needs_rehash(password_hash) else None
    with db.transaction(write=True) as tx:
        login_throttle.clear(tx, email_key=email_key)
        if new_hash:
            users.set_password_hash(tx, user_id=user_id, password_hash=new_hash)
    return tokens.issue(user_id)
