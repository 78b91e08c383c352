"""Reading a number as a person entered it: the one parser behind every entry point.

The form, the JSON API (its strings), the command line, CSV cells and (later) FHIR all
read numbers through :func:`read_number`, so a value can never mean one thing on the
form and another in a file. The rules (interfaces.md, section 5, "Entering numbers"):

* Plain decimal numbers only: digits with at most one decimal mark, optionally a leading
  minus (which then fails the field's limits). Surrounding spaces are ignored.
* A lone comma or point is the decimal mark ("3,5" is 3.5), **unless** it may be a
  thousands separator: a first group of one to three digits not starting with 0, then the
  mark, then exactly three digits ("12,500", "1.250"). Such a number is read as grouping
  (12500) only where that is the only reading within the field's hard limits, as a
  decimal only where that is the only one within them, and refused otherwise, with a
  message that shows both readings. It is never silently the smaller one.
* Refused, with a message naming the field by its label: underscores ("3_5"), exponents
  ("1e3"), any sign but a leading minus ("+5"), spaces inside a number ("12 500"), more
  than one mark ("1,234.5"), non-finite values ("nan", "inf") and text ("35 g/L").
* Digits of other scripts are read when every digit of the number comes from one script
  (full-width "３５", Arabic-Indic "٣٥", Devanagari "३५" are 35; their values are fixed by
  Unicode, so the reading is certain); a number mixing scripts ("3٥") is refused. The
  Arabic decimal separator "٫" is a decimal mark and never ambiguous; the Arabic
  thousands separator "٬" is refused like any thousands separator.
* JSON numbers (``int``, ``float``) and :class:`~decimal.Decimal` are taken as they are
  (a float by its shortest round-trip decimal, which is what was typed).

Every number read has at most :data:`MAX_DIGITS` significant digits and a decimal
exponent within :data:`MAX_MAGNITUDE`, so later sums and conversions stay exact in
Decimal's default 28-digit precision (the exact PNI category relies on it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Protocol

from calculator.errors import InputError, shown
from calculator.formatting import plain
from calculator.labels import with_unit

#: Largest number of significant digits read, and largest decimal exponent either way.
MAX_DIGITS: Final = 17
MAX_MAGNITUDE: Final = 9
#: Longest text looked at as a number; anything longer is refused unread.
MAX_CHARS: Final = 64

#: What a number may look like once its digits are ASCII (one optional mark).
_PLAIN: Final = re.compile(r"-?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
#: A number whose mark may be a thousands separator: "12,500", "1.250", "-1,000".
_MAY_BE_GROUPED: Final = re.compile(r"-?[1-9][0-9]{0,2}[.,][0-9]{3}")
_EXPONENT: Final = re.compile(r"[-+]?(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)[eE][-+]?[0-9]+")
#: A number followed by a unit or a word: "35 g/L", "3,5g/dl", "1100/uL", "40 %".
_NUMBER_THEN_TEXT: Final = re.compile(r"-?[0-9.,]*[0-9][0-9.,]*\s*(?:[^\W\d_]|[%/×^])")
#: Digits in groups separated by spaces: "12 500", "3 5".
_SPACED_DIGITS: Final = re.compile(r"-?[0-9.,]+(?:\s+[0-9.,]+)+")
_SEVERAL_MARKS: Final = re.compile(r"-?[0-9]*(?:[.,][0-9]*){2,}")
_NOT_FINITE: Final = frozenset({"nan", "snan", "inf", "infinity"})
#: Characters read as their ASCII counterpart before the rules apply.
_SIGNS_AND_MARKS: Final = {"\u2212": "-", "\uff0d": "-", "\uff0e": ".", "\uff0c": ","}
ARABIC_DECIMAL_SEPARATOR: Final = "\u066b"
ARABIC_THOUSANDS_SEPARATOR: Final = "\u066c"


class _Refuse(Protocol):
    """Builds the error of the field being read."""

    def __call__(self, message: str, hint: str | None = None) -> InputError: ...


@dataclass(frozen=True)
class Reading:
    """A number as read: its exact value and, when a separator was read as thousands
    grouping, a note saying so (shown to the user, never silent)."""

    value: Decimal
    note: str | None = None


def ascii_digits(text: str) -> str | None:
    """``text`` with the digits of any one script as ASCII digits; None if it mixes
    digits of several scripts.

    >>> ascii_digits("３５．５"), ascii_digits("٣٫٥"), ascii_digits("3٥")
    ('35.5', '3٫5', None)
    """
    zeros: set[int] = set()
    out = []
    for char in text:
        if unicodedata.category(char) == "Nd":
            digit = unicodedata.decimal(char)
            zeros.add(ord(char) - digit)
            out.append(str(digit))
        else:
            out.append(_SIGNS_AND_MARKS.get(char, char))
    return "".join(out) if len(zeros) <= 1 else None


def read_number(raw: object, field: str, label: str, *, unit: str | None = None,
                fits: Callable[[Decimal], bool] | None = None,
                limits: str | None = None) -> Reading:
    """Read one entered number by the rules of this module.

    Parameters
    ----------
    raw
        What was entered: text (form, CLI, CSV, JSON strings), a JSON number or a Decimal.
    field, label
        The interface name (carried by the error) and the label a person knows the field
        by (used in every message).
    unit
        The unit the number was entered in (an interface code such as ``10^9/L``).
    fits
        Whether a reading, in ``unit``, is within the field's hard limits; it decides
        a number whose mark may be a thousands separator. Without it such a number is
        refused.
    limits
        The hard limits as a person reads them (e.g. "10–60 g/L"), quoted when neither
        reading of such a number fits.

    Raises
    ------
    InputError
        Naming the field by ``label``, quoting what was entered, with a hint.

    Examples
    --------
    >>> read_number("3,5", "albumin", "Serum albumin").value
    Decimal('3.5')
    >>> def afp_fits(v): return 0 <= v <= 5_000_000
    >>> read_number("12,500", "afp", "AFP", unit="ng/mL", fits=afp_fits)
    Traceback (most recent call last):
    ...
    calculator.errors.InputError: AFP '12,500' could be 12.5 or 12500 ng/mL: a comma or \
