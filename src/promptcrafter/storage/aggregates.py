"""The aggregates statistics are computed from, grouped and summed by the database, so that a
prompt with 100,000 logs arrives as a few hundred rows: scores as value counts, the sums the
cluster-robust interval needs, two order statistics of latency, per-input means for pairing."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal, or_, select

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
# Logs with the same input are one cluster; a log without an input is a cluster of its own
# (two missing inputs are not the same input).
_CLUSTER = func.coalesce(logs.c.input_hash, literal("#") + logs.c.id)
_SCORED = logs.c.score.is_not(None)
# Where the median and the 95th percentile of n sorted values lie, as NumPy's linear
# interpolation reads them: between 0-based positions ⌊q(n−1)⌋ and the next.
_QUANTILES = {"median": (1, 2), "p95": (95, 100)}

Shape = tuple[tuple[str, int], ...]


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


def latency_order_statistics(tx: Transaction, *, group: str, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per group, the sorted latencies at the positions the median and the 95th percentile are
    interpolated between (`key`, `position` from 1, `count`, `latency`)."""
    params, shape = bound_filters(filters)
    return tx.all(_latencies(group, tuple(shape)), **params)


def paired_means(
    tx: Transaction, *, by: str, a: Any, b: Any, filters: Mapping[str, Any], per_prompt: bool
) -> list[dict[str, Any]]:
    """The mean score of side a and of side b on each input both scored (`a_mean`, `b_mean`);
    across prompts, an input pairs only within its prompt."""
    params, shape = bound_filters(filters)
    return tx.all(_paired(by, tuple(shape), per_prompt), side_a=a, side_b=b, **params)


def key_input_cells(tx: Transaction, *, by: str, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per key and cluster (input, or a log without one): the sum and number of scores."""
    params, shape = bound_filters(filters)
    return tx.all(_cells(by, tuple(shape)), **params)


def signature(tx: Transaction, *, filters: Mapping[str, Any]) -> tuple[Any, ...]:
    """What changes whenever a log in scope is added or deleted (logs are never edited): their
    number, the newest creation time and the sum of scores."""
    params, shape = bound_filters(filters)
    row = tx.first(_signature(tuple(shape)), **params)
    assert row is not None
    return (row["n"], row["newest"], row["total"])


def _where(shape: Shape, *more: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(*(FILTERS[name](count) for name, count in shape), *more)


@functools.lru_cache(maxsize=256)
def _score_rows(group: str, shape: Shape) -> Statement:
    key = GROUPS[group].label("key")
    alone = logs.c.input_hash.is_(None).label("alone")
    return Statement(
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
        .where(_where(shape, _SCORED, logs.c.input_hash.is_not(None)))
        .group_by(key, logs.c.input_hash)
        .subquery()
    )
    total, count = clusters.c.total, clusters.c.count
    return Statement(
        select(
            clusters.c.key,
            func.count().label("clusters"),
            func.sum(total * total).label("sum_squared_sums"),
            func.sum(count * total).label("sum_count_times_sum"),
            func.sum(count * count).label("sum_squared_counts"),
        ).group_by(clusters.c.key)
    )


@functools.lru_cache(maxsize=256)
def _latencies(group: str, shape: Shape) -> Statement:
    key = GROUPS[group].label("key")
    ranked = (
        select(
            key,
            logs.c.latency_ms.label("latency"),
            func.row_number().over(partition_by=GROUPS[group], order_by=logs.c.latency_ms).label("position"),
            func.count().over(partition_by=GROUPS[group]).label("count"),
        )
        .where(_where(shape, logs.c.latency_ms.is_not(None)))
        .subquery()
    )
    lower = [(ranked.c.count - 1) * numerator // denominator for numerator, denominator in _QUANTILES.values()]
    return Statement(
        select(ranked.c.key, ranked.c.position, ranked.c.count, ranked.c.latency).where(
            # One position either side too: SQL's integer division and the float product that
            # the interpolation uses may round a boundary case differently.
            or_(*(ranked.c.position.in_([start, start + 1, start + 2, start + 3]) for start in lower))
        )
    )


@functools.lru_cache(maxsize=256)
def _paired(by: str, shape: Shape, per_prompt: bool) -> Statement:
    def side(name: str) -> Any:
        keys = [logs.c.prompt_id, logs.c.input_hash] if per_prompt else [logs.c.input_hash]
        return (
            select(*keys, func.avg(logs.c.score).label("mean"))
            .where(_where(shape, _SCORED, logs.c.input_hash.is_not(None), GROUPS[by] == bindparam(name)))
            .group_by(*keys)
            .subquery()
        )

    a, b = side("side_a"), side("side_b")
    joined = a.c.input_hash == b.c.input_hash
    if per_prompt:
        joined = and_(joined, a.c.prompt_id == b.c.prompt_id)
    return Statement(select(a.c.mean.label("a_mean"), b.c.mean.label("b_mean")).select_from(a.join(b, joined)))


@functools.lru_cache(maxsize=256)
def _cells(by: str, shape: Shape) -> Statement:
    key = GROUPS[by].label("key")
    cluster = _CLUSTER.label("cluster")
    return Statement(
        select(key, cluster, func.sum(logs.c.score).label("total"), func.count(logs.c.score).label("count"))
        .where(_where(shape, _SCORED))
        .group_by(key, cluster)
    )


@functools.lru_cache(maxsize=256)
def _signature(shape: Shape) -> Statement:
    return Statement(
        select(
            func.count().label("n"),
            func.max(logs.c.created_at).label("newest"),
            # Whole thousandths: a float sum's last digits depend on the order PostgreSQL's
            # parallel workers add in, and the signature must not change between two reads.
            func.sum(func.round(logs.c.score * 1000)).label("total"),
        ).where(_where(shape))
    )
