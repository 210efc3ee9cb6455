"""What a benchmark target is: a running server plus the requests to measure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from processes import ManagedProcess

# The four cases run against PromptCrafter and PocketBase, in report order.
API_CASES = ("create_log", "list_logs", "get_prompt", "search")
CEILING_CASE = "constant_json"


@dataclass(frozen=True)
class Case:
    """One HTTP request that wrk sends again and again."""

    name: str
    method: str
    path: str  # path and query string, appended to the target's base URL
    body: str | None = None
    authorization: str | None = None  # full Authorization header value
    expect_items: int | None = None  # records the response must contain
    items_key: str | None = None  # key holding the records; None: the body is the list

    def headers(self) -> dict[str, str]:
        """Request headers: JSON content type when there is a body, plus auth."""
        headers: dict[str, str] = {}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        return headers


@dataclass
class Target:
    """A started, seeded server and the cases to measure against it."""

    name: str
    base_url: str
    process: ManagedProcess
    version: str
    cases: dict[str, Case] = field(default_factory=dict)


def to_json(value: Any) -> str:
    """Compact JSON, as a client library would send it."""
    return json.dumps(value, separators=(",", ":"))


def expect_status(response: httpx.Response, status: int, what: str) -> Any:
    """Return the JSON body of ``response``, or fail if its status is not ``status``."""
    if response.status_code != status:
        raise RuntimeError(
            f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:300]}"
        )
    return response.json() if response.content else None


def check_case(target: Target, case: Case) -> None:
    """Send a case once and verify it succeeds and returns the expected records.

    A benchmark of error responses is worthless, so this runs before wrk does.
    """
    response = httpx.request(
        case.method,
        target.base_url + case.path,
        content=case.body,
        headers=case.headers(),
        timeout=30.0,
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(
            f"{target.name} {case.name}: {case.method} {case.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    if case.expect_items is None:
        return
    body = response.json()
    items = body if case.items_key is None else body[case.items_key]
    if len(items) != case.expect_items:
        raise RuntimeError(
            f"{target.name} {case.name}: expected {case.expect_items} records, got {len(items)}"
        )
