"""`GET /metrics` (OPERATIONS.md): Prometheus text, off unless the operator turns it on.

Under several server processes every worker writes its figures to files in one directory
(`PROMETHEUS_MULTIPROC_DIR`, set by `promptcrafter serve --metrics` before the workers start),
and a scrape of any worker adds them all up. Labels are route templates, known methods and
statuses only: a scan of random URLs adds no new series.
"""

from __future__ import annotations

import hmac
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from promptcrafter import messages
from promptcrafter.server.context import ServerContext
from promptcrafter.server.responses import JSONResponse
from promptcrafter.storage import stored_counts

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "promptcrafter_requests", "Requests answered, by route template, method and status.", ["route", "method", "status"]
)
DURATION = Histogram(
    "promptcrafter_request_duration_seconds",
    "Time from a request's arrival to its last byte, by route template.",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONNECTIONS = Gauge(
    "promptcrafter_db_connections",
    "Database connections in use, and units of work waiting for one, across server processes.",
    ["state"],
    multiprocess_mode="livesum",
)
STORED = Gauge(
    "promptcrafter_stored",
    "Prompts and logs stored, as the database estimates them (cheap to read, not exact).",
    ["kind"],
    multiprocess_mode="mostrecent",
)


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    template = route or UNMATCHED
    REQUESTS.labels(template, method if method in METHODS else "OTHER", str(status)).inc()
    DURATION.labels(template).observe(seconds)


def observe_connections(state: str, change: int) -> None:
    CONNECTIONS.labels(state).inc(change)


async def metrics(request: Request) -> Response:
    """The metrics of every server process, when asked with the metrics token (if one is set)."""
    context: ServerContext = request.app.state.context
    settings = context.settings
    if settings.metrics_token is not None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), settings.metrics_token):
            return JSONResponse({"error": messages.TOKEN_INVALID}, status_code=401)
    counts = await context.db.read(stored_counts.estimates)
    for kind, count in counts.items():
        STORED.labels(kind).set(count)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        from prometheus_client import REGISTRY

        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


ROUTE = Route("/metrics", metrics, methods=["GET"], include_in_schema=False)
