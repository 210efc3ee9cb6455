"""The statistics of scores agree with SciPy and NumPy on the raw data, with published worked examples,
and behave at the edges: no score, one score, equal scores, repeated inputs, a million logs."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pytest
from scipy import optimize, special, stats

from promptcrafter.statistics import (
    Cells,
    Clusters,
    Scores,
    compare,
    difference,
    leaderboard,
    paired,
    power,
    summary,
    verdict,
    wilson_interval,
)

SEEDS = [0, 1, 2, 3, 4]
Z_POWER = stats.norm.ppf(0.975) + stats.norm.ppf(0.80)


def close(expected: Any) -> Any:
    """Equal to the number `expected` to 1e-6 relative (and to 1e-9 absolute, for figures that are zero)."""
    return pytest.approx(float(expected), rel=1e-6, abs=1e-9)


def random_scores(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two groups of scores on the 0–10 scale: whole points (many ties) or decimals, sizes that differ."""
    rng = np.random.default_rng(seed)
    size_a, size_b = rng.integers(5, 80, size=2)
    if seed % 2:
        return rng.integers(0, 11, size_a).astype(float), np.clip(rng.normal(6, 2, size_b).round(1), 0, 10)
    return rng.integers(2, 9, size_a).astype(float), rng.integers(3, 11, size_b).astype(float)


def t_interval(values: np.ndarray) -> tuple[float, float]:
    low, high = stats.t.interval(0.95, values.size - 1, loc=values.mean(), scale=stats.sem(values))
    return float(low), float(high)


# Scores


def test_scores_of_raw_scores_counts_each_distinct_score() -> None:
    scores = Scores.of([7, 3, 7, 10, 3, 7])
    assert scores.values.tolist() == [3.0, 7.0, 10.0]
    assert scores.counts.tolist() == [2, 3, 1]
    assert scores.n == 6
    assert scores.expanded().tolist() == [3, 3, 7, 7, 7, 10]


def test_scores_from_counts_merge_repeated_scores_and_drop_empty_ones() -> None:
    scores = Scores.from_counts([(8.0, 2), (1.5, 1), (8.0, 3), (4.0, 0)])
    assert scores.values.tolist() == [1.5, 8.0]
    assert scores.counts.tolist() == [1, 5]


def test_scores_built_directly_are_sorted_and_merged() -> None:
    scores = Scores(values=np.array([9.0, 2.0, 9.0]), counts=np.array([1, 4, 2]))
    assert scores.values.tolist() == [2.0, 9.0]
    assert scores.counts.tolist() == [4, 3]


@pytest.mark.parametrize("rows", [[(math.nan, 1)], [(1.0, -1)], [(math.inf, 2)]])
def test_scores_refuse_what_is_not_a_score_count(rows: list[tuple[float, int]]) -> None:
    with pytest.raises(ValueError):
        Scores.from_counts(rows)


# summary


@pytest.mark.parametrize("seed", SEEDS)
def test_summary_agrees_with_numpy_and_scipy(seed: int) -> None:
    raw, _ = random_scores(seed)
    result = summary(raw.size + 3, Scores.of(raw))
    assert result["n"] == raw.size + 3
    assert result["scored"] == raw.size
    assert result["mean"] == close(np.mean(raw))
    assert result["sd"] == close(np.std(raw, ddof=1))
    assert result["median"] == close(np.median(raw))
    assert result["min"] == raw.min() and result["max"] == raw.max()
    assert result["ci95"] == [close(bound) for bound in t_interval(raw)]
    expected_histogram = [int(np.sum((raw >= low) & (raw < low + 1))) for low in range(10)] + [int(np.sum(raw == 10))]
    assert result["histogram"] == expected_histogram
    assert all(type(value) is float for key, value in result.items() if key in {"mean", "sd", "median", "min", "max"})
    assert all(type(count) is int for count in [result["n"], result["scored"], *result["histogram"]])


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.95, 1.0])
def test_quantiles_interpolate_linearly_as_numpy_does(fraction: float) -> None:
    raw = np.random.default_rng(7).integers(0, 11, 101).astype(float)
    assert Scores.of(raw).quantile(fraction) == close(np.quantile(raw, fraction))


def test_summary_without_scores_has_only_counts_and_an_empty_histogram() -> None:
    assert summary(4, Scores.of([])) == {
        "n": 4, "scored": 0, "mean": None, "sd": None, "median": None, "min": None, "max": None, "ci95": None,
        "histogram": [0] * 11,
    }


def test_summary_of_one_score_has_no_spread_and_no_interval() -> None:
    result = summary(1, Scores.of([6.5]))
    assert (result["mean"], result["median"], result["min"], result["max"]) == (6.5, 6.5, 6.5, 6.5)
    assert result["sd"] is None and result["ci95"] is None
    assert result["histogram"][6] == 1


