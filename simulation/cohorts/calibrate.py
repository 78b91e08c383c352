"""Calibration of the baseline hazards and the censoring to a scenario's targets.

Nothing is tuned by hand. For a scenario, four numbers are solved:

* the Weibull scale of death, :math:`\\lambda`, so that the marginal median OS is the
  target;
* the Weibull scale and shape of progression, :math:`\\lambda_p, k_p`, so that the
  marginal median PFS (progression or death) and the expected share of patients with a
  PFS event are the targets;
* the drop-out rate :math:`\\mu` and the follow-up after the end of accrual :math:`a`, so
  that the median follow-up by reverse Kaplan-Meier and the death fraction are the
  targets.

All four solve *expected* (large-sample) quantities, computed deterministically: the
distribution of the linear predictor is taken from one fixed reference sample of
:data:`REFERENCE_SIZE` patients drawn with the fixed seed :data:`REFERENCE_SEED` (its
distinct values with their frequencies), and the death fraction is an integral done by
Gauss-Legendre quadrature. Results are cached per scenario, so a process calibrates each
scenario once.

The expectations used, with :math:`S(t) = \\mathrm{E}_x \\exp(-(t/\\lambda)^k e^{\\eta(x)})`
the marginal survival of death, :math:`F = 1 - S`, :math:`A` the accrual window, entry
uniform on :math:`[0, A]` and censoring :math:`C = \\min(A + a - \\mathrm{entry}, D)`,
:math:`D \\sim \\mathrm{Exp}(\\mu)`:

* censoring survival :math:`S_C(t) = e^{-\\mu t} G(t)`, with :math:`G(t) = 1` for
  :math:`t \\le a`, :math:`(a + A - t)/A` for :math:`a \\le t \\le a + A`, 0 after;
* the reverse Kaplan-Meier estimator is consistent for :math:`S_C` (Schemper & Smith
  1996), so the expected median follow-up :math:`m` solves :math:`S_C(m) = 1/2`, which
  gives :math:`\\mu = \\ln(2 G(m)) / m` in closed form for each :math:`a`;
* the death fraction is :math:`P(T \\le C) = \\int S_C\\, dF`, which by parts is

  .. math::
      \\int_0^{a+A} F(t)\\,\\mu e^{-\\mu t} G(t)\\,dt
      + \\frac{1}{A} \\int_a^{a+A} F(t)\\, e^{-\\mu t}\\,dt ,

  smooth integrands for Gauss-Legendre; :math:`a` is then found by Brent's method.

References
----------
.. [1] Schemper M, Smith TL. A note on quantifying follow-up in studies of failure time.
   Control Clin Trials 1996;17:343-6.
.. [2] Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox
   proportional hazards models. Stat Med 2005;24:1713-23.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from calculator.errors import InputError
from simulation.cohorts.covariates import reference_covariates
from simulation.cohorts.scenarios import Scenario, linear_predictor

#: Gauss-Legendre nodes per integration piece.
QUADRATURE_NODES = 64

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(QUADRATURE_NODES)


class CalibrationError(InputError):
    """A scenario whose targets cannot all be reached (names the target and the range)."""


@dataclass(frozen=True)
class Calibration:
    """The solved design of a scenario, with the expected outcomes it implies."""

    weibull_shape: float
    pfs_weibull_shape: float
    os_scale_months: float
    pfs_scale_months: float
    followup_after_accrual_months: float
    dropout_rate_per_month: float
    expected_death_fraction: float
    expected_median_followup_months: float
    expected_median_os_months: float
    expected_median_pfs_months: float
    expected_pfs_event_fraction: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def risk_distribution(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Distinct linear-predictor values of the reference sample and their frequencies."""
    eta = linear_predictor(reference_covariates(scenario.ecog2_share), scenario)
    values, counts = np.unique(np.round(eta, 12), return_counts=True)
    return values, counts / counts.sum()


def _mean_survival(cumulative_hazard: npt.ArrayLike, risk: np.ndarray,
                   weights: np.ndarray) -> np.ndarray:
    """E_x exp(-H e^eta) for each baseline cumulative hazard H (any shape)."""
    h = np.asarray(cumulative_hazard, dtype=float)
    return np.exp(-np.multiply.outer(h, np.exp(risk))) @ weights


