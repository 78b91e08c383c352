"""Kaplan-Meier medians with two 95% confidence intervals, for a stack of cohorts at once.

Every function takes ``time`` and ``event`` of shape ``(..., n)`` (one cohort per row of
the leading shape; a 1-D input is one cohort) and an optional bool ``mask`` of the same
shape selecting the rows that belong to the analysis (a group, the complete cases).
Rows whose time or event is missing (NaN) are left out as well. Nothing loops over the
cohorts: the stack is sorted once and every quantity is a cumulative sum along the rows.

The Kaplan-Meier estimate and Greenwood's variance are

.. math::

    \\hat S(t) = \\prod_{t_j \\le t} \\Big(1 - \\frac{d_j}{n_j}\\Big), \\qquad
    \\widehat{\\mathrm{Var}}\\{\\log \\hat S(t)\\} = \\sum_{t_j \\le t}
    \\frac{d_j}{n_j (n_j - d_j)},

with :math:`d_j` deaths among the :math:`n_j` at risk at the distinct event time
:math:`t_j`.

References
----------
.. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
   J Am Stat Assoc 1958;53:457-481.
.. [2] Brookmeyer R, Crowley J. A confidence interval for the median survival time.
   Biometrics 1982;38:29-41.
.. [3] Collett D. Modelling Survival Data in Medical Research, 3rd ed. CRC Press 2015,
   section 2.4 (standard error of a percentile).
.. [4] Therneau TM. survival: ``quantile.survfit`` and ``survfit_confint`` (R package),
   the midpoint rule and the log-log band followed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from calculator.published import Z95

#: Two survival levels closer than this count as equal (R ``quantile.survfit``'s default
#: tolerance, ``sqrt(.Machine$double.eps)``).
TOLERANCE = float(np.sqrt(np.finfo(float).eps))

#: Collett's density estimate uses the curve between these two levels around 0.5.
COLLETT_UPPER_LEVEL = 0.55
COLLETT_LOWER_LEVEL = 0.45


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------

def stack_inputs(*arrays: Any, mask: Any = None) -> tuple[tuple[int, ...], list[np.ndarray],
                                                       np.ndarray]:
    """Flatten ``(..., n)`` inputs to ``(B, n)``; returns the leading shape, the arrays
    (as float) and the bool mask (all True when None), broadcast to one shape.

    A 1-D input is one cohort, leading shape ``()``.
    """
    converted = [np.asarray(a, dtype=float) for a in arrays]
    if mask is not None:
        converted.append(np.asarray(mask, dtype=bool))
    shape = np.broadcast_shapes(*(a.shape for a in converted))
    if len(shape) == 0:
        raise ValueError("expected arrays of shape (n,) or (..., n); got scalars")
    cohorts = math.prod(shape[:-1])
    out = [np.broadcast_to(a, shape).reshape(cohorts, shape[-1]) for a in converted]
    if mask is None:
        mask_out = np.ones(out[0].shape, dtype=bool)
    else:
        mask_out = out.pop().astype(bool)
    if shape[-1] == 0:
        # No rows at all: one row left out gives the same (empty) analysis, and the sorts
        # and first-position searches of the engines need a row to look at.
        out = [np.full((cohorts, 1), np.nan) for _ in out]
        mask_out = np.zeros((cohorts, 1), dtype=bool)
    return shape[:-1], out, mask_out


def unstack(value: np.ndarray, lead: tuple[int, ...]) -> np.ndarray:
    """Undo :func:`stack_inputs` on a per-cohort result of shape ``(B, ...)``."""
    return value.reshape(lead + value.shape[1:])


# ---------------------------------------------------------------------------------------
# Risk sets: the sorted stack shared by Kaplan-Meier and the log-rank test
# ---------------------------------------------------------------------------------------

def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``take_along_axis`` on the last axis, with ``index (B, n)`` broadcast over any
    axes that ``values (B, ..., n)`` has in between."""
    extra = values.ndim - index.ndim
    idx = index.reshape(index.shape[:1] + (1,) * extra + index.shape[1:])
    return np.take_along_axis(values, np.broadcast_to(idx, values.shape), axis=-1)


