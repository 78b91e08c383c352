"""The two-group log-rank test for a stack of cohorts, and its statistic over cut-offs.

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


#: Largest number of (cut-off x patient) cells :func:`logrank_z_at_cutoffs` holds at once.
SCAN_CELLS = 4_000_000


def logrank_z_at_cutoffs(time: Any, event: Any, marker: Any, cutoffs: Any, mask: Any = None,
                         max_cells: int = SCAN_CELLS) -> np.ndarray:
    """Standardised log-rank statistics of ``marker < c`` against ``marker >= c`` for many
    cut-offs ``c`` (for maximally selected cut-offs).

    Each cohort is sorted by time once (:func:`simulation.stats.km.risk_sets`) and the
    statistics of the cut-offs are computed in blocks of at most ``max_cells``
    (cut-off x patient) cells, so memory stays bounded for a cohort of a million patients.
    :math:`Z = U / \\sqrt V` (module docstring) with group 1 = ``marker < c``: the ``z`` of
    :func:`logrank_test` on each grouping. The runner's ``maxstat`` method takes
    :math:`\\max |Z|` over its candidate cut-offs and corrects its p-value (Lausen &
    Schumacher 1992).

    Parameters
    ----------
    time, event, marker : array_like, shape (..., n)
        Follow-up times, event indicators (1 died, 0 censored) and the marker; rows with a
        missing time, event or marker are left out.
    cutoffs : array_like, shape (..., K)
        Cut-offs of each cohort; NaN entries (padding) give NaN.
    mask : array_like of bool, shape (..., n), optional
        Rows that belong to the analysis.
    max_cells : int
        Memory bound of one block.

    Returns
    -------
    ndarray, shape (..., K)
        :math:`Z` per cut-off; NaN where :math:`V = 0` (e.g. a cut-off at or below the
        lowest marker value leaves group 1 empty) or the cut-off is NaN.

    Examples
    --------
    >>> z = logrank_z_at_cutoffs([1, 2, 3, 4], [1, 1, 1, 1], [10, 20, 30, 40],
    ...                          [10, 20, 30, 40])
    >>> [round(v, 4) for v in z.tolist()]
    [nan, 1.7321, 1.6977, 1.3338]
    """
    lead, (time_b, event_b, marker_b), mask_b = stack_inputs(time, event, marker, mask=mask)
    mask_b = mask_b & np.isfinite(marker_b)
    cuts = np.asarray(cutoffs, dtype=float)
    if cuts.shape[:-1] != lead:
        raise ValueError(f"cutoffs must have shape {lead + ('K',)}; got {cuts.shape}")
    cuts = cuts.reshape(-1, cuts.shape[-1])
    sets = risk_sets(time_b, event_b, mask_b)
    x = sets.sort(marker_b)
    died = ((sets.sort(np.nan_to_num(event_b)) > 0) & sets.included).astype(float)
    B, n = time_b.shape
    # The distinct death times of each cohort, left-packed: where each tie group starts,
    # how many are at risk there and how many die.
    jump = sets.step & (sets.deaths > 0)
    J = max(int(jump.sum(axis=1).max(initial=0)), 1)
    pick = np.argsort(~jump, axis=1, kind="stable")[:, :J]
    real = np.take_along_axis(jump, pick, axis=1)
    first = np.take_along_axis(sets.first, pick, axis=1)[:, None, :]
    at_risk = np.where(real, np.take_along_axis(sets.at_risk, pick, axis=1), 1.0)[:, None, :]
    deaths = np.where(real, np.take_along_axis(sets.deaths, pick, axis=1), 0.0)[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        e_weight = deaths / at_risk
        v_weight = np.where(at_risk > 1, deaths * (at_risk - deaths)
                            / (at_risk * at_risk * (at_risk - 1)), 0.0)
    K = cuts.shape[1]
    z = np.full((B, K), np.nan)
    block = max(1, int(max_cells // max(B * n, 1)))
    for start in range(0, K, block):
        c = cuts[:, start:start + block]
        with np.errstate(invalid="ignore"):
            group = ((x[:, None, :] < c[:, :, None]) & sets.included[:, None, :]).astype(float)
        # In group 1 and at risk at a death time: rows from its tie group's start on.
        from_here = np.cumsum(group[:, :, ::-1], axis=-1)[:, :, ::-1]
        n1 = np.take_along_axis(from_here, np.broadcast_to(first, group.shape[:2] + (J,)),
                                axis=-1)
        observed = (group * died[:, None, :]).sum(axis=-1)
        expected = (n1 * e_weight).sum(axis=-1)
        variance = (n1 * (at_risk - n1) * v_weight).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            z[:, start:start + block] = np.where(variance > 0,
                                                 (observed - expected) / np.sqrt(variance),
                                                 np.nan)
    return unstack(np.where(np.isnan(cuts), np.nan, z), lead)
