"""The statistics of evaluation scores: summaries, comparisons, power and leaderboards.

Pure functions over arrays; the database does the aggregation (scores arrive as value counts, clusters
and per-input cells) and the numbers here agree with SciPy on the same raw data. Every interval is 95 %,
two-sided; a figure that cannot be computed from the data at hand is None, never an error.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

__all__ = [
    "Cells",
    "Clusters",
    "Scores",
    "compare",
    "difference",
    "leaderboard",
    "paired",
    "power",
    "summary",
    "verdict",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CONFIDENCE = 0.95
_UPPER_QUANTILE = 0.5 + CONFIDENCE / 2
_POWER = 0.80
HISTOGRAM_BINS = 11
MINUS = "\N{MINUS SIGN}"
METHODS = ("mean", "bradley-terry")
SCORE_RANGE = (0.0, 10.0)
DIFFERENCE_RANGE = (-10.0, 10.0)
ELO_BASE = 1000.0
ELO_SCALE = 400.0
# Wilcoxon's exact null distribution is cheap and exact only up to this many non-zero differences without ties.
WILCOXON_EXACT_LIMIT = 50
# A ridge this small keeps the fit finite when a key wins every battle, and moves an ordinary rating by far
# less than 0.01 points: the shift is about penalty·β / information, and a battle between keys of near
# strength adds about 1.3 to the information (ln(10)²·p·(1 − p)).
_BRADLEY_TERRY_RIDGE = 1e-6
_LN10 = math.log(10.0)
_NEWTON_STEPS = 200
_NEWTON_TOLERANCE = 1e-12
_HALVINGS = 40
_RANK_TOLERANCE = 1e-9
# Bootstrap resamples are drawn in blocks of about this many random numbers, to bound memory.
_BLOCK_DRAWS = 2_000_000


@dataclass(frozen=True, eq=False)
class Scores:
    """One group's scores as value counts: each distinct score and how many scored logs have it
    (SQL groups by score, so a group of 100,000 logs arrives as at most a few hundred rows)."""

    values: FloatArray
    counts: IntArray

    def __post_init__(self) -> None:
        # Normalise once (sorted, distinct, positive counts) so that every statistic can rely on it.
        values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        counts = np.asarray(self.counts).reshape(-1)
        if values.shape != counts.shape:
            raise ValueError("Scores need as many counts as values.")
        if not np.all(np.isfinite(values)):
            raise ValueError("Scores must be finite numbers.")
        if counts.size and (np.any(counts < 0) or np.any(counts != np.round(counts))):
            raise ValueError("Score counts must be whole numbers of at least 0.")
        distinct, position = np.unique(values, return_inverse=True)
        merged = np.bincount(position, weights=counts.astype(np.float64), minlength=distinct.size)
        kept = merged > 0
        object.__setattr__(self, "values", distinct[kept])
        object.__setattr__(self, "counts", merged[kept].astype(np.int64))

    @classmethod
    def of(cls, scores: Iterable[float]) -> Scores:
        """The value counts of raw scores."""
        values, counts = np.unique(np.fromiter(scores, dtype=np.float64), return_counts=True)
        return cls(values=values, counts=counts.astype(np.int64))

    @classmethod
    def from_counts(cls, rows: Iterable[tuple[float, int]]) -> Scores:
        """Scores from (score, how many logs have it) rows; a score may appear in several rows."""
        pairs = list(rows)
        return cls(
            values=np.array([value for value, _ in pairs], dtype=np.float64),
            counts=np.array([count for _, count in pairs], dtype=np.int64),
        )

    @property
    def n(self) -> int:
        """The number of scores."""
        return int(self.counts.sum())

    def expanded(self) -> FloatArray:
        """Every score, sorted."""
        return np.repeat(self.values, self.counts)

    def mean(self) -> float:
        """The mean score (NaN without scores)."""
        n = self.n
        return float(np.dot(self.values, self.counts) / n) if n else math.nan

    def variance(self) -> float:
        """The sample variance, n − 1 in the denominator (NaN with fewer than two scores)."""
        n = self.n
        if n < 2:
            return math.nan
        deviations = self.values - self.mean()
        return float(np.dot(deviations * deviations, self.counts) / (n - 1))

    def quantile(self, fraction: float) -> float:
        """The quantile with linear interpolation between order statistics, as NumPy's default."""
        if self.n == 0:
            raise ValueError("A quantile needs at least one score.")
        position = fraction * (self.n - 1)
        below = math.floor(position)
        low, high = self._order_statistic(below), self._order_statistic(min(below + 1, self.n - 1))
        return low + (high - low) * (position - below) if high != low else low

    def _order_statistic(self, index: int) -> float:
        return float(self.values[int(np.searchsorted(np.cumsum(self.counts), index, side="right"))])


