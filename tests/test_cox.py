"""The batched Cox engine (simulation.stats.cox) against lifelines, worked values and exact rules.

lifelines' CoxPHFitter is fitted through ``cox_fit_lifelines`` with tight stopping rules
(``LIFELINES_FIT_OPTIONS``: beyond ``precision=1e-12`` also the Newton-decrement and
relative log-likelihood rules, which otherwise stop it up to ~4e-7 from the maximum on
small tied cohorts; see the constant's comment), so that agreement to 1e-6 relative is a
statement about both implementations and not about lifelines' tolerance.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import brentq, linprog, minimize

from calculator.errors import InputError
from calculator.published import Z95
from simulation.stats.cox import (
    MAX_HALVINGS,
    CoxFit,
    _halve_rejected,
    _NewtonState,
    as_stack,
    cox_fit,
    efron_objective,
    risk_sets_of,
    sort_stack,
)
from simulation.stats.reference import cox_fit_lifelines

N_MAX, P_MAX = 80, 4
N_COHORTS = 1000
SEED = 20250617


# ---------------------------------------------------------------------------------------
# Random cohorts: small n, 1-4 covariates, ties, tiny groups, separation
# ---------------------------------------------------------------------------------------

def random_cohort(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One cohort of 20-80 patients with 1-4 covariates of mixed kinds.

    Covariates are normal, balanced binary, binary with a tiny group of 1-4 members, or
    rounded lab-like values; times are continuous, rounded to 0.1 month (ties) or to
    5-month bands (very heavy ties); 5% of cohorts have only 1-2 deaths and 10% get a
    constructed separation (a binary group without deaths, or dying before all others).
    """
    n = int(rng.integers(20, N_MAX + 1))
    p = int(rng.integers(1, P_MAX + 1))
    X = np.empty((n, p))
    for k in range(p):
        kind = rng.choice(4, p=[0.35, 0.3, 0.1, 0.25])
        if kind == 0:
            X[:, k] = rng.normal(size=n)
        elif kind == 1:
            X[:, k] = rng.random(n) < 0.5
        elif kind == 2:
            X[:, k] = 0.0
            X[rng.choice(n, int(rng.integers(1, 5)), replace=False), k] = 1.0
        else:
            X[:, k] = np.round(rng.lognormal(3, 0.5, n))
    beta = rng.normal(0, 0.5, p) / np.maximum(X.std(axis=0), 0.1)
    T = rng.exponential(1.0, n) * np.exp(-(X - X.mean(axis=0)) @ beta) * rng.uniform(2, 20)
    C = rng.exponential(rng.uniform(5, 60), n)
    E = T <= C
    T = np.minimum(T, C)
    ties = rng.integers(3)
    if ties == 1:
        T = np.maximum(np.round(T, 1), 0.1)
    elif ties == 2:
        T = np.maximum(np.round(T / 5), 1.0)
    if rng.random() < 0.05:
        E[:] = False
        E[rng.choice(n, int(rng.integers(1, 3)), replace=False)] = True
    if rng.random() < 0.10:
        k = int(rng.integers(p))
        X[:, k] = X[:, k] > np.median(X[:, k])
        group = X[:, k] == 1
        if group.any() and (~group).any():
            if rng.random() < 0.5:
                E[group] = False
            else:
                E[group] = True
                T[group] = np.minimum(T[group], 0.5 * T[~group].min())
    return T, E, X


def random_stack(seed: int, size: int):
    """``size`` random cohorts padded into one stack (B, 80, 4).

    Each cohort's rows and covariates sit at random positions; the unused rows and
    covariates are filled with junk, so the comparison also proves that ``mask`` and
    ``active`` keep them out.
    """
    rng = np.random.default_rng(seed)
    time = np.zeros((size, N_MAX))
    event = np.zeros((size, N_MAX), dtype=bool)
    X = np.zeros((size, N_MAX, P_MAX))
    mask = np.zeros((size, N_MAX), dtype=bool)
    active = np.zeros((size, P_MAX), dtype=bool)
    compact = []
    for b in range(size):
        T, E, x = random_cohort(rng)
        n, p = x.shape
        rows = np.sort(rng.choice(N_MAX, n, replace=False))
        cols = np.sort(rng.choice(P_MAX, p, replace=False))
        unused = np.setdiff1d(np.arange(N_MAX), rows)
        time[b, rows], event[b, rows], mask[b, rows], active[b, cols] = T, E, True, True
        X[b][np.ix_(rows, cols)] = x
        time[b, unused] = rng.exponential(5, unused.size)
        event[b, unused] = rng.random(unused.size) < 0.5
        X[b][unused] = rng.normal(size=(unused.size, P_MAX))
        X[b][:, ~active[b]] = rng.normal(size=(N_MAX, P_MAX - p))
        compact.append((T, E, x, cols))
    return (time, event, X, mask, active), compact