def test_summary_of_equal_scores_has_zero_spread_and_a_point_interval() -> None:
    result = summary(5, Scores.of([10, 10, 10, 10, 10]), Clusters.of([10] * 5, ["x", "x", "y", "y", None]))
    assert result["sd"] == 0.0
    assert result["ci95"] == [10.0, 10.0]
    assert result["histogram"] == [0] * 10 + [5]


@pytest.mark.parametrize("seed", SEEDS)
def test_clustered_interval_agrees_with_millers_formula_on_raw_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 11, 60).astype(float)
    inputs: list[str | None] = [None if draw < 0.2 else f"input {int(draw * 15)}" for draw in rng.random(60)]
    mean = raw.mean()
    residual_sums: dict[object, float] = defaultdict(float)
    for index, (score, key) in enumerate(zip(raw, inputs)):
        residual_sums[key if key is not None else ("alone", index)] += score - mean
    standard_error = math.sqrt(sum(total**2 for total in residual_sums.values())) / raw.size
    half_width = stats.t.ppf(0.975, len(residual_sums) - 1) * standard_error
    result = summary(60, Scores.of(raw), Clusters.of(raw.tolist(), inputs))
    assert result["ci95"] == [close(mean - half_width), close(mean + half_width)]


def test_inputs_scored_alike_widen_the_interval() -> None:
    # Four inputs, each scored twice alike: mean 5, cluster residual sums −2, +2, −2, +2,
    # so SE² = 16 / 8² = 0.25 and the interval is 5 ± t(0.975, 3)·0.5 = 5 ± 3.182·0.5;
    # the naive one is 5 ± t(0.975, 7)·√(8/7)/√8 = 5 ± 2.365·0.378.
    scores = [4.0, 4.0, 6.0, 6.0, 4.0, 4.0, 6.0, 6.0]
    clustered = summary(8, Scores.of(scores), Clusters.of(scores, ["x", "x", "y", "y", "z", "z", "w", "w"]))["ci95"]
    naive = summary(8, Scores.of(scores))["ci95"]
    assert clustered == [close(5 - 3.182446305 * 0.5), close(5 + 3.182446305 * 0.5)]
    assert naive == [close(5 - 2.364624252 / math.sqrt(7)), close(5 + 2.364624252 / math.sqrt(7))]
    assert clustered[1] - clustered[0] > naive[1] - naive[0]


def test_the_interval_of_a_mean_stays_within_the_scores_range() -> None:
    # Two inputs scored twice alike: the clustered interval 5 ± t(0.975, 1)·√4.5 = 5 ± 26.95 is clipped to 0–10.
    scores = [2.0, 2.0, 8.0, 8.0]
    assert summary(4, Scores.of(scores), Clusters.of(scores, ["x", "x", "y", "y"]))["ci95"] == [0.0, 10.0]
    assert summary(3, Scores.of([10.0, 10.0, 9.0]))["ci95"][1] == 10.0


def test_inputs_whose_scores_offset_each_other_narrow_the_interval() -> None:
    # Three inputs scored twice: sums 10, 11, 10 around a mean of 31/6, so the residual sums are −1/3, 2/3, −1/3,
    # SE² = (1/9 + 4/9 + 1/9) / 6² = 1/54 and the interval is 31/6 ± t(0.975, 2)·√(1/54) = 31/6 ± 4.303·0.1361.
    scores = [2.0, 8.0, 3.0, 8.0, 1.0, 9.0]
    clustered = summary(6, Scores.of(scores), Clusters.of(scores, ["x", "x", "y", "y", "z", "z"]))["ci95"]
    naive = summary(6, Scores.of(scores))["ci95"]
    half_width = 4.302652730 * math.sqrt(1 / 54)
    assert clustered == [close(31 / 6 - half_width), close(31 / 6 + half_width)]
    assert clustered[1] - clustered[0] < naive[1] - naive[0]


def test_clusters_count_a_log_without_input_as_a_cluster_of_its_own() -> None:
    clusters = Clusters.of([1.0, 2.0, 3.0, 4.0], ["x", None, "x", None])
    assert clusters == Clusters(count=3, sum_squared_sums=16 + 4 + 16, sum_count_times_sum=2 * 4 + 2 + 4,
                                sum_squared_counts=4 + 1 + 1)


def test_clusters_without_a_repeated_input_leave_the_student_interval() -> None:
    scores = [3.0, 5.0, 9.0]
    with_clusters = summary(3, Scores.of(scores), Clusters.of(scores, ["x", "y", None]))
    assert with_clusters["ci95"] == summary(3, Scores.of(scores))["ci95"]