@dataclass(frozen=True)
class Clusters:
    """What the cluster-robust standard error needs of a group whose inputs repeat, computed in
    SQL over the clusters c (one per distinct input; a log with no input is a cluster of one):
    G = count, Σ S_c², Σ n_c·S_c, Σ n_c² where S_c is the sum and n_c the number of scores in c."""

    count: int
    sum_squared_sums: float
    sum_count_times_sum: float
    sum_squared_counts: float

    @classmethod
    def of(cls, scores: Sequence[float], inputs: Sequence[str | None]) -> Clusters:
        """The clusters of raw scores by input; a score whose input is None is a cluster of its own."""
        if len(scores) != len(inputs):
            raise ValueError("Clusters need one input per score.")
        sums: dict[str, float] = defaultdict(float)
        sizes: dict[str, int] = defaultdict(int)
        singles: list[float] = []
        for score, key in zip(scores, inputs):
            if key is None:
                singles.append(float(score))
            else:
                sums[key] += float(score)
                sizes[key] += 1
        cluster_sums = np.array([*sums.values(), *singles], dtype=np.float64)
        cluster_sizes = np.array([*sizes.values(), *([1] * len(singles))], dtype=np.float64)
        return cls(
            count=int(cluster_sums.size),
            sum_squared_sums=float(np.dot(cluster_sums, cluster_sums)),
            sum_count_times_sum=float(np.dot(cluster_sizes, cluster_sums)),
            sum_squared_counts=float(np.dot(cluster_sizes, cluster_sizes)),
        )

    def standard_error(self, n: int, mean: float) -> float:
        """Miller's clustered standard error of the mean: √(Σ_c (S_c − n_c·s̄)²) / n."""
        squared = self.sum_squared_sums - 2 * mean * self.sum_count_times_sum + mean * mean * self.sum_squared_counts
        # Expanding the square can leave a rounding residue below zero when every cluster sits on the mean.
        return math.sqrt(max(squared, 0.0)) / n


def summary(n: int, scores: Scores, clusters: Clusters | None = None) -> dict[str, Any]:
    """One group's n, scored, mean, sd, median, min, max, ci95 and histogram (§8 of the evaluation contract)."""
    scored = scores.n
    histogram = _histogram(scores)
    if scored == 0:
        return {"n": n, "scored": 0, "mean": None, "sd": None, "median": None, "min": None, "max": None,
                "ci95": None, "histogram": histogram}
    mean = scores.mean()
    sd = math.sqrt(scores.variance()) if scored > 1 else None
    return {
        "n": n,
        "scored": scored,
        "mean": mean,
        "sd": sd,
        "median": scores.quantile(0.5),
        "min": float(scores.values[0]),
        "max": float(scores.values[-1]),
        "ci95": _mean_interval(scores, mean, sd, clusters),
        "histogram": histogram,
    }


def _histogram(scores: Scores) -> list[int]:
    # Bins [0,1), [1,2), … [9,10) and 10 exactly; floor() puts 10 in the last and the clip guards the ends.
    bins = np.clip(np.floor(scores.values), 0, HISTOGRAM_BINS - 1).astype(np.int64)
    counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    np.add.at(counts, bins, scores.counts)
    return [int(count) for count in counts]


def _mean_interval(scores: Scores, mean: float, sd: float | None, clusters: Clusters | None) -> list[float] | None:
    scored = scores.n
    if sd is None:
        return None
    if scores.values.size == 1:
        return [mean, mean]
    if clusters is not None and clusters.count < scored:
        # One cluster leaves no degrees of freedom: its clustered standard error says nothing.
        if clusters.count < 2:
            return None
        interval = _t_interval(mean, clusters.standard_error(scored, mean), clusters.count - 1)
    else:
        interval = _t_interval(mean, sd / math.sqrt(scored), scored - 1)
    return _clipped(interval, SCORE_RANGE)


def _clipped(interval: list[float], bounds: tuple[float, float]) -> list[float]:
    # A mean score lies within 0–10 and a difference of two within ±10, whatever a few scores of 0
    # and 10 make a t-interval say.
    return [max(interval[0], bounds[0]), min(interval[1], bounds[1])]


def _t_interval(center: float, standard_error: float, degrees_of_freedom: float) -> list[float]:
    half_width = float(stats.t.ppf(_UPPER_QUANTILE, degrees_of_freedom)) * standard_error
    return [center - half_width, center + half_width]


