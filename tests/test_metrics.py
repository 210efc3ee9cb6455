"""`GET /metrics` (OPERATIONS.md): off by default; when on, requests by route template, method
and status, latencies, connections and stored counts in Prometheus text, adding up every server
process's figures; labels never grow with the URLs asked for; optionally behind its own token."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from helpers import PASSWORD, User, start_server, stop_server

SERIES = re.compile(r"^(promptcrafter_\w+)(\{.*\})? (\S+)$", re.MULTILINE)


def series(text: str) -> dict[str, float]:
    """Each sample of ours: `name{labels}` → value."""
    return {name + (labels or ""): float(value) for name, labels, value in SERIES.findall(text)}


def requests_counted(text: str, route: str, method: str = "GET", status: int = 200) -> float:
    found = series(text)
    return next(
        (
            value
            for key, value in found.items()
            if key.startswith("promptcrafter_requests_total{")
            and f'route="{route}"' in key
            and f'method="{method}"' in key
            and f'status="{status}"' in key
        ),
        0.0,
    )


def test_metrics_are_off_unless_asked_for(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 404 and response.json() == {"error": "Not found."}


def test_requests_are_counted_by_route_template_and_random_urls_add_no_series(app_factory: Any, user: User) -> None:
    with TestClient(app_factory(metrics=True)) as client:
        before = client.get("/metrics").text
        created = client.post(
            "/prompts", json={"title": "Counted", "content": "Some text", "model": "m"}, headers=user.headers
        )
        for _ in range(3):
            client.get(f"/prompts/{created.json()['_id']}", headers=user.headers)
        client.get("/metrics")
        scanned = client.get("/metrics").text
        for index in range(50):  # a scan of URLs that exist nowhere
            client.get(f"/wp-admin/{index}.php?id={index}")
        after = client.get("/metrics").text
    assert (
        requests_counted(scanned, "/prompts/{prompt_id:path}") - requests_counted(before, "/prompts/{prompt_id:path}")
        == 3
    )
    assert requests_counted(scanned, "/prompts", "POST", 201) - requests_counted(before, "/prompts", "POST", 201) == 1
    new_series = set(series(after)) - set(series(scanned))
    assert all('route="unmatched"' in key or 'route="/metrics"' in key for key in new_series), new_series
    assert requests_counted(after, "unmatched", status=404) - requests_counted(scanned, "unmatched", status=404) == 50
    durations = series(after)
    assert durations['promptcrafter_request_duration_seconds_count{route="/prompts/{prompt_id:path}"}'] >= 3
    # Estimates: PostgreSQL's count only after autovacuum or ANALYZE has seen the table.
    assert {'promptcrafter_stored{kind="prompts"}', 'promptcrafter_stored{kind="logs"}'} <= set(durations)
    assert "wp-admin" not in after and user.token not in after


def test_metrics_may_need_their_own_token(app_factory: Any) -> None:
    with TestClient(app_factory(metrics=True, metrics_token="a-long-metrics-token")) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        response = client.get("/metrics", headers={"Authorization": "Bearer a-long-metrics-token"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")


def test_every_worker_counts_into_one_figure(tmp_path: Any) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'counted.db'}", workers=2, env={"PROMPTCRAFTER_METRICS": "1"})
    try:
        with httpx.Client(base_url=server.url) as http:
            body = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
            token = http.post("/auth/signup", json=body).json()["token"]
            for _ in range(40):  # new connections, so both workers answer some
                httpx.get(f"{server.url}/prompts", headers={"Authorization": f"Bearer {token}"})
            scrapes = [httpx.get(f"{server.url}/metrics").text for _ in range(4)]
        assert {requests_counted(text, "/prompts") for text in scrapes} == {40.0}
    finally:
        stop_server(server)
