"""The server-drawn SVG charts: well-formed, accessible, escaped, geometrically right, and sane at the edges
(no data, equal values, missing and non-finite figures, huge counts, long and hostile labels)."""

from __future__ import annotations

import math
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from markupsafe import Markup

from promptcrafter.server.web.charts import (
    Distribution,
    Interval,
    Series,
    TrendPoint,
    difference,
    distributions,
    forest,
    outcomes,
    trend,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script> & \"quoted\" \x01 ]]> <!--"
NICE_MANTISSAS = {1, 2, 5}


def parse(chart: str) -> ET.Element:
    """The chart as an element tree; fails the test when the SVG is not well-formed XML."""
    return ET.fromstring(str(chart))


def with_class(root: ET.Element, name: str, tag: str | None = None) -> list[ET.Element]:
    """Every element carrying the CSS class `name` (and of the given SVG tag), in document order."""
    return [
        element
        for element in root.iter()
        if name in element.get("class", "").split() and (tag is None or element.tag == SVG + tag)
    ]


def description(root: ET.Element) -> str:
    desc = root.find(SVG + "desc")
    assert desc is not None and desc.text
    return desc.text


def number(element: ET.Element, attribute: str) -> float:
    value = float(element.attrib[attribute])
    assert math.isfinite(value)
    return value


def tick_values(root: ET.Element) -> list[float]:
    """The numbers along a chart's numeric axis (a trend's categories are ticks too, but not numbers)."""
    return [
        float(tick.text or "") for tick in with_class(root, "tick", "text") if "category" not in tick.attrib["class"]
    ]


def sample_charts() -> list[Markup]:
    return [
        forest([Interval("a", 7.2, 6.84, 7.56, "rank 1–2"), Interval("b", 5.0, 4.0, 6.0)], axis_label="Mean"),
        distributions([Distribution("a", [0, 0, 1, 2, 3, 4, 5, 6, 5, 3, 1], 6.5, (6.0, 7.0), 6.5)]),
        difference(0.5, -0.2, 1.2, label="b − a"),
        outcomes(3, 1, 2, labels=("b wins", "ties", "a wins")),
        trend([Series("a", [TrendPoint("v1", 6.0, 5.0, 7.0), TrendPoint("v2", 7.0, 6.5, 7.5)])], y_label="Mean"),
    ]


def empty_charts() -> list[Markup]:
    return [
        forest([], axis_label="Mean"),
        distributions([]),
        difference(None, None, None, label="b − a"),
        outcomes(0, 0, 0, labels=("b wins", "ties", "a wins")),
        trend([], y_label="Mean"),
        trend([Series("a", [TrendPoint("v1", None, None, None)])], y_label="Mean"),
    ]


@pytest.mark.parametrize("chart", sample_charts() + empty_charts())
def test_every_chart_is_an_accessible_responsive_image(chart: Markup) -> None:
    root = parse(chart)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert "chart" in root.get("class", "").split()
    title_id, desc_id = root.attrib["aria-labelledby"].split()
    assert root.find(f"{SVG}title[@id='{title_id}']") is not None
    assert root.find(f"{SVG}desc[@id='{desc_id}']") is not None
    assert root.get("width") == "100%"
    assert "height" not in root.attrib
    assert re.fullmatch(r"0 0 \d+(\.\d)? \d+(\.\d)?", root.attrib["viewBox"])
    assert root.get("font-family") == "inherit"


@pytest.mark.parametrize("chart", sample_charts() + empty_charts())
def test_charts_leave_colours_to_the_stylesheet_and_run_no_code(chart: Markup) -> None:
    text = str(chart)
    assert isinstance(chart, Markup)
    assert "style=" not in text and "<style" not in text and "<script" not in text
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgb\(|hsl\(", text)
    assert not re.search(r"\b(fill|stroke)=\"(?!currentColor|none)", text)
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize("chart", empty_charts())
def test_empty_input_draws_a_small_chart_saying_no_data(chart: Markup) -> None:
    root = parse(chart)
    assert [element.text for element in with_class(root, "no-data")] == ["No data"]
    assert "no data" in description(root)
    assert not with_class(root, "point")


def test_charts_of_different_data_get_different_ids() -> None:
    ids = [parse(chart).attrib["aria-labelledby"] for chart in sample_charts()]
    ids.append(parse(forest([Interval("a", 7.3, 6.84, 7.56)], axis_label="Mean")).attrib["aria-labelledby"])
    assert len(set(ids)) == len(ids)


def test_a_given_chart_id_names_the_title_and_desc() -> None:
    root = parse(difference(0.5, 0.1, 0.9, label="d", chart_id="cmp-3"))
    assert root.attrib["aria-labelledby"] == "cmp-3-title cmp-3-desc"


def test_a_chart_id_that_could_break_the_markup_is_refused() -> None:
    with pytest.raises(ValueError):
        difference(0.5, 0.1, 0.9, label="d", chart_id='x" onload="alert(1)')


# Forest


def forest_rows(root: ET.Element) -> list[ET.Element]:
    return with_class(root, "row", "g")


def point_x(row: ET.Element) -> float:
    (point,) = with_class(row, "point", "circle")
    return number(point, "cx")


def test_forest_desc_states_each_estimate_and_interval_in_words() -> None:
    root = parse(
        forest(
            [Interval("gpt-4o", 7.2, 6.84, 7.56, "rank 1–2"), Interval("mini", 6.0)],
            axis_label="mean",
            reference=6.5,
        )
    )
    text = description(root)
    assert "gpt-4o: mean 7.20, 95% interval 6.84 to 7.56, rank 1–2" in text
    assert "mini: mean 6.00, no 95% interval" in text
    assert "reference line at 6.50" in text


def test_a_point_is_drawn_between_the_ends_of_its_interval() -> None:
    rows = [Interval("a", 7.2, 6.84, 7.56), Interval("b", 3.0, 1.0, 3.5), Interval("c", -2.0, -2.5, 0.0)]
    root = parse(forest(rows, axis_label="rating"))
    for row in forest_rows(root):
        (interval,) = with_class(row, "interval", "line")
        low, high = sorted((number(interval, "x1"), number(interval, "x2")))
        assert low < point_x(row) < high


def test_an_interval_given_high_end_first_is_drawn_the_right_way_round() -> None:
    root = parse(forest([Interval("a", 5.0, 6.0, 4.0)], axis_label="rating"))
    (row,) = forest_rows(root)
    (interval,) = with_class(row, "interval", "line")
    assert number(interval, "x1") < point_x(row) < number(interval, "x2")


def test_a_larger_rating_is_drawn_further_right() -> None:
    estimates = [1012.0, 987.5, 1003.25, 950.0]
    root = parse(
        forest([Interval(f"m{i}", value, value - 9, value + 9) for i, value in enumerate(estimates)], axis_label="r")
    )
    xs = [point_x(row) for row in forest_rows(root)]
    assert sorted(range(4), key=lambda i: xs[i]) == sorted(range(4), key=lambda i: estimates[i])


def test_the_axis_scales_linearly_with_the_values() -> None:
    root = parse(forest([Interval("a", 1.0), Interval("b", 2.0), Interval("c", 4.0)], axis_label="x"))
    a, b, c = (point_x(row) for row in forest_rows(root))
    assert c - b == pytest.approx(2 * (b - a), abs=0.2)


def test_the_reference_line_is_drawn_at_its_value() -> None:
    root = parse(forest([Interval("a", -1.0), Interval("b", 1.0)], axis_label="difference", reference=0.0))
    (reference,) = with_class(root, "reference", "line")
    left, right = (point_x(row) for row in forest_rows(root))
    assert number(reference, "x1") == pytest.approx((left + right) / 2, abs=0.1)
    assert reference.get("stroke-dasharray")


def test_a_row_without_an_estimate_says_no_data_and_one_without_interval_shows_only_its_point() -> None:
    root = parse(forest([Interval("measured", 5.0), Interval("unmeasured", None, 1.0, 2.0)], axis_label="x"))
    measured, unmeasured = forest_rows(root)
    assert len(with_class(measured, "point")) == 1 and not with_class(measured, "interval")
    assert not with_class(unmeasured, "point") and not with_class(unmeasured, "interval")
    assert [element.text for element in with_class(unmeasured, "no-data")] == ["no data"]
    assert "unmeasured: no data" in description(root)


def test_a_forest_with_only_missing_estimates_lists_them_without_an_axis() -> None:
    root = parse(forest([Interval("a", None), Interval("b", math.nan, 1.0, 2.0)], axis_label="x"))
    assert len(with_class(root, "no-data")) == 2
    assert not with_class(root, "tick")


def test_the_forest_grows_taller_with_more_rows() -> None:
    def height(count: int) -> float:
        chart = forest([Interval(str(i), float(i)) for i in range(count)], axis_label="x")
        return float(parse(chart).attrib["viewBox"].split()[3])

    assert height(1) < height(5) < height(20)


def test_notes_are_written_beside_their_rows() -> None:
    root = parse(forest([Interval("a", 7.0, 6.0, 8.0, "rank 1–2")], axis_label="x"))
    (row,) = forest_rows(root)
    (note,) = with_class(row, "note", "text")
    assert note.text == "rank 1–2"
    assert number(note, "x") > point_x(row)


def test_equal_values_still_get_an_axis_with_width() -> None:
    root = parse(forest([Interval("a", 7.0), Interval("b", 7.0, 7.0, 7.0)], axis_label="x"))
    ticks = tick_values(root)
    assert len(ticks) >= 4 and ticks[0] < 7.0 < ticks[-1]
    xs = [point_x(row) for row in forest_rows(root)]
    assert xs[0] == xs[1]
    axis_lines = [line for line in with_class(root, "axis", "line") if line.get("y1") == line.get("y2")]
    assert number(axis_lines[0], "x1") < xs[0] < number(axis_lines[0], "x2")


def test_a_single_point_is_drawn_inside_the_plot() -> None:
    root = parse(forest([Interval("only", 0.0)], axis_label="x"))
    (row,) = forest_rows(root)
    assert 0 < point_x(row) < 640
    assert "only: x 0.00" in description(root)


@pytest.mark.parametrize("seed", range(40))
def test_axis_ticks_are_four_to_seven_nice_steps_covering_the_data(seed: int) -> None:
    rng = random.Random(seed)
    centre = rng.uniform(-1000, 1000) * 10 ** rng.randint(-3, 3)
    spread = 10 ** rng.uniform(-4, 5)
    values = [centre + rng.uniform(-spread, spread) for _ in range(rng.randint(1, 6))]
    root = parse(forest([Interval(str(i), value) for i, value in enumerate(values)], axis_label="x"))
    ticks = tick_values(root)
    assert 4 <= len(ticks) <= 7
    step = (ticks[-1] - ticks[0]) / (len(ticks) - 1)
    assert all(b - a == pytest.approx(step, rel=1e-3) for a, b in zip(ticks, ticks[1:]))
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert round(mantissa, 6) in NICE_MANTISSAS
    spacing = step * 1e-3  # Tick labels are rounded to the step's precision.
    assert ticks[0] - spacing <= min(values) and max(values) <= ticks[-1] + spacing


# Distributions


def test_histogram_bars_are_proportional_to_counts_within_a_side() -> None:
    counts = [0, 1, 2, 4, 8, 0, 0, 0, 0, 0, 3]
    root = parse(distributions([Distribution("a", counts, 4.0, (3.5, 4.5), 4.0)]))
    bars = with_class(root, "bar", "rect")
    assert len(bars) == sum(1 for count in counts if count)
    heights = [number(bar, "height") for bar in bars]
    drawn = [count for count in counts if count]
    for bar_height, count in zip(heights, drawn):
        assert bar_height / max(heights) == pytest.approx(count / max(drawn), abs=0.01)
    assert [number(bar, "x") for bar in bars] == sorted(number(bar, "x") for bar in bars)


def test_each_side_is_scaled_to_its_own_tallest_bar() -> None:
    lopsided = [0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0]
    flat = [100] * 11
    root = parse(distributions([Distribution("lopsided", lopsided, 5.7), Distribution("flat", flat, 5.0)]))
    first, second = with_class(root, "side", "g")
    first_heights = [number(bar, "height") for bar in with_class(first, "bar")]
    second_heights = [number(bar, "height") for bar in with_class(second, "bar")]
    assert max(first_heights) == max(second_heights) > 0
    assert set(second_heights) == {max(first_heights)}
    assert first_heights[0] == pytest.approx(max(first_heights) / 2, abs=0.1)


def test_the_mean_lies_inside_its_interval_and_both_sides_share_one_axis() -> None:
    sides = [
        Distribution("a", [0, 0, 0, 1, 2, 3, 2, 1, 0, 0, 0], 5.0, (4.5, 5.5), 5.0),
        Distribution("b", [0, 0, 0, 0, 0, 1, 2, 3, 2, 1, 1], 7.5, (7.0, 8.0), 7.5),
    ]
    root = parse(distributions(sides))
    means = []
    for side in with_class(root, "side", "g"):
        (point,) = with_class(side, "point", "circle")
        (interval,) = with_class(side, "interval", "line")
        (median,) = with_class(side, "median", "line")
        assert number(interval, "x1") < number(point, "cx") < number(interval, "x2")
        assert number(median, "x1") == pytest.approx(number(point, "cx"), abs=0.1)
        means.append(number(point, "cx"))
    zero, two = [line for line in with_class(root, "axis", "line") if line.get("y2") != line.get("y1")][:2]
    unit = (number(two, "x1") - number(zero, "x1")) / 2
    assert means[1] - means[0] == pytest.approx(2.5 * unit, abs=0.2)


def test_distribution_desc_states_counts_mean_interval_and_median() -> None:
    side = Distribution("gpt-4o", [0, 0, 0, 0, 0, 0, 3, 10, 20, 5, 2], 7.2, (6.84, 7.56), 7.5)
    text = description(parse(distributions([side])))
    assert "gpt-4o: 40 scores; mean 7.20, 95% interval 6.84 to 7.56; median 7.50" in text
    assert "7 to under 8: 10" in text and "exactly 10: 2" in text


def test_a_side_without_scores_says_no_data() -> None:
    root = parse(distributions([Distribution("a", [0] * 11), Distribution("b", [1] * 11, 5.0, None, 5.0)]))
    empty, full = with_class(root, "side", "g")
    assert with_class(empty, "no-data") and not with_class(empty, "bar")
    assert len(with_class(full, "bar")) == 11 and not with_class(full, "interval")


def test_the_sides_take_series_classes_that_cycle() -> None:
    sides = [Distribution(str(i), [1] * 11, 5.0) for i in range(8)]
    classes = [group.get("class") for group in with_class(parse(distributions(sides)), "side", "g")]
    assert classes == [f"side series-{i % 6}" for i in range(8)]


def test_huge_counts_draw_finite_bars() -> None:
    huge = [10**30, 0, 0, 0, 0, 0, 0, 0, 0, 10**400, 1]
    root = parse(distributions([Distribution("a", huge, 9.0, (8.9, 9.1), 9.0)]))
    heights = [number(bar, "height") for bar in with_class(root, "bar")]
    assert max(heights) > 0 and min(heights) >= 0


def test_a_histogram_without_eleven_counts_is_refused() -> None:
    with pytest.raises(ValueError):
        Distribution("a", [1, 2, 3])
    with pytest.raises(ValueError):
        Distribution("a", [-1] + [0] * 10)


# Difference


def zero_and_axis_ends(root: ET.Element) -> tuple[float, float, float]:
    (zero,) = with_class(root, "zero", "line")
    baseline = next(line for line in with_class(root, "axis", "line") if line.get("y1") == line.get("y2"))
    return number(zero, "x1"), number(baseline, "x1"), number(baseline, "x2")


@pytest.mark.parametrize(
    ("mean", "low", "high"), [(0.75, 0.3, 1.2), (-3.0, -5.0, -1.0), (0.1, -0.2, 0.4), (0.0, 0.0, 0.0)]
)
def test_zero_sits_in_the_middle_of_a_symmetric_axis_that_holds_the_interval(
    mean: float, low: float, high: float
) -> None:
    root = parse(difference(mean, low, high, label="b − a"))
    zero, start, end = zero_and_axis_ends(root)
    assert zero == pytest.approx((start + end) / 2, abs=0.1)
    ticks = tick_values(root)
    assert ticks == [-tick for tick in reversed(ticks)] and 0.0 in ticks and 4 <= len(ticks) <= 7
    (interval,) = with_class(root, "interval", "line")
    assert start < number(interval, "x1") <= number(interval, "x2") < end


def test_an_interval_that_excludes_zero_is_clear() -> None:
    for mean, low, high in [(0.75, 0.3, 1.2), (-0.75, -1.2, -0.3)]:
        root = parse(difference(mean, low, high, label="b − a"))
        (estimate,) = with_class(root, "estimate", "g")
        assert "clear" in estimate.attrib["class"].split()
        assert "excludes zero" in description(root)


def test_an_interval_that_includes_or_touches_zero_is_unclear() -> None:
    for low in (-0.1, 0.0):
        root = parse(difference(0.75, low, 1.6, label="b − a"))
        (estimate,) = with_class(root, "estimate", "g")
        assert "unclear" in estimate.attrib["class"].split()
        assert "includes zero" in description(root)


def test_a_positive_difference_is_drawn_right_of_zero() -> None:
    root = parse(difference(0.75, 0.3, 1.2, label="b − a"))
    zero, _, _ = zero_and_axis_ends(root)
    (point,) = with_class(root, "point", "circle")
    assert number(point, "cx") > zero


def test_difference_desc_and_text_state_the_numbers() -> None:
    chart = difference(0.75, -0.1, 1.6, label="B − A")
    text = description(parse(chart))
    assert "B − A: difference 0.75, 95% interval -0.10 to 1.60" in text
    assert "+0.75" in str(chart)


def test_a_difference_without_interval_shows_its_point_as_unclear() -> None:
    root = parse(difference(0.75, None, math.inf, label="b − a"))
    assert not with_class(root, "interval")
    assert with_class(root, "point") and with_class(root, "unclear")
    assert "no 95% interval" in description(root)


# Outcomes


def segments(root: ET.Element) -> dict[str, float]:
    return {rect.attrib["class"].split()[1]: number(rect, "width") for rect in with_class(root, "segment", "rect")}


def test_outcome_segments_are_proportional_to_counts_and_fill_the_bar() -> None:
    wide = segments(parse(outcomes(12, 3, 15, labels=("b wins", "ties", "a wins"))))
    total = sum(wide.values())
    assert total == pytest.approx(608, abs=0.2)
    for kind, count in (("wins", 12), ("ties", 3), ("losses", 15)):
        assert wide[kind] / total == pytest.approx(count / 30, abs=0.001)


def test_outcome_segments_sit_side_by_side_in_order() -> None:
    root = parse(outcomes(5, 5, 5, labels=("w", "t", "l")))
    rects = with_class(root, "segment", "rect")
    assert [rect.attrib["class"] for rect in rects] == ["segment wins", "segment ties", "segment losses"]
    for left, right in zip(rects, rects[1:]):
        assert number(left, "x") + number(left, "width") == pytest.approx(number(right, "x"), abs=0.2)


def test_outcome_counts_and_percentages_are_written_and_described() -> None:
    root = parse(outcomes(12, 3, 15, labels=("b wins", "ties", "a wins")))
    written = [text.text for text in root.iter(SVG + "text")]
    assert "12 · 40%" in written and "15 · 50%" in written
    assert description(root).endswith("b wins: 12 (40%), ties: 3 (10%), a wins: 15 (50%); 30 in all.")


def test_narrow_segments_go_unwritten_on_the_bar_but_stay_in_the_desc() -> None:
    root = parse(outcomes(1000, 1, 0, labels=("b wins", "ties", "a wins")))
    above_bar = [text.text for text in root.iter(SVG + "text") if "·" in (text.text or "")]
    assert above_bar == ["1,000 · >99%"]
    assert "ties: 1 (<1%)" in description(root) and "a wins: 0 (0%)" in description(root)
    assert set(segments(root)) == {"wins", "ties"}


def test_huge_outcome_counts_are_drawn_and_counted() -> None:
    root = parse(outcomes(10**40, 10**40, 2 * 10**40, labels=("w", "t", "l")))
    widths = segments(root)
    assert widths["losses"] == pytest.approx(2 * widths["wins"], abs=0.2)
    assert f"{4 * 10**40:,} in all" in description(root)


def test_negative_outcome_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        outcomes(-1, 0, 3, labels=("w", "t", "l"))


# Trend


def trend_series(root: ET.Element) -> list[ET.Element]:
    return with_class(root, "series", "g")


def category_of(point: ET.Element) -> str:
    """The category in a trend point's tooltip, "series, category: value"."""
    return (point.findtext(SVG + "title") or "").split(", ")[1].split(":")[0]


def test_categories_are_shared_across_series_in_the_order_first_seen() -> None:
    a = Series("a", [TrendPoint("v2", 6.0), TrendPoint("v3", 6.5)])
    b = Series("b", [TrendPoint("v1", 5.0), TrendPoint("v3", 5.5), TrendPoint("v2", 5.2)])
    root = parse(trend([a, b], y_label="Mean"))
    label_xs = {text.text: number(text, "x") for text in with_class(root, "category", "text")}
    assert sorted(label_xs, key=label_xs.__getitem__) == ["v2", "v3", "v1"]
    first, second = trend_series(root)
    a_xs = [number(point, "cx") for point in with_class(first, "point")]
    b_xs = {category_of(point): number(point, "cx") for point in with_class(second, "point")}
    assert a_xs == [b_xs["v2"], b_xs["v3"]]
    assert b_xs == label_xs


def test_a_higher_value_is_drawn_higher() -> None:
    root = parse(trend([Series("a", [TrendPoint("d1", 3.0), TrendPoint("d2", 8.0)])], y_label="Mean"))
    low, high = with_class(root, "point", "circle")
    assert number(high, "cy") < number(low, "cy")


def test_a_missing_value_breaks_the_line_and_its_band() -> None:
    points = [TrendPoint(f"d{i}", 5.0 + i / 10, 4.0 + i / 10, 6.0 + i / 10) for i in range(6)]
    points[2] = TrendPoint("d2", None, 4.0, 6.0)
    root = parse(trend([Series("a", points)], y_label="Mean"))
    assert len(with_class(root, "line", "path")) == 2
    assert len(with_class(root, "band", "path")) == 2
    assert len(with_class(root, "point", "circle")) == 5
    assert "d2 no data" in description(root)


def test_the_band_encloses_its_line() -> None:
    points = [TrendPoint("d1", 6.0, 5.0, 7.0), TrendPoint("d2", 7.0, 6.5, 9.0), TrendPoint("d3", 2.0, 0.5, 3.0)]
    root = parse(trend([Series("a", points)], y_label="Mean"))
    (band,) = with_class(root, "band", "path")
    corners = [tuple(map(float, pair.split(","))) for pair in re.findall(r"[-\d.]+,[-\d.]+", band.attrib["d"])]
    for point in with_class(root, "point", "circle"):
        x, y = number(point, "cx"), number(point, "cy")
        ys = [corner_y for corner_x, corner_y in corners if corner_x == pytest.approx(x, abs=0.1)]
        assert len(ys) == 2 and min(ys) < y < max(ys)


def test_the_y_axis_fits_every_value_and_band() -> None:
    points = [TrendPoint("d1", 6.0, -1.5, 7.0), TrendPoint("d2", 7.0, 6.5, 12.5)]
    ticks = tick_values(parse(trend([Series("a", points)], y_label="Mean")))
    assert 4 <= len(ticks) <= 7
    assert ticks[0] <= -1.5 and ticks[-1] >= 12.5


def test_a_single_point_trend_draws_the_point_and_its_interval() -> None:
    root = parse(trend([Series("a", [TrendPoint("2026-11-29", 7.2, 6.84, 7.56)])], y_label="Mean"))
    assert len(with_class(root, "point", "circle")) == 1
    assert len(with_class(root, "interval", "line")) == 1
    assert not with_class(root, "line", "path")
    assert "a: 2026-11-29 7.20 (95% interval 6.84 to 7.56)." in description(root)


def test_the_legend_names_each_series_with_its_class() -> None:
    names = [f"model {i}" for i in range(8)]
    root = parse(trend([Series(name, [TrendPoint("v1", float(i))]) for i, name in enumerate(names)], y_label="M"))
    (legend,) = with_class(root, "legend", "g")
    assert [text.text for text in legend.iter(SVG + "text")] == names
    assert [swatch.attrib["class"] for swatch in with_class(legend, "swatch")] == [
        f"swatch series-{i % 6}" for i in range(8)
    ]
    assert [group.attrib["class"] for group in trend_series(root)] == [f"series series-{i % 6}" for i in range(8)]


def test_a_long_legend_wraps_within_the_width_and_the_chart_grows() -> None:
    def chart(count: int) -> ET.Element:
        lines = [Series(f"a rather long model name {i}", [TrendPoint("v1", float(i))]) for i in range(count)]
        return parse(trend(lines, y_label="Mean"))

    root = chart(8)
    (legend,) = with_class(root, "legend", "g")
    texts = list(legend.iter(SVG + "text"))
    assert len({text.attrib["y"] for text in texts}) > 1
    for text in texts:
        assert number(text, "x") + 6.8 * len(text.text or "") <= 640
    assert float(root.attrib["viewBox"].split()[3]) > float(chart(1).attrib["viewBox"].split()[3])


def test_an_equal_value_everywhere_still_gets_a_y_axis_with_height() -> None:
    root = parse(trend([Series("a", [TrendPoint("d1", 5.0), TrendPoint("d2", 5.0)])], y_label="Mean"))
    ticks = tick_values(root)
    assert len(ticks) >= 4 and ticks[0] < 5.0 < ticks[-1]


# Text: escaping, truncation, non-finite numbers


def hostile_charts() -> list[Markup]:
    return [
        forest([Interval(HOSTILE, 1.0, 0.0, 2.0, note=HOSTILE)], axis_label=HOSTILE, reference=1.0),
        distributions([Distribution(HOSTILE, [1] * 11, 5.0, (4.0, 6.0), 5.0)], title=HOSTILE),
        difference(1.0, 0.5, 1.5, label=HOSTILE),
        outcomes(1, 2, 3, labels=(HOSTILE, HOSTILE, HOSTILE)),
        trend([Series(HOSTILE, [TrendPoint(HOSTILE, 1.0, 0.5, 1.5)])], y_label=HOSTILE),
    ]


@pytest.mark.parametrize("chart", hostile_charts())
def test_hostile_labels_are_escaped_and_kept_readable(chart: Markup) -> None:
    root = parse(chart)  # A control character or stray markup would make this fail.
    assert "<script" not in str(chart) and "<!--" not in str(chart)
    assert not root.findall(f".//{SVG}script")
    readable = HOSTILE.replace("\x01", "\ufffd")
    assert readable in description(root) or readable in (root.findtext(SVG + "title") or "")


def test_a_long_label_is_shortened_with_an_ellipsis_and_kept_whole_in_its_row_title() -> None:
    label = "an extremely long model name that would run over the plot, " * 3
    root = parse(forest([Interval(label, 5.0, 4.0, 6.0)], axis_label="x"))
    (row,) = forest_rows(root)
    (drawn,) = with_class(row, "label", "text")
    assert drawn.text is not None and drawn.text.endswith("…") and len(drawn.text) <= 24
    assert label in (row.findtext(SVG + "title") or "")
    assert label in description(root)


CHARTS_OF_NUMBERS: list[Callable[[float, float, float], Markup]] = [
    lambda a, b, c: forest([Interval("x", a, b, c), Interval("y", c, a, b)], axis_label="x", reference=b),
    lambda a, b, c: distributions([Distribution("x", [1] * 11, a, (b, c), c)]),
    lambda a, b, c: difference(a, b, c, label="x"),
    lambda a, b, c: trend([Series("x", [TrendPoint("1", a, b, c), TrendPoint("2", c, a, b)])], y_label="y"),
]
ODD_NUMBERS = [math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0, -0.0, 7.0, 1e-300]


@pytest.mark.parametrize("draw", CHARTS_OF_NUMBERS)
def test_non_finite_or_absurd_numbers_never_print_nan_or_inf(draw: Callable[[float, float, float], Markup]) -> None:
    for a in ODD_NUMBERS:
        for b in ODD_NUMBERS:
            chart = str(draw(a, b, ODD_NUMBERS[(ODD_NUMBERS.index(a) + 3) % len(ODD_NUMBERS)]))
            parse(chart)
            assert not re.search(r"nan|inf\b|infinity|e\+300", chart, re.IGNORECASE), chart


@pytest.mark.parametrize("seed", range(25))
def test_random_data_gives_well_formed_charts_inside_their_view_box(seed: int) -> None:
    rng = random.Random(seed)

    def value() -> float | None:
        return rng.choice([None, math.nan, rng.uniform(-50, 50), rng.uniform(0, 10), 3.0])

    charts = [
        forest([Interval(str(i), value(), value(), value()) for i in range(rng.randint(1, 9))], axis_label="x"),
        distributions([Distribution("x", [rng.randint(0, 9) for _ in range(11)], value(), None, value())]),
        difference(value(), value(), value(), label="x"),
        outcomes(rng.randint(0, 9), rng.randint(0, 9), rng.randint(0, 9), labels=("w", "t", "l")),
        trend(
            [
                Series(str(s), [TrendPoint(str(rng.randint(0, 12)), value(), value(), value()) for _ in range(9)])
                for s in range(rng.randint(1, 4))
            ],
            y_label="y",
        ),
    ]
    for chart in charts:
        root = parse(chart)
        _, _, width, height = map(float, root.attrib["viewBox"].split())
        for element in root.iter():
            for attribute in ("x", "x1", "x2", "cx"):
                if attribute in element.attrib:
                    assert -1 <= number(element, attribute) <= width + 1
            for attribute in ("y", "y1", "y2", "cy"):
                if attribute in element.attrib:
                    assert -1 <= number(element, attribute) <= height + 1
        assert not re.search(r"nan|inf\b", str(chart), re.IGNORECASE)
