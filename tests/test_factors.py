"""Coding of the eight Table 4 factors (simulation.cohorts.factors)."""

from decimal import Decimal

import numpy as np
import pytest

from calculator.pni import pni_is_high
from simulation.cohorts.factors import (
    AFP_CUTOFF_NG_ML,
    DEFAULT_PNI_CUTOFF,
    FACTORS,
    code_factors,
    factor_matrix,
    pni_low,
    pni_values,
)

NAN = float("nan")


def cohort(**columns: list) -> dict[str, np.ndarray]:
    base = {"age": [60], "sex": ["F"], "ecog": [0], "etiology": ["other"],
            "afp_ng_ml": [10.0], "child_pugh_score": [5], "extrahepatic_spread": [0],
            "albumin_g_l": [45.0], "lymphocytes_10e9_l": [2.0]}
    base.update(columns)
    n = max(len(v) for v in base.values())
    return {k: np.asarray(v * n if len(v) == 1 else v) for k, v in base.items()}


@pytest.mark.parametrize("column, values, factor, expected", [
    ("age", [64, 65, 64.9, NAN], "age_65_plus", [0, 1, 0, NAN]),
    ("sex", ["F", "M", "", "x"], "male", [0, 1, NAN, NAN]),
    ("ecog", [0, 1, 2, NAN], "ecog_1_plus", [0, 1, 1, NAN]),
    ("etiology", ["hbv", "hcv", "nash", ""], "viral_hepatitis", [1, 1, 0, NAN]),
    ("etiology", ["alcohol", "other", None, "HBV"], "viral_hepatitis", [0, 0, NAN, NAN]),
    ("afp_ng_ml", [199.99, 200.0, 147314, NAN], "afp", [0, 1, 1, NAN]),
    ("child_pugh_score", [6, 7, 9, NAN], "child_pugh_b", [0, 1, 1, NAN]),
    ("extrahepatic_spread", [0, 1, 2, NAN], "extrahepatic_spread", [0, 1, NAN, NAN]),
])
def test_each_factor_is_coded_adverse_and_missing_stays_missing(column, values, factor,
                                                                 expected) -> None:
    coded = code_factors(cohort(**{column: values}))
    np.testing.assert_array_equal(coded[factor], np.array(expected, dtype=float))


def test_afp_cutoff_is_the_published_one() -> None:
    assert AFP_CUTOFF_NG_ML == 200.0 and DEFAULT_PNI_CUTOFF == 47.6


def test_pni_exactly_at_the_cutoff_is_high() -> None:
    # 47.3 + 5 * 0.06 is 47.599999999999994 in binary floating point, exactly 47.6 in fact.
    assert 47.3 + 5 * 0.06 < 47.6
    coded = code_factors(cohort(albumin_g_l=[47.3, 47.2, 47.3],
                                lymphocytes_10e9_l=[0.06, 0.06, NAN]))
    assert coded["pni_low"].tolist()[:2] == [0.0, 1.0] and np.isnan(coded["pni_low"][2])


def test_pni_category_matches_the_calculators_exact_decision_on_a_grid() -> None:
    """Every albumin of one decimal (30-50 g/L) with every lymphocyte count of two
    decimals (0.01-3.00): the float coding equals the exact Decimal category."""
    albumin = np.arange(300, 501) / 10
    lymphocytes = np.arange(1, 301) / 100
    a, lym = np.meshgrid(albumin, lymphocytes)
    low = pni_low(pni_values(a, lym))
    exact = np.array([[not pni_is_high(Decimal(f"{x:.1f}") + 5 * Decimal(f"{y:.2f}"))
                       for x in albumin] for y in lymphocytes], dtype=float)
    # exact PNI in hundredths: albumin tenths x 10 + 5 x lymphocyte hundredths
    exactly_at_cutoff = np.rint(a * 10) * 10 + 5 * np.rint(lym * 100) == 4760
    assert (a + 5 * lym < 47.6)[exactly_at_cutoff].any()  # plain floats would misfile these
    np.testing.assert_array_equal(low, exact)


def test_stacks_and_per_cohort_cutoffs() -> None:
    stack = {k: np.broadcast_to(v, (3, 4)).copy() for k, v in
             cohort(albumin_g_l=[30.0, 40.0, 45.0, 50.0], lymphocytes_10e9_l=[1.0] * 4).items()}
    coded = code_factors(stack, np.array([36.0, 46.0, np.nan]))
    assert coded["age_65_plus"].shape == (3, 4)
    assert coded["pni_low"][0].tolist() == [1, 0, 0, 0]     # PNI 35, 45, 50, 55
    assert coded["pni_low"][1].tolist() == [1, 1, 0, 0]
    assert np.isnan(coded["pni_low"][2]).all()
    X = factor_matrix(coded, FACTORS)
    assert X.shape == (3, 4, 8)
    np.testing.assert_array_equal(X[..., FACTORS.index("pni_low")], coded["pni_low"])