def test_a_million_logs_summarise_from_value_counts() -> None:
    rng = np.random.default_rng(11)
    counts = rng.multinomial(1_000_000, np.full(11, 1 / 11))
    scores = Scores.from_counts(zip(range(11), counts.tolist()))
    result = summary(1_000_000, scores)
    raw = scores.expanded()
    assert result["mean"] == close(raw.mean())
    assert result["sd"] == close(raw.std(ddof=1))
    assert result["median"] == np.median(raw)
    assert result["ci95"] == [close(bound) for bound in t_interval(raw)]
    assert result["histogram"] == counts.tolist()


# difference


@pytest.mark.parametrize("seed", SEEDS)
def test_difference_agrees_with_scipy(seed: int) -> None:
    a, b = random_scores(seed)
    result = difference(Scores.of(a), Scores.of(b))
    assert result is not None
    welch = stats.ttest_ind(b, a, equal_var=False)
    mann_whitney = stats.mannwhitneyu(b, a, alternative="two-sided")
    pooled_sd = math.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    assert result["mean"] == close(b.mean() - a.mean())
    assert result["welch"] == {"t": close(welch.statistic), "df": close(welch.df), "p": close(welch.pvalue)}
    interval = welch.confidence_interval(0.95)
    assert result["ci95"] == [close(interval.low), close(interval.high)]
    assert result["mannWhitney"] == {"u": close(mann_whitney.statistic), "p": close(mann_whitney.pvalue)}
    assert result["cohensD"] == close((b.mean() - a.mean()) / pooled_sd)


def test_welch_matches_the_published_sleep_example() -> None:
    # Student (1908), "The probable error of a mean", Biometrika 6:1–25: extra hours of sleep under two drugs
    # (Cushny & Peebles). Welch's test of group 1 against group 2 as printed in R's reference manual, example of
    # t.test(extra ~ group, data = sleep): t = −1.8608, df = 17.776, p = 0.07939, 95 % CI −3.3654832 to 0.2054832.
    group_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    group_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    result = difference(Scores.of(group_2), Scores.of(group_1))
    assert result is not None
    assert result["mean"] == pytest.approx(-1.58)
    assert result["welch"]["t"] == pytest.approx(-1.8608, abs=5e-5)
    assert result["welch"]["df"] == pytest.approx(17.776, abs=5e-4)
    assert result["welch"]["p"] == pytest.approx(0.07939, abs=5e-6)
    assert result["ci95"] == [pytest.approx(-3.3654832, abs=5e-8), pytest.approx(0.2054832, abs=5e-8)]


def test_difference_is_none_when_a_side_has_no_score() -> None:
    assert difference(Scores.of([]), Scores.of([1, 2, 3])) is None
    assert difference(Scores.of([1, 2, 3]), Scores.of([])) is None


def test_difference_with_one_score_a_side_gives_only_the_mean_and_mann_whitney() -> None:
    result = difference(Scores.of([4.0]), Scores.of([6.0, 7.0, 9.0]))
    assert result is not None
    assert result["mean"] == pytest.approx(7.0 - 4.0 + 1 / 3)
    assert result["ci95"] is None and result["welch"] is None
    expected = stats.mannwhitneyu([6.0, 7.0, 9.0], [4.0], alternative="two-sided", method="asymptotic")
    assert result["mannWhitney"] == {"u": close(expected.statistic), "p": close(expected.pvalue)}


def test_difference_between_two_constant_sides_has_no_test() -> None:
    result = difference(Scores.of([5, 5, 5]), Scores.of([7, 7]))
    assert result is not None
    assert result["mean"] == 2.0
    assert result["welch"] is None and result["ci95"] is None and result["cohensD"] is None


# SciPy warns about a constant sample's moments; the test statistic is still exact.
@pytest.mark.filterwarnings("ignore:Precision loss occurred in moment calculation")
def test_welch_holds_when_one_side_is_constant() -> None:
    a, b = np.array([5.0, 5.0, 5.0]), np.array([6.0, 8.0, 9.0, 7.0])
    result = difference(Scores.of(a), Scores.of(b))
    assert result is not None
    welch = stats.ttest_ind(b, a, equal_var=False)
    assert result["welch"] == {"t": close(welch.statistic), "df": close(welch.df), "p": close(welch.pvalue)}


# paired


def paired_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(8, 90))
    a = rng.integers(0, 11, n).astype(float)
    b = np.clip(a + rng.integers(-2, 4, n), 0, 10)
    if seed % 2:
        # Several logs of an input averaged: per-input means that are not whole points.
        b = np.clip(b + rng.choice([0.0, 0.5, -0.5, 1 / 3], n), 0, 10)
    return a, b


