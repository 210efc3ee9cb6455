"""The charts of the web pages, drawn on the server as inline SVG.

Pure functions: plain numbers in, an SVG string out, as `markupsafe.Markup` so that a Jinja2 template
inserts it unescaped. Standard library only; no script, no fonts, no external resources. Every chart has
`role="img"` and an `aria-labelledby` naming its <title> and a <desc> that states the numbers in words.
A missing figure (None, NaN, ±inf, or beyond ±1e12) is drawn as missing, never printed.

The charts carry no colours and no `style` attributes (a Content-Security-Policy without
'unsafe-inline' styles then still allows them): shapes paint with `currentColor`, so by default
everything takes the text colour (told apart by opacity), and the page's stylesheet decides the rest,
light and dark mode alike, through these classes:

- `chart` on every <svg>, with `chart-forest`, `chart-distributions`, `chart-difference`,
  `chart-outcomes` or `chart-trend`;
- `axis` (axis lines and tick marks), `tick` (tick labels; also `category` on a trend's x labels),
  `axis-label` (an axis's name), `grid` (the faint lines at the ticks);
- `label` (text naming a row, side or series), `note` (the text at the right of a forest row, e.g.
  "rank 1–2"), `count` (a distribution's "n = 40"), `value` (a difference written out);
- `point` (the marker at an estimate), `interval` (the line across a 95% interval), `band` (a trend's
  shaded 95% band), `line` (a trend line), `bar` (a histogram bar), `median` (the median tick);
- `series-0` … `series-5` (one per side or series, cycling): set `color`, the shapes follow it;
- `reference` (a dashed reference line), `zero` (the zero line of a difference);
- `clear` / `unclear` (a difference whose interval excludes / includes zero);
- `wins`, `ties`, `losses` (the outcome bar's segments and swatches): set `color`;
- `legend`, `swatch` (a legend and its marks), `no-data` (the "No data" text).

For example: `.chart .series-1, .chart .losses { color: var(--accent-2); } .chart .grid { opacity: .3 }`.
The default opacities are presentation attributes, which any CSS rule (e.g. `fill-opacity`) overrides.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = [
    "SERIES_CLASSES",
    "Distribution",
    "Interval",
    "Series",
    "TrendPoint",
    "difference",
    "distributions",
    "forest",
    "outcomes",
    "trend",
]

SERIES_CLASSES = 6
HISTOGRAM_BINS = 11

_WIDTH = 640
_FONT_SIZE = 12
# The server has no fonts to measure text with, so widths are estimated from an average glyph.
_CHAR_WIDTH = 6.8
# Beyond this a figure cannot be a score, rating or difference, and arithmetic on it could overflow.
_MAX_MAGNITUDE = 1e12
# An axis narrower than this is widened around its middle, so equal values still get a readable axis.
_MIN_SPAN = 1e-6
# Characters XML 1.0 forbids (control characters, lone surrogates): a parser would reject the whole page.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

# Horizontal layout shared by the row charts: labels right-aligned up to _LABEL_RIGHT, then the plot.
_LABEL_RIGHT = 168
_LABEL_CHARS = 24
_PLOT_LEFT = 184
_PLOT_RIGHT = _WIDTH - 20
_AXIS_SPACE = 44


@dataclass(frozen=True)
class Interval:
    """One row of a forest plot: an estimate, its 95% interval and a note shown at the right."""

    label: str
    estimate: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Distribution:
    """One side's scores: 11 histogram counts ([0,1), [1,2), … [9,10), exactly 10), mean, interval, median."""

    label: str
    histogram: Sequence[int]
    mean: float | None = None
    ci95: tuple[float, float] | None = None
    median: float | None = None

    def __post_init__(self) -> None:
        if len(self.histogram) != HISTOGRAM_BINS:
            raise ValueError(f"A histogram has {HISTOGRAM_BINS} counts, not {len(self.histogram)}.")
        if any(count < 0 for count in self.histogram):
            raise ValueError("Histogram counts cannot be negative.")
        # A tuple keeps the frozen dataclass hashable and safe from later changes to the caller's list.
        object.__setattr__(self, "histogram", tuple(int(count) for count in self.histogram))


@dataclass(frozen=True)
class TrendPoint:
    """One point of a trend: its category on the x axis, a value and its 95% interval."""

    x_label: str
    y: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Series:
    """One line of a trend chart; a repeated x label keeps its last point."""

    label: str
    points: Sequence[TrendPoint]