def _solve_median_hazard(risk: np.ndarray, weights: np.ndarray) -> float:
    """The baseline cumulative hazard H at which the marginal survival is 1/2."""
    def excess(log_h: float) -> float:
        return float(_mean_survival(math.exp(log_h), risk, weights)) - 0.5

    return math.exp(brentq(excess, -60.0, 60.0, xtol=1e-14, rtol=1e-14))


def _censoring_admin(t: npt.ArrayLike, after: float, accrual: float) -> np.ndarray:
    """G(t): share of patients still under administrative follow-up at time t."""
    return np.clip((after + accrual - np.asarray(t, dtype=float)) / accrual, 0.0, 1.0)


def dropout_rate(after: float, accrual: float, median_followup: float) -> float:
    """The drop-out rate that makes the median of C equal ``median_followup``.

    .. math:: \\mu = \\ln\\bigl(2\\,G(m)\\bigr) / m
    """
    g = float(_censoring_admin(median_followup, after, accrual))
    if g < 0.5:
        raise ValueError("administrative follow-up too short for this median")
    return math.log(2.0 * g) / median_followup


def _legendre(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    half = 0.5 * (b - a)
    return a + half * (_NODES + 1.0), half * _WEIGHTS


def event_fraction(cdf, after: float, accrual: float, rate: float) -> float:
    """P(T <= C) for an event time with distribution function ``cdf`` (by parts)."""
    total = 0.0
    pieces = [(0.0, after), (after, after + accrual)] if after > 0 else [(0.0, accrual)]
    for a, b in pieces:
        t, w = _legendre(a, b)
        decay = np.exp(-rate * t)
        g = _censoring_admin(t, after, accrual)
        integrand = cdf(t) * decay * (rate * g + ((t > after) / accrual))
        total += float(integrand @ w)
    return total


def _expected_median(survival, guess: float) -> float:
    """Where a decreasing survival function crosses 1/2."""
    hi = guess
    while survival(hi) > 0.5:
        hi *= 2.0
    return brentq(lambda t: survival(t) - 0.5, 0.0, hi, xtol=1e-12)


def _first_root(excess, grid: np.ndarray, target_name: str, target: float,
                unreachable: str) -> float:
    """The smallest root of ``excess`` on ``grid`` (bracketed, then Brent's method)."""
    values = np.array([excess(x) for x in grid])
    if values[0] == 0.0:
        return float(grid[0])
    crossing = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))
    if crossing.size == 0:
        low, high = target + float(np.min(values)), target + float(np.max(values))
        raise CalibrationError(
            target_name, target, None, f"between {low:.3f} and {high:.3f}",
            f"{target_name.split('.')[-1]} {target:.3f} cannot be reached {unreachable}; "
            f"reachable: {low:.3f} to {high:.3f}",
            "change the targets or the design")
    i = int(crossing[0])
    return float(brentq(excess, grid[i], grid[i + 1], xtol=1e-13, rtol=1e-13))


#: Where the Weibull shape is searched when it is calibrated, and the points of the
#: geometric grid that brackets the smallest root before Brent's method refines it.
SHAPE_RANGE = (0.2, 5.0)
SHAPE_GRID_POINTS = 13


