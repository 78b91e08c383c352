"""Cox proportional-hazards fits for a whole stack of cohorts at once.

:func:`cox_fit` is the fast engine: Newton-Raphson with step-halving on the Efron partial
likelihood, vectorised with numpy across the cohorts of the stack. Its reference, one
``lifelines.CoxPHFitter`` fit per cohort, is :func:`simulation.stats.reference.cox_fit_lifelines`;
both return a :class:`CoxFit` and check their arguments with
:func:`simulation.stats.cox_input.as_stack`.

The partial log-likelihood with Efron's handling of ties is, summing over the distinct event
times :math:`t` with :math:`d` deaths :math:`D_t`, risk set :math:`R_t` and
:math:`\\eta_i = x_i^\\top \\beta`,

.. math::

    \\ell(\\beta) = \\sum_t \\Big[\\sum_{i \\in D_t} \\eta_i
        - \\sum_{r=0}^{d-1} \\log\\Big(\\sum_{j \\in R_t} e^{\\eta_j}
        - \\tfrac{r}{d} \\sum_{j \\in D_t} e^{\\eta_j}\\Big)\\Big].

The module follows the maths, with the objective kept apart from the Newton loop (as
scikit-survival's ``CoxPHOptimizer`` does):

- :func:`sort_stack` sorts each cohort once, so that every risk set is a prefix of it
  (:class:`SortedStack`);
- :func:`efron_objective` gives :math:`\\ell`, its gradient (score) and its negative
  Hessian (information) at :math:`\\beta` in one pass;
- :class:`_NewtonState` holds where the iteration of every cohort stands;
  :func:`_halve_rejected` (step-halving), :func:`_newton_step` and :func:`_stop` move it;
- :func:`_monotone_coordinates`, :func:`_diverging_directions`,
  :func:`_undetermined_directions` and :func:`_diagnose_separation` find the
  coefficients without a finite estimate and the way each runs off;
- :func:`_estimates` turns the state into coefficients and standard errors.

References
----------
.. [1] Efron B. The efficiency of Cox's likelihood function for censored data.
   J Am Stat Assoc 1977;72:557-565.
.. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model.
   Springer 2000, sections 3.2-3.3 (Newton-Raphson, ties, infinite coefficients).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import numpy as np
from scipy.optimize import linprog
from scipy.special import ndtr

from calculator.errors import InputError
from calculator.published import Z95
from simulation.stats.cox_input import as_cohorts, as_stack
from simulation.stats.stacking import tie_groups

__all__ = ["CHUNK_ROWS", "CoxFit", "EfronObjective", "RiskSets", "SortedStack", "cox_fit",
           "efron_objective", "risk_sets_of", "sort_stack", "wald_fit"]


@dataclass(frozen=True)
class CoxFit:
    """Cox fits of a stack of ``B`` cohorts with ``p`` covariates each.

    Attributes
    ----------
    coef : ndarray, shape (B, p)
        Log hazard ratios; 0.0 for inactive covariates, NaN for every active covariate
        of a cohort that could not be fitted at all (no deaths, singular information).
        A separated coefficient is ``+inf`` (``-inf``) when every direction in which the
        partial likelihood rises without bound raises (lowers) it or leaves it alone: the
        supremum is approached only as it goes there (a group without deaths: ``-inf``).
        It is NaN when some of those directions raise it and others lower it: the
        supremum is then approached with the coefficient at any value, and the data say
        nothing about it (nested separation: once one factor has run off, the patients
        at risk with the deaths hold a single value of another; R's coxph then returns
        an arbitrary finite number). It is also NaN, as not worked out, where two or more
        coefficients of a cohort with over ``MAX_SEPARATION_PAIRS`` (death, at-risk row)
        pairs are separated. The value does not depend on the order of the rows, and its
        sign turns with the covariate (``x -> a x + c``, ``a < 0``). With
        :func:`simulation.stats.reference.cox_fit_lifelines` a separated coefficient is
        instead lifelines' last, large finite iterate.
    se : ndarray, shape (B, p)
        Standard errors, the square roots of the diagonal of the inverse observed
        information; NaN if inactive, separated or not estimable.
    z, p : ndarray, shape (B, p)
        Wald statistic ``coef / se`` and its two-sided normal p-value.
    ci_lower, ci_upper : ndarray, shape (B, p)
        95% Wald interval of the log hazard ratio, ``coef -+ 1.959964 se``.
    loglik : ndarray, shape (B,)
        Efron partial log-likelihood at the estimate (with separated coefficients, where
        the iteration stopped, near its supremum).
    converged : ndarray of bool, shape (B,)
        The iteration met its stopping rule with a finite, invertible information for the
        coefficients that are not separated. A cohort with no events, too few rows or a
        singular information matrix is not converged and has NaN estimates. Singular
        means zero up to round-off at the start: a covariate constant within the risk
        set of every death, or collinear with the others there (``PIVOT_TOLERANCE``),
        whatever its scale and origin.
    separated : ndarray of bool, shape (B, p)
        The coefficient has no finite estimate: it changes along some direction in which
        the partial likelihood rises without bound (monotone likelihood).
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


#: Rows (cohorts x patients) fitted at a time by default: the working arrays of a chunk
#: (a few hundred bytes per row for p = 3) then stay in cache, and memory stays bounded
#: however large the stack (see benchmarks/bench_cox.py).
CHUNK_ROWS = 65_536

#: A pivot of the information matrix at or below this share of its scale counts as zero.
#: At the start (coefficients 0) the scale is the covariate's
#: :math:`M = \\sum_i a_{2,i}/a_{0,i}` (:attr:`EfronObjective.moment`), the size of the
#: terms whose difference is the information: the computed information is a difference
#: of sums of at most ``n`` + deaths terms of that size, so its round-off is below about
#: :math:`4 n u M` (:math:`u = 1.1 \\cdot 10^{-16}`; Higham, Accuracy and Stability of
#: Numerical Algorithms, 2nd ed. 2002, section 4.2), under ``1e-10 M`` for cohorts of up
#: to 2 x 10^5 rows. An information that small is zero up to round-off (the covariate is
#: constant within every death's risk set, or collinear with the others there): the fit
#: is singular. Covariates are standardised within the cohort, so the test does not
#: change with ``x -> a x + c``. Later in the iteration the scale is the diagonal of the
#: information at the start, and a pivot below the tolerance means that the information
#: has vanished because the coefficient is running off to infinity.
PIVOT_TOLERANCE = 1e-10

#: Step-halvings allowed in a row before a cohort stops (the step is then ~1e-9 of a
#: Newton step, below what floating point can resolve).
MAX_HALVINGS = 30

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


# ---------------------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------------------

