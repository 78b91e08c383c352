"""Concordance indices of a risk score with survival (Harrell's C, Uno's C), with their
infinitesimal-jackknife variance, for a stack of cohorts at once.

A pair of patients is *comparable* when the one with the shorter follow-up died: a death
at time :math:`t_i` is compared with every patient :math:`j` still under observation after
it, :math:`t_j > t_i`, or censored at the same time (:math:`t_j = t_i`, censored: a
censoring at the time of a death counts as later, as in the Cox risk set). Two deaths at
the same time are not compared. With a risk score :math:`x` (higher = worse, the
orientation of R's ``reverse = TRUE``), a comparable pair is concordant when the patient
who died first has the higher score, discordant when the lower, and tied on the score when
equal. Each pair carries the weight :math:`w(t_i)` of its death time, and

.. math::

    C = \\frac{N_c + N_t / 2}{N_c + N_d + N_t},

with :math:`N_c, N_d, N_t` the weighted numbers of concordant, discordant and score-tied
pairs. Harrell's C has :math:`w = 1`; Uno's C has :math:`w(t) = 1 / \\hat G(t-)^2` up to a
truncation time :math:`\\tau` and 0 after it, :math:`\\hat G` the Kaplan-Meier estimate of
the censoring distribution (deaths before censorings at a tied time).

**Variance.** The infinitesimal jackknife (IJ) of R's ``survival::concordance``
(Therneau & Watson 2017; the ``var`` it returns): with every patient given a case weight,
the derivative of Somers' :math:`d = 2C - 1 = (N_c - N_d) / N` with respect to patient
:math:`k`'s weight is

.. math::

    D_k = \\frac{(c_k - d_k) - d\\,(c_k + d_k + t_k)}{N},

where :math:`c_k, d_k, t_k` are the weighted concordant, discordant and tied pairs that
patient :math:`k` belongs to (as the death or as the later patient) and :math:`N = N_c +
N_d + N_t`; then :math:`\\widehat{\\mathrm{Var}}(C) = \\sum_k D_k^2 / 4`. As in R, the time
weights are held fixed (the dependence of :math:`\\hat G` on the case weights is ignored).
The 95% interval is :math:`C \\pm 1.96\\,\\mathrm{se}`, clipped to [0, 1].

**Algorithm.** No loop over cohorts or pairs: each cohort is sorted by time (deaths first
within a tie), its scores are replaced by their dense ranks, and the counts come from
cumulative sums of a (patient x distinct score) indicator array, in time order for the
patients still at risk and in score order for the comparison. The cost is
:math:`O(n L)` per cohort for :math:`L` distinct scores: linear in :math:`n` for a score
with a few levels (a points score), :math:`O(n^2)` for a continuous one. Cohorts are
processed in chunks so that memory stays below :data:`MAX_CELLS` cells.

References
----------
.. [1] Harrell FE, Califf RM, Pryor DB, Lee KL, Rosati RA. Evaluating the yield of medical
   tests. JAMA 1982;247:2543-2546.
.. [2] Uno H, Cai T, Pencina MJ, D'Agostino RB, Wei LJ. On the C-statistics for evaluating
   overall adequacy of risk prediction procedures with censored survival data.
   Stat Med 2011;30:1105-1117.
.. [3] Therneau TM, Watson DA. The concordance statistic and the Cox model. Mayo Clinic
   technical report 85, 2017; R package survival, ``concordance`` (timewt ``"n"`` and
   ``"n/G2"``, ``ymax``) and its C routines ``concordance3`` and ``fastkm1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from calculator.published import Z95
from simulation.stats.stacking import stack_inputs, take_last, tie_groups, unstack

#: Largest number of (cohort x patient x distinct score) cells held at once.
MAX_CELLS = 4_000_000

#: Time weightings: ``"n"`` (Harrell: every comparable pair counts once) and ``"n/G2"``
#: (Uno: a pair counts 1 / G(t-)^2 at its death time t). The names are R's ``timewt``.
TIME_WEIGHTS = ("n", "n/G2")


@dataclass(frozen=True)
class Concordance:
    """Concordance of a risk score with survival in each cohort of a stack.

    Attributes
    ----------
    value : ndarray, shape (...)
        C (NaN when there is no comparable pair).
    se, variance : ndarray, shape (...)
        Infinitesimal-jackknife standard error and variance of C.
    ci : ndarray, shape (..., 2)
        ``value -+ 1.959964 se``, clipped to [0, 1].
    concordant, discordant, tied_score : ndarray, shape (...)
        Weighted numbers of comparable pairs of each kind (``tied_score``: tied on the
        score, not on time).
    n, events : ndarray of int, shape (...)
        Patients and deaths used.
    """

    value: np.ndarray
    se: np.ndarray
    variance: np.ndarray
    ci: np.ndarray
    concordant: np.ndarray
    discordant: np.ndarray
    tied_score: np.ndarray
    n: np.ndarray
    events: np.ndarray


def harrell_c(time: Any, event: Any, risk: Any, mask: Any = None) -> Concordance:
    """Harrell's C of ``risk`` (higher = worse) with its IJ variance.

    Equal to R's ``concordance(Surv(time, event) ~ risk, reverse = TRUE)``: its
    ``concordance`` and ``var`` (module docstring).

    Parameters
    ----------
    time, event : array_like, shape (..., n)
        Follow-up times and event indicators (1 died, 0 censored); NaN means missing.
    risk : array_like, shape (..., n)
        Risk score, higher meaning shorter survival (a Cox linear predictor).
    mask : array_like of bool, shape (..., n), optional
        Rows that belong to the analysis; rows with a missing value are left out anyway.

    Examples
    --------
    Deaths at 1 (score 3) and 3 (score 1), censored at 2 (score 2) and 4 (score 0). The
    comparable pairs are the death at 1 with each of the other three and the death at 3
    with the patient censored at 4; all four are concordant (the one who died first had
    the higher score), so C = 1. Raise the last score to 5 and the two pairs with that
    patient turn discordant: C = 2/4.

    >>> float(harrell_c([1, 2, 3, 4], [1, 0, 1, 0], [3, 2, 1, 0]).value)
    1.0
    >>> float(harrell_c([1, 2, 3, 4], [1, 0, 1, 0], [3, 2, 1, 5]).value)
    0.5
    """
    return concordance(time, event, risk, mask, time_weight="n")


def uno_c(time: Any, event: Any, risk: Any, tau: float, mask: Any = None) -> Concordance:
    """Uno's C of ``risk`` truncated at ``tau``, with its IJ variance.

    Equal to R's ``concordance(Surv(time, event) ~ risk, reverse = TRUE, timewt =
    "n/G2", ymax = tau)``: pairs whose death is after ``tau`` do not count, the others
    are weighted by :math:`1/\\hat G(t-)^2` (module docstring).
    """
    return concordance(time, event, risk, mask, time_weight="n/G2", tau=tau)


def concordance(time: Any, event: Any, risk: Any, mask: Any = None, *,
                time_weight: str = "n", tau: float | None = None,
                max_cells: int = MAX_CELLS) -> Concordance:
    """Concordance of a risk score with survival (module docstring), batched.

    Parameters
    ----------
    time, event, risk, mask :
        As for :func:`harrell_c`.
    time_weight : ``"n"`` or ``"n/G2"``
        Harrell's (every pair 1) or Uno's (1 / G(t-)^2) weighting.
    tau : float, optional
        Pairs whose death is after ``tau`` get weight 0 (R's ``ymax``).
    max_cells : int
        Memory bound of one chunk of cohorts.
    """
    if time_weight not in TIME_WEIGHTS:
        raise ValueError(f"time_weight must be one of {', '.join(TIME_WEIGHTS)}; "
                         f"got {time_weight!r}")
    if tau is not None and not np.isfinite(tau):
        raise ValueError(f"tau must be a finite time; got {tau!r}")
    lead, (time_b, event_b, risk_b), mask_b = stack_inputs(time, event, risk, mask=mask)
    included = (mask_b & np.isfinite(time_b) & np.isfinite(event_b) & np.isfinite(risk_b))
    B, n = time_b.shape
    levels = _dense_ranks(risk_b, included)
    width = int(levels.max(initial=0)) + 1
    step = max(1, int(max_cells // max(n * width, 1)))
    parts = [_chunk(time_b[s:s + step], event_b[s:s + step], levels[s:s + step],
                    included[s:s + step], time_weight, tau)
             for s in range(0, B, step)]
    out = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    value, se = out["value"], np.sqrt(out["variance"])
    ci = np.clip(np.stack([value - Z95 * se, value + Z95 * se], axis=-1), 0.0, 1.0)
    return Concordance(value=unstack(value, lead), se=unstack(se, lead),
                       variance=unstack(out["variance"], lead), ci=unstack(ci, lead),
                       concordant=unstack(out["concordant"], lead),
                       discordant=unstack(out["discordant"], lead),
                       tied_score=unstack(out["tied_score"], lead),
                       n=unstack(out["n"].astype(int), lead),
                       events=unstack(out["events"].astype(int), lead))


def _dense_ranks(risk: np.ndarray, included: np.ndarray) -> np.ndarray:
    """Rank 0, 1, ... of each row's distinct included scores (equal scores, equal rank);
    0 for rows left out (they carry no weight)."""
    keyed = np.where(included, risk, np.inf)
    order = np.argsort(keyed, axis=-1, kind="stable")
    ordered = np.take_along_axis(keyed, order, axis=-1)
    new = np.zeros(ordered.shape, dtype=np.int64)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ranks = np.empty_like(new)
    np.put_along_axis(ranks, order, np.cumsum(new, axis=-1), axis=-1)
    return np.where(included, ranks, 0)


def _censoring_survival(rows: np.ndarray, died: np.ndarray, first: np.ndarray,
                        last: np.ndarray, deaths_in_group: np.ndarray) -> np.ndarray:
    """:math:`\\hat G(t-)` at each sorted row's time: the Kaplan-Meier estimate of the
    censoring distribution just before it, deaths leaving before censorings at a tie
    (R's ``fastkm1``).

    Rows are in time order, deaths first within a tie group, so a group's first censored
    row sits at ``first + deaths_in_group`` and the rows from it on are the censoring risk
    set of that time (later times, and the censorings of this one).
    """
    censored = rows & ~died
    at_risk = np.cumsum(rows[:, ::-1], axis=-1)[:, ::-1]
    cumulative = np.cumsum(censored, axis=-1)
    in_group = take_last(cumulative, last) - take_last(cumulative - censored, first)
    leads = censored & (np.arange(rows.shape[-1]) == first + deaths_in_group)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(leads, (at_risk - in_group) / at_risk, 1.0)
    before = np.ones(rows.shape)
    before[:, 1:] = np.cumprod(factor, axis=-1)[:, :-1]
    return before


def _chunk(time: np.ndarray, event: np.ndarray, levels: np.ndarray, included: np.ndarray,
           time_weight: str, tau: float | None) -> dict[str, np.ndarray]:
    """The counts, C and its IJ variance of a chunk of cohorts (module docstring)."""
    B, n = time.shape
    # Time order, deaths before censorings within a tie, rows left out last.
    died_in = included & (event > 0)
    by_event = np.argsort(~died_in, axis=-1, kind="stable")
    keyed = np.take_along_axis(np.where(included, time, np.inf), by_event, axis=-1)
    order = np.take_along_axis(by_event, np.argsort(keyed, axis=-1, kind="stable"), axis=-1)
    t = np.take_along_axis(np.where(included, time, np.inf), order, axis=-1)
    rows = np.take_along_axis(included, order, axis=-1)
    died = np.take_along_axis(died_in, order, axis=-1)
    level = np.take_along_axis(levels, order, axis=-1)
    first, last = tie_groups(t)
    position = np.arange(n)
    cumulative_died = np.cumsum(died, axis=-1)
    deaths_in_group = take_last(cumulative_died, last) - take_last(cumulative_died - died,
                                                                    first)

    deaths_total = died.sum(axis=-1)
    weight = np.ones((B, n))
    if time_weight == "n/G2":
        g_before = _censoring_survival(rows, died, first, last, deaths_in_group)
        with np.errstate(divide="ignore"):
            uno = 1.0 / g_before ** 2
        # R falls back to Harrell's weights when there are fewer than two deaths.
        weight = np.where((deaths_total >= 2)[:, None], uno, 1.0)
    if tau is not None:
        weight = np.where(t > tau, 0.0, weight)
    weight = np.where(died, weight, 0.0)

    width = int(level.max(initial=0)) + 1
    onehot = np.zeros((B, n, width))
    np.put_along_axis(onehot, level[..., None], rows[..., None].astype(float), axis=-1)
    # Patients at sorted positions >= p, by score level (position n: nobody).
    later = np.zeros((B, n + 1, width))
    later[:, :n] = np.cumsum(onehot[:, ::-1], axis=1)[:, ::-1]
    # Weighted deaths at sorted positions < q, by score level.
    earlier = np.zeros((B, n + 1, width))
    earlier[:, 1:] = np.cumsum(onehot * weight[..., None], axis=1)
    # A death's comparison set starts after the deaths of its tie group; a patient is in
    # the comparison set of the deaths before its own tie group if it died, before its
    # own position if censored (the deaths of its time come first).
    start = np.where(died, first + deaths_in_group, position)
    until = np.where(died, first, position)

    def split(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Counts by level -> (below the row's level, tied with it, above it)."""
        running = np.cumsum(counts, axis=-1)
        at_or_below = np.take_along_axis(running, level[..., None], axis=-1)[..., 0]
        tied = np.take_along_axis(counts, level[..., None], axis=-1)[..., 0]
        return at_or_below - tied, tied, running[..., -1] - at_or_below

    later_lower, later_tied, later_higher = split(
        np.take_along_axis(later, start[..., None], axis=1))
    earlier_lower, earlier_tied, earlier_higher = split(
        np.take_along_axis(earlier, until[..., None], axis=1))
    # As the death: the later patient has a lower score -> concordant.
    # As the later patient: the earlier death had a higher score -> concordant.
    conc = weight * later_lower + rows * earlier_higher
    disc = weight * later_higher + rows * earlier_lower
    tied = weight * later_tied + rows * earlier_tied
    n_conc = (weight * later_lower).sum(axis=-1)
    n_disc = (weight * later_higher).sum(axis=-1)
    n_tied = (weight * later_tied).sum(axis=-1)
    pairs = n_conc + n_disc + n_tied
    with np.errstate(divide="ignore", invalid="ignore"):
        somers = (n_conc - n_disc) / pairs
        influence = ((conc - disc) - somers[:, None] * (conc + disc + tied)) / pairs[:, None]
        variance = np.where(pairs > 0, (influence ** 2).sum(axis=-1) / 4.0, np.nan)
        value = np.where(pairs > 0, (somers + 1.0) / 2.0, np.nan)
    return {"value": value, "variance": variance, "concordant": n_conc,
            "discordant": n_disc, "tied_score": n_tied, "n": rows.sum(axis=-1),
            "events": deaths_total}
