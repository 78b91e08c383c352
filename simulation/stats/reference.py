"""The reference engine: lifelines, one cohort at a time, behind the fast engine's interface.

:func:`cox_fit_lifelines` and :func:`logrank_test_lifelines` take and return what
:func:`simulation.stats.cox.cox_fit` and :func:`simulation.stats.logrank.logrank_test` do,
so that :mod:`simulation.stats.engines` can swap them and the tests can compare the two on
the same data. lifelines is imported only inside these functions, so choosing the fast
engine never loads it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from simulation.stats.cox import CoxFit, wald_fit
from simulation.stats.cox_input import as_stack
from simulation.stats.logrank import LogrankResult, logrank_test
from simulation.stats.stacking import stack_inputs, unstack

#: lifelines' Newton-Raphson stopping rules, tightened for comparisons at 1e-6. With
#: ``{"precision": 1e-12}`` alone it still stops once the Newton decrement
#: :math:`g^\\top H^{-1} g / 2` is below 1e-12, which on random 40-patient cohorts left
#: coefficients up to 4e-7 (7.5e-5 relative) from the maximum; with these options the
#: largest difference from :func:`cox_fit` was 5e-11 (2e-9 relative).
LIFELINES_FIT_OPTIONS = {"precision": 1e-20, "r_precision": 1e-15}

#: Options of the second attempt when the first fails: lifelines' Newton-Raphson starts
#: with steps of 0.95 x the Newton step and can overshoot into overflow on nearly
#: separated data whose maximum is finite; short first steps reach it.
LIFELINES_RETRY_OPTIONS = {**LIFELINES_FIT_OPTIONS, "step_size": 0.2}

#: A coefficient of a failed lifelines fit counts as separated when its standardised
#: standard error se * sd(x) is at least this (or not finite): its information has
#: vanished, as it does when the coefficient runs off to infinity.
LIFELINES_SEPARATION_STD_SE = 100.0


def cox_fit_lifelines(time: Any, event: Any, X: Any, mask: Any = None,
                      active: Any = None) -> CoxFit:
    """Reference Cox fits: ``lifelines.CoxPHFitter`` (Efron ties), one cohort at a time.

    Each cohort is fitted with ``fit_options=LIFELINES_FIT_OPTIONS`` (lifelines'
    defaults can stop about 1e-4 away from the maximum in small tied cohorts, and even
    ``{"precision": 1e-12}`` about 1e-7 away). Inputs and output are those of
    :func:`cox_fit`.

    A fit counts as converged when lifelines neither raises nor warns
    (``ConvergenceWarning``, or any numerical warning) and no standardised standard
    error ``se * sd(x)`` reaches :data:`LIFELINES_SEPARATION_STD_SE`. If the first
    attempt fails, a second one starts with short steps
    (:data:`LIFELINES_RETRY_OPTIONS`): on nearly separated cohorts whose maximum is
    finite, lifelines' first steps can overshoot into overflow (it raises) or into a
    region where its step size collapses (it warns). lifelines gives no verdict per
    coefficient, so ``separated`` marks, in fits that failed, the coefficients whose
    standardised standard error ``se * sd(x)`` is at least
    :data:`LIFELINES_SEPARATION_STD_SE` or not finite (their information has vanished);
    their se, z, p and interval are NaN, as in :func:`cox_fit`. A cohort without deaths, or whose fits raise, has NaN estimates.
    lifelines does not report its iteration count, so ``n_iter`` is 0.
    """
    # lifelines (and pandas) load only when the reference is used: the fast engine and
    # the bedside never need them.
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    time, event, X, mask, active = as_stack(time, event, X, mask, active)
    B, _, p = X.shape
    coef = np.full((B, p), np.nan)
    se = np.full((B, p), np.nan)
    loglik = np.full(B, np.nan)
    converged = np.zeros(B, dtype=bool)
    separated = np.zeros((B, p), dtype=bool)
    n_iter = np.zeros(B, dtype=int)
    n_used = mask.sum(axis=1)
    events = (event & mask).sum(axis=1)

    for b in range(B):
        cols = np.flatnonzero(active[b])
        coef[b, ~active[b]] = 0.0
        rows = mask[b]
        names = [f"x{k}" for k in cols]
        frame = pd.DataFrame(X[b][rows][:, cols], columns=names)
        frame["time_"] = time[b, rows]
        frame["event_"] = event[b, rows].astype(int)
        if events[b] == 0:
            continue
        for options in (LIFELINES_FIT_OPTIONS, LIFELINES_RETRY_OPTIONS):
            fitter = CoxPHFitter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fitter.fit(frame, "time_", "event_", fit_options=options)
                except (ConvergenceError, np.linalg.LinAlgError, ValueError,
                        ZeroDivisionError, TypeError):
                    continue
            estimate = fitter.params_.to_numpy(dtype=float)
            error = fitter.standard_errors_.to_numpy(dtype=float)
            scale = frame[names].std().to_numpy(dtype=float)
            ok = (not caught and np.isfinite(estimate).all()
                  and bool(np.all(error * scale < LIFELINES_SEPARATION_STD_SE)))
            coef[b, cols] = estimate
            se[b, cols] = error
            loglik[b] = float(fitter.log_likelihood_)
            converged[b] = ok
            if ok:
                break
        if not converged[b] and np.isfinite(coef[b, cols]).all():
            with np.errstate(invalid="ignore"):
                runaway = ~(se[b, cols] * scale < LIFELINES_SEPARATION_STD_SE)
            separated[b, cols] = runaway
            se[b, cols[runaway]] = np.nan
    return wald_fit(coef, se, loglik, converged, separated, n_iter, n_used, events)


def logrank_test_lifelines(time: Any, event: Any, group: Any,
                           mask: Any = None) -> LogrankResult:
    """The reference: ``lifelines.statistics.logrank_test``, one cohort at a time.

    Same inputs and result as :func:`logrank_test`; ``z`` carries the sign of
    observed - expected in group 1 (lifelines reports only the chi-square). Cohorts where
    lifelines cannot compute the test (no deaths, an empty group) get NaN.
    """
    # Deferred: lifelines loads only when the reference is used.
    from lifelines.statistics import logrank_test as lifelines_logrank

    lead, (time_b, event_b, group_b), mask_b = stack_inputs(time, event, group, mask=mask)
    ours = logrank_test(time_b, event_b, group_b, mask_b)
    keep = mask_b & np.isfinite(time_b) & np.isfinite(event_b) & np.isfinite(group_b)
    chi2 = np.full(time_b.shape[0], np.nan)
    p = np.full(time_b.shape[0], np.nan)
    for b in range(time_b.shape[0]):
        one = keep[b] & (group_b[b] != 0)
        zero = keep[b] & (group_b[b] == 0)
        if not (ours.variance[b] > 0):
            continue
        result = lifelines_logrank(time_b[b, one], time_b[b, zero],
                                   event_observed_A=event_b[b, one],
                                   event_observed_B=event_b[b, zero])
        chi2[b] = result.test_statistic
        p[b] = result.p_value
    z = np.sign(ours.observed - ours.expected) * np.sqrt(chi2)
    return LogrankResult(chi2=unstack(chi2, lead), p=unstack(p, lead), z=unstack(z, lead),
                         observed=unstack(ours.observed, lead),
                         expected=unstack(ours.expected, lead),
                         variance=unstack(ours.variance, lead), n=unstack(ours.n, lead),
                         events=unstack(ours.events, lead))