def wilcoxon_method(differences: np.ndarray) -> Literal["exact", "approx"]:
    nonzero = np.abs(differences[differences != 0])
    return "exact" if nonzero.size <= 50 and np.unique(nonzero).size == nonzero.size else "approx"


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_agrees_with_scipy(seed: int) -> None:
    a, b = paired_data(seed)
    result = paired(a, b)
    assert result is not None
    differences = b - a
    interval = stats.ttest_rel(b, a).confidence_interval(0.95)
    wilcoxon = stats.wilcoxon(differences, zero_method="wilcox", correction=False,
                              method=wilcoxon_method(differences))
    wins, ties, losses = (int(np.sum(differences > 0)), int(np.sum(differences == 0)),
                          int(np.sum(differences < 0)))
    assert result["n"] == a.size
    assert result["meanDifference"] == close(differences.mean())
    assert result["ci95"] == [close(interval.low), close(interval.high)]
    assert (result["wins"], result["ties"], result["losses"]) == (wins, ties, losses)
    assert result["winRate"] == close((wins + ties / 2) / a.size)
    assert result["wilcoxon"] == {"statistic": close(wilcoxon.statistic), "p": close(wilcoxon.pvalue)}
    assert result["correlation"] == close(stats.pearsonr(a, b).statistic)


@pytest.mark.parametrize("wins, ties, losses", [(17, 4, 3), (30, 0, 10), (0, 2, 9), (12, 0, 0)])
def test_win_rate_interval_is_wilsons_on_wins_plus_half_the_ties(wins: int, ties: int, losses: int) -> None:
    a = np.zeros(wins + ties + losses)
    b = np.concatenate([np.ones(wins), np.zeros(ties), -np.ones(losses)])
    result = paired(a, b)
    assert result is not None
    # Whole counts of successes, so SciPy's Wilson interval applies directly.
    expected = stats.binomtest(wins + ties // 2, a.size).proportion_ci(0.95, method="wilson")
    assert result["winRateCi95"] == [close(expected.low), close(expected.high)]


def test_wilson_interval_matches_newcombes_published_values() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine
    # 17:857–872, Table I, method 3 (Wilson's score interval, Wilson 1927).
    for (successes, n), (low, high) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                                        (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}.items():
        assert wilson_interval(successes, n) == [pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5)]


def test_wilson_interval_counts_a_tie_as_half_a_win() -> None:
    z = stats.norm.ppf(0.975)
    successes, n = 7.5, 11
    share = successes / n
    center = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half_width = z / (1 + z**2 / n) * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    assert wilson_interval(successes, n) == [close(center - half_width), close(center + half_width)]


def test_wilcoxon_matches_hollander_and_wolfes_example() -> None:
    # Hollander & Wolfe (1973), Nonparametric Statistical Methods, p. 29: Hamilton depression scale factor IV of
    # nine patients before (x) and after (y) a tranquilizer. T+ = 40 of a possible 45, so the two-sided statistic
    # is T− = 5 and the exact two-sided p is 2·10/512 = 0.0390625 (one-sided 0.0195, also in R's wilcox.test example).
    before = np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
    after = np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])
    result = paired(after, before)
    assert result is not None
    assert result["wilcoxon"] == {"statistic": 5.0, "p": close(0.0390625)}
    assert (result["wins"], result["ties"], result["losses"]) == (7, 0, 2)


@pytest.mark.parametrize("differences, method", [
    (np.arange(1.0, 51.0), "exact"),
    (np.arange(1.0, 52.0), "approx"),
    (np.array([1.0, -2.0, 2.0, 3.0, 0.0]), "approx"),
    (np.array([1.0, -2.0, 4.0, 3.0, 0.0, 0.0]), "exact"),
])
def test_wilcoxon_is_exact_only_for_at_most_fifty_untied_non_zero_differences(
        differences: np.ndarray, method: Literal["exact", "approx"]) -> None:
    result = paired(np.zeros(differences.size), differences)
    assert result is not None
    expected = stats.wilcoxon(differences, zero_method="wilcox", correction=False, method=method)
    assert result["wilcoxon"] == {"statistic": close(expected.statistic), "p": close(expected.pvalue)}


@pytest.mark.parametrize("pairs", [0, 1])
def test_paired_needs_two_pairs(pairs: int) -> None:
    assert paired(np.full(pairs, 5.0), np.full(pairs, 6.0)) is None


def test_two_pairs_are_enough() -> None:
    result = paired(np.array([4.0, 6.0]), np.array([5.0, 9.0]))
    assert result is not None
    interval = stats.ttest_rel([5.0, 9.0], [4.0, 6.0]).confidence_interval(0.95)
    # SciPy's interval reaches past ±10, the most a difference of scores can be: it is clipped there.
    assert interval.low < -10 and interval.high > 10
    assert result["ci95"] == [-10.0, 10.0]
    assert result["correlation"] == close(1.0)


