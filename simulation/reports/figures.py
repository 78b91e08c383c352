"""Figures of the cohort and study reports, drawn with matplotlib and readable in grey.

Every function takes plain numbers and returns a :class:`matplotlib.figure.Figure`; turn
it into PNG bytes with :func:`to_png`. Matplotlib is imported inside the functions, and
figures are built without ``pyplot`` (no global figure registry, no GUI backend: PNGs are
rendered by Agg), so the statistics never need a plotting backend.

The figures must read when printed in black and white, so series differ by line style,
marker and grey level (:data:`SERIES_STYLES`), never by hue alone, and every axis is
labelled with its unit.

Cohort figures redraw the paper's Figures 1-3 from any cohort: Kaplan-Meier curves with
censoring marks, numbers at risk and the log-rank p (:func:`km_figure`), and the ROC curve
with its AUC and marked cut-offs (:func:`roc_figure`). Study figures follow Morris, White
& Crowther (2019): the data-driven cut-off's distribution (:func:`cutoff_distribution_figure`)
and performance measures with Monte Carlo error bars (:func:`performance_figure`).

References
----------
.. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
   J Am Stat Assoc 1958;53:457-481.
.. [2] Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical
   methods. Stat Med 2019;38:2074-2102 (figures of performance with Monte Carlo SEs).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from calculator.formatting import p_value
from calculator.published import Z95
from simulation.stats.km import km_curve

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Line and marker styles of successive series: black and mid-grey alternate, and each has
#: its own dash pattern and marker shape, so that a greyscale print tells them apart.
SERIES_STYLES: tuple[dict[str, Any], ...] = (
    {"color": "black", "linestyle": "-", "marker": "o", "hatch": ""},
    {"color": "0.45", "linestyle": "--", "marker": "s", "hatch": "////"},
    {"color": "black", "linestyle": ":", "marker": "^", "hatch": "...."},
    {"color": "0.55", "linestyle": "-.", "marker": "D", "hatch": "\\\\\\\\"},
    {"color": "0.25", "linestyle": (0, (5, 1, 1, 1, 1, 1)), "marker": "v", "hatch": "xx"},
)
#: Marker fills of successive series (solid, open, grey, ...), with the shapes of
#: :data:`SERIES_STYLES`.
MARKER_FILLS = ("black", "white", "0.6", "white", "0.3")
#: The colour of reference lines (nominal levels, the published cut-off, chance).
REFERENCE_COLOUR = "0.35"
#: Resolution of the PNG images (dots per inch).
PNG_DPI = 150

_RC: Any = {"font.size": 9.5, "axes.titlesize": 10.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5,
       "xtick.labelsize": 8.5, "ytick.labelsize": 8.5, "axes.spines.top": False,
       "axes.spines.right": False, "svg.fonttype": "none"}


def style(index: int) -> dict[str, Any]:
    """The greyscale style of series number ``index`` (cycling through the styles)."""
    return SERIES_STYLES[index % len(SERIES_STYLES)]


def _new_figure(width_in: float, height_in: float) -> Figure:
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def to_png(figure: Figure, dpi: int = PNG_DPI) -> bytes:
    """The figure rendered as PNG bytes (Agg), with white background.

    >>> fig = km_figure([SurvivalGroup("all", [1.0, 2.0], [1, 0])], title="t")
    >>> to_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"savefig.facecolor": "white"}):
        figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def format_p(p: float | None) -> str:
    """A p-value as a table prints it: ``p = 0.004``, ``p < 0.001``, ``p not estimable``.

    >>> format_p(0.0042), format_p(0.00001), format_p(float("nan"))
    ('p = 0.004', 'p < 0.001', 'p not estimable')
    """
    text = p_value(p, missing="")
    if not text:
        return "p not estimable"
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


