"""Compare two versions or two models of a prompt: the `compare` answer drawn (both score
distributions with their intervals, the difference against zero, the paired outcomes) with its
verdict in words, and the outputs of both sides on the same inputs. With `runId`, only the logs
of that run are compared (a run's page links here for two of its models)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promptcrafter.domain import evaluation, listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.domain import runs as run_rules
from promptcrafter.server.web import charts
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member
from promptcrafter.storage import logs, versions

router = APIRouter(route_class=PageRoute, include_in_schema=False)
EXAMPLES = 30


@router.get("/p/{prompt_id}/compare")
async def compare_page(prompt_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    prompt = await caller.read(prompt_rules.get, user_id=caller.user_id, prompt_id=prompt_id)
    shown, _ = await caller.read(versions.page_newest_first, prompt_id=prompt_id, after=None, size=100)
    models = await caller.read(logs.models_of, prompt_id=prompt_id)
    query = visitor.request.query_params
    by = query.get("by") or "promptVersion"
    chosen = {"by": by, "a": query.get("a", ""), "b": query.get("b", "")}
    if not chosen["a"] and not chosen["b"] and by == "promptVersion" and prompt["version"] > 1:
        chosen.update(a=str(prompt["version"] - 1), b=str(prompt["version"]))
    run = None
    if query.get("runId"):
        run = await caller.read(run_rules.get, user_id=caller.user_id, run_id=query["runId"])
        if run["prompt_id"] != prompt_id:
            raise listing.bad_parameter("runId", "The run is of another prompt.")
    context: dict[str, Any] = {}
    if chosen["a"] and chosen["b"]:
        params = {name: [value] for name, value in chosen.items()}
        if run is not None:
            params["runId"] = [run["id"]]
        by, a, b, target, filters = evaluation.compare_request(params)
        found = await caller.analyse(
            evaluation.gather_comparison, user_id=caller.user_id, prompt_id=prompt_id, by=by, a=a, b=b, filters=filters
        )
        answer = await run_in_threadpool(evaluation.compare_answer, by, a, b, target, found)
        examples = await caller.analyse(
            evaluation.gather_examples,
            user_id=caller.user_id,
            prompt_id=prompt_id,
            by=by,
            a=a,
            b=b,
            filters=filters,
            inputs=EXAMPLES,
        )
        context = {"answer": answer, "examples": examples, "drawn": _charts(answer)}
    return page(
        visitor,
        "compare.html",
        prompt=prompt,
        versions=shown,
        models=models,
        chosen=chosen,
        tab="compare",
        examples_shown=EXAMPLES,
        run=run,
        **context,
    )


def _charts(answer: dict[str, Any]) -> dict[str, Any]:
    sides = [answer["a"], answer["b"]]
    names = [_name(answer["by"], side["key"]) for side in sides]
    drawn: dict[str, Any] = {
        "distributions": charts.distributions(
            [
                charts.Distribution(
                    label=name,
                    histogram=side["histogram"],
                    mean=side["mean"],
                    ci95=None if side["ci95"] is None else (side["ci95"][0], side["ci95"][1]),
                    median=side["median"],
                )
                for name, side in zip(names, sides, strict=True)
            ],
            title="Scores of both sides",
            chart_id="distributions",
        )
    }
    difference, paired = answer["difference"], answer["paired"]
    if difference is not None:
        low, high = difference["ci95"] or (None, None)
        drawn["difference"] = charts.difference(
            difference["mean"], low, high, label=f"{names[1]} − {names[0]}, all logs", chart_id="difference"
        )
    if paired is not None:
        low, high = paired["ci95"] or (None, None)
        drawn["paired_difference"] = charts.difference(
            paired["meanDifference"],
            low,
            high,
            label=f"{names[1]} − {names[0]}, same inputs",
            chart_id="paired-difference",
        )
        drawn["outcomes"] = charts.outcomes(
            paired["wins"],
            paired["ties"],
            paired["losses"],
            labels=(f"{names[1]} better", "tie", f"{names[0]} better"),
            chart_id="outcomes",
        )
    return drawn


def _name(by: str, key: Any) -> str:
    return f"version {key}" if by == "promptVersion" else str(key)
