"""The log-rank test for trend across ordered groups, for a stack of cohorts at once.

Each patient carries a score :math:`s` (the group's rank, e.g. 0, 1, 2, 3 adverse
factors). With :math:`d_j` deaths among the :math:`n_j` at risk at the distinct death time
:math:`t_j`,

.. math::

    U = \\sum_j \\Big(\\sum_{i \\in D_j} s_i - d_j\\,\\bar s_j\\Big), \\qquad
    V = \\sum_j \\frac{d_j (n_j - d_j)}{n_j - 1}\\,
        \\Big(\\overline{s^2}_j - \\bar s_j^{\\,2}\\Big),

with :math:`\\bar s_j` and :math:`\\overline{s^2}_j` the means of :math:`s` and
:math:`s^2` over the risk set, and :math:`\\chi^2 = U^2 / V` on one degree of freedom.
:math:`U = s^\\top(O - E)` and :math:`V = s^\\top \\mathbf{V} s` in terms of the observed
and expected deaths per group and the hypergeometric covariance matrix :math:`\\mathbf V`
of the k-group log-rank test, which is how it is computed from R's ``survdiff`` (its
``obs``, ``exp`` and ``var``). With two groups scored 0 and 1 it is the log-rank test.
Without tied death times it equals the score test of a Cox model with :math:`s` as a
numeric covariate; with ties it is that score test under Breslow's likelihood with the
hypergeometric variance.

References
----------
.. [1] Peto R, Pike MC, Armitage P, et al. Design and analysis of randomized clinical
   trials requiring prolonged observation of each patient. II. Analysis and examples.
   Br J Cancer 1977;35:1-39 (the test for trend).
.. [2] Collett D. Modelling Survival Data in Medical Research, 3rd ed. CRC Press 2015,
   section 2.7 (the log-rank test for trend).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import chdtrc

from simulation.stats.km import risk_sets
from simulation.stats.stacking import stack_inputs, unstack


@dataclass(frozen=True)
class TrendResult:
    """Log-rank tests for trend of a stack of cohorts (NaN where undefined).

    Attributes
    ----------
    chi2, p : ndarray, shape (...)
        :math:`U^2/V` and its upper chi-square(1) tail; NaN when :math:`V = 0` (no deaths,
        or the score constant in every risk set with a death).
    z : ndarray, shape (...)
        :math:`U / \\sqrt V`, positive when higher scores die more than expected.
    score, variance : ndarray, shape (...)
        :math:`U` and :math:`V`.
    n, events : ndarray of int, shape (...)
        Rows and deaths used.
    """

    chi2: np.ndarray
    p: np.ndarray
    z: np.ndarray
    score: np.ndarray
    variance: np.ndarray
    n: np.ndarray
    events: np.ndarray


def logrank_trend(time: Any, event: Any, score: Any, mask: Any = None) -> TrendResult:
    """Log-rank test for trend in ``score`` (module docstring) in each cohort of a stack.

    Parameters
    ----------
    time, event : array_like, shape (..., n)
        Follow-up times and event indicators (1 died, 0 censored).
    score : array_like, shape (..., n)
        Each patient's group score (e.g. the number of adverse factors); NaN is missing.
    mask : array_like of bool, shape (..., n), optional
        Rows that belong to the test; rows with a missing value are left out anyway.

    Examples
    --------
    Deaths at 1, 2, 3 and 4 with scores 2, 1, 1, 0: at t = 1 the mean score at risk is
    1 and the death scores 2; at t = 2, mean 2/3, death 1; at t = 3, mean 1/2, death 1;
    so U = 1 + 1/3 + 1/2 = 11/6 and V = 1/2 + 2/9 + 1/4 = 35/36:

    >>> r = logrank_trend([1, 2, 3, 4], [1, 1, 1, 1], [2, 1, 1, 0])
    >>> round(float(r.score), 6), round(float(r.variance), 6), round(float(r.chi2), 6)
    (1.833333, 0.972222, 3.457143)
    """
    lead, (time_b, event_b, score_b), mask_b = stack_inputs(time, event, score, mask=mask)
    mask_b = mask_b & np.isfinite(score_b)
    sets = risk_sets(time_b, event_b, mask_b)
    s = sets.sort(np.nan_to_num(score_b)) * sets.included
    died = (sets.sort(np.nan_to_num(event_b)) > 0) * sets.included
    sum_s, _ = sets.tally(s)
    sum_s2, _ = sets.tally(s * s)
    _, death_s = sets.tally(s * died)
    n, d = sets.at_risk, sets.deaths
    jump = sets.step & (d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(jump, sum_s / n, 0.0)
        spread = np.where(jump, sum_s2 / n - mean * mean, 0.0)
        u = np.where(jump, death_s - d * mean, 0.0).sum(axis=-1)
        v = np.where(jump & (n > 1), d * (n - d) / (n - 1) * spread, 0.0).sum(axis=-1)
        z = np.where(v > 0, u / np.sqrt(v), np.nan)
    chi2 = z * z
    return TrendResult(chi2=unstack(chi2, lead), p=unstack(chdtrc(1, chi2), lead),
                       z=unstack(z, lead), score=unstack(u, lead),
                       variance=unstack(v, lead),
                       n=unstack(sets.included.sum(axis=-1).astype(int), lead),
                       events=unstack(died.sum(axis=-1).astype(int), lead))
