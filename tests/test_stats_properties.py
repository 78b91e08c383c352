"""Invariance properties of the batched statistics (simulation.stats), on hypothesis data.

Every engine analyses a stack of cohorts at once, so three things must not matter: the
order of the patients within a cohort (row order), where a cohort sits in a stack and
next to which others (stack position; a cohort alone, without its left-out rows, is the
same cohort), and how the work is cut into blocks (chunking). Cheap exact properties
ride along: the log-rank test is symmetric in its group labels, AUC(-marker) = 1 - AUC,
a Cox coefficient changes sign with its covariate, and everything but the Kaplan-Meier
times depends on the follow-up times only through their order.

Data come from the survival strategies in ``tests/strategies.py`` (ties, censoring from
none to complete, tiny groups, separation, constant covariates, missing rows holding
junk); the hard cases are pinned with ``@example``.

Tolerances
----------
Kaplan-Meier: exactly (bit for bit): the curve is cumulative sums and products in time
order, which no reordering of rows or cohorts changes.
Log-rank, ROC: counts, flags and NaN patterns exactly; floating-point results to
``SUMS`` (1e-12 relative and absolute): a reordering may change the order of a
floating-point sum and nothing else. Where not even that can change (a time or marker
transformation that keeps the order, Youden's counts, the ROC curve), exactly.
Cox: flags (``converged``, ``separated``), counts and NaN patterns exactly; the
coefficients and standard errors of converged, not separated coefficients to ``COX``
(1e-8 relative, 1e-10 absolute; Newton-Raphson stops at steps below 1e-9 and applies the
last; the largest difference seen in 600 stacks was 1.3e-12), the log-likelihood of
converged fits to ``COX_LOGLIK``; a separated coefficient (+inf, -inf, or NaN where its
direction is not determined) exactly.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulation.stats.cox import CoxFit, cox_fit, risk_sets_of
from simulation.stats.km import km_curve, km_median
from simulation.stats.logrank import logrank_test
from simulation.stats.roc import roc_auc, roc_curve, youden_cutoff
from tests.strategies import (
    CoxDesign,
    GroupedStack,
    MarkerStack,
    SurvivalStack,
    binary_groups,
    cox_designs,
    marker_stacks,
    survival_stacks,
)

# Tolerances (module docstring), as keyword arguments of numpy's assert_allclose.
SUMS: dict[str, Any] = {"rtol": 1e-12, "atol": 1e-12}
EXACT: dict[str, Any] = {"rtol": 0.0, "atol": 0.0}
COX: dict[str, Any] = {"rtol": 1e-8, "atol": 1e-10}
COX_LOGLIK: dict[str, Any] = {"rtol": 1e-10, "atol": 1e-10}

#: A Cox property fits a stack several times, each about 20 times the cost of the other
#: engines: these run a quarter of the profile's examples (100 with ``ci``, 25 with
#: ``dev``).
EXPENSIVE = settings(max_examples=max(10, settings().max_examples // 4))

grouped_stacks = survival_stacks().flatmap(binary_groups)
marked_stacks = survival_stacks().flatmap(marker_stacks)
cox_stacks = survival_stacks(max_rows=30).flatmap(cox_designs)


# ---------------------------------------------------------------------------------------
# Hard cases, written out for @example
# ---------------------------------------------------------------------------------------

def rows(values: Any) -> np.ndarray:
    return np.atleast_2d(np.asarray(values, dtype=float))


def stack_of(time: Any, event: Any, mask: Any = None) -> SurvivalStack:
    """A written-out stack: one list of rows per cohort (a single list is one cohort)."""
    time, event = rows(time), rows(event)
    mask = np.isfinite(time) if mask is None else rows(mask).astype(bool)
    return SurvivalStack(time, event, mask, 0)


def grouped_of(time: Any, event: Any, group: Any, mask: Any = None) -> GroupedStack:
    s = stack_of(time, event, mask)
    return GroupedStack(s.time, s.event, s.mask, s.seed, rows(group))


def marked_of(time: Any, event: Any, marker: Any, cutoffs: Any,
              mask: Any = None) -> MarkerStack:
    s = stack_of(time, event, mask)
    return MarkerStack(s.time, s.event, s.mask, s.seed, rows(marker), rows(cutoffs))


def design_of(time: Any, event: Any, X: Any, mask: Any = None) -> CoxDesign:
    s = stack_of(time, event, mask)
    X = np.asarray(X, dtype=float)
    X = X.reshape(s.time.shape + (-1,))
    return CoxDesign(s.time, s.event, s.mask, s.seed, X, np.ones(X.shape[::2], dtype=bool))


NAN = np.nan
#: A cohort with no rows (all left out) next to one with rows: alone it is an empty
#: array, which the engines once refused ("cannot reshape array of size 0").
EMPTY_NEXT_TO_ONE = stack_of([[NAN, NAN], [1, 2]], [[1, 1], [1, 0]],
                             [[False, False], [True, True]])
#: S = 0.5 from t = 2 to the last (censored) time: R's midpoint rule to the last time.
FLAT_AT_HALF = stack_of([1, 2, 3, 4], [1, 1, 0, 0])
#: Everyone dies: S reaches 0 and the log-log band is undefined there.
ALL_DIE = stack_of([1, 2, 3], [1, 1, 1])


# ---------------------------------------------------------------------------------------
# Helpers: shuffles, slices, comparisons
# ---------------------------------------------------------------------------------------

def shuffled(stack: Any) -> Any:
    """The same stack with the patients of each cohort in another order (from its seed)."""
    B, n = stack.time.shape
    order = np.random.default_rng(stack.seed).permuted(np.tile(np.arange(n), (B, 1)), axis=1)

    def take(values: np.ndarray) -> np.ndarray:
        index = order.reshape(order.shape + (1,) * (values.ndim - 2))
        return np.take_along_axis(values, index, axis=1)

    return replace(stack, **{f.name: take(getattr(stack, f.name)) for f in fields(stack)
                             if f.name not in ("seed", "cutoffs", "active")})


def cohort_order(stack: SurvivalStack) -> np.ndarray:
    """Another order of the cohorts of a stack (from its seed)."""
    return np.random.default_rng(stack.seed + 1).permutation(stack.time.shape[0])


def pick(result: Any, index: Any = ...) -> dict[str, np.ndarray]:
    """Every field of a per-cohort result, at ``index`` of the leading axes."""
    return {f.name: np.asarray(getattr(result, f.name))[index] for f in fields(result)}


def assert_same(got: Any, expected: Any, rtol: float, atol: float) -> None:
    """Two results (dataclasses or :func:`pick` dicts) agree field by field: integers and
    bools exactly, floats to ``rtol``/``atol`` with NaN where NaN."""
    got = got if isinstance(got, dict) else pick(got)
    expected = expected if isinstance(expected, dict) else pick(expected)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if value.dtype.kind in "biu":
            np.testing.assert_array_equal(got[name], value, err_msg=name)
        else:
            np.testing.assert_allclose(got[name], value, rtol=rtol, atol=atol,
                                       equal_nan=True, err_msg=name)


def in_stack_and_alone(stack: SurvivalStack, analyse: Any, *per_row: np.ndarray,
                       tol: dict[str, float]) -> Any:
    """Check that each cohort gives the same result alone (without its left-out rows),
    in the stack, in the stack in another cohort order with an extra leading axis, and
    with its left-out rows marked missing (NaN) instead of masked. Returns the result."""
    mask = stack.mask
    B, n = mask.shape
    whole = analyse(*per_row, mask)
    order = cohort_order(stack)
    moved = analyse(*(a[order].reshape(1, B, n) for a in per_row), mask[order].reshape(1, B, n))
    for position, b in enumerate(order):
        assert_same(analyse(*(a[b, mask[b]] for a in per_row)), pick(whole, b), **tol)
        assert_same(pick(moved, (0, position)), pick(whole, b), **tol)
    first, *rest = per_row
    assert_same(analyse(np.where(mask, first, np.nan), *rest), whole, **tol)
    return whole


# ---------------------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------------------

@given(survival_stacks())
@example(EMPTY_NEXT_TO_ONE)
@example(FLAT_AT_HALF)
@example(ALL_DIE)
def test_km_median_ignores_row_order_and_stack_position(stack: SurvivalStack) -> None:
    whole = in_stack_and_alone(stack, km_median, stack.time, stack.event, tol=EXACT)
    s = shuffled(stack)
    assert_same(km_median(s.time, s.event, s.mask), whole, **EXACT)


@given(survival_stacks())
@example(FLAT_AT_HALF)
@example(ALL_DIE)
def test_km_median_scales_with_the_time_unit_and_its_interval_brackets_it(
        stack: SurvivalStack) -> None:
    r = km_median(stack.time, stack.event, stack.mask)
    # Doubling is exact in floating point, so every time-valued result doubles exactly.
    doubled = km_median(2 * stack.time, stack.event, stack.mask)
    for name in ("median", "ci", "ci_symmetric", "se"):
        np.testing.assert_array_equal(getattr(doubled, name), 2 * getattr(r, name),
                                      err_msg=name)
    np.testing.assert_array_equal(doubled.n, r.n)
    np.testing.assert_array_equal(doubled.events, r.events)
    # Brookmeyer-Crowley: the log-log band lies around the curve, so its limits lie
    # around the median (the lower one may exist without it: [t, open) when not
    # reached); Collett's se exists only with a median.
    low, high = r.ci[..., 0], r.ci[..., 1]
    both = np.isfinite(low) & r.reached
    assert (low[both] <= r.median[both]).all()
    assert (high[np.isfinite(high)] >= r.median[np.isfinite(high)]).all()   # NaN fails
    assert (np.isfinite(r.se) <= r.reached).all() and (r.se[np.isfinite(r.se)] >= 0).all()


@given(survival_stacks())
@example(EMPTY_NEXT_TO_ONE)
@example(ALL_DIE)
def test_km_curve_ignores_row_order_and_left_out_rows(stack: SurvivalStack) -> None:
    s = shuffled(stack)
    for b in range(stack.time.shape[0]):
        keep = stack.mask[b]
        curve = km_curve(stack.time[b], stack.event[b], keep)
        assert_same(km_curve(s.time[b], s.event[b], s.mask[b]), curve, **EXACT)
        assert_same(km_curve(stack.time[b, keep], stack.event[b, keep]), curve, **EXACT)


# ---------------------------------------------------------------------------------------
# Log-rank test and its scan over cut-offs
# ---------------------------------------------------------------------------------------

def logrank(s: GroupedStack, **changes: Any) -> Any:
    s = replace(s, **changes)
    return logrank_test(s.time, s.event, s.group, s.mask)


#: The only group-1 patient is censored before the first death: V = 0, no test.
GROUP_GONE_BEFORE_DEATHS = grouped_of([1, 2, 3], [0, 1, 1], [1, 0, 0])
#: Deaths tied across the groups.
TIED_ACROSS_GROUPS = grouped_of([1, 1, 2, 3], [1, 1, 0, 1], [1, 0, 1, 0])


@given(grouped_stacks)
@example(grouped_of(EMPTY_NEXT_TO_ONE.time, EMPTY_NEXT_TO_ONE.event, [[1, 0], [1, 0]],
                    EMPTY_NEXT_TO_ONE.mask))
@example(GROUP_GONE_BEFORE_DEATHS)
@example(TIED_ACROSS_GROUPS)
def test_logrank_ignores_row_order_and_stack_position(stack: GroupedStack) -> None:
    whole = in_stack_and_alone(stack, logrank_test, stack.time, stack.event, stack.group,
                               tol=SUMS)
    assert_same(logrank(shuffled(stack)), whole, **SUMS)


@given(grouped_stacks)
@example(GROUP_GONE_BEFORE_DEATHS)
@example(TIED_ACROSS_GROUPS)
def test_logrank_is_symmetric_in_the_groups_and_reads_only_the_order_of_times(
        stack: GroupedStack) -> None:
    r = logrank(stack)
    swapped = logrank(stack, group=1.0 - stack.group)       # NaN stays missing
    deaths = r.events.sum(axis=-1)
    np.testing.assert_allclose(swapped.chi2, r.chi2, equal_nan=True, **SUMS)
    np.testing.assert_allclose(swapped.p, r.p, equal_nan=True, **SUMS)
    np.testing.assert_allclose(swapped.z, -r.z, equal_nan=True, **SUMS)
    np.testing.assert_allclose(swapped.variance, r.variance, **SUMS)
    np.testing.assert_allclose(swapped.observed, deaths - r.observed, **SUMS)
    np.testing.assert_allclose(swapped.expected, deaths - r.expected, **SUMS)
    np.testing.assert_array_equal(swapped.n, r.n[..., ::-1])
    np.testing.assert_array_equal(swapped.events, r.events[..., ::-1])
    # 2 t + 1 keeps the order of the times (and is exact on quarter months).
    assert_same(logrank(stack, time=2 * stack.time + 1), r, **EXACT)


# ---------------------------------------------------------------------------------------
# ROC: AUC with DeLong's variance, Youden's cut-off, the curve
# ---------------------------------------------------------------------------------------
# The marker stacks' event is the positive outcome (died).

def auc(s: MarkerStack, **changes: Any) -> Any:
    s = replace(s, **changes)
    return roc_auc(s.marker, s.event, s.mask)


def youden(s: MarkerStack, **changes: Any) -> Any:
    s = replace(s, **changes)
    return youden_cutoff(s.marker, s.event, s.mask)


#: One positive among tied markers (DeLong's variance needs two of each).
ONE_POSITIVE = marked_of([1, 2, 3, 4], [0, 1, 0, 0], [40, 40, 40.5, 40], [40, 40.5])


@given(marked_stacks)
@example(marked_of(EMPTY_NEXT_TO_ONE.time, EMPTY_NEXT_TO_ONE.event, [[40, 41], [40, 41]],
                   [[40, 41], [41, 40]], EMPTY_NEXT_TO_ONE.mask))
@example(ONE_POSITIVE)
def test_roc_auc_and_youden_ignore_row_order_and_stack_position(stack: MarkerStack) -> None:
    s = shuffled(stack)
    whole = in_stack_and_alone(stack, roc_auc, stack.marker, stack.event, tol=SUMS)
    assert_same(auc(s), whole, **SUMS)
    best = in_stack_and_alone(stack, youden_cutoff, stack.marker, stack.event, tol=EXACT)
    assert_same(youden(s), best, **EXACT)


@given(marked_stacks)
@example(ONE_POSITIVE)
def test_auc_of_the_negated_marker_or_swapped_outcome_is_one_minus_auc_and_order_is_all(
        stack: MarkerStack) -> None:
    r = auc(stack)
    for flipped in (auc(stack, marker=-stack.marker), auc(stack, event=1 - stack.event)):
        np.testing.assert_allclose(flipped.auc, 1 - r.auc, equal_nan=True, **SUMS)
        np.testing.assert_allclose(flipped.se, r.se, equal_nan=True, **SUMS)
        np.testing.assert_allclose(flipped.p, r.p, equal_nan=True, **SUMS)
        np.testing.assert_allclose(flipped.ci, 1 - r.ci[..., ::-1], equal_nan=True, **SUMS)
    swapped = auc(stack, event=1 - stack.event)
    np.testing.assert_array_equal(swapped.n_positive, r.n_negative)
    np.testing.assert_array_equal(swapped.n_negative, r.n_positive)
    # 2 x + 1 keeps the order of the (half-unit) markers exactly: the AUC stays, Youden's
    # cut-off moves with the marker.
    assert_same(auc(stack, marker=2 * stack.marker + 1), r, **EXACT)
    best, moved = youden(stack), youden(stack, marker=2 * stack.marker + 1)
    np.testing.assert_array_equal(moved.cutoff, 2 * best.cutoff + 1)
    for name in ("sensitivity", "specificity", "j"):
        np.testing.assert_array_equal(getattr(moved, name), getattr(best, name))


@given(marked_stacks)
@example(ONE_POSITIVE)
def test_roc_curve_ignores_row_order_and_left_out_rows_and_its_area_is_the_auc(
        stack: MarkerStack) -> None:
    s = shuffled(stack)
    area = auc(stack).auc
    for b in range(stack.marker.shape[0]):
        keep = stack.mask[b]
        curve = roc_curve(stack.marker[b], stack.event[b], keep)
        assert_same(roc_curve(s.marker[b], s.event[b], s.mask[b]), curve, **EXACT)
        assert_same(roc_curve(stack.marker[b, keep], stack.event[b, keep]), curve, **EXACT)
        if np.isfinite(area[b]):   # trapezoids: a tie across the classes counts one half
            assert abs(np.trapezoid(curve.tpr, curve.fpr) - area[b]) <= SUMS["atol"]


# ---------------------------------------------------------------------------------------
# Cox
# ---------------------------------------------------------------------------------------

def fit(d: CoxDesign, **changes: Any) -> CoxFit:
    d = replace(d, **changes)
    return cox_fit(d.time, d.event, d.X, d.mask, d.active)


def fit_in_chunks(d: CoxDesign, cohorts: int) -> CoxFit:
    """The stack fitted ``cohorts`` at a time (the public chunking parameter, in one place)."""
    return cox_fit(d.time, d.event, d.X, d.mask, d.active, chunk_size=cohorts)


def assert_same_fit(got: Any, expected: Any, coef_scale: Any = 1.0) -> None:
    """Cox fits (or :func:`pick` of one cohort) agree as the module docstring says.

    ``coef_scale`` (per covariate) multiplies the expected coefficients to give the ones
    expected in ``got`` (and the standard errors by its absolute value).
    """
    g = got if isinstance(got, dict) else pick(got)
    e = expected if isinstance(expected, dict) else pick(expected)
    for name in ("converged", "separated", "n", "events"):
        np.testing.assert_array_equal(g[name], e[name], err_msg=name)
    scale = np.asarray(coef_scale, dtype=float)
    coef, se = e["coef"] * scale, e["se"] * np.abs(scale)
    np.testing.assert_array_equal(np.isnan(g["coef"]), np.isnan(coef), err_msg="coef NaN")
    np.testing.assert_array_equal(np.isnan(g["se"]), np.isnan(se), err_msg="se NaN")
    converged = np.broadcast_to(np.expand_dims(e["converged"], -1), coef.shape)
    estimated = converged & ~e["separated"]
    np.testing.assert_allclose(g["coef"][estimated], coef[estimated], **COX, err_msg="coef")
    np.testing.assert_allclose(g["se"][estimated], se[estimated], **COX, err_msg="se")
    np.testing.assert_array_equal(g["coef"][e["separated"]], coef[e["separated"]],
                                  err_msg="separated: +-inf, or NaN if undetermined")
    np.testing.assert_allclose(g["loglik"][e["converged"]], e["loglik"][e["converged"]],
                               **COX_LOGLIK, err_msg="loglik")


#: A group of three without deaths beside a covariate with a finite estimate.
DEATHLESS_GROUP = design_of([1, 2, 2, 3, 4, 5, 6, 7], [0, 1, 1, 0, 1, 0, 1, 0],
                            [[1, 3], [0, 1], [0, 4], [1, 1], [0, 5], [1, 2], [0, 0], [0, 2]])
#: A group that dies first (tied at the first time with one other death).
DIES_FIRST = design_of([1, 1, 1, 2, 3, 4], [1, 1, 1, 1, 0, 1], [1, 1, 0, 0, 0, 0])
#: A constant covariate (singular information) next to a fit that works.
CONSTANT_BESIDE_GOOD = design_of([[1, 2, 3, 4], [1, 2, 3, 4]], [[1, 1, 0, 1], [1, 0, 1, 1]],
                                 [[2, 2, 2, 2], [0, 1, 0, 1]])
#: Once a finding: one death whose risk set holds (0, 0), (1, 1) twice and (1, 0). The
#: likelihood rises without bound along +x2, and with x2 running off along x1 either
#: way, so x1's direction is not determined: its coefficient stayed at about 1e-7 with
#: a sign set by rounding (+3.9e-8 in this row order, -7.5e-8 with the last two rows
#: swapped, seed 0's shuffle). Now (NaN, +inf) in every order.
SEPARATED_WITHOUT_MOVING = design_of([1, 2, 2, 2], [1, 0, 0, 0],
                                     [[1, 1], [0, 0], [1, 1], [1, 0]])
#: Once a finding: the only death's risk set (t = 2) has one value of x, so the
#: information is exactly 0. With x = 0, 0, 1, 1, 1 the round-off information (~1e-17)
#: passed the pivot test, whose scale was the first iteration's own diagonal: converged,
#: coef 0, se 1.9e8; with x -> -x - 1 not converged, NaN. Now singular (not converged,
#: NaN) both ways: the scale is the risk sets' second moment of the standardised x.
ZERO_INFORMATION_BY_ROUNDING = design_of([1, 1, 2, 2, 2], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1])


@EXPENSIVE
@given(cox_stacks)
@example(DEATHLESS_GROUP)
@example(DIES_FIRST)
@example(CONSTANT_BESIDE_GOOD)
@example(SEPARATED_WITHOUT_MOVING)
def test_cox_ignores_row_order_and_reads_only_the_order_of_times(design: CoxDesign) -> None:
    whole = fit(design)
    assert_same_fit(fit(shuffled(design)), whole)
    assert_same_fit(fit(design, time=2 * design.time + 1), whole)


@EXPENSIVE
@given(cox_stacks)
@example(DEATHLESS_GROUP)
@example(SEPARATED_WITHOUT_MOVING)
def test_cox_shared_risk_sets_change_no_bit(design: CoxDesign) -> None:
    """Risk sets sorted once and shared (as the analysis shares them between the models
    of a cohort) give the very same fit, also for cohorts repeated in another order."""
    whole = fit(design)
    sets = risk_sets_of(design.time, design.event, design.mask)
    shared = cox_fit(design.time, design.event, design.X, design.mask, design.active,
                     risk_sets=sets)
    for name in (f.name for f in fields(CoxFit)):
        np.testing.assert_array_equal(getattr(shared, name), getattr(whole, name), name)
    B = design.time.shape[0]
    rows = np.concatenate([np.arange(B)[::-1], np.arange(B)])
    twice = cox_fit(design.time[rows], design.event[rows], design.X[rows],
                    design.mask[rows], design.active[rows], risk_sets=sets.subset(rows))
    for position, b in enumerate(rows):
        assert_same_fit(pick(twice, position), pick(whole, b))


@EXPENSIVE
@given(cox_stacks, st.integers(1, 4))
@example(DEATHLESS_GROUP, 1)
@example(CONSTANT_BESIDE_GOOD, 1)
@example(SEPARATED_WITHOUT_MOVING, 1)
def test_cox_ignores_chunking_and_stack_position(design: CoxDesign, cohorts: int) -> None:
    whole = fit(design)
    assert_same_fit(fit_in_chunks(design, cohorts), whole)
    order = cohort_order(design)
    moved = fit(design, time=design.time[order], event=design.event[order],
                X=design.X[order], mask=design.mask[order], active=design.active[order])
    for position, b in enumerate(order):
        expected = pick(whole, b)
        assert_same_fit(pick(moved, position), expected)
        # Alone: only its rows and its fitted covariates.
        keep, columns = design.mask[b], design.active[b]
        if columns.any():
            alone = cox_fit(design.time[b, keep], design.event[b, keep],
                            design.X[b][keep][:, columns])
            expected.update(coef=expected["coef"][columns], se=expected["se"][columns],
                            separated=expected["separated"][columns])
            assert_same_fit(pick(alone, 0), expected)


@EXPENSIVE
@given(cox_stacks, st.integers(0, 2), st.sampled_from([-1.0, -2.0, 0.5, 4.0]),
       st.integers(-3, 3))
@example(DEATHLESS_GROUP, 0, -1.0, 0)
@example(DIES_FIRST, 0, -2.0, 1)
@example(ZERO_INFORMATION_BY_ROUNDING, 0, -1.0, -1)
@example(SEPARATED_WITHOUT_MOVING, 0, -1.0, 0)
@example(SEPARATED_WITHOUT_MOVING, 1, -2.0, 3)
def test_cox_coefficient_follows_a_linear_change_of_its_covariate(
        design: CoxDesign, covariate: int, a: float, c: int) -> None:
    # x -> a x + c: the coefficient becomes beta / a (its sign flips with a < 0), its
    # standard error se / |a|; the other coefficients, the log-likelihood and the flags
    # stay. Powers of two and whole shifts keep the covariates exact.
    p = design.X.shape[2]
    k = covariate % p
    X = design.X.copy()
    X[:, :, k] = a * X[:, :, k] + c
    scale = np.ones(p)
    scale[k] = 1 / a
    assert_same_fit(fit(design, X=X), fit(design), coef_scale=scale)
