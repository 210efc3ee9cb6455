"""What a list request asks for: filters, a sort, a page size and where the page starts
(EVALUATION.md §5). Every bad value is a 400 naming its parameter."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from promptcrafter import messages
from promptcrafter.errors import Invalid
from promptcrafter.schemas import is_valid_id, iso_milliseconds

LIMIT_MAX = 1000
# A limited page holds at most this many characters of text; past it, it ends early (and
# its Link names the rest), so one answer stays a few megabytes whatever the limit.
LIMITED_PAGE_CHARACTERS = 2_000_000
PAGING = ("limit", "cursor", "sort")
LOG_FILTERS = ("modelUsed", "promptVersion", "minScore", "maxScore", "scored", "since", "until", "runId")
PROMPT_FILTERS = ("tag", "model")
LOG_SORTS = ("createdAt", "-createdAt", "score", "-score")
PROMPT_SORTS = ("createdAt", "-createdAt", "updatedAt", "-updatedAt", "title")
_MAX_VALUES = 20  # of a repeatable filter


@dataclass(frozen=True)
class ListRequest:
    """A list's filters (by storage name), its sort, and the page asked for."""

    filters: dict[str, Any] = field(default_factory=dict)
    order: str = "createdAt"
    limit: int | None = None
    after: Any = None


def prompts_request(params: dict[str, list[str]]) -> ListRequest:
    """`GET /prompts`: `tag` (each must be present), `model`, and paging."""
    filters: dict[str, Any] = {}
    if "tag" in params:
        filters["tag"] = _repeatable(params, "tag")
    if (model := single(params, "model")) is not None:
        filters["model"] = model
    return _paged(params, filters, PROMPT_SORTS)


def logs_request(params: dict[str, list[str]]) -> ListRequest:
    """`GET /logs`: the log filters and paging (`promptId` is read by the caller)."""
    filters: dict[str, Any] = {}
    if "modelUsed" in params:
        filters["model_used"] = _repeatable(params, "modelUsed")
    if (version := single(params, "promptVersion")) is not None:
        filters["prompt_version"] = positive_integer("promptVersion", version)
    for name, key in (("minScore", "min_score"), ("maxScore", "max_score")):
        if (score := single(params, name)) is not None:
            filters[key] = number(name, score)
    if (scored := single(params, "scored")) is not None:
        if scored not in ("true", "false"):
            raise bad_parameter("scored", "Use true or false.")
        filters["scored" if scored == "true" else "unscored"] = True
    for name in ("since", "until"):
        if (moment := single(params, name)) is not None:
            filters[name] = _milliseconds(name, moment)
    if (run_id := single(params, "runId")) is not None:
        if not is_valid_id(run_id):
            raise bad_parameter("runId", "Not a run id.")
        filters["run_id"] = run_id
    return _paged(params, filters, LOG_SORTS)


def unsorted_request(params: dict[str, list[str]]) -> ListRequest:
    """A list with one order of its own and no filters (versions, search): `limit`, `cursor`."""
    return _paged(params, {}, ("",))


CREATED_SORTS = ("createdAt", "-createdAt")


def created_request(params: dict[str, list[str]]) -> ListRequest:
    """A list in creation order, either way (datasets, runs): `limit`, `cursor`, `sort`."""
    return _paged(params, {}, CREATED_SORTS)


def encode_cursor(order: str, key: Any) -> str:
    """The opaque `cursor` of the page after `key` in this order."""
    return base64.urlsafe_b64encode(orjson.dumps([order, key])).decode().rstrip("=")


def decode_cursor(text: str, order: str) -> Any:
    """The key a cursor holds (each list checks its own keys); 400 when it is not a cursor
    of ours, or was made for another sort."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise bad_cursor() from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[0], str)):
        raise bad_cursor()
    made_for, key = decoded
    if made_for != order:
        raise bad_parameter("cursor", "The cursor was made for another sort; keep `sort` as it was.")
    return key


def bad_cursor() -> Invalid:
    return bad_parameter("cursor", "Not a cursor from this list.")


def prompt_filter(values: list[str]) -> str:
    """The `promptId` of a log listing: exactly one, of the id format (the contract's words)."""
    if len(values) != 1 or not is_valid_id(values[0]):
        raise Invalid(messages.LOGS_PROMPT_ID_INVALID)
    return values[0]


def _paged(params: dict[str, list[str]], filters: dict[str, Any], sorts: tuple[str, ...]) -> ListRequest:
    order = single(params, "sort") or sorts[0]
    if order not in sorts:
        raise bad_parameter("sort", f"Use one of {', '.join(sorts)}.")
    limit = single(params, "limit")
    cursor = single(params, "cursor")
    return ListRequest(
        filters=filters,
        order=order,
        limit=None if limit is None else positive_integer("limit", limit, largest=LIMIT_MAX),
        after=None if cursor is None else decode_cursor(cursor, order),
    )


def single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise bad_parameter(name, "Give it at most once.")
    return values[0] if values else None


def _repeatable(params: dict[str, list[str]], name: str) -> list[str]:
    values = params[name]
    if len(values) > _MAX_VALUES:
        raise bad_parameter(name, f"Give it at most {_MAX_VALUES} times.")
    if any(not value or len(value) > 100 for value in values):
        raise bad_parameter(name, "Each value is 1 to 100 characters.")
    return list(dict.fromkeys(values))


def positive_integer(name: str, text: str, *, largest: int = 2**31 - 1) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 1 <= int(text) <= largest:
        raise bad_parameter(name, f"Use a whole number from 1 to {largest}.")
    return int(text)


def number(name: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise bad_parameter(name, "Use a number.") from None
    if not math.isfinite(number):
        raise bad_parameter(name, "Use a finite number.")
    return number


def _milliseconds(name: str, text: str) -> int:
    try:
        return iso_milliseconds(text)
    except ValueError:
        raise bad_parameter(name, "Use an ISO 8601 date or date-time, such as 2026-11-29T12:00:00Z.") from None


def bad_parameter(name: str, problem: str) -> Invalid:
    return Invalid(messages.BAD_PARAMETERS, details=[{"field": name, "message": problem}])