def forest(
    rows: Sequence[Interval],
    *,
    axis_label: str,
    reference: float | None = None,
    title: str | None = None,
    chart_id: str | None = None,
) -> Markup:
    """A horizontal interval plot: per row a point at the estimate and a line across its interval."""
    heading = title if title is not None else f"{axis_label} with 95% intervals"
    if not rows:
        return _no_data("forest", heading, chart_id)
    cleaned = [_clean_interval(row) for row in rows]
    # A row without an estimate is listed as "no data", so its interval alone must not shape the axis.
    values = [
        value
        for row in cleaned
        if row.estimate is not None
        for value in (row.estimate, row.low, row.high)
        if value is not None
    ]
    reference_value = _number(reference) if values else None
    if reference_value is not None:
        values.append(reference_value)
    has_notes = any(row.note for row in cleaned)
    plot_right = _WIDTH - 110 if has_notes else _PLOT_RIGHT
    row_height = 26
    top = 8
    rows_bottom = top + row_height * len(cleaned)
    height = rows_bottom + (_AXIS_SPACE if values else 8)

    parts: list[str] = []
    axis = _nice_axis(min(values), max(values), _PLOT_LEFT, plot_right) if values else None
    if axis is not None:
        parts.append(_horizontal_axis(axis, top, rows_bottom, axis_label))
        if reference_value is not None:
            x = _c(axis.at(reference_value))
            parts.append(
                f'<line class="reference" x1="{x}" y1="{top}" x2="{x}" y2="{rows_bottom}" '
                'stroke="currentColor" stroke-dasharray="4 3"/>'
            )
    descriptions: list[str] = []
    for index, row in enumerate(cleaned):
        middle = top + row_height * index + row_height / 2
        description = _describe_interval(row, axis_label)
        descriptions.append(description)
        parts.append(f'<g class="row"><title>{_escape(description)}</title>')
        parts.append(_text(_LABEL_RIGHT, middle + 4, _shorten(row.label, _LABEL_CHARS), "label", anchor="end"))
        if axis is None or row.estimate is None:
            parts.append(_text(_PLOT_LEFT, middle + 4, "no data", "no-data", extra=' fill-opacity="0.7"'))
        else:
            if row.low is not None and row.high is not None:
                parts.append(
                    f'<line class="interval" x1="{_c(axis.at(row.low))}" y1="{_c(middle)}" '
                    f'x2="{_c(axis.at(row.high))}" y2="{_c(middle)}" stroke="currentColor" stroke-width="2"/>'
                )
            parts.append(f'<circle class="point" cx="{_c(axis.at(row.estimate))}" cy="{_c(middle)}" r="4.5"/>')
        if row.note:
            parts.append(_text(plot_right + 14, middle + 4, _shorten(row.note, 14), "note"))
        parts.append("</g>")
    summary = f"{heading}. " + "; ".join(descriptions) + "."
    if reference_value is not None:
        summary += f" Dashed reference line at {_format(reference_value)}."
    return _svg("forest", height, heading, summary, "".join(parts), chart_id)


