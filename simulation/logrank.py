"""The two-group log-rank test for a stack of cohorts, and its scan over cut-offs.

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
.. [3] Lausen B, Schumacher M. Maximally selected rank statistics. Biometrics
   1992;48:73-85 (the standardised statistic over cut-offs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.km import RiskSets, risk_sets, stack_inputs, unstack


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
    from scipy.special import chdtrc

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


def logrank_test_lifelines(time: Any, event: Any, group: Any,
                           mask: Any = None) -> LogrankResult:
    """The reference: ``lifelines.statistics.logrank_test``, one cohort at a time.

    Same inputs and result as :func:`logrank_test`; ``z`` carries the sign of
    observed - expected in group 1 (lifelines reports only the chi-square). Cohorts where
    lifelines cannot compute the test (no deaths, an empty group) get NaN.
    """
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


@dataclass(frozen=True)
class CutoffScan:
    """Standardised log-rank statistics of ``marker < c`` against ``marker >= c`` for
    every observed value ``c`` of the marker, in each cohort of a stack.

    Attributes
    ----------
    cutoffs : ndarray, shape (..., n)
        The distinct observed marker values in increasing order, NaN-padded.
    z : ndarray, shape (..., n)
        :math:`U/\\sqrt V` with group 1 = ``marker < c``; NaN where undefined (the lowest
        value leaves group 1 empty) or padded.
    low_share : ndarray, shape (..., n)
        Share of the rows used that have ``marker < c``.
    """

    cutoffs: np.ndarray
    z: np.ndarray
    low_share: np.ndarray


def logrank_cutoff_scan(time: Any, event: Any, marker: Any, mask: Any = None) -> CutoffScan:
    """Log-rank statistics over all cut-offs of a marker (for maximally selected cut-offs).

    The runner's ``maxstat`` method takes :math:`\\max |Z|` over the cut-offs whose
    ``low_share`` lies in its chosen range and corrects its p-value (Lausen & Schumacher
    1992). Cost is ``O(B n^2)`` memory and time: chunk large stacks.

    >>> s = logrank_cutoff_scan([1, 2, 3, 4], [1, 1, 1, 1], [10, 20, 30, 40])
    >>> s.cutoffs.tolist(), [round(v, 4) for v in s.z.tolist()[1:]]
    ([10.0, 20.0, 30.0, 40.0], [1.7321, 1.6977, 1.3338])
    """
    lead, (time_b, event_b, marker_b), mask_b = stack_inputs(time, event, marker, mask=mask)
    mask_b = mask_b & np.isfinite(marker_b)
    sets = risk_sets(time_b, event_b, mask_b)
    used = mask_b & np.isfinite(time_b) & np.isfinite(event_b)
    # Candidate cut-offs: distinct used marker values, increasing, NaN-padded.
    values = np.sort(np.where(used, marker_b, np.inf), axis=-1)
    distinct = np.ones(values.shape, dtype=bool)
    distinct[:, 1:] = values[:, 1:] != values[:, :-1]
    distinct &= np.isfinite(values)
    rank = np.cumsum(distinct, axis=-1) - 1
    cutoffs = np.full(values.shape, np.nan)
    rows, cols = np.nonzero(distinct)
    cutoffs[rows, rank[rows, cols]] = values[rows, cols]

    marker_sorted = sets.sort(np.where(used, marker_b, np.nan))
    with np.errstate(invalid="ignore"):
        below = (marker_sorted[:, None, :] < cutoffs[:, :, None]) & sets.included[:, None, :]
    in_group = below.astype(float)
    died = ((sets.sort(np.nan_to_num(event_b)) > 0) & sets.included).astype(float)
    observed, expected, variance = _score(sets, in_group, died[:, None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (observed - expected) / np.sqrt(variance), np.nan)
        n_used = sets.included.sum(axis=-1, keepdims=True)
        share = np.where(np.isfinite(cutoffs), in_group.sum(axis=-1) / n_used, np.nan)
    return CutoffScan(cutoffs=unstack(cutoffs, lead), z=unstack(z, lead),
                      low_share=unstack(share, lead))