@dataclass(frozen=True)
class RiskSets:
    """A stack of cohorts sorted by time, with their tied times grouped.

    All arrays have shape ``(B, n)`` and are in time order; rows left out sort last with
    time ``+inf``.

    Attributes
    ----------
    time : sorted times (``+inf`` for rows left out)
    order : position in the input of each sorted row
    included : the sorted row belongs to the analysis
    first : position of the first row of the sorted row's tie group
    step : the row is the last of a tie group of included rows; per-time quantities
        (``at_risk``, ``deaths``) are read at these positions
    at_risk : rows at risk at the row's time (time >= t)
    deaths : deaths at the row's time, summed over its tie group
    """

    time: np.ndarray
    order: np.ndarray
    included: np.ndarray
    first: np.ndarray
    step: np.ndarray
    at_risk: np.ndarray
    deaths: np.ndarray

    def sort(self, values: np.ndarray) -> np.ndarray:
        """``values (B, ..., n)`` in the time order of each cohort."""
        return _take(np.asarray(values), self.order)

    def tally(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """At-risk and tie-group totals of sorted ``weights (B, ..., n)``.

        Returns ``(at_risk, in_group)``: the sum of the weights over rows with time >=
        the row's time, and over the row's tie group (complete at ``step`` positions).
        """
        cumulative = np.cumsum(weights, axis=-1)
        before_group = _take(cumulative - weights, self.first)
        return cumulative[..., -1:] - before_group, cumulative - before_group


def tie_groups(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each row's run of equal values in sorted ``(B, n)``.

    The ties of a sorted stack (equal times, equal marker values) as index arrays of the
    same shape, for the risk sets here, the Efron sums of :mod:`simulation.stats.cox` and the
    mid-ranks of :mod:`simulation.stats.roc`.

    >>> first, last = tie_groups(np.array([[1.0, 2.0, 2.0, 2.0, 5.0]]))
    >>> first.tolist(), last.tolist()
    ([[0, 1, 1, 1, 4]], [[0, 3, 3, 3, 4]])
    """
    n = ordered.shape[-1]
    position = np.arange(n)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    return first, last


def risk_sets(time: np.ndarray, event: np.ndarray, mask: np.ndarray) -> RiskSets:
    """Sort a ``(B, n)`` stack by time and group its ties (see :class:`RiskSets`).

    ``event`` is 1 (death) or 0 (censored); rows with a non-finite time or event, or
    outside ``mask``, are left out.
    """
    included = mask & np.isfinite(time) & np.isfinite(event)
    keyed = np.where(included, time, np.inf)
    order = np.argsort(keyed, axis=-1, kind="stable")
    sorted_time = np.take_along_axis(keyed, order, axis=-1)
    sorted_in = np.take_along_axis(included, order, axis=-1)
    died = np.take_along_axis(np.where(included, event, 0.0), order, axis=-1) > 0
    first, last = tie_groups(sorted_time)
    ends = last == np.arange(sorted_time.shape[-1])
    partial = RiskSets(sorted_time, order, sorted_in, first, ends & sorted_in,
                       np.empty(0), np.empty(0))
    at_risk, _ = partial.tally(sorted_in.astype(float))
    _, deaths = partial.tally(died.astype(float))
    return RiskSets(sorted_time, order, sorted_in, first, ends & sorted_in, at_risk, deaths)


# ---------------------------------------------------------------------------------------
# The curve and its log-log band
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Curve:
    """Kaplan-Meier curve of a ``(B, n)`` stack at its sorted rows."""

    sets: RiskSets
    survival: np.ndarray      # S after the row's time (valid at step positions)
    greenwood: np.ndarray     # sum d / (n (n - d)) up to the row's time
    jump: np.ndarray          # step positions with at least one death
    lower: np.ndarray         # log-log band, NaN where S is 0 or 1
    upper: np.ndarray
    last_time: np.ndarray     # (B,) largest included time, NaN if none


def _curve(time: np.ndarray, event: np.ndarray, mask: np.ndarray) -> _Curve:
    sets = risk_sets(time, event, mask)
    d, n_risk = sets.deaths, sets.at_risk
    jump = sets.step & (d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(jump, d / np.where(jump, n_risk, 1.0), 0.0)
        survival = np.cumprod(1.0 - hazard, axis=-1)
        increment = np.where(jump, d / np.where(jump, n_risk * (n_risk - d), 1.0), 0.0)
        greenwood = np.cumsum(increment, axis=-1)
        # R survfit_confint(conf.type = "log-log"): undefined where S is 0 or 1.
        defined = jump & (survival > 0) & (survival < 1)
        log_s = np.log(np.where(defined, survival, 0.5))
        shift = Z95 * np.sqrt(greenwood) / log_s
        base = np.log(-log_s)
        lower = np.where(defined, np.exp(-np.exp(base - shift)), np.nan)
        upper = np.where(defined, np.exp(-np.exp(base + shift)), np.nan)
    last_time = np.max(np.where(sets.included, sets.time, -np.inf), axis=-1)
    last_time = np.where(np.isfinite(last_time), last_time, np.nan)
    return _Curve(sets, survival, greenwood, jump, lower, upper, last_time)


@dataclass(frozen=True)
class _Crossing:
    time: np.ndarray      # (B,) where the curve reaches 0.5 (midpoint rule), NaN if never
    index: np.ndarray     # (B,) sorted position of the first level <= 0.5 + tol
    reached: np.ndarray   # (B,) bool: a level within tolerance of 0.5 or below exists


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[b, index[b]]`` for each cohort ``b`` of a ``(B, n)`` stack."""
    return np.take_along_axis(values, index[:, None], axis=-1)[:, 0]


def _first(condition: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First True position along the last axis, and whether there is one."""
    return np.argmax(condition, axis=-1), np.any(condition, axis=-1)


def _cross_half(curve: _Curve, values: np.ndarray) -> _Crossing:
    """Where a step curve (the estimate or a band) first reaches 0.5, as R does it.

    R's ``quantile.survfit`` takes the first jump time at which the curve is at or below
    0.5 + tol and the first at which it is at or below 0.5 - tol; the quantile is their
    mean. So a curve that sits at exactly 0.5 over ``[t1, t2)`` gives ``(t1 + t2) / 2``,
    and a curve that ends at exactly 0.5 gives the mean of ``t1`` and the last observed
    time. Levels where ``values`` is NaN (a band where S is 0 or 1) are skipped, as R's
    ``approx`` skips them.
    """
    valid = curve.jump & np.isfinite(values)
    i1, has1 = _first(valid & (values <= 0.5 + TOLERANCE))
    i2, has2 = _first(valid & (values <= 0.5 - TOLERANCE))
    t1, t2 = _at(curve.sets.time, i1), _at(curve.sets.time, i2)
    # A curve that ends on the 0.5 level: R's "lastpt" rule, only when its final level
    # is defined (a band ending where S = 0 is undefined there).
    last_jump = np.argmax(np.cumsum(curve.jump, axis=-1), axis=-1)
    final_level_defined = _at(np.isfinite(values), last_jump)
    ends_on_half = has1 & ~has2 & final_level_defined
    time = np.where(has2, (t1 + t2) / 2, np.where(ends_on_half, (t1 + curve.last_time) / 2,
                                                   np.nan))
    return _Crossing(np.where(has1, time, np.nan), i1, has1)


# ---------------------------------------------------------------------------------------
# Public: the median with its two intervals
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KMMedian:
    """Kaplan-Meier median survival of each cohort of a stack (NaN where undefined).

    Attributes
    ----------
    median : ndarray, shape (...)
        Median survival time; NaN when the curve never falls to 0.5 (not reached).
    ci : ndarray, shape (..., 2)
        Brookmeyer-Crowley 95% interval from the log-log band (R
        ``survfit(conf.type = "log-log")``); a limit is NaN when its band never reaches
        0.5 before the curve ends (an open interval).
    ci_symmetric : ndarray, shape (..., 2)
        ``median -+ 1.959964 se`` with Collett's ``se`` (how SPSS-style tables print it),
        as computed: in a very small group the lower limit can fall below 0.
    se : ndarray, shape (...)
        Collett's standard error of the median; NaN when the curve does not reach 0.45.
    n, events : ndarray of int, shape (...)
        Rows and deaths used.
    """

    median: np.ndarray
    ci: np.ndarray
    ci_symmetric: np.ndarray
    se: np.ndarray
    n: np.ndarray
    events: np.ndarray

    @property
    def reached(self) -> np.ndarray:
        """The median exists (the curve falls to 0.5)."""
        return np.isfinite(self.median)


def km_median(time: Any, event: Any, mask: Any = None) -> KMMedian:
    """Kaplan-Meier median with Brookmeyer-Crowley (log-log) and Collett intervals.

    Parameters
    ----------
    time, event : array_like, shape (..., n)
        Follow-up times and event indicators (1 died, 0 censored); NaN means missing.
    mask : array_like of bool, shape (..., n), optional
        Rows that belong to the analysis.

    Returns
    -------
    KMMedian

    Notes
    -----
    The median is the first time at which :math:`\\hat S(t) \\le 0.5`, with R's midpoint
    rule: where :math:`\\hat S = 0.5` exactly (within :data:`TOLERANCE`) over
    :math:`[t_1, t_2)` it is :math:`(t_1 + t_2)/2`.

    The Brookmeyer-Crowley interval inverts the log-log band

    .. math::

        \\hat S(t)^{\\exp(\\pm z\\, \\sigma(t) / \\log \\hat S(t))}, \\quad
        \\sigma^2(t) = \\sum_{t_j \\le t} \\frac{d_j}{n_j (n_j - d_j)}:

    its lower limit is where the lower band first reaches 0.5, its upper limit where the
    upper band does (same midpoint rule). As in R, the band is undefined where
    :math:`\\hat S` is 0, so a band that has not reached 0.5 when the last patient dies
    gives an open limit (NaN); lifelines instead sets the band to 0 there.

    Collett's standard error is

    .. math::

        \\mathrm{se}(\\hat t_{50}) = \\frac{\\mathrm{se}\\{\\hat S(\\hat t_{50})\\}}
        {\\hat f(\\hat t_{50})}, \\qquad
        \\hat f = \\frac{\\hat S(\\hat u) - \\hat S(\\hat l)}{\\hat l - \\hat u},

    with Greenwood's :math:`\\mathrm{se}\\{\\hat S\\} = \\hat S \\sigma`, :math:`\\hat u`
    the largest event time with :math:`\\hat S \\ge 0.55` (the origin, where
    :math:`\\hat S = 1`, if no event time qualifies) and :math:`\\hat l` the smallest with
    :math:`\\hat S \\le 0.45` (both within :data:`TOLERANCE`).

    Examples
    --------
    >>> r = km_median([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0])
    >>> float(r.median), r.ci.tolist()
    (4.0, [1.0, nan])
    """
    lead, (time_b, event_b), mask_b = stack_inputs(time, event, mask=mask)
    curve = _curve(time_b, event_b, mask_b)
    centre = _cross_half(curve, curve.survival)
    low = _cross_half(curve, curve.lower)
    high = _cross_half(curve, curve.upper)
    se = _collett_se(curve, centre)
    median = centre.time
    symmetric = np.stack([median - Z95 * se, median + Z95 * se], axis=-1)
    n = curve.sets.included.sum(axis=-1)
    events = (curve.sets.included & (curve.sets.sort(np.nan_to_num(event_b)) > 0)).sum(axis=-1)
    return KMMedian(median=unstack(median, lead),
                    ci=unstack(np.stack([low.time, high.time], axis=-1), lead),
                    ci_symmetric=unstack(symmetric, lead), se=unstack(se, lead),
                    n=unstack(n, lead), events=unstack(events, lead))


def _collett_se(curve: _Curve, centre: _Crossing) -> np.ndarray:
    """Collett's standard error of the median (see :func:`km_median`)."""
    s, times, jump = curve.survival, curve.sets.time, curve.jump
    with np.errstate(invalid="ignore"):
        se_s = _at(s, centre.index) * np.sqrt(_at(curve.greenwood, centre.index))
    above = jump & (s >= COLLETT_UPPER_LEVEL - TOLERANCE)
    has_u = above.any(axis=-1)
    iu = s.shape[-1] - 1 - np.argmax(above[:, ::-1], axis=-1)
    t_u = np.where(has_u, _at(times, iu), 0.0)
    s_u = np.where(has_u, _at(s, iu), 1.0)
    il, has_l = _first(jump & (s <= COLLETT_LOWER_LEVEL + TOLERANCE))
    t_l, s_l = _at(times, il), _at(s, il)
    ok = centre.reached & has_l & (t_l > t_u) & np.isfinite(se_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = (s_u - s_l) / (t_l - t_u)
        se = np.where(ok, se_s / density, np.nan)
    return se


# ---------------------------------------------------------------------------------------
# One curve, for plots and reports
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KMCurve:
    """The Kaplan-Meier step function of one cohort at its distinct event times.

    ``time[0] = 0`` with ``survival[0] = 1``; ``lower``/``upper`` are the log-log band
    (NaN where S is 0 or 1); ``at_risk`` and ``deaths`` are per event time.
    """

    time: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    deaths: np.ndarray


def km_curve(time: Any, event: Any, mask: Any = None) -> KMCurve:
    """Kaplan-Meier curve of one cohort (1-D inputs), the same estimate as
    :func:`km_median` uses.

    >>> km_curve([1, 2, 2, 3], [1, 1, 0, 0]).survival.tolist()
    [1.0, 0.75, 0.5]
    """
    lead, (time_b, event_b), mask_b = stack_inputs(time, event, mask=mask)
    if lead != ():
        raise ValueError(f"km_curve draws one cohort: time must have shape (n,); "
                         f"got {lead + time_b.shape[-1:]}")
    curve = _curve(time_b, event_b, mask_b)
    at = curve.jump[0]

    def from_origin(origin: float, values: np.ndarray) -> np.ndarray:
        return np.concatenate([[origin], values[0][at]])

    return KMCurve(time=from_origin(0.0, curve.sets.time),
                   survival=from_origin(1.0, curve.survival),
                   lower=from_origin(np.nan, curve.lower), upper=from_origin(np.nan, curve.upper),
                   at_risk=from_origin(np.nan, curve.sets.at_risk),
                   deaths=from_origin(0.0, curve.sets.deaths))
