"""When the labs were taken: reading a lab date and the warnings it calls for.

A result is only as current as its labs. The rules (interfaces.md, section 5, "Lab
dates") give warnings, never errors:

* a lab taken more than :data:`MAX_AGE_DAYS` days before the calculation date;
* a lab dated after the calculation date;
* albumin and the lymphocyte count (the two halves of the PNI) taken more than
  :data:`MAX_PNI_SPREAD_DAYS` days apart.

The form, the CLI and the CSV give one date for all labs (``lab_date``); a FHIR bundle
gives each Observation its own. :func:`lab_date_warnings` takes a date per input, so both
use the same rules. Pure: the calculation date is passed in, never read from a clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Final

from calculator.errors import InputError, shown
from calculator.labels import label

MAX_AGE_DAYS: Final = 30
MAX_PNI_SPREAD_DAYS: Final = 7
#: The one date format read: ISO 8601 calendar date, as ``<input type="date">`` sends it.
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_lab_date(field: str, raw: object) -> date:
    """A lab date from ``YYYY-MM-DD`` text (or a :class:`datetime.date`).

    >>> parse_lab_date("lab_date", " 2025-03-01 ")
    datetime.date(2025, 3, 1)
    """
    if isinstance(raw, date):
        return raw
    text = raw.strip() if isinstance(raw, str) else None
    if text is not None and _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InputError(field, raw, None, "a date as YYYY-MM-DD",
                     f"{label(field)} must be a date written YYYY-MM-DD, e.g. 2025-03-01; "
                     f"got {shown(raw)}")


def lab_date_warnings(dates: Mapping[str, date], calculated_on: date) -> list[tuple[str, str]]:
    """``(field, message)`` warnings for lab dates that are old, in the future, or (for
    albumin and lymphocytes) far apart.

    Inputs sharing one date (the form's single lab date) get one warning, named by
    ``lab_date``.

    >>> lab_date_warnings({"albumin": date(2025, 1, 1), "lymphocytes": date(2025, 1, 20)},
    ...                   date(2025, 1, 25))  # doctest: +NORMALIZE_WHITESPACE
    [('albumin', 'Serum albumin and Absolute lymphocyte count were taken 19 days apart
      (2025-01-01 and 2025-01-20); the PNI should combine values from one blood draw (at
      most 7 days apart)')]
    """
    warnings: list[tuple[str, str]] = []
    by_date: dict[date, list[str]] = {}
    for field, taken in dates.items():
        by_date.setdefault(taken, []).append(field)
    for taken, fields in sorted(by_date.items()):
        name = "lab_date" if len(fields) > 1 else fields[0]
        what = "These labs were" if len(fields) > 1 else f"{label(fields[0])} was"
        age = (calculated_on - taken).days
        if age > MAX_AGE_DAYS:
            warnings.append((name, f"{what} taken {age} days before this calculation "
                                   f"({taken.isoformat()}); values older than "
                                   f"{MAX_AGE_DAYS} days may no longer describe the patient"))
        elif age < 0:
            warnings.append((name, f"{what} dated {taken.isoformat()}, {-age} "
                                   f"day{'s' if age != -1 else ''} after this calculation "
                                   f"({calculated_on.isoformat()}); check the date"))
    albumin, lymphocytes = dates.get("albumin"), dates.get("lymphocytes")
    if albumin is not None and lymphocytes is not None:
        spread = abs((albumin - lymphocytes).days)
        if spread > MAX_PNI_SPREAD_DAYS:
            warnings.append(("albumin", f"{label('albumin')} and {label('lymphocytes')} were "
                                        f"taken {spread} days apart ({albumin.isoformat()} "
                                        f"and {lymphocytes.isoformat()}); the PNI should "
                                        "combine values from one blood draw (at most "
                                        f"{MAX_PNI_SPREAD_DAYS} days apart)"))
    return warnings
