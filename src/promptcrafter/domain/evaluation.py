"""Evaluation statistics (EVALUATION.md §8): what `stats`, `compare` and the leaderboard ask
for, the aggregates they read (in one unit of work), and the answers computed from them.

Reading (`gather_*`, SQL through `storage.aggregates`) and computing (`*_answer`, NumPy and
SciPy through `statistics`) are separate steps, so that the maths can run off the event loop
and no connection is held while it runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from promptcrafter import messages, statistics
from promptcrafter.domain import listing
from promptcrafter.domain.prompts import require_readable
from promptcrafter.errors import Invalid
from promptcrafter.storage import aggregates
from promptcrafter.storage.transaction import Transaction

GROUP_BYS = ("promptVersion", "modelUsed", "day")
COMPARE_BYS = ("promptVersion", "modelUsed")
METHODS = ("mean", "bradley-terry")
_QUANTILES = {"median": 0.5, "p95": 0.95}
# Each bootstrap resample fits every key: their number bounds the work a request can ask for.
MAX_RANKED = 100


@dataclass(frozen=True)
class Aggregates:
    """What the database summed up for each group, keyed by the group's stored value."""

    totals: dict[Any, dict[str, Any]] = field(default_factory=dict)
    scores: dict[Any, list[tuple[float, int]]] = field(default_factory=dict)
    clusters: dict[Any, statistics.Clusters] = field(default_factory=dict)
    latencies: dict[Any, dict[int, float]] = field(default_factory=dict)


# Requests


