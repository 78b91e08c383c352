"""Cox proportional-hazards fits for a whole stack of cohorts at once.

:func:`cox_fit` is the fast engine: Newton-Raphson with step-halving on the Efron partial
likelihood, vectorised with numpy across the cohorts of the stack. Its reference, one
``lifelines.CoxPHFitter`` fit per cohort, is :func:`simulation.stats.reference.cox_fit_lifelines`;
both return a :class:`CoxFit`.

The partial log-likelihood with Efron's handling of ties is, summing over the distinct event
times :math:`t` with :math:`d` deaths :math:`D_t`, risk set :math:`R_t` and
:math:`\\eta_i = x_i^\\top \\beta`,

.. math::

    \\ell(\\beta) = \\sum_t \\Big[\\sum_{i \\in D_t} \\eta_i
        - \\sum_{r=0}^{d-1} \\log\\Big(\\sum_{j \\in R_t} e^{\\eta_j}
        - \\tfrac{r}{d} \\sum_{j \\in D_t} e^{\\eta_j}\\Big)\\Big].

References
----------
.. [1] Efron B. The efficiency of Cox's likelihood function for censored data.
   J Am Stat Assoc 1977;72:557-565.
.. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model.
   Springer 2000, sections 3.2-3.3 (Newton-Raphson, ties, infinite coefficients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog
from scipy.special import ndtr

from calculator.errors import InputError
from calculator.published import Z95
from simulation.stats.stacking import tie_groups


@dataclass(frozen=True)
class CoxFit:
    """Cox fits of a stack of ``B`` cohorts with ``p`` covariates each.

    Attributes
    ----------
    coef : ndarray, shape (B, p)
        Log hazard ratios; 0.0 for inactive covariates, NaN where the cohort could not be
        fitted at all. A separated coefficient holds the (large, finite) value at which the
        iteration stopped: only its sign means anything.
    se : ndarray, shape (B, p)
        Standard errors, the square roots of the diagonal of the inverse observed
        information; NaN if inactive, separated or not estimable.
    z, p : ndarray, shape (B, p)
        Wald statistic ``coef / se`` and its two-sided normal p-value.
    ci_lower, ci_upper : ndarray, shape (B, p)
        95% Wald interval of the log hazard ratio, ``coef -+ 1.959964 se``.
    loglik : ndarray, shape (B,)
        Efron partial log-likelihood at the estimate.
    converged : ndarray of bool, shape (B,)
        The iteration met its stopping rule with a finite, invertible information for the
        coefficients that are not separated. A cohort with no events, too few rows or a
        singular information matrix is not converged and has NaN estimates.
    separated : ndarray of bool, shape (B, p)
        The coefficient diverges: the partial likelihood keeps rising as it goes to plus
        or minus infinity (monotone likelihood), so there is no finite estimate.
    n_iter : ndarray of int, shape (B,)
        Newton-Raphson iterations used.
    n, events : ndarray of int, shape (B,)
        Rows and events that entered each fit.
    """

    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    loglik: np.ndarray
    converged: np.ndarray
    separated: np.ndarray
    n_iter: np.ndarray
    n: np.ndarray
    events: np.ndarray

    @property
    def finite(self) -> np.ndarray:
        """(B,) bool: converged with every coefficient finite (no separation)."""
        return self.converged & ~self.separated.any(axis=1)

    def __len__(self) -> int:
        return int(self.coef.shape[0])


# ---------------------------------------------------------------------------------------
# Input handling shared by both engines
# ---------------------------------------------------------------------------------------

def _problem(field: str, value: Any, allowed: str, message: str,
             hint: str | None = None) -> InputError:
    return InputError(field, value, None, allowed, message, hint)


def as_stack(time: Any, event: Any, X: Any, mask: Any = None, active: Any = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check the inputs and bring them to stack shapes.

    Returns ``time (B, n)`` float, ``event (B, n)`` bool, ``X (B, n, p)`` float,
    ``mask (B, n)`` bool and ``active (B, p)`` bool. A single cohort, ``time (n,)`` with
    ``X (n,)`` or ``(n, p)``, becomes a stack of one. Raises :class:`InputError` naming
    the argument for wrong shapes, event codes other than 0/1, or non-finite values in
    rows that enter a fit.
    """
    time = np.asarray(time, dtype=float)
    if time.ndim == 1:
        time = time[None, :]
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise _problem("X", X.shape, "(n,) or (n, p) for one cohort",
                           f"X must have shape (n,) or (n, p) when time has shape (n,); "
                           f"got {X.shape}")
        X = X[None]
        if event is not None and np.ndim(event) == 1:
            event = np.asarray(event)[None, :]
        if mask is not None and np.ndim(mask) == 1:
            mask = np.asarray(mask)[None, :]
        if active is not None and np.ndim(active) == 1:
            active = np.asarray(active)[None, :]
    elif time.ndim == 2:
        X = np.asarray(X, dtype=float)
        if X.ndim == 2:
            X = X[:, :, None]
    else:
        raise _problem("time", time.shape, "(n,) or (B, n)",
                       f"time must have shape (n,) or (B, n); got {time.shape}")
    B, n = time.shape
    if X.ndim != 3 or X.shape[:2] != (B, n):
        raise _problem("X", X.shape, f"({B}, {n}, p)",
                       f"X must have shape ({B}, {n}, p) to match time {time.shape}; "
                       f"got {X.shape}")
    p = X.shape[2]

    event_arr = np.asarray(event)
    if event_arr.shape != (B, n):
        raise _problem("event", event_arr.shape, f"({B}, {n})",
                       f"event must have the shape of time, ({B}, {n}); got {event_arr.shape}")
    if event_arr.dtype != bool:
        bad = ~np.isin(event_arr, (0, 1))
        if bad.any():
            value = event_arr[bad].flat[0].item()
            raise _problem("event", value, "0/1 or False/True",
                           f"event must be 0 (censored) or 1 (died); got {value!r}")
        event_arr = event_arr.astype(bool)

    if mask is None:
        mask_arr = np.ones((B, n), dtype=bool)
    else:
        mask_arr = np.asarray(mask)
        if mask_arr.shape != (B, n) or mask_arr.dtype != bool:
            raise _problem("mask", (mask_arr.shape, str(mask_arr.dtype)), f"bool ({B}, {n})",
                           f"mask must be a bool array of shape ({B}, {n}); got "
                           f"{mask_arr.dtype} {mask_arr.shape}")
    if active is None:
        active_arr = np.ones((B, p), dtype=bool)
    else:
        active_arr = np.asarray(active)
        if active_arr.shape != (B, p) or active_arr.dtype != bool:
            raise _problem("active", (active_arr.shape, str(active_arr.dtype)),
                           f"bool ({B}, {p})",
                           f"active must be a bool array of shape ({B}, {p}); got "
                           f"{active_arr.dtype} {active_arr.shape}")

    # Checked a block of cohorts at a time, so that no copy of a large stack is made.
    for start in range(0, B, 4096):
        block = slice(start, start + 4096)
        bad = ~np.isfinite(time[block]) & mask_arr[block]
        if bad.any():
            b, i = np.argwhere(bad)[0]
            b += start
            raise _problem("time", float(time[b, i]), "finite numbers",
                           f"time must be finite in the rows that enter a fit; cohort {b} "
                           f"row {i} has {time[b, i]}",
                           "leave incomplete rows out with mask")
        bad = ~np.isfinite(X[block])
        bad &= mask_arr[block, :, None]
        bad &= active_arr[block, None, :]
        if bad.any():
            b, i, k = np.argwhere(bad)[0]
            b += start
            raise _problem("X", float(X[b, i, k]), "finite numbers",
                           f"X must be finite in the rows and covariates that enter a fit; "
                           f"cohort {b} row {i} covariate {k} has {X[b, i, k]}",
                           "leave incomplete rows out with mask, or the covariate with "
                           "active")
    return time, event_arr, X, mask_arr, active_arr


