"""The two-group log-rank test for a stack of cohorts.

With :math:`d_j` deaths among :math:`n_j` at risk at the distinct death time
:math:`t_j`, of whom :math:`d_{1j}` and :math:`n_{1j}` in group 1,

.. math::

    U = \\sum_j \\Big(d_{1j} - d_j \\frac{n_{1j}}{n_j}\\Big), \\qquad
    V = \\sum_j \\frac{n_{1j} (n_j - n_{1j}) d_j (n_j - d_j)}{n_j^2 (n_j - 1)},

:math:`\\chi^2 = U^2 / V` on one degree of freedom, and the standardised statistic
:math:`Z = U / \\sqrt V`, positive when group 1 dies more than expected.

References
----------
.. [1] Mantel N. Evaluation of survival data and two new rank order statistics arising in
   its consideration. Cancer Chemother Rep 1966;50:163-170.
.. [2] Peto R, Peto J. Asymptotically efficient rank invariant test procedures.
   J R Stat Soc A 1972;135:185-207.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import chdtrc

from simulation.stats.km import RiskSets, risk_sets
from simulation.stats.stacking import stack_inputs, unstack


@dataclass(frozen=True)
class LogrankResult:
    """Two-group log-rank tests of a stack of cohorts (NaN where undefined).

    Attributes
    ----------
    chi2, p : ndarray, shape (...)
        :math:`U^2/V` and its upper chi-square(1) tail; NaN when ``V`` is 0 (no deaths,
        or a group empty or out of the risk set at every death), where :math:`U = 0` too
        and the test carries no information (lifelines prints chi2 0, p 1 there).
    z : ndarray, shape (...)
        Standardised statistic :math:`U/\\sqrt V` (group 1 = ``group`` true).
    observed, expected : ndarray, shape (...)
        Deaths observed in group 1 and expected there under the null.
    variance : ndarray, shape (...)
        :math:`V`.
    n, events : ndarray of int, shape (..., 2)
        Rows and deaths used in group 0 and in group 1.
    """

    chi2: np.ndarray
    p: np.ndarray
    z: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    n: np.ndarray
    events: np.ndarray


def _score(sets: RiskSets, in_group: np.ndarray, died: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance of group 1 for sorted 0/1 ``in_group (B, ..., n)``."""
    at_risk_1, _ = sets.tally(in_group)
    _, deaths_1 = sets.tally(in_group * died)
    expand = (slice(None),) + (None,) * (in_group.ndim - 2) + (slice(None),)
    n, d, step = sets.at_risk[expand], sets.deaths[expand], sets.step[expand]
    jump = step & (d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(jump, d * at_risk_1 / n, 0.0)
        var_term = np.where(jump & (n > 1),
                            at_risk_1 * (n - at_risk_1) * d * (n - d) / (n * n * (n - 1)),
                            0.0)
    observed = np.where(jump, deaths_1, 0.0)
    return observed.sum(axis=-1), expected.sum(axis=-1), var_term.sum(axis=-1)


def logrank_test(time: Any, event: Any, group: Any, mask: Any = None) -> LogrankResult:
    """Log-rank test of two groups in each cohort of a stack.

    Parameters
    ----------
    time, event : array_like, shape (..., n)
        Follow-up times and event indicators (1 died, 0 censored).
    group : array_like, shape (..., n)
        Group indicator: 1 (or True) for group 1, 0 for group 0; NaN means missing.
    mask : array_like of bool, shape (..., n), optional
        Rows that belong to the test. Rows with a missing time, event or group are left
        out in any case.

    Returns
    -------
    LogrankResult

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], [1, 1, 0, 0])
    >>> round(float(r.chi2), 4), round(float(r.z), 4)
    (2.8824, 1.6977)
    """
    lead, (time_b, event_b, group_b), mask_b = stack_inputs(time, event, group, mask=mask)
    mask_b = mask_b & np.isfinite(group_b)
    sets = risk_sets(time_b, event_b, mask_b)
    in_group = sets.sort((np.nan_to_num(group_b) != 0).astype(float)) * sets.included
    died = (sets.sort(np.nan_to_num(event_b)) > 0) * sets.included
    observed, expected, variance = _score(sets, in_group, died)
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = variance > 0
        z = np.where(defined, (observed - expected) / np.sqrt(variance), np.nan)
    chi2 = z * z
    n1 = in_group.sum(axis=-1)
    d1 = (in_group * died).sum(axis=-1)
    n = np.stack([sets.included.sum(axis=-1) - n1, n1], axis=-1).astype(int)
    events = np.stack([died.sum(axis=-1) - d1, d1], axis=-1).astype(int)
    return LogrankResult(chi2=unstack(chi2, lead), p=unstack(chdtrc(1, chi2), lead),
                         z=unstack(z, lead), observed=unstack(observed, lead),
                         expected=unstack(expected, lead), variance=unstack(variance, lead),
                         n=unstack(n, lead), events=unstack(events, lead))
