"""Domain-named hypothesis strategies for the scoring core."""

from decimal import Decimal

from hypothesis import strategies as st

#: Albumin in g/L written as a lab does, one decimal, inside the hard limits 10-60.
albumin_g_l = st.integers(100, 600).map(lambda tenths: Decimal(tenths) / 10)
#: Lymphocytes in 10^9/L with two decimals, inside the hard limits 0.05-50.
lymphocytes_10e9_l = st.integers(5, 5000).map(lambda hundredths: Decimal(hundredths) / 100)
#: AFP in ng/mL, up to two decimals, inside 0-5,000,000.
afp_ng_ml = st.integers(0, 500_000_000).map(lambda hundredths: Decimal(hundredths) / 100)
yes_no = st.sampled_from([True, False, "yes", "no", "Yes", "NO", 1, 0, "true", "false"])


def as_entered(value: Decimal) -> st.SearchStrategy[object]:
    """The same decimal as a user might send it: text, decimal comma, float or int."""
    choices: list[object] = [str(value), str(value).replace(".", ","), float(value)]
    if value == value.to_integral_value():
        choices.append(int(value))
    return st.sampled_from(choices)


#: Anything at all that a form, a JSON body or a CSV cell might carry.
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.decimals(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=2),
    st.sampled_from(["", " ", "3,5", "1,234.5", "1e400", "-0", "nan", "inf", "35 g/L",
                     "\u221235", "0x10", "١٢"]),
)
