"""Lab dates (calculator.lab_dates): the rules per input, as a FHIR bundle will use them."""

from datetime import date

import pytest

from calculator.errors import InputError
from calculator.lab_dates import (
    MAX_AGE_DAYS,
    MAX_PNI_SPREAD_DAYS,
    lab_date_warnings,
    parse_lab_date,
)

TODAY = date(2025, 6, 15)


def test_current_labs_of_one_draw_give_no_warning():
    same = {name: date(2025, 6, 10) for name in ("albumin", "lymphocytes", "afp")}
    assert lab_date_warnings(same, TODAY) == []


def test_one_date_for_several_labs_gives_one_warning_named_lab_date():
    old = {name: date(2025, 1, 2) for name in ("albumin", "lymphocytes", "afp")}
    ((field, message),) = lab_date_warnings(old, TODAY)
    assert field == "lab_date" and message.startswith("These labs were taken 164 days before")


def test_per_input_dates_are_judged_each_and_the_pni_pair_together():
    # as a FHIR bundle gives them: each Observation its own date
    dates = {"albumin": date(2025, 6, 14), "lymphocytes": date(2025, 6, 1),
             "afp": date(2025, 4, 1)}
    warnings = lab_date_warnings(dates, TODAY)
    assert ("afp", "AFP (alpha-fetoprotein) was taken 75 days before this calculation "
                   "(2025-04-01); values older than 30 days may no longer describe the "
                   "patient") in warnings
    pair = [m for f, m in warnings if f == "albumin"]
    assert len(pair) == 1 and "13 days apart (2025-06-14 and 2025-06-01)" in pair[0]
    assert len(warnings) == 2


@pytest.mark.parametrize(("days_apart", "warned"), [(MAX_PNI_SPREAD_DAYS, False),
                                                    (MAX_PNI_SPREAD_DAYS + 1, True)])
def test_the_pni_pair_may_be_at_most_seven_days_apart(days_apart, warned):
    dates = {"albumin": date(2025, 6, 14),
             "lymphocytes": date.fromordinal(date(2025, 6, 14).toordinal() - days_apart)}
    assert bool(lab_date_warnings(dates, TODAY)) == warned


@pytest.mark.parametrize(("age", "warned"), [(0, False), (MAX_AGE_DAYS, False),
                                             (MAX_AGE_DAYS + 1, True), (-1, True)])
def test_age_limits(age, warned):
    taken = date.fromordinal(TODAY.toordinal() - age)
    assert bool(lab_date_warnings({"inr": taken}, TODAY)) == warned


@pytest.mark.parametrize("raw", ["2025-13-01", "15/06/2025", "", None, "2025-06-15T10:00", 5])
def test_only_iso_calendar_dates_are_read(raw):
    with pytest.raises(InputError, match="must be a date written YYYY-MM-DD"):
        parse_lab_date("lab_date", raw)
    assert parse_lab_date("lab_date", "2025-06-15") == TODAY
