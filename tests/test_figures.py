"""The report figures draw exactly the numbers they are given, in greyscale-safe styles."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from simulation.reports import figures
from simulation.stats.km import km_curve

# A small cohort with ties, censoring at an event time and a censored last patient.
TIME = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.5, 7.0, 9.0, 12.0])
EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 0, 1, 0])


def _png_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_matplotlib_is_not_imported_with_the_module():
    code = ("import sys, simulation.reports.figures, simulation.reports.html; "
            "sys.exit('matplotlib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_series_styles_differ_without_colour():
    # In greyscale only the dash pattern, marker and hatch remain: each must be unique.
    assert len({str(s["linestyle"]) for s in figures.SERIES_STYLES}) == len(figures.SERIES_STYLES)
    assert len({s["marker"] for s in figures.SERIES_STYLES}) == len(figures.SERIES_STYLES)
    assert len({s["hatch"] for s in figures.SERIES_STYLES}) == len(figures.SERIES_STYLES)


@pytest.mark.parametrize(("last", "expected"), [
    (20.4, [0, 3, 6, 9, 12, 15, 18, 21]),
    (5.0, [0, 1, 2, 3, 4, 5]),
    (40.0, [0, 6, 12, 18, 24, 30, 36, 42]),
    (0.2, [0, 1]),
])
def test_time_ticks(last, expected):
    assert figures.time_ticks(last).tolist() == expected


def test_numbers_at_risk_count_follow_up_at_or_beyond_each_tick():
    # By hand from TIME: >= 0: 10; >= 2: 9; >= 4: 6; >= 6: 3; >= 12: 1; >= 13: 0.
    at = np.array([0.0, 2.0, 4.0, 6.0, 12.0, 13.0])
    assert figures.numbers_at_risk(TIME, at).tolist() == [10, 9, 6, 3, 1, 0]


def _km_lines(fig):
    ax = fig.axes[0]
    steps = [line for line in ax.get_lines() if line.get_label().startswith(("A", "B"))]
    marks = [line for line in ax.get_lines() if line.get_marker() == "|"]
    return ax, steps, marks


def test_km_figure_draws_the_km_estimate_with_censoring_marks_and_numbers_at_risk():
    group_b = TIME > 3.5
    groups = [figures.SurvivalGroup("A", TIME[~group_b], EVENT[~group_b]),
              figures.SurvivalGroup("B", TIME[group_b], EVENT[group_b])]
    fig = figures.km_figure(groups, title="OS", logrank_p=0.0123)
    ax, steps, marks = _km_lines(fig)
    assert len(steps) == 2
    for line, group in zip(steps, groups, strict=True):
        curve = km_curve(group.time, group.event)
        x, y = line.get_data()
        # The steps are the KM curve, continued to the last follow-up.
        np.testing.assert_array_equal(x, np.append(curve.time, group.time.max()))
        np.testing.assert_array_equal(y, np.append(curve.survival, curve.survival[-1]))
        assert line.get_drawstyle() == "steps-post"
        assert f"n = {group.time.size}, {int(group.event.sum())} deaths" in line.get_label()
    # One censoring tick per censored patient: A has 1 (t = 2), B has 3 (4, 7, 12).
    assert [len(m.get_xdata()) for m in marks] == [1, 3]
    # Group A: curve after t = 2 is (1 - 1/4)(1 - 1/3) = 0.5, so its tick sits at 0.5.
    np.testing.assert_allclose(marks[0].get_ydata(), [0.5])
    assert steps[0].get_linestyle() != steps[1].get_linestyle()
    texts = [t.get_text() for t in ax.texts]
    assert "log-rank p = 0.012" in texts
    table = fig.axes[1]
    ticks = figures.time_ticks(TIME.max())
    expected = [str(n) for g in groups for n in figures.numbers_at_risk(g.time, ticks)]
    assert [t.get_text() for t in table.texts] == expected
    assert ax.get_ylabel() == "Overall survival probability"
    assert "(months)" in table.get_xlabel()
    assert _png_size(figures.to_png(fig)) == (960, int(round((3.9 + 0.44) * 150)))


def test_km_figure_leaves_out_missing_rows():
    time = np.append(TIME, [np.nan, 3.0])
    event = np.append(EVENT, [1, np.nan])
    fig = figures.km_figure([figures.SurvivalGroup("A", time, event)], title="OS")
    _, steps, _ = _km_lines(fig)
    assert "n = 10," in steps[0].get_label()


def test_roc_figure_draws_the_given_curve_auc_and_points():
    fpr = np.array([0.0, 0.0, 0.5, 0.5, 1.0])
    tpr = np.array([0.0, 0.5, 0.5, 1.0, 1.0])
    point = figures.RocPoint("Youden cut-off 45.0", 0.5, 1.0)
    fig = figures.roc_figure(fpr, tpr, auc=0.75, auc_ci=(0.3, 1.0), points=[point])
    ax = fig.axes[0]
    curve = next(line for line in ax.get_lines() if line.get_label() == "ROC curve")
    np.testing.assert_array_equal(curve.get_xdata(), fpr)
    np.testing.assert_array_equal(curve.get_ydata(), tpr)
    marked = next(line for line in ax.get_lines() if line.get_label().startswith("Youden"))
    assert marked.get_xdata().tolist() == [0.5] and marked.get_ydata().tolist() == [1.0]
    assert "sensitivity 100.0%, specificity 50.0%" in marked.get_label()
    assert "AUC 0.750\n(95% CI 0.300-1.000)" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel().startswith("1 - specificity") and ax.get_ylabel().startswith("Sens")


def test_cutoff_distribution_marks_the_published_cutoff_and_sums_to_the_chosen_share():
    rng = np.random.default_rng(7)
    youden = np.append(rng.normal(45, 4, 199), np.nan)   # one replicate without a cut-off
    maxstat = rng.normal(47, 3, 200)
    fig = figures.cutoff_distribution_figure(
        {"tog2025": {"youden": youden, "maxstat": maxstat}}, published=47.6)
    ax = fig.axes[0]
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [47.6]
    assert any(t.get_text().strip() == "published 47.6" for t in ax.texts)
    heights = list(ax.patches)
    assert len(heights) == 2
    # Each step histogram is one polygon; its heights are percent of all replicates, so
    # the youden bars add up to 199/200 = 99.5%.
    totals = []
    for patch in heights:
        y = patch.get_xy()[:, 1]
        totals.append(y[1:-1:2].sum())
    np.testing.assert_allclose(sorted(totals), [99.5, 100.0])
    assert "1 without a cut-off" in ax.get_legend_handles_labels()[1][0]
    assert ax.get_ylabel() == "Replicates (%)"
    assert "PNI" in fig.axes[-1].get_xlabel()


def test_performance_figure_error_bars_are_1_96_mcse():
    points = [figures.PerformancePoint("pni_mv_loghr", "youden", "tog2025", 0.2, 0.05),
              figures.PerformancePoint("pni_mv_loghr", "fixed", "tog2025", -0.01, 0.04),
              figures.PerformancePoint("afp_mv_loghr", "fixed", "tog2025", 0.03, float("nan"))]
    fig = figures.performance_figure(points, measure="Bias (log-HR)", reference=0.0,
                                     title="Bias")
    ax = fig.axes[0]
    container = ax.containers[0]
    segments = container.lines[2][0].get_segments()
    spans = sorted((round(s[0][0], 10), round(s[1][0], 10)) for s in segments)
    z = figures.MCSE_MULTIPLIER
    assert spans == sorted([(round(0.2 - z * 0.05, 10), round(0.2 + z * 0.05, 10)),
                            (round(-0.01 - z * 0.04, 10), round(-0.01 + z * 0.04, 10))])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["youden", "fixed"]
    assert ax.get_lines()[0].get_xdata()[0] == 0.0  # the reference line
    assert all(a.get_xlabel() == "Bias (log-HR)" for a in fig.axes if a.get_visible())
    assert "1.96 Monte Carlo SE" in fig.get_suptitle()


def test_format_p():
    assert figures.format_p(0.04) == "p = 0.040"
    assert figures.format_p(0.0009) == "p < 0.001"
    assert figures.format_p(None) == "p not estimable"