def cox_fit(time: Any, event: Any, X: Any, mask: Any = None, active: Any = None, *,
            tol: float = 1e-9, max_iter: int = 50, chunk_size: int | None = None,
            risk_sets: RiskSets | None = None) -> CoxFit:
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
    risk_sets : RiskSets, optional
        The sorted order and risk sets of ``time``, ``event`` and ``mask``
        (:func:`risk_sets_of`), when several models of the same cohorts share them;
        worked out here if not given. Checked against the cohorts (an
        :class:`InputError` names ``risk_sets`` if they are another stack's); the
        results are the same with or without.

    Returns
    -------
    CoxFit
        ``converged`` is False, with NaN estimates, for a cohort without deaths or whose
        information matrix is singular at the start (a covariate constant, or covariates
        collinear, within every death's risk set, up to round-off: ``PIVOT_TOLERANCE``;
        too few rows), and False if ``max_iter`` is reached. ``separated``
        marks the coefficients with no finite estimate:

        1. the exact single-covariate rule of :func:`_monotone_coordinates`: every
           death has the largest (or every death the smallest) value of the covariate
           in its risk set, and some risk set holds another value (for a binary factor:
           one group has no deaths while the other still has members at risk);
        2. divergence along a combination of covariates: when the iteration shows it
           (information vanishing on the way, a Newton step above ``DIVERGING_STEP``
           after the log-likelihood stopped rising, or ``max_iter``), the exact linear
           programme of :func:`_diverging_directions` names the coefficients involved.

        A separated coefficient is :math:`\\pm\\infty` in the one direction in which
        every direction of monotone likelihood takes it, or NaN if they take it both
        ways (see :class:`CoxFit`; where one coefficient is separated, rule 1 gives the
        direction; with more, :func:`_undetermined_directions` or the linear programmes
        decide), with NaN se, z, p and interval; the other coefficients are estimated
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
    if risk_sets is not None:
        risk_sets.check(time, event, mask)
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ROWS // max(n, 1))
    if B > chunk_size:
        parts = [_fit_stack(time[s:s + chunk_size], event[s:s + chunk_size],
                            X[s:s + chunk_size], mask[s:s + chunk_size],
                            active[s:s + chunk_size], tol, max_iter,
                            None if risk_sets is None
                            else risk_sets.subset(slice(s, s + chunk_size)))
                 for s in range(0, B, chunk_size)]
        return CoxFit(**{name: np.concatenate([getattr(part, name) for part in parts])
                         for name in CoxFit.__dataclass_fields__})
    return _fit_stack(time, event, X, mask, active, tol, max_iter, risk_sets)


def _fit_stack(time: np.ndarray, event: np.ndarray, X: np.ndarray, mask: np.ndarray,
               active: np.ndarray, tol: float, max_iter: int,
               risk_sets: RiskSets | None) -> CoxFit:
    """One chunk of :func:`cox_fit`: sort, diagnose, iterate, diagnose, report."""
    B, n, p = X.shape
    n_used = mask.sum(axis=1)
    events = (event & mask).sum(axis=1)
    if B == 0 or n == 0:
        return wald_fit(np.where(active, np.nan, 0.0), np.full((B, p), np.nan),
                        np.full(B, np.nan), np.zeros(B, dtype=bool),
                        np.zeros((B, p), dtype=bool), np.zeros(B, dtype=int), n_used, events)
    stack = sort_stack(time, event, X, mask, active, risk_sets)
    monotone = _monotone_coordinates(stack, active)
    state = _maximise(stack, active, monotone != 0, tol, max_iter)
    separated, direction, converged = _diagnose_separation(stack, active, monotone, state)
    coef, se, loglik = _estimates(stack, active, separated, direction, state)
    return wald_fit(coef, se, loglik, converged, separated, state.n_iter, n_used, events)


# ---------------------------------------------------------------------------------------
# The sorted stack: every risk set a prefix
# ---------------------------------------------------------------------------------------

#: Rows of at least this many numbers are scanned (cumulative sums, running maxima) one
#: row at a time, vectorised across the row (:func:`_scan`); shorter ones by numpy's
#: ``accumulate``, which is then the faster of the two.
SCAN_ROW_MIN = 64


@dataclass
class RiskSets:
    """The time order of a stack of cohorts and the risk sets it implies.

    Everything :func:`cox_fit` derives from ``time``, ``event`` and ``mask`` alone,
    whatever the covariates. Rows are sorted by decreasing time within each cohort,
    deaths before censored rows within a tie and rows that do not enter last. A death's
    risk set, every row with a time at or after the death's, is then a prefix of the
    cohort, so its sums are cumulative sums read at the last row of the death's tie
    group; and a tie's deaths are consecutive rows. The deaths of each cohort are listed
    in "slots" ``(B, E)``, padded to the largest number of deaths (or beyond, in a
    :meth:`subset`). Row and slot numbers are local to the cohort.

    Built by :func:`risk_sets_of`. An analysis fits some twenty models to each cohort;
    they share its risk sets: ``cox_fit(..., risk_sets=sets.subset(rows))`` sorts nothing.
    """

    order: np.ndarray       # (B, n) original row of each sorted row
    entered: np.ndarray     # (B, n) bool, sorted
    died: np.ndarray        # (B, n) bool, sorted
    last: np.ndarray        # (B, n) last row of each row's tie group
    risk_row: np.ndarray    # (B, E) last row of the death's tie group (end of risk set)
    death_row: np.ndarray   # (B, E) row of the death
    tie_size: np.ndarray    # (B, E) number d of deaths in the death's tie
    tie_hi: np.ndarray      # (B, E) last death row of the death's tie
    tie_lo: np.ndarray      # (B, E) row before the tie's first row (-1 if none)
    frac: np.ndarray        # (B, E) Efron's r / d (rank r among the d tied deaths)
    valid: np.ndarray       # (B, E) 1.0 for a death, 0.0 for padding
    deaths: np.ndarray      # (B,) number of deaths

    def subset(self, keep: np.ndarray | slice) -> Self:
        """The same for the cohorts ``keep`` only (an index array may repeat them)."""
        return type(self)(**{name: getattr(self, name)[keep]
                             for name in self.__dataclass_fields__})

    def trimmed(self) -> RiskSets:
        """The same with the death slots cut to the largest number of deaths (at least
        one): those :func:`risk_sets_of` gives for these cohorts alone."""
        width = max(int(self.deaths.max(initial=0)), 1)
        if width == self.valid.shape[1]:
            return self
        slots = {name: getattr(self, name)[:, :width] for name in _SLOTS}
        return RiskSets(**{name: getattr(self, name) for name in self.__dataclass_fields__
                           if name not in _SLOTS}, **slots)

    def check(self, time: np.ndarray, event: np.ndarray, mask: np.ndarray) -> None:
        """Raise :class:`InputError` unless these are the risk sets of ``time``,
        ``event`` and ``mask`` (checked stack shapes): same shape, rows in their order
        (decreasing times, deaths first in a tie), same entering rows, deaths and ties.
        The death slots follow from these."""
        if self.order.shape != time.shape:
            raise _mismatch(f"they are for cohorts of shape {self.order.shape}, "
                            f"not {time.shape}")
        B, n = time.shape
        if B == 0 or n == 0:
            return
        flat_order = (self.order + (np.arange(B) * n)[:, None]).ravel()
        t = np.take(np.where(mask, time, -np.inf), flat_order).reshape(B, n)
        if not (np.array_equal(np.take(mask, flat_order).reshape(B, n), self.entered)
                and np.array_equal(np.take(event & mask, flat_order).reshape(B, n),
                                   self.died)):
            raise _mismatch("other rows enter or die")
        same = t[:, 1:] == t[:, :-1]
        in_order = np.all((t[:, 1:] < t[:, :-1]) | (same & (self.died[:, :-1]
                                                              | ~self.died[:, 1:])))
        ties = (np.all(self.last[:, -1] == n - 1)
                and np.all(np.where(same, self.last[:, :-1] == self.last[:, 1:],
                                    self.last[:, :-1] == np.arange(n - 1))))
        if not (in_order and ties):
            raise _mismatch("the times are not in their order")


#: The death-slot fields of :class:`RiskSets`.
_SLOTS = ("risk_row", "death_row", "tie_size", "tie_hi", "tie_lo", "frac", "valid")


def _mismatch(reason: str) -> InputError:
    return InputError("risk_sets", None, None, "risk_sets_of(time, event, mask)",
                      f"risk_sets must be those of the cohorts fitted: {reason}",
                      "pass risk_sets_of(time, event, mask), or a subset of it for the "
                      "same rows of time and event")


def risk_sets_of(time: Any, event: Any, mask: Any = None) -> RiskSets:
    """The :class:`RiskSets` of a stack of cohorts, for :func:`cox_fit` to share.

    ``time``, ``event`` and ``mask`` as for :func:`cox_fit`. Fitting several models to
    the same cohorts, sort them once: give each fit
    ``risk_sets=sets.subset(rows)``, where ``rows`` (an index array) says which cohort
    each model's rows of ``time`` and ``event`` are.

    >>> sets = risk_sets_of([3.0, 1.0, 2.0, 2.0], [1, 0, 0, 1])
    >>> sets.order.tolist(), sets.died.tolist(), sets.last.tolist()
    ([[0, 3, 2, 1]], [[True, True, False, False]], [[0, 2, 2, 3]])
    """
    return _risk_sets(*as_cohorts(time, event, mask))


def _risk_sets(time: np.ndarray, event: np.ndarray, mask: np.ndarray) -> RiskSets:
    """:func:`risk_sets_of` of checked stack shapes."""
    B, n = time.shape
    died_first = np.where(event & mask, 0, 1)
    order = np.lexsort((died_first, np.where(mask, -time, np.inf)), axis=1)
    flat_order = (order + (np.arange(B) * n)[:, None]).ravel()
    t = np.take(np.where(mask, time, -np.inf), flat_order).reshape(B, n)
    entered = np.take(mask, flat_order).reshape(B, n)
    died = np.take(event, flat_order).reshape(B, n) & entered
    first, last = tie_groups(t)
    return RiskSets(order=order, entered=entered, died=died, last=last,
                    deaths=died.sum(axis=1), **_death_slots(died, first, last))


@dataclass
class SortedStack(RiskSets):
    """A stack made ready for the Efron sums: its :class:`RiskSets`, with the covariates
    sorted the same way, standardised (all-zero in the rows that do not enter), and
    indexed.

    ``head`` holds the same numbers as ``x``, with a first column of ones for the
    entering rows, laid out row by row across the cohorts, ``(n, B, 1 + p)``: its
    cumulative sums over the rows are then whole-row additions (:func:`_scan`).
    """

    x: np.ndarray           # (B, n, p) standardised covariates, 0 in unused rows/columns
    head: np.ndarray        # (n, B, 1 + p) [1, x] for entering rows, else 0; rows first
    x_events: np.ndarray    # (B, p) sum of the standardised covariates over the deaths
    center: np.ndarray      # (B, p)
    scale: np.ndarray       # (B, p)

    def subset(self, keep: np.ndarray | slice) -> SortedStack:
        """The same for the cohorts ``keep`` only."""
        return SortedStack(**{name: getattr(self, name)[keep]
                              for name in self.__dataclass_fields__ if name != "head"},
                           head=self.head[:, keep])

    @cached_property
    def index(self) -> _FlatIndex:
        """Flat indices for :func:`efron_objective`, built at its first call."""
        return _FlatIndex.of(self)


def sort_stack(time: np.ndarray, event: np.ndarray, X: np.ndarray, mask: np.ndarray,
               active: np.ndarray, risk_sets: RiskSets | None = None) -> SortedStack:
    """Sort, standardise and index a checked stack (see :func:`as_stack`).

    ``risk_sets`` are those of ``time``, ``event`` and ``mask`` if already known
    (:func:`risk_sets_of`, checked by the caller); else they are worked out here.
    Covariates are standardised with the entering rows' mean and SD: the partial
    likelihood does not change with a shift of :math:`x`, and the scale only conditions
    the Newton steps (a coefficient on the standardised scale is ``scale`` times the
    original one).
    """
    risk = _risk_sets(time, event, mask) if risk_sets is None else risk_sets.trimmed()
    B, n, p = X.shape
    flat_order = (risk.order + (np.arange(B) * n)[:, None]).ravel()
    x = np.take(X.reshape(B * n, p), flat_order, axis=0).reshape(B, n, p)
    x, center, scale = _standardise(x, risk.entered, active)
    head = np.empty((n, B, 1 + p))
    head[:, :, 0] = risk.entered.T
    head[:, :, 1:] = x.transpose(1, 0, 2)
    x_events = np.matmul(risk.died[:, None, :].astype(float), x)[:, 0]
    return SortedStack(**{name: getattr(risk, name) for name in RiskSets.__dataclass_fields__},
                       x=x, head=head, x_events=x_events, center=center, scale=scale)


def _standardise(x: np.ndarray, entered: np.ndarray, active: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x - center) / scale`` over the entering rows and active covariates, 0 elsewhere
    (where NaN is allowed); returns it with ``center`` and ``scale`` (B, p)."""
    inside = entered[:, :, None].astype(float)
    x = np.where(entered[:, :, None] & active[:, None, :], x, 0.0)
    count = np.maximum(entered.sum(axis=1), 1)[:, None]
    center = np.matmul(inside.transpose(0, 2, 1), x)[:, 0] / count
    x -= center[:, None, :]
    x *= inside
    spread = np.sqrt(np.einsum("bnp,bnp->bp", x, x) / count)
    scale = np.where(spread > 0, spread, 1.0)
    x /= scale[:, None, :]
    return x, center, scale


def _death_slots(died: np.ndarray, first: np.ndarray, last: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """The death slots of :class:`RiskSets`, padded to the largest number of deaths.

    ``first`` and ``last`` are the first and last row of each row's tie group; a tie's
    deaths come first in its group, rows ``first .. first + d - 1``.
    """
    B, n = died.shape
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
    return {"risk_row": risk_row, "death_row": death_row, "tie_size": tie_size,
            "tie_hi": tie_hi, "tie_lo": tie_lo, "frac": frac, "valid": valid}


def _scan(ufunc: np.ufunc, values: np.ndarray, *, reverse: bool = False) -> np.ndarray:
    """``ufunc.accumulate`` along the first axis, in place (from the last row backwards
    with ``reverse``); returns ``values``.

    numpy accumulates along an axis one number at a time; adding (or taking the larger
    of) whole rows, one row after the other, does the same operations in the same order,
    so gives the same bits, some 5 to 10 times faster on rows of a few hundred numbers
    or more (a stack's cohorts side by side). Rows under ``SCAN_ROW_MIN`` numbers go to
    numpy, whose per-call cost then outweighs the loop's.
    """
    rows = values[::-1] if reverse else values
    if rows[0].size < SCAN_ROW_MIN:
        ufunc.accumulate(rows, axis=0, out=rows)
        return values
    previous, *others = rows
    for row in others:
        ufunc(previous, row, out=row)
        previous = row
    return values


@dataclass
class _FlatIndex:
    """Flat indices of a :class:`SortedStack`, for one evaluation after another.

    Rows are numbered as in ``head``, row by row across the cohorts: row ``r`` of cohort
    ``b`` is ``r * B + b``, and ``n * B`` an extra all-zero row. Slots are numbered
    ``b * E + slot``.
    """

    risk: np.ndarray        # (B * E,) end of each slot's risk set
    tied_slot: np.ndarray   # (M,) slots with an Efron correction (rank r >= 1)
    tied_hi: np.ndarray     # (M,) their prefix through the tie's deaths
    tied_lo: np.ndarray     # (M,) their prefix before the tie (or the zero row)
    tied_frac: np.ndarray   # (M, 1) their r / d
    tied_key: np.ndarray    # (M,) first row of their tie
    member_row: np.ndarray  # (Q,) death rows in ties of two or more deaths
    member_key: np.ndarray  # (Q,) first row of their tie

    @classmethod
    def of(cls, stack: SortedStack) -> _FlatIndex:
        B, n, _ = stack.x.shape
        cohort = np.arange(B)[:, None]
        corrected = np.flatnonzero(stack.frac.ravel() > 0)
        hi = (stack.tie_hi * B + cohort).ravel()
        lo = np.where(stack.tie_lo >= 0, stack.tie_lo * B + cohort, B * n).ravel()
        key = ((stack.tie_lo + 1) * B + cohort).ravel()
        member = np.flatnonzero(((stack.tie_size > 1) & (stack.valid > 0)).ravel())
        return cls(risk=(stack.risk_row * B + cohort).ravel(), tied_slot=corrected,
                   tied_hi=hi[corrected], tied_lo=lo[corrected],
                   tied_frac=stack.frac.ravel()[corrected, None], tied_key=key[corrected],
                   member_row=(stack.death_row * B + cohort).ravel()[member],
                   member_key=key[member])

# ---------------------------------------------------------------------------------------
# The objective: Efron log-likelihood, score and information
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EfronObjective:
    """The Efron partial log-likelihood of a stack and its first two derivatives."""

    loglik: np.ndarray       # (B,) log-likelihood
    score: np.ndarray        # (B, p) gradient
    information: np.ndarray  # (B, p, p) negative Hessian
    moment: np.ndarray       # (B, p) sum over deaths of a_2 / a_0: the size of the terms
    #                          whose difference is the information's diagonal

    def __getitem__(self, keep: np.ndarray) -> EfronObjective:
        """The same for the cohorts ``keep`` only."""
        return EfronObjective(self.loglik[keep], self.score[keep], self.information[keep],
                              self.moment[keep])


def efron_objective(stack: SortedStack, beta: np.ndarray) -> EfronObjective:
    """Efron partial log-likelihood, score and observed information at ``beta``.

    ``beta`` (B, p) is on the standardised scale of ``stack``. For the death :math:`i`
    of rank :math:`r` among the :math:`d` deaths :math:`D` tied at its time, with risk
    set :math:`R` and weights :math:`w_j = e^{\\eta_j}`, let

    .. math::

        a_{k,i} = \\sum_{j \\in R} w_j x_j^{\\otimes k}
            - \\tfrac{r}{d} \\sum_{j \\in D} w_j x_j^{\\otimes k}, \\qquad k = 0, 1, 2.

    Then, summing over the deaths,

    .. math::

        \\ell(\\beta) = \\sum_i \\big[\\eta_i - \\log a_{0,i}\\big], \\qquad
        U(\\beta) = \\frac{\\partial \\ell}{\\partial \\beta}
            = \\sum_i \\Big[x_i - \\frac{a_{1,i}}{a_{0,i}}\\Big],

        I(\\beta) = -\\frac{\\partial^2 \\ell}{\\partial \\beta\\,\\partial \\beta^\\top}
            = \\sum_i \\Big[\\frac{a_{2,i}}{a_{0,i}}
            - \\frac{a_{1,i} a_{1,i}^\\top}{a_{0,i}^2}\\Big]

    (Efron 1977 [1]_; Therneau & Grambsch 2000 [2]_). A diagonal entry of the information
    is a difference of two non-negative sums, of :math:`a_{2,i}/a_{0,i}` and of
    :math:`(a_{1,i}/a_{0,i})^2`; the first, :math:`M = \\sum_i a_{2,i}/a_{0,i}`
    (``moment``), bounds both (Cauchy-Schwarz), so it sets the scale of the entry's
    round-off error.

    All three come from one pass: :math:`a_0` and :math:`a_1` are prefix sums over the
    time-descending rows read at the risk-set ends, less :math:`r/d` times a difference
    of the same prefix sums for the tie (:func:`_efron_risk_sums`); the terms linear in
    :math:`a_1` and :math:`a_2` are one weighted sum over rows,
    :math:`\\sum_j w_j c_j x_j^{\\otimes k}`, with :math:`c_j` from :func:`_row_weights`.
    The weights are shifted by each cohort's largest :math:`\\eta`, which cancels in the
    ratios and comes back in :math:`\\ell`. A risk set whose weights all underflow gives
    a non-finite log-likelihood, which the step-halving rejects.

    References
    ----------
    .. [1] Efron B. The efficiency of Cox's likelihood function for censored data.
       J Am Stat Assoc 1977;72:557-565.
    .. [2] Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model.
       Springer 2000, section 3.3.

    Examples
    --------
    The cohort of :func:`cox_fit`'s example at :math:`\\beta = 0`, where every weight
    is 1: :math:`\\ell = -\\log(6 \\cdot 5 \\cdot 4 \\cdot 2)`, and on the original
    scale :math:`U = 2 - 3/6 - 3/5 - 2.5/4 - 1/2 = -0.225` and
    :math:`I = 9/36 + 6/25 + 3.75/16 + 1/4 = 0.974375`:

    >>> stack = sort_stack(*as_stack([1, 2, 2, 3, 4, 5], [1, 1, 1, 0, 1, 0],
    ...                              [0, 1, 0, 1, 1, 0]))
    >>> at_zero = efron_objective(stack, np.zeros((1, 1)))
    >>> round(float(at_zero.loglik[0]), 6)
    -5.480639
    >>> sd = stack.scale[0, 0]              # 0.5; U and I are per SD of x
    >>> U, I = at_zero.score[0, 0] * sd, at_zero.information[0, 0, 0] * sd**2
    >>> round(float(U), 6), round(float(I), 6)
    (-0.225, 0.974375)
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shift, w = _risk_weights(stack, beta)
        a = _efron_risk_sums(stack, w)
        a0 = a[:, :, 0]
        inv = stack.valid / a0
        loglik = ((stack.x_events * beta).sum(axis=1) - stack.deaths * shift
                  - (stack.valid * np.log(a0)).sum(axis=1))
        means = a * inv[:, :, None]     # per death [valid, a1 / a0]; valid pads the product
        weight = (w * _row_weights(stack, inv))[:, None, :]
        # Batched matrix products: far faster than numpy's reductions over the middle axis.
        score = stack.x_events - np.matmul(weight, stack.x)[:, 0, :]
        information = np.matmul(stack.x.transpose(0, 2, 1) * weight, stack.x)
        moment = np.diagonal(information, axis1=1, axis2=2).copy()
        information -= np.matmul(means.transpose(0, 2, 1), means)[:, 1:, 1:]   # valid^2 = valid
    return EfronObjective(loglik, score, information, moment)


def _risk_weights(stack: SortedStack, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift :math:`c` (B,) and weights :math:`w_j = e^{\\eta_j - c}` (B, n), 0 outside.

    :math:`c` is each cohort's largest linear predictor (``x`` is centred, so it is
    >= 0 and comes from an entering row): ``exp`` cannot overflow.
    """
    eta = np.matmul(stack.x, beta[:, :, None])[:, :, 0]
    shift = eta.max(axis=1)
    return shift, np.exp(eta - shift[:, None]) * stack.entered


def _efron_risk_sums(stack: SortedStack, w: np.ndarray) -> np.ndarray:
    """:math:`[a_0, a_1]` of every death slot, shape (B, E, 1 + p).

    Risk-set sums of :math:`w` and :math:`w x` are prefix sums over the time-descending
    rows (all cohorts' row ``r`` at once, :func:`_scan`). Efron: the :math:`r`-th of
    :math:`d` tied deaths sees the risk set less :math:`r/d` of the tie's weight. The
    tie's sums are a difference of prefix sums whose subtracted part belongs to the risk
    set, so no precision is lost beyond that of the risk sums.
    """
    B, n, p = stack.x.shape
    index = stack.index
    prefix = np.empty((n * B + 1, 1 + p))
    prefix[-1] = 0.0
    sums = prefix[:-1].reshape(n, B, 1 + p)
    np.multiply(stack.head, w.T[:, :, None], out=sums)
    _scan(np.add, sums)
    a = np.take(prefix, index.risk, axis=0)
    if index.tied_slot.size:
        tied = np.take(prefix, index.tied_hi, axis=0) - np.take(prefix, index.tied_lo, axis=0)
        tied *= index.tied_frac
        a[index.tied_slot] -= tied
    return a.reshape(B, -1, 1 + p)


def _row_weights(stack: SortedStack, inv: np.ndarray) -> np.ndarray:
    """Row weights :math:`c_j` (B, n) of the terms linear in :math:`a_1` and :math:`a_2`.

    :math:`\\sum_i a_{k,i} / a_{0,i} = \\sum_j w_j c_j x_j^{\\otimes k}` with
    :math:`c_j = \\sum_{i:\\, j \\in R_i} 1/a_{0,i} - \\sum_{i:\\, j \\in D_i} (r_i/d_i)/a_{0,i}`:
    the sum of ``inv`` (:math:`1/a_{0,i}` per death slot) over the risk sets holding
    row :math:`j`, less :math:`r/d` of it over the tie of a tied death :math:`j`. One
    weighted sum over rows then replaces cumulative sums of the :math:`p(p+1)/2`
    products :math:`x_j x_k`.
    """
    B, n, _ = stack.x.shape
    index = stack.index
    held = np.bincount(index.risk, weights=inv.ravel(), minlength=n * B)
    held = _scan(np.add, held.reshape(n, B), reverse=True)
    if index.tied_slot.size:
        share = np.bincount(index.tied_key, minlength=n * B,
                            weights=inv.ravel()[index.tied_slot] * index.tied_frac[:, 0])
        held = held - np.bincount(index.member_row, weights=share[index.member_key],
                                  minlength=n * B).reshape(n, B)
    return held.T


# ---------------------------------------------------------------------------------------
# Linear algebra: batched Cholesky over the covariates still in the system
# ---------------------------------------------------------------------------------------

def _cholesky(information: np.ndarray, free: np.ndarray, reference: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Lower factor ``L`` (B, p, p) of the information over the ``free`` covariates.

    A batched Cholesky factorisation written as a loop over the (few) covariates. A
    covariate whose pivot falls to ``PIVOT_TOLERANCE`` times its ``reference`` scale
    (B, p) or below is dropped from the system: it is constant or collinear with earlier
    covariates within the risk sets (at the start, where the scale is
    :attr:`EfronObjective.moment`), or (later in the iteration, where it is the diagonal
    of the information at the start) carries no information left because its coefficient
    is running off to infinity. Returns ``L`` (identity rows and columns for dropped
    covariates) and the bool ``usable`` (B, p).
    """
    B, p = free.shape
    L = np.zeros((B, p, p))
    usable = free.copy()
    for j in range(p):
        pivot = information[:, j, j] - np.einsum("bk,bk->b", L[:, j, :j], L[:, j, :j])
        ok = usable[:, j] & np.isfinite(pivot) & (pivot > PIVOT_TOLERANCE * reference[:, j])
        usable[:, j] = ok
        root = np.sqrt(np.where(ok, pivot, 1.0))
        L[:, j, j] = root
        L[:, j, :j] *= ok[:, None]
        for i in range(j + 1, p):
            below = (information[:, i, j]
                     - np.einsum("bk,bk->b", L[:, i, :j], L[:, j, :j])) / root
            L[:, i, j] = np.where(ok & usable[:, i], below, 0.0)
    return L, usable


def _solve(L: np.ndarray, usable: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The Newton step :math:`I^{-1} U` over the ``usable`` covariates (0 elsewhere)."""
    B, p = score.shape
    rhs = np.where(usable, score, 0.0)
    forward = np.zeros((B, p))
    for j in range(p):
        forward[:, j] = (rhs[:, j] - np.einsum("bk,bk->b", L[:, j, :j], forward[:, :j])) \
            / L[:, j, j]
    step = np.zeros((B, p))
    for j in reversed(range(p)):
        step[:, j] = (forward[:, j] - np.einsum("bk,bk->b", L[:, j + 1:, j],
                                                step[:, j + 1:])) / L[:, j, j]
    return np.where(usable, step, 0.0)


def _inverse(L: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """:math:`I^{-1} = L^{-\\top} L^{-1}` over the ``usable`` covariates (0 elsewhere)."""
    B, p, _ = L.shape
    lower_inv = np.zeros((B, p, p))
    for j in range(p):
        lower_inv[:, j, j] = 1.0 / L[:, j, j]
        for i in range(j + 1, p):
            lower_inv[:, i, j] = -np.einsum("bk,bk->b", L[:, i, j:i],
                                            lower_inv[:, j:i, j]) / L[:, i, i]
    inverse = np.einsum("bki,bkj->bij", lower_inv, lower_inv)
    inverse *= (usable[:, :, None] & usable[:, None, :])
    return inverse


# ---------------------------------------------------------------------------------------
# Newton-Raphson with step-halving
# ---------------------------------------------------------------------------------------

@dataclass
class _NewtonState:
    """Where the Newton-Raphson iteration of every cohort of a stack stands.

    Coefficients are on the standardised scale of the :class:`SortedStack`. Each
    iteration evaluates the objective at ``trial``; an accepted trial becomes ``beta``
    and the next trial is ``beta + step``, a rejected one is pulled halfway back.
    """

    beta: np.ndarray          # (B, p) last accepted point
    trial: np.ndarray         # (B, p) point to evaluate next
    step: np.ndarray          # (B, p) Newton step from beta
    loglik: np.ndarray        # (B,) log-likelihood at beta (-inf before the first)
    information: np.ndarray   # (B, p, p) information at beta
    reference: np.ndarray     # (B, p) diagonal of the information at the start
    usable: np.ndarray        # (B, p) covariates in the last Newton system
    frozen: np.ndarray        # (B, p) information vanished on the way: running off
    halvings: np.ndarray      # (B,) step-halvings in a row
    flat_run: np.ndarray      # (B,) iterations in a row without a gain
    n_iter: np.ndarray        # (B,) evaluations of the objective
    running: np.ndarray       # (B,) still iterating
    stopped: np.ndarray       # (B,) met a stopping rule
    suspect: np.ndarray       # (B,) diverged along a combination of covariates
    singular: np.ndarray      # (B,) singular information at the start

    @classmethod
    def start(cls, active: np.ndarray, deaths: np.ndarray) -> _NewtonState:
        """All coefficients at 0; the cohorts with deaths running."""
        B, p = active.shape
        return cls(beta=np.zeros((B, p)), trial=np.zeros((B, p)), step=np.zeros((B, p)),
                   loglik=np.full(B, -np.inf), information=np.zeros((B, p, p)),
                   reference=np.ones((B, p)), usable=active.copy(),
                   frozen=np.zeros((B, p), dtype=bool), halvings=np.zeros(B, dtype=int),
                   flat_run=np.zeros(B, dtype=int), n_iter=np.zeros(B, dtype=int),
                   running=deaths > 0, stopped=np.zeros(B, dtype=bool),
                   suspect=np.zeros(B, dtype=bool), singular=np.zeros(B, dtype=bool))


def _maximise(stack: SortedStack, active: np.ndarray, monotone: np.ndarray, tol: float,
              max_iter: int) -> _NewtonState:
    """Newton-Raphson with step-halving on every cohort of ``stack`` until each stops.

    ``monotone`` (B, p) marks the coefficients known to run off to infinity
    (:func:`_monotone_coordinates`); their steps do not hold up convergence.
    """
    state = _NewtonState.start(active, stack.deaths)
    work = np.flatnonzero(state.running)         # cohorts in the working copy
    working = stack.subset(work)
    for iteration in range(max_iter):
        running = state.running[work]
        if not running.any():
            break
        if running.mean() < 0.5:
            # Most cohorts are done: carry on with a smaller copy of the rest.
            work, working = work[running], working.subset(running)
            running = np.ones(work.size, dtype=bool)
        cohorts = work[running]
        objective = efron_objective(working, state.trial[work])[running]
        state.n_iter[cohorts] += 1
        if iteration == 0:
            state.reference[cohorts] = np.abs(np.diagonal(objective.information,
                                                          axis1=1, axis2=2))
        better, gain = _halve_rejected(state, cohorts, objective.loglik)
        accepted = cohorts[better]
        if accepted.size:
            step = _newton_step(state, accepted, objective[better], active, monotone,
                                first=iteration == 0)
            _stop(state, accepted, gain, step, monotone, tol, first=iteration == 0)
    return state


def _halve_rejected(state: _NewtonState, cohorts: np.ndarray, loglik: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Step-halving: a trial point that lowers the log-likelihood is pulled halfway back.

    A trial of ``cohorts`` is accepted if its log-likelihood is finite and not below the
    last accepted one (to rounding, :math:`10^{-12}(1 + |\\ell|)`); otherwise the next
    trial is :math:`(\\beta + \\beta_{\\mathrm{trial}}) / 2`, and a cohort stops after
    ``MAX_HALVINGS`` halvings in a row. Returns the bool mask of accepted trials and
    their gains in log-likelihood.
    """
    gain = loglik - state.loglik[cohorts]
    better = np.isfinite(loglik) & (gain >= -1e-12 * (1.0 + np.abs(loglik)))
    worse = cohorts[~better]
    state.trial[worse] = 0.5 * (state.beta[worse] + state.trial[worse])
    state.halvings[worse] += 1
    state.running[worse[state.halvings[worse] > MAX_HALVINGS]] = False
    return better, gain[better]


def _newton_step(state: _NewtonState, cohorts: np.ndarray, objective: EfronObjective,
                 active: np.ndarray, monotone: np.ndarray, first: bool) -> np.ndarray:
    """Accept the trial points of ``cohorts`` and take the Newton step from them.

    The step is :math:`I(\\beta)^{-1} U(\\beta)` over the active covariates whose
    information has not vanished (:func:`_cholesky`); the next trial is
    :math:`\\beta` plus the step. A covariate dropped from the system at the first
    iteration, its pivot zero up to round-off (``PIVOT_TOLERANCE`` times its
    :attr:`EfronObjective.moment`), makes the information singular (constant or
    collinear covariates within the risk sets: the cohort stops); dropped later, its
    coefficient is running off to infinity and is frozen (and the cohort suspect, unless
    a single-covariate rule explains it).
    Returns the step (len(cohorts), p).
    """
    state.beta[cohorts] = state.trial[cohorts]
    state.loglik[cohorts] = objective.loglik
    state.information[cohorts] = objective.information
    state.halvings[cohorts] = 0
    free = active[cohorts] & ~state.frozen[cohorts]
    scale = objective.moment if first else state.reference[cohorts]
    L, usable = _cholesky(objective.information, free, scale)
    step = _solve(L, usable, objective.score)
    state.step[cohorts] = step
    state.usable[cohorts] = usable
    lost = free & ~usable
    if first:
        bad = cohorts[lost.any(axis=1)]
        state.singular[bad] = True
        state.running[bad] = False
    else:
        state.frozen[cohorts] |= lost
        state.suspect[cohorts] |= (lost & ~monotone[cohorts]).any(axis=1)
    state.trial[cohorts] = state.beta[cohorts] + step
    return step


def _stop(state: _NewtonState, cohorts: np.ndarray, gain: np.ndarray, step: np.ndarray,
          monotone: np.ndarray, tol: float, first: bool) -> None:
    """Stopping rules for ``cohorts``, whose trial points were just accepted.

    Converged: every step of a coefficient with a finite estimate is below ``tol``, and
    the diverging ones (``monotone`` or frozen) have stopped moving or stopped raising
    the log-likelihood (a gain below ``tol * (1 + |loglik|)``). Stalled (diverging along
    a combination of covariates, R's coxph warning "Loglik converged before variable"):
    the log-likelihood is flat while a step stays above ``DIVERGING_STEP``, or for
    ``FLAT_ITERATIONS`` iterations in a row, without settling.
    """
    diverging = monotone[cohorts] | state.frozen[cohorts]
    moving = np.abs(step) >= tol
    settled = ~np.any(moving & ~diverging, axis=1)
    flat = gain <= tol * (1.0 + np.abs(state.loglik[cohorts]))
    still = np.any(moving & diverging, axis=1)
    big = np.any((np.abs(step) > DIVERGING_STEP) & ~diverging, axis=1)
    state.flat_run[cohorts] = np.where(flat, state.flat_run[cohorts] + 1, 0)
    stalled = (flat & ~settled & (big | (state.flat_run[cohorts] >= FLAT_ITERATIONS))
               & (not first))
    state.suspect[cohorts[stalled]] = True
    stop = ((settled & (~still | flat)) | stalled) & state.running[cohorts]
    state.stopped[cohorts[stop]] = True
    state.running[cohorts[stop]] = False


# ---------------------------------------------------------------------------------------
# Separation: coefficients without a finite estimate
# ---------------------------------------------------------------------------------------

def _monotone_coordinates(stack: SortedStack, active: np.ndarray) -> np.ndarray:
    """Covariates along which the partial likelihood rises without bound, with the way.

    The Efron (and Breslow) log-likelihood is non-decreasing in :math:`\\beta_k` for every
    value of the other coefficients iff each death has the largest :math:`x_k` of its risk
    set (all rows with time >= the death's time, tied rows included), and then strictly
    increasing iff some risk set of a death also holds a smaller :math:`x_k`: the
    likelihood keeps rising as the coefficient goes to :math:`+\\infty` (monotone
    likelihood, Bryson & Johnson 1981; Heinze & Schemper 2001). Mirror image for
    :math:`-\\infty`. For a binary factor this is "one group has no deaths while the
    other still has members at risk". Returns int8 (B, p): +1 (towards
    :math:`+\\infty`), -1 (towards :math:`-\\infty`) or 0 (neither).
    """
    B, n, p = stack.x.shape
    # Risk sets are prefixes of the time-descending rows (rows that do not enter come
    # after all of them): running max and min, read at the end of each death's tie.
    # Rows are numbered as in ``head`` (row by row across the cohorts).
    cohort = np.arange(B)[:, None]
    ends = (stack.risk_row * B + cohort).ravel()
    rows = (stack.death_row * B + cohort).ravel()
    x_rows = stack.head[:, :, 1:]
    risk_max = np.take(_scan(np.maximum, x_rows.copy()).reshape(n * B, p), ends, axis=0)
    risk_min = np.take(_scan(np.minimum, x_rows.copy()).reshape(n * B, p), ends, axis=0)
    x = np.take(x_rows.reshape(n * B, p), rows, axis=0)

    def deaths_where(condition: np.ndarray) -> np.ndarray:
        """Number of deaths (B, p) meeting ``condition`` (B * E, p), as a batched matrix
        product: much faster than numpy's boolean reductions over the middle axis."""
        return np.matmul(stack.valid[:, None, :], condition.reshape(B, -1, p).astype(float))[:, 0]

    up = (deaths_where(x < risk_max) == 0) & (deaths_where(risk_min < x) > 0)
    down = (deaths_where(x > risk_min) == 0) & (deaths_where(risk_max > x) > 0)
    fitted = active & (stack.deaths > 0)[:, None]
    return (up & fitted).astype(np.int8) - (down & fitted)


def _diagnose_separation(stack: SortedStack, active: np.ndarray, monotone: np.ndarray,
                         state: _NewtonState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Separated coefficients, their directions (B, p) and converged cohorts (B,).

    Separated: the coordinates of the ``monotone`` rule (:func:`_monotone_coordinates`),
    and in a cohort that diverged along a combination of covariates (suspect, or still
    running at ``max_iter``) the coefficients that :func:`_diverging_directions` finds
    in a direction of monotone likelihood. Direction of a separated coefficient: +1 or
    -1 where every direction of monotone likelihood moves it that way, NaN where some
    move it up and others down (not determined); 0 for the others. It comes from the
    linear programmes of :func:`_diverging_directions` in a suspect cohort, and
    otherwise from the monotone rule, checked by :func:`_undetermined_directions` where
    two or more coefficients are separated. Converged: stopped by a rule, not singular,
    and any suspected divergence explained.
    """
    singular = state.singular
    suspect = state.suspect | (state.running & (stack.deaths > 0) & ~singular)
    separated = (monotone != 0) & active & ~singular[:, None]
    direction = np.where(separated, monotone, 0).astype(float)
    explained = np.zeros(singular.shape, dtype=bool)
    for b in np.flatnonzero(suspect & ~singular):
        support, direction[b] = _diverging_directions(
            stack.x[b], stack.entered[b], stack.died[b], stack.last[b], active[b], monotone[b])
        explained[b] = support.any()
        separated[b] |= support
    for b in np.flatnonzero(~suspect & ~singular & (separated.sum(axis=1) > 1)):
        direction[b, _undetermined_directions(stack.x[b], stack.entered[b], stack.died[b],
                                              stack.last[b], separated[b])] = np.nan
    converged = state.stopped & ~singular & (~suspect | explained)
    return separated, direction, converged


def _risk_pairs(x: np.ndarray, entered: np.ndarray, died: np.ndarray, last: np.ndarray
                ) -> np.ndarray | None:
    """:math:`x_j - x_i` for every death :math:`i` and every row :math:`j` of its risk set
    (one cohort's rows of :class:`SortedStack`, a death's risk set being the rows up to
    ``last`` of its row), or None beyond ``MAX_SEPARATION_PAIRS`` pairs."""
    deaths = np.flatnonzero(died)
    if sum(int(entered[:last[i] + 1].sum()) for i in deaths) > MAX_SEPARATION_PAIRS:
        return None
    return np.concatenate([x[:last[i] + 1][entered[:last[i] + 1]] - x[i] for i in deaths])


def _undetermined_directions(x: np.ndarray, entered: np.ndarray, died: np.ndarray,
                             last: np.ndarray, separated: np.ndarray) -> np.ndarray:
    """Separated coefficients (p,) whose direction is not determined (one cohort).

    In a cohort that is not suspect, the separated coefficients :math:`S` all follow the
    monotone rule (:func:`_monotone_coordinates`, signs :math:`s_k`: :math:`s_k e_k` lies
    in :math:`C`, the cone of directions of monotone likelihood of
    :func:`_diverging_directions`) and every direction in :math:`C` lies in their span.
    Then :math:`C = \\{d : d^\\top a \\ge 0\\}`
    over the rows :math:`a = s \\odot (x_i - x_j)_S \\ge 0` (death :math:`i`, :math:`j`
    in its risk set), and :math:`C` holds a :math:`d` with :math:`s_k d_k < 0` iff every
    row with :math:`a_k > 0` has another positive entry (take :math:`d_k = -s_k` and
    :math:`d_m = s_m M` for the others, :math:`M` large). So the direction of
    :math:`\\beta_k` is determined iff some death has in its risk set a patient who
    differs from it, among the separated covariates, in :math:`x_k` alone. Beyond
    ``MAX_SEPARATION_PAIRS`` pairs every separated coefficient counts as undetermined.
    Arguments are one cohort's rows of :class:`SortedStack`.
    """
    cols = np.flatnonzero(separated)
    undetermined = np.zeros(separated.shape, dtype=bool)
    pairs = _risk_pairs(x[:, cols], entered, died, last)
    if pairs is None:
        undetermined[cols] = True
        return undetermined
    differs = pairs != 0
    alone = differs[differs.sum(axis=1) == 1]
    undetermined[cols] = ~alone.any(axis=0)
    return undetermined


def _diverging_directions(x: np.ndarray, entered: np.ndarray, died: np.ndarray,
                          last: np.ndarray, free: np.ndarray, known: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Covariates that take part in a direction of monotone likelihood, and which way.

    The partial likelihood rises without bound along a direction :math:`d` iff
    :math:`d^\\top (x_i - x_j) \\ge 0` for every death :math:`i` and every :math:`j` in
    its risk set. These directions form a convex cone :math:`C`; with a non-singular
    information it holds no line (no :math:`d \\ne 0` leaves the likelihood constant), so
    every :math:`d \\ne 0` in :math:`C` makes it strictly increasing, no finite maximum
    exists, and exactly the coefficients with :math:`d_k \\ne 0` for some :math:`d \\in C`
    run off to infinity (Albert & Anderson 1984 for the logistic analogue; Heinze &
    Schemper 2001). Two linear programmes per covariate, :math:`\\max \\pm d_k` over
    :math:`C` with :math:`|d| \\le 1`, tell whether :math:`C` holds a :math:`d` with
    :math:`d_k > 0` and one with :math:`d_k < 0` (an optimum found on the way answers
    these questions for the other covariates too). With only the first, every way to the
    supremum of the likelihood takes :math:`\\beta_k` to :math:`+\\infty` (direction +1);
    with only the second to :math:`-\\infty` (-1); with both, the supremum is approached
    with :math:`\\beta_k` going up, down or staying anywhere (its profile likelihood is
    flat there), so its direction is not determined (NaN).

    Directions are searched among the ``free`` covariates (the others are not fitted).
    ``known`` (p,) are the signs of :func:`_monotone_coordinates` (+1:
    :math:`e_k \\in C`), which need no programme; with a single free covariate,
    :math:`C` is then that ray. Used only for the rare cohorts whose Newton-Raphson
    iteration diverged along a combination of covariates that the single-covariate rule
    did not explain. Beyond ``MAX_SEPARATION_PAIRS`` (death, at-risk row) pairs no
    programme is run: every free covariate takes part, with direction NaN unless it is a
    single free covariate with a known sign. Arguments are one cohort's rows of
    :class:`SortedStack` (time-descending, so a death's risk set is the rows up to
    ``last`` of its row). Returns ``support`` (p,) bool and ``direction`` (p,): +1, -1,
    NaN, or 0 outside the support.
    """
    cols = np.flatnonzero(free)
    up, down = known[cols] > 0, known[cols] < 0
    support = np.zeros(free.shape, dtype=bool)
    direction = np.zeros(free.shape)
    if cols.size > 1 or not (up | down).any():   # else C is the ray of the known sign
        pairs = _risk_pairs(x[:, cols], entered, died, last)
        if pairs is None:                          # not computed: any covariate, any way
            up[:], down[:] = True, True
        else:
            constraints = np.unique(pairs, axis=0)
            constraints = constraints[np.abs(constraints).max(axis=1) > 0]
            for position in range(cols.size if len(constraints) else 0):
                for sign, found in ((1.0, up), (-1.0, down)):
                    if not found[position]:
                        objective = np.zeros(cols.size)
                        objective[position] = -sign
                        result = linprog(objective, A_ub=constraints,
                                         b_ub=np.zeros(len(constraints)),
                                         bounds=[(-1.0, 1.0)] * cols.size, method="highs")
                        if result.status == 0:   # the optimum is a witness for others
                            up |= result.x > 1e-7
                            down |= result.x < -1e-7
    support[cols] = up | down
    direction[cols] = np.where(up & down, np.nan, up.astype(float) - down)
    return support, direction


# ---------------------------------------------------------------------------------------
# Estimates on the original scale
# ---------------------------------------------------------------------------------------

def _estimates(stack: SortedStack, active: np.ndarray, separated: np.ndarray,
               direction: np.ndarray, state: _NewtonState
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, standard errors and log-likelihoods on the original scale.

    A cohort that stopped by a rule gets its last Newton step. A separated coefficient
    is :math:`\\pm\\infty` in its ``direction`` (:func:`_diagnose_separation`), NaN
    where that is not determined. Standard errors are the square roots of the diagonal
    of the inverse information over the estimable coefficients (usable, not separated),
    divided by the standardising scale. Cohorts without deaths or with a singular
    information get NaN.
    """
    singular = state.singular
    estimable = state.usable & ~separated & ~singular[:, None]
    inverse = _inverse(*_cholesky(state.information, estimable, state.reference))
    final = state.beta + np.where(estimable & state.stopped[:, None], state.step, 0.0)
    coef = np.where(active, final / stack.scale, 0.0)
    infinite = np.where(np.isnan(direction), np.nan, np.copysign(np.inf, direction))
    coef = np.where(separated, infinite, coef)
    variance = np.diagonal(inverse, axis1=1, axis2=2) / stack.scale ** 2
    se = np.where(estimable & (variance > 0), np.sqrt(np.maximum(variance, 0.0)), np.nan)
    blank = (stack.deaths == 0) | singular
    coef[blank] = np.where(active[blank], np.nan, 0.0)
    se[blank] = np.nan
    loglik = np.where(stack.deaths == 0, np.nan, state.loglik)
    return coef, se, loglik