# ---------------------------------------------------------------------------------------
# Kaplan-Meier curves with numbers at risk (the paper's Figures 1 and 2)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SurvivalGroup:
    """One group's follow-up for a Kaplan-Meier figure.

    ``time`` in months and ``event`` (1 died, 0 censored); rows where either is missing
    (NaN) are left out, as the analysis leaves them out.
    """

    label: str
    time: Any
    event: Any

    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and events of the rows with both values present."""
        time = np.asarray(self.time, dtype=float)
        event = np.asarray(self.event, dtype=float)
        keep = np.isfinite(time) & np.isfinite(event)
        return time[keep], event[keep]


def time_ticks(last_time: float, max_ticks: int = 9) -> np.ndarray:
    """Ticks from 0 in whole steps of 1, 2, 3, 6, 12 or 24 months covering ``last_time``.

    >>> time_ticks(20.4).tolist()
    [0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0]
    """
    last_time = max(float(last_time), 1.0)
    for step in (1, 2, 3, 6, 12, 24, 48):
        if math.ceil(last_time / step) + 1 <= max_ticks:
            break
    return np.arange(0, math.ceil(last_time / step) * step + step / 2, step, dtype=float)


def numbers_at_risk(time: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Patients still under observation at each time in ``at`` (follow-up >= t).

    >>> numbers_at_risk(np.array([1.0, 2.0, 2.0, 5.0]), np.array([0.0, 2.0, 3.0])).tolist()
    [4, 3, 1]
    """
    return (np.asarray(time)[None, :] >= np.asarray(at)[:, None]).sum(axis=1)


def _step_survival(curve_time: np.ndarray, survival: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The right-continuous KM step function evaluated at ``at``."""
    return survival[np.searchsorted(curve_time, at, side="right") - 1]


def km_figure(groups: Sequence[SurvivalGroup], *, title: str, logrank_p: float | None = None,
              endpoint: str = "Overall survival", time_unit: str = "months",
              width_in: float = 6.4) -> Figure:
    """Kaplan-Meier curves of ``groups`` with censoring marks and numbers at risk.

    The curves are the estimate of :func:`simulation.stats.km.km_curve` (the one the medians use),
    drawn as right-continuous steps that run on to each group's last follow-up; a vertical
    tick marks each censored patient. Under the plot, a table gives the number at risk
    (follow-up >= t) at each time tick, as in the paper's Figures 1 and 2.

    Parameters
    ----------
    groups : sequence of SurvivalGroup
        One curve per group, in legend order (at most five keep distinct styles).
    title : str
        Figure title.
    logrank_p : float, optional
        Log-rank p-value printed on the plot (the analysis computes it).
    endpoint, time_unit : str
        Axis labels: ``"<endpoint> probability"`` and ``"Time since start of second-line
        treatment (<time_unit>)"``.
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    observed = [g.observed() for g in groups]
    last = max((float(t.max()) for t, _ in observed if t.size), default=1.0)
    ticks = time_ticks(last)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width_in, 3.9 + 0.22 * len(groups))
        grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 0.45 + 0.3 * len(groups)])
        ax = fig.add_subplot(grid[0])
        table = fig.add_subplot(grid[1], sharex=ax)
        ax.axhline(0.5, color="0.75", linewidth=0.8, linestyle=(0, (1, 2)), zorder=0)
        for index, (group, (time, event)) in enumerate(zip(groups, observed, strict=True)):
            _draw_km_group(ax, group.label, time, event, style(index))
        ax.set_xlim(0, ticks[-1] * 1.01)
        ax.set_ylim(0, 1.03)
        ax.set_xticks(ticks)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_ylabel(f"{endpoint} probability")
        ax.set_title(title, loc="left")
        ax.tick_params(labelbottom=False)
        ax.legend(loc="upper right", frameon=False, handlelength=3.2)
        if logrank_p is not None:
            ax.text(0.98, 0.60, f"log-rank {format_p(logrank_p)}", transform=ax.transAxes,
                    ha="right", va="center")
        ax.text(0.98, 0.51, "median", transform=ax.transAxes, ha="right", va="bottom",
                color="0.5", fontsize=7.5)
        _draw_at_risk(table, groups, observed, ticks)
        table.set_xlabel(f"Time since start of second-line treatment ({time_unit})")
    return fig


def _draw_km_group(ax: Axes, label: str, time: np.ndarray, event: np.ndarray,
                   series: dict[str, Any]) -> None:
    curve = km_curve(time, event) if time.size else None
    if curve is None:
        return
    last = float(time.max())
    step_time = np.append(curve.time, last)
    step_survival = np.append(curve.survival, curve.survival[-1])
    deaths = int(event.sum())
    ax.step(step_time, step_survival, where="post", color=series["color"],
            linestyle=series["linestyle"], linewidth=1.6,
            label=f"{label} (n = {time.size}, {deaths} deaths)")
    censored = time[event == 0]
    if censored.size:
        ax.plot(censored, _step_survival(curve.time, curve.survival, censored),
                linestyle="none", marker="|", markersize=8, markeredgewidth=1.3,
                color=series["color"])


