"""Pure pieces of the web layer: chart geometry, number formatting, form definitions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calculator import published
from calculator.child_pugh import ASCITES, CLASSES, ENCEPHALOPATHY
from calculator.profile import ACCEPTED_KEYS
from calculator.units import QUANTITIES
from webui.chart import Interval, axis_range, forest_chart, tick_values
from webui.defaults import FORM_UNITS
from webui.field_help import field_help
from webui.forms import DISPLAY_ORDER, INPUT_NAMES, ScoreForm, input_group, options
from webui.presentation import FACTOR_NAMES, interval, number, significant

RATIOS = st.floats(min_value=0.01, max_value=500, allow_nan=False)


@given(st.lists(st.tuples(RATIOS, RATIOS, RATIOS), min_size=1, max_size=5))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_forest_chart_keeps_order_on_a_log_axis(triples: list[tuple[float, ...]]) -> None:
    rows = [Interval(f"r{i}", sorted(t)[1], sorted(t)[0], sorted(t)[2], "present")
            for i, t in enumerate(triples)]
    chart = forest_chart(rows)
    lo, hi = axis_range(rows)
    assert lo <= 1 <= hi and lo <= min(r.low for r in rows) and hi >= max(r.high for r in rows)
    for placed in chart.rows:
        assert chart.plot_left <= placed.x_low <= placed.x <= placed.x_high <= chart.plot_right
    ticks = chart.ticks
    assert [t.value for t in ticks] == sorted(t.value for t in ticks)
    assert ticks[0].x == pytest.approx(chart.plot_left)
    assert ticks[-1].x == pytest.approx(chart.plot_right)
    # equal ratios are equal distances on a log axis
    xs = {t.value: t.x for t in ticks}
    if 1.0 in xs and 10.0 in xs and 100.0 in xs:
        assert xs[10.0] - xs[1.0] == pytest.approx(xs[100.0] - xs[10.0])
    assert chart.reference_x == pytest.approx(xs[1.0])
    ys = [p.y for p in chart.rows]
    assert ys == sorted(ys) and chart.height > ys[-1]


def test_tick_values_and_limits() -> None:
    assert tick_values(1.0, 80.2) == (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    assert tick_values(0.09, 0.65) == (0.05, 0.1, 0.2, 0.5, 1.0)
    with pytest.raises(ValueError, match="0 < low <= high"):
        tick_values(0, 2)
    with pytest.raises(ValueError, match="at least one row"):
        forest_chart([])


def test_diamond_spans_the_interval() -> None:
    row = forest_chart([Interval("x", 4.0, 2.0, 8.0, "combined")]).rows[0]
    xs = [float(p.split(",")[0]) for p in row.diamond.split()]
    assert min(xs) == pytest.approx(row.x_low, abs=0.05)
    assert max(xs) == pytest.approx(row.x_high, abs=0.05)
    assert math.isclose(row.x - row.x_low, row.x_high - row.x)  # symmetric on a log axis


@pytest.mark.parametrize("value,text", [(4.1667, "4.17"), (11.111, "11.1"), (20.0, "20.0"),
                                        (5.0, "5.00"), (0.75, "0.75"), (80.2, "80.2"),
                                        (None, "–")])
def test_significant(value: float | None, text: str) -> None:
    assert significant(value) == text


@pytest.mark.parametrize("value,text", [(35.0, "35"), (0.0011, "0.0011"),
                                        (5_000_000.0, "5000000"), (None, "–"), ("3,5", "3,5"),
                                        (True, "True"), (147314, "147314")])
def test_number(value: object, text: str) -> None:
    assert number(value) == text


def test_interval_and_factor_names_read_the_published_cut_offs() -> None:
    assert interval([1.22, 5.0]) == "1.22–5.00"
    assert str(published.AFP_CUTOFF.value) in FACTOR_NAMES["afp"]
    assert str(published.PNI_CUTOFF.value) in FACTOR_NAMES["pni"]


def test_form_covers_every_input_of_the_core() -> None:
    assert set(INPUT_NAMES) <= ACCEPTED_KEYS
    assert set(INPUT_NAMES) == set(DISPLAY_ORDER)
    assert all(hasattr(ScoreForm, key) for key in INPUT_NAMES)
    assert {input_group(k) for k in INPUT_NAMES} == {k for k in ACCEPTED_KEYS
                                                     if not k.endswith("_unit")}
    assert set(field_help()) == {input_group(k) for k in INPUT_NAMES}


def test_selectors_offer_exactly_the_cores_choices() -> None:
    for name in FORM_UNITS:
        assert [v for v, _ in options(f"{name}_unit")] == list(QUANTITIES[name].units)
        assert FORM_UNITS[name] in QUANTITIES[name].units
    assert [v for v, _ in options("ascites")][1:] == list(ASCITES)
    assert [v for v, _ in options("encephalopathy")][1:] == list(ENCEPHALOPATHY)
    assert [v for v, _ in options("child_pugh_class")][1:] == list(CLASSES)
    assert options("ascites")[0][0] == ""  # "not given" is never a default value


def test_lab_typical_defaults_differ_from_canonical_where_labs_do() -> None:
    assert FORM_UNITS["albumin"] == "g/dL" != QUANTITIES["albumin"].canonical_unit


def test_help_text_reads_study_ranges_from_the_core() -> None:
    help_text = field_help()
    albumin = QUANTITIES["albumin"]
    assert f"{albumin.study_low}–{albumin.study_high} g/L" in help_text["albumin"]
    assert "p = " in help_text["child_pugh_class"]

