"""ROC AUC with DeLong's variance, the Youden cut-off and the ROC curve (simulation.stats.roc).

References: DeLong, DeLong & Clarke-Pearson (1988) structural components, computed by
brute force below; worked examples by hand with exact fractions; scipy's Mann-Whitney U
(AUC = U / (m k)).
"""

from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from calculator.published import Z95
from simulation.stats.roc import midranks, roc_auc, roc_curve, youden_cutoff


def test_auc_and_delong_variance_worked_by_hand_with_ties() -> None:
    """Positives X = 3, 2, 2; negatives Y = 1, 2, 0.5, 3 (ties at 2 and 3).

    psi rows (X vs Y): 3 -> 1, 1, 1, 1/2 (V10 = 7/8); 2 -> 1, 1/2, 1, 0 (V10 = 5/8), twice.
    AUC = (7/8 + 5/8 + 5/8) / 3 = 17/24.
    V01 (columns): Y=1 -> 1; Y=2 -> (1 + 1/2 + 1/2)/3 = 2/3; Y=0.5 -> 1; Y=3 -> 1/6.
    s2(V10) = (1/36 + 1/144 + 1/144) / 2 = 1/48;  s2(V01) = (49 + 1 + 49 + 169)/576 / 3
    = 67/432.  Var = (1/48)/3 + (67/432)/4 = 79/1728.
    """
    marker = [3, 2, 2, 1, 2, 0.5, 3]
    positive = [1, 1, 1, 0, 0, 0, 0]
    r = roc_auc(marker, positive)
    se = np.sqrt(79 / 1728)
    assert float(r.auc) == pytest.approx(17 / 24, rel=1e-14)
    assert float(r.se) == pytest.approx(se, rel=1e-12)
    assert r.ci.tolist() == pytest.approx([17 / 24 - Z95 * se, 1.0])  # clipped at 1
    assert int(r.n_positive) == 3 and int(r.n_negative) == 4


def structural_components(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), v10.var(ddof=1) / x.size + v01.var(ddof=1) / y.size


def test_delong_variance_equals_brute_force_structural_components() -> None:
    rng = np.random.default_rng(5)
    marker = np.round(rng.normal(0, 1, (150, 45)), 1)  # ties
    positive = (rng.random((150, 45)) < rng.uniform(0.1, 0.9, (150, 1))).astype(float)
    mask = rng.random((150, 45)) < 0.85
    r = roc_auc(marker, positive, mask)
    for b in range(marker.shape[0]):
        x = marker[b, mask[b] & (positive[b] == 1)]
        y = marker[b, mask[b] & (positive[b] == 0)]
        if min(x.size, y.size) < 2:
            assert np.isnan(r.se[b])
            continue
        auc, variance = structural_components(x, y)
        assert r.auc[b] == pytest.approx(auc, abs=1e-13)
        assert r.se[b] ** 2 == pytest.approx(variance, abs=1e-13)
        u = mannwhitneyu(x, y).statistic
        assert r.auc[b] == pytest.approx(u / (x.size * y.size), abs=1e-13)


def test_auc_of_minus_pni_against_death_and_undefined_cases() -> None:
    pni = np.array([40.0, 42, 50, 52])
    died = np.array([1.0, 1, 0, 0])
    assert float(roc_auc(-pni, died).auc) == 1.0  # low PNI dies: perfect
    perfect = roc_auc(-pni, died)
    assert np.isnan(perfect.p)  # se is 0: no Wald p
    none_died = roc_auc(-pni, np.zeros(4))
    assert np.isnan(none_died.auc) and np.isnan(none_died.se)
    one_each = roc_auc([1.0, 2.0], [1, 0])
    assert float(one_each.auc) == 0.0 and np.isnan(one_each.se)


def test_midranks_share_tied_ranks() -> None:
    ranks = midranks(np.array([[2.0, 1.0, 2.0, 2.0, 5.0]]), np.array([[True] * 5]))
    assert ranks.tolist() == [[3.0, 1.0, 3.0, 3.0, 5.0]]


