"""Units, limits, decimal commas and unit-slip hints (calculator.units)."""

import re
from decimal import Decimal

import pytest
from hypothesis import given

from calculator.errors import InputError
from calculator.units import AFP_IU_CAVEAT, QUANTITIES, measure, parse_unit
from tests import strategies as s


@pytest.mark.parametrize(("field", "raw", "unit", "expected", "canonical"), [
    ("albumin", "35", "g/L", Decimal("35"), "g/L"),
    ("albumin", "3,5", "g/dL", Decimal("35.0"), "g/L"),
    ("albumin", 3.76, "g/dl", Decimal("37.60"), "g/L"),
    ("lymphocytes", "1,1", "10^9/L", Decimal("1.1"), "10^9/L"),
    ("lymphocytes", 1.1, "10^3/uL", Decimal("1.1"), "10^9/L"),
    ("lymphocytes", 1100, "cells/uL", Decimal("1.1"), "10^9/L"),
    ("lymphocytes", "1100", "cells/mm^3", Decimal("1.1"), "10^9/L"),
    ("lymphocytes", "1100", "cells/\u00b5L", Decimal("1.1"), "10^9/L"),
    ("afp", 250, "ng/mL", Decimal("250"), "ng/mL"),
    ("afp", 250, "ug/L", Decimal("250"), "ng/mL"),
    ("afp", 100, "IU/mL", Decimal("121"), "ng/mL"),
    ("bilirubin", "1,2", "mg/dL", Decimal("1.2"), "mg/dL"),
    ("bilirubin", "34.2", "umol/L", Decimal("2"), "mg/dL"),
    ("inr", "1,1", None, Decimal("1.1"), ""),
])
def test_every_unit_converts_to_canonical(field, raw, unit, expected, canonical):
    m = measure(field, raw, unit)
    assert m.value == expected
    assert m.canonical_unit == canonical


def test_default_units_are_the_canonical_ones():
    assert measure("albumin", 35).unit == "g/L"
    assert measure("lymphocytes", 1.1).unit == "10^9/L"
    assert measure("afp", 10).unit == "ng/mL"
    assert measure("bilirubin", 1).unit == "mg/dL"


@pytest.mark.parametrize(("field", "low", "high", "unit"), [
    ("albumin", "10", "60", "g/L"),
    ("lymphocytes", "0.05", "50", "10^9/L"),
    ("afp", "0", "5000000", "ng/mL"),
    ("bilirubin", "0", "100", "mg/dL"),
    ("inr", "0.5", "20", ""),
])
def test_hard_limits_are_inclusive_and_errors_outside(field, low, high, unit):
    assert measure(field, low).value == Decimal(low)
    assert measure(field, high).value == Decimal(high)
    step = Decimal("0.01")
    for outside in (Decimal(low) - step, Decimal(high) + step):
        with pytest.raises(InputError, match=rf"^{re.escape(QUANTITIES[field].label)} must be "
                                             rf"between {low} and {high}") as e:
            measure(field, str(outside))
        assert e.value.field == field
        assert e.value.allowed == f"{low}-{high} {unit}".strip()


@pytest.mark.parametrize(("field", "inside", "outside_low", "outside_high"), [
    ("albumin", "16", "15.9", "49.1"),
    ("lymphocytes", "0.3", "0.29", "9.81"),
    ("afp", "0.95", "0.94", "147315"),
    ("bilirubin", "0.2", "0.1", "68.1"),
    ("inr", "0.89", "0.88", "5.01"),
])
def test_study_range_gives_a_warning_not_an_error(field, inside, outside_low, outside_high):
    assert measure(field, inside).quality == "ok"
    for raw in (outside_low, outside_high):
        m = measure(field, raw)
        assert m.quality == "outside-study-range"
        assert "outside the study's range" in m.warnings[0]


def test_albumin_in_g_l_that_looks_like_g_dl_gets_the_hint():
    with pytest.raises(InputError, match=r"got 3.5 g/L \(looks like g/dL") as e:
        measure("albumin", "3.5", "g/L")
    assert e.value.hint.startswith("looks like g/dL")


def test_albumin_in_g_dl_that_looks_like_g_l_gets_the_hint():
    with pytest.raises(InputError, match=r"got 35 g/dL = 350 g/L \(looks like g/L"):
        measure("albumin", "35", "g/dL")


def test_lymphocytes_that_look_like_cells_per_ul_get_the_hint():
    with pytest.raises(InputError, match=r"got 1100 ×10⁹/L \(looks like cells/µL"):
        measure("lymphocytes", 1100, "10^9/L")