def test_paired_with_every_input_tied_has_no_wilcoxon() -> None:
    a = np.array([3.0, 7.0, 7.5, 10.0])
    result = paired(a, a.copy())
    assert result is not None
    assert result["meanDifference"] == 0.0 and result["ci95"] == [0.0, 0.0]
    assert (result["wins"], result["ties"], result["losses"]) == (0, 4, 0)
    assert result["winRate"] == 0.5
    assert result["wilcoxon"] is None
    assert result["correlation"] == close(1.0)


def test_paired_correlation_is_none_when_a_side_is_constant() -> None:
    result = paired(np.array([5.0, 5.0, 5.0]), np.array([4.0, 6.0, 9.0]))
    assert result is not None
    assert result["correlation"] is None


def test_paired_refuses_means_that_are_not_aligned() -> None:
    with pytest.raises(ValueError):
        paired(np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]))


# power


@pytest.mark.parametrize("seed", SEEDS)
def test_unpaired_power_follows_the_normal_approximation(seed: int) -> None:
    a, b = random_scores(seed)
    result = power(Scores.of(a), Scores.of(b), None, 0.5)
    pooled_variance = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    assert result["minimumDetectableDifference"] == close(Z_POWER * math.sqrt(a.var(ddof=1) / a.size
                                                                            + b.var(ddof=1) / b.size))
    assert result["targetDifference"] == 0.5
    assert result["logsPerSideNeeded"] == math.ceil(Z_POWER**2 * 2 * pooled_variance / 0.5**2)


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_power_uses_the_variance_of_the_differences(seed: int) -> None:
    a, b = paired_data(seed)
    differences = b - a
    result = power(Scores.of(a), Scores.of(b), differences, 0.25)
    assert result["minimumDetectableDifference"] == close(Z_POWER * stats.sem(differences))
    assert result["logsPerSideNeeded"] == math.ceil(Z_POWER**2 * differences.var(ddof=1) / 0.25**2)


def test_power_is_null_when_the_variance_cannot_be_estimated() -> None:
    result = power(Scores.of([5.0]), Scores.of([4.0, 6.0]), None)
    assert result == {"minimumDetectableDifference": None, "targetDifference": 0.5, "logsPerSideNeeded": None}


def test_power_falls_back_to_the_groups_with_fewer_than_two_pairs() -> None:
    a, b = Scores.of([1.0, 5.0, 9.0]), Scores.of([2.0, 6.0])
    assert power(a, b, np.array([1.0])) == power(a, b, None)


@pytest.mark.parametrize("target", [0.0, -1.0, math.nan])
def test_power_refuses_a_target_that_is_not_positive(target: float) -> None:
    with pytest.raises(ValueError):
        power(Scores.of([1.0, 2.0]), Scores.of([2.0, 3.0]), None, target)


# verdict and compare


def test_a_clear_difference_names_the_better_side_its_lead_interval_and_p() -> None:
    sentence = verdict("a", "b", {"mean": 0.8, "ci95": [0.3, 1.3], "welch": {"t": 3.1, "df": 71.4, "p": 0.0027},
                                  "mannWhitney": None, "cohensD": 0.7},
                       None, {"minimumDetectableDifference": 0.6, "targetDifference": 0.5, "logsPerSideNeeded": 61})
    assert sentence == "b scores higher than a by 0.8 points (95% CI 0.3 to 1.3, p = 0.003)."


def test_a_clear_lead_of_a_is_stated_with_its_own_interval() -> None:
    sentence = verdict("v1", "v2", {"mean": -1.24, "ci95": [-2.0, -0.48], "welch": {"p": 0.0004}},
                       None, {"minimumDetectableDifference": 0.6, "targetDifference": 0.5, "logsPerSideNeeded": 61})
    assert sentence == "v1 scores higher than v2 by 1.2 points (95% CI 0.5 to 2.0, p < 0.001)."


def test_no_clear_difference_says_how_many_more_logs_would_settle_it() -> None:
    sentence = verdict("a", "b", {"mean": -0.2, "ci95": [-0.9, 0.5], "welch": {"p": 0.57}}, None,
                       {"minimumDetectableDifference": 1.1, "targetDifference": 0.5, "logsPerSideNeeded": 61},
                       a_scored=21, b_scored=21)
    assert sentence == ("No clear difference between a and b yet (b \N{MINUS SIGN} a = \N{MINUS SIGN}0.2 points, "
                        "95% CI \N{MINUS SIGN}0.9 to 0.5, p = 0.57); about 40 more scored logs per side would "
                        "detect a 0.5-point difference.")


