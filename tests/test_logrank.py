"""The two-group log-rank test (simulation.stats.logrank).

Reference: lifelines 0.30 ``statistics.logrank_test``; a 4-patient example worked by
hand from the Mantel-Haenszel formulas; R's ``survdiff`` in ``test_r_survival.py``;
invariance properties in ``test_stats_properties.py``.
"""

import numpy as np
import pytest
from lifelines.statistics import logrank_test as lifelines_logrank

from simulation.stats.logrank import logrank_test
from simulation.stats.reference import logrank_test_lifelines


def tied_stack(seed: int, cohorts: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    time = np.round(rng.exponential(8.0, (cohorts, n)), 1)  # heavy ties
    event = (rng.random((cohorts, n)) < rng.uniform(0.3, 1.0, (cohorts, 1))).astype(float)
    group = (rng.random((cohorts, n)) < rng.uniform(0.05, 0.6, (cohorts, 1))).astype(float)
    mask = rng.random((cohorts, n)) < 0.9
    return time, event, group, mask


def test_agrees_with_lifelines_within_1e9() -> None:
    time, event, group, mask = tied_stack(seed=11, cohorts=150, n=58)
    ours = logrank_test(time, event, group, mask)
    undefined = 0
    for b in range(time.shape[0]):
        one, zero = mask[b] & (group[b] == 1), mask[b] & (group[b] == 0)
        ref = lifelines_logrank(time[b, one], time[b, zero], event[b, one], event[b, zero])
        if ours.variance[b] == 0:
            # No information (e.g. the only patient of a group censored before the first
            # death): U = V = 0. lifelines prints chi2 0, p 1; ours is undefined (NaN).
            assert np.isnan(ours.chi2[b]) and ref.test_statistic == 0
            undefined += 1
            continue
        assert ours.chi2[b] == pytest.approx(ref.test_statistic, abs=1e-9, rel=1e-9)
        assert ours.p[b] == pytest.approx(ref.p_value, abs=1e-9, rel=1e-9)
        assert ours.n[b].tolist() == [int(zero.sum()), int(one.sum())]
        assert ours.events[b].tolist() == [int(event[b, zero].sum()), int(event[b, one].sum())]
    assert undefined < 5


def test_reference_wrapper_matches_the_fast_test() -> None:
    time, event, group, mask = tied_stack(seed=12, cohorts=40, n=30)
    fast = logrank_test(time, event, group, mask)
    ref = logrank_test_lifelines(time, event, group, mask)
    np.testing.assert_allclose(ref.chi2, fast.chi2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref.z, fast.z, rtol=1e-9, atol=1e-12)


def test_worked_example_by_hand() -> None:
    """Deaths at 1, 2, 3, 4; group 1 = the first two.

    t=1: n=4, n1=2, d=1: E1 = 1/2, V = 2*2*1*3 / (16*3) = 1/4
    t=2: n=3, n1=1, d=1: E1 = 1/3, V = 1*2*1*2 / (9*2) = 2/9
    t=3, 4: group 1 no longer at risk.
    O1 = 2, E1 = 5/6, U = 7/6, V = 17/36: chi2 = (49/36) / (17/36) = 49/17.
    """
    r = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], [1, 1, 0, 0])
    assert float(r.chi2) == pytest.approx(49 / 17, rel=1e-14)
    assert float(r.z) == pytest.approx(7 / 6 / np.sqrt(17 / 36), rel=1e-14)
    assert float(r.observed) == 2 and float(r.expected) == pytest.approx(5 / 6)
    # Swapping the groups flips the sign of z only.
    swapped = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], [0, 0, 1, 1])
    assert float(swapped.z) == pytest.approx(-float(r.z)) and float(swapped.chi2) == \
        pytest.approx(float(r.chi2))


def test_ties_across_groups_use_the_hypergeometric_variance() -> None:
    # Two deaths tied at t = 1, one in each group, n = 4 (n1 = 2):
    # E1 = 2 * 2/4 = 1, V = 2*2*2*2 / (16*3) = 1/3. At t = 3 only one patient (group 0)
    # is at risk: E1 = 0 and V = 0 (n - 1 = 0 contributes nothing).
    r = logrank_test([1, 1, 2, 3], [1, 1, 0, 1], [1, 0, 1, 0])
    assert float(r.observed) == 1 and float(r.expected) == pytest.approx(1)
    assert float(r.variance) == pytest.approx(1 / 3)
    assert float(r.chi2) == 0.0


def test_undefined_tests_are_nan() -> None:
    time = np.array([[1.0, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
    event = np.array([[0.0, 0, 0, 0], [1, 1, 0, 1], [1, 1, 1, 1]])
    group = np.array([[1.0, 0, 1, 0], [1, 1, 1, 1], [1, 0, 1, np.nan]])
    r = logrank_test(time, event, group)
    assert np.isnan(r.chi2[:2]).all() and np.isnan(r.p[:2]).all()
    assert np.isfinite(r.chi2[2]) and r.n[2].tolist() == [1, 2]  # the NaN group is left out
    ref = logrank_test_lifelines(time, event, group)
    assert np.isnan(ref.chi2[:2]).all()
