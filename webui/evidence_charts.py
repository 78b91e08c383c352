"""Geometry of the evidence page's charts: belts, the cut-off's distribution, calibration.

Drawn on the server as inline SVG (template ``_svg_chart.html``), like the forest chart:
no JavaScript, prints like text. Every chart is a list of primitives (lines, polylines,
rectangles, dots, texts) placed here; the template only writes them out. Greyscale-safe:
series differ by line style and marker shape, never by colour alone. This module computes
no statistic: every value comes from the shipped evidence file (:mod:`calculator.evidence`).

.. math:: x(v) = x_0 + (x_1 - x_0)\\,\\frac{v - v_{lo}}{v_{hi} - v_{lo}}

on a log-HR axis labelled in hazard ratios.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from webui.chart import tick_values

WIDTH: Final = 460
HEIGHT: Final = 300
LEFT: Final = 58
RIGHT: Final = 16
TOP: Final = 14
BOTTOM: Final = 52
INK: Final = "#111"
GREY: Final = "#6b7280"
LIGHT: Final = "#d7dce2"
BAND: Final = "#e5e7eb"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = INK
    width: float = 1.0
    dash: str = ""


@dataclass(frozen=True)
class Polyline:
    points: str
    stroke: str = INK
    width: float = 1.5
    dash: str = ""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str = BAND
    stroke: str = "none"


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    shape: str = "circle"   # circle (filled), ring (hollow), square (hollow)
    size: float = 2.5
    ink: str = INK


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    size: int = 12
    ink: str = INK
    bold: bool = False
    rotate: bool = False


@dataclass
class Chart:
    """An SVG chart: size, title, a one-sentence description and its primitives."""

    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    shapes: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Axis:
    """A linear map from data values to pixels."""

    low: float
    high: float
    start: float
    stop: float

    def __call__(self, value: float) -> float:
        clamped = min(max(value, self.low), self.high)
        return self.start + (self.stop - self.start) * (clamped - self.low) / (self.high - self.low)


def hr_ticks(low_log: float, high_log: float) -> list[tuple[float, str]]:
    """1-2-5 hazard-ratio ticks (as log-HR positions, labels) within a log-HR range.

    >>> [label for _, label in hr_ticks(-1.0, 1.0)]
    ['0.5', '1', '2']
    """
    ticks = tick_values(math.exp(low_log), math.exp(high_log))
    return [(math.log(t), f"{t:g}") for t in ticks
            if low_log - 1e-9 <= math.log(t) <= high_log + 1e-9]


def _frame(chart: Chart, x: Axis, y: Axis, x_ticks: Sequence[tuple[float, str]],
           y_ticks: Sequence[tuple[float, str]], x_label: str, y_label: str) -> None:
    for value, label in x_ticks:
        px = x(value)
        chart.shapes += [Line(px, TOP, px, y.start, LIGHT),
                         Text(px, y.start + 16, label, size=11)]
    for value, label in y_ticks:
        py = y(value)
        chart.shapes += [Line(x.start, py, x.stop, py, LIGHT),
                         Text(x.start - 6, py + 4, label, anchor="end", size=11)]
    chart.shapes += [Line(x.start, y.start, x.stop, y.start), Line(x.start, TOP, x.start, y.start),
                     Text((x.start + x.stop) / 2, chart.height - 8, x_label),
                     Text(14, (TOP + y.start) / 2, y_label, rotate=True)]


def _polyline(xs: Sequence[float], ys: Sequence[float | None], x: Axis, y: Axis, **style: Any
              ) -> list[Polyline]:
    """Polylines through the points, broken where a value is missing."""
    out: list[Polyline] = []
    run: list[str] = []
    for a, b in zip(xs, ys):
        if b is None:
            if len(run) > 1:
                out.append(Polyline(" ".join(run), **style))
            run = []
            continue
        run.append(f"{x(a):.1f},{y(b):.1f}")
    if len(run) > 1:
        out.append(Polyline(" ".join(run), **style))
    return out


def belt_chart(curves: Mapping[str, Any], result: Mapping[str, Any], factor_label: str,
               belt_title: str) -> Chart:
    """One belt: smoothed 2.5/50/97.5% curves of the estimate against the true log-HR,
    raw medians as dots, the published estimate as a horizontal line and the interval
    read off it as a shaded band, with the re-estimate marked."""
    theta = curves["smooth_theta"]
    smooth = curves["smooth"]
    observed = result["observed_log_hr"]
    values = [v for row in smooth for v in row if v is not None] + [observed]
    x_lo, x_hi = result["grid_range_log_hr"]
    y_lo, y_hi = min(values) - 0.1, max(values) + 0.1
    x = Axis(x_lo, x_hi, LEFT, WIDTH - RIGHT)
    y = Axis(y_lo, y_hi, HEIGHT - BOTTOM, TOP)
    chart = Chart(f"{factor_label}: belt {belt_title}", "")
    interval = result["interval"]
    low, high = interval["log_hr"]
    if low is not None and high is not None:
        chart.shapes.append(Rect(x(low), TOP, x(high) - x(low), y.start - TOP))
    _frame(chart, x, y, hr_ticks(x_lo, x_hi), hr_ticks(y_lo, y_hi),
           "True hazard ratio (log scale)", "Estimated hazard ratio")
    defined = result["belt_range_log_hr"]
    if defined[0] is not None and defined[0] > x_lo + 1e-9:
        chart.shapes.append(Text(x(x_lo) + 4, TOP + 12, "too few reports", anchor="start",
                                 size=10, ink=GREY))
    for j, style in ((0, {"dash": "5 3", "width": 1.3}), (1, {"width": 2.0}),
                     (2, {"dash": "5 3", "width": 1.3})):
        chart.shapes += _polyline(theta, [row[j] for row in smooth], x, y, **style)
    for t, row in zip(curves["theta"], curves["raw"]):
        if row[1] is not None:
            chart.shapes.append(Dot(x(t), y(row[1]), "ring", 1.8, GREY))
    chart.shapes.append(Line(x.start, y(observed), x.stop, y(observed), INK, 1.2, "2 2"))
    chart.shapes.append(Text(x.stop - 2, y(observed) - 5,
                             f"published {math.exp(observed):.2f}", anchor="end", size=11,
                             bold=True))
    estimate = result["estimate"]
    if estimate["log_hr"] is not None:
        chart.shapes.append(Dot(x(estimate["log_hr"]), y(observed), "square", 4.5, INK))
    for value, is_open, side in ((low, interval["open"][0], "lower"),
                                 (high, interval["open"][1], "upper")):
        if value is None:
            continue
        label = f"{math.exp(value):.2f}"
        if is_open:
            label = ("<" if side == "lower" else ">") + label + " (open)"
        px = x(value)
        # Beside its line, inside the plot: to the left of a lower limit unless that
        # would leave the plot, and to the right of an upper one likewise.
        left = (side == "lower" and px - x.start > 70) or (side == "upper" and x.stop - px < 70)
        chart.shapes.append(Line(px, TOP, px, y.start, INK, 1.0, "1 2"))
        chart.shapes.append(Text(px - 3 if left else px + 3, y.start - 6, label,
                                 anchor="end" if left else "start", size=10))
    chart.description = (
        f"Belt of the {factor_label} estimate {belt_title}: the 2.5%, 50% and 97.5% "
        f"quantiles of the simulated estimate against the true hazard ratio. The "
        f"published estimate {math.exp(observed):.2f} crosses the belt between "
        f"{_hr(low, interval['open'][0], '<')} and {_hr(high, interval['open'][1], '>')}; "
        f"the median crosses it at {_estimate_text(estimate)}.")
    return chart


def _hr(value: float | None, is_open: bool, mark: str) -> str:
    if value is None:
        return "nowhere"
    return (mark if is_open else "") + f"{math.exp(value):.2f}"


def _estimate_text(estimate: Mapping[str, Any]) -> str:
    if estimate["open"] == "below":
        return f"below {estimate['bound_hr']:.2f}"
    if estimate["open"] == "above":
        return f"above {estimate['bound_hr']:.2f}"
    return f"{estimate['hr']:.2f}"


def cutoff_chart(histogram: Mapping[str, Any], cutoff: Mapping[str, Any],
                 published: float) -> Chart:
    """The Youden cut-off's distribution: bars per PNI unit, the published cut-off as a
    solid line, the 95% range as dashed lines."""
    edges, counts = histogram["edges"], histogram["counts"]
    x = Axis(edges[0], edges[-1], LEFT, WIDTH - RIGHT)
    top = max(counts) * 1.1 if counts and max(counts) else 1.0
    y = Axis(0.0, top, HEIGHT - BOTTOM, TOP)
    chart = Chart("Where the Youden cut-off falls", "")
    step = 10 ** math.floor(math.log10(top / 2)) if top > 2 else 1
    y_ticks = [(v, f"{v:g}") for v in range(0, int(top) + 1, int(step) or 1)][:8]
    x_ticks = [(v, f"{v:g}") for v in range(int(edges[0]), int(edges[-1]) + 1, 5)]
    _frame(chart, x, y, x_ticks, y_ticks, "Cut-off chosen by ROC/Youden (PNI)",
           "Simulated studies")
    for left, right, n in zip(edges[:-1], edges[1:], counts):
        if n:
            chart.shapes.append(Rect(x(left) + 0.5, y(n), x(right) - x(left) - 1,
                                     y.start - y(n), "#9ca3af", INK))
    chart.shapes.append(Line(x(published), TOP, x(published), y.start, INK, 2.2))
    chart.shapes.append(Text(x(published) + 4, TOP + 12, f"published {published:g}",
                             anchor="start", bold=True))
    for key in ("q025", "q975"):
        chart.shapes.append(Line(x(cutoff[key]), TOP + 18, x(cutoff[key]), y.start, INK,
                                 1.2, "5 3"))
    chart.shapes.append(Text(x(cutoff["q025"]) - 3, TOP + 30, f"{cutoff['q025']:.1f}",
                             anchor="end", size=11))
    chart.shapes.append(Text(x(cutoff["q975"]) + 3, TOP + 30, f"{cutoff['q975']:.1f}",
                             anchor="start", size=11))
    chart.description = (
        f"Histogram of the cut-off chosen in {sum(counts):,} simulated studies under the "
        f"published model; 95% of them fall between {cutoff['q025']:.1f} and "
        f"{cutoff['q975']:.1f} (dashed lines); the published cut-off {published:g} is the "
        "solid line.")
    return chart


def calibration_chart(factor_label: str, series: Sequence[tuple[str, Mapping[str, Any]]],
                      grid_range: Sequence[float], nominal: float = 0.95) -> Chart:
    """Coverage of the re-estimated 95% intervals on held-out studies, per true HR, with
    ± 1.96 Monte Carlo SE bars; one marker shape per belt."""
    x_lo, x_hi = grid_range
    x = Axis(x_lo, x_hi, LEFT, WIDTH - RIGHT)
    y = Axis(0.80, 1.0, HEIGHT - BOTTOM, TOP)
    chart = Chart(f"{factor_label}: calibration on held-out studies", "")
    _frame(chart, x, y, hr_ticks(x_lo, x_hi),
           [(v / 100, f"{v}%") for v in range(80, 101, 5)],
           "True hazard ratio (log scale)", "Coverage of the 95% interval")
    chart.shapes.append(Line(x.start, y(nominal), x.stop, y(nominal), INK, 1.5, "6 3"))
    shapes = ("circle", "square")
    offsets = (-1.5, 1.5)
    parts = []
    for k, (title, curves) in enumerate(series):
        for t, cov, mcse in zip(curves["theta"], curves["coverage"], curves["coverage_mcse"]):
            if cov is None:
                continue
            px = x(t) + offsets[k]
            if mcse:
                chart.shapes.append(Line(px, y(cov - 1.96 * mcse), px, y(cov + 1.96 * mcse),
                                         GREY, 0.8))
            chart.shapes.append(Dot(px, y(cov), shapes[k], 2.2, INK))
        parts.append(title)
    chart.description = (f"Coverage of the true hazard ratio by the 95% intervals of held-out "
                         f"simulated studies, for the belts {' and '.join(parts)}, with the "
                         f"nominal {nominal:.0%} as a dashed line.")
    return chart
