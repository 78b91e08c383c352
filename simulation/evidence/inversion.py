"""Inverting a confidence belt at an observed estimate (Neyman's construction).

For an observed log-HR :math:`t` and a belt with smoothed quantile curves
:math:`q_{.025}(\\theta), q_{.5}(\\theta), q_{.975}(\\theta)` on a fine grid:

- the **95% confidence set** is :math:`\\{\\theta : q_{.025}(\\theta) \\le t \\le
  q_{.975}(\\theta)\\}`; it covers the true :math:`\\theta` with probability 95% whatever
  the shape of the curves, monotone or not. It is reported as the interval from its
  smallest to its largest member (which can only cover more), with ``contiguous`` False
  where it has gaps. A limit at the end of the grid is **open**: the set reaches the
  grid's end, so the true limit lies beyond it and only a bound is known. An observed
  value beyond the whole belt (below every :math:`q_{.025}`, or above every
  :math:`q_{.975}`) has no member on the grid: its set lies beyond the grid's end on
  that side, reported as the open interval from that end outwards;
- the **median-unbiased estimate** is the :math:`\\theta` at which the median curve
  crosses :math:`t`, so that :math:`P(T \\le t \\mid \\hat\\theta = \\theta) = 1/2`. Where
  the curve is not monotone it can cross more than once: the estimate is the largest
  crossing on a rising stretch of the curve (an estimate that rises with the observed
  value), and all crossings are kept. If the curve lies wholly above (below) :math:`t`
  the estimate is open below (above) the grid.

All functions take many observed values at once (the calibration check inverts every
held-out replicate).

References
----------
.. [1] Neyman J. Outline of a theory of statistical estimation based on the classical
   theory of probability. Phil Trans R Soc A 1937;236:333-380.
.. [2] Hollander N, Sauerbrei W, Schumacher M. Confidence intervals for the effect of a
   prognostic factor after selection of an "optimal" cutpoint. Stat Med
   2004;23:1701-1713.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Side of an open estimate or limit.
BELOW, ABOVE = "below", "above"


@dataclass(frozen=True)
class Inverted:
    """Inversions of ``m`` observed values (arrays of shape ``(m,)``).

    ``lower_open`` / ``upper_open`` say the set reaches the grid's start / end, so that
    limit is only bounded by ``lower`` / ``upper``; a set beyond the grid is open on that
    side with both limits at the grid's end. ``empty`` marks a set that is empty although
    the value lies within the belt's range (a belt with gaps), with NaN limits.
    ``estimate`` is NaN where it is open; ``estimate_side`` is ``below``, ``above`` or
    ``""``.
    """

    lower: np.ndarray
    upper: np.ndarray
    lower_open: np.ndarray
    upper_open: np.ndarray
    contiguous: np.ndarray
    empty: np.ndarray
    estimate: np.ndarray
    estimate_side: np.ndarray

    def covers(self, theta: float) -> np.ndarray:
        """Whether each reported interval (open sides unbounded) contains ``theta``."""
        above_lower = self.lower_open | (self.lower <= theta)
        below_upper = self.upper_open | (theta <= self.upper)
        return ~self.empty & above_lower & below_upper

    def below(self, theta: float) -> np.ndarray:
        """Whether each estimate lies below ``theta`` (an open estimate by its side)."""
        with np.errstate(invalid="ignore"):
            return np.where(self.estimate_side == BELOW, True,
                            np.where(self.estimate_side == ABOVE, False,
                                     self.estimate < theta))


def confidence_sets(fine: np.ndarray, lower_curve: np.ndarray, upper_curve: np.ndarray,
                    observed: np.ndarray) -> tuple[np.ndarray, ...]:
    """The hull of each observed value's confidence set on the fine grid.

    Returns ``lower, upper, lower_open, upper_open, contiguous, empty``.
    """
    t = np.asarray(observed, dtype=float)[:, None]
    inside = (lower_curve[None, :] <= t) & (t <= upper_curve[None, :])
    none = ~inside.any(axis=1)
    first = np.argmax(inside, axis=1)
    last = fine.size - 1 - np.argmax(inside[:, ::-1], axis=1)
    lower = fine[first].astype(float)
    upper = fine[last].astype(float)
    starts = np.diff(inside.astype(np.int8), axis=1, prepend=0) == 1
    contiguous = starts.sum(axis=1) <= 1
    lower_open = ~none & inside[:, 0]
    upper_open = ~none & inside[:, -1]
    # Beyond the belt: below every lower edge (above every upper edge) of the grid.
    beneath = none & (t[:, 0] < np.nanmin(lower_curve))
    beyond = none & (t[:, 0] > np.nanmax(upper_curve))
    lower = np.where(beneath, fine[0], np.where(beyond, fine[-1], lower))
    upper = np.where(beneath, fine[0], np.where(beyond, fine[-1], upper))
    lower_open = lower_open | beneath
    upper_open = upper_open | beyond
    empty = none & ~beneath & ~beyond
    lower = np.where(empty, np.nan, lower)
    upper = np.where(empty, np.nan, upper)
    return lower, upper, lower_open, upper_open, contiguous, empty


def median_crossings(fine: np.ndarray, median: np.ndarray, value: float) -> list[float]:
    """Every :math:`\\theta` where the median curve crosses ``value`` (interpolated).

    >>> median_crossings(np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.0, 1.0]), 0.5)
    [0.5, 1.5]
    """
    a, b = median[:-1], median[1:]
    hits = np.flatnonzero(((a <= value) & (value < b)) | ((b <= value) & (value < a)))
    return [float(fine[i] + (value - a[i]) / (b[i] - a[i]) * (fine[i + 1] - fine[i]))
            for i in hits.tolist()]


def median_unbiased(fine: np.ndarray, median: np.ndarray,
                    observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median-unbiased estimate of each observed value and its open side.

    The largest upward crossing of the median curve, else the largest crossing of any
    kind; none: open below (the curve lies above the value) or above.
    """
    t = np.asarray(observed, dtype=float)[:, None]
    a, b = median[None, :-1], median[None, 1:]
    up = (a <= t) & (t < b)
    down = (b <= t) & (t < a)
    step = np.diff(fine)[None, :]

    def last_true(mask: np.ndarray) -> np.ndarray:
        return mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)

    pick = np.where(up.any(axis=1), last_true(up), last_true(down))
    found = up.any(axis=1) | down.any(axis=1)
    a_i = np.take_along_axis(a.repeat(t.shape[0], 0), pick[:, None], 1)[:, 0]
    b_i = np.take_along_axis(b.repeat(t.shape[0], 0), pick[:, None], 1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = fine[pick] + (t[:, 0] - a_i) / (b_i - a_i) * step[0, pick]
    estimate = np.where(found, estimate, np.nan)
    side = np.where(found, "", np.where(t[:, 0] < np.nanmin(median), BELOW, ABOVE))
    return estimate, side


def invert(fine: np.ndarray, curves: np.ndarray, observed: np.ndarray) -> Inverted:
    """Invert the belt ``curves (F, 3)`` (2.5%, 50%, 97.5%) at each observed value.

    >>> fine = np.linspace(-1, 3, 401)
    >>> curves = np.stack([fine - 1, fine, fine + 1], axis=1)   # T ~ theta +- 1
    >>> out = invert(fine, curves, np.array([1.0]))
    >>> float(out.estimate[0]), float(out.lower[0]), float(out.upper[0])
    (1.0, 0.0, 2.0)
    """
    observed = np.atleast_1d(np.asarray(observed, dtype=float))
    lower, upper, lower_open, upper_open, contiguous, empty = confidence_sets(
        fine, curves[:, 0], curves[:, 2], observed)
    estimate, side = median_unbiased(fine, curves[:, 1], observed)
    return Inverted(lower, upper, lower_open, upper_open, contiguous, empty, estimate, side)
