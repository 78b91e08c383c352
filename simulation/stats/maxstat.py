"""Maximally selected log-rank statistics, as R's ``maxstat.test``, for a stack of cohorts.

For a marker :math:`x` (PNI) and a survival outcome, the test looks at every split
"low group = the :math:`m` smallest marker values" inside a window, standardises the
sum of the log-rank scores of the low group with its permutation mean and variance, and
takes the largest absolute value :math:`M`. It is what R's
``maxstat.test(Surv(time, event) ~ x, smethod = "LogRank", pmethod = "Lau92",
minprop = 0.1, maxprop = 0.9)`` computes (package maxstat 0.7-25, ``R/maxstat.test.R``
function ``cmaxstat``; scores from exactRankTests 0.8-36, ``R/cscores.R`` function
``cscores.Surv``), written here from the formulas below for a stack of cohorts at once:

1. :func:`logrank_scores`: the log-rank scores of the survival times;
2. :func:`cutoff_candidates`: the splits searched (the window and the tie rule);
3. :func:`maxstat_test`: the standardised statistics, their maximum, the chosen split
   and its p-value (:func:`p_lausen92`, or :func:`p_lausen94`).

This is not the classical log-rank Z with the hypergeometric variance: the variance
here is that of a linear rank statistic under permutation of the scores (conditional on
the observed scores). The two differ most when one group is small.

The chosen split is reported by its two sides, the highest marker value of the low group
(R's ``estimate``) and the lowest of the high group, and by their midpoint
(:func:`simulation.stats.roc.midpoint`), the project's cut-off: high means marker >=
midpoint, and no observed value equals it.

References
----------
.. [1] Lausen B, Schumacher M. Maximally selected rank statistics. Biometrics
   1992;48:73-85.
.. [2] Lausen B, Sauerbrei W, Schumacher M. Classification and regression trees (CART)
   used for the exploration of prognostic factors measured on different scales. In:
   Dirschedl P, Ostermann R (eds), Computational Statistics, Physica 1994:483-496.
.. [3] Hothorn T, Lausen B. On the exact distribution of maximally selected rank
   statistics. Comput Stat Data Anal 2003;43:121-137.
.. [4] Miller R, Siegmund D. Maximally selected chi square statistics. Biometrics
   1982;38:1011-1016.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from simulation.stats.roc import midpoint
from simulation.stats.stacking import stack_inputs, tie_groups, unstack

#: Default window: the low group holds between these shares of the patients (R's
#: ``minprop`` and ``maxprop`` defaults).
MIN_PROP = 0.1
MAX_PROP = 0.9
#: The p-value approximations offered (R's ``pmethod`` names).
P_METHODS: tuple[str, ...] = ("Lau92", "Lau94")


def _finite_stack(*arrays: Any) -> tuple[tuple[int, ...], list[np.ndarray]]:
    lead, out, _ = stack_inputs(*arrays)
    if not all(np.isfinite(a).all() for a in out):
        raise ValueError("maxstat needs complete cohorts: time, event and marker must be "
                         "finite (drop the rows with missing values first)")
    return lead, out


def logrank_scores(time: Any, event: Any) -> np.ndarray:
    """Log-rank scores of each patient, with R's (exactRankTests') tie rule.

    .. math::

        a_i = \\delta_i - \\sum_{j:\\ t_j \\le t_i} \\frac{\\delta_j}{N - \\gamma_j + 1},
        \\qquad \\gamma_j = \\#\\{k : t_k \\le t_j\\},

    :math:`\\delta` the event indicator and :math:`N` the cohort size (Hothorn & Lausen
    2003, section 2). Without ties :math:`N - \\gamma_j + 1` is the number at risk at
    :math:`t_j`; a group of tied times all take :math:`\\gamma` of the last of them.

    Parameters
    ----------
    time, event : array_like, shape (..., n)
        Complete cohorts (no missing values); event 1 for a death, 0 if censored.

    Returns
    -------
    ndarray, shape (..., n)

    Examples
    --------
    >>> logrank_scores([1.0, 2.0, 3.0], [1, 0, 1]).round(4).tolist()
    [0.6667, -0.3333, -0.3333]
    """
    lead, (time_b, event_b) = _finite_stack(time, event)
    _, n = time_b.shape
    order = np.argsort(time_b, axis=-1, kind="stable")
    died = np.take_along_axis(event_b, order, axis=-1)
    _, last = tie_groups(np.take_along_axis(time_b, order, axis=-1))
    # N - gamma + 1 with gamma = last + 1 (1-based count of times <= t).
    hazard = np.cumsum(died / (n - last), axis=-1)
    sorted_scores = died - np.take_along_axis(hazard, last, axis=-1)
    scores = np.empty_like(sorted_scores)
    np.put_along_axis(scores, order, sorted_scores, axis=-1)
    return unstack(scores, lead)


def candidate_window(n: int, min_prop: float = MIN_PROP, max_prop: float = MAX_PROP
                     ) -> tuple[int, int]:
    """Smallest and largest size :math:`m` of the low group that the search allows.

    :math:`\\max(1, \\lfloor N\\,\\mathrm{minprop} \\rfloor) \\le m \\le
    \\lfloor N\\,\\mathrm{maxprop} \\rfloor`, as R's ``cmaxstat`` (floors of the
    products in double precision). At N = 58: 5 to 52 patients (8.6% to 89.7%).

    >>> candidate_window(58)
    (5, 52)
    """
    return max(1, int(np.floor(n * min_prop))), int(np.floor(n * max_prop))


@dataclass(frozen=True)
class Candidates:
    """The splits searched in each cohort, left-packed along the last axis ``K``.

    Attributes
    ----------
    low_count : ndarray of int, shape (B, K)
        :math:`m`, the size of the low group (0 in the padding).
    low_max, high_min : ndarray, shape (B, K)
        Highest marker value of the low group and lowest of the high group.
    cutoff : ndarray, shape (B, K)
        Their midpoint: high means marker >= cutoff.
    valid : ndarray of bool, shape (B, K)
        False (and NaN values) in the padding.
    """

    low_count: np.ndarray
    low_max: np.ndarray
    high_min: np.ndarray
    cutoff: np.ndarray
    valid: np.ndarray


def _candidates(sorted_marker: np.ndarray, min_prop: float, max_prop: float) -> Candidates:
    B, n = sorted_marker.shape
    lowest, highest = candidate_window(n, min_prop, max_prop)
    m = np.arange(n)
    # A split after the m smallest values exists where the m-th and (m+1)-th differ.
    split = np.zeros((B, n), dtype=bool)
    split[:, 1:] = sorted_marker[:, 1:] != sorted_marker[:, :-1]
    keep = split & (m >= lowest) & (m <= highest)
    width = max(int(np.max(keep.sum(axis=1), initial=0)), 1)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    valid = np.take_along_axis(keep, order, axis=1)
    low_count = np.where(valid, order, 0)
    low_max = np.where(valid, np.take_along_axis(sorted_marker, np.maximum(order - 1, 0),
                                                 axis=1), np.nan)
    high_min = np.where(valid, np.take_along_axis(sorted_marker, order, axis=1), np.nan)
    return Candidates(low_count=low_count, low_max=low_max, high_min=high_min,
                      cutoff=midpoint(low_max, high_min), valid=valid)


def cutoff_candidates(marker: Any, min_prop: float = MIN_PROP, max_prop: float = MAX_PROP
                      ) -> Candidates:
    """The splits the maximally selected statistic searches, per cohort.

    A split puts the :math:`m` smallest marker values in the low group. As in R's
    ``cmaxstat``, it must not cut through tied values (the low group ends where the next
    value is larger) and :math:`m` must lie in :func:`candidate_window`.

    Parameters
    ----------
    marker : array_like, shape (B, n)
        Complete cohorts of equal size (one per row); 1-D for one cohort.

    Examples
    --------
    >>> c = cutoff_candidates([3.0, 1.0, 2.0, 2.0, 4.0], 0.2, 0.8)
    >>> c.low_count.tolist(), c.cutoff.tolist()
    ([[1, 3, 4]], [[1.5, 2.5, 3.5]])
    """
    _, (marker_b,) = _finite_stack(marker)
    return _candidates(np.sort(marker_b, axis=1), min_prop, max_prop)


def p_lausen92(b: Any, min_prop: float = MIN_PROP, max_prop: float = MAX_PROP
               ) -> np.ndarray:
    """Approximate p-value of a maximally selected statistic (Lausen & Schumacher 1992).

    For the largest absolute standardised statistic :math:`b` over the splits whose low
    group holds a share between :math:`\\varepsilon_1` and :math:`\\varepsilon_2` of the
    patients (after Miller & Siegmund 1982),

    .. math::

        P(M \\ge b) \\approx \\frac{4 \\varphi(b)}{b} + \\varphi(b)\\,(b - b^{-1})
        \\ln\\frac{\\varepsilon_2 (1 - \\varepsilon_1)}{(1 - \\varepsilon_2)\\,\\varepsilon_1},

    :math:`\\varphi` the standard normal density. As R's ``pLausen92``: 1 for
    :math:`b < 1`, where the approximation has no content, and at least 0 (for
    :math:`b \\ge 1` it never exceeds 0.98). A nominal 0.05 (b = 1.96) is really about
    0.49:

    >>> round(float(p_lausen92(1.959964)), 4)
    0.4916
    """
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = norm.pdf(b)
        log_ratio = np.log(max_prop * (1.0 - min_prop) / ((1.0 - max_prop) * min_prop))
        p = 4.0 * density / b + density * (b - 1.0 / b) * log_ratio
    return np.where(np.isnan(b), np.nan, np.where(b < 1.0, 1.0, np.clip(p, 0.0, 1.0)))


def p_lausen94(b: Any, n: int, low_count: Any, valid: Any) -> np.ndarray:
    """Improved Bonferroni p-value of a maximally selected statistic (Lausen, Sauerbrei &
    Schumacher 1994), over the splits actually searched.

    With the searched low-group sizes :math:`m_1 < \\dots < m_k` of a cohort of
    :math:`N`,

    .. math::

        t_i = \\sqrt{1 - \\frac{m_i (N - m_{i+1})}{(N - m_i)\\, m_{i+1}}}, \\qquad
        P(M \\ge b) \\approx 2\\,(1 - \\Phi(b)) + \\sum_{i=1}^{k-1} \\frac{1}{\\pi}
        e^{-b^2/2} \\Big(t_i - \\big(\\tfrac{b^2}{4} - 1\\big) \\frac{t_i^3}{6}\\Big),

    as R's ``pLausen94`` with ``m`` the searched splits (``maxstat.test`` passes them).
    R leaves the sum unbounded; here p is capped at 1.

    Parameters
    ----------
    b : array_like, shape (B,)
    n : int
        Cohort size.
    low_count, valid : array_like, shape (B, K)
        :attr:`Candidates.low_count` and :attr:`Candidates.valid` (left-packed).

    >>> round(float(p_lausen94(3.0, 50, [[10, 20, 30, 40]], [[True] * 4])[0]), 6)
    0.009893
    """
    b = np.atleast_1d(np.asarray(b, dtype=float))
    m = np.asarray(low_count, dtype=float)
    pair = np.asarray(valid, dtype=bool)[:, 1:]
    m1, m2 = m[:, :-1], m[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.sqrt(1.0 - m1 * (n - m2) / ((n - m1) * m2))
        bb = b[:, None] ** 2
        terms = np.exp(-bb / 2.0) / np.pi * (t - (bb / 4.0 - 1.0) * t ** 3 / 6.0)
    correction = np.where(pair, terms, 0.0).sum(axis=1)
    p = 2.0 * ndtr(-b) + correction
    return np.where(np.isnan(b), np.nan, np.minimum(p, 1.0))


@dataclass(frozen=True)
class MaxstatTest:
    """Maximally selected log-rank test of each cohort (NaN where it is undefined).

    Attributes
    ----------
    statistic : ndarray, shape (...)
        :math:`M`, the largest absolute standardised statistic (R's ``statistic``).
    p : ndarray, shape (...)
        Its p-value by ``p_method``.
    cutoff : ndarray, shape (...)
        The chosen split as a cut-off: the midpoint of ``low_max`` and ``high_min``.
    low_max, high_min : ndarray, shape (...)
        Highest marker value of the low group (R's ``estimate``), lowest of the high group.
    low_count : ndarray of int, shape (...)
        Size of the chosen low group (0 where there is none).
    index : ndarray of int, shape (...)
        Position of the chosen split among the candidates.
    candidates : Candidates
        Every split searched, shape ``(B, K)``.
    statistics : ndarray, shape (B, K)
        Signed standardised statistic of each candidate (positive: the low group dies
        more than expected; R's ``stats`` are their absolute values); NaN in the padding.
    p_method : str
    """

    statistic: np.ndarray
    p: np.ndarray
    cutoff: np.ndarray
    low_max: np.ndarray
    high_min: np.ndarray
    low_count: np.ndarray
    index: np.ndarray
    candidates: Candidates
    statistics: np.ndarray
    p_method: str


def maxstat_test(time: Any, event: Any, marker: Any, min_prop: float = MIN_PROP,
                 max_prop: float = MAX_PROP,
                 p_method: Literal["Lau92", "Lau94"] = "Lau92") -> MaxstatTest:
    """The maximally selected log-rank statistic of each cohort, its split and p-value.

    For the split after the :math:`m` smallest marker values, with the log-rank scores
    :math:`a` (:func:`logrank_scores`) ordered by the marker, :math:`S_m` the sum of the
    first :math:`m`, :math:`s_1 = \\sum a`, :math:`s_2 = \\sum a^2`,

    .. math::

        E_m = \\frac{m}{N} s_1, \\quad
        V_m = \\frac{m (N - m)}{N^2 (N - 1)} \\big(N s_2 - s_1^2\\big), \\quad
        M = \\max_m \\frac{|S_m - E_m|}{\\sqrt{V_m}},

    the permutation mean and variance of a linear rank statistic (Lausen & Schumacher
    1992; Hothorn & Lausen 2003), over the splits of :func:`cutoff_candidates`. The
    first (smallest) split reaching :math:`M` is chosen, as R does.

    Parameters
    ----------
    time, event, marker : array_like, shape (B, n)
        Complete cohorts of equal size (1-D for one cohort).
    min_prop, max_prop : float
        The window of :func:`candidate_window`.
    p_method : {"Lau92", "Lau94"}
        :func:`p_lausen92` (the default, as the simulation uses it) or
        :func:`p_lausen94`.

    Returns
    -------
    MaxstatTest
        NaN statistic, p and cut-off where no split lies in the window (a constant
        marker, a tiny cohort) or the scores do not vary (no deaths).

    Examples
    --------
    >>> r = maxstat_test([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 0, 1, 0, 1, 0],
    ...                  [40, 41, 42, 50, 51, 52, 53, 54], 0.25, 0.75)
    >>> float(r.cutoff), int(r.low_count), round(float(r.statistic), 4)
    (46.0, 3, 2.1491)

    (R: ``maxstat.test(Surv(t, e) ~ x, smethod = "LogRank", minprop = 0.25,
    maxprop = 0.75)`` gives M = 2.149105 and the estimate 42, the low group's top.)
    """
    if p_method not in P_METHODS:
        raise ValueError(f"p_method must be one of {', '.join(P_METHODS)}; got {p_method!r}")
    lead, (time_b, event_b, marker_b) = _finite_stack(time, event, marker)
    B, n = time_b.shape
    scores = logrank_scores(time_b, event_b)
    order = np.argsort(marker_b, axis=1, kind="stable")
    sorted_marker = np.take_along_axis(marker_b, order, axis=1)
    candidates = _candidates(sorted_marker, min_prop, max_prop)
    by_marker = np.take_along_axis(scores, order, axis=1)
    running = np.concatenate([np.zeros((B, 1)), np.cumsum(by_marker, axis=1)], axis=1)
    m = candidates.low_count.astype(float)
    total = by_marker.sum(axis=1, keepdims=True)
    spread = n * (by_marker ** 2).sum(axis=1, keepdims=True) - total ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = m / n * total
        variance = m * (n - m) / (n ** 2 * (n - 1)) * spread
        standardised = (np.take_along_axis(running, candidates.low_count, axis=1)
                        - expected) / np.sqrt(variance)
    usable = candidates.valid & (variance > 0)
    statistics = np.where(candidates.valid, standardised, np.nan)
    score = np.where(usable, np.abs(standardised), -np.inf)
    index = np.argmax(score, axis=1)
    rows = np.arange(B)
    found = np.isfinite(score[rows, index])
    statistic = np.where(found, score[rows, index], np.nan)

    def chosen(values: np.ndarray) -> np.ndarray:
        return np.where(found, values[rows, index], np.nan)

    if p_method == "Lau92":
        p = p_lausen92(statistic, min_prop, max_prop)
    else:
        p = p_lausen94(statistic, n, candidates.low_count, candidates.valid)
    return MaxstatTest(
        statistic=unstack(statistic, lead), p=unstack(p, lead),
        cutoff=unstack(chosen(candidates.cutoff), lead),
        low_max=unstack(chosen(candidates.low_max), lead),
        high_min=unstack(chosen(candidates.high_min), lead),
        low_count=unstack(np.where(found, candidates.low_count[rows, index], 0), lead),
        index=unstack(index, lead), candidates=candidates, statistics=statistics,
        p_method=p_method)