def wald_fit(coef: np.ndarray, se: np.ndarray, loglik: np.ndarray,
             converged: np.ndarray, separated: np.ndarray, n_iter: np.ndarray,
             n: np.ndarray, events: np.ndarray) -> CoxFit:
    """Assemble a :class:`CoxFit`, adding the Wald z, p and 95% interval.

    :math:`z = \\hat\\beta / \\mathrm{se}`, :math:`p = 2\\,\\Phi(-|z|)`,
    CI :math:`\\hat\\beta \\mp 1.959964\\,\\mathrm{se}`.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        z = coef / se
    p = 2.0 * ndtr(-np.abs(z))
    return CoxFit(coef=coef, se=se, z=z, p=p,
                  ci_lower=coef - Z95 * se, ci_upper=coef + Z95 * se,
                  loglik=loglik, converged=converged, separated=separated,
                  n_iter=n_iter.astype(int), n=n.astype(int), events=events.astype(int))


# ---------------------------------------------------------------------------------------
# Fast engine: numpy, vectorised across the stack
# ---------------------------------------------------------------------------------------

#: Rows (cohorts x patients) fitted at a time by default: the working arrays of a chunk
#: (a few hundred bytes per row for p = 3) then stay in cache, and memory stays bounded
#: however large the stack (see benchmarks/bench_cox.py).
CHUNK_ROWS = 65_536

#: A pivot of the information matrix below this share of its diagonal entry counts as zero.
PIVOT_TOLERANCE = 1e-10

#: Step-halvings allowed in a row before a cohort stops (the step is then ~1e-9 of a
#: Newton step, below what floating point can resolve).
MAX_HALVINGS = 30


@dataclass
class _Prepared:
    """A stack made ready for the Efron sums: sorted, standardised, indexed.

    Rows are sorted by decreasing time within each cohort, deaths before censored rows
    within a tie and rows that do not enter last (with all-zero covariates). A death's
    risk set, every row with a time at or after the death's, is then a prefix of the
    cohort, so its sums are cumulative sums read at the last row of the death's tie
    group; and a tie's deaths are consecutive rows. The deaths of each cohort are listed
    in "slots" ``(B, E)``, padded to the largest number of deaths. Row and slot numbers
    are local to the cohort.
    """

    x: np.ndarray           # (B, n, p) standardised covariates, 0 in unused rows/columns
    head: np.ndarray        # (B, n, 1 + p) [1, x] for entering rows, else 0
    risk_row: np.ndarray    # (B, E) last row of the death's tie group (end of risk set)
    death_row: np.ndarray   # (B, E) row of the death
    tie_size: np.ndarray    # (B, E) number d of deaths in the death's tie
    tie_hi: np.ndarray      # (B, E) last death row of the death's tie
    tie_lo: np.ndarray      # (B, E) row before the tie's first row (-1 if none)
    frac: np.ndarray        # (B, E) Efron's r / d (rank r among the d tied deaths)
    valid: np.ndarray       # (B, E) 1.0 for a death, 0.0 for padding
    x_events: np.ndarray    # (B, p) sum of the standardised covariates over the deaths
    deaths: np.ndarray      # (B,) number of deaths
    entered: np.ndarray     # (B, n) bool, sorted
    died: np.ndarray        # (B, n) bool, sorted
    last: np.ndarray        # (B, n) last row of each row's tie group
    center: np.ndarray      # (B, p)
    scale: np.ndarray       # (B, p)

    def subset(self, keep: np.ndarray) -> "_Prepared":
        """The same for the cohorts ``keep`` only."""
        return _Prepared(**{name: getattr(self, name)[keep]
                            for name in self.__dataclass_fields__})


@dataclass
class _FlatIndex:
    """Flat indices of a :class:`_Prepared` stack, for one evaluation after another.

    Rows are numbered ``b * n + row``; ``B * n`` is an extra all-zero row.
    """

    risk: np.ndarray        # (B * E,) end of each slot's risk set
    tie_hi: np.ndarray      # (B * E,) prefix through the slot's tied deaths
    tie_lo: np.ndarray      # (B * E,) prefix before the tie (or the zero row)
    frac: np.ndarray        # (B * E, 1) r / d
    tied_slot: np.ndarray   # (M,) slots with an Efron correction (rank r >= 1)
    tied_frac: np.ndarray   # (M,) their r / d
    tied_key: np.ndarray    # (M,) first row of their tie
    member_row: np.ndarray  # (Q,) death rows in ties of two or more deaths
    member_key: np.ndarray  # (Q,) first row of their tie

    @classmethod
    def of(cls, prep: _Prepared) -> "_FlatIndex":
        B, n, _ = prep.x.shape
        base = (np.arange(B) * n)[:, None]
        corrected = np.flatnonzero(prep.frac.ravel() > 0)
        lo = np.where(prep.tie_lo >= 0, prep.tie_lo + base, B * n).ravel()
        key = (prep.tie_lo + 1 + base).ravel()
        member = np.flatnonzero(((prep.tie_size > 1) & (prep.valid > 0)).ravel())
        return cls(risk=(prep.risk_row + base).ravel(),
                   tie_hi=(prep.tie_hi + base).ravel(), tie_lo=lo,
                   frac=prep.frac.reshape(-1, 1), tied_slot=corrected,
                   tied_frac=prep.frac.ravel()[corrected], tied_key=key[corrected],
                   member_row=(prep.death_row + base).ravel()[member],
                   member_key=key[member])


def _prepare(time: np.ndarray, event: np.ndarray, X: np.ndarray, mask: np.ndarray,
             active: np.ndarray) -> _Prepared:
    B, n, p = X.shape
    died_first = np.where(event & mask, 0, 1)
    order = np.lexsort((died_first, np.where(mask, -time, np.inf)), axis=1)
    flat_order = (order + (np.arange(B) * n)[:, None]).ravel()
    t = np.take(np.where(mask, time, -np.inf), flat_order).reshape(B, n)
    entered = np.take(mask, flat_order).reshape(B, n)
    died = np.take(event, flat_order).reshape(B, n) & entered
    x = np.take(X.reshape(B * n, p), flat_order, axis=0).reshape(B, n, p)

    # Standardise with the entering rows' mean and SD (the partial likelihood does not
    # change with a shift of x; the scale only conditions the Newton steps).
    inside = entered[:, :, None].astype(float)
    x = np.where(entered[:, :, None] & active[:, None, :], x, 0.0)   # NaN allowed there
    count = np.maximum(entered.sum(axis=1), 1)[:, None]
    center = np.matmul(inside.transpose(0, 2, 1), x)[:, 0] / count
    x -= center[:, None, :]
    x *= inside
    spread = np.sqrt(np.einsum("bnp,bnp->bp", x, x) / count)
    scale = np.where(spread > 0, spread, 1.0)
    x /= scale[:, None, :]
    head = np.concatenate((inside, x), axis=2)

    # Tie groups: first and last row of each row's group of equal times.
    first, last = tie_groups(t)

    # Death slots, padded to the largest number of deaths in the stack.
    deaths = died.sum(axis=1)
    width = max(int(deaths.max(initial=0)), 1)
    flat = np.flatnonzero(died.ravel())
    cohort, row = np.divmod(flat, n)
    offsets = np.concatenate(([0], np.cumsum(deaths)[:-1]))
    slot = np.arange(flat.size) - offsets[cohort]
    valid = np.zeros((B, width))
    valid[cohort, slot] = 1.0
    risk_row = np.full((B, width), n - 1, dtype=np.intp)   # padding: the whole cohort
    risk_row[cohort, slot] = last[cohort, row]
    # A tie's deaths come first in its group: rows first .. first + d - 1.
    tie_first = first[cohort, row]
    tied_deaths = np.bincount(cohort * n + tie_first, minlength=B * n)[cohort * n + tie_first]
    death_row = np.zeros((B, width), dtype=np.intp)
    death_row[cohort, slot] = row
    tie_size = np.ones((B, width), dtype=np.intp)
    tie_size[cohort, slot] = tied_deaths
    tie_hi = np.zeros((B, width), dtype=np.intp)
    tie_hi[cohort, slot] = tie_first + tied_deaths - 1
    tie_lo = np.full((B, width), -1, dtype=np.intp)
    tie_lo[cohort, slot] = tie_first - 1
    frac = np.zeros((B, width))
    frac[cohort, slot] = (row - tie_first) / tied_deaths

    x_events = np.matmul(died[:, None, :].astype(float), x)[:, 0]
    return _Prepared(x=x, head=head, risk_row=risk_row, death_row=death_row,
                     tie_size=tie_size, tie_hi=tie_hi, tie_lo=tie_lo,
                     frac=frac, valid=valid, x_events=x_events, deaths=deaths,
                     entered=entered, died=died, last=last, center=center, scale=scale)


def _monotone_coordinates(prep: _Prepared, active: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Covariates along which the partial likelihood rises without bound.

    The Efron (and Breslow) log-likelihood is non-decreasing in :math:`\\beta_k` for every
    value of the other coefficients iff each death has the largest :math:`x_k` of its risk
    set (all rows with time >= the death's time, tied rows included), and then strictly
    increasing iff some risk set of a death also holds a smaller :math:`x_k`: the
    coefficient then runs off to :math:`+\\infty` (monotone likelihood, Bryson & Johnson
    1981; Heinze & Schemper 2001). Mirror image for :math:`-\\infty`. For a binary factor
    this is "one group has no deaths while the other still has members at risk".
    """
    B, n, p = prep.x.shape
    # Risk sets are prefixes of the time-descending rows (rows that do not enter come
    # after all of them): running max and min, read at the end of each death's tie.
    ends = (prep.risk_row + (np.arange(B) * n)[:, None]).ravel()
    rows = (prep.death_row + (np.arange(B) * n)[:, None]).ravel()
    flat = prep.x.reshape(B * n, p)
    risk_max = np.take(np.maximum.accumulate(prep.x, axis=1).reshape(B * n, p), ends, axis=0)
    risk_min = np.take(np.minimum.accumulate(prep.x, axis=1).reshape(B * n, p), ends, axis=0)
    x = np.take(flat, rows, axis=0)

    def deaths_where(condition: np.ndarray) -> np.ndarray:
        """Number of deaths (B, p) meeting ``condition`` (B * E, p), as a batched matrix
        product: much faster than numpy's boolean reductions over the middle axis."""
        return np.matmul(prep.valid[:, None, :], condition.reshape(B, -1, p).astype(float))[:, 0]

    up = (deaths_where(x < risk_max) == 0) & (deaths_where(risk_min < x) > 0)
    down = (deaths_where(x > risk_min) == 0) & (deaths_where(risk_max > x) > 0)
    has_deaths = (prep.deaths > 0)[:, None]
    return up & active & has_deaths, down & active & has_deaths


