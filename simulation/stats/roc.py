"""ROC analysis of a marker against a binary outcome, for a stack of cohorts at once.

:func:`roc_auc` gives the area under the ROC curve with DeLong's variance,
:func:`youden_cutoff` the PNI cut-off that maximises Youden's J (the paper's route to
47.6), reported as a midpoint between observed values (:func:`midpoint`), and :func:`roc_curve` the points of one cohort's curve for a plot.

Inputs have shape ``(..., n)`` (a 1-D input is one cohort) with an optional bool
``mask`` of the rows that belong; rows with a missing (NaN) marker or outcome are left
out as well.

References
----------
.. [1] DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more
   correlated receiver operating characteristic curves: a nonparametric approach.
   Biometrics 1988;44:837-845.
.. [2] Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas
   under correlated receiver operating characteristic curves. IEEE Signal Process Lett
   2014;21:1389-1393 (the structural components from mid-ranks).
.. [3] Youden WJ. Index for rating diagnostic tests. Cancer 1950;3:32-35.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from calculator.published import Z95
from simulation.stats.stacking import stack_inputs, tie_groups, unstack


def midranks(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """1-based mid-ranks of ``values (B, n)`` among the rows in ``mask``, NaN elsewhere.

    Tied values share the mean of the ranks they occupy.

    >>> midranks(np.array([[3.0, 1.0, 3.0, 2.0]]), np.array([[True, True, True, False]]))
    array([[2.5, 1. , 2.5, nan]])
    """
    keyed = np.where(mask, values, np.inf)
    order = np.argsort(keyed, axis=-1, kind="stable")
    first, last = tie_groups(np.take_along_axis(keyed, order, axis=-1))
    ranks = np.empty(keyed.shape)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=-1)
    return np.where(mask, ranks, np.nan)


@dataclass(frozen=True)
class RocAuc:
    """Area under the ROC curve of each cohort (NaN where undefined).

    Attributes
    ----------
    auc : ndarray, shape (...)
        :math:`P(X > Y) + \\tfrac12 P(X = Y)`, X the marker of a positive, Y of a negative.
    se : ndarray, shape (...)
        DeLong standard error; NaN with fewer than two positives or negatives.
    ci : ndarray, shape (..., 2)
        ``auc -+ 1.959964 se`` clipped to [0, 1].
    p : ndarray, shape (...)
        Two-sided Wald p-value of ``auc = 0.5`` with the DeLong se (NaN when se is 0).
    n_positive, n_negative : ndarray of int, shape (...)
    """

    auc: np.ndarray
    se: np.ndarray
    ci: np.ndarray
    p: np.ndarray
    n_positive: np.ndarray
    n_negative: np.ndarray


def _used(marker: np.ndarray, positive: np.ndarray, mask: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    used = mask & np.isfinite(marker) & np.isfinite(positive)
    pos = used & (np.nan_to_num(positive) != 0)
    return used, pos, used & ~pos


def roc_auc(marker: Any, positive: Any, mask: Any = None) -> RocAuc:
    """AUC of ``marker`` (higher = more likely positive) with DeLong's 95% CI.

    For the PNI against death pass ``marker = -PNI``: a low PNI is the risk.

    Parameters
    ----------
    marker : array_like, shape (..., n)
    positive : array_like, shape (..., n)
        1 (or True) for a positive (died), 0 for a negative.
    mask : array_like of bool, shape (..., n), optional

    Notes
    -----
    With :math:`\\psi(x, y) = 1` if :math:`x > y`, :math:`\\tfrac12` if equal, 0 otherwise,
    the :math:`m` positives :math:`X_i` and the :math:`k` negatives :math:`Y_j`,

    .. math::

        V_{10}(X_i) = \\frac1k \\sum_j \\psi(X_i, Y_j), \\quad
        V_{01}(Y_j) = \\frac1m \\sum_i \\psi(X_i, Y_j), \\quad
        \\widehat{\\mathrm{AUC}} = \\overline{V_{10}},

        \\widehat{\\mathrm{Var}} = \\frac{s^2(V_{10})}{m} + \\frac{s^2(V_{01})}{k}

    with sample variances :math:`s^2`. The components come from mid-ranks (Sun & Xu):
    :math:`V_{10}(X_i) = (R_i - R^X_i)/k` and :math:`V_{01}(Y_j) = 1 - (R_j - R^Y_j)/m`,
    :math:`R` the mid-rank among all, :math:`R^X`, :math:`R^Y` among positives or
    negatives only.

    Examples
    --------
    >>> r = roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> float(r.auc)
    0.75
    """
    lead, (marker_b, positive_b), mask_b = stack_inputs(marker, positive, mask=mask)
    used, pos, neg = _used(marker_b, positive_b, mask_b)
    m = pos.sum(axis=-1)
    k = neg.sum(axis=-1)
    rank_all = midranks(marker_b, used)
    rank_pos = midranks(marker_b, pos)
    rank_neg = midranks(marker_b, neg)
    with np.errstate(divide="ignore", invalid="ignore"):
        v10 = np.where(pos, (rank_all - rank_pos) / k[:, None], 0.0)
        v01 = np.where(neg, 1.0 - (rank_all - rank_neg) / m[:, None], 0.0)
        auc = np.where((m > 0) & (k > 0), v10.sum(axis=-1) / m, np.nan)
        mean01 = v01.sum(axis=-1) / k
        s10 = np.where(pos, (v10 - auc[:, None]) ** 2, 0.0).sum(axis=-1) / (m - 1)
        s01 = np.where(neg, (v01 - mean01[:, None]) ** 2, 0.0).sum(axis=-1) / (k - 1)
        variance = np.where((m > 1) & (k > 1), s10 / m + s01 / k, np.nan)
        se = np.sqrt(variance)
        ci = np.clip(np.stack([auc - Z95 * se, auc + Z95 * se], axis=-1), 0.0, 1.0)
        p = np.where(se > 0, 2.0 * ndtr(-np.abs(auc - 0.5) / se), np.nan)
    return RocAuc(auc=unstack(auc, lead), se=unstack(se, lead), ci=unstack(ci, lead),
                  p=unstack(p, lead), n_positive=unstack(m, lead),
                  n_negative=unstack(k, lead))


def midpoint(low: Any, high: Any) -> np.ndarray:
    """The cut-off reported between two neighbouring observed values ``low < high``.

    A data-driven cut-off splits the sorted marker values between the highest value of
    the low group and the lowest of the high group; SPSS's ROC coordinates and pROC's
    ``coords(..., "best")`` print the threshold halfway between them, and so does the
    project, for Youden and maxstat alike: ``low < midpoint <= high``, so "high" (marker
    >= cut-off) is the same group as "marker >= high". (If ``low`` and ``high`` are
    adjacent floating-point numbers, whose midpoint rounds to ``low``, it is ``high``.)

    >>> float(midpoint(47.5, 47.7))
    47.6
    """
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    with np.errstate(invalid="ignore"):
        middle = (low + high) / 2.0
        return np.where(middle > low, middle, high)


@dataclass(frozen=True)
class YoudenCutoff:
    """The Youden-optimal PNI cut-off of each cohort (NaN without deaths or survivors).

    Attributes
    ----------
    cutoff : ndarray, shape (...)
        ``c``: PNI >= c is "high", PNI < c "low" (the risk); the midpoint of ``low_max``
        and ``high_min`` (:func:`midpoint`), or ``high_min`` when the low group is empty.
    low_max, high_min : ndarray, shape (...)
        The highest PNI of the low group (NaN if it is empty) and the lowest of the high
        group.
    sensitivity : ndarray, shape (...)
        Share of deaths with PNI < c.
    specificity : ndarray, shape (...)
        Share of survivors with PNI >= c.
    j : ndarray, shape (...)
        ``sensitivity + specificity - 1``.
    """

    cutoff: np.ndarray
    low_max: np.ndarray
    high_min: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    j: np.ndarray


def youden_cutoff(pni: Any, died: Any, mask: Any = None) -> YoudenCutoff:
    """The PNI cut-off that maximises Youden's J against death, as the paper chose 47.6.

    The candidate splits put the patients with PNI below an observed value ``v`` in the
    low group. With D deaths and S survivors, a split scores
    :math:`J(v) = \\#\\{\\text{deaths}: \\mathrm{PNI} < v\\}/D +
    \\#\\{\\text{survivors}: \\mathrm{PNI} \\ge v\\}/S - 1`; the largest J wins and ties
    go to the lowest v. J is compared as the integer :math:`D S (J + 1)`, so ties are
    exact. The cut-off reported is the midpoint between ``v`` and the highest PNI below
    it (:func:`midpoint`), as pROC's ``coords(..., "best")`` prints it.

    >>> r = youden_cutoff([40, 42, 45, 50, 52, 44], [1, 1, 0, 0, 0, 1])
    >>> float(r.cutoff), float(r.low_max), float(r.high_min), float(r.sensitivity)
    (44.5, 44.0, 45.0, 1.0)
    """
    lead, (pni_b, died_b), mask_b = stack_inputs(pni, died, mask=mask)
    used, death, survivor = _used(pni_b, died_b, mask_b)
    keyed = np.where(used, pni_b, np.inf)
    order = np.argsort(keyed, axis=-1, kind="stable")
    values = np.take_along_axis(keyed, order, axis=-1)
    death_s = np.take_along_axis(death, order, axis=-1).astype(np.int64)
    survivor_s = np.take_along_axis(survivor, order, axis=-1).astype(np.int64)
    starts = np.ones(values.shape, dtype=bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    candidate = starts & np.isfinite(values)
    deaths_below = np.cumsum(death_s, axis=-1) - death_s          # PNI strictly below
    survivors_below = np.cumsum(survivor_s, axis=-1) - survivor_s
    n_death = death_s.sum(axis=-1, keepdims=True)
    n_survivor = survivor_s.sum(axis=-1, keepdims=True)
    survivors_at_or_above = n_survivor - survivors_below
    score = np.where(candidate, deaths_below * n_survivor + survivors_at_or_above * n_death,
                     -1)
    best = np.argmax(score, axis=-1)[:, None]                      # first = lowest v

    def pick(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, best, axis=-1)[:, 0]

    ok = (n_death[:, 0] > 0) & (n_survivor[:, 0] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = np.where(ok, pick(deaths_below) / n_death[:, 0], np.nan)
        specificity = np.where(ok, pick(survivors_at_or_above) / n_survivor[:, 0], np.nan)
    high_min = np.where(ok, pick(values), np.nan)
    below = np.take_along_axis(values, np.maximum(best - 1, 0), axis=-1)[:, 0]
    low_max = np.where(ok & (best[:, 0] > 0), below, np.nan)
    cutoff = np.where(np.isnan(low_max), high_min, midpoint(low_max, high_min))
    j = sensitivity + specificity - 1.0
    return YoudenCutoff(cutoff=unstack(cutoff, lead), low_max=unstack(low_max, lead),
                        high_min=unstack(high_min, lead),
                        sensitivity=unstack(sensitivity, lead),
                        specificity=unstack(specificity, lead), j=unstack(j, lead))


@dataclass(frozen=True)
class RocCurve:
    """Points of one ROC curve, from (0, 0) to (1, 1).

    ``threshold[i]``: a row is called positive when its marker >= threshold[i]
    (``+inf`` for the first point).
    """

    fpr: np.ndarray
    tpr: np.ndarray
    threshold: np.ndarray


def roc_curve(marker: Any, positive: Any, mask: Any = None) -> RocCurve:
    """The empirical ROC curve of one cohort (1-D inputs), for a plot.

    >>> c = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> c.fpr.tolist(), c.tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    lead, (marker_b, positive_b), mask_b = stack_inputs(marker, positive, mask=mask)
    if lead != ():
        raise ValueError(f"roc_curve draws one cohort: marker must have shape (n,); "
                         f"got {lead + marker_b.shape[-1:]}")
    used, pos, neg = _used(marker_b[0], positive_b[0], mask_b[0])
    values = marker_b[0][used]
    is_pos = pos[used]
    order = np.argsort(-values, kind="stable")
    values, is_pos = values[order], is_pos[order]
    ends = np.ones(values.shape, dtype=bool)
    ends[:-1] = values[1:] != values[:-1]
    tp = np.cumsum(is_pos)[ends]
    fp = np.cumsum(~is_pos)[ends]
    m, k = int(is_pos.sum()), int((~is_pos).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        fpr, tpr = fp / np.float64(k), tp / np.float64(m)
    return RocCurve(fpr=np.concatenate([[0.0], fpr]), tpr=np.concatenate([[0.0], tpr]),
                    threshold=np.concatenate([[np.inf], values[ends]]))