def distributions(sides: Sequence[Distribution], *, title: str | None = None, chart_id: str | None = None) -> Markup:
    """Score distributions on a shared 0–10 axis: histogram bars, the mean with its interval, the median."""
    heading = title if title is not None else "Score distributions"
    if not sides:
        return _no_data("distributions", heading, chart_id)
    # The eleventh bin holds scores of exactly 10: it is drawn as a narrow bar just right of 10.
    axis = _Axis(0.0, 10.5, (0.0, 2.0, 4.0, 6.0, 8.0, 10.0), 0, _PLOT_LEFT, _PLOT_RIGHT)
    side_height = 64
    bar_height = 32
    top = 8
    sides_bottom = top + side_height * len(sides)
    height = sides_bottom + _AXIS_SPACE
    parts = [_horizontal_axis(axis, top, sides_bottom, "Score")]
    descriptions: list[str] = []
    for index, side in enumerate(sides):
        y = top + side_height * index
        baseline = y + 6 + bar_height
        marker_y = baseline + 12
        mean = _number(side.mean)
        median = _number(side.median)
        low, high = _pair(side.ci95)
        scored = sum(side.histogram)
        description = _describe_distribution(side.label, side.histogram, mean, low, high, median)
        descriptions.append(description)
        parts.append(f'<g class="side series-{index % SERIES_CLASSES}"><title>{_escape(description)}</title>')
        parts.append(_text(_LABEL_RIGHT, y + 22, _shorten(side.label, _LABEL_CHARS), "label", anchor="end"))
        parts.append(_text(_LABEL_RIGHT, y + 38, f"n = {scored:,}", "count", anchor="end", extra=' font-size="11"'))
        if scored == 0 and mean is None:
            parts.append(_text(_PLOT_LEFT, y + 26, "no data", "no-data", extra=' fill-opacity="0.7"'))
            parts.append("</g>")
            continue
        tallest = max(side.histogram)
        for score, count in enumerate(side.histogram):
            if count == 0:
                continue
            left = axis.at(score) + 0.5
            right = axis.at(min(score + 1, 10.5)) - 0.5
            # Python divides big integers exactly, so even astronomically large counts give finite heights.
            bar = bar_height * (count / tallest)
            parts.append(
                f'<rect class="bar" x="{_c(left)}" y="{_c(baseline - bar)}" width="{_c(right - left)}" '
                f'height="{_c(bar)}" fill="currentColor" fill-opacity="0.35"/>'
            )
        parts.append(
            f'<line class="grid" x1="{_PLOT_LEFT}" y1="{baseline}" x2="{_PLOT_RIGHT}" y2="{baseline}" '
            'stroke="currentColor" stroke-opacity="0.3"/>'
        )
        if mean is not None and low is not None and high is not None:
            parts.append(
                f'<line class="interval" x1="{_c(axis.clamped(low))}" y1="{marker_y}" '
                f'x2="{_c(axis.clamped(high))}" y2="{marker_y}" stroke="currentColor" stroke-width="5"/>'
            )
        if median is not None:
            x = _c(axis.clamped(median))
            parts.append(
                f'<line class="median" x1="{x}" y1="{marker_y - 8}" x2="{x}" y2="{marker_y + 8}" '
                'stroke="currentColor" stroke-width="2"/>'
            )
        if mean is not None:
            parts.append(f'<circle class="point" cx="{_c(axis.clamped(mean))}" cy="{marker_y}" r="5"/>')
        parts.append("</g>")
    summary = f"{heading}, on a 0 to 10 scale. " + " ".join(descriptions)
    return _svg("distributions", height, heading, summary, "".join(parts), chart_id)


def difference(
    mean: float | None,
    low: float | None,
    high: float | None,
    *,
    label: str,
    title: str | None = None,
    chart_id: str | None = None,
) -> Markup:
    """One difference (b − a) with its interval, against zero on a symmetric axis."""
    heading = title if title is not None else label
    estimate = _number(mean)
    if estimate is None:
        return _no_data("difference", heading, chart_id)
    interval_low, interval_high = _ordered(_number(low), _number(high))
    has_interval = interval_low is not None and interval_high is not None
    clear = interval_low is not None and interval_high is not None and (interval_low > 0 or interval_high < 0)
    extent = max(abs(value) for value in (estimate, interval_low, interval_high) if value is not None)
    # A tenth of margin keeps the ends of the interval off the edge of the plot.
    axis = _nice_axis(-extent * 1.1, extent * 1.1, 20, _WIDTH - 20)
    marker_y = 42
    axis_y = 62
    state = "clear" if clear else "unclear"
    if has_interval:
        written = f"{_signed(estimate)} (95% interval {_format(interval_low)} to {_format(interval_high)})"
        verdict = "excludes zero: a clear difference" if clear else "includes zero: no clear difference"
        description = (
            f"{label}: difference {_format(estimate)}, 95% interval {_format(interval_low)} "
            f"to {_format(interval_high)}; the interval {verdict}."
        )
    else:
        written = f"{_signed(estimate)} (no interval)"
        description = f"{label}: difference {_format(estimate)}, no 95% interval."
    parts = [
        _horizontal_axis(axis, 26, axis_y, ""),
        _text(20, 16, _shorten(label, 44), "label"),
        _text(_WIDTH - 20, 16, written, "value", anchor="end"),
    ]
    zero = _c(axis.at(0.0))
    parts.append(
        f'<line class="reference zero" x1="{zero}" y1="24" x2="{zero}" y2="{axis_y}" '
        'stroke="currentColor" stroke-width="1.5"/>'
    )
    parts.append(f'<g class="estimate {state}"' + ("" if clear else ' opacity="0.7"') + ">")
    if interval_low is not None and interval_high is not None:
        parts.append(
            f'<line class="interval" x1="{_c(axis.at(interval_low))}" y1="{marker_y}" '
            f'x2="{_c(axis.at(interval_high))}" y2="{marker_y}" stroke="currentColor" stroke-width="3"/>'
        )
    parts.append(f'<circle class="point" cx="{_c(axis.at(estimate))}" cy="{marker_y}" r="5"/></g>')
    return _svg("difference", axis_y + 26, heading, description, "".join(parts), chart_id)


