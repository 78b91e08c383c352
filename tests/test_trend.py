"""The log-rank test for trend (simulation.stats.trend).

R's ``survdiff`` is the oracle in test_r_validation.py (with the two-group case checked
against the project's log-rank test there); here: a worked example by hand, invariance to
a shift and the sign of a reversal of the scores, and the batching.
"""

import numpy as np
import pytest

from simulation.stats.trend import logrank_trend


def test_worked_example_by_hand() -> None:
    """Deaths at 1, 2, 3 and 4 with scores 2, 1, 1, 0 (see the docstring): U = 11/6,
    V = 35/36, chi2 = (121/36) / (35/36) = 121/35."""
    r = logrank_trend([1, 2, 3, 4], [1, 1, 1, 1], [2, 1, 1, 0])
    assert float(r.score) == pytest.approx(11 / 6, abs=1e-14)
    assert float(r.variance) == pytest.approx(35 / 36, abs=1e-14)
    assert float(r.chi2) == pytest.approx(121 / 35, abs=1e-13)
    assert float(r.z) > 0 and int(r.n) == 4 and int(r.events) == 4


def stack(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 4, (30, 70)).astype(float)
    time = np.ceil(rng.exponential(6.0 * np.exp(-0.3 * score)))
    event = (rng.random((30, 70)) < 0.7).astype(float)
    return time, event, score


def test_shifting_the_scores_changes_nothing_and_reversing_flips_z() -> None:
    time, event, score = stack(1)
    a = logrank_trend(time, event, score)
    np.testing.assert_allclose(logrank_trend(time, event, score + 5).chi2, a.chi2, rtol=1e-12)
    np.testing.assert_allclose(logrank_trend(time, event, 3 - score).z, -a.z, rtol=1e-12)
    assert (a.z > 0).mean() > 0.8        # the data were made with higher scores dying sooner


def test_a_stack_equals_its_cohorts_and_a_mask_equals_leaving_rows_out() -> None:
    time, event, score = stack(2)
    mask = np.random.default_rng(3).random(time.shape) < 0.75
    score_missing = np.where(np.random.default_rng(4).random(time.shape) < 0.05, np.nan,
                             score)
    stacked = logrank_trend(time, event, score_missing, mask)
    for b in range(time.shape[0]):
        keep = mask[b] & np.isfinite(score_missing[b])
        alone = logrank_trend(time[b, keep], event[b, keep], score[b, keep])
        assert float(stacked.chi2[b]) == pytest.approx(float(alone.chi2), rel=1e-12)


def test_undefined_without_deaths_or_without_spread() -> None:
    assert np.isnan(logrank_trend([1, 2, 3], [0, 0, 0], [0, 1, 2]).chi2)
    assert np.isnan(logrank_trend([1, 2, 3], [1, 1, 1], [1, 1, 1]).chi2)