@lru_cache(maxsize=None)
def calibrate(scenario: Scenario) -> Calibration:
    """Solve the Weibull scales and shape, drop-out rate and end of study for ``scenario``.

    The Weibull scales come from the median OS and PFS targets; the drop-out rate from
    the median follow-up target (closed form for a given end of study); then whichever of
    the Weibull shape and the follow-up after accrual the scenario leaves
    ``"calibrated"`` is solved so that the expected death fraction is the target. If
    several values do (the death fraction need not be monotone in the end of study), the
    smallest is taken.

    Raises
    ------
    CalibrationError
        If a target cannot be reached with the rest of the design (the message gives the
        reachable range).
    """
    risk, weights = risk_distribution(scenario)
    targets = scenario.targets
    accrual = scenario.accrual_months
    m = targets.median_followup_months
    h_half = _solve_median_hazard(risk, weights)
    os_ratio = targets.median_pfs_months / targets.median_os_months

    def os_scale(k: float) -> float:
        return targets.median_os_months / h_half ** (1.0 / k)

    def pfs_scale(k: float, k_p: float) -> float:
        return targets.median_pfs_months / (h_half * (1.0 - os_ratio ** k)) ** (1.0 / k_p)

    def os_cdf(k: float):
        scale = os_scale(k)
        return lambda t: 1.0 - _mean_survival((t / scale) ** k, risk, weights)

    def death_fraction(k: float, after: float) -> float:
        return event_fraction(os_cdf(k), after, accrual, dropout_rate(after, accrual, m))

    after_low = max(0.0, m - accrual / 2.0)
    if scenario.weibull_shape is None:
        # The scenario's validation leaves exactly one of the two to calibrate.
        assert scenario.followup_after_accrual_months is not None
        after = float(scenario.followup_after_accrual_months)
        if after < after_low:
            raise CalibrationError(
                "targets.median_followup_months", m, None,
                f"at most {(after + accrual / 2.0):g} months",
                f"median follow-up {m:g} months is longer than the administrative follow-up "
                f"allows (accrual {accrual:g} months, then {after:g} months)",
                "lengthen followup_after_accrual_months or make it 'calibrated'")
        shape = _first_root(lambda k: death_fraction(k, after) - targets.death_fraction,
                            np.geomspace(*SHAPE_RANGE, SHAPE_GRID_POINTS), "targets.death_fraction",
                            targets.death_fraction,
                            f"with any Weibull shape in {SHAPE_RANGE} (median follow-up "
                            f"{m:g}, accrual {accrual:g} + {after:g} months)")
    else:
        shape = float(scenario.weibull_shape)
        grid = after_low + np.concatenate(([0.0], np.geomspace(1e-3, 50.0, 60))) * max(m, accrual)
        after = _first_root(lambda a: death_fraction(shape, a) - targets.death_fraction,
                            grid, "targets.death_fraction", targets.death_fraction,
                            f"with Weibull shape {shape:g} at any end of study (median "
                            f"follow-up {m:g}, accrual {accrual:g} months)")
    rate = dropout_rate(after, accrual, m)
    k, os_lambda = shape, os_scale(shape)

    def pfs_cdf(k_p: float):
        pfs_lambda = pfs_scale(k, k_p)
        return lambda t: 1.0 - _mean_survival((t / os_lambda) ** k + (t / pfs_lambda) ** k_p,
                                              risk, weights)

    if targets.pfs_event_fraction is None:
        k_p = k
    else:
        k_p = _first_root(
            lambda x: event_fraction(pfs_cdf(x), after, accrual, rate) - targets.pfs_event_fraction,
            np.geomspace(*SHAPE_RANGE, SHAPE_GRID_POINTS), "targets.pfs_event_fraction",
            targets.pfs_event_fraction, f"with any progression Weibull shape in {SHAPE_RANGE}")

    def censor_survival(t: float) -> float:
        return math.exp(-rate * t) * float(_censoring_admin(t, after, accrual))

    return Calibration(
        weibull_shape=float(k),
        pfs_weibull_shape=float(k_p),
        os_scale_months=float(os_lambda),
        pfs_scale_months=float(pfs_scale(k, k_p)),
        followup_after_accrual_months=float(after),
        dropout_rate_per_month=float(rate),
        expected_death_fraction=event_fraction(os_cdf(k), after, accrual, rate),
        expected_median_followup_months=_expected_median(censor_survival, m),
        expected_median_os_months=_expected_median(lambda t: 1 - float(os_cdf(k)(t)),
                                                   targets.median_os_months),
        expected_median_pfs_months=_expected_median(lambda t: 1 - float(pfs_cdf(k_p)(t)),
                                                    targets.median_pfs_months),
        expected_pfs_event_fraction=event_fraction(pfs_cdf(k_p), after, accrual, rate),
    )