def outcomes(
    wins: int,
    ties: int,
    losses: int,
    *,
    labels: tuple[str, str, str],
    title: str | None = None,
    chart_id: str | None = None,
) -> Markup:
    """One 100% stacked bar of wins, ties and losses, with counts and percentages."""
    heading = title if title is not None else " / ".join(labels)
    counts = (int(wins), int(ties), int(losses))
    if any(count < 0 for count in counts):
        raise ValueError("Outcome counts cannot be negative.")
    total = sum(counts)
    if total == 0:
        return _no_data("outcomes", heading, chart_id)
    bar_left, bar_width, bar_top, bar_height = 16, _WIDTH - 32, 26, 26
    kinds = ("wins", "ties", "losses")
    opacities = ("1", "0.55", "0.25")
    parts: list[str] = []
    legend: list[str] = []
    words: list[str] = []
    running = 0
    legend_x = float(bar_left)
    for kind, opacity, label, count in zip(kinds, opacities, labels, counts, strict=True):
        # Edges from running totals, so that the segments always add up to the whole bar exactly.
        left = bar_left + bar_width * (running / total)
        running += count
        right = bar_left + bar_width * (running / total)
        share = _percent(count, total)
        words.append(f"{label}: {count:,} ({share})")
        if count:
            parts.append(
                f'<rect class="segment {kind}" x="{_c(left)}" y="{bar_top}" width="{_c(right - left)}" '
                f'height="{bar_height}" fill="currentColor" fill-opacity="{opacity}">'
                f"<title>{_escape(words[-1])}</title></rect>"
            )
            written = f"{count:,} · {share}"
            if _text_width(written) + 6 <= right - left:
                parts.append(_text((left + right) / 2, bar_top - 6, written, "label", anchor="middle"))
        entry = f"{_shorten(label, 28)} {count:,} ({share})"
        legend.append(
            f'<rect class="swatch {kind}" x="{_c(legend_x)}" y="{bar_top + bar_height + 12}" width="10" '
            f'height="10" fill="currentColor" fill-opacity="{opacity}"/>'
            + _text(legend_x + 14, bar_top + bar_height + 21, entry, "label")
        )
        legend_x += 14 + _text_width(entry) + 18
    parts.append(f'<g class="legend">{"".join(legend)}</g>')
    description = f"{heading}: " + ", ".join(words) + f"; {total:,} in all."
    return _svg("outcomes", bar_top + bar_height + 32, heading, description, "".join(parts), chart_id)


