"""The calibration slope of a published Cox model in new data, for a stack of cohorts.

The published model's linear predictor :math:`\\eta_i = x_i^\\top \\hat\\beta_{\\mathrm{pub}}`
is entered as the only covariate of a Cox model in the validation data,

.. math:: h_i(t) = h_0(t) \\exp(b\\,\\eta_i),

and :math:`\\hat b` is the calibration slope (Efron ties, Wald interval). :math:`b = 1` when
the published effects hold in the new patients as they are; :math:`b < 1` when they are
too extreme for them (typically over-fitting in the development data), :math:`b > 1` when
too modest. The test of :math:`b = 1` is the Wald test :math:`z = (\\hat b - 1)/\\mathrm{se}`,
the same as the Wald test of the coefficient of :math:`\\eta` in a model with
:math:`\\eta` also as an offset (R: ``coxph(Surv(t, e) ~ lp + offset(lp))``).

A slope describes relative calibration only: calibration in the large (observed against
predicted absolute risk) needs the model's baseline survival.

References
----------
.. [1] Van Houwelingen HC. Validation, calibration, revision and combination of
   prognostic survival models. Stat Med 2000;19:3401-3415.
.. [2] Royston P, Altman DG. External validation of a Cox prognostic model: principles
   and methods. BMC Med Res Methodol 2013;13:33.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from simulation.stats.cox import cox_fit
from simulation.stats.stacking import stack_inputs, unstack


@dataclass(frozen=True)
class CalibrationSlope:
    """Calibration slopes of a stack of cohorts (NaN where not estimable).

    Attributes
    ----------
    slope, se : ndarray, shape (...)
        :math:`\\hat b` and its standard error (inverse observed information).
    ci : ndarray, shape (..., 2)
        95% Wald interval.
    z_vs_one, p_vs_one : ndarray, shape (...)
        Wald test of :math:`b = 1`: :math:`(\\hat b - 1)/\\mathrm{se}` and its two-sided p.
    converged, separated : ndarray of bool, shape (...)
        The Cox fit converged; the slope has no finite estimate (monotone likelihood:
        every death had the highest, or every one the lowest, predictor in its risk set).
    varies : ndarray of bool, shape (...)
        The linear predictor takes at least two values among the rows used.
    n, events : ndarray of int, shape (...)
        Rows and deaths used.
    """

    slope: np.ndarray
    se: np.ndarray
    ci: np.ndarray
    z_vs_one: np.ndarray
    p_vs_one: np.ndarray
    converged: np.ndarray
    separated: np.ndarray
    varies: np.ndarray
    n: np.ndarray
    events: np.ndarray


def calibration_slope(time: Any, event: Any, linear_predictor: Any,
                      mask: Any = None) -> CalibrationSlope:
    """Calibration slope of ``linear_predictor`` in each cohort (module docstring).

    Parameters
    ----------
    time, event : array_like, shape (..., n)
        Follow-up times and event indicators (1 died, 0 censored).
    linear_predictor : array_like, shape (..., n)
        The published model's log relative hazard of each patient.
    mask : array_like of bool, shape (..., n), optional
        Rows that belong to the fit; rows with a missing value are left out anyway.

    Examples
    --------
    A predictor that doubles the true log hazard ratio of the data is calibrated with a
    slope near 1/2:

    >>> rng = np.random.default_rng(3)
    >>> x = rng.integers(0, 2, 4000).astype(float)
    >>> t = rng.exponential(1.0 / np.exp(0.7 * x))
    >>> r = calibration_slope(t, np.ones(4000), 1.4 * x)
    >>> round(float(r.slope), 2), bool(r.p_vs_one < 0.001)
    (0.51, True)
    """
    lead, (time_b, event_b, lp_b), mask_b = stack_inputs(time, event, linear_predictor,
                                                         mask=mask)
    used = mask_b & np.isfinite(time_b) & np.isfinite(event_b) & np.isfinite(lp_b)
    spread = (np.where(used, lp_b, -np.inf).max(axis=-1)
              > np.where(used, lp_b, np.inf).min(axis=-1))
    fit = cox_fit(np.where(used, time_b, 0.0), np.where(used, event_b, 0.0),
                  np.where(used, lp_b, 0.0)[..., None], used)
    ok = spread & fit.converged & ~fit.separated[:, 0]
    slope = np.where(spread & ~np.isnan(fit.coef[:, 0]), fit.coef[:, 0], np.nan)
    se = np.where(ok, fit.se[:, 0], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(ok, (slope - 1.0) / se, np.nan)
    ci = np.stack([np.where(ok, fit.ci_lower[:, 0], np.nan),
                   np.where(ok, fit.ci_upper[:, 0], np.nan)], axis=-1)
    return CalibrationSlope(slope=unstack(np.where(ok, slope, np.nan), lead),
                            se=unstack(se, lead), ci=unstack(ci, lead),
                            z_vs_one=unstack(z, lead),
                            p_vs_one=unstack(2.0 * ndtr(-np.abs(z)), lead),
                            converged=unstack(fit.converged, lead),
                            separated=unstack(fit.separated[:, 0] & spread, lead),
                            varies=unstack(spread, lead),
                            n=unstack(used.sum(axis=-1), lead),
                            events=unstack(((event_b > 0) & used).sum(axis=-1), lead))