def test_lymphocytes_in_cells_that_look_like_10e9_get_the_hint():
    with pytest.raises(InputError, match=r"looks like ×10⁹/L"):
        measure("lymphocytes", "1.1", "cells/uL")


def test_bilirubin_in_mg_that_looks_like_umol_gets_the_hint():
    with pytest.raises(InputError, match=r"looks like µmol/L"):
        measure("bilirubin", 171, "mg/dL")


def test_inr_out_of_range_explains_what_an_inr_is():
    with pytest.raises(InputError, match=r"INR is a unitless ratio"):
        measure("inr", 75)


def test_afp_in_iu_carries_the_assay_caveat():
    m = measure("afp", 100, "IU/mL")
    assert m.quality == "converted"
    assert AFP_IU_CAVEAT in m.warnings
    assert "1.21" in AFP_IU_CAVEAT and "assay" in AFP_IU_CAVEAT
    assert not measure("afp", 121, "ng/mL").warnings


@pytest.mark.parametrize(("raw", "message"), [
    (None, r"^Serum albumin is required; enter a number$"),
    ("", r"^Serum albumin is required; enter a number$"),
    ("  ", r"^Serum albumin is required; enter a number$"),
    ("abc", r"^Serum albumin must be a number; got 'abc'$"),
    ("35 g/L", r"^Serum albumin must be a number only; got '35 g/L' \(enter the number alone"),
    ("1,234.5", r"^Serum albumin must be a plain number with at most one decimal mark; got "
                r"'1,234.5' \(write it without thousands separators"),
    ("3,5,1", r"^Serum albumin must be a plain number with at most one decimal mark"),
    ("3_5", r"^Serum albumin must be a plain number without underscores; got '3_5'"),
    ("35e0", r"^Serum albumin must be written without an exponent; got '35e0' \(write the "
             r"number out in full: 35\)$"),
    ("+35", r"^Serum albumin must be a plain number without a plus sign"),
    ("3 5", r"^Serum albumin must be a plain number without spaces; got '3 5'"),
    (True, r"^Serum albumin must be a number; got True$"),
    ([35], r"^Serum albumin must be a number; got list$"),
    (float("nan"), r"^Serum albumin must be a finite number; got nan$"),
    (float("inf"), r"^Serum albumin must be a finite number; got inf$"),
    ("-inf", r"^Serum albumin must be a finite number; got '-inf'$"),
    ("1e400", r"^Serum albumin must be written without an exponent"),
    ("9" * 30, r"^Serum albumin has too many digits to be a lab value as reported"),
    pytest.param(10 ** 5000, r"^Serum albumin has too many digits.*got an integer of about "
                             r"5000 digits", id="int-of-5001-digits"),
    ("3٥", r"^Serum albumin mixes digits of different scripts; got '3٥'"),
    (-1, r"^Serum albumin must be between 10 and 60 g/L; got -1 g/L \(a concentration or count "
         r"cannot be negative\)$"),
    (1e9, r"^Serum albumin must be between 10 and 60 g/L; got 1000000000 g/L$"),
])
def test_bad_values_are_pinned(raw, message):
    with pytest.raises(InputError, match=message) as e:
        measure("albumin", raw, "g/L")
    assert e.value.field == "albumin"


@pytest.mark.parametrize("unit", ["mg/dL", "g", 5, "kg/L"])
def test_unknown_units_are_errors_naming_the_choices(unit):
    with pytest.raises(InputError, match=r"^the unit of Serum albumin must be one of g/L, "
                                         r"g/dL; got") as e:
        measure("albumin", 35, unit)
    assert e.value.field == "albumin_unit"


@pytest.mark.parametrize(("typed", "code"), [("×10⁹/L", "10^9/L"), ("x10^9/l", "10^9/L"),
                                              ("×10³/µL", "10^3/uL"), ("cells/µL", "cells/uL"),
                                              ("cells/mm³", "cells/uL")])
def test_typeset_units_as_printed_are_accepted_back(typed, code):
    """Messages print units typeset; whatever they print can be typed back as a unit."""
    assert parse_unit(QUANTITIES["lymphocytes"], typed) == code


@given(alb=s.albumin_g_l)
def test_g_dl_times_ten_equals_g_l(alb):
    assert measure("albumin", str(alb / 10), "g/dL").value == alb


@given(lym=s.lymphocytes_10e9_l)
def test_cells_per_ul_over_1000_equals_10e9_per_l(lym):
    assert measure("lymphocytes", str(lym * 1000), "cells/uL").value == lym


def test_every_quantity_documents_sane_limits():
    for q in QUANTITIES.values():
        assert q.hard_low <= q.study_low < q.study_high <= q.hard_high, q.field
