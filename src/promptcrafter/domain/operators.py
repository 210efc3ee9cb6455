"""What an operator does to accounts from the command line (OPERATIONS.md): list them, disable
or enable one, delete one with everything it holds."""

from __future__ import annotations

from typing import Any

from promptcrafter.storage import users
from promptcrafter.storage.transaction import Transaction


class NoSuchAccount(LookupError):
    """No account has that id or email."""


def accounts(tx: Transaction) -> list[dict[str, Any]]:
    return users.accounts(tx)


def disable(tx: Transaction, *, who: str, disabled: bool = True) -> str:
    """Disable (or enable) the account with this id or email; its id. A disabled account's
    tokens, keys and sessions fail at once on every server process."""
    user_id = _found(tx, who)
    users.set_disabled(tx, user_id=user_id, disabled=disabled)
    return user_id


def delete(tx: Transaction, *, who: str) -> str:
    """Delete the account and every prompt, version, label, log, key and session it holds."""
    user_id = _found(tx, who)
    users.delete_one(tx, user_id=user_id)
    return user_id


def _found(tx: Transaction, who: str) -> str:
    user_id = users.find(tx, who=who)
    if user_id is None:
        raise NoSuchAccount(f"No account has the id or email {who!r}.")
    return user_id