def trend(series: Sequence[Series], *, y_label: str, title: str | None = None, chart_id: str | None = None) -> Markup:
    """Lines over shared categories (days, versions) with shaded 95% bands and a legend."""
    heading = title if title is not None else f"{y_label} with 95% intervals"
    categories: dict[str, int] = {}
    for line in series:
        for point in line.points:
            categories.setdefault(point.x_label, len(categories))
    cleaned = [{point.x_label: _clean_point(point) for point in line.points} for line in series]
    values = [
        value
        for by_category in cleaned
        for point in by_category.values()
        for value in (point.y, point.low, point.high)
        if value is not None
    ]
    if not values:
        return _no_data("trend", heading, chart_id)
    left, right, top, plot_height = 64, _WIDTH - 16, 10, 200
    bottom = top + plot_height
    axis = _nice_axis(min(values), max(values), bottom, top)
    step = (right - left) / len(categories)

    def x_of(category_index: int) -> float:
        return left + step * (category_index + 0.5)

    parts = [_vertical_axis(axis, left, right, y_label)]
    # Only every so many categories is labelled, so that long labels (dates) never overlap.
    labels_every = max(1, math.ceil((_text_width("x" * min(12, max(map(len, categories)))) + 8) / step))
    parts.append(f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="currentColor"/>')
    for category, index in categories.items():
        if index % labels_every == 0:
            parts.append(_text(x_of(index), bottom + 16, _shorten(category, 12), "tick category", anchor="middle"))
    order = sorted(categories, key=categories.__getitem__)
    descriptions: list[str] = []
    for number, (line, by_category) in enumerate(zip(series, cleaned, strict=True)):
        parts.append(f'<g class="series series-{number % SERIES_CLASSES}"><title>{_escape(line.label)}</title>')
        banded = [(categories[c], by_category[c]) for c in order if c in by_category]
        # The band breaks where the line does: an interval around a missing value would mislead.
        with_band = [(i, p) for i, p in banded if p.y is not None and p.low is not None and p.high is not None]
        for run in _runs(with_band):
            if len(run) == 1:
                index, point = run[0]
                parts.append(
                    f'<line class="interval" x1="{_c(x_of(index))}" y1="{_c(axis.at(_required(point.low)))}" '
                    f'x2="{_c(x_of(index))}" y2="{_c(axis.at(_required(point.high)))}" stroke="currentColor" '
                    'stroke-width="3" stroke-opacity="0.35"/>'
                )
                continue
            upper = [f"{_c(x_of(i))},{_c(axis.at(_required(p.high)))}" for i, p in run]
            lower = [f"{_c(x_of(i))},{_c(axis.at(_required(p.low)))}" for i, p in reversed(run)]
            parts.append(
                f'<path class="band" d="M{" L".join(upper + lower)} Z" fill="currentColor" fill-opacity="0.15"/>'
            )
        measured = [(i, p) for i, p in banded if p.y is not None]
        for run in _runs(measured):
            if len(run) > 1:
                path = " L".join(f"{_c(x_of(i))},{_c(axis.at(_required(p.y)))}" for i, p in run)
                parts.append(
                    f'<path class="line" d="M{path}" fill="none" stroke="currentColor" stroke-width="2" '
                    'stroke-linejoin="round"/>'
                )
        for index, point in measured:
            parts.append(
                f'<circle class="point" cx="{_c(x_of(index))}" cy="{_c(axis.at(_required(point.y)))}" r="3">'
                f"<title>{_escape(line.label)}, {_escape(order[index])}: {_escape(_describe_point(point))}</title>"
                "</circle>"
            )
        parts.append("</g>")
        points = ", ".join(
            f"{category} {_describe_point(by_category[category])}" for category in order if category in by_category
        )
        descriptions.append(f"{line.label}: {points or 'no data'}.")
    legend, legend_height = _legend([line.label for line in series], bottom + 30)
    parts.append(legend)
    summary = f"{heading}. " + " ".join(descriptions)
    return _svg("trend", bottom + 30 + legend_height, heading, summary, "".join(parts), chart_id)


@dataclass(frozen=True)
class _Axis:
    """A linear scale from data values to drawing coordinates, with its tick values."""

    low: float
    high: float
    ticks: tuple[float, ...]
    decimals: int
    start: float
    end: float

    def at(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def clamped(self, value: float) -> float:
        # Scores are 0–10 by contract; a stray one stays inside the frame, and the desc still tells it.
        return self.at(min(max(value, self.low), self.high))

    def tick_label(self, value: float) -> str:
        text = f"{value:.3g}" if abs(value) >= 1e6 else f"{value:.{self.decimals}f}"
        return text.removeprefix("-") if float(text) == 0 else text


def _nice_axis(low: float, high: float, start: float, end: float) -> _Axis:
    """An axis over at least [low, high] whose ends and 4–7 ticks fall on steps of 1, 2 or 5 × 10^k."""
    if high - low < _MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - 1, middle + 1
    span = high - low
    magnitude = math.floor(math.log10(span))
    best: tuple[tuple[int, float], float, int, int, int] | None = None
    for exponent in range(magnitude - 2, magnitude + 2):
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0**exponent
            # The tolerance stops a value that is a multiple of the step up to rounding from adding a tick.
            first = math.floor(low / step + 1e-9)
            last = math.ceil(high / step - 1e-9)
            count = last - first + 1
            outside = 0 if 4 <= count <= 7 else min(abs(count - 4), abs(count - 7))
            key = (outside, (last - first) * step - span)
            if best is None or key < best[0]:
                best = (key, step, first, last, max(0, -exponent))
    assert best is not None
    _, step, first, last, decimals = best
    ticks = tuple(index * step for index in range(first, last + 1))
    return _Axis(ticks[0], ticks[-1], ticks, decimals, start, end)


def _horizontal_axis(axis: _Axis, top: float, bottom: float, label: str) -> str:
    """Grid lines across the plot, the axis line below it, tick marks and labels, and the axis name."""
    parts = [
        f'<line class="axis" x1="{_c(axis.start)}" y1="{bottom}" x2="{_c(axis.end)}" y2="{bottom}" '
        'stroke="currentColor"/>'
    ]
    for tick in axis.ticks:
        x = _c(axis.at(tick))
        parts.append(
            f'<line class="grid" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="currentColor" '
            'stroke-opacity="0.15"/>'
            f'<line class="axis" x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}" stroke="currentColor"/>'
        )
        parts.append(_text(axis.at(tick), bottom + 16, axis.tick_label(tick), "tick", anchor="middle"))
    if label:
        middle = (axis.start + axis.end) / 2
        parts.append(_text(middle, bottom + 34, _shorten(label, 60), "axis-label", anchor="middle"))
    return "".join(parts)


def _vertical_axis(axis: _Axis, left: float, right: float, label: str) -> str:
    """Horizontal grid lines at the ticks, the y axis with its labels, and its name written upwards."""
    parts = [
        f'<line class="axis" x1="{left}" y1="{_c(axis.start)}" x2="{left}" y2="{_c(axis.end)}" stroke="currentColor"/>'
    ]
    for tick in axis.ticks:
        y = _c(axis.at(tick))
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="currentColor" '
            'stroke-opacity="0.15"/>'
        )
        parts.append(_text(left - 6, axis.at(tick) + 4, axis.tick_label(tick), "tick", anchor="end"))
    middle = _c((axis.start + axis.end) / 2)
    parts.append(
        f'<text class="axis-label" x="14" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle})">{_escape(_shorten(label, 30))}</text>'
    )
    return "".join(parts)


def _legend(labels: Sequence[str], top: float) -> tuple[str, float]:
    """Legend entries in rows that wrap at the chart's width; returns the markup and its height."""
    parts = ['<g class="legend">']
    x, y = 16.0, top
    for number, label in enumerate(labels):
        shown = _shorten(label, _LABEL_CHARS)
        width = 26 + _text_width(shown) + 18
        if x + width > _WIDTH - 16 and x > 16:
            x, y = 16.0, y + 18
        parts.append(
            f'<g class="swatch series-{number % SERIES_CLASSES}"><title>{_escape(label)}</title>'
            f'<line x1="{_c(x)}" y1="{_c(y)}" x2="{_c(x + 20)}" y2="{_c(y)}" stroke="currentColor" stroke-width="2"/>'
            f'<circle cx="{_c(x + 10)}" cy="{_c(y)}" r="3"/></g>' + _text(x + 26, y + 4, shown, "label")
        )
        x += width
    parts.append("</g>")
    return "".join(parts), y - top + 14


def _svg(kind: str, height: float, title: str, description: str, body: str, chart_id: str | None) -> Markup:
    """The <svg> element around a chart's body, with its accessible name and description."""
    if chart_id is None:
        # From the content, so the same chart always gets the same id; pass chart_id to draw one twice on a page.
        digest = hashlib.sha256("\0".join((kind, title, description, body)).encode("utf-8", "replace"))
        chart_id = f"chart-{kind}-{digest.hexdigest()[:12]}"
    elif not _CHART_ID.fullmatch(chart_id):
        raise ValueError("A chart id starts with a letter and has only letters, digits, '-' and '_'.")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {_WIDTH} {_c(height)}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" font-family="inherit" font-size="{_FONT_SIZE}" fill="currentColor">'
        f'<title id="{chart_id}-title">{_escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{_escape(description)}</desc>{body}</svg>'
    )