point before three digits may be a thousands separator (enter 12.5 or 12500, without a \
thousands separator)
    >>> def cells_fit(v): return 50 <= v <= 50_000   # cells/uL
    >>> read_number("1,100", "lymphocytes", "Lymphocytes", unit="cells/uL", fits=cells_fit)
    Reading(value=Decimal('1100'), note="Lymphocytes '1,100' was read as 1100 cells/µL: \
the comma was taken as a thousands separator, because 1.1 cells/µL is not a possible value")
    """
    def refuse(message: str, hint: str | None = None) -> InputError:
        text = f"{message} ({hint})" if hint else message
        return InputError(field, raw, unit, "a plain decimal number", text, hint)

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise refuse(f"{label} is required; enter a number")
    if isinstance(raw, bool):
        raise refuse(f"{label} must be a number; got {raw!r}")
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # the shortest decimal that round-trips: what was typed
    elif isinstance(raw, str):
        return _read_text(raw, label, unit, fits, limits, refuse)
    else:
        raise refuse(f"{label} must be a number; got {type(raw).__name__}")
    if not value.is_finite():
        raise refuse(f"{label} must be a finite number; got {shown(raw)}")
    _check_size(value, raw, label, refuse)
    return Reading(value)


def _check_size(value: Decimal, raw: object, label: str,
                refuse: _Refuse) -> None:
    if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_MAGNITUDE:
        raise refuse(f"{label} has too many digits to be a lab value as reported; got "
                     f"{shown(raw)}", f"enter the value as the laboratory reports it, with "
                                      f"at most {MAX_DIGITS} significant digits")


def _read_text(raw: str, label: str, unit: str | None,
               fits: Callable[[Decimal], bool] | None, limits: str | None,
               refuse: _Refuse) -> Reading:
    """The rules for text, in the order that gives the most helpful message."""
    got = f"got {shown(raw)}"
    stripped = raw.strip()
    if len(stripped) > MAX_CHARS:
        raise refuse(f"{label} has too many digits to be a lab value as reported; {got}",
                     "enter the value as the laboratory reports it")
    text = ascii_digits(stripped)
    if text is None:
        raise refuse(f"{label} mixes digits of different scripts; {got}",
                     "use the digits 0-9 throughout")
    explicit_mark = ARABIC_DECIMAL_SEPARATOR in text
    text = text.replace(ARABIC_DECIMAL_SEPARATOR, ".")
    if text.lower().lstrip("+-") in _NOT_FINITE:
        raise refuse(f"{label} must be a finite number; {got}")
    if _EXPONENT.fullmatch(text):
        raise refuse(f"{label} must be written without an exponent; {got}",
                     _written_out(text))
    if text.startswith("+"):
        raise refuse(f"{label} must be a plain number without a plus sign; {got}",
                     "write it without the sign")
    if "_" in text:
        raise refuse(f"{label} must be a plain number without underscores; {got}",
                     "write it with digits and at most one decimal mark only")
    if ARABIC_THOUSANDS_SEPARATOR in text or "'" in text:
        raise refuse(f"{label} must be a plain number without thousands separators; {got}",
                     "write it without separators, e.g. 12500")
    if _SPACED_DIGITS.fullmatch(text):
        raise refuse(f"{label} must be a plain number without spaces; {got}",
                     "write it without spaces or thousands separators, e.g. 12500")
    if _NUMBER_THEN_TEXT.match(text):
        raise refuse(f"{label} must be a number only; {got}",
                     "enter the number alone and choose its unit separately")
    if _SEVERAL_MARKS.fullmatch(text) and any(c.isdigit() for c in text):
        raise refuse(f"{label} must be a plain number with at most one decimal mark; {got}",
                     "write it without thousands separators, e.g. 1234.5 or 1234,5")
    if not _PLAIN.fullmatch(text):
        raise refuse(f"{label} must be a number; {got}")
    decimal_text = text.replace(",", ".")
    try:
        value = Decimal(decimal_text)
    except InvalidOperation:  # pragma: no cover - _PLAIN admits only valid decimals
        raise refuse(f"{label} must be a number; {got}") from None
    if explicit_mark or not _MAY_BE_GROUPED.fullmatch(text):
        _check_size(value, raw, label, refuse)
        return Reading(value)
    return _resolve_grouping(raw, value, Decimal(re.sub(r"[.,]", "", text)), label, unit,
                             fits, limits, refuse)


def _written_out(text: str) -> str:
    """The hint for a number written with an exponent: the same number written out."""
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - _EXPONENT admits only valid decimals
        value = Decimal(0)
    if value.is_finite() and abs(value.adjusted()) <= MAX_MAGNITUDE:
        return f"write the number out in full: {plain(value)}"
    return "write the number out in full, as the laboratory reports it"


def _resolve_grouping(raw: str, as_decimal: Decimal, as_grouped: Decimal, label: str,
                      unit: str | None, fits: Callable[[Decimal], bool] | None,
                      limits: str | None,
                      refuse: _Refuse) -> Reading:
    """Decide "12,500": grouping or decimal mark, by which reading the limits admit."""
    decimal_fits = fits is not None and fits(as_decimal)
    grouped_fits = fits is not None and fits(as_grouped)
    small, large = plain(as_decimal), plain(as_grouped)
    mark = "comma" if "," in raw else "point"
    if grouped_fits and not decimal_fits:
        return Reading(as_grouped, f"{label} {shown(raw)} was read as "
                                   f"{with_unit(large, unit)}: the {mark} was taken as a "
                                   f"thousands separator, because {with_unit(small, unit)} "
                                   "is not a possible value")
    if decimal_fits and not grouped_fits:
        return Reading(as_decimal)
    both = f"{label} {shown(raw)} could be {small} or {with_unit(large, unit)}"
    if fits is not None and not decimal_fits:
        raise refuse(f"{both}, and neither is within the limits"
                     + (f" ({limits})" if limits else ""), "check the value and its unit")
    raise refuse(f"{both}: a comma or point before three digits may be a thousands "
                 "separator", f"enter {small} or {large}, without a thousands separator")