def _efron(prep: _Prepared, index: _FlatIndex, beta: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Efron partial log-likelihood, score and observed information at ``beta``.

    ``beta`` (B, p) is on the standardised scale of ``prep``. With
    :math:`S_k(t) = \\sum_{j \\in R_t} w_j x_j^{\\otimes k}` (:math:`w_j = e^{\\eta_j}`),
    the same sums over the :math:`d` tied deaths :math:`T_k`, and for the death of rank
    :math:`r` in its tie, :math:`a_k = S_k - \\tfrac{r}{d} T_k`:
    :math:`\\ell = \\sum \\eta_i - \\sum \\log a_0`,
    :math:`U = \\sum x_i - \\sum a_1 / a_0`,
    :math:`I = \\sum [a_2 / a_0 - a_1 a_1^\\top / a_0^2]`, sums over deaths. A risk set
    whose weights all underflow gives a non-finite log-likelihood, which the
    step-halving of the caller rejects.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _efron_sums(prep, index, beta)


def _efron_sums(prep: _Prepared, index: _FlatIndex, beta: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    B, n, p = prep.x.shape
    E = prep.valid.shape[1]
    eta = np.matmul(prep.x, beta[:, :, None])[:, :, 0]
    # Shift by each cohort's largest linear predictor (x is centred, so it is >= 0 and
    # comes from an entering row): exp cannot overflow, and the shift c comes back as
    # -c per death in the log-likelihood.
    shift = eta.max(axis=1)
    w = np.exp(eta - shift[:, None]) * prep.head[:, :, 0]
    # Risk-set sums of w and w x: prefix sums over the time-descending rows.
    prefix = np.empty((B * n + 1, 1 + p))
    prefix[-1] = 0.0
    sums = prefix[:-1].reshape(B, n, 1 + p)
    np.multiply(prep.head, w[:, :, None], out=sums)
    np.cumsum(sums, axis=1, out=sums)
    a = np.take(prefix, index.risk, axis=0)
    if index.tied_slot.size:
        # Efron: the r-th of d tied deaths sees the risk set less r/d of the tie's
        # weight. The tie's sums are a difference of prefix sums whose subtracted part
        # belongs to the risk set, so no precision is lost beyond that of the risk sums.
        tied = (np.take(prefix, index.tie_hi, axis=0)
                - np.take(prefix, index.tie_lo, axis=0))
        tied *= index.frac
        a -= tied
    a = a.reshape(B, E, 1 + p)
    a0 = a[:, :, 0]
    inv = prep.valid / a0
    loglik = ((prep.x_events * beta).sum(axis=1) - prep.deaths * shift
              - (prep.valid * np.log(a0)).sum(axis=1))
    # Per death [valid, a1 / a0] (the first column only pads the product below).
    means = a * inv[:, :, None]

    # The terms linear in the risk-set sums, sum_s inv_s (S_k - f_s T_k) for the
    # score (k = 1) and the information (k = 2), are sum_j w_j c_j x_j^(k) with
    # c_j = sum of inv_s over the risk sets holding row j, less f_s inv_s over the tie
    # of a tied death j: one weighted sum over rows instead of cumulative sums of the
    # p(p+1)/2 products x_j x_k.
    held = np.bincount(index.risk, weights=inv.ravel(), minlength=B * n + 1)[:B * n]
    held = np.cumsum(held.reshape(B, n)[:, ::-1], axis=1)[:, ::-1]
    if index.tied_slot.size:
        share = np.bincount(index.tied_key, minlength=B * n,
                            weights=inv.ravel()[index.tied_slot] * index.tied_frac)
        held = held - np.bincount(index.member_row, weights=share[index.member_key],
                                  minlength=B * n).reshape(B, n)
    weight = (w * held)[:, None, :]
    # Batched matrix products: far faster than numpy's reductions over the middle axis.
    score = prep.x_events - np.matmul(weight, prep.x)[:, 0, :]
    info = np.matmul(prep.x.transpose(0, 2, 1) * weight, prep.x)
    info -= np.matmul(means.transpose(0, 2, 1), means)[:, 1:, 1:]   # valid is 0/1: v^2 = v
    return loglik, score, info


def _cholesky_solve(info: np.ndarray, score: np.ndarray, free: np.ndarray,
                    reference: np.ndarray, want_inverse: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Solve ``info @ step = score`` over the ``free`` covariates of each cohort.

    A batched Cholesky factorisation written as a loop over the (few) covariates. A
    covariate whose pivot falls to ``PIVOT_TOLERANCE`` times its ``reference`` diagonal
    (the information at the start) or below is dropped from the system: it is constant,
    collinear with earlier covariates, or (later in the iteration) carries no
    information left because its coefficient is running off to infinity. Returns the
    step (0 for dropped and fixed covariates), the bool ``usable`` mask and, if asked,
    the inverse over the usable covariates (0 elsewhere).
    """
    B, p = score.shape
    L = np.zeros((B, p, p))
    usable = free.copy()
    for j in range(p):
        pivot = info[:, j, j] - np.einsum("bk,bk->b", L[:, j, :j], L[:, j, :j])
        ok = usable[:, j] & np.isfinite(pivot) & (pivot > PIVOT_TOLERANCE * reference[:, j])
        usable[:, j] = ok
        root = np.sqrt(np.where(ok, pivot, 1.0))
        L[:, j, j] = root
        L[:, j, :j] *= ok[:, None]
        for i in range(j + 1, p):
            below = (info[:, i, j] - np.einsum("bk,bk->b", L[:, i, :j], L[:, j, :j])) / root
            L[:, i, j] = np.where(ok & usable[:, i], below, 0.0)
    rhs = np.where(usable, score, 0.0)
    forward = np.zeros((B, p))
    for j in range(p):
        forward[:, j] = (rhs[:, j] - np.einsum("bk,bk->b", L[:, j, :j], forward[:, :j])) \
            / L[:, j, j]
    step = np.zeros((B, p))
    for j in reversed(range(p)):
        step[:, j] = (forward[:, j] - np.einsum("bk,bk->b", L[:, j + 1:, j],
                                                step[:, j + 1:])) / L[:, j, j]
    step = np.where(usable, step, 0.0)
    inverse = None
    if want_inverse:
        lower_inv = np.zeros((B, p, p))
        for j in range(p):
            lower_inv[:, j, j] = 1.0 / L[:, j, j]
            for i in range(j + 1, p):
                lower_inv[:, i, j] = -np.einsum("bk,bk->b", L[:, i, j:i],
                                                lower_inv[:, j:i, j]) / L[:, i, i]
        inverse = np.einsum("bki,bkj->bij", lower_inv, lower_inv)
        inverse *= (usable[:, :, None] & usable[:, None, :])
    return step, usable, inverse


#: A Newton step (standardised units) still this large when the log-likelihood has
#: stopped rising marks a divergence (a converging iteration is by then at ~1e-6).
DIVERGING_STEP = 1e-2

#: Iterations in a row without a gain in log-likelihood after which a cohort whose
#: steps neither settle nor grow stops (a diverging fit at the limit of floating point).
FLAT_ITERATIONS = 3

#: Largest number of (death, at-risk row) pairs for which the exact separation check
#: (:func:`_diverging_directions`) is run; beyond it every active coefficient of a cohort
#: that diverged along a combination of covariates is flagged.
MAX_SEPARATION_PAIRS = 200_000


def _diverging_directions(x: np.ndarray, entered: np.ndarray, died: np.ndarray,
                          last: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Covariates that take part in a direction of monotone likelihood (one cohort).

    The partial likelihood rises without bound along a direction :math:`d` iff
    :math:`d^\\top (x_i - x_j) \\ge 0` for every death :math:`i` and every :math:`j` in
    its risk set; with a non-singular information such a :math:`d \\ne 0` makes it
    strictly increasing, so no finite maximum exists and exactly the coefficients with
    :math:`d_k \\ne 0` for some such :math:`d` run off to infinity. For each covariate
    two linear programmes, :math:`\\max \\pm d_k` subject to those constraints and
    :math:`|d| \\le 1`, tell whether it takes part (Albert & Anderson 1984 for the
    logistic analogue; Heinze & Schemper 2001).

    Used only for the rare cohorts whose Newton-Raphson iteration diverged along a
    combination of covariates that the exact single-covariate rule did not explain.
    Arguments are one cohort's rows of :class:`_Prepared` (time-descending, so a death's
    risk set is the rows up to ``last`` of its row).
    """
    cols = np.flatnonzero(free)
    support = np.zeros(free.shape, dtype=bool)
    deaths = np.flatnonzero(died)
    pairs = sum(int(entered[:last[i] + 1].sum()) for i in deaths)
    if pairs > MAX_SEPARATION_PAIRS:
        support[cols] = True
        return support
    z = x[:, cols]
    blocks = [z[:last[i] + 1][entered[:last[i] + 1]] - z[i] for i in deaths]
    constraints = np.unique(np.concatenate(blocks), axis=0)
    constraints = constraints[np.abs(constraints).max(axis=1) > 0]
    if len(constraints) == 0:
        return support
    bounds = [(-1.0, 1.0)] * cols.size
    for position, k in enumerate(cols):
        for sign in (1.0, -1.0):
            objective = np.zeros(cols.size)
            objective[position] = -sign
            result = linprog(objective, A_ub=constraints, b_ub=np.zeros(len(constraints)),
                             bounds=bounds, method="highs")
            if result.status == 0 and -result.fun > 1e-7:
                support[k] = True
                break
    return support


def cox_fit(time: Any, event: Any, X: Any, mask: Any = None, active: Any = None, *,
            tol: float = 1e-9, max_iter: int = 50, chunk_size: int | None = None
            ) -> CoxFit:
    """Cox proportional-hazards fits (Efron ties) of a whole stack of cohorts at once.

    Maximises the Efron partial log-likelihood (module docstring) of every cohort by
    Newton-Raphson with step-halving, vectorised across the stack with numpy: each
    cohort is sorted once (time descending, so every risk set is a prefix), and an
    iteration is one pass of exponentials and cumulative sums over the rows of all
    cohorts, gathers at the deaths' risk-set ends, and Efron's tie correction from
    differences of the same prefix sums. Covariates are standardised within each cohort
    for the iteration and the estimates transformed back. Results agree with
    ``lifelines.CoxPHFitter`` (Efron, no penalizer) to about 1e-9 where both converge.

    Parameters
    ----------
    time : array (B, n) or (n,)
        Follow-up times; only their order matters.
    event : array (B, n) or (n,) of bool or 0/1
        1 for a death, 0 for a censored time.
    X : array (B, n, p), (B, n) for p = 1, or (n, p) / (n,) for one cohort
        Covariates.
    mask : bool array (B, n), optional
        Rows that enter each cohort's fit (complete cases, a subgroup, padding).
        Default: all. Rows left out may hold NaN.
    active : bool array (B, p), optional
        Covariates fitted in each cohort; the others are held at 0 and reported with
        NaN se. Default: all.
    tol : float
        A cohort has converged when every Newton step (standardised units) is below
        ``tol``; the last step is applied. A cohort with a diverging coefficient stops
        when its log-likelihood gains less than ``tol * (1 + |loglik|)``.
    max_iter : int
        Largest number of likelihood evaluations per cohort (iterations and
        step-halvings).
    chunk_size : int, optional
        Cohorts fitted at a time, to bound memory and stay in cache. Default: as many as
        make about ``CHUNK_ROWS`` rows (1,129 cohorts of 58). The results do not depend
        on it.

    Returns
    -------
    CoxFit
        ``converged`` is False, with NaN estimates, for a cohort without deaths or whose
        information matrix is singular at the start (a constant covariate, collinear
        covariates, too few rows), and False if ``max_iter`` is reached. ``separated``
        marks the coefficients with no finite estimate:

        1. the exact single-covariate rule of :func:`_monotone_coordinates`: every
           death has the largest (or every death the smallest) value of the covariate
           in its risk set, and some risk set holds another value (for a binary factor:
           one group has no deaths while the other still has members at risk);
        2. divergence along a combination of covariates: when the iteration shows it
           (information vanishing on the way, a Newton step above ``DIVERGING_STEP``
           after the log-likelihood stopped rising, or ``max_iter``), the exact linear
           programme of :func:`_diverging_directions` names the coefficients involved.

        A separated coefficient keeps the (large) value reached, so only its sign means
        anything, with NaN se, z, p and interval; the other coefficients are estimated
        at the limit, with standard errors from their own block of the information, and
        ``converged`` says whether that limit was reached. ``CoxFit.finite`` is
        converged with no separated coefficient.

    References
    ----------
    .. [1] Efron B. The efficiency of Cox's likelihood function for censored data.
       J Am Stat Assoc 1977;72:557-565.
    .. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model.
       Springer 2000, ch. 3.
    .. [3] Heinze G, Schemper M. A solution to the problem of monotone likelihood in Cox
       regression. Biometrics 2001;57:114-119.

    Examples
    --------
    Deaths at 1 (x = 0), at 2 (x = 1 and x = 0, tied) and at 4 (x = 1), censored at 3
    and 5. With :math:`u = e^\\beta` the Efron score equation is
    :math:`2 = \\frac{3u}{3+3u} + \\frac{3u}{2+3u} + \\frac{2.5u}{1.5+2.5u} + \\frac{u}{1+u}`,
    whose root is :math:`\\beta = -0.228994`:

    >>> fit = cox_fit([1, 2, 2, 3, 4, 5], [1, 1, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0])
    >>> round(float(fit.coef[0, 0]), 6), round(float(fit.se[0, 0]), 6)
    (-0.228994, 1.006734)
    >>> bool(fit.converged[0]), fit.coef.shape
    (True, (1, 1))
    """
    time, event, X, mask, active = as_stack(time, event, X, mask, active)
    B, n = time.shape
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ROWS // max(n, 1))
    if B > chunk_size:
        parts = [_fit_stack(time[s:s + chunk_size], event[s:s + chunk_size],
                            X[s:s + chunk_size], mask[s:s + chunk_size],
                            active[s:s + chunk_size], tol, max_iter)
                 for s in range(0, B, chunk_size)]
        return CoxFit(**{name: np.concatenate([getattr(part, name) for part in parts])
                         for name in CoxFit.__dataclass_fields__})
    return _fit_stack(time, event, X, mask, active, tol, max_iter)


def _fit_stack(time: np.ndarray, event: np.ndarray, X: np.ndarray, mask: np.ndarray,
               active: np.ndarray, tol: float, max_iter: int) -> CoxFit:
    B, n, p = X.shape
    n_used = mask.sum(axis=1)
    events = (event & mask).sum(axis=1)
    if B == 0 or n == 0:
        nothing = np.where(active, np.nan, 0.0)
        return wald_fit(nothing, np.full((B, p), np.nan), np.full(B, np.nan),
                        np.zeros(B, dtype=bool), np.zeros((B, p), dtype=bool),
                        np.zeros(B, dtype=int), n_used, events)
    prep = _prepare(time, event, X, mask, active)
    up, down = _monotone_coordinates(prep, active)
    pre_separated = up | down

    beta = np.zeros((B, p))          # accepted point (standardised)
    trial = np.zeros((B, p))         # point to evaluate next
    step = np.zeros((B, p))
    loglik = np.full(B, -np.inf)
    info = np.zeros((B, p, p))
    reference = np.ones((B, p))
    frozen = np.zeros((B, p), dtype=bool)   # information vanished during the iteration
    usable = active.copy()
    halvings = np.zeros(B, dtype=int)
    flat_run = np.zeros(B, dtype=int)       # consecutive iterations without gain
    n_iter = np.zeros(B, dtype=int)
    stopped = np.zeros(B, dtype=bool)       # met a stopping rule
    suspect = np.zeros(B, dtype=bool)       # diverged along a combination of covariates
    singular = np.zeros(B, dtype=bool)
    running = events > 0
    work = np.flatnonzero(running)          # cohorts in the working copy
    working = prep.subset(work)
    index = _FlatIndex.of(working)

    for iteration in range(max_iter):
        still_running = running[work]
        if not still_running.any():
            break
        if still_running.mean() < 0.5:
            # Most cohorts are done: carry on with a smaller copy of the rest.
            work = work[still_running]
            working = working.subset(still_running)
            index = _FlatIndex.of(working)
            still_running = np.ones(work.size, dtype=bool)
        ll, score, information = _efron(working, index, trial[work])
        idx = work[still_running]
        ll, score, information = ll[still_running], score[still_running], \
            information[still_running]
        n_iter[idx] += 1
        if iteration == 0:
            reference[idx] = np.abs(np.diagonal(information, axis1=1, axis2=2))

        # Step-halving: a trial point that lowers the likelihood is pulled halfway back.
        gain = ll - loglik[idx]
        better = np.isfinite(ll) & (gain >= -1e-12 * (1.0 + np.abs(ll)))
        worse = idx[~better]
        trial[worse] = 0.5 * (beta[worse] + trial[worse])
        halvings[worse] += 1
        running[worse[halvings[worse] > MAX_HALVINGS]] = False

        acc = idx[better]
        if acc.size == 0:
            continue
        gain = gain[better]
        beta[acc] = trial[acc]
        loglik[acc] = ll[better]
        info[acc] = information[better]
        halvings[acc] = 0
        free = active[acc] & ~frozen[acc]
        new_step, new_usable, _ = _cholesky_solve(information[better], score[better], free,
                                                  reference[acc])
        step[acc] = new_step
        usable[acc] = new_usable
        lost = free & ~new_usable
        if iteration == 0:
            # Singular information at the start: a constant or collinear covariate.
            bad = lost.any(axis=1)
            singular[acc[bad]] = True
            running[acc[bad]] = False
        else:
            # Information vanishing on the way: the coefficient is running off.
            frozen[acc] |= lost
            suspect[acc] |= (lost & ~pre_separated[acc]).any(axis=1)

        diverging = pre_separated[acc] | frozen[acc]
        moving = np.abs(new_step) >= tol
        settled = ~np.any(moving & ~diverging, axis=1)
        flat = gain <= tol * (1.0 + np.abs(ll[better]))
        still = np.any(moving & diverging, axis=1)
        # Log-likelihood flat while a coefficient still moves: divergence (R's coxph
        # warns "Loglik converged before variable ...").
        big = np.any((np.abs(new_step) > DIVERGING_STEP) & ~diverging, axis=1)
        flat_run[acc] = np.where(flat, flat_run[acc] + 1, 0)
        stalled = flat & ~settled & (big | (flat_run[acc] >= FLAT_ITERATIONS)) & (iteration > 0)
        suspect[acc[stalled]] = True
        stop = ((settled & (~still | flat)) | stalled) & running[acc]
        stopped[acc[stop]] = True
        running[acc[stop]] = False
        trial[acc] = beta[acc] + new_step

    suspect |= running & (events > 0) & ~singular    # iteration limit reached
    separated = pre_separated & active & ~singular[:, None]
    explained = np.zeros(B, dtype=bool)
    for b in np.flatnonzero(suspect & ~singular):
        support = _diverging_directions(prep.x[b], prep.entered[b], prep.died[b],
                                        prep.last[b], active[b])
        explained[b] = support.any()
        separated[b] |= support
    converged = stopped & ~singular & (~suspect | explained)
    estimable = usable & ~separated & ~singular[:, None]
    _, _, inverse = _cholesky_solve(info, np.zeros((B, p)), estimable, reference,
                                    want_inverse=True)
    assert inverse is not None
    final = beta + np.where(estimable & stopped[:, None], step, 0.0)
    coef = np.where(active, final / prep.scale, 0.0)
    variance = np.diagonal(inverse, axis1=1, axis2=2) / prep.scale ** 2
    se = np.where(estimable & (variance > 0), np.sqrt(np.maximum(variance, 0.0)), np.nan)
    blank = (events == 0) | singular
    coef[blank] = np.where(active[blank], np.nan, 0.0)
    se[blank] = np.nan
    loglik = np.where(events == 0, np.nan, loglik)
    return wald_fit(coef, se, loglik, converged, separated, n_iter, n_used, events)