def _no_data(kind: str, title: str, chart_id: str | None) -> Markup:
    body = _text(_WIDTH / 2, 24, "No data", "no-data", anchor="middle", extra=' fill-opacity="0.7"')
    return _svg(kind, 40, title, f"{title}: no data.", body, chart_id)


def _text(x: float, y: float, content: str, css: str, *, anchor: str = "start", extra: str = "") -> str:
    return f'<text class="{css}" x="{_c(x)}" y="{_c(y)}" text-anchor="{anchor}"{extra}>{_escape(content)}</text>'


def _escape(text: str) -> str:
    return str(escape(_NOT_XML.sub("\ufffd", str(text))))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text_width(text: str) -> float:
    return len(text) * _CHAR_WIDTH


def _c(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    if not math.isfinite(value):
        raise ValueError("A chart coordinate came out non-finite.")
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _number(value: float | None) -> float | None:
    """The value as a float, or None when it is missing or cannot be drawn (NaN, infinite, absurdly large)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) <= _MAX_MAGNITUDE else None


def _ordered(low: float | None, high: float | None) -> tuple[float | None, float | None]:
    """Both ends of an interval, lowest first, or neither: half an interval cannot be drawn."""
    if low is None or high is None:
        return None, None
    return (low, high) if low <= high else (high, low)


def _pair(interval: Sequence[float] | None) -> tuple[float | None, float | None]:
    if interval is None or len(interval) != 2:
        return None, None
    return _ordered(_number(interval[0]), _number(interval[1]))


def _required(value: float | None) -> float:
    # Callers have filtered out missing values; this only narrows the type.
    assert value is not None
    return value


def _clean_interval(row: Interval) -> Interval:
    low, high = _ordered(_number(row.low), _number(row.high))
    return Interval(str(row.label), _number(row.estimate), low, high, str(row.note))


def _clean_point(point: TrendPoint) -> TrendPoint:
    low, high = _ordered(_number(point.low), _number(point.high))
    return TrendPoint(str(point.x_label), _number(point.y), low, high)


def _runs(points: list[tuple[int, TrendPoint]]) -> list[list[tuple[int, TrendPoint]]]:
    """Points split where a category is skipped, so that a gap in the data is a gap in the drawing."""
    runs: list[list[tuple[int, TrendPoint]]] = []
    for index, point in points:
        if runs and runs[-1][-1][0] == index - 1:
            runs[-1].append((index, point))
        else:
            runs.append([(index, point)])
    return runs


def _format(value: float | None) -> str:
    """A figure to two decimals (three significant digits when huge); "none" when missing."""
    if value is None:
        return "none"
    text = f"{value:.2f}" if abs(value) < 1e6 else f"{value:.3g}"
    return "0.00" if text == "-0.00" else text


def _signed(value: float) -> str:
    text = _format(value)
    return text if text.startswith("-") or text == "0.00" else f"+{text}"


def _percent(count: int, total: int) -> str:
    rounded = round(100 * count / total)
    # Rounding must not claim "0%" of something that happened, or "100%" when something else did too.
    if rounded == 0 and count > 0:
        return "<1%"
    if rounded == 100 and count < total:
        return ">99%"
    return f"{rounded}%"


def _describe_interval(row: Interval, axis_label: str) -> str:
    if row.estimate is None:
        text = f"{row.label}: no data"
    elif row.low is None or row.high is None:
        text = f"{row.label}: {axis_label} {_format(row.estimate)}, no 95% interval"
    else:
        text = (
            f"{row.label}: {axis_label} {_format(row.estimate)}, 95% interval {_format(row.low)} to {_format(row.high)}"
        )
    return f"{text}, {row.note}" if row.note else text


def _describe_distribution(
    label: str,
    histogram: Sequence[int],
    mean: float | None,
    low: float | None,
    high: float | None,
    median: float | None,
) -> str:
    scored = sum(histogram)
    parts = [f"{label}: {scored:,} score" + ("" if scored == 1 else "s")]
    if mean is not None:
        interval = f", 95% interval {_format(low)} to {_format(high)}" if low is not None else ", no 95% interval"
        parts.append(f"mean {_format(mean)}{interval}")
    if median is not None:
        parts.append(f"median {_format(median)}")
    bins = [
        f"{'exactly 10' if score == 10 else f'{score} to under {score + 1}'}: {count:,}"
        for score, count in enumerate(histogram)
        if count
    ]
    if bins:
        parts.append("scores " + ", ".join(bins))
    return "; ".join(parts) + "."


def _describe_point(point: TrendPoint) -> str:
    if point.y is None:
        return "no data"
    if point.low is None or point.high is None:
        return _format(point.y)
    return f"{_format(point.y)} (95% interval {_format(point.low)} to {_format(point.high)})"