def test_youden_worked_by_hand_with_ties() -> None:
    """PNI 40, 42, 42, 45, 45, 50, 52, 55; deaths at 40, 42, 45, 55 (D = 4, S = 4).

    c    sens (deaths < c)  spec (survivors >= c)   J
    40   0                  4/4                     0
    42   1/4                4/4                     1/4
    45   2/4                3/4                     1/4
    50   3/4                2/4                     1/4
    52   3/4                1/4                     0
    55   3/4                0                       -1/4
    Three-way tie at J = 1/4: the lowest, 42, wins; the cut-off is reported halfway
    between it and the highest PNI below it, (40 + 42) / 2 = 41.
    """
    pni = [40, 42, 42, 45, 45, 50, 52, 55]
    died = [1, 1, 0, 1, 0, 0, 0, 1]
    r = youden_cutoff(pni, died)
    assert float(r.cutoff) == 41.0
    assert float(r.low_max) == 40.0 and float(r.high_min) == 42.0
    assert float(r.sensitivity) == 0.25 and float(r.specificity) == 1.0
    assert float(r.j) == 0.25


def brute_force_youden(pni: np.ndarray, died: np.ndarray) -> tuple[float, Fraction]:
    deaths, survivors = pni[died == 1], pni[died == 0]
    best: tuple[float, Fraction] | None = None
    for c in np.unique(pni):
        j = (Fraction(int((deaths < c).sum()), deaths.size)
             + Fraction(int((survivors >= c).sum()), survivors.size) - 1)
        if best is None or j > best[1]:
            best = (float(c), j)
    assert best is not None
    return best


def test_youden_equals_exact_brute_force_on_random_stacks() -> None:
    rng = np.random.default_rng(9)
    # 40 deaths and 18 survivors as in the paper, PNI to one decimal: exact ties in J
    # (a/40 + b/18) are common, and the integer comparison must break them to the
    # lowest cut-off.
    pni = np.round(rng.normal(45, 4, (200, 58)), 0)
    died = np.zeros((200, 58))
    for b in range(200):
        died[b, rng.choice(58, 40, replace=False)] = 1
    r = youden_cutoff(pni, died)
    for b in range(200):
        lowest_high, j = brute_force_youden(pni[b], died[b])
        assert float(r.high_min[b]) == lowest_high
        below = pni[b][pni[b] < lowest_high]
        if below.size:
            assert float(r.low_max[b]) == below.max()
            assert float(r.cutoff[b]) == (below.max() + lowest_high) / 2
        else:  # no low group: the cut-off is the lowest PNI itself
            assert np.isnan(r.low_max[b]) and float(r.cutoff[b]) == lowest_high
        assert np.array_equal(pni[b] < r.cutoff[b], pni[b] < lowest_high)
        assert r.j[b] == pytest.approx(float(j), abs=1e-12)


def test_youden_mask_and_undefined() -> None:
    pni = np.array([[40.0, 42, 45, 50], [40.0, 42, 45, 50]])
    died = np.array([[1.0, 1, 0, 0], [1.0, 1, 1, 1]])
    r = youden_cutoff(pni, died, np.array([[True, True, True, False], [True] * 4]))
    assert float(r.cutoff[0]) == 43.5 and np.isnan(r.cutoff[1])  # between 42 and 45
    assert np.isnan(r.sensitivity[1]) and np.isnan(r.j[1])


def test_roc_curve_points_by_hand() -> None:
    c = roc_curve([0.1, 0.4, 0.35, 0.8, 0.4], [0, 0, 1, 1, 1])
    # thresholds 0.8, 0.4 (one positive and one negative tie), 0.35, 0.1
    assert c.threshold.tolist() == [np.inf, 0.8, 0.4, 0.35, 0.1]
    assert c.tpr.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1, 1])
    assert c.fpr.tolist() == pytest.approx([0, 0, 0.5, 0.5, 1])
    # Trapezoids under the curve give the AUC.
    assert np.trapezoid(c.tpr, c.fpr) == pytest.approx(float(roc_auc([0.1, 0.4, 0.35, 0.8, 0.4],
                                                                 [0, 0, 1, 1, 1]).auc))


def test_youden_without_a_better_split_than_none_keeps_the_lowest_pni() -> None:
    # PNI 40 (survivor) and 50 (death): the split below 50 has J = -1, "all high" J = 0,
    # so the low group is empty and the cut-off is the lowest PNI itself.
    r = youden_cutoff([40.0, 50.0], [0, 1])
    assert float(r.cutoff) == 40.0 and np.isnan(r.low_max) and float(r.j) == 0.0
