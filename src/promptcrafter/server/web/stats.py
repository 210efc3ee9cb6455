"""Statistics pages: a prompt's mean score per version over time (a line with its 95% band),
per version and per model with their intervals; and the leaderboard as a forest plot of
ratings with their rank intervals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptcrafter.domain import evaluation, listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.server.api.evaluation import ranking
from promptcrafter.server.web import charts
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# Each version's line is one `stats` read; the newest few tell the story.
VERSIONS_OVER_TIME = 6


@router.get("/p/{prompt_id}/stats")
async def stats_page(prompt_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    prompt = await caller.read(prompt_rules.get, user_id=caller.user_id, prompt_id=prompt_id)
    groups: dict[str, dict[str, Any]] = {}
    for group in ("promptVersion", "modelUsed"):
        found = await caller.analyse(
            evaluation.gather_groups, user_id=caller.user_id, prompt_id=prompt_id, group=group, filters={}
        )
        groups[group] = await run_in_threadpool(evaluation.stats_answer, group, found)
    series = []
    for entry in groups["promptVersion"]["groups"][-VERSIONS_OVER_TIME:]:
        found = await caller.analyse(
            evaluation.gather_groups,
            user_id=caller.user_id,
            prompt_id=prompt_id,
            group="day",
            filters={"prompt_version": entry["key"]},
        )
        days = await run_in_threadpool(evaluation.stats_answer, "day", found)
        series.append(
            charts.Series(
                label=f"version {entry['key']}",
                points=[
                    charts.TrendPoint(day["key"], day["mean"], *(day["ci95"] or (None, None))) for day in days["groups"]
                ],
            )
        )
    return page(
        visitor,
        "stats.html",
        prompt=prompt,
        tab="stats",
        groups=groups,
        trend=charts.trend(series, y_label="Mean score", title="Mean score per day", chart_id="trend")
        if series
        else None,
        by_version=_forest(groups["promptVersion"]["groups"], "version ", "by-version"),
        by_model=_forest(groups["modelUsed"]["groups"], "", "by-model"),
    )


def _interval(label: str, estimate: float | None, bounds: list[float] | None, note: str) -> charts.Interval:
    low, high = bounds or (None, None)
    return charts.Interval(label, estimate, low, high, note=note)


def _forest(entries: list[dict[str, Any]], prefix: str, chart_id: str) -> Any:
    rows = [
        _interval(f"{prefix}{entry['key']}", entry["mean"], entry["ci95"], f"n = {entry['scored']}")
        for entry in entries
    ]
    return charts.forest(rows, axis_label="Mean score (95% interval)", chart_id=chart_id) if rows else None


@router.get("/leaderboard")
async def leaderboard_page(visitor: Member) -> Response:
    query = visitor.request.query_params
    params = {name: [query[name]] for name in ("by", "method", "promptId") if query.get(name)}
    by, method, filters = evaluation.leaderboard_request(params)
    prompt_id = listing.prompt_filter(params["promptId"]) if "promptId" in params else None
    answer = await ranking(visitor.caller, by=by, method=method, prompt_id=prompt_id, filters=filters)
    prefix = "version " if by == "promptVersion" else ""
    rows = [
        _interval(
            f"{prefix}{entry['key']}",
            entry["rating"],
            entry["ratingCi95"],
            "" if entry["rankCi95"] is None else f"rank {entry['rankCi95'][0]}–{entry['rankCi95'][1]}",
        )
        for entry in answer["entries"]
    ]
    label = "Mean score (95% interval)" if method == "mean" else "Bradley–Terry rating, Elo scale (95% interval)"
    drawn = charts.forest(rows, axis_label=label, chart_id="leaderboard") if rows else None
    return page(
        visitor,
        "leaderboard.html",
        answer=answer,
        drawn=drawn,
        by=by,
        method=method,
        prompt_id=prompt_id or "",
    )
