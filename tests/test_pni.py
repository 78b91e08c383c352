"""PNI formula and its exact category (calculator.pni)."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from calculator import score
from calculator.pni import pni_is_high, prognostic_nutritional_index
from tests import strategies as s

PATIENT = {"afp": 10, "extrahepatic_spread": "no"}


def test_worked_values():
    # Onodera's index: 35 g/L + 5 x 1.1 = 40.5; 10 x 4.0 g/dL + 0.005 x 2000 /uL = 50.0.
    assert score({**PATIENT, "albumin": 35, "lymphocytes": 1.1}).to_dict()["pni"]["value"] == 40.5
    result = score({**PATIENT, "albumin": "4.0", "albumin_unit": "g/dL",
                    "lymphocytes": 2000, "lymphocytes_unit": "cells/uL"}).to_dict()
    assert result["pni"]["value"] == 50.0
    assert result["pni"]["category"] == "high"


def test_floats_really_do_misplace_some_exact_47_6_sums():
    # The trap the exact rule exists for (numerics.md): in binary floating point
    # 46.3 + 5 x 0.26 is 47.599999999999994, below the cut-off.
    assert 46.3 + 5 * 0.26 < 47.6
    assert prognostic_nutritional_index(Decimal("46.3"), Decimal("0.26")) == Decimal("47.6")
    result = score({**PATIENT, "albumin": 46.3, "lymphocytes": 0.26}).to_dict()
    assert result["pni"]["category"] == "high"
    assert result["pni"]["display"] == "47.6"


def test_every_exact_47_6_on_a_lab_grid_is_high():
    # Every one-decimal albumin with the two-decimal lymphocyte count that makes the
    # exact PNI 47.6, entered as floats (the JSON case), in g/L and in g/dL.
    checked = 0
    for tenths in range(160, 474):  # lymphocytes >= 0.05
        albumin = Fraction(tenths, 10)
        lymphocytes = (Fraction(476, 10) - albumin) / 5
        if lymphocytes.denominator not in (1, 2, 4, 5, 10, 20, 25, 50, 100):
            continue
        for alb_entered, unit in ((float(albumin), "g/L"), (float(albumin / 10), "g/dL")):
            profile = score({**PATIENT, "albumin": alb_entered, "albumin_unit": unit,
                             "lymphocytes": float(lymphocytes)})
            assert profile.pni_high, (alb_entered, unit, float(lymphocytes))
            checked += 1
    assert checked > 500


def test_just_below_the_cut_off_is_low_and_never_displayed_as_47_6():
    profile = score({**PATIENT, "albumin": "37.59", "lymphocytes": 2})
    assert not profile.pni_high
    assert profile.pni_display == "47.5"


def test_pni_is_high_refuses_binary_floats():
    with pytest.raises(TypeError, match="exact Decimal"):
        pni_is_high(47.6)  # type: ignore[arg-type]


@given(albumin=s.albumin_g_l, lymphocytes=s.lymphocytes_10e9_l, data=st.data())
@example(albumin=Decimal("46.3"), lymphocytes=Decimal("0.26"), data=None)
def test_category_agrees_with_rational_arithmetic(albumin, lymphocytes, data):
    alb_raw = data.draw(s.as_entered(albumin)) if data else float(albumin)
    lym_raw = data.draw(s.as_entered(lymphocytes)) if data else float(lymphocytes)
    profile = score({**PATIENT, "albumin": alb_raw, "lymphocytes": lym_raw})
    exact = Fraction(albumin) + 5 * Fraction(lymphocytes)
    assert profile.pni_high == (exact >= Fraction(476, 10))
    assert Fraction(profile.pni) == exact


@given(albumin=s.albumin_g_l, lymphocytes=s.lymphocytes_10e9_l,
       bump=st.integers(1, 100).map(lambda k: Decimal(k) / 100))
def test_pni_strictly_increases_in_each_input(albumin, lymphocytes, bump):
    base = prognostic_nutritional_index(albumin, lymphocytes)
    assert prognostic_nutritional_index(albumin + bump, lymphocytes) > base
    assert prognostic_nutritional_index(albumin, lymphocytes + bump) > base
