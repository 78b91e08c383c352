"""The evidence maths on belts whose answers are known: quantiles, smoothing, inversion,
monotonicity, and the calibration check (simulation.evidence.belts, .inversion,
.calibration)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from simulation.evidence import belts, calibration, inversion
from simulation.evidence.belts import (
    LEVELS,
    Samples,
    build_belt,
    decreasing_runs,
    raw_quantiles,
    reported_adverse,
    smooth_curves,
    ubre_lambda,
)
from simulation.evidence.calibration import check
from simulation.evidence.design import GridPoint
from simulation.evidence.inversion import invert, median_crossings

Z = norm.ppf(0.975)


def normal_samples(thetas, n: int, sd: float, seed: int, factor: str = "afp") -> list[Samples]:
    """Grid points whose both 'belts' are T ~ N(theta, sd): the textbook belt."""
    rng = np.random.default_rng(seed)
    out = []
    for theta in thetas:
        values = theta + sd * rng.standard_normal(n)
        ids = np.arange(n)
        out.append(Samples(GridPoint("published", factor, int(round(theta * 100))), n,
                           {"as_published": values, "always_fitted": values},
                           {"as_published": ids, "always_fitted": ids},
                           {"as_published": 0, "always_fitted": 0}, n))
    return out


def test_quantiles_are_type_6_with_order_statistic_mcse() -> None:
    values = np.arange(1.0, 1001.0)
    q, mcse = raw_quantiles(values)
    # Hyndman & Fan type 6: position p (n + 1) -> 0.025 * 1001 = 25.025
    assert q.tolist() == pytest.approx([25.025, 500.5, 975.975])
    assert np.all(mcse > 0)
    assert np.isnan(raw_quantiles(np.arange(10.0))[0]).all()  # too few: none


def test_reported_means_selected_and_adverse() -> None:
    ok = np.array([True, True, True, False, True])
    selected = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    log_hr = np.array([0.8, -0.9, 0.7, 0.9, np.nan])
    assert reported_adverse(ok, selected, log_hr).tolist() == [True, False, False, False, False]


def test_ubre_keeps_a_line_straight_and_follows_a_bend() -> None:
    rng = np.random.default_rng(3)
    x = np.linspace(-1, 3, 81)
    sd = np.full(x.size, 0.05)
    line = 0.5 + 0.8 * x
    fit, _ = smooth_curves(x, np.column_stack([line + sd * rng.standard_normal(x.size)] * 3),
                           np.column_stack([sd] * 3), x)
    assert np.max(np.abs(fit[:, 0] - line)) < 0.04  # noise 0.05, smooth much closer
    bend = np.where(x < 1, 0.0, (x - 1) ** 2)
    fit, _ = smooth_curves(x, np.column_stack([bend + sd * rng.standard_normal(x.size)] * 3),
                           np.column_stack([sd] * 3), x)
    assert np.max(np.abs(fit[:, 1] - bend)) < 0.08
    assert ubre_lambda(x, line, 1 / sd ** 2) >= ubre_lambda(x, bend, 1 / sd ** 2)


def test_inversion_of_the_normal_belt_is_the_wald_interval() -> None:
    fine = np.linspace(-2, 4, 1201)
    curves = np.column_stack([fine - Z, fine, fine + Z])
    out = invert(fine, curves, np.array([1.0, 0.5]))
    assert out.estimate.tolist() == pytest.approx([1.0, 0.5], abs=1e-9)
    assert out.lower.tolist() == pytest.approx([1 - Z, 0.5 - Z], abs=0.006)
    assert out.upper.tolist() == pytest.approx([1 + Z, 0.5 + Z], abs=0.006)
    assert not out.lower_open.any() and not out.upper_open.any()
    assert out.contiguous.all() and not out.empty.any()


def test_open_limits_and_values_beyond_the_belt() -> None:
    fine = np.linspace(0, 2, 401)
    curves = np.column_stack([fine - 1, fine, fine + 1])
    out = invert(fine, curves, np.array([0.5, 2.5, -1.5, 3.5]))
    # 0.5: the set reaches the grid's start -> open below, closed above at 1.5
    assert out.lower_open[0] and not out.upper_open[0] and out.upper[0] == pytest.approx(1.5)
    # 2.5: reaches the end -> open above
    assert out.upper_open[1] and out.lower[1] == pytest.approx(1.5)
    # -1.5: below every lower edge -> wholly below the grid, bounded by its start
    assert out.lower_open[2] and out.upper[2] == 0.0 and out.estimate_side[2] == "below"
    # 3.5: above every upper edge -> wholly above
    assert out.upper_open[3] and out.lower[3] == 2.0 and out.estimate_side[3] == "above"
    assert not out.empty.any()
    assert out.covers(-5.0)[2] and not out.covers(0.5)[2]
    assert out.below(1.0).tolist() == [True, False, True, False]


def test_non_monotone_median_uses_the_rising_crossing() -> None:
    fine = np.linspace(-1, 3, 801)
    median = np.where(fine < 0, 1.0 - fine, 1.0 + 0.5 * fine)  # falls, then rises
    curves = np.column_stack([median - 1, median, median + 1])
    assert median_crossings(fine, median, 1.5) == pytest.approx([-0.5, 1.0], abs=1e-9)
    out = invert(fine, curves, np.array([1.5]))
    assert out.estimate[0] == pytest.approx(1.0, abs=1e-9)


def test_gaps_in_the_confidence_set_are_reported() -> None:
    fine = np.linspace(0, 1, 101)
    lower = np.where((fine > 0.4) & (fine < 0.6), 2.0, 0.0)  # a bump excludes the middle
    curves = np.column_stack([lower, np.full(fine.size, 0.5), np.full(fine.size, 1.0)])
    out = invert(fine, curves, np.array([0.8]))
    assert not out.contiguous[0]
    assert out.lower[0] == 0.0 and out.upper[0] == 1.0


def test_decreasing_runs_need_the_bootstrap_to_agree() -> None:
    x = np.linspace(0, 1, 11)
    curve = np.concatenate([np.linspace(0, 1, 6), np.linspace(0.9, 1.4, 5)])
    rng = np.random.default_rng(0)
    noisy = curve + 0.5 * rng.standard_normal((50, 11))  # the fall is within the noise
    assert decreasing_runs(x, curve, noisy) == []
    assert decreasing_runs(x, curve, np.tile(curve, (50, 1))) == [(0.5, 0.6, 0.1)]


def test_built_belt_of_a_normal_family_recovers_its_quantiles() -> None:
    thetas = np.round(np.arange(-1.0, 2.01, 0.05), 2)
    samples = normal_samples(thetas, 2000, 0.5, seed=11)
    belt = build_belt(samples, "always_fitted", seed=1, draws=50)
    truth = belt.fine[:, None] + 0.5 * norm.ppf(LEVELS)[None, :]
    inner = (belt.fine > -0.8) & (belt.fine < 1.8)
    assert np.max(np.abs(belt.smooth[inner] - truth[inner])) < 0.05
    assert belt.boot.shape == (50, belt.fine.size, 3)
    assert np.all(np.nanstd(belt.boot[:, inner, 1], axis=0) < 0.03)


def test_calibration_check_finds_nominal_coverage_on_a_normal_family() -> None:
    thetas = np.round(np.arange(-1.0, 2.01, 0.05), 2)
    samples = normal_samples(thetas, 2000, 0.5, seed=12)
    summary = check(samples, "always_fitted").summary()
    # 122,000 held-out values: coverage and the median's share within 3 MCSE of target
    assert abs(summary["coverage"] - 0.95) < 3 * summary["coverage_mcse"] + 0.003
    assert abs(summary["below"] - 0.5) < 3 * summary["below_mcse"] + 0.003
    assert summary["empty_sets"] == 0


def test_calibration_check_catches_a_miscalibrated_belt(monkeypatch) -> None:
    """A belt that is too narrow (edges at the 10% and 90% quantiles) must fail."""
    thetas = np.round(np.arange(-1.0, 2.01, 0.05), 2)
    samples = normal_samples(thetas, 1000, 0.5, seed=13)
    monkeypatch.setattr(belts, "LEVELS", (0.1, 0.5, 0.9))
    summary = calibration.check(samples, "always_fitted").summary()
    assert summary["coverage"] < 0.85


def test_inversion_handles_many_values_at_once() -> None:
    fine = np.linspace(-1, 3, 801)
    curves = np.column_stack([fine - 1, fine, fine + 1])
    t = np.random.default_rng(1).uniform(-3, 5, 5000)
    out = inversion.invert(fine, curves, t)
    single = [inversion.invert(fine, curves, np.array([v])) for v in t[:50]]
    assert [s.lower[0] for s in single] == pytest.approx(out.lower[:50].tolist(), nan_ok=True)
    assert [s.estimate_side[0] for s in single] == out.estimate_side[:50].tolist()
