"""The maximally selected log-rank statistic (simulation.stats.maxstat), without R.

References: log-rank scores and p-values worked by hand from their formulas
(Hothorn & Lausen 2003; Lausen & Schumacher 1992; Lausen, Sauerbrei & Schumacher 1994);
the permutation mean and variance checked by enumerating every low group of small
cohorts. The comparison with R's maxstat.test itself is in test_r_maxstat.py.
"""

import itertools
import math

import numpy as np
import pytest

from simulation.stats.maxstat import (
    candidate_window,
    cutoff_candidates,
    logrank_scores,
    maxstat_test,
    p_lausen92,
    p_lausen94,
)


def test_logrank_scores_worked_by_hand_with_a_tie() -> None:
    """Times 1, 2, 2, 3 with events 1, 1, 0, 1 (N = 4).

    gamma (times <= t): 1, 3, 3, 4; the deaths add 1/(N - gamma + 1): 1/4 at t = 1,
    1/2 at t = 2 (one death in the tie), 1 at t = 3, so the cumulative sums are 1/4, 3/4,
    3/4, 7/4 and the scores 3/4, 1/4, -3/4, -3/4.
    """
    scores = logrank_scores([1.0, 2.0, 2.0, 3.0], [1, 1, 0, 1])
    assert scores.tolist() == pytest.approx([0.75, 0.25, -0.75, -0.75], abs=1e-15)
    # Row order does not matter.
    shuffled = logrank_scores([3.0, 2.0, 1.0, 2.0], [1, 0, 1, 1])
    assert shuffled.tolist() == pytest.approx([-0.75, -0.75, 0.75, 0.25], abs=1e-15)


def test_lausen92_worked_values() -> None:
    # numerics.md ("about 0.49") / Lausen & Schumacher 1992, e1 = 0.1, e2 = 0.9, b = 1.96:
    # phi(1.96) = 0.0584409; 4 phi(b)/b = 0.1192671; phi(b) (b - 1/b) ln 81
    # = 0.0584409 * 1.4497959 * 4.3944492 = 0.3723306; total 0.4915977.
    assert float(p_lausen92(1.96)) == pytest.approx(0.4915977, abs=1e-6)
    p = p_lausen92(np.array([0.5, 2.0, 3.0, 4.0, np.nan]))
    assert p[0] == 1.0                                  # b < 1: no content, p = 1
    # b = 2: phi(2) = 0.0539910; 4 phi/b = 0.1079819; phi (b - 1/b) ln 81
    # = 0.0539910 * 1.5 * 4.3944492 = 0.3558909; total 0.4638728.
    assert p[1] == pytest.approx(0.4638728, abs=1e-6)
    assert p[1] > p[2] > p[3] > 0                        # decreasing in b
    assert np.isnan(p[4])


def test_lausen94_worked_value() -> None:
    """b = 3, N = 50, splits m = 10, 20, 30, 40.

    m1 (N - m2) / ((N - m1) m2) = 3/8, 4/9, 3/8, so t = 0.7905694, 0.7453560, 0.7905694;
    exp(-4.5)/pi = 0.0035361; (b^2/4 - 1)/6 = 0.2083333; t - 0.2083333 t^3 = 0.6876307,
    0.6590879, 0.6876307; their sum x 0.0035361 = 0.0071937; 2 (1 - Phi(3)) = 0.0026998;
    p = 0.0098935 (R: maxstat:::pLausen94(3, 50, m = c(10, 20, 30, 40)) = 0.009893466).
    """
    m = np.array([[10, 20, 30, 40]])
    assert float(p_lausen94(3.0, 50, m, m > 0)[0]) == pytest.approx(0.0098935, abs=1e-7)
    # One split: no correction, the two-sided normal p.
    one = p_lausen94(np.array([1.959964]), 50, np.array([[25, 0]]),
                     np.array([[True, False]]))
    assert float(one[0]) == pytest.approx(0.05, abs=1e-6)
    # Capped at 1 where the sum overshoots (R leaves it above 1).
    assert float(p_lausen94(0.2, 50, m, m > 0)[0]) == 1.0


def test_window_follows_the_floors_of_n_times_the_proportions() -> None:
    assert candidate_window(58) == (5, 52)     # 5.8 -> 5, 52.2 -> 52
    assert candidate_window(30) == (3, 27)
    assert candidate_window(5) == (1, 4)       # floor(0.5) = 0, but at least 1
    assert candidate_window(100, 0.25, 0.75) == (25, 75)


