"""The aggregates statistics are computed from, grouped and summed by the database, so that a
prompt with 100,000 logs arrives as a few hundred rows: scores as value counts, the sums the
cluster-robust interval needs, two order statistics of latency, per-input means for pairing.

Every statement here is answered from the index `ix_logs_owner_inputs` alone (scopes name the
owner, and the prompt when there is one), and groups by input in that index's order."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from contextlib import closing
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select, text

from promptcrafter.storage.keyset import bound_filters
from promptcrafter.storage.logs import FILTERS
from promptcrafter.storage.statements import Statement
from promptcrafter.storage.tables import logs
from promptcrafter.storage.transaction import Transaction

DAY_MS = 86_400_000
GROUPS: dict[str, ColumnElement[Any]] = {
    "promptVersion": logs.c.prompt_version,
    "modelUsed": logs.c.model_used,
    "day": logs.c.created_at // DAY_MS,
    "promptId": logs.c.prompt_id,
}
_SCORED = logs.c.score.is_not(None)
# Where the median and the 95th percentile of n sorted values lie, as NumPy's linear
# interpolation reads them: between 0-based positions ⌊q(n−1)⌋ and the next.
_QUANTILES = {"median": (1, 2), "p95": (95, 100)}

Shape = tuple[tuple[str, int], ...]
_NOTHING = object()
_NO_TABLE_SCANS = Statement(text("SET LOCAL enable_seqscan = off"))
_NO_JIT = Statement(text("SET LOCAL jit = off"))


def _indexed(statement: Any) -> Statement:
    return Statement(statement, sqlite_index=("logs", "ix_logs_owner_inputs"))


def score_rows(tx: Transaction, *, group: str, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per group, distinct score (null: unscored) and whether the logs have an input (`alone`
    when not): how many logs (`count`), how many have a latency, and the count and sum of costs."""
    params, shape = bound_filters(filters)
    return tx.all(_score_rows(group, tuple(shape)), **params)


