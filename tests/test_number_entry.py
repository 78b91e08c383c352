"""The one number parser (calculator.number_entry): every rule of interfaces.md section 5,
the decisions on ambiguous separators and non-ASCII digits, and properties over any text."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from calculator import score
from calculator.errors import InputError
from calculator.number_entry import Reading, read_number
from calculator.units import QUANTITIES, measure
from tests import strategies as s


def afp_fits(value: Decimal) -> bool:
    return QUANTITIES["afp"].fits(value, "ng/mL")


def read(raw: object, fits=afp_fits) -> Reading:  # noqa: ANN001
    return read_number(raw, "afp", "AFP", unit="ng/mL", fits=fits, limits="0–5000000 ng/mL")


# --- plain decimals and the decimal comma ------------------------------------------------
@pytest.mark.parametrize(("raw", "value"), [
    ("35", "35"), ("3,5", "3.5"), ("3.5", "3.5"), (" 3,5 ", "3.5"), (".5", "0.5"),
    (",5", "0.5"), ("5.", "5"), ("-3", "-3"), ("\u22123,5", "-3.5"), ("0,500", "0.500"),
    ("1234,567", "1234.567"), ("12,50", "12.50"), ("12,5000", "12.5000"),
    (35, "35"), (3.5, "3.5"), (46.3, "46.3"), (Decimal("0.26"), "0.26"),
])
def test_plain_decimals_are_read_exactly(raw, value):
    reading = read(raw)
    assert reading.value == Decimal(value) and reading.note is None


# --- a possible thousands separator -----------------------------------------------------
@pytest.mark.parametrize(("field", "raw", "unit", "expected"), [
    # both readings within the limits: refused, showing both
    ("afp", "12,500", "ng/mL", "refused: 12.5 or 12500 ng/mL"),
    ("afp", "1.250", "ng/mL", "refused: 1.25 or 1250 ng/mL"),
    ("afp", "150,000", "ng/mL", "refused: 150 or 150000 ng/mL"),
    ("afp", "1,000", "IU/mL", "refused: 1 or 1000 IU/mL"),
    ("bilirubin", "1,200", "umol/L", "refused: 1.2 or 1200 µmol/L"),
    # only the grouped reading is possible: read as grouping, and said so
    ("lymphocytes", "1,100", "cells/uL", "1100"),
    ("lymphocytes", "1.163", "cells/uL", "1163"),
    # only the decimal reading is possible: the decimal mark
    ("albumin", "3,500", "g/dL", "3.500"),
    ("albumin", "35,000", "g/L", "35.000"),
    ("lymphocytes", "2,100", "10^9/L", "2.100"),
    ("inr", "1,200", None, "1.200"),
    ("bilirubin", "1,200", "mg/dL", "1.200"),
    # neither reading possible: refused, showing both and the limits
    ("albumin", "1,234", "g/L", "refused: 1.234 or 1234 g/L, and neither"),
])
def test_a_possible_thousands_separator_is_decided_by_the_limits(field, raw, unit, expected):
    if expected.startswith("refused"):
        with pytest.raises(InputError) as caught:
            measure(field, raw, unit)
        assert caught.value.field == field
        assert f"{QUANTITIES[field].label} '{raw}' could be " \
               f"{expected.removeprefix('refused: ')}" in caught.value.message
        return
    m = measure(field, raw, unit)
    assert m.value == Decimal(expected) * QUANTITIES[field].units[unit or ""]
    grouped = Decimal(expected) == Decimal(raw.replace(",", "").replace(".", ""))
    assert any("thousands separator" in w for w in m.warnings) == grouped


def test_afp_12_500_is_never_read_as_12_5_anywhere():
    """The reported bug: "12,500" ng/mL became 12.5 and flipped the AFP factor."""
    with pytest.raises(InputError, match=r"could be 12.5 or 12500 ng/mL"):
        score({"albumin": 35, "lymphocytes": 1.1, "afp": "12,500",
               "extrahepatic_spread": "yes"})
    assert score({"albumin": 35, "lymphocytes": 1.1, "afp": "12500",
                  "extrahepatic_spread": "yes"}).relative_hazard.value == pytest.approx(20.0,
                                                                                      abs=0.05)


@given(first=st.integers(1, 999), rest=st.integers(0, 999), mark=st.sampled_from(",."),
       negative=st.booleans(), low=st.integers(0, 2000), span=st.integers(0, 10**6))
def test_never_silently_the_smaller_reading(first, rest, mark, negative, low, span):
    """Whatever the limits, a grouping-shaped number is read as the grouped value, or as
    the decimal only when the grouped value is impossible, or refused."""
    raw = f"{'-' if negative else ''}{first}{mark}{rest:03d}"
    as_decimal = Decimal(raw.replace(",", "."))
    as_grouped = Decimal(raw.replace(mark, ""))

    def fits(value: Decimal) -> bool:
        return low <= value <= low + span

    try:
        value = read(raw, fits).value
    except InputError as err:
        assert "could be" in err.message and str(abs(as_grouped)) in err.message
        assert not (fits(as_decimal) != fits(as_grouped))  # refused only when undecided
        return
    if value == as_decimal:
        assert fits(as_decimal) and not fits(as_grouped)
    else:
        assert value == as_grouped and fits(as_grouped) and not fits(as_decimal)


# --- what is refused -------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "says"), [
    ("3_5", "without underscores"), ("1e3", "without an exponent"),
    ("1E-2", "without an exponent"), ("+5", "without a plus sign"),
    ("12 500", "without spaces"), ("12\u00a0500", "without spaces"),
    ("1,234.5", "at most one decimal mark"), ("1.234.567", "at most one decimal mark"),
    ("nan", "finite"), ("Infinity", "finite"), ("-inf", "finite"),
    ("12'500", "without thousands separators"), ("1\u066c000", "without thousands separators"),
    ("35 g/L", "a number only"), ("35g/dl", "a number only"), ("40 %", "a number only"),
    ("0x10", "a number only"), ("--5", "must be a number"), ("5-", "must be a number"),
    ("1-2", "must be a number"), (",", "must be a number"), ("-", "must be a number"),
    ("١2", "mixes digits of different scripts"), ("9" * 65, "too many digits"),
    ("0.000000000001", "too many digits"), ("123456789012345678", "too many digits"),
])
def test_refused_text_names_the_field_and_quotes_the_entry(raw, says):
    with pytest.raises(InputError) as caught:
        read(raw)
    error = caught.value
    assert error.field == "afp" and error.message.startswith("AFP ")
    assert says in error.message
    assert (repr(raw)[:20] in error.message) or "characters" in error.message


# --- non-ASCII digits: read when all come from one script --------------------------------
@pytest.mark.parametrize(("raw", "value"), [
    ("３５", "35"), ("３５．５", "35.5"), ("３，５", "3.5"),          # full-width (IME)
    ("٣٥", "35"), ("٣٫٥", "3.5"), ("٣٥٫٥٠٠", "35.500"),             # Arabic-Indic
    ("۳۵", "35"),                                                 # Extended (Persian)
    ("३५", "35"), ("৩৫", "35"),                                    # Devanagari, Bengali
    ("−３５", "-35"),
])
def test_digits_of_one_script_are_read_by_their_unicode_value(raw, value):
    assert read(raw).value == Decimal(value)


def test_the_arabic_decimal_separator_is_never_a_thousands_separator():
    # "١٢٫٥٠٠" has the shape of "12,500", but U+066B is a decimal mark by definition
    assert read("١٢٫٥٠٠").value == Decimal("12.500")
    with pytest.raises(InputError, match="could be 12.5 or 12500"):
        read("١٢,٥٠٠")  # a Latin comma keeps its ambiguity


def test_non_ascii_digits_are_echoed_as_entered():
    result = score({"albumin": "٣٥", "lymphocytes": "１.１", "afp": "250",
                    "extrahepatic_spread": "no"}).to_dict()
    albumin = next(i for i in result["inputs"] if i["field"] == "albumin")
    assert albumin["entered"] == "٣٥" and albumin["value"] == 35.0
    assert result["pni"]["value"] == 40.5


# --- properties --------------------------------------------------------------------------
@given(value=st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=4,
                         allow_nan=False, allow_infinity=False),
       comma=st.booleans())
@example(value=Decimal("46.3"), comma=True)
def test_any_plain_decimal_not_shaped_like_grouping_reads_back(value, comma):
    text = format(value, "f")
    if comma:
        text = text.replace(".", ",")
    if re.fullmatch(r"-?[1-9][0-9]{0,2}[.,][0-9]{3}", text):
        return  # decided by the limits, tested above
    assert read(text, fits=None).value == value


@given(raw=s.anything)
def test_anything_gives_a_reading_or_the_input_error(raw):
    try:
        reading = read(raw)
    except InputError as err:
        assert err.field == "afp" and err.message.startswith("AFP ")
        return
    assert reading.value.is_finite()


@given(text=st.text(max_size=30))
def test_any_text_gives_a_reading_or_the_input_error(text):
    try:
        read(text)
    except InputError:
        pass