def difference(a: Scores, b: Scores) -> dict[str, Any] | None:
    """b − a over all scored logs: mean, Welch interval and test, Mann–Whitney U, Cohen's d; None without scores."""
    if a.n == 0 or b.n == 0:
        return None
    mean_difference = b.mean() - a.mean()
    result: dict[str, Any] = {"mean": mean_difference, "ci95": None, "welch": None, "mannWhitney": None,
                              "cohensD": None}
    mann_whitney = stats.mannwhitneyu(b.expanded(), a.expanded(), use_continuity=True, alternative="two-sided",
                                      method="asymptotic")
    if math.isfinite(mann_whitney.pvalue):
        result["mannWhitney"] = {"u": float(mann_whitney.statistic), "p": float(mann_whitney.pvalue)}
    if a.n < 2 or b.n < 2:
        return result
    variance_a, variance_b = a.variance(), b.variance()
    squared_error_a, squared_error_b = variance_a / a.n, variance_b / b.n
    standard_error = math.sqrt(squared_error_a + squared_error_b)
    pooled_variance = ((a.n - 1) * variance_a + (b.n - 1) * variance_b) / (a.n + b.n - 2)
    if pooled_variance > 0:
        result["cohensD"] = mean_difference / math.sqrt(pooled_variance)
    if standard_error == 0:
        return result
    # Welch–Satterthwaite degrees of freedom.
    degrees_of_freedom = (squared_error_a + squared_error_b) ** 2 / (
        squared_error_a**2 / (a.n - 1) + squared_error_b**2 / (b.n - 1)
    )
    welch = stats.ttest_ind_from_stats(b.mean(), math.sqrt(variance_b), b.n, a.mean(), math.sqrt(variance_a), a.n,
                                       equal_var=False)
    result["welch"] = {"t": float(welch.statistic), "df": degrees_of_freedom, "p": float(welch.pvalue)}
    result["ci95"] = _clipped(_t_interval(mean_difference, standard_error, degrees_of_freedom), DIFFERENCE_RANGE)
    return result


def paired(a_means: npt.ArrayLike, b_means: npt.ArrayLike) -> dict[str, Any] | None:
    """b against a on the inputs both scored, from aligned per-input mean scores; None with fewer than 2 pairs."""
    a_values, b_values = _aligned(a_means, b_means)
    n = a_values.size
    if n < 2:
        return None
    differences = b_values - a_values
    mean_difference = float(differences.mean())
    sd = float(differences.std(ddof=1))
    interval = [mean_difference, mean_difference] if sd == 0 else _clipped(_t_interval(
        mean_difference, sd / math.sqrt(n), n - 1), DIFFERENCE_RANGE)
    wins, ties = int(np.count_nonzero(differences > 0)), int(np.count_nonzero(differences == 0))
    losses = n - wins - ties
    successes = wins + ties / 2
    return {
        "n": n,
        "meanDifference": mean_difference,
        "ci95": interval,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "winRate": successes / n,
        "winRateCi95": wilson_interval(successes, n),
        "wilcoxon": _wilcoxon(differences),
        "correlation": _correlation(a_values, b_values),
    }


