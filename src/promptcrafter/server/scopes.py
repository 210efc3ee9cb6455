"""What an API key must allow for each route (OPERATIONS.md): one table, checked by a test to
name every protected route, so that a new route cannot be left open to every key."""

from __future__ import annotations

from collections.abc import Mapping

PROMPTS_READ, PROMPTS_WRITE = "prompts:read", "prompts:write"
LOGS_READ, LOGS_WRITE = "logs:read", "logs:write"
STATS_READ = "stats:read"
# Datasets and runs (EVALUATION.md §10); providers hold secrets, so only a login token manages them.
RUNS_READ, RUNS_WRITE = "runs:read", "runs:write"
SCOPES = (PROMPTS_READ, PROMPTS_WRITE, LOGS_READ, LOGS_WRITE, STATS_READ, RUNS_READ, RUNS_WRITE)

# (method, route template) → the scopes a key needs; None: a person's login token only.
ROUTE_SCOPES: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("GET", "/auth/me"): (),
    ("POST", "/auth/keys"): None,
    ("GET", "/auth/keys"): None,
    ("DELETE", "/auth/keys/{key_id:path}"): None,
    ("POST", "/prompts"): (PROMPTS_WRITE,),
    ("GET", "/prompts"): (PROMPTS_READ,),
    ("GET", "/prompts/export"): (PROMPTS_READ,),
    ("GET", "/prompts/{prompt_id:path}"): (PROMPTS_READ,),
    ("PATCH", "/prompts/{prompt_id:path}"): (PROMPTS_WRITE,),
    ("DELETE", "/prompts/{prompt_id:path}"): (PROMPTS_WRITE,),
    ("GET", "/prompts/{prompt_id}/versions"): (PROMPTS_READ,),
    ("GET", "/prompts/{prompt_id}/versions/{version}"): (PROMPTS_READ,),
    ("POST", "/prompts/{prompt_id}/versions/{version}/restore"): (PROMPTS_WRITE,),
    ("GET", "/prompts/{prompt_id}/diff"): (PROMPTS_READ,),
    ("PUT", "/prompts/{prompt_id}/labels/{label}"): (PROMPTS_WRITE,),
    ("DELETE", "/prompts/{prompt_id}/labels/{label}"): (PROMPTS_WRITE,),
    ("POST", "/prompts/{prompt_id}/render"): (PROMPTS_READ,),
    ("GET", "/prompts/{prompt_id}/stats"): (STATS_READ,),
    ("GET", "/prompts/{prompt_id}/compare"): (STATS_READ,),
    ("GET", "/compare"): (STATS_READ,),
    ("GET", "/stats/leaderboard"): (STATS_READ,),
    ("POST", "/logs"): (LOGS_WRITE,),
    ("POST", "/logs/batch"): (LOGS_WRITE,),
    ("GET", "/logs"): (LOGS_READ,),
    ("GET", "/logs/export"): (LOGS_READ,),
    ("PATCH", "/logs/{log_id:path}"): (LOGS_WRITE,),
    ("DELETE", "/logs/{log_id:path}"): (LOGS_WRITE,),
    ("GET", "/search"): (PROMPTS_READ,),
    ("POST", "/import"): (PROMPTS_WRITE, LOGS_WRITE),
    ("POST", "/datasets"): (RUNS_WRITE,),
    ("GET", "/datasets"): (RUNS_READ,),
    ("GET", "/datasets/{dataset_id}"): (RUNS_READ,),
    ("PATCH", "/datasets/{dataset_id}"): (RUNS_WRITE,),
    ("DELETE", "/datasets/{dataset_id}"): (RUNS_WRITE,),
    ("POST", "/datasets/{dataset_id}/items"): (RUNS_WRITE,),
    ("GET", "/datasets/{dataset_id}/items"): (RUNS_READ,),
    ("DELETE", "/datasets/{dataset_id}/items/{item_id}"): (RUNS_WRITE,),
    ("POST", "/providers"): None,
    ("GET", "/providers"): None,
    ("GET", "/providers/{provider_id}"): None,
    ("PATCH", "/providers/{provider_id}"): None,
    ("DELETE", "/providers/{provider_id}"): None,
    ("POST", "/runs"): (RUNS_WRITE,),
    ("GET", "/runs"): (RUNS_READ,),
    ("GET", "/runs/{run_id}"): (RUNS_READ,),
    ("GET", "/runs/{run_id}/results"): (RUNS_READ,),
    ("POST", "/runs/{run_id}/cancel"): (RUNS_WRITE,),
}


def required(method: str, route: str, params: Mapping[str, list[str]]) -> tuple[str, ...] | None:
    """The scopes a key needs for this request (HEAD as GET); None when only a login token may
    call it. Searching outputs (`/search?in=logs`) reads logs, not prompts."""
    needed = ROUTE_SCOPES[("GET" if method == "HEAD" else method, route)]
    if route == "/search" and params.get("in") == ["logs"]:
        return (LOGS_READ,)
    return needed
