"""Kaplan-Meier medians and their two intervals (simulation.stats.km).

References: lifelines 0.30 ``KaplanMeierFitter`` (median and
``median_survival_times(confidence_interval_)``, log-log band), R survival
``quantile.survfit`` (midpoint rule, band undefined where S = 0), and Collett (2015)
section 2.4 for the symmetric interval, worked by hand below.
"""

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from calculator.published import Z95
from simulation.stats.km import TOLERANCE, km_curve, km_median


def random_cohorts(seed: int, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Small cohorts with heavy ties (times rounded to whole or tenth months)."""
    rng = np.random.default_rng(seed)
    cohorts = []
    for _ in range(count):
        n = int(rng.integers(2, 70))
        time = np.maximum(np.round(rng.exponential(8.0, n), int(rng.integers(0, 2))), 0.1)
        event = (rng.random(n) < rng.uniform(0.2, 1.0)).astype(float)
        cohorts.append((time, event))
    return cohorts


def lifelines_median(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, KaplanMeierFitter]:
    kmf = KaplanMeierFitter().fit(time, event)
    values = np.array([kmf.median_survival_time_,
                       *median_survival_times(kmf.confidence_interval_).to_numpy()[0]])
    values[~np.isfinite(values)] = np.nan
    return values, kmf


def test_agrees_with_lifelines_except_where_r_conventions_differ() -> None:
    """Median and log-log CI equal lifelines' exactly on 250 tied cohorts, except in the
    two documented cases, each checked to be that case:

    1. the curve sits at 0.5 (within R's tolerance): ours is the midpoint of the flat;
    2. a band reaches 0.5 only where S = 0: lifelines sets the band to 0 there (limit =
       the time of the last death), R leaves it undefined (ours: NaN, an open limit).
    """
    cohorts = random_cohorts(seed=20250101, count=250)
    agree = midpoint = open_limit = 0
    for time, event in cohorts:
        ours = km_median(time, event)
        mine = np.array([float(ours.median), *ours.ci.tolist()])
        theirs, kmf = lifelines_median(time, event)
        curve = kmf.survival_function_.iloc[:, 0]
        flat_at_half = curve.index[np.abs(curve.to_numpy() - 0.5) < TOLERANCE]
        all_dead_at = curve.index[curve.to_numpy() == 0]
        for k in range(3):
            if np.array_equal(mine[k], theirs[k], equal_nan=True):
                agree += 1
            elif k == 0 and len(flat_at_half):
                t1 = flat_at_half[0]
                below = curve.index[curve.to_numpy() < 0.5 - TOLERANCE]
                t2 = below[0] if len(below) else time.max()  # flat to the end: last time
                assert mine[0] == pytest.approx((t1 + t2) / 2, abs=1e-12)
                midpoint += 1
            else:
                assert k > 0 and np.isnan(mine[k]) and theirs[k] == all_dead_at[0]
                open_limit += 1
    assert agree + midpoint + open_limit == 3 * len(cohorts)
    assert agree > 0.8 * 3 * len(cohorts)
    assert midpoint > 0 and open_limit > 0  # both conventions were exercised


def test_mask_and_missing_rows_are_left_out() -> None:
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan, 6.0])
    event = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, np.nan])
    mask = np.array([True, True, True, True, True, True, True])
    masked = km_median(time, event, mask)
    plain = km_median(time[:5], event[:5])
    assert int(masked.n) == 5 and int(masked.events) == 4
    np.testing.assert_array_equal(masked.ci, plain.ci)
    only_two = km_median(time, event, np.array([True, False, True, False, False, False, False]))
    # deaths at 1 and 3: S = 0.5 over [1, 3), so the median is their midpoint
    assert int(only_two.n) == 2 and float(only_two.median) == 2.0


def test_r_midpoint_rule_numerics_example() -> None:
    """numerics.md: on 58 patients with S = 0.5 over [2.0, 2.1), R reports 2.05 and
    lifelines 2.1 (its float S is 0.5000000000000002 there)."""
    time = np.concatenate([np.linspace(1.0, 2.0, 29), [2.1], np.full(28, 9.0)])
    event = np.concatenate([np.ones(30), np.zeros(28)])
    theirs, _ = lifelines_median(time, event)
    assert theirs[0] == 2.1
    assert float(km_median(time, event).median) == pytest.approx(2.05, abs=1e-12)


def test_curve_ending_on_half_takes_the_midpoint_to_the_last_time() -> None:
    # S = 0.5 from t = 2 to the last (censored) time 4: R gives (2 + 4) / 2.
    r = km_median([1, 2, 3, 4], [1, 1, 0, 0])
    assert float(r.median) == 3.0


def test_collett_standard_error_worked_by_hand_with_ties() -> None:
    """Ten patients, two deaths tied at t = 2, censored at 4, 7 and 9.

    t:  1    2 (2 deaths)  3    5     6     8
    n:  10   9             7    5     4     2
    S:  .9   .7            .6   .48   .36   .18

    Median 5 (first S <= 0.5). Greenwood sum to 5: 1/90 + 2/63 + 1/42 + 1/20 = 7/60, so
    se(S(5)) = 0.48 sqrt(7/60). u = 3 (last S >= 0.55, S = .6), l = 6 (first S <= 0.45,
    S = .36): f = (.6 - .36) / (6 - 3) = 0.08, se = 0.48 sqrt(7/60) / 0.08 = sqrt(4.2).
    """
    time = [1, 2, 2, 3, 4, 5, 6, 7, 8, 9]
    event = [1, 1, 1, 1, 0, 1, 1, 0, 1, 0]
    r = km_median(time, event)
    se = math.sqrt(4.2)
    assert float(r.median) == 5.0
    assert float(r.se) == pytest.approx(se, rel=1e-12)
    np.testing.assert_allclose(r.ci_symmetric, [5 - Z95 * se, 5 + Z95 * se], rtol=1e-12)
    assert int(r.n) == 10 and int(r.events) == 7


def test_collett_uses_the_origin_when_no_event_time_is_above_055() -> None:
    # Two deaths at t = 1 among 4: S drops from 1 to 0.5, then 0 at t = 3 (all dead).
    # u is the origin (0, S = 1); l = 3 (S = 0): f = 1/3. se(S) at the median (the 0.5
    # level, Greenwood 2/(4*2) = 1/4) is 0.5 * 0.5 = 0.25, so se = 0.75.
    r = km_median([1, 1, 3, 3], [1, 1, 1, 1])
    assert float(r.median) == 2.0  # midpoint of the flat at 0.5 over [1, 3)
    assert float(r.se) == pytest.approx(0.75, rel=1e-12)



def test_collett_interval_is_the_plain_formula_even_below_zero() -> None:
    # Deaths at 1 and 10 among 3, censored at 20: S = 2/3, then 1/3, so the median is 10.
    # Greenwood 1/(3*2) + 1/(2*1) = 2/3, se(S) = (1/3) sqrt(2/3); u = 1, l = 10:
    # f = (1/3) / 9, se = 9 sqrt(2/3) = 7.35. The contract's interval is median -+ 1.96 se
    # as computed, so its lower limit is -4.4 (a sign of how little 3 patients tell).
    r = km_median([1, 10, 20], [1, 1, 0])
    se = 9 * math.sqrt(2 / 3)
    assert float(r.se) == pytest.approx(se, rel=1e-12)
    np.testing.assert_allclose(r.ci_symmetric, [10 - Z95 * se, 10 + Z95 * se], rtol=1e-12)
    assert r.ci_symmetric[0] < 0

def test_not_reached_and_empty_groups_are_nan_not_errors() -> None:
    r = km_median(np.array([[1.0, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]),
                  np.array([[0.0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]]),
                  np.array([[True] * 4, [True] * 4, [False] * 4]))
    assert np.isnan(r.median).tolist() == [True, True, True]
    assert r.reached.tolist() == [False, False, False]
    assert np.isnan(r.ci_symmetric).all() and np.isnan(r.se).all()
    # No death: no interval. One death in four (S = .75): the lower band already falls
    # below 0.5 at t = 1, so the interval is [1, open), as R prints it.
    assert np.isnan(r.ci[[0, 2]]).all()
    assert r.ci[1, 0] == 1.0 and np.isnan(r.ci[1, 1])
    assert r.n.tolist() == [4, 4, 0] and r.events.tolist() == [0, 1, 0]


def test_band_undefined_where_everyone_has_died() -> None:
    # Three patients, all die: S = 2/3, 1/3, 0. The upper band is still above 0.5 at
    # t = 2 and undefined at t = 3 (S = 0), so the upper limit is open (R: NA).
    r = km_median([1, 2, 3], [1, 1, 1])
    theirs, _ = lifelines_median(np.array([1.0, 2, 3]), np.array([1.0, 1, 1]))
    assert float(r.median) == 2.0 and theirs[0] == 2.0
    assert np.isnan(r.ci[1]) and theirs[2] == 3.0


def test_km_curve_matches_lifelines_survival_function() -> None:
    time, event = random_cohorts(seed=3, count=1)[0]
    curve = km_curve(time, event)
    kmf = KaplanMeierFitter().fit(time, event)
    expected = kmf.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(curve.survival, expected.loc[curve.time].to_numpy(), rtol=1e-12)
    assert curve.time[0] == 0.0 and curve.survival[0] == 1.0
    with pytest.raises(ValueError, match="one cohort"):
        km_curve(np.ones((2, 3)), np.ones((2, 3)))
