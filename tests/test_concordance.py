"""Concordance indices and their IJ variance (simulation.stats.concordance).

R's ``survival::concordance`` is the oracle in test_r_validation.py; here: a worked
example by hand (counts, C and the IJ variance), the properties every C must have, and
the batching (a stack equals its cohorts one by one; a mask equals leaving rows out; the
chunking does not change a number).
"""

import numpy as np
import pytest

from simulation.stats.concordance import concordance, harrell_c, uno_c


def test_worked_example_by_hand() -> None:
    """Deaths at 1 (x 2) and 2 (x 1), censored at 2 (x 1) and 3 (x 0).

    Pairs (the death first): (1, 2d) concordant, (1, 2c) concordant, (1, 3) concordant,
    (2d, 2c) tied on x (the censoring at 2 counts as later), (2d, 3) concordant.
    N_c = 4, N_d = 0, N_t = 1, N = 5, C = 4.5 / 5 = 0.9, Somers' d = 4/5.
    Per patient (c, d, t): A (3, 0, 0), B (2, 0, 1), C (1, 0, 1), D (2, 0, 0);
    D_k = ((c - d) - 0.8 (c + d + t)) / 5 = 0.12, -0.08, -0.12, 0.08;
    Var(C) = sum D_k^2 / 4 = 0.0416 / 4 = 0.0104 (R: the same).
    """
    r = harrell_c([1, 2, 2, 3], [1, 1, 0, 0], [2, 1, 1, 0])
    assert (float(r.concordant), float(r.discordant), float(r.tied_score)) == (4, 0, 1)
    assert float(r.value) == pytest.approx(0.9, abs=1e-15)
    assert float(r.variance) == pytest.approx(0.0104, abs=1e-15)
    assert r.ci.tolist() == pytest.approx([0.9 - 1.959963984540054 * 0.0104 ** 0.5, 1.0])


def random_stack(seed: int, cohorts: int = 25, n: int = 60) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    time = np.ceil(rng.exponential(7.0, (cohorts, n)))
    event = (rng.random((cohorts, n)) < 0.7).astype(float)
    risk = np.round(rng.normal(size=(cohorts, n)), 1)
    return time, event, risk


def test_reversing_the_score_mirrors_c_and_keeps_the_variance() -> None:
    time, event, risk = random_stack(1)
    a, b = harrell_c(time, event, risk), harrell_c(time, event, -risk)
    np.testing.assert_allclose(a.value, 1 - b.value, atol=1e-14)
    np.testing.assert_allclose(a.variance, b.variance, atol=1e-15)


def test_a_monotone_transform_of_the_score_changes_nothing() -> None:
    time, event, risk = random_stack(2)
    a, b = harrell_c(time, event, risk), harrell_c(time, event, np.exp(3 * risk) + 7)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.variance, b.variance)


def test_without_censoring_uno_equals_harrell() -> None:
    time, _, risk = random_stack(3)
    event = np.ones_like(time)
    np.testing.assert_allclose(uno_c(time, event, risk, tau=1e9).value,
                               harrell_c(time, event, risk).value, atol=1e-14)


def test_uno_ignores_deaths_after_tau() -> None:
    time, event, risk = random_stack(4)
    tau = 6.0
    later = time > tau
    shuffled = np.where(later, np.random.default_rng(0).permutation(risk.ravel()).reshape(
        risk.shape), risk)
    # Scores of patients who die after tau matter only as the later patient of a pair;
    # making every death after tau censored at the same time changes no weight before tau.
    a = uno_c(time, event, risk, tau=tau)
    b = uno_c(time, np.where(later, 0.0, event), risk, tau=tau)
    assert not np.allclose(a.value, uno_c(time, event, shuffled, tau=tau).value)
    np.testing.assert_allclose(a.concordant, b.concordant, rtol=1e-12)
    np.testing.assert_allclose(a.value, b.value, atol=1e-14)


def test_a_stack_equals_its_cohorts_one_by_one_and_a_mask_equals_leaving_rows_out() -> None:
    time, event, risk = random_stack(5)
    mask = np.random.default_rng(1).random(time.shape) < 0.8
    stacked = uno_c(time, event, risk, tau=8.0, mask=mask)
    for b in range(time.shape[0]):
        m = mask[b]
        alone = uno_c(time[b, m], event[b, m], risk[b, m], tau=8.0)
        assert float(stacked.value[b]) == pytest.approx(float(alone.value), rel=1e-13)
        assert float(stacked.variance[b]) == pytest.approx(float(alone.variance), rel=1e-12)
        assert int(stacked.n[b]) == int(m.sum())


def test_missing_values_are_left_out() -> None:
    time, event, risk = random_stack(6, cohorts=1)
    risk[0, :5] = np.nan
    time[0, 5] = np.nan
    keep = np.isfinite(risk[0]) & np.isfinite(time[0])
    assert float(harrell_c(time[0], event[0], risk[0]).value) == float(
        harrell_c(time[0, keep], event[0, keep], risk[0, keep]).value)


def test_chunking_does_not_change_a_number() -> None:
    time, event, risk = random_stack(7)
    whole = concordance(time, event, risk, time_weight="n/G2", tau=10.0)
    pieces = concordance(time, event, risk, time_weight="n/G2", tau=10.0, max_cells=500)
    np.testing.assert_array_equal(whole.value, pieces.value)
    np.testing.assert_array_equal(whole.variance, pieces.variance)


def test_undefined_without_comparable_pairs() -> None:
    r = harrell_c([1.0, 2.0, 3.0], [0, 0, 0], [1.0, 2.0, 3.0])
    assert np.isnan(r.value) and np.isnan(r.se) and np.isnan(r.ci).all()
    empty = harrell_c(np.empty(0), np.empty(0), np.empty(0))
    assert np.isnan(empty.value) and int(empty.n) == 0


def test_a_constant_score_gives_one_half() -> None:
    time, event, _ = random_stack(8, cohorts=1)
    r = harrell_c(time[0], event[0], np.zeros(time.shape[1]))
    assert float(r.value) == 0.5 and float(r.variance) == 0.0


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="time_weight must be one of n, n/G2"):
        concordance([1], [1], [1], time_weight="S")
    with pytest.raises(ValueError, match="tau must be a finite time"):
        uno_c([1], [1], [1], tau=float("nan"))
