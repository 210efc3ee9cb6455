"""Search: the documented limits of a query."""

from __future__ import annotations

from promptcrafter import messages
from promptcrafter.errors import Invalid
from promptcrafter.storage.search import MAX_QUERY_LENGTH, MAX_TERMS


def terms_of(values: list[str]) -> list[str]:
    """The whitespace-separated terms of the one `q` parameter, within the limits."""
    query = values[0] if len(values) == 1 else ""
    if len(query) > MAX_QUERY_LENGTH:
        raise Invalid(messages.SEARCH_QUERY_TOO_LONG)
    terms = query.split()
    if not terms or "\x00" in query:
        raise Invalid(messages.SEARCH_QUERY_INVALID)
    if len(terms) > MAX_TERMS:
        raise Invalid(messages.SEARCH_TOO_MANY_TERMS)
    return terms


def searched_collection(values: list[str]) -> str:
    """The `in` parameter: what to search, `prompts` unless `logs`."""
    if not values:
        return "prompts"
    if len(values) > 1 or values[0] not in ("prompts", "logs"):
        problem = {"field": "in", "message": "Use prompts or logs."}
        raise Invalid(messages.BAD_PARAMETERS, details=[problem])
    return values[0]
