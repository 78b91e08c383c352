"""Geometry of the forest chart on the result page: hazard ratios on a log axis.

The chart is drawn on the server as inline SVG (template ``_forest.html``), so it needs
no JavaScript and prints like text. This module only places things: it maps hazard
ratios to x positions and picks the axis ticks; it computes no statistic.

.. math:: x(h) = x_0 + (x_1 - x_0)\\,\\frac{\\ln h - \\ln h_{lo}}{\\ln h_{hi} - \\ln h_{lo}}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: Tick mantissas of a log axis (1-2-5 series).
MANTISSAS: Final = (1, 2, 5)

WIDTH: Final = 440
LABEL_WIDTH: Final = 96
VALUE_WIDTH: Final = 134
ROW_HEIGHT: Final = 26
TOP: Final = 10
AXIS_HEIGHT: Final = 40


@dataclass(frozen=True)
class Interval:
    """One row to draw: a hazard ratio with its 95% CI."""

    label: str
    value: float
    low: float
    high: float
    #: "present" (adverse factor present: filled square), "absent" (hollow grey square,
    #: not applied), "combined" (diamond spanning the CI) or "reference" (the patient has
    #: no factor: a ring at 1, no interval)
    kind: str


@dataclass(frozen=True)
class PlacedRow:
    interval: Interval
    y: float
    x: float
    x_low: float
    x_high: float

    @property
    def diamond(self) -> str:
        """SVG ``points`` of a diamond spanning the CI, centred on the estimate."""
        h = ROW_HEIGHT * 0.32
        return (f"{self.x_low:.1f},{self.y:.1f} {self.x:.1f},{self.y - h:.1f} "
                f"{self.x_high:.1f},{self.y:.1f} {self.x:.1f},{self.y + h:.1f}")


@dataclass(frozen=True)
class Tick:
    value: float
    x: float

    @property
    def label(self) -> str:
        return f"{self.value:g}"


@dataclass(frozen=True)
class ForestChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    axis_y: float
    rows: tuple[PlacedRow, ...]
    ticks: tuple[Tick, ...]
    reference_x: float


def tick_values(low: float, high: float) -> tuple[float, ...]:
    """The 1-2-5 ticks from the largest one at or below ``low`` to the smallest at or above
    ``high``.

    >>> tick_values(0.7, 12)
    (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
    """
    if not 0 < low <= high or not math.isfinite(high):
        raise ValueError(f"a log axis needs 0 < low <= high < inf; got {low}, {high}")
    series = [m * 10.0 ** e for e in range(math.floor(math.log10(low)) - 1,
                                            math.ceil(math.log10(high)) + 1)
              for m in MANTISSAS]
    series = [round(v, 12) for v in series]
    start = max(v for v in series if v <= low * (1 + 1e-12))
    stop = min(v for v in series if v >= high * (1 - 1e-12))
    return tuple(v for v in series if start <= v <= stop)


def axis_range(intervals: Sequence[Interval]) -> tuple[float, float]:
    """Axis limits: every CI and the reference line at 1, with a tick's room around 1."""
    low = min([iv.low for iv in intervals] + [0.99])
    high = max([iv.high for iv in intervals] + [1.01])
    ticks = tick_values(low, high)
    return ticks[0], ticks[-1]


def forest_chart(intervals: Sequence[Interval]) -> ForestChart:
    """Place ``intervals`` as rows of a forest chart on a log axis with a line at HR 1."""
    if not intervals:
        raise ValueError("a forest chart needs at least one row")
    lo, hi = axis_range(intervals)
    left, right = LABEL_WIDTH, WIDTH - VALUE_WIDTH
    span = math.log(hi) - math.log(lo)

    def x_of(value: float) -> float:
        clamped = min(max(value, lo), hi)
        return left + (right - left) * (math.log(clamped) - math.log(lo)) / span

    rows = tuple(
        PlacedRow(iv, TOP + ROW_HEIGHT * (i + 0.5), x_of(iv.value), x_of(iv.low),
                  x_of(iv.high))
        for i, iv in enumerate(intervals))
    axis_y = TOP + ROW_HEIGHT * len(intervals) + 4
    ticks = tuple(Tick(v, x_of(v)) for v in tick_values(lo, hi))
    return ForestChart(WIDTH, int(axis_y + AXIS_HEIGHT), left, right, axis_y, rows, ticks,
                       x_of(1.0))