def test_no_clear_difference_with_enough_data_says_any_difference_is_small() -> None:
    sentence = verdict("a", "b", {"mean": 0.05, "ci95": [-0.1, 0.2], "welch": {"p": 0.5}}, None,
                       {"minimumDetectableDifference": 0.21, "targetDifference": 0.5, "logsPerSideNeeded": 61},
                       a_scored=400, b_scored=300)
    assert "0.2 points or more would likely have shown" in sentence


def test_too_few_scores_says_which_side_is_short() -> None:
    sentence = verdict("a", "b", None, None,
                       {"minimumDetectableDifference": None, "targetDifference": 0.5, "logsPerSideNeeded": None},
                       a_scored=0, b_scored=9)
    assert sentence == "Too few scores to compare a and b yet (a has no scored log): each side needs at least 2 " \
                       "scored logs."


def test_compare_prefers_the_paired_result_and_feeds_it_to_power() -> None:
    rng = np.random.default_rng(12)
    a = rng.integers(2, 8, 40).astype(float)
    b = a + rng.integers(-1, 3, 40)
    result = compare(Scores.of(a), Scores.of(b), a, b, a_name="v1", b_name="v2")
    assert set(result) == {"difference", "paired", "power", "verdict"}
    assert result["paired"] == paired(a, b)
    assert result["difference"] == difference(Scores.of(a), Scores.of(b))
    assert result["power"] == power(Scores.of(a), Scores.of(b), b - a)
    ttest = stats.ttest_rel(b, a)
    assert ttest.pvalue < 0.05
    assert result["verdict"].startswith("v2 scores higher than v1 by ")
    assert "on the 40 inputs both scored" in result["verdict"]
    shown_p = f"p = {ttest.pvalue:.3f}" if ttest.pvalue >= 0.001 else "p < 0.001"
    assert shown_p in result["verdict"]


def test_compare_without_shared_inputs_uses_the_groups() -> None:
    a, b = random_scores(2)
    result = compare(Scores.of(a), Scores.of(b), np.array([]), np.array([]), a_name="a", b_name="b")
    assert result["paired"] is None
    assert result["power"] == power(Scores.of(a), Scores.of(b), None)


def test_compare_with_a_side_unscored_says_so() -> None:
    result = compare(Scores.of([]), Scores.of([3.0]), np.array([]), np.array([]), a_name="a", b_name="b")
    assert result["difference"] is None and result["paired"] is None
    assert result["verdict"].startswith("Too few scores to compare a and b yet")


# leaderboard


def cells_of(logs: Sequence[tuple[int, str | None, float]]) -> Cells:
    """The cells the database would give for (key, input, score) logs: a log without input is its own input."""
    totals: dict[tuple[int, object], list[float]] = defaultdict(list)
    for index, (key, input_text, score) in enumerate(logs):
        totals[(key, input_text if input_text is not None else ("alone", index))].append(score)
    input_ids: dict[object, int] = {}
    rows = [(key, input_ids.setdefault(input_key, len(input_ids)), sum(scores), len(scores))
            for (key, input_key), scores in totals.items()]
    return Cells(key=np.array([row[0] for row in rows]), input=np.array([row[1] for row in rows]),
                 total=np.array([row[2] for row in rows], dtype=float), count=np.array([row[3] for row in rows]))


def arena(seed: int, strengths: Sequence[float], inputs: int) -> list[tuple[int, str | None, float]]:
    """Every key scored once on each input, with scores whose pairwise order follows a Bradley–Terry model:
    Gumbel noise makes P(i scores above j) = 1 / (1 + 10^−(βi − βj))."""
    rng = np.random.default_rng(seed)
    scores = math.log(10) * np.asarray(strengths)[np.newaxis, :] + rng.gumbel(size=(inputs, len(strengths)))
    return [(key, f"input {row}", float(scores[row, key])) for row in range(inputs) for key in range(len(strengths))]


def whole_point_logs(seed: int, means: Sequence[float], inputs: int) -> list[tuple[int, str | None, float]]:
    rng = np.random.default_rng(seed)
    return [(key, f"input {row}", float(np.clip(np.round(rng.normal(mean, 2)), 0, 10)))
            for row in range(inputs) for key, mean in enumerate(means)]


@pytest.mark.parametrize("method", ["mean", "bradley-terry"])
def test_the_same_seed_gives_the_same_leaderboard(method: str) -> None:
    cells = cells_of(whole_point_logs(1, [5, 5.2, 6], 60))
    first = leaderboard(["a", "b", "c"], cells, [60, 60, 60], method=method, seed=3)
    assert first == leaderboard(["a", "b", "c"], cells, [60, 60, 60], method=method, seed=3)
    assert first != leaderboard(["a", "b", "c"], cells, [60, 60, 60], method=method, seed=4)


