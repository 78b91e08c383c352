"""The calibration slope (simulation.stats.calibration).

R's ``coxph`` (slope, SE, and the test of slope = 1 through an offset) is the oracle in
test_r_validation.py; here: what the slope means (scaling the predictor divides it), the
test of slope = 1 as a Wald test, and what cannot be estimated.
"""

import numpy as np
import pytest
from scipy.special import ndtr

from simulation.stats.calibration import calibration_slope
from simulation.stats.cox import cox_fit


def data(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lp = rng.integers(0, 4, n) * 0.6
    time = np.ceil(10 * rng.exponential(np.exp(-lp)))
    event = (rng.random(n) < 0.8).astype(float)
    return time, event, lp


def test_the_slope_is_the_cox_coefficient_and_scales_inversely() -> None:
    time, event, lp = data(1)
    r = calibration_slope(time, event, lp)
    fit = cox_fit(time, event, lp)
    assert float(r.slope) == pytest.approx(float(fit.coef[0, 0]), abs=1e-12)
    assert float(r.se) == pytest.approx(float(fit.se[0, 0]), abs=1e-12)
    doubled = calibration_slope(time, event, 2 * lp)
    assert float(doubled.slope) == pytest.approx(float(r.slope) / 2, rel=1e-8)
    assert float(doubled.z_vs_one) < float(r.z_vs_one)


def test_the_test_of_slope_one_is_a_wald_test() -> None:
    time, event, lp = data(2)
    r = calibration_slope(time, event, lp)
    z = (float(r.slope) - 1) / float(r.se)
    assert float(r.z_vs_one) == pytest.approx(z, abs=1e-12)
    assert float(r.p_vs_one) == pytest.approx(2 * ndtr(-abs(z)), abs=1e-12)
    assert r.ci.tolist() == pytest.approx([float(r.slope) - 1.959963984540054 * float(r.se),
                                           float(r.slope) + 1.959963984540054 * float(r.se)])


def test_stack_mask_and_missing_values() -> None:
    time, event, lp = (np.stack(a) for a in zip(data(3), data(4), strict=True))
    mask = np.random.default_rng(5).random(time.shape) < 0.9
    lp_missing = np.where(np.random.default_rng(6).random(lp.shape) < 0.05, np.nan, lp)
    r = calibration_slope(time, event, lp_missing, mask)
    for b in range(2):
        keep = mask[b] & np.isfinite(lp_missing[b])
        alone = calibration_slope(time[b, keep], event[b, keep], lp[b, keep])
        assert float(r.slope[b]) == pytest.approx(float(alone.slope), abs=1e-10)
        assert int(r.n[b]) == int(keep.sum())


def test_what_cannot_be_estimated_is_nan_with_the_reason() -> None:
    time, event, lp = data(7, 50)
    constant = calibration_slope(time, event, np.ones(50))
    assert np.isnan(constant.slope) and not bool(constant.varies)
    # Every death has the highest predictor of its risk set: monotone likelihood.
    separated = calibration_slope([1, 2, 3, 4, 5, 6], [1, 1, 0, 0, 0, 0],
                                  [1, 1, 0, 0, 0, 0])
    assert bool(separated.separated) and np.isnan(separated.slope) and np.isnan(separated.se)
    no_deaths = calibration_slope(time, np.zeros(50), lp)
    assert np.isnan(no_deaths.slope) and int(no_deaths.events) == 0