def cluster_sums(tx: Transaction, *, group: str, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per group, over its clusters c (scored logs with the same input) with sum S_c and count n_c:
    the number of clusters and Σ S_c², Σ n_c·S_c, Σ n_c². Logs without an input, clusters of one
    each, are left to the caller (`score_rows` counts them)."""
    params, shape = bound_filters(filters)
    return tx.all(_cluster_sums(group, tuple(shape)), **params)


def latency_order_statistics(
    tx: Transaction, *, group: str, filters: Mapping[str, Any], positions: Mapping[Any, Collection[int]]
) -> dict[Any, dict[int, float]]:
    """Per group, its latencies in ascending order at the given 0-based positions.

    PostgreSQL numbers each group's sorted latencies and returns the rows around the median and
    the 95th percentile. SQLite sorts just as fast but numbers rows slowly (its window functions
    store every row once more), so its sorted rows are counted off here as they stream past:
    only the wanted values are kept."""
    params, shape = bound_filters(filters)
    found: dict[Any, dict[int, float]] = {key: {} for key in positions}
    if tx.dialect_name == "postgresql":
        for key, position, latency in tx.rows(_ranked_latencies(group, tuple(shape)), **params):
            if position - 1 in positions.get(key, ()):
                found[key][position - 1] = latency
        return found
    with closing(tx.execute(_sorted_latencies(group, tuple(shape)), **params)) as cursor:
        current, position, wanted = _NOTHING, 0, frozenset[int]()
        while rows := cursor.fetchmany(10_000):
            for key, latency in rows:
                if key != current:
                    current, position, wanted = key, 0, frozenset(positions.get(key, ()))
                if position in wanted:
                    found[key][position] = latency
                position += 1
    return found


def paired_means(tx: Transaction, *, by: str, a: Any, b: Any, filters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The mean score of side a and of side b on each input both scored, as (a, b) tuples. An
    input key names a prompt too, so across prompts an input pairs only within its prompt."""
    params, shape = bound_filters(filters)
    return tx.rows(_paired(by, tuple(shape)), side_a=a, side_b=b, **params)


def key_input_cells(tx: Transaction, *, by: str, filters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """(input key, key, score, logs) per input, key and distinct score, scored or not, in input
    order; logs without an input come as (None, key, score, how many)."""
    params, shape = bound_filters(filters)
    _plan(tx)
    return tx.rows(_cells(by, tuple(shape)), **params)


def shared_input_logs(
    tx: Transaction, *, by: str, a: Any, b: Any, filters: Mapping[str, Any], inputs: int
) -> list[dict[str, Any]]:
    """The scored logs of sides a and b on the first `inputs` inputs both scored (by input key):
    `input_key`, `side` ("a" or "b"), `input`, `output`, `score`, oldest first per side."""
    params, shape = bound_filters(filters)
    return tx.all(_shared_input_logs(by, tuple(shape)), side_a=a, side_b=b, inputs=inputs, **params)


def signature(tx: Transaction, *, filters: Mapping[str, Any]) -> tuple[Any, ...]:
    """What changes whenever a log in scope is added or deleted (logs are never edited): their
    number, the newest creation time, the sum of scores and a sum of creation times."""
    params, shape = bound_filters(filters)
    _plan(tx)
    row = tx.first(_signature(tuple(shape)), **params)
    assert row is not None
    return (row["n"], row["newest"], row["total"], row["times"])


def _plan(tx: Transaction) -> None:
    """On PostgreSQL, read the user's logs through the covering index (when one user holds most
    logs the planner prefers scanning the table, then sorting: twice as slow here) and without
    JIT compilation (50 ms to compile what runs in less)."""
    if tx.dialect_name == "postgresql":
        tx.run(_NO_TABLE_SCANS)
        tx.run(_NO_JIT)


def _where(shape: Shape, *more: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(*(FILTERS[name](count) for name, count in shape), *more)


@functools.lru_cache(maxsize=256)
def _score_rows(group: str, shape: Shape) -> Statement:
    key = GROUPS[group].label("key")
    alone = logs.c.input_key.is_(None).label("alone")
    return _indexed(
        select(
            key,
            logs.c.score.label("score"),
            alone,
            func.count().label("count"),
            func.count(logs.c.latency_ms).label("with_latency"),
            func.count(logs.c.cost_usd).label("with_cost"),
            func.sum(logs.c.cost_usd).label("cost"),
        )
        .where(_where(shape))
        .group_by(key, logs.c.score, alone)
    )


@functools.lru_cache(maxsize=256)
def _cluster_sums(group: str, shape: Shape) -> Statement:
    key = GROUPS[group].label("key")
    clusters = (
        select(key, func.sum(logs.c.score).label("total"), func.count(logs.c.score).label("count"))
        .where(_where(shape, _SCORED, logs.c.input_key.is_not(None)))
        .group_by(logs.c.input_key, key)
        .subquery()
    )
    total, count = clusters.c.total, clusters.c.count
    return _indexed(
        select(
            clusters.c.key,
            func.count().label("clusters"),
            func.sum(total * total).label("sum_squared_sums"),
            func.sum(count * total).label("sum_count_times_sum"),
            func.sum(count * count).label("sum_squared_counts"),
        ).group_by(clusters.c.key)
    )


@functools.lru_cache(maxsize=256)
def _ranked_latencies(group: str, shape: Shape) -> Statement:
    key = GROUPS[group]
    ranked = (
        select(
            key.label("key"),
            logs.c.latency_ms.label("latency"),
            func.row_number().over(partition_by=key, order_by=logs.c.latency_ms).label("position"),
            func.count().over(partition_by=key).label("count"),
        )
        .where(_where(shape, logs.c.latency_ms.is_not(None)))
        .subquery()
    )
    lower = [(ranked.c.count - 1) * numerator // denominator for numerator, denominator in _QUANTILES.values()]
    return _indexed(
        select(ranked.c.key, ranked.c.position, ranked.c.latency).where(
            # One position either side too: SQL's integer division and the float product that
            # the interpolation uses may round a boundary case differently.
            or_(*(ranked.c.position.in_([start, start + 1, start + 2, start + 3]) for start in lower))
        )
    )


@functools.lru_cache(maxsize=256)
def _sorted_latencies(group: str, shape: Shape) -> Statement:
    key = GROUPS[group]
    return _indexed(
        select(key, logs.c.latency_ms)
        .where(_where(shape, logs.c.latency_ms.is_not(None)))
        .order_by(key, logs.c.latency_ms)
    )


@functools.lru_cache(maxsize=256)
def _paired(by: str, shape: Shape) -> Statement:
    def side(name: str) -> Any:
        return (
            select(logs.c.input_key, func.avg(logs.c.score).label("mean"))
            .where(_where(shape, _SCORED, logs.c.input_key.is_not(None), GROUPS[by] == bindparam(name)))
            .group_by(logs.c.input_key)
            .subquery()
        )

    a, b = side("side_a"), side("side_b")
    return _indexed(select(a.c.mean, b.c.mean).select_from(a.join(b, a.c.input_key == b.c.input_key)))


@functools.lru_cache(maxsize=256)
def _shared_input_logs(by: str, shape: Shape) -> Statement:
    def side(name: str) -> Any:
        return (
            select(logs.c.input_key)
            .where(_where(shape, _SCORED, logs.c.input_key.is_not(None), GROUPS[by] == bindparam(name)))
            .group_by(logs.c.input_key)
            .subquery()
        )

    a, b = side("side_a"), side("side_b")
    shared = (
        select(a.c.input_key)
        .select_from(a.join(b, a.c.input_key == b.c.input_key))
        .order_by(a.c.input_key)
        .limit(bindparam("inputs"))
        .subquery()
    )
    which = case((GROUPS[by] == bindparam("side_a"), "a"), else_="b").label("side")
    return Statement(
        select(logs.c.input_key, which, logs.c.input, logs.c.output, logs.c.score)
        .select_from(logs.join(shared, logs.c.input_key == shared.c.input_key))
        .where(_where(shape, _SCORED, or_(GROUPS[by] == bindparam("side_a"), GROUPS[by] == bindparam("side_b"))))
        .order_by(logs.c.input_key, which, logs.c.created_at, logs.c.id)
    )


@functools.lru_cache(maxsize=256)
def _cells(by: str, shape: Shape) -> Statement:
    key = GROUPS[by]
    # The prompt leads the grouping only so that it follows the index: the input key names it.
    return _indexed(
        select(logs.c.input_key, key, logs.c.score, func.count())
        .where(_where(shape))
        .group_by(logs.c.prompt_id, logs.c.input_key, key, logs.c.score)
    )


@functools.lru_cache(maxsize=256)
def _signature(shape: Shape) -> Statement:
    return _indexed(
        select(
            func.count().label("n"),
            func.max(logs.c.created_at).label("newest"),
            # Whole thousandths: a float sum's last digits depend on the order PostgreSQL's
            # parallel workers add in, and the signature must not change between two reads.
            func.sum(func.round(logs.c.score * 1000)).label("total"),
            # Modulo a prime: the sum of whole times would overflow SQLite's 64-bit integers.
            func.sum(logs.c.created_at % 1_000_003).label("times"),
        ).where(_where(shape))
    )