def monotone_directions(T: np.ndarray, E: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact oracle, written independently of the engine: which covariates diverge, and
    which way.

    The partial likelihood rises without bound along d iff d'(x_i - x_j) >= 0 for every
    death i and every j with T_j >= T_i, with strict inequality somewhere. One LP tells
    whether such a d exists (minimise the summed d'(x_j - x_i) under those constraints,
    |d| <= 1); then two LPs per covariate tell whether some such d has d_k > 0 and
    whether some has d_k < 0. Returns per covariate 0.0 (takes no part), +1.0 or -1.0
    (only that sign occurs: the coefficient runs off that way) or NaN (both occur).
    """
    p = x.shape[1]
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z = x / scale
    A = np.concatenate([z[T >= T[i]] - z[i] for i in np.flatnonzero(E)])
    A = np.unique(A[np.abs(A).max(axis=1) > 0], axis=0)   # fewer, same constraints
    if len(A) == 0:
        return np.zeros(p)
    bounds = [(-1, 1)] * p
    zero = np.zeros(len(A))
    exists = linprog(A.sum(axis=0), A_ub=A, b_ub=zero, bounds=bounds, method="highs")
    direction = np.zeros(p)
    if exists.status != 0 or exists.fun > -1e-7:
        return direction
    for k in range(p):
        occurs = []
        for sign in (1.0, -1.0):
            c = np.zeros(p)
            c[k] = -sign
            result = linprog(c, A_ub=A, b_ub=zero, bounds=bounds, method="highs")
            occurs.append(result.status == 0 and -result.fun > 1e-7)
        if all(occurs):
            direction[k] = np.nan
        elif any(occurs):
            direction[k] = 1.0 if occurs[0] else -1.0
    return direction


@pytest.fixture(scope="module")
def validation():
    """1,000 cohorts fitted by both engines, plus the exact separation oracle."""
    stack, compact = random_stack(SEED, N_COHORTS)
    fast = cox_fit(*stack)
    reference = cox_fit_lifelines(*stack)
    # The LPs run where lifelines failed; a clean lifelines fit (finite se, no warning)
    # certifies a finite maximum, so no direction of monotone likelihood, elsewhere.
    # oracle: the direction of each coefficient (0.0 if it has a finite estimate).
    oracle = np.zeros((N_COHORTS, P_MAX))
    for b in np.flatnonzero(~reference.converged):
        T, E, x, cols = compact[b]
        if E.any():
            oracle[b, cols] = monotone_directions(T, E, x)
    return stack, compact, fast, reference, oracle


# ---------------------------------------------------------------------------------------
# Validation against lifelines and the exact oracle (1,000 cohorts)
# ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_random_cohorts_cover_ties_tiny_groups_and_separation(validation):
    stack, compact, fast, reference, oracle = validation
    heavy_ties = sum(len(np.unique(T)) <= 0.5 * len(T) for T, _, _, _ in compact)
    tiny_groups = sum(any(0 < x[:, k].sum() <= 4 and set(np.unique(x[:, k])) <= {0, 1}
                          for k in range(x.shape[1])) for _, _, x, _ in compact)
    assert len(compact) >= 1000
    assert heavy_ties >= 200
    assert tiny_groups >= 100
    assert (oracle != 0).any(axis=1).sum() >= 100     # separated cohorts
    assert (~reference.converged).sum() >= 100        # lifelines fails on these
    assert reference.converged.sum() >= 600           # and converges on most


@pytest.mark.slow
def test_coefficients_and_ses_match_lifelines_where_it_converges(validation):
    stack, _, fast, reference, _ = validation
    active = stack[4]
    both = reference.converged
    assert fast.finite[both].all()
    sel = both[:, None] & active
    # 1e-6 relative; the absolute 1e-9 only matters for coefficients within 1e-3 of 0.
    np.testing.assert_allclose(fast.coef[sel], reference.coef[sel], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fast.se[sel], reference.se[sel], rtol=1e-6)
    np.testing.assert_allclose(fast.loglik[both], reference.loglik[both], rtol=1e-9)
    np.testing.assert_allclose(fast.p[sel], reference.p[sel], rtol=1e-5, atol=1e-12)
    assert (fast.coef[~active] == 0).all() and np.isnan(fast.se[~active]).all()


@pytest.mark.slow
def test_flags_match_lifelines_where_it_does_not_converge(validation):
    _, _, fast, reference, _ = validation
    failed = ~reference.converged
    # Every lifelines failure is a cohort the fast engine flags (separated, singular or
    # without deaths), and every fast-engine flag is a lifelines failure.
    np.testing.assert_array_equal(~fast.finite, failed)


def fitted_cohorts(fit: CoxFit) -> np.ndarray:
    """Cohorts with deaths and a non-singular information (a NaN coefficient that is not
    separated marks the others)."""
    return ~(np.isnan(fit.coef) & ~fit.separated).any(axis=1)


@pytest.mark.slow
def test_separation_flags_match_the_exact_rule(validation):
    _, compact, fast, _, oracle = validation
    estimated = fitted_cohorts(fast)
    assert estimated.sum() >= 900 and (fast.separated[estimated].any(axis=1)).sum() >= 100
    np.testing.assert_array_equal(fast.separated[estimated], oracle[estimated] != 0)
    # divergence along a combination of covariates (no single covariate separates)
    # occurs among the random cohorts and is found
    single = np.zeros(oracle.shape, dtype=bool)
    for b, (T, E, x, cols) in enumerate(compact):
        for j, k in enumerate(cols):
            column = x[:, j]
            deaths = np.flatnonzero(E)
            top = all(column[i] >= column[T >= T[i]].max() for i in deaths)
            bottom = all(column[i] <= column[T >= T[i]].min() for i in deaths)
            single[b, k] = top or bottom
    assert ((oracle != 0) & ~single).any(axis=1).sum() >= 3


@pytest.mark.slow
def test_separated_coefficients_are_infinite_in_the_direction_of_the_exact_rule(validation):
    # +-inf where every direction of monotone likelihood moves the coefficient one way,
    # NaN where some move it up and others down (nested separation: its profile
    # likelihood is flat); among the random cohorts all three occur.
    _, _, fast, _, oracle = validation
    estimated = fitted_cohorts(fast)
    sep = fast.separated & estimated[:, None]
    np.testing.assert_array_equal(fast.coef[sep], oracle[sep] * np.inf)
    assert (fast.coef[sep] == np.inf).sum() >= 20 and (fast.coef[sep] == -np.inf).sum() >= 50
    assert np.isnan(fast.coef[sep]).sum() >= 3


@pytest.mark.slow
def test_separated_coefficients_have_no_se_and_others_keep_theirs(validation):
    stack, _, fast, _, _ = validation
    sep = fast.separated
    assert np.isnan(fast.se[sep]).all() and np.isnan(fast.p[sep]).all()
    keep = fast.converged[:, None] & ~sep & stack[4]
    assert np.isfinite(fast.se[keep]).all()
    assert (fast.converged & sep.any(axis=1)).sum() >= 50


# ---------------------------------------------------------------------------------------
# Worked values
# ---------------------------------------------------------------------------------------

def test_two_group_example_with_a_tie_matches_the_written_out_likelihood():
    # Times 1, 2, 2, 3+, 4, 5+; deaths at 1 (x=0), 2 (x=1 and x=0, tied), 4 (x=1).
    # With u = exp(beta), Efron's partial likelihood is
    #   l = 2 beta - log(3 + 3u) - log(2 + 3u) - log(1.5 + 2.5u) - log(1 + u)
    # (the tie at 2 removes half of the two dying patients' weight, 0.5 (1 + u), from
    # the risk set 2 + 3u for its second term).
    def score(b):
        u = math.exp(b)
        return 2 - 3 * u / (3 + 3 * u) - 3 * u / (2 + 3 * u) - 2.5 * u / (1.5 + 2.5 * u) \
            - u / (1 + u)

    def information(b):
        u = math.exp(b)
        return (9 * u / (3 + 3 * u) ** 2 * 1 + 6 * u / (2 + 3 * u) ** 2
                + 3.75 * u / (1.5 + 2.5 * u) ** 2 + u / (1 + u) ** 2)

    def loglik(b):
        u = math.exp(b)
        return 2 * b - math.log(3 + 3 * u) - math.log(2 + 3 * u) - math.log(1.5 + 2.5 * u) \
            - math.log(1 + u)

    root = brentq(score, -5, 5, xtol=1e-14)
    fit = cox_fit([1, 2, 2, 3, 4, 5], [1, 1, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0])
    assert fit.coef.shape == (1, 1)
    assert fit.coef[0, 0] == pytest.approx(root, abs=1e-10)
    assert fit.se[0, 0] == pytest.approx(1 / math.sqrt(information(root)), rel=1e-9)
    assert fit.loglik[0] == pytest.approx(loglik(root), abs=1e-12)
    assert fit.converged[0] and not fit.separated[0, 0]
    assert round(root, 6) == -0.228994


def test_three_covariates_with_ties_match_direct_maximisation():
    # An independent, loop-by-loop Efron likelihood maximised with scipy (BFGS).
    rng = np.random.default_rng(3)
    n = 30
    T = np.round(rng.exponential(5, n))
    E = rng.random(n) < 0.7
    X = np.column_stack([rng.normal(size=n), rng.random(n) < 0.4, rng.normal(size=n)])

    def negative_loglik(beta):
        eta = X @ beta
        total = 0.0
        for t in np.unique(T[E]):
            dying = (T == t) & E
            risk = np.exp(eta[T >= t]).sum()
            tied = np.exp(eta[dying]).sum()
            d = dying.sum()
            total += eta[dying].sum() - sum(math.log(risk - r / d * tied) for r in range(d))
        return -total

    best = minimize(negative_loglik, np.zeros(3), method="BFGS", options={"gtol": 1e-10})
    fit = cox_fit(T, E, X)
    np.testing.assert_allclose(fit.coef[0], best.x, atol=1e-6)
    assert fit.loglik[0] == pytest.approx(-best.fun, abs=1e-9)


def test_rossi_recidivism_matches_r_coxph():
    # R: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio,
    # data = Rossi), Efron ties; printed in Fox & Weisberg, "Cox proportional-hazards
    # regression for survival data in R", appendix to An R Companion to Applied
    # Regression (2nd ed., 2011), p. 5. 432 men, 114 arrests, weekly times (many ties).
    from lifelines.datasets import load_rossi

    data = load_rossi()
    names = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    fit = cox_fit(data["week"], data["arrest"], data[names].to_numpy(dtype=float))
    r_coef = [-0.37942, -0.05744, 0.31390, -0.14980, -0.43370, -0.08487, 0.09150]
    r_se = [0.19138, 0.02200, 0.30799, 0.21222, 0.38187, 0.19576, 0.02865]
    r_p = [0.04742, 0.00903, 0.30812, 0.48029, 0.25606, 0.66461, 0.00140]
    np.testing.assert_allclose(fit.coef[0], r_coef, atol=5e-6)
    np.testing.assert_allclose(fit.se[0], r_se, atol=5e-6)
    np.testing.assert_allclose(fit.p[0], r_p, atol=5e-6)
    assert fit.n[0] == 432 and fit.events[0] == 114


def test_wald_quantities_follow_from_coef_and_se():
    rng = np.random.default_rng(5)
    T = rng.exponential(1, (4, 50))
    E = rng.random((4, 50)) < 0.8
    X = rng.normal(size=(4, 50, 2))
    fit = cox_fit(T, E, X)
    np.testing.assert_allclose(fit.z, fit.coef / fit.se)
    np.testing.assert_allclose(fit.ci_lower, fit.coef - Z95 * fit.se)
    np.testing.assert_allclose(fit.ci_upper, fit.coef + Z95 * fit.se)
    from scipy.stats import norm
    np.testing.assert_allclose(fit.p, 2 * norm.sf(np.abs(fit.z)), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# The pieces of the engine: objective and step-halving
# ---------------------------------------------------------------------------------------

def efron_loglik_by_loops(T: np.ndarray, E: np.ndarray, X: np.ndarray, beta: np.ndarray
                          ) -> float:
    """Efron partial log-likelihood written loop by loop from its definition."""
    eta = X @ beta
    total = 0.0
    for t in np.unique(T[E]):
        dying = (T == t) & E
        risk = np.exp(eta[T >= t]).sum()
        tied = np.exp(eta[dying]).sum()
        d = int(dying.sum())
        total += eta[dying].sum() - sum(math.log(risk - r / d * tied) for r in range(d))
    return total


def test_efron_objective_is_the_log_likelihood_with_its_gradient_and_negative_hessian():
    # A padded random stack (ties, tiny groups, separation, junk in masked rows and
    # inactive columns) at a random point: the log-likelihood equals the loop-by-loop
    # definition, the score its central difference, the information minus the
    # central difference of the score.
    stack, compact = random_stack(77, 40)
    sorted_stack = sort_stack(*as_stack(*stack))
    active = stack[4]
    rng = np.random.default_rng(77)
    beta = np.where(active, rng.normal(0, 0.5, active.shape), 0.0)
    at = efron_objective(sorted_stack, beta)
    for b, (T, E, x, cols) in enumerate(compact):
        original = beta[b, cols] / sorted_stack.scale[b, cols]
        assert at.loglik[b] == pytest.approx(efron_loglik_by_loops(T, E, x, original),
                                             rel=1e-12, abs=1e-12)
    h = 1e-5
    for k in range(P_MAX):
        shift = np.zeros_like(beta)
        shift[:, k] = h
        up, down = efron_objective(sorted_stack, beta + shift), \
            efron_objective(sorted_stack, beta - shift)
        np.testing.assert_allclose(at.score[:, k], (up.loglik - down.loglik) / (2 * h),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(at.information[:, :, k],
                                   -(up.score - down.score) / (2 * h), rtol=1e-6, atol=1e-6)
    assert (at.score[~active] == 0).all()


def test_step_halving_pulls_a_worse_trial_halfway_back_and_gives_up_in_the_end():
    # Three cohorts at beta = 0 with log-likelihood -10, trial points at 1: a higher
    # log-likelihood is accepted, a lower one or NaN halves the step towards beta.
    active = np.ones((3, 1), dtype=bool)
    state = _NewtonState.start(active, deaths=np.array([5, 5, 5]))
    state.loglik[:] = -10.0
    state.trial[:] = 1.0
    cohorts = np.arange(3)
    better, gain = _halve_rejected(state, cohorts, np.array([-9.0, -11.0, np.nan]))
    assert better.tolist() == [True, False, False] and gain.tolist() == [1.0]
    assert state.trial[:, 0].tolist() == [1.0, 0.5, 0.5]
    assert state.halvings.tolist() == [0, 1, 1] and state.running.all()
    for _ in range(MAX_HALVINGS):
        _halve_rejected(state, cohorts[1:], np.array([-11.0, -11.0]))
    assert state.running.tolist() == [True, False, False]
    assert state.trial[1, 0] == 0.5 ** (MAX_HALVINGS + 1)


# ---------------------------------------------------------------------------------------
# Constructed separation
# ---------------------------------------------------------------------------------------

def _base_cohort(n: int = 40, seed: int = 11):
    rng = np.random.default_rng(seed)
    T = np.round(rng.exponential(10, n), 1) + 0.1
    E = rng.random(n) < 0.7
    z = rng.normal(size=n)
    return T, E, z


def _cohort_with_a_deathless_group():
    """The base cohort with a group of six (indicator ``group``) none of whom dies."""
    T, E, z = _base_cohort()
    group = np.zeros(len(T))
    group[:6] = 1
    E = E.copy()
    E[:6] = False
    return T, E, group, z


def test_a_group_without_deaths_runs_off_to_minus_infinity():
    T, E, group, z = _cohort_with_a_deathless_group()
    fit = cox_fit(T, E, np.column_stack([group, z]))
    assert fit.separated[0].tolist() == [True, False]
    assert fit.coef[0, 0] < -10 and np.isnan(fit.se[0, 0])
    assert fit.converged[0] and not fit.finite[0]
    # the other coefficient is estimated at the limit: as in the model fitted to the
    # patients outside the group alone (the group drops out of every risk set)
    outside = cox_fit(T[6:], E[6:], z[6:])
    assert fit.coef[0, 1] == pytest.approx(outside.coef[0, 0], abs=1e-6)
    assert fit.se[0, 1] == pytest.approx(outside.se[0, 0], rel=1e-5)


def test_a_group_dying_first_runs_off_to_plus_infinity():
    T, E, z = _base_cohort()
    group = np.zeros(40)
    group[:5] = 1
    T = T.copy()
    E = E.copy()
    T[:5] = np.array([0.01, 0.02, 0.02, 0.03, 0.05])
    E[:5] = True
    fit = cox_fit(T, E, np.column_stack([z, group]))
    assert fit.separated[0].tolist() == [False, True]
    assert fit.coef[0, 1] > 10


def test_deaths_in_a_group_after_the_other_group_left_are_still_separation():
    # Risk-set sense: group 1 has deaths, but only once nobody of group 0 is at risk.
    T = np.arange(1.0, 21.0)
    E = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1], dtype=bool)
    group = (T > 15).astype(float)          # group 1 enters deaths only after t = 15
    fit = cox_fit(T, E, group)
    assert fit.separated[0, 0] and fit.coef[0, 0] < -10


def test_separation_along_a_combination_of_two_covariates():
    # Neither x1 nor x2 alone orders the deaths, but their sum s does: s = 1 for the
    # first six patients, 0 after, deaths at t = 1, 4, 8, 13, so every death has the
    # largest s of its risk set (strictly larger than some: the death at t = 1). Ties
    # in s within risk sets pin x3: tilting the direction towards +-x3 breaks the
    # ordering, so x3 keeps a finite estimate.
    rng = np.random.default_rng(8)
    n = 30
    T = np.arange(1.0, n + 1)
    E = np.zeros(n, dtype=bool)
    E[[0, 3, 7, 12]] = True
    s = (T <= 6).astype(float)
    x1 = rng.normal(size=n) * 5
    x2 = s - x1
    x3 = rng.normal(size=n)
    X = np.column_stack([x1, x2, x3])
    fit = cox_fit(T, E, X)
    assert fit.separated[0].tolist() == [True, True, False]
    assert fit.converged[0] and not fit.finite[0]
    assert np.isfinite(fit.se[0, 2])
    np.testing.assert_array_equal(monotone_directions(T, E, X), [1.0, 1.0, 0.0])
    assert fit.coef[0, :2].tolist() == [np.inf, np.inf]
    # If every death is strictly ahead of its whole risk set, any direction near the
    # separating one also separates, and every coefficient runs off.
    strict = cox_fit(T, E, np.column_stack([x1, -T - x1, x3]))
    assert strict.separated[0].all()


def test_a_nearly_separated_group_with_a_finite_maximum_is_not_flagged():
    T, E, group, z = _cohort_with_a_deathless_group()
    E[0] = True
    T = T.copy()
    T[0] = np.median(T)                      # one group death, mid-way: others at risk
    fit = cox_fit(T, E, np.column_stack([group, z]))
    assert not fit.separated[0].any() and fit.finite[0]
    ref = cox_fit_lifelines(T, E, np.column_stack([group, z]))
    assert ref.converged[0]
    np.testing.assert_allclose(fit.coef, ref.coef, rtol=1e-6)


def test_two_groups_without_deaths_both_run_off_to_minus_infinity():
    # Deaths only among patients in neither group; patients of group 1 only and of group
    # 2 only are at risk at the first death, so each coefficient must go to -inf.
    T = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    E = np.array([1, 0, 0, 1, 0, 1, 0, 0], dtype=bool)
    X = np.array([[0, 0], [1, 0], [0, 1], [0, 0], [1, 0], [0, 0], [0, 1], [0, 0]], float)
    fit = cox_fit(T, E, X)
    assert fit.separated[0].tolist() == [True, True] and fit.converged[0]
    assert fit.coef[0].tolist() == [-np.inf, -np.inf]
    np.testing.assert_array_equal(monotone_directions(T, E, X), [-1.0, -1.0])


#: One death (t = 1) with x = (1, 1); at risk with it (0, 0), (1, 1) and (1, 0). The
#: likelihood rises without bound along +x2 and, with x2 running off, along x1 either
#: way: l = -log(2 + exp(-b1 - b2) + exp(-b2)) tends to -log 2 whatever b1 is.
NESTED = (np.array([1.0, 2, 2, 2]), np.array([1, 0, 0, 0], dtype=bool),
          np.array([[1.0, 1], [0, 0], [1, 1], [1, 0]]))


def test_a_coefficient_whose_direction_is_not_determined_is_nan_in_every_row_order():
    # R (survival 3.x): coxph(Surv(t, e) ~ x1 + x2) stops with "Ran out of iterations and
    # did not converge" at x1 = 1.05e-7, x2 = 21.2; this engine once gave x1 = +3.9e-8 or
    # -7.5e-8 depending on the row order. Nobody at risk with the death differs from it
    # in x1 alone, so the data say nothing about x1's direction; x2's is +.
    T, E, X = NESTED
    np.testing.assert_array_equal(monotone_directions(T, E, X), [np.nan, 1.0])
    for order in itertools.permutations(range(4)):
        fit = cox_fit(T[list(order)], E[list(order)], X[list(order)])
        assert fit.separated[0].tolist() == [True, True] and fit.converged[0]
        np.testing.assert_array_equal(fit.coef[0], [np.nan, np.inf])
        assert np.isnan(fit.se[0]).all() and np.isnan(fit.p[0]).all()
    # Turning a covariate turns its direction; adding a patient who differs from the
    # death in x1 alone determines x1's direction.
    np.testing.assert_array_equal(cox_fit(T, E, X * [1, -1]).coef[0], [np.nan, -np.inf])
    more = cox_fit(np.append(T, 2), np.append(E, False), np.vstack([X, [0, 1]]))
    np.testing.assert_array_equal(more.coef[0], [np.inf, np.inf])

# ---------------------------------------------------------------------------------------
# Bad cohorts are flagged, never raised
# ---------------------------------------------------------------------------------------

def test_bad_cohorts_in_a_stack_get_flags_and_nan_estimates():
    rng = np.random.default_rng(2)
    B, n = 5, 30
    T = rng.exponential(1, (B, n))
    E = rng.random((B, n)) < 0.6
    X = rng.normal(size=(B, n, 2))
    E[1] = False                                   # no deaths
    X[2, :, 1] = 3.0                               # constant covariate
    X[3, :, 1] = 2 * X[3, :, 0] + 1                # collinear covariates
    mask = np.ones((B, n), dtype=bool)
    mask[4, 1:] = False                            # a single patient
    E[4, 0] = True
    fit = cox_fit(T, E, X, mask)
    assert fit.converged.tolist() == [True, False, False, False, False]
    assert np.isfinite(fit.coef[0]).all()
    assert np.isnan(fit.coef[1:]).all() and np.isnan(fit.se[1:]).all()
    assert np.isnan(fit.loglik[1])
    assert fit.events.tolist()[1] == 0 and fit.n.tolist()[4] == 1
    assert not fit.separated.any()


def test_information_zero_up_to_round_off_is_singular_whatever_the_scale_and_origin():
    # The only death's risk set (t = 2) holds one value of x: the information is exactly
    # 0. Computed, it came out at 1e-17 for x = 0, 0, 1, 1, 1 and passed the old pivot
    # test (relative to itself): converged, coef 0, se 1.9e8. R's coxph gives NA.
    T, E = [1, 1, 2, 2, 2], [0, 0, 0, 0, 1]
    x = np.array([0.0, 0, 1, 1, 1])
    for a, c in [(1, 0), (-1, -1), (3.7, 0.1), (1e-3, 1e6), (-1e5, 17.3)]:
        fit = cox_fit(T, E, a * x + c)
        assert not fit.converged[0], (a, c)
        assert np.isnan(fit.coef[0, 0]) and np.isnan(fit.se[0, 0])


def test_covariates_constant_within_every_risk_set_are_singular_and_others_are_not():
    # 300 cohorts of 58 whose covariate is constant (at a random level and scale) among
    # everyone at risk at or after the first death: all singular. The old pivot test
    # called about a quarter of such cohorts converged. Adding a real covariate that
    # varies (scaled by 1e-4 and shifted by 1e4) is fitted as usual.
    rng = np.random.default_rng(41)
    B, n = 300, 58
    T = rng.integers(1, 50, (B, n)).astype(float)
    first = rng.integers(5, 40, (B, 1))
    E = (T >= first) & (rng.random((B, n)) < 0.5)
    E[:, 0], T[:, 0] = True, 50.0                    # at least one death
    level = rng.normal(size=(B, 1)) * 10.0 ** rng.integers(-3, 4, (B, 1))
    x = np.where(T >= first, level, rng.normal(size=(B, n)))
    fit = cox_fit(T, E, x)
    assert not fit.converged.any() and np.isnan(fit.coef).all()
    z = rng.normal(size=(B, n))
    fine = cox_fit(T, E, z)
    shifted = cox_fit(T, E, 1e-4 * z + 1e4)
    assert fine.converged.all() and shifted.converged.all()
    np.testing.assert_allclose(shifted.coef, fine.coef * 1e4, rtol=1e-5)

def test_empty_stacks_give_empty_or_blank_fits():
    none = cox_fit(np.zeros((0, 5)), np.zeros((0, 5), dtype=bool), np.zeros((0, 5, 2)))
    assert none.coef.shape == (0, 2) and none.converged.shape == (0,)
    rowless = cox_fit(np.zeros((3, 0)), np.zeros((3, 0), dtype=bool), np.zeros((3, 0, 2)))
    assert np.isnan(rowless.coef).all() and not rowless.converged.any()
    assert rowless.n.tolist() == [0, 0, 0]


def test_no_active_covariate_gives_the_null_log_likelihood():
    T = np.array([1.0, 2, 2, 3, 4, 5])
    E = np.array([1, 1, 1, 0, 1, 0])
    fit = cox_fit(T, E, np.zeros((6, 1)), active=np.array([False]))
    # null Efron log-likelihood: -log 6 - log 5 - log 4 - log 2
    assert fit.loglik[0] == pytest.approx(-math.log(6 * 5 * 4 * 2))
    assert fit.converged[0] and fit.coef[0, 0] == 0.0 and np.isnan(fit.se[0, 0])


# ---------------------------------------------------------------------------------------
# Shapes and masks (row order, stack position and chunking: test_stats_properties.py)
# ---------------------------------------------------------------------------------------

def test_single_cohort_inputs_give_a_stack_of_one():
    T, E, z = _base_cohort()
    one = cox_fit(T, E, z)
    two = cox_fit(T, E, z[:, None])
    stacked = cox_fit(T[None], E[None], z[None, :, None])
    assert isinstance(one, CoxFit) and len(one) == 1 and one.coef.shape == (1, 1)
    for other in (two, stacked):
        np.testing.assert_array_equal(one.coef, other.coef)
        np.testing.assert_array_equal(one.se, other.se)


def test_masked_rows_and_inactive_covariates_are_left_out():
    rng = np.random.default_rng(4)
    T = rng.exponential(1, 60)
    E = rng.random(60) < 0.7
    X = rng.normal(size=(60, 3))
    keep = rng.random(60) < 0.7
    active = np.array([True, False, True])
    fit = cox_fit(T, E, X, keep, active)
    alone = cox_fit(T[keep], E[keep], X[keep][:, [0, 2]])
    np.testing.assert_allclose(fit.coef[0, [0, 2]], alone.coef[0], rtol=1e-12)
    np.testing.assert_allclose(fit.se[0, [0, 2]], alone.se[0], rtol=1e-12)
    assert fit.coef[0, 1] == 0.0 and np.isnan(fit.se[0, 1]) and fit.n[0] == keep.sum()


def test_event_may_be_bool_or_zero_one():
    T, E, z = _base_cohort()
    a = cox_fit(T, E, z)
    b = cox_fit(T, E.astype(int), z)
    np.testing.assert_array_equal(a.coef, b.coef)


# ---------------------------------------------------------------------------------------
# Bad input: clear errors naming the argument
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, field, text", [
    ((np.ones(5), np.ones(5), np.ones((4, 1))), "X", "shape"),
    ((np.ones(5), np.ones(4), np.ones(5)), "event", "shape of time"),
    ((np.ones(5), np.array([0, 1, 2, 1, 0]), np.ones(5)), "event", "got 2"),
    ((np.array([1.0, np.nan, 2, 3, 4]), np.ones(5), np.ones(5)), "time", "finite"),
    ((np.ones(5), np.ones(5), np.array([1.0, 2, np.inf, 3, 4])), "X", "finite"),
    ((np.ones((2, 2, 2)), np.ones((2, 2)), np.ones((2, 2, 2))), "time", "shape"),
])
def test_bad_input_names_the_argument(args, field, text):
    with pytest.raises(InputError, match=text) as caught:
        cox_fit(*args)
    assert caught.value.field == field


@pytest.mark.parametrize("change, reason", [
    (lambda T, E: (T[:, :-1], E[:, :-1]), "shape"),
    (lambda T, E: (T, 1 - E), "other rows enter or die"),
    (lambda T, E: (T[:, ::-1], E), "order"),
])
def test_risk_sets_of_other_cohorts_are_refused(change, reason):
    rng = np.random.default_rng(4)
    T = rng.permutation(np.arange(1.0, 21.0))[None, :].repeat(2, axis=0)
    E = (rng.random((2, 20)) < 0.7).astype(int)
    sets = risk_sets_of(*change(T, E))
    with pytest.raises(InputError, match=reason) as caught:
        cox_fit(T, E, rng.random((2, 20)), risk_sets=sets)
    assert caught.value.field == "risk_sets"


def test_bad_mask_and_active_are_rejected():
    T, E, z = _base_cohort()
    with pytest.raises(InputError, match="mask must be a bool array") as caught:
        cox_fit(T, E, z, mask=np.ones(40))
    assert caught.value.field == "mask"
    with pytest.raises(InputError, match="active must be a bool array"):
        cox_fit(T, E, z, active=np.ones(2, dtype=bool))


def test_masked_out_rows_and_inactive_covariates_may_hold_nan():
    T, E, z = _base_cohort()
    T = T.copy()
    T[3] = np.nan
    X = np.column_stack([z, np.full(40, np.nan)])
    X[7, 0] = np.nan
    keep = np.isfinite(T) & np.isfinite(X[:, 0])
    fit = cox_fit(T, E, X, mask=keep, active=np.array([True, False]))
    alone = cox_fit(T[keep], E[keep], z[keep])
    np.testing.assert_allclose(fit.coef[0, 0], alone.coef[0, 0], rtol=1e-12)
    np.testing.assert_allclose(fit.se[0, 0], alone.se[0, 0], rtol=1e-12)
    ref = cox_fit_lifelines(T, E, X, mask=keep, active=np.array([True, False]))
    np.testing.assert_allclose(ref.coef[0, 0], alone.coef[0, 0], rtol=1e-6)