def _aligned(a_means: npt.ArrayLike, b_means: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    a_values = np.asarray(a_means, dtype=np.float64).reshape(-1)
    b_values = np.asarray(b_means, dtype=np.float64).reshape(-1)
    if a_values.shape != b_values.shape:
        raise ValueError("Paired means must be aligned: one of a and one of b per input.")
    return a_values, b_values


def wilson_interval(successes: float, n: int) -> list[float]:
    """Wilson's score interval for a proportion successes / n (successes may be a half, for ties)."""
    z = float(stats.norm.ppf(_UPPER_QUANTILE))
    proportion = successes / n
    spread = z * z / n
    center = (proportion + spread / 2) / (1 + spread)
    half_width = z / (1 + spread) * math.sqrt(proportion * (1 - proportion) / n + spread / (4 * n))
    return [max(center - half_width, 0.0), min(center + half_width, 1.0)]


def _wilcoxon(differences: FloatArray) -> dict[str, float] | None:
    nonzero = np.abs(differences[differences != 0])
    if nonzero.size == 0:
        return None
    untied = np.unique(nonzero).size == nonzero.size
    method: Literal["exact", "approx"] = "exact" if nonzero.size <= WILCOXON_EXACT_LIMIT and untied else "approx"
    result = stats.wilcoxon(differences, zero_method="wilcox", correction=False, method=method)
    return {"statistic": float(result.statistic), "p": float(result.pvalue)}


def _correlation(a_values: FloatArray, b_values: FloatArray) -> float | None:
    if np.ptp(a_values) == 0 or np.ptp(b_values) == 0:
        return None
    return float(stats.pearsonr(a_values, b_values).statistic)


def power(a: Scores, b: Scores, paired_differences: npt.ArrayLike | None, target: float = 0.5) -> dict[str, Any]:
    """The smallest difference the data can detect and the logs per side a `target`-point difference needs.

    Normal approximation at α = 0.05 two-sided and 80 % power; paired when two or more paired differences
    are given, else from the two groups (Welch standard error, pooled variance)."""
    if not (math.isfinite(target) and target > 0):
        raise ValueError("The target difference must be a number above 0.")
    z = float(stats.norm.ppf(_UPPER_QUANTILE) + stats.norm.ppf(_POWER))
    result: dict[str, Any] = {"minimumDetectableDifference": None, "targetDifference": float(target),
                              "logsPerSideNeeded": None}
    differences = None if paired_differences is None else np.asarray(paired_differences, dtype=np.float64).ravel()
    if differences is not None and differences.size >= 2:
        variance = float(differences.var(ddof=1))
        standard_error = math.sqrt(variance / differences.size)
        needed_variance = variance
    elif a.n >= 2 and b.n >= 2:
        standard_error = math.sqrt(a.variance() / a.n + b.variance() / b.n)
        needed_variance = 2 * ((a.n - 1) * a.variance() + (b.n - 1) * b.variance()) / (a.n + b.n - 2)
    else:
        return result
    result["minimumDetectableDifference"] = z * standard_error
    result["logsPerSideNeeded"] = math.ceil(z * z * needed_variance / (target * target))
    return result


def verdict(a_name: str, b_name: str, difference: Mapping[str, Any] | None, paired: Mapping[str, Any] | None,
            power: Mapping[str, Any], *, a_scored: int | None = None, b_scored: int | None = None) -> str:
    """One plain sentence on which side scores higher, by how much and how sure, or what data would settle it.

    The paired result is used when it exists. `a_scored` and `b_scored` (the scored logs of each side), when
    given, make the advice on how many more logs are needed specific to each side."""
    if paired is not None:
        return _paired_verdict(a_name, b_name, paired, power)
    if difference is None or power["minimumDetectableDifference"] is None:
        return _too_few(a_name, b_name, a_scored, b_scored)
    mean_difference = float(difference["mean"])
    if difference["ci95"] is None:
        # Both sides gave one score every time: no spread, so nothing to estimate.
        if mean_difference == 0:
            return f"{a_name} and {b_name} score the same: every scored log of both has the same score."
        winner, loser = (b_name, a_name) if mean_difference > 0 else (a_name, b_name)
        return (f"{winner} scores higher than {loser} by {_points([abs(mean_difference)])[0]} points on every scored "
                "log (each side always gave the same score, so there is no interval or p-value).")
    low, high = difference["ci95"]
    p = float(difference["welch"]["p"])
    if low > 0 or high < 0:
        return _clear_difference(a_name, b_name, mean_difference, low, high, p, "")
    return _no_clear_difference(a_name, b_name, mean_difference, low, high, p,
                                _unpaired_advice(a_name, b_name, power, a_scored, b_scored))


def _paired_verdict(a_name: str, b_name: str, paired: Mapping[str, Any], power: Mapping[str, Any]) -> str:
    n = int(paired["n"])
    mean_difference = float(paired["meanDifference"])
    low, high = (float(bound) for bound in paired["ci95"])
    where = f" on the {n} inputs both scored"
    if high == low:
        if mean_difference == 0:
            return f"{a_name} and {b_name} score the same on each of the {n} inputs both scored."
        winner, loser = (b_name, a_name) if mean_difference > 0 else (a_name, b_name)
        return (f"{winner} scores higher than {loser} by {_points([abs(mean_difference)])[0]} points on each of the "
                f"{n} inputs both scored.")
    p = _paired_t_p_value(mean_difference, low, high, n)
    if low > 0 or high < 0:
        return _clear_difference(a_name, b_name, mean_difference, low, high, p, where)
    needed = power["logsPerSideNeeded"]
    target = _target(power)
    if needed is None:
        advice = ""
    elif needed > n:
        advice = f"; about {needed - n} more inputs scored by both would detect a {target}-point difference"
    else:
        advice = _enough_data(power)
    return _no_clear_difference(a_name, b_name, mean_difference, low, high, p, advice, where)


def _paired_t_p_value(mean_difference: float, low: float, high: float, n: int) -> float:
    # The paired t-test's p-value, recovered from the t interval that the paired result reports.
    quantile = float(stats.t.ppf(_UPPER_QUANTILE, n - 1))
    t_statistic = mean_difference / ((high - low) / (2 * quantile))
    return float(2 * stats.t.sf(abs(t_statistic), n - 1))


def _clear_difference(a_name: str, b_name: str, mean_difference: float, low: float, high: float, p: float,
                      where: str) -> str:
    if mean_difference > 0:
        winner, loser, size, low_bound, high_bound = b_name, a_name, mean_difference, low, high
    else:
        winner, loser, size, low_bound, high_bound = a_name, b_name, -mean_difference, -high, -low
    size_text, low_text, high_text = _points([size, low_bound, high_bound])
    return (f"{winner} scores higher than {loser} by {size_text} points{where} "
            f"(95% CI {low_text} to {high_text}, {_p_text(p)}).")


def _no_clear_difference(a_name: str, b_name: str, mean_difference: float, low: float, high: float, p: float,
                         advice: str, where: str = "") -> str:
    size_text, low_text, high_text = _points([mean_difference, low, high])
    return (f"No clear difference between {a_name} and {b_name} yet{where} ({b_name} {MINUS} {a_name} = "
            f"{size_text} points, 95% CI {low_text} to {high_text}, {_p_text(p)}){advice}.")


def _unpaired_advice(a_name: str, b_name: str, power: Mapping[str, Any], a_scored: int | None,
                     b_scored: int | None) -> str:
    needed = int(power["logsPerSideNeeded"])
    target = _target(power)
    if a_scored is None or b_scored is None:
        return f"; about {needed} scored logs per side would detect a {target}-point difference"
    more_a, more_b = max(needed - a_scored, 0), max(needed - b_scored, 0)
    if more_a == 0 and more_b == 0:
        return _enough_data(power)
    if more_a == more_b:
        wanted = f"{more_a} more scored logs per side"
    elif more_a == 0:
        wanted = f"{more_b} more scored logs of {b_name}"
    elif more_b == 0:
        wanted = f"{more_a} more scored logs of {a_name}"
    else:
        wanted = f"{more_a} more scored logs of {a_name} and {more_b} of {b_name}"
    return f"; about {wanted} would detect a {target}-point difference"


def _enough_data(power: Mapping[str, Any]) -> str:
    detectable = _points([float(power["minimumDetectableDifference"])])[0]
    return f"; a difference of {detectable} points or more would likely have shown, so any real one is smaller"


def _too_few(a_name: str, b_name: str, a_scored: int | None, b_scored: int | None) -> str:
    short = [f"{name} has {_logs(count)}" for name, count in ((a_name, a_scored), (b_name, b_scored))
             if count is not None and count < 2]
    detail = f" ({' and '.join(short)})" if short else ""
    return f"Too few scores to compare {a_name} and {b_name} yet{detail}: each side needs at least 2 scored logs."


def _logs(count: int) -> str:
    return "no scored log" if count == 0 else "1 scored log" if count == 1 else f"{count} scored logs"


def _target(power: Mapping[str, Any]) -> str:
    return f"{float(power['targetDifference']):g}"


def _points(values: Sequence[float]) -> list[str]:
    """Numbers to one decimal, or more where one would show a non-zero figure as 0.0; minus signs typeset."""
    decimals = 1
    while decimals < 3 and any(value != 0 and round(value, decimals) == 0 for value in values):
        decimals += 1
    texts = [f"{value:.{decimals}f}" for value in values]
    return [MINUS + text[1:] if text.startswith("-") and float(text) != 0 else text.lstrip("-") for text in texts]


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:
        text = f"{p:.3f}"
        # Never print a p below 0.05 as 0.050.
        return f"p = {p:.4f}" if p < 0.05 and text == "0.050" else f"p = {text}"
    return f"p = {p:.2f}"


def compare(a: Scores, b: Scores, a_means: npt.ArrayLike, b_means: npt.ArrayLike, *, a_name: str, b_name: str,
            target: float = 0.5) -> dict[str, Any]:
    """difference, paired, power and verdict of b against a (a_means, b_means: aligned per-input means)."""
    a_values, b_values = _aligned(a_means, b_means)
    unpaired = difference(a, b)
    matched = paired(a_values, b_values)
    detectable = power(a, b, b_values - a_values if matched is not None else None, target)
    return {
        "difference": unpaired,
        "paired": matched,
        "power": detectable,
        "verdict": verdict(a_name, b_name, unpaired, matched, detectable, a_scored=a.n, b_scored=b.n),
    }


@dataclass(frozen=True, eq=False)
class Cells:
    """Per (key, input) totals for the leaderboard: the key (a model or a version) index, the
    input index, the sum and number of scores of that key on that input. Rows whose input is
    unique to a log get their own input index."""

    key: IntArray
    input: IntArray
    total: FloatArray
    count: IntArray


@dataclass(frozen=True, eq=False)
class _Grid:
    """Cells merged per (key, input), with inputs numbered 0 … inputs − 1."""

    key: IntArray
    input: IntArray
    total: FloatArray
    count: IntArray
    inputs: int


def leaderboard(keys: Sequence[str | int], cells: Cells, logs_per_key: Sequence[int], *, method: str = "mean",
                resamples: int = 1000, seed: int = 0,
                summaries: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Entries {key, n, mean, ci95, rating, ratingCi95, rank, rankCi95} sorted by rank (1 = best).

    `mean`: rating = mean score, bootstrap over inputs. `bradley-terry`: Elo-scale ratings (1000 + 400·β, β in
    base-10 log-odds, mean β 0) fitted to every pair of keys scored on one input, bootstrap over battles.
    mean and ci95 are each key's summary figures, computed from the cells unless `summaries` (one summary()
    per key) gives them. Keys without a score (or, for bradley-terry, without a battle) come last, unrated."""
    if method not in METHODS:
        raise ValueError(f"The leaderboard method must be one of {', '.join(METHODS)}.")
    if resamples < 1:
        raise ValueError("The leaderboard needs at least one bootstrap resample.")
    if len(logs_per_key) != len(keys) or (summaries is not None and len(summaries) != len(keys)):
        raise ValueError("The leaderboard needs one log count (and one summary, if any) per key.")
    grid = _grid(cells, len(keys))
    rng = np.random.default_rng(seed)
    if method == "mean":
        ratings, resampled = _mean_ratings(grid, len(keys), resamples, rng)
        rated_on = np.ones(grid.key.size, dtype=bool)
    else:
        ratings, resampled = _bradley_terry_ratings(grid, len(keys), resamples, rng)
        rated_on = np.bincount(grid.input, minlength=grid.inputs)[grid.input] >= 2  # inputs with a battle
    inputs_per_key = np.bincount(grid.key[rated_on], minlength=len(keys))
    ranks = _ranks(ratings[np.newaxis, :])[0]
    resampled_ranks = _ranks(resampled)
    rated = int(np.count_nonzero(np.isfinite(ratings)))
    figures = _key_summaries(grid, len(keys)) if summaries is None else [
        (given["mean"], given["ci95"]) for given in summaries]
    entries = []
    for index, key in enumerate(keys):
        has_rating = bool(np.isfinite(ratings[index]))
        # A rating that rests on one input is the same in every resample: the bootstrap would
        # show no doubt where there is nothing but doubt. Such a key could rank anywhere.
        resampled_enough = has_rating and inputs_per_key[index] >= 2
        entries.append({
            "key": key if isinstance(key, str) else int(key),
            "n": int(logs_per_key[index]),
            "mean": figures[index][0],
            "ci95": figures[index][1],
            "rating": float(ratings[index]) if has_rating else None,
            "ratingCi95": _percentile_interval(resampled[:, index]) if resampled_enough else None,
            "rank": int(ranks[index]) if has_rating else None,
            "rankCi95": (_rank_interval(resampled_ranks[:, index]) if resampled_enough
                         else [1, rated] if has_rating else None),
        })
    # Python's sort is stable: keys that share a rank keep the order they were given in.
    return sorted(entries, key=lambda entry: (entry["rank"] is None, entry["rank"] or 0))


def _grid(cells: Cells, key_count: int) -> _Grid:
    key = np.asarray(cells.key, dtype=np.int64).reshape(-1)
    inputs = np.asarray(cells.input, dtype=np.int64).reshape(-1)
    total = np.asarray(cells.total, dtype=np.float64).reshape(-1)
    count = np.asarray(cells.count, dtype=np.int64).reshape(-1)
    if not key.shape == inputs.shape == total.shape == count.shape:
        raise ValueError("Leaderboard cells need a key, an input, a total and a count each.")
    if key.size and (key.min() < 0 or key.max() >= key_count):
        raise ValueError("A leaderboard cell names a key that is not in the list of keys.")
    if np.any(count < 0) or not np.all(np.isfinite(total)):
        raise ValueError("Leaderboard cells need finite totals and counts of at least 0.")
    kept = count > 0
    key, inputs, total, count = key[kept], inputs[kept], total[kept], count[kept]
    numbered_inputs, dense_input = np.unique(inputs, return_inverse=True)
    # Merge rows that name the same (key, input), so that each cell is one per-input mean of one key.
    cell_ids, cell = np.unique(dense_input * key_count + key, return_inverse=True)
    return _Grid(
        key=cell_ids % key_count,
        input=cell_ids // key_count,
        total=np.bincount(cell, weights=total, minlength=cell_ids.size).astype(np.float64),
        count=np.bincount(cell, weights=count, minlength=cell_ids.size).astype(np.int64),
        inputs=int(numbered_inputs.size),
    )


def _key_summaries(grid: _Grid, key_count: int) -> list[tuple[float | None, list[float] | None]]:
    """Each key's mean score and its §8 interval: Student t, or clustered by input when an input repeats.

    Exact from the cells except in one corner: a key whose only input repeats gets no interval, as a cluster
    of one has no degrees of freedom, even when all its scores are equal."""
    order = np.argsort(grid.key, kind="stable")
    bounds = np.searchsorted(grid.key[order], np.arange(key_count + 1))
    figures: list[tuple[float | None, list[float] | None]] = []
    for index in range(key_count):
        mine = order[bounds[index]:bounds[index + 1]]
        totals, counts = grid.total[mine], grid.count[mine].astype(np.float64)
        scored = int(counts.sum())
        if scored == 0:
            figures.append((None, None))
            continue
        mean = float(totals.sum() / scored)
        if scored == 1 or totals.size == 1:
            figures.append((mean, None))
        elif np.all(counts == 1):
            # No repeated input: the cells are the scores themselves.
            sd = float(totals.std(ddof=1))
            interval = [mean, mean] if sd == 0 else _t_interval(mean, sd / math.sqrt(scored), scored - 1)
            figures.append((mean, _clipped(interval, SCORE_RANGE)))
        else:
            residuals = totals - counts * mean
            standard_error = math.sqrt(float(np.dot(residuals, residuals))) / scored
            figures.append((mean, _clipped(_t_interval(mean, standard_error, totals.size - 1), SCORE_RANGE)))
    return figures


def _mean_ratings(grid: _Grid, key_count: int, resamples: int,
                  rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Each key's mean score and its means over inputs resampled with replacement."""
    sums = np.bincount(grid.key, weights=grid.total, minlength=key_count).astype(np.float64)
    counts = np.bincount(grid.key, weights=grid.count, minlength=key_count).astype(np.float64)
    # Inputs that hold one cell with the same (key, total, count) are interchangeable in a resample:
    # collapsing them into weighted categories makes a million one-log inputs a few hundred categories.
    cells_per_input = np.bincount(grid.input, minlength=grid.inputs)
    single = cells_per_input[grid.input] == 1
    _, total_code = np.unique(grid.total[single], return_inverse=True)
    _, count_code = np.unique(grid.count[single], return_inverse=True)
    pattern_code = (count_code * (total_code.max(initial=0) + 1) + total_code) * key_count + grid.key[single]
    _, first_of_pattern, pattern_weights = np.unique(pattern_code, return_index=True, return_counts=True)
    pattern_cells = np.flatnonzero(single)[first_of_pattern]
    shared_cells = np.flatnonzero(~single)
    shared_inputs, shared_row = np.unique(grid.input[shared_cells], return_inverse=True)
    patterns = pattern_cells.size
    # One row per category: its totals under columns 0 … K − 1 and its counts under K … 2K − 1.
    categories = np.zeros((patterns + shared_inputs.size, 2 * key_count))
    rows = np.concatenate([np.arange(patterns), patterns + shared_row])
    chosen = np.concatenate([pattern_cells, shared_cells])
    columns = grid.key[chosen]
    categories[rows, columns] = grid.total[chosen]
    categories[rows, key_count + columns] = grid.count[chosen]
    weights = np.concatenate([pattern_weights, np.ones(shared_inputs.size, dtype=np.int64)])
    resampled = np.empty((resamples, key_count))
    start = 0
    for drawn in _resample_blocks(rng, weights, resamples):
        stop = start + drawn.shape[0]
        sums_and_counts = drawn @ categories
        resampled[start:stop] = _divide(sums_and_counts[:, :key_count], sums_and_counts[:, key_count:])
        start = stop
    return _divide(sums, counts), resampled


def _resample_blocks(rng: np.random.Generator, weights: IntArray, resamples: int) -> Iterator[FloatArray]:
    """Blocks of bootstrap resamples: how many of each category's `weight` items each resample draws,
    when as many items as there are are drawn with replacement."""
    items = int(weights.sum())
    categories = weights.size
    if items == 0:
        yield np.zeros((resamples, categories))
        return
    # Drawing items one by one costs per item, NumPy's multinomial a few times more per category.
    by_item = items < 4 * categories
    block = max(1, min(resamples, _BLOCK_DRAWS // (items if by_item else categories)))
    category_of_item = None if np.all(weights == 1) else np.repeat(np.arange(categories), weights)
    done = 0
    while done < resamples:
        size = min(block, resamples - done)
        if by_item:
            counts = np.empty((size, categories))
            # 32-bit draws take half the time of NumPy's default 64-bit ones.
            draws = rng.integers(0, items, size=(size, items), dtype=np.int32 if items < 2**31 else np.int64)
            for row, drawn in enumerate(draws):
                counts[row] = np.bincount(drawn if category_of_item is None else category_of_item[drawn],
                                          minlength=categories)
        else:
            counts = rng.multinomial(items, weights / items, size=size).astype(np.float64)
        yield counts
        done += size


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator, NaN where nothing was counted (a key absent from a resample)."""
    result = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


def _bradley_terry_ratings(grid: _Grid, key_count: int, resamples: int,
                           rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Elo-scale Bradley–Terry ratings of the keys and their ratings over battles resampled with replacement."""
    first, second, outcomes = _battles(grid, key_count)
    if first.size == 0:
        return np.full(key_count, np.nan), np.full((resamples, key_count), np.nan)
    observed = _fit_bradley_terry(outcomes[np.newaxis, :], first, second, key_count)[0]
    resampled = np.empty((resamples, key_count))
    start = 0
    for drawn in _resample_blocks(rng, outcomes.ravel(), resamples):
        stop = start + drawn.shape[0]
        resampled[start:stop] = _fit_bradley_terry(drawn.reshape(drawn.shape[0], -1, 3), first, second, key_count)
        start = stop
    return ELO_BASE + ELO_SCALE * observed, ELO_BASE + ELO_SCALE * resampled


def _battles(grid: _Grid, key_count: int) -> tuple[IntArray, IntArray, IntArray]:
    """Pairs of keys that met on some input and, per pair, how many times the first won, tied and lost."""
    cells_per_input = np.bincount(grid.input, minlength=grid.inputs)
    shared = cells_per_input[grid.input] >= 2
    shared_inputs, row = np.unique(grid.input[shared], return_inverse=True)
    means = np.full((shared_inputs.size, key_count), np.nan)
    means[row, grid.key[shared]] = grid.total[shared] / grid.count[shared]
    present = ~np.isnan(means)
    first, second, outcomes = [], [], []
    for key in range(key_count - 1):
        mine, others = means[:, key:key + 1], means[:, key + 1:]
        met = present[:, key:key + 1] & present[:, key + 1:]
        wins = np.count_nonzero(met & (mine > others), axis=0)
        ties = np.count_nonzero(met & (mine == others), axis=0)
        losses = np.count_nonzero(met, axis=0) - wins - ties
        for offset in np.flatnonzero(met.any(axis=0)):
            first.append(key)
            second.append(key + 1 + int(offset))
            outcomes.append((wins[offset], ties[offset], losses[offset]))
    return (np.array(first, dtype=np.int64), np.array(second, dtype=np.int64),
            np.array(outcomes, dtype=np.int64).reshape(-1, 3))


def _fit_bradley_terry(outcomes: npt.NDArray[Any], first: IntArray, second: IntArray, key_count: int) -> FloatArray:
    """β (base-10 log-odds, mean 0) of many samples of battle outcomes at once, by damped Newton steps.

    outcomes: samples × pairs × (first wins, tie, first loses); a tie counts half a win each way. A key that
    fought no battle in a sample gets NaN."""
    outcomes = outcomes.astype(np.float64)
    wins = outcomes[:, :, 0] + outcomes[:, :, 1] / 2
    fought = outcomes.sum(axis=2)
    samples, pairs = fought.shape
    beta = np.zeros((samples, key_count))
    pair_index = np.arange(pairs)
    incidence = np.zeros((pairs, key_count))
    incidence[pair_index, first] = 1.0
    incidence[pair_index, second] = -1.0
    diagonal = np.arange(key_count)

    def objective(candidate: FloatArray, rows: IntArray) -> FloatArray:
        """The penalised negative log-likelihood of the samples `rows` at β = candidate."""
        log_odds = _LN10 * (candidate[:, first] - candidate[:, second])
        losses = fought[rows] - wins[rows]
        likelihood = wins[rows] * np.logaddexp(0, -log_odds) + losses * np.logaddexp(0, log_odds)
        penalty = _BRADLEY_TERRY_RIDGE / 2 * np.einsum("ij,ij->i", candidate, candidate)
        value: FloatArray = likelihood.sum(axis=1) + penalty
        return value

    active = np.arange(samples)
    for _ in range(_NEWTON_STEPS):
        current = beta[active]
        chance = special.expit(_LN10 * (current[:, first] - current[:, second]))
        gradient = -_LN10 * (wins[active] - fought[active] * chance) @ incidence + _BRADLEY_TERRY_RIDGE * current
        curvature = _LN10**2 * fought[active] * chance * (1 - chance)
        hessian = np.zeros((active.size, key_count, key_count))
        hessian[:, first, second] = -curvature
        hessian[:, second, first] = -curvature
        hessian[:, diagonal, diagonal] = curvature @ np.abs(incidence) + _BRADLEY_TERRY_RIDGE
        step = np.linalg.solve(hessian, gradient[:, :, np.newaxis])[:, :, 0]
        # The Newton decrement gᵀH⁻¹g is twice how far the objective sits above its minimum, as the quadratic model
        # sees it. Once that nears the objective's rounding error, one more full step lands on the minimum, and a
        # line search could no longer tell a better point from a worse one.
        decrement = np.einsum("ij,ij->i", gradient, step)
        start = objective(current, active)
        near = decrement < _NEWTON_TOLERANCE * (1 + np.abs(start))
        beta[active[near]] = current[near] - step[near]
        active, current, step, decrement, start = (
            active[~near], current[~near], step[~near], decrement[~near], start[~near])
        if active.size == 0:
            break
        # Halve the step until the objective falls enough (Armijo); the problem is convex, so this ends.
        size = np.ones(active.size)
        pending = np.arange(active.size)
        for _ in range(_HALVINGS):
            trial = current[pending] - size[pending, np.newaxis] * step[pending]
            enough = objective(trial, active[pending]) <= start[pending] - 1e-4 * size[pending] * decrement[pending]
            pending = pending[~enough]
            if pending.size == 0:
                break
            size[pending] /= 2
        size[pending] = 0
        beta[active] = current - size[:, np.newaxis] * step
        active = np.delete(active, pending)
        if active.size == 0:
            break
    absent = fought @ np.abs(incidence) == 0
    beta[absent] = np.nan
    return beta


def _ranks(ratings: FloatArray) -> FloatArray:
    """Rank of each key in each row (1 = best, ties share the best rank); NaN for keys without a rating."""
    # Ratings equal but for the last digits of an iterative fit are a tie, not an order.
    margin = _RANK_TOLERANCE * np.maximum(1.0, np.abs(ratings))
    higher = np.count_nonzero(ratings[:, np.newaxis, :] > (ratings + margin)[:, :, np.newaxis], axis=2)
    ranks: FloatArray = (higher + 1).astype(np.float64)
    ranks[np.isnan(ratings)] = np.nan
    return ranks


def _percentile_interval(values: FloatArray) -> list[float] | None:
    defined = values[np.isfinite(values)]
    if defined.size == 0:
        return None
    low, high = np.percentile(defined, [100 * (1 - _UPPER_QUANTILE), 100 * _UPPER_QUANTILE])
    return [float(low), float(high)]


def _rank_interval(ranks: FloatArray) -> list[int] | None:
    interval = _percentile_interval(ranks)
    return None if interval is None else [math.floor(interval[0]), math.ceil(interval[1])]