def _draw_at_risk(table: Axes, groups: Sequence[SurvivalGroup],
                  observed: Sequence[tuple[np.ndarray, np.ndarray]], ticks: np.ndarray) -> None:
    rows = len(groups)
    table.set_ylim(-0.5, rows - 0.5)
    table.set_yticks(range(rows))
    table.set_yticklabels([g.label for g in groups])
    table.invert_yaxis()
    for row, (group, (time, _)) in enumerate(zip(groups, observed, strict=True)):
        for tick, count in zip(ticks, numbers_at_risk(time, ticks), strict=True):
            table.text(tick, row, str(int(count)), ha="center", va="center",
                       color=style(row)["color"])
    table.set_title("Number at risk", loc="left", fontsize=8.5)
    table.tick_params(axis="y", length=0, pad=16)
    for side in ("left", "top", "right"):
        table.spines[side].set_visible(False)


# ---------------------------------------------------------------------------------------
# ROC curve (the paper's Figure 3)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RocPoint:
    """A cut-off marked on the ROC curve: its label and its (1 - specificity, sensitivity)."""

    label: str
    false_positive_rate: float
    true_positive_rate: float


def roc_figure(false_positive_rate: Any, true_positive_rate: Any, *, auc: float,
               auc_ci: Sequence[float] | None = None, points: Sequence[RocPoint] = (),
               title: str = "ROC curve", positive_label: str = "death",
               width_in: float = 4.8) -> Figure:
    """The empirical ROC curve with the chance diagonal, the AUC and marked cut-offs.

    Parameters
    ----------
    false_positive_rate, true_positive_rate : array_like
        The curve's vertices in order, from (0, 0) to (1, 1).
    auc : float
        Area under the curve; ``auc_ci`` its 95% interval (DeLong), shown with it.
    points : sequence of RocPoint
        Cut-offs to mark (e.g. the Youden-optimal one and the published 47.6), each with
        its own marker and its sensitivity and specificity in the legend.
    positive_label : str
        What a positive is (``"death"``), for the axis labels.
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    fpr = np.asarray(false_positive_rate, dtype=float)
    tpr = np.asarray(true_positive_rate, dtype=float)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width_in, width_in + 0.25 * (2 + len(points)))
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color=REFERENCE_COLOUR, linestyle=":", linewidth=1,
                label="chance (AUC 0.5)")
        ax.plot(fpr, tpr, color="black", linewidth=1.7, drawstyle="default", label="ROC curve")
        for index, point in enumerate(points):
            marker = ("o", "s", "^", "D")[index % 4]
            ax.plot([point.false_positive_rate], [point.true_positive_rate], linestyle="none",
                    marker=marker, markersize=9, markerfacecolor=("white", "0.6")[index % 2],
                    markeredgecolor="black", markeredgewidth=1.4, zorder=5,
                    label=f"{point.label}: sensitivity {point.true_positive_rate:.1%}, "
                          f"specificity {1 - point.false_positive_rate:.1%}")
        text = f"AUC {auc:.3f}"
        if auc_ci is not None and all(math.isfinite(v) for v in auc_ci):
            text += f"\n(95% CI {auc_ci[0]:.3f}-{auc_ci[1]:.3f})"
        ax.text(0.97, 0.05, text, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=10)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel(f"1 - specificity (false-positive rate for {positive_label}, proportion)")
        ax.set_ylabel(f"Sensitivity (true-positive rate for {positive_label}, proportion)")
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower left", frameon=False, handlelength=2.2)
    return fig


# ---------------------------------------------------------------------------------------
# The data-driven cut-off's distribution over replicates
# ---------------------------------------------------------------------------------------

def cutoff_distribution_figure(cutoffs: Mapping[str, Mapping[str, Any]], *, published: float,
                               title: str = "Distribution of the data-driven PNI cut-off",
                               bin_width: float = 1.0, width_in: float = 6.4) -> Figure:
    """Histograms of the chosen cut-off over replicates, one panel per scenario.

    Parameters
    ----------
    cutoffs : mapping scenario -> (mapping method -> array of cut-offs)
        The cut-off each method chose in each replicate (NaN where it chose none; those
        are left out and counted in the legend).
    published : float
        The published cut-off, drawn as a labelled vertical line in every panel.
    bin_width : float
        Width of the histogram bins in PNI units.

    Notes
    -----
    Each method is an outlined step histogram with its own line style and hatching, so
    overlapping distributions stay legible without colour; the y-axis is the share of
    replicates per bin (percent).
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    values = [np.asarray(v, dtype=float) for per in cutoffs.values() for v in per.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in values] + [np.array([published])])
    low = math.floor(min(finite.min(), published) / bin_width) * bin_width
    high = math.ceil(max(finite.max(), published) / bin_width) * bin_width + bin_width
    bins = np.arange(low, high + bin_width / 2, bin_width)
    panels = len(cutoffs)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width_in, 1.2 + 2.2 * max(panels, 1))
        axes = fig.subplots(max(panels, 1), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (scenario, per_method) in zip(axes, cutoffs.items(), strict=False):
            for index, (method, raw) in enumerate(per_method.items()):
                v = np.asarray(raw, dtype=float)
                chosen = v[np.isfinite(v)]
                weights = np.full(chosen.size, 100.0 / max(v.size, 1))
                series = style(index)
                missing = v.size - chosen.size
                label = f"{method} (median {np.median(chosen):.1f})" if chosen.size else method
                if missing:
                    label += f", {missing} without a cut-off"
                ax.hist(chosen, bins=bins, weights=weights, histtype="step",
                        color=series["color"], linestyle=series["linestyle"], linewidth=1.5,
                        hatch=series["hatch"] or None, label=label)
            ax.axvline(published, color="black", linewidth=1.2, linestyle=(0, (6, 2)))
            ax.text(published, 0.97, f" published {published:g}", transform=ax.get_xaxis_transform(),
                    ha="left", va="top", fontsize=8.5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
            ax.set_ylabel("Replicates (%)")
            ax.set_title(f"Scenario {scenario}", loc="left", fontsize=9.5)
            ax.legend(loc="upper right", frameon=True, facecolor="white", edgecolor="none",
                      framealpha=0.9, handlelength=2.6)
        axes[-1].set_xlabel("Chosen PNI cut-off (PNI units: albumin g/L + 5 x lymphocytes "
                            "10^9/L)")
        fig.suptitle(title, x=0.01, ha="left", fontsize=10.5)
    return fig


# ---------------------------------------------------------------------------------------
# Performance measures with Monte Carlo error bars
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PerformancePoint:
    """One performance estimate for a dot plot.

    ``panel`` (e.g. the estimand) picks the subplot, ``row`` (the method) the line within
    it and ``series`` (the scenario) the marker; ``value`` is the estimate and ``mcse`` its
    Monte Carlo standard error (NaN when it has none).
    """

    panel: str
    row: str
    series: str
    value: float
    mcse: float


#: Error bars span ± this many Monte Carlo SEs (a 95% Monte Carlo interval).
MCSE_MULTIPLIER = Z95


def panel_grid(panels: Sequence[str], layout: Sequence[Sequence[str]] = (),
               columns: int = 2) -> list[list[str]]:
    """Where each panel goes: rows of panel names, ``""`` for an empty slot.

    ``layout`` places panels explicitly (a panel that has no data leaves its slot empty,
    and a row left empty is dropped); the panels it does not place follow, ``columns``
    to a row.

    >>> panel_grid(["a", "b", "c"], [["a", "x"], ["y", "z"]], columns=2)
    [['a', ''], ['b', 'c']]
    """
    present = set(panels)
    grid = [[name if name in present else "" for name in row] for row in layout]
    grid = [row for row in grid if any(row)]
    placed = {name for row in grid for name in row}
    rest = [name for name in panels if name not in placed]
    width = max([len(row) for row in grid] + [min(columns, max(len(rest), 1))])
    grid = [row + [""] * (width - len(row)) for row in grid]
    for start in range(0, len(rest), width):
        chunk = rest[start:start + width]
        grid.append(chunk + [""] * (width - len(chunk)))
    return grid


def performance_figure(points: Sequence[PerformancePoint], *, measure: str,
                       reference: float | None = None, reference_label: str = "",
                       title: str = "", width_in: float = 6.4, columns: int = 2,
                       layout: Sequence[Sequence[str]] = (), series_order: Sequence[str] = (),
                       bounds: tuple[float, float] | None = None,
                       x_start: float | None = None) -> Figure:
    """Dot plot of a performance measure, with ± 1.96 Monte Carlo SE error bars.

    One panel per ``panel`` value, one line per ``row`` within it, one marker shape per
    ``series`` (slightly offset vertically so that bars do not overlap). A vertical
    reference line marks the target (0 for bias, 95% for coverage, 5% for a type I error).

    Parameters
    ----------
    points : sequence of PerformancePoint
    measure : str
        The x-axis label, with its unit (e.g. ``"Bias (log hazard ratio)"``).
    reference : float, optional
        Target value of the measure; ``reference_label`` names it in the legend.
    title : str
        Figure title; the error bar's meaning is added to it.
    columns, layout :
        Panel placement (see :func:`panel_grid`).
    series_order : sequence of str
        Order of the series, hence their styles: a scenario keeps its marker from figure
        to figure even when some figures lack it. Unlisted series follow.
    bounds : (low, high), optional
        Range the measure cannot leave (0-100 for a percentage): error bars stop there.
    x_start : float, optional
        Where every x-axis starts (0 for rejection rates, so that distances from the
        nominal 5% read as ratios).
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    panels = list(dict.fromkeys(p.panel for p in points))
    rows = list(dict.fromkeys(p.row for p in points))
    every_series = list(dict.fromkeys(list(series_order) + [p.series for p in points]))
    present = {p.series for p in points}
    series = [name for name in every_series if name in present]
    style_of = {name: every_series.index(name) for name in series}
    grid = panel_grid(panels, layout, columns)
    spread = 0.6 / max(len(series), 1)
    low, high = bounds if bounds is not None else (-math.inf, math.inf)
    panel_height = 0.75 + 0.3 * len(rows) * max(1, len(series)) ** 0.5
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width_in, 0.9 + len(grid) * panel_height)
        axes = fig.subplots(len(grid), len(grid[0]), squeeze=False, sharey=True)
        drawn: list[Axes] = []
        first_in_row = {(r, row.index(next(n for n in row if n))) for r, row in enumerate(grid)}
        for (r, c), panel in np.ndenumerate(np.array(grid, dtype=object)):
            ax = cast("Axes", axes[r, c])
            if not panel:
                ax.set_visible(False)
                continue
            drawn.append(ax)
            if reference is not None:
                ax.axvline(reference, color=REFERENCE_COLOUR, linewidth=1, linestyle="--",
                           label=reference_label or f"target {reference:g}")
            for position, name in enumerate(series):
                chosen = [p for p in points if p.panel == panel and p.series == name]
                if not chosen:
                    continue
                offset = (position - (len(series) - 1) / 2) * spread
                y = np.array([rows.index(p.row) + offset for p in chosen])
                x = np.array([p.value for p in chosen], dtype=float)
                half = np.array([MCSE_MULTIPLIER * p.mcse if math.isfinite(p.mcse) else 0.0
                                 for p in chosen])
                err = np.vstack([np.minimum(half, x - low), np.minimum(half, high - x)])
                index = style_of[name]
                ax.errorbar(x, y, xerr=err, linestyle="none", marker=style(index)["marker"],
                            markersize=5.5, color="black",
                            markerfacecolor=MARKER_FILLS[index % len(MARKER_FILLS)],
                            ecolor=style(index)["color"], elinewidth=1.2, capsize=2.5,
                            label=name)
            ax.set_yticks(range(len(rows)))
            ax.set_yticklabels(rows)
            ax.tick_params(axis="y", labelleft=(r, c) in first_in_row)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.set_title(panel, loc="left", fontsize=9)
            ax.set_xlabel(measure)
            ax.grid(axis="x", color="0.88", linewidth=0.6)
            ax.margins(x=0.12)
            if x_start is not None:
                ax.set_xlim(left=x_start)
        legend: dict[str, Any] = {}
        for ax in drawn:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
        labels = [name for name in series if name in legend]
        labels += [label for label in legend if label not in labels]  # the reference last
        fig.legend([legend[label] for label in labels], labels, loc="outside lower center",
                   ncols=min(len(labels), 3), frameon=False, handlelength=2.4)
        if title:
            fig.suptitle(title + f"  (bars: ± {MCSE_MULTIPLIER:.2f} Monte Carlo SE)",
                         x=0.01, ha="left", fontsize=10.5)
    return fig


# ---------------------------------------------------------------------------------------
# Observed against published hazard ratios (external validation)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HazardRatioRow:
    """One line of :func:`hazard_ratio_figure`: a group's label and its observed and
    published hazard ratios as ``(value, lower, upper)``; None where there is none (an
    empty group, a separated fit, the reference group)."""

    label: str
    observed: tuple[float, float, float] | None
    published: tuple[float, float, float] | None


def hazard_ratio_figure(rows: Sequence[HazardRatioRow], *, title: str,
                        reference_label: str = "reference group",
                        width_in: float = 6.4) -> Figure:
    """Observed against published hazard ratios with 95% CIs, on a log axis.

    One line per group (the first is the reference, drawn at 1): a filled circle with a
    solid bar for the observed HR, an open square with a dashed grey bar for the
    published one, side by side, so that a greyscale print tells them apart. A vertical
    line marks HR = 1; the axis is labelled in plain numbers (0.5, 1, 2, 5, ...).
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib
    from matplotlib.ticker import NullFormatter

    values = [v for row in rows for pair in (row.observed, row.published) if pair
              for v in pair if v is not None and math.isfinite(v) and v > 0]
    low = min(values + [1.0]) / 1.4
    high = max(values + [1.0]) * 1.4
    series = (("observed (this cohort)", "observed", "o", "black", "black", "-"),
              ("published (Table 4)", "published", "s", "white", "0.4", "--"))
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width_in, 1.4 + 0.55 * len(rows))
        ax = fig.add_subplot()
        ax.axvline(1.0, color=REFERENCE_COLOUR, linewidth=1, linestyle=":")
        for offset, (label, attribute, marker, fill, edge, dash) in zip(
                (-0.14, 0.14), series, strict=True):
            shown = False
            for y, row in enumerate(rows):
                pair = getattr(row, attribute)
                if pair is None or not all(v is not None and math.isfinite(v) and v > 0
                                           for v in pair):
                    continue
                value, lower, upper = pair
                ax.plot([lower, upper], [y + offset] * 2, color=edge if fill == "white"
                        else "black", linestyle=dash, linewidth=1.5)
                ax.plot([value], [y + offset], linestyle="none", marker=marker,
                        markersize=7, markerfacecolor=fill, markeredgecolor="black",
                        markeredgewidth=1.2, label=None if shown else label)
                shown = True
        ax.plot([1.0], [0], linestyle="none", marker="D", markersize=6,
                markerfacecolor="0.6", markeredgecolor="black", label=reference_label)
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
                 if low <= t <= high]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([row.label for row in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlabel("Hazard ratio of death against the reference group (log scale), "
                      "95% CI")
        ax.grid(axis="x", which="major", color="0.88", linewidth=0.6)
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower center", ncols=3, frameon=False, handlelength=2.2)
    return fig


# ---------------------------------------------------------------------------------------
# Performance against the values of a design grid
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridPoint:
    """One performance estimate at one value of a design grid's key.

    ``panel`` picks the subplot (e.g. the scenario and estimand), ``series`` the line
    (the method); ``x`` is the key's value, ``value`` the estimate and ``mcse`` its Monte
    Carlo SE (NaN when it has none).
    """

    panel: str
    series: str
    x: float
    value: float
    mcse: float


def tick_labels(xs: Sequence[float], log_x: bool, closest: float = 0.11
                ) -> list[tuple[float, str]]:
    """The grid values that get a label: each at least ``closest`` of the axis (in
    decades on a log axis) from the last one labelled; the others keep an unlabelled tick.

    >>> [label for _, label in tick_labels([58, 100, 150, 200, 250, 300, 400], True)]
    ['58', '100', '150', '200', '300', '400']
    """
    scale = (lambda v: math.log10(v)) if log_x else (lambda v: v)  # noqa: E731
    span = max(scale(xs[-1]) - scale(xs[0]), 1e-12) if len(xs) > 1 else 1.0
    gap = closest if log_x else closest * span
    shown: list[tuple[float, str]] = []
    for x in xs:
        if not shown or scale(x) - scale(shown[-1][0]) >= gap:
            shown.append((x, f"{x:g}"))
    return shown


def grid_figure(points: Sequence[GridPoint], *, x_label: str, measure: str,
                reference: float | None = None, reference_label: str = "",
                title: str = "", log_x: bool = False,
                bounds: tuple[float, float] | None = None, columns: int = 2,
                series_order: Sequence[str] = (), panel_order: Sequence[str] = (),
                width_in: float = 6.4) -> Figure:
    """A measure against a grid key: one line per series with ± 1.96 MCSE error bars.

    Each series has its own line style, marker and grey level (:data:`SERIES_STYLES`),
    and is shifted a little along x so that error bars at one value do not hide each
    other (by a constant factor on a log axis). A horizontal line marks the target (0
    for bias, 95% for coverage, 5% for a type I error, ...).

    Parameters
    ----------
    points : sequence of GridPoint
    x_label, measure : str
        Axis labels, with units.
    reference : float, optional
        Target value; ``reference_label`` names it in the legend.
    log_x : bool
        A logarithmic x axis (cohort sizes from 58 to thousands), ticked at the values.
    bounds : (low, high), optional
        Range the measure cannot leave (0-100 for a percentage): error bars stop there.
    series_order, panel_order : sequence of str
        Order of the series (hence their styles) and of the panels; others follow.
    """
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib
    from matplotlib.ticker import FixedLocator, NullFormatter

    panels = list(dict.fromkeys([*panel_order, *(p.panel for p in points)]))
    panels = [name for name in panels if any(p.panel == name for p in points)]
    every = list(dict.fromkeys([*series_order, *(p.series for p in points)]))
    present = {p.series for p in points}
    series = [name for name in every if name in present]
    xs = sorted({p.x for p in points})
    low, high = bounds if bounds is not None else (-math.inf, math.inf)
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    with matplotlib.rc_context(_RC):
        fig = _new_figure(width_in, 1.0 + 2.5 * rows)
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
        for index, ax in enumerate(axes.flat):
            if index >= len(panels):
                ax.set_visible(False)
                continue
            panel = panels[index]
            if reference is not None:
                ax.axhline(reference, color=REFERENCE_COLOUR, linewidth=1, linestyle="--",
                           label=reference_label or f"target {reference:g}")
            for position, name in enumerate(series):
                chosen = sorted((p for p in points if p.panel == panel and p.series == name),
                                key=lambda p: p.x)
                if not chosen:
                    continue
                shift = (position - (len(series) - 1) / 2) * 0.012
                x = np.array([p.x * (10 ** shift) if log_x else p.x for p in chosen])
                if not log_x and len(xs) > 1:
                    x = x + shift * (xs[-1] - xs[0])
                y = np.array([p.value for p in chosen])
                half = np.array([MCSE_MULTIPLIER * p.mcse if math.isfinite(p.mcse) else 0.0
                                 for p in chosen])
                err = np.vstack([np.minimum(half, y - low), np.minimum(half, high - y)])
                styled = style(every.index(name))
                ax.errorbar(x, y, yerr=err, color=styled["color"],
                            linestyle=styled["linestyle"], linewidth=1.3,
                            marker=styled["marker"], markersize=4.5,
                            markerfacecolor=MARKER_FILLS[every.index(name) % len(MARKER_FILLS)],
                            markeredgecolor="black", ecolor=styled["color"], elinewidth=1.0,
                            capsize=2.5, label=name)
            ax.set_title(panel, loc="left", fontsize=9)
            ax.grid(axis="y", color="0.88", linewidth=0.6)
            if log_x:
                ax.set_xscale("log")
            shown = tick_labels(xs, log_x)
            ax.xaxis.set_major_locator(FixedLocator([x for x, _ in shown]))
            ax.xaxis.set_minor_locator(FixedLocator([x for x in xs
                                                     if x not in dict(shown)]))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xticklabels([label for _, label in shown],
                               rotation=45 if len(shown) > 6 else 0)
            if index % columns == 0:
                ax.set_ylabel(measure)
            if index >= len(panels) - columns:
                ax.set_xlabel(x_label)
                ax.tick_params(axis="x", labelbottom=True)
        legend: dict[str, Any] = {}
        for ax in axes.flat:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
        labels = [name for name in series if name in legend]
        labels += [label for label in legend if label not in labels]
        fig.legend([legend[label] for label in labels], labels, loc="outside lower center",
                   ncols=min(len(labels), 5), frameon=False, handlelength=3.0)
        if title:
            fig.suptitle(title + f"  (bars: ± {MCSE_MULTIPLIER:.2f} Monte Carlo SE)",
                         x=0.01, ha="left", fontsize=10.5)
    return fig