def test_candidates_never_cut_through_ties_and_stay_in_the_window() -> None:
    rng = np.random.default_rng(3)
    marker = np.round(rng.normal(45, 4, (50, 40)))          # heavy ties
    c = cutoff_candidates(marker)
    lowest, highest = candidate_window(40)
    for b in range(50):
        expected = [m for m in range(lowest, highest + 1)
                    if np.sort(marker[b])[m - 1] < np.sort(marker[b])[m]]
        assert c.low_count[b, c.valid[b]].tolist() == expected
        for k in np.flatnonzero(c.valid[b]):
            low = marker[b] < c.cutoff[b, k]
            assert low.sum() == c.low_count[b, k]
            assert marker[b][low].max() == c.low_max[b, k] < c.cutoff[b, k]
            assert marker[b][~low].min() == c.high_min[b, k] > c.cutoff[b, k]
        assert np.isnan(c.cutoff[b, ~c.valid[b]]).all()


def permutation_moments(scores: np.ndarray, m: int) -> tuple[float, float]:
    """Mean and variance of the sum of a random m-subset of the scores, by enumeration."""
    sums = np.array([scores[list(s)].sum()
                     for s in itertools.combinations(range(scores.size), m)])
    return float(sums.mean()), float(sums.var())


def test_statistic_is_standardised_by_the_enumerated_permutation_moments() -> None:
    rng = np.random.default_rng(8)
    for _ in range(20):
        n = int(rng.integers(6, 11))
        time = rng.integers(1, 6, n).astype(float)            # ties in time
        event = (rng.random(n) < 0.7).astype(float)
        event[0] = 1.0
        marker = rng.integers(0, 5, n).astype(float)           # ties in the marker
        r = maxstat_test(time, event, marker, 0.1, 0.9)
        scores = logrank_scores(time, event)
        for k in np.flatnonzero(r.candidates.valid[0]):
            m = int(r.candidates.low_count[0, k])
            low = marker < r.candidates.cutoff[0, k]
            mean, variance = permutation_moments(scores, m)
            if variance < 1e-12:
                continue
            direct = (scores[low].sum() - mean) / math.sqrt(variance)
            assert r.statistics[0, k] == pytest.approx(direct, abs=1e-10)
        finite = np.isfinite(r.statistics[0])
        if finite.any():
            best = int(np.flatnonzero(np.abs(r.statistics[0]) == np.nanmax(
                np.abs(r.statistics[0])))[0])
            assert int(r.index) == best                         # first maximum wins
            assert float(r.statistic) == pytest.approx(abs(r.statistics[0, best]))


def test_stack_equals_one_cohort_at_a_time_and_chosen_split_is_consistent() -> None:
    rng = np.random.default_rng(12)
    B, n = 30, 58
    time = np.round(rng.exponential(6, (B, n)), 1)
    event = (rng.random((B, n)) < 0.7).astype(float)
    marker = np.round(rng.normal(45, 6, (B, n)) * 20) / 20
    stacked = maxstat_test(time, event, marker, p_method="Lau94")
    for b in range(B):
        one = maxstat_test(time[b], event[b], marker[b], p_method="Lau94")
        for name in ("statistic", "p", "cutoff", "low_max", "high_min", "low_count"):
            assert getattr(stacked, name)[b] == pytest.approx(float(getattr(one, name)),
                                                              rel=1e-12), name
        low = marker[b] < stacked.cutoff[b]
        assert low.sum() == stacked.low_count[b]
        assert marker[b][low].max() == stacked.low_max[b]
        assert marker[b][~low].min() == stacked.high_min[b]


def test_undefined_cases_give_nan_not_errors() -> None:
    time = np.arange(1.0, 11.0)
    no_deaths = maxstat_test(time, np.zeros(10), np.arange(10.0))
    constant_marker = maxstat_test(time, np.ones(10), np.full(10, 40.0))
    for r in (no_deaths, constant_marker):
        assert np.isnan(r.statistic) and np.isnan(r.p) and np.isnan(r.cutoff)
        assert int(r.low_count) == 0
    with pytest.raises(ValueError, match="p_method must be one of Lau92, Lau94"):
        maxstat_test(time, np.ones(10), np.arange(10.0), p_method="HL")
    with pytest.raises(ValueError, match="complete cohorts"):
        maxstat_test(time, np.ones(10), np.r_[np.arange(9.0), np.nan])