@pytest.mark.parametrize("method", ["mean", "bradley-terry"])
def test_a_clearly_best_key_ranks_first_without_doubt(method: str) -> None:
    cells = cells_of(whole_point_logs(2, [4, 4.5, 5, 9.5], 80))
    entries = leaderboard(["w", "x", "y", "z"], cells, [80] * 4, method=method)
    assert entries[0]["key"] == "z"
    assert entries[0]["rank"] == 1 and entries[0]["rankCi95"] == [1, 1]
    assert [entry["rank"] for entry in entries] == [1, 2, 3, 4]


@pytest.mark.parametrize("method", ["mean", "bradley-terry"])
def test_indistinguishable_keys_have_overlapping_rank_intervals(method: str) -> None:
    cells = cells_of(whole_point_logs(3, [6, 6, 2], 50))
    entries = {entry["key"]: entry for entry in leaderboard(["a", "b", "c"], cells, [50] * 3, method=method)}
    (a_best, a_worst), (b_best, b_worst) = entries["a"]["rankCi95"], entries["b"]["rankCi95"]
    assert a_best <= b_worst and b_best <= a_worst
    assert entries["c"]["rank"] == 3 and entries["c"]["rankCi95"] == [3, 3]


@pytest.mark.parametrize("method", ["mean", "bradley-terry"])
def test_a_key_resting_on_one_input_could_rank_anywhere(method: str) -> None:
    logs = whole_point_logs(4, [3, 7], 40) + [(2, "input 0", 10.0)]  # one lucky log of key 2
    entries = {entry["key"]: entry for entry in leaderboard(["a", "b", "lucky"], cells_of(logs), [40, 40, 1],
                                                            method=method)}
    assert entries["lucky"]["rating"] is not None and entries["lucky"]["rank"] is not None
    assert entries["lucky"]["ratingCi95"] is None and entries["lucky"]["rankCi95"] == [1, 3]
    assert entries["a"]["ratingCi95"] is not None


def test_bradley_terry_recovers_known_strengths() -> None:
    strengths = [-0.3, -0.1, 0.1, 0.3]
    entries = leaderboard([0, 1, 2, 3], cells_of(arena(5, strengths, 3000)), [3000] * 4, method="bradley-terry",
                          resamples=200)
    ratings = {entry["key"]: entry["rating"] for entry in entries}
    for key, strength in enumerate(strengths):
        assert ratings[key] == pytest.approx(1000 + 400 * strength, abs=15)
        low, high = next(entry["ratingCi95"] for entry in entries if entry["key"] == key)
        assert low < ratings[key] < high
    assert [entry["key"] for entry in entries] == [3, 2, 1, 0]


def test_bradley_terry_ratings_agree_with_a_direct_logistic_likelihood_fit() -> None:
    logs = whole_point_logs(6, [5, 5.5, 6.5], 12)
    rng = np.random.default_rng(6)
    logs = [log for log in logs if rng.random() < 0.8]
    battles = []
    by_input: dict[object, dict[int, float]] = defaultdict(dict)
    for key, input_text, score in logs:
        by_input[input_text][key] = score
    for scores in by_input.values():
        for first in scores:
            for second in scores:
                if first < second:
                    outcome = 0.5 if scores[first] == scores[second] else float(scores[first] > scores[second])
                    battles.append((first, second, outcome))
    first_keys, second_keys, outcomes = (np.array(column) for column in zip(*battles))

    def negative_log_likelihood(beta: np.ndarray) -> float:
        log_odds = math.log(10) * (beta[first_keys] - beta[second_keys])
        return -float(np.sum(outcomes * special.log_expit(log_odds) + (1 - outcomes) * special.log_expit(-log_odds)))

    fit = optimize.minimize(negative_log_likelihood, np.zeros(3), method="BFGS", options={"gtol": 1e-9})
    expected = 1000 + 400 * (fit.x - fit.x.mean())
    entries = leaderboard([0, 1, 2], cells_of(logs), [12] * 3, method="bradley-terry", resamples=50)
    for entry in entries:
        assert entry["rating"] == pytest.approx(expected[entry["key"]], abs=1e-3)


def test_bradley_terry_counts_a_tie_as_half_a_win_each_way() -> None:
    logs = [(key, f"input {row}", 7.0) for row in range(10) for key in range(2)]
    entries = leaderboard(["a", "b"], cells_of(logs), [10, 10], method="bradley-terry", resamples=20)
    assert [entry["rating"] for entry in entries] == [close(1000.0), close(1000.0)]
    assert [entry["rank"] for entry in entries] == [1, 1]