def stats_request(params: dict[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """`groupBy` (default promptVersion) and the log filters of §5."""
    group = listing.single(params, "groupBy") or "promptVersion"
    if group not in GROUP_BYS:
        raise listing.bad_parameter("groupBy", f"Use one of {', '.join(GROUP_BYS)}.")
    return group, _filters(params)


def compare_request(params: dict[str, list[str]]) -> tuple[str, Any, Any, float, dict[str, Any]]:
    """`by`, the two sides `a` and `b` (version numbers or model names), `target` (default 0.5)
    and the log filters."""
    by = listing.single(params, "by")
    if by not in COMPARE_BYS:
        raise listing.bad_parameter("by", f"Use one of {', '.join(COMPARE_BYS)}.")
    sides = [_side(by, name, listing.single(params, name)) for name in ("a", "b")]
    text = listing.single(params, "target")
    target = 0.5 if text is None else listing.number("target", text)
    if not 0 < target <= 10:
        raise listing.bad_parameter("target", "Use a number above 0 and at most 10.")
    return by, sides[0], sides[1], target, _filters(params)


def leaderboard_request(params: dict[str, list[str]]) -> tuple[str, str, dict[str, Any]]:
    """`by` (default modelUsed), `method` (default mean), and the log filters."""
    by = listing.single(params, "by") or "modelUsed"
    if by not in COMPARE_BYS:
        raise listing.bad_parameter("by", f"Use one of {', '.join(COMPARE_BYS)}.")
    method = listing.single(params, "method") or "mean"
    if method not in METHODS:
        raise listing.bad_parameter("method", f"Use one of {', '.join(METHODS)}.")
    if by == "promptVersion" and "promptId" not in params:
        raise listing.bad_parameter("promptId", "Versions are numbered per prompt: give the prompt.")
    return by, method, _filters(params)


def _filters(params: dict[str, list[str]]) -> dict[str, Any]:
    allowed = {name: values for name, values in params.items() if name in listing.LOG_FILTERS}
    return listing.logs_request(allowed).filters


def _side(by: str, name: str, value: str | None) -> Any:
    if value is None:
        raise listing.bad_parameter(name, "Give the version number or model name of this side.")
    if by == "promptVersion":
        return listing.positive_integer(name, value)
    if not 1 <= len(value) <= 100:
        raise listing.bad_parameter(name, "Use a model name of 1 to 100 characters.")
    return value


# Reading


def gather_groups(
    tx: Transaction,
    *,
    user_id: str,
    prompt_id: str | None,
    group: str,
    filters: dict[str, Any],
) -> Aggregates:
    """The aggregates of one prompt's logs (or, without a prompt, all the user's) by group."""
    if prompt_id is not None:
        require_readable(tx, user_id=user_id, prompt_id=prompt_id)
    scope = _scope(user_id, prompt_id, filters)
    found = Aggregates()
    alone: dict[Any, list[float]] = {}  # per key: scored logs without an input, Σ s, Σ s²
    for row in aggregates.score_rows(tx, group=group, filters=scope):
        totals = found.totals.setdefault(row["key"], {"n": 0, "with_latency": 0, "with_cost": 0, "cost": 0.0})
        for name in ("with_latency", "with_cost"):
            totals[name] += row[name]
        totals["n"] += row["count"]
        totals["cost"] += row["cost"] or 0.0
        if row["score"] is not None:
            found.scores.setdefault(row["key"], []).append((row["score"], row["count"]))
            if row["alone"]:
                sums = alone.setdefault(row["key"], [0, 0.0, 0.0])
                sums[0] += row["count"]
                sums[1] += row["count"] * row["score"]
                sums[2] += row["count"] * row["score"] ** 2
    by_input = {row["key"]: row for row in aggregates.cluster_sums(tx, group=group, filters=scope)}
    for key in found.scores:
        # A log without an input is a cluster of its own: S_c = its score, n_c = 1.
        row = by_input.get(
            key, {"clusters": 0, "sum_squared_sums": 0, "sum_count_times_sum": 0, "sum_squared_counts": 0}
        )
        count, total, squares = alone.get(key, [0, 0.0, 0.0])
        found.clusters[key] = statistics.Clusters(
            count=int(row["clusters"]) + int(count),
            sum_squared_sums=float(row["sum_squared_sums"]) + squares,
            sum_count_times_sum=float(row["sum_count_times_sum"]) + total,
            sum_squared_counts=float(row["sum_squared_counts"]) + count,
        )
    positions = {key: _interpolated(totals["with_latency"]) for key, totals in found.totals.items()}
    found.latencies.update(aggregates.latency_order_statistics(tx, group=group, filters=scope, positions=positions))
    return found


@dataclass(frozen=True)
class Comparison:
    """Both sides' aggregates, and their per-input means where both scored the same input."""

    groups: Aggregates
    a_means: np.ndarray
    b_means: np.ndarray


def gather_comparison(
    tx: Transaction, *, user_id: str, prompt_id: str | None, by: str, a: Any, b: Any, filters: dict[str, Any]
) -> Comparison:
    groups = gather_groups(tx, user_id=user_id, prompt_id=prompt_id, group=by, filters=filters)
    rows = aggregates.paired_means(tx, by=by, a=a, b=b, filters=_scope(user_id, prompt_id, filters))
    means = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return Comparison(groups, means[:, 0], means[:, 1])


@dataclass(frozen=True)
class Example:
    """One input both sides scored, with each side's outputs and scores on it."""

    input: dict[str, str]
    a: list[tuple[str, float]]
    b: list[tuple[str, float]]


def gather_examples(
    tx: Transaction,
    *,
    user_id: str,
    prompt_id: str,
    by: str,
    a: Any,
    b: Any,
    filters: dict[str, Any] | None = None,
    inputs: int = 30,
) -> list[Example]:
    """Side by side, what a and b produced on up to `inputs` of the inputs both scored (among the
    logs the filters select)."""
    require_readable(tx, user_id=user_id, prompt_id=prompt_id)
    scope = _scope(user_id, prompt_id, filters or {})
    rows = aggregates.shared_input_logs(tx, by=by, a=a, b=b, filters=scope, inputs=inputs)
    examples: dict[int, Example] = {}
    for row in rows:
        example = examples.setdefault(row["input_key"], Example(orjson.loads(row["input"]), [], []))
        (example.a if row["side"] == "a" else example.b).append((row["output"], row["score"]))
    return list(examples.values())


@dataclass(frozen=True)
class Ranked:
    """What a leaderboard is computed from: the scope's signature (see `aggregates.signature`)
    and its logs counted per (input, key, score) as `aggregates.key_input_cells` gives them;
    no cells when a board for that signature was at hand."""

    signature: tuple[Any, ...]
    cells: list[tuple[Any, ...]] | None


def gather_cells(
    tx: Transaction,
    *,
    user_id: str,
    prompt_id: str | None,
    by: str,
    filters: dict[str, Any],
    known: Callable[[tuple[Any, ...]], bool] = lambda _signature: False,
) -> Ranked:
    """The signature and, unless `known(signature)`, the cells, read in one transaction so that
    a board computed from the cells is valid for exactly that signature."""
    if prompt_id is not None:
        require_readable(tx, user_id=user_id, prompt_id=prompt_id)
    scope = _scope(user_id, prompt_id, filters)
    signature = aggregates.signature(tx, filters=scope)
    return Ranked(signature, None if known(signature) else aggregates.key_input_cells(tx, by=by, filters=scope))


def _scope(user_id: str, prompt_id: str | None, filters: dict[str, Any]) -> dict[str, Any]:
    """The filters, and the user's logs (of one prompt, when given): the owner leads the index
    statistics read, and a prompt is only ever its owner's."""
    return {**filters, "owner_id": user_id, **({"prompt_id": prompt_id} if prompt_id else {})}


# Answers


def stats_answer(group: str, found: Aggregates) -> dict[str, Any]:
    return {
        "groupBy": group,
        "groups": [{"key": shown_key(group, key), **_summary(found, key)} for key in sorted(found.totals)],
    }


def compare_answer(by: str, a: Any, b: Any, target: float, found: Comparison) -> dict[str, Any]:
    names = [f"version {side}" if by == "promptVersion" else str(side) for side in (a, b)]
    result = statistics.compare(
        _scores(found.groups, a),
        _scores(found.groups, b),
        found.a_means,
        found.b_means,
        a_name=names[0],
        b_name=names[1],
        target=target,
    )
    return {
        "by": by,
        "a": {"key": a, **_summary(found.groups, a)},
        "b": {"key": b, **_summary(found.groups, b)},
        **result,
    }


def leaderboard_answer(by: str, method: str, found: Ranked, seed: int = 0) -> dict[str, Any]:
    rows = found.cells or []
    input_keys, keys, scores, counts = ([row[column] for row in rows] for column in range(4))
    names = sorted(set(keys))
    if len(names) > MAX_RANKED:
        problem = f"{len(names)} to rank; at most {MAX_RANKED}: narrow it with promptId or the log filters."
        raise Invalid(messages.BAD_PARAMETERS, details=[{"field": "by", "message": problem}])
    index = {name: position for position, name in enumerate(names)}
    key = np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(rows))
    count = np.fromiter(counts, dtype=np.int64, count=len(rows))
    score = np.fromiter((np.nan if value is None else value for value in scores), dtype=np.float64, count=len(rows))
    alone = np.fromiter((value is None for value in input_keys), dtype=bool, count=len(rows))
    input_key = np.fromiter((value or 0 for value in input_keys), dtype=np.int64, count=len(rows))
    logs_per_key = np.bincount(key, weights=count, minlength=len(names)).astype(np.int64)
    scored = ~np.isnan(score)
    # Each log without an input is an input of its own (two missing inputs are not the same).
    together, apart = scored & ~alone, np.flatnonzero(scored & alone)
    _, shared_input = np.unique(input_key[together], return_inverse=True)
    first_apart = shared_input.max(initial=-1) + 1
    apart_rows = np.repeat(apart, count[apart])
    table = statistics.Cells(
        key=np.concatenate([key[together], key[apart_rows]]),
        input=np.concatenate([shared_input, first_apart + np.arange(apart_rows.size)]),
        total=np.concatenate([score[together] * count[together], score[apart_rows]]),
        count=np.concatenate([count[together], np.ones(apart_rows.size, dtype=np.int64)]),
    )
    entries = statistics.leaderboard(
        [shown_key(by, name) for name in names], table, logs_per_key.tolist(), method=method, seed=seed
    )
    return {"method": method, "by": by, "entries": entries}


def shown_key(group: str, key: Any) -> Any:
    """A group's key as the API shows it: a day as `2026-11-29`."""
    if group == "day":
        return time.strftime("%Y-%m-%d", time.gmtime(key * aggregates.DAY_MS // 1000))
    return key


def _scores(found: Aggregates, key: Any) -> statistics.Scores:
    return statistics.Scores.from_counts(found.scores.get(key, []))


def _summary(found: Aggregates, key: Any) -> dict[str, Any]:
    totals = found.totals.get(key, {"n": 0, "with_latency": 0, "with_cost": 0, "cost": None})
    summary = statistics.summary(totals["n"], _scores(found, key), found.clusters.get(key))
    latencies = found.latencies.get(key, {})
    summary["latencyMs"] = {
        name: _quantile(latencies, totals["with_latency"], quantile) for name, quantile in _QUANTILES.items()
    }
    summary["costUsd"] = {"sum": None if not totals["with_cost"] else float(totals["cost"])}
    return summary


def _interpolated(count: int) -> set[int]:
    """The 0-based positions in `count` sorted values that `_quantile` reads."""
    below = {math.floor(quantile * (count - 1)) for quantile in _QUANTILES.values()} if count else set()
    return {position for start in below for position in (start, start + 1) if position < count}


def _quantile(sorted_values: dict[int, float], count: int, quantile: float) -> float | None:
    """NumPy's linear interpolation between the order statistics around quantile·(count − 1)."""
    if count == 0:
        return None
    index = quantile * (count - 1)
    below = math.floor(index)
    low = sorted_values[below]
    if below + 1 >= count:
        return float(low)
    high, fraction = sorted_values[below + 1], index - below
    # As numpy.percentile computes it, for the last digits to agree.
    return float(high - (high - low) * (1 - fraction) if fraction >= 0.5 else low + (high - low) * fraction)
