"""Runs: the form that runs a prompt on a dataset (a version or label, models, repeats,
scorers), the visitor's runs, and a run's page: its progress while it runs (followed by the
script, or a refresh without it), a cancel button, and once done its leaderboard and its
results side by side, with the way to compare two of its models on its logs only.

The API holds `/runs`, so a run's page lives at `/r/{id}`, as a prompt's at `/p/{id}`."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.domain import providers as provider_rules
from promptcrafter.domain import runs as run_rules
from promptcrafter.errors import Conflict, Invalid, NotFound
from promptcrafter.schemas_runs import REPEATS_MAX, RunCreate
from promptcrafter.server.api.evaluation import ranking
from promptcrafter.server.web import charts
from promptcrafter.server.web.forms import FormProblems, validated
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member, Visitor
from promptcrafter.storage import datasets, prompts, runs, versions
from promptcrafter.storage.transaction import Transaction

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LIST_SIZE = 50
RESULTS_PER_PAGE = 50
NEWEST_FIRST = "-createdAt"
CHOICES = 200
# Scorers in the order the form lists them: the first one chosen gives each answer its score.
SCORER_ORDER = ("exact", "contains", "regex", "numeric", "judge")
JUDGE_OPTIONS = ("provider", "model", "rubric")


# The launcher


def _launcher_choices(tx: Transaction, *, user_id: str, prompt_id: str) -> dict[str, Any]:
    """What the form offers, in one snapshot: the prompt's versions and labels, the user's
    datasets and providers."""
    prompt = prompt_rules.get(tx, user_id=user_id, prompt_id=prompt_id)
    shown, _ = versions.page_newest_first(tx, prompt_id=prompt_id, after=None, size=CHOICES)
    owned, _ = datasets.page(tx, filters={"owner_id": user_id}, order=NEWEST_FIRST, after=None, size=CHOICES)
    return {
        "prompt": prompt,
        "versions": shown,
        "datasets": owned,
        "providers": provider_rules.listed(tx, user_id=user_id),
    }


async def _launcher(
    visitor: Visitor, prompt_id: str, *, status: int = 200, values: dict[str, str] | None = None, **context: Any
) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    choices = await caller.read(_launcher_choices, user_id=caller.user_id, prompt_id=prompt_id)
    chosen = values if values is not None else _defaults(choices)
    return page(
        visitor,
        "run_form.html",
        status=status,
        values=chosen,
        repeats_max=REPEATS_MAX,
        **choices,
        **{"problems": {}, **context},
    )


def _defaults(choices: dict[str, Any]) -> dict[str, str]:
    values = {"repeats": "1", "scorer.exact": "on", "numeric_tolerance": "0"}
    if choices["datasets"]:
        values["dataset"] = choices["datasets"][0]["id"]
    listed = [(provider, model) for provider in choices["providers"] for model in provider["models"]]
    if len(listed) <= 2:
        for provider, model in listed:
            values[f"model.{provider['id']}:{model['name']}"] = "on"
    return values


@router.get("/p/{prompt_id}/run")
async def launcher_page(prompt_id: str, visitor: Member) -> Response:
    return await _launcher(visitor, prompt_id)


def models_of(fields: dict[str, str]) -> list[dict[str, str]]:
    """The models chosen: the boxes ticked (`model.<provider>:<model>`) and the lines typed as
    `provider:model` (the provider by name; the model's name may itself hold colons)."""
    references = [name.removeprefix("model.") for name, value in fields.items() if name.startswith("model.") and value]
    for number, line in enumerate(fields.get("more_models", "").splitlines(), start=1):
        if line.strip():
            if ":" not in line.strip(" :"):
                raise FormProblems({"models": f"Line {number}: write a model as provider:model."})
            references.append(line.strip())
    chosen: list[dict[str, str]] = []
    for reference in dict.fromkeys(references):
        provider, _, model = reference.partition(":")
        chosen.append({"provider": provider.strip(), "model": model.strip()})
    if not chosen:
        raise FormProblems({"models": "Choose at least one model."})
    return chosen


def scorers_of(fields: dict[str, str]) -> list[dict[str, Any]]:
    """The scorers chosen, in the form's order."""
    chosen: list[dict[str, Any]] = []
    for kind in ("exact", "contains"):
        if fields.get(f"scorer.{kind}"):
            chosen.append({"type": kind})
    pattern = fields.get("regex_pattern", "")
    if pattern.strip():
        chosen.append({"type": "regex", "pattern": pattern})
    if fields.get("scorer.numeric"):
        text = fields.get("numeric_tolerance", "").strip() or "0"
        try:
            tolerance = float(text)
        except ValueError:
            raise FormProblems({"numeric_tolerance": "Give the tolerance as a number, such as 0.5."}) from None
        chosen.append({"type": "numeric", "tolerance": int(tolerance) if tolerance.is_integer() else tolerance})
    if fields.get("judge_provider"):
        chosen.append(
            {"type": "judge", **{option: fields.get(f"judge_{option}", "").strip() for option in JUDGE_OPTIONS}}
        )
    return chosen


def _version_choice(text: str) -> dict[str, Any]:
    kind, _, value = text.partition(":")
    if kind == "version" and value.isdigit():
        return {"version": int(value)}
    if kind == "label" and value:
        return {"label": value}
    return {}


def _repeats(text: str) -> int:
    try:
        return int(text.strip() or "1")
    except ValueError:
        raise FormProblems({"repeats": f"Give a whole number from 1 to {REPEATS_MAX}."}) from None


def _field_of(detail: str, scorers: list[dict[str, Any]]) -> str:
    """The form field an API problem's `field` (such as `scorers[2].pattern`) is about."""
    if detail.startswith("models"):
        return "models"
    if detail.startswith("scorers[") and "]" in detail:
        index, _, option = detail.removeprefix("scorers[").partition("]")
        kind = scorers[int(index)]["type"] if index.isdigit() and int(index) < len(scorers) else ""
        option = option.removeprefix(".")
        if kind == "regex":
            return "regex_pattern"
        if kind == "numeric":
            return "numeric_tolerance"
        if kind == "judge":
            return f"judge_{option}" if option in JUDGE_OPTIONS else "judge_provider"
        return "scorers"
    return "form"


@router.post("/p/{prompt_id}/run")
async def launch(prompt_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    caller = visitor.caller
    scorers: list[dict[str, Any]] = []
    try:
        scorers = scorers_of(fields)
        body = {
            "promptId": prompt_id,
            "datasetId": fields.get("dataset", ""),
            "models": models_of(fields),
            "repeats": _repeats(fields.get("repeats", "")),
            "scorers": scorers,
            **_version_choice(fields.get("version", "")),
        }
        request = validated(RunCreate, body)
        record = await caller.write(run_rules.create, bulk=True, user_id=caller.user_id, request=request)
    except FormProblems as invalid:
        names = {"datasetId": "dataset", "label": "version"}
        problems = {names.get(name, name): problem for name, problem in invalid.problems.items()}
        return await _launcher(visitor, prompt_id, status=400, values=fields, problems=problems)
    except Invalid as refused:
        problems = {}
        for detail in refused.details or []:
            problems.setdefault(_field_of(str(detail["field"]), scorers), str(detail["message"]))
        if not problems:
            empty = refused.message == messages.DATASET_EMPTY
            problems = {"dataset" if empty else "form": refused.message}
        return await _launcher(visitor, prompt_id, status=400, values=fields, problems=problems)
    except NotFound as missing:
        if missing.message not in (messages.LABEL_NOT_FOUND, messages.VERSION_NOT_FOUND):
            raise
        return await _launcher(visitor, prompt_id, status=404, values=fields, problems={"version": missing.message})
    visitor.context.runner.wake()
    return visitor.redirect(f"/r/{record['id']}")


# The list


def _runs_named(tx: Transaction, *, user_id: str, after: Any) -> tuple[list[dict[str, Any]], Any]:
    """A page of the user's runs, newest first, each with its prompt's title and dataset's name."""
    found, key = runs.page(tx, filters={"owner_id": user_id}, order=NEWEST_FIRST, after=after, size=LIST_SIZE)
    titles: dict[str, str] = {}
    names: dict[str, str] = {}
    for run in found:
        if run["prompt_id"] not in titles:
            prompt = prompts.get(tx, prompt_id=run["prompt_id"])
            titles[run["prompt_id"]] = "" if prompt is None else prompt["title"]
        if run["dataset_id"] not in names:
            dataset = datasets.get(tx, dataset_id=run["dataset_id"])
            names[run["dataset_id"]] = "" if dataset is None else dataset["name"]
    shown = [
        {**run, "prompt_title": titles[run["prompt_id"]], "dataset_name": names[run["dataset_id"]]} for run in found
    ]
    return shown, key


@router.get("/r")
async def runs_page(visitor: Member) -> Response:
    caller = visitor.caller
    cursor = visitor.request.query_params.get("cursor")
    after = listing.decode_cursor(cursor, NEWEST_FIRST) if cursor else None
    found, key = await caller.read(_runs_named, user_id=caller.user_id, after=after)
    next_cursor = None if key is None else listing.encode_cursor(NEWEST_FIRST, key)
    return page(visitor, "runs.html", runs=[_shown(run) for run in found], next_cursor=next_cursor)


# A run


@dataclass(frozen=True)
class Progress:
    """A run's progress as its bar draws it: calls done, failed, and all, with the bar's widths
    (of 1,000 units) for the first two."""

    done: int
    failed: int
    total: int

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def done_width(self) -> float:
        return round(1000 * self.done / self.total, 1) if self.total else 0.0

    @property
    def failed_width(self) -> float:
        return round(1000 * self.failed / self.total, 1) if self.total else 0.0

    @property
    def percent(self) -> int:
        return int(100 * self.finished / self.total) if self.total else 100


def _shown(run: dict[str, Any]) -> dict[str, Any]:
    return {
        **run,
        "progress": Progress(run["done"], run["failed"], run["total"]),
        "models_used": [run_rules.model_used(model) for model in run["models"]],
        "live": run["status"] not in run_rules.FINISHED,
    }


def _run_view(tx: Transaction, *, user_id: str, run_id: str, after: Any, results: bool) -> dict[str, Any]:
    """The run (checked to be the user's) with its prompt and dataset, and when asked one page
    of its results once it has ended."""
    run = run_rules.get(tx, user_id=user_id, run_id=run_id)
    view: dict[str, Any] = {
        "run": run,
        "prompt": prompts.get(tx, prompt_id=run["prompt_id"]),
        "dataset": datasets.get(tx, dataset_id=run["dataset_id"]),
        "results": [],
        "next_key": None,
    }
    if results and run["status"] in run_rules.FINISHED:
        view["results"], view["next_key"] = runs.results_page(tx, run_id=run_id, after=after, size=RESULTS_PER_PAGE)
    return view


@router.get("/r/{run_id}")
async def run_page(run_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    query = visitor.request.query_params
    partial = query.get("partial") == "1"
    cursor = query.get("cursor")
    after = listing.decode_cursor(cursor, "") if cursor else None
    view = await caller.read(_run_view, user_id=caller.user_id, run_id=run_id, after=after, results=not partial)
    run = _shown(view["run"])
    if partial:
        return page(visitor, "run_progress.html", run=run)
    board = drawn = None
    if run["status"] == "done":
        board = await ranking(
            caller, by="modelUsed", method="mean", prompt_id=run["prompt_id"], filters={"run_id": run_id}
        )
        drawn = _forest(board["entries"])
    return page(
        visitor,
        "run.html",
        run=run,
        prompt=view["prompt"],
        dataset=view["dataset"],
        board=board,
        drawn=drawn,
        rows=[_row(result, len(run["models"])) for result in view["results"]],
        first_page=cursor is None,
        next_cursor=None if view["next_key"] is None else listing.encode_cursor("", view["next_key"]),
    )


def _row(result: dict[str, Any], models: int) -> dict[str, Any]:
    """One item of the results: its input and expected answer, and per model its answers (one a repeat)."""
    cells: list[list[dict[str, Any]]] = [[] for _ in range(models)]
    for output in result["outputs"]:
        if output["model_index"] < models:
            cells[output["model_index"]].append(output)
    return {"input": result["input"], "expected": result["expected"], "cells": cells}


def _forest(entries: list[dict[str, Any]]) -> Any:
    rows = []
    for entry in entries:
        low, high = entry["ratingCi95"] or (None, None)
        ranks = entry["rankCi95"]
        note = "" if ranks is None else f"rank {ranks[0]}–{ranks[1]}"
        rows.append(charts.Interval(str(entry["key"]), entry["rating"], low, high, note=note))
    return charts.forest(rows, axis_label="Mean score (95% interval)", chart_id="run-leaderboard") if rows else None


@router.post("/r/{run_id}/cancel")
async def cancel(run_id: str, visitor: Member) -> Response:
    await visitor.form()
    caller = visitor.caller
    # A run that finished before the click arrived is a Conflict: its page then says how it ended.
    with suppress(Conflict):
        await caller.write(run_rules.cancel, user_id=caller.user_id, run_id=run_id)
    return visitor.redirect(f"/r/{run_id}")