def test_mean_leaderboard_rates_by_mean_with_a_bootstrap_interval_near_the_t_interval() -> None:
    logs = whole_point_logs(7, [5, 6, 7], 400)
    entries = leaderboard(["x", "y", "z"], cells_of(logs), [400] * 3)
    for entry in entries:
        assert entry["rating"] == entry["mean"]
        low, high = entry["ratingCi95"]
        t_low, t_high = entry["ci95"]
        assert low < entry["mean"] < high
        assert high - low == pytest.approx(t_high - t_low, rel=0.2)


def test_many_logs_without_input_bootstrap_like_independent_scores() -> None:
    rng = np.random.default_rng(12)
    logs: list[tuple[int, str | None, float]] = [(key, None, float(rng.integers(0, 11)))
                                                 for key in (0, 1) for _ in range(5000)]
    entries = leaderboard(["a", "b"], cells_of(logs), [5000, 5000])
    for entry in entries:
        low, high = entry["ratingCi95"]
        t_low, t_high = entry["ci95"]
        assert high - low == pytest.approx(t_high - t_low, rel=0.15)


def test_cells_that_repeat_a_key_and_input_are_merged() -> None:
    split = Cells(key=np.array([0, 0, 1]), input=np.array([7, 7, 7]), total=np.array([3.0, 5.0, 9.0]),
                  count=np.array([1, 1, 2]))
    merged = Cells(key=np.array([0, 1]), input=np.array([7, 7]), total=np.array([8.0, 9.0]), count=np.array([2, 2]))
    for method in ("mean", "bradley-terry"):
        assert leaderboard(["a", "b"], split, [2, 2], method=method) == leaderboard(["a", "b"], merged, [2, 2],
                                                                                     method=method)


def test_leaderboard_mean_and_interval_are_the_groups_summary_figures() -> None:
    rng = np.random.default_rng(8)
    logs: list[tuple[int, str | None, float]] = [
        (int(rng.integers(0, 2)), None if rng.random() < 0.3 else f"input {rng.integers(0, 25)}",
         float(rng.integers(0, 11)))
        for _ in range(150)]
    logs += [(2, f"input {row}", float(rng.integers(0, 11))) for row in range(30)]
    entries = {entry["key"]: entry for entry in leaderboard([0, 1, 2], cells_of(logs), [150, 150, 30])}
    for key in range(3):
        scores = [score for log_key, _, score in logs if log_key == key]
        inputs = [input_text for log_key, input_text, _ in logs if log_key == key]
        expected = summary(len(scores), Scores.of(scores), Clusters.of(scores, inputs))
        assert entries[key]["mean"] == close(expected["mean"])
        assert entries[key]["ci95"] == [close(bound) for bound in expected["ci95"]]


def test_leaderboard_takes_mean_and_interval_from_given_summaries() -> None:
    summaries: list[dict[str, Any]] = [{"mean": 4.0, "ci95": [3.0, 5.0]}, {"mean": 6.0, "ci95": None}]
    entries = leaderboard(["a", "b"], cells_of([(0, "i", 4.0), (1, "i", 6.0)]), [1, 1], summaries=summaries)
    assert [(entry["key"], entry["mean"], entry["ci95"]) for entry in entries] == [("b", 6.0, None),
                                                                                  ("a", 4.0, [3.0, 5.0])]


@pytest.mark.parametrize("method", ["mean", "bradley-terry"])
def test_a_key_without_scores_comes_last_unrated(method: str) -> None:
    cells = cells_of(whole_point_logs(9, [5, 6], 20))
    entries = leaderboard(["a", "b", "silent"], cells, [20, 20, 7], method=method)
    assert entries[-1] == {"key": "silent", "n": 7, "mean": None, "ci95": None, "rating": None, "ratingCi95": None,
                           "rank": None, "rankCi95": None}


@pytest.mark.parametrize("method", ["mean", "bradley-terry"])
def test_leaderboard_ranks_ten_keys_on_ten_thousand_inputs_in_order(method: str) -> None:
    rng = np.random.default_rng(10)
    keys, inputs = 10, 10_000
    scores = np.clip(np.round(rng.normal(np.linspace(4, 6, keys), 2, size=(inputs, keys))), 0, 10)
    cells = Cells(key=np.tile(np.arange(keys), inputs), input=np.repeat(np.arange(inputs), keys),
                  total=scores.ravel(), count=np.ones(keys * inputs, dtype=np.int64))
    entries = leaderboard(list(range(keys)), cells, [inputs] * keys, method=method, resamples=1000)
    assert len(entries) == keys and all(entry["rankCi95"] is not None for entry in entries)
    assert entries[0]["key"] == keys - 1 and entries[-1]["key"] == 0


@pytest.mark.parametrize("arguments", [{"method": "elo"}, {"resamples": 0}])
def test_leaderboard_refuses_an_unknown_method_or_no_resample(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        leaderboard(["a"], cells_of([(0, "i", 1.0)]), [1], **arguments)
