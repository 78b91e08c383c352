"""Calibration: the solved design hits the targets, checked by independent routes."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import quad

from simulation.cohorts.calibrate import (
    Calibration,
    CalibrationError,
    calibrate,
    dropout_rate,
    risk_distribution,
)
from simulation.cohorts.covariates import reference_covariates
from simulation.cohorts.generate import censoring_times
from simulation.cohorts.scenarios import BUILTINS, get_scenario


@pytest.mark.parametrize("name", list(BUILTINS))
def test_expected_outcomes_equal_the_targets(name):
    scenario = get_scenario(name)
    c = calibrate(scenario)
    t = scenario.targets
    assert c.expected_death_fraction == pytest.approx(t.death_fraction, abs=1e-9)
    assert c.expected_median_followup_months == pytest.approx(t.median_followup_months, abs=1e-8)
    assert c.expected_median_os_months == pytest.approx(t.median_os_months, abs=1e-8)
    assert c.expected_median_pfs_months == pytest.approx(t.median_pfs_months, abs=1e-8)
    assert c.expected_pfs_event_fraction == pytest.approx(t.pfs_event_fraction, abs=1e-9)
    assert c.followup_after_accrual_months == 0.0  # the default design
    assert 0.2 < c.weibull_shape < 5 and 0.2 < c.pfs_weibull_shape < 5


def _marginal_survival(scenario, t, scale, shape):
    risk, weights = risk_distribution(scenario)
    return float(np.exp(-((t / scale) ** shape) * np.exp(risk)) @ weights)


def test_death_fraction_by_direct_quadrature_of_the_density():
    """P(T <= C) = int S_C(t) f(t) dt with the density itself (not by parts), by QUADPACK."""
    scenario = get_scenario("tog2025")
    c = calibrate(scenario)
    risk, weights = risk_distribution(scenario)
    k, lam, mu, accrual = (c.weibull_shape, c.os_scale_months, c.dropout_rate_per_month,
                           scenario.accrual_months)

    def integrand(t):
        base = (t / lam) ** k
        density = (k / t) * base * np.exp(risk) * np.exp(-base * np.exp(risk))
        censor = math.exp(-mu * t) * (accrual - t) / accrual
        return float(density @ weights) * censor

    value, error = quad(integrand, 0.0, accrual, limit=200, epsabs=1e-12)
    assert value == pytest.approx(scenario.targets.death_fraction, abs=1e-7)


def test_median_os_and_pfs_from_the_marginal_survival():
    scenario = get_scenario("tog2025")
    c = calibrate(scenario)
    t = scenario.targets
    assert _marginal_survival(scenario, t.median_os_months, c.os_scale_months,
                              c.weibull_shape) == pytest.approx(0.5, abs=1e-10)
    risk, weights = risk_distribution(scenario)
    m = t.median_pfs_months
    hazard = (m / c.os_scale_months) ** c.weibull_shape + \
        (m / c.pfs_scale_months) ** c.pfs_weibull_shape
    assert float(np.exp(-hazard * np.exp(risk)) @ weights) == pytest.approx(0.5, abs=1e-10)


def test_median_censoring_time_by_simulation():
    """The median of C (what reverse Kaplan-Meier estimates) is the follow-up target."""
    scenario = get_scenario("tog2025")
    c = calibrate(scenario)
    _, censor = censoring_times(400_000, c, scenario.accrual_months,
                                np.random.default_rng(11))
    # SE of a sample median of 400,000 is about 0.04 months here
    assert np.median(censor) == pytest.approx(scenario.targets.median_followup_months, abs=0.15)


def test_dropout_rate_closed_form():
    mu = dropout_rate(0.0, 45.0, 20.4)
    assert math.exp(-mu * 20.4) * (45.0 - 20.4) / 45.0 == pytest.approx(0.5, abs=1e-14)
    assert dropout_rate(30.0, 45.0, 20.4) == pytest.approx(math.log(2) / 20.4)
    with pytest.raises(ValueError):
        dropout_rate(0.0, 30.0, 20.4)


def test_deterministic_and_cached():
    scenario = get_scenario("tog2025-null-pni")
    first = calibrate(scenario)
    assert calibrate(scenario) is first
    calibrate.cache_clear()
    reference_covariates.cache_clear()
    again = calibrate(scenario)
    assert again == first and again is not first
    assert isinstance(first, Calibration) and first.to_dict()["os_scale_months"] > 0


def test_fixed_shape_solves_the_end_of_study():
    scenario = replace(get_scenario("tog2025"), name="fixed-shape", weibull_shape=0.8,
                       followup_after_accrual_months=None)
    c = calibrate(scenario)
    assert c.weibull_shape == 0.8 and c.followup_after_accrual_months > 0
    assert c.expected_death_fraction == pytest.approx(scenario.targets.death_fraction, abs=1e-9)
    assert c.expected_median_followup_months == pytest.approx(20.4, abs=1e-8)


def test_unreachable_death_fraction_names_the_reachable_range():
    # With a constant baseline hazard the published death fraction is out of reach.
    scenario = replace(get_scenario("tog2025"), name="exponential", weibull_shape=1.0,
                       followup_after_accrual_months=None)
    with pytest.raises(CalibrationError, match=r"death_fraction 0.690 cannot be reached.*"
                                               r"reachable: 0\.\d+ to 0\.\d+"):
        calibrate(scenario)


def test_follow_up_longer_than_the_design_allows():
    scenario = replace(get_scenario("tog2025"), name="long",
                       targets=replace(get_scenario("tog2025").targets,
                                       median_followup_months=30.0))
    with pytest.raises(CalibrationError, match="median follow-up 30 months is longer"):
        calibrate(scenario)


def test_without_a_pfs_event_target_progression_shares_the_death_shape():
    base = get_scenario("tog2025")
    scenario = replace(base, name="no-pfs-target",
                       targets=replace(base.targets, pfs_event_fraction=None))
    c = calibrate(scenario)
    assert c.pfs_weibull_shape == c.weibull_shape == calibrate(base).weibull_shape
    assert c.expected_median_pfs_months == pytest.approx(base.targets.median_pfs_months)
