"""Reading lab values as entered: numbers, units, plausibility limits and unit-slip hints.

Every quantity is converted to its canonical unit in exact decimal arithmetic, so a
value entered as 3.76 g/dL becomes exactly 37.6 g/L. Each quantity has two ranges:

* hard limits: outside them the value is not a plausible result in that unit, so it is
  an error (never scored);
* the study's range (Table 1 of the paper): outside it the value is possible but the
  model was not derived on such patients, so it is a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from calculator.errors import InputError
from calculator.published import AFP_CUTOFF, TABLE1

Quality = str  # "ok" | "outside-study-range" | "converted"

#: Largest number of significant digits, and of decimal places or integer digits, read.
MAX_DIGITS: Final = 17
MAX_MAGNITUDE: Final = 9


@dataclass(frozen=True)
class Quantity:
    """A lab quantity: its units, limits and the reason for the limits."""

    field: str
    label: str
    canonical_unit: str
    #: accepted unit -> factor that turns a value in that unit into the canonical unit
    units: Mapping[str, Decimal]
    hard_low: Decimal
    hard_high: Decimal
    study_low: Decimal
    study_high: Decimal
    #: extra hint shown when a value is out of range and no other unit explains it
    range_hint: str | None = None
    #: warning attached whenever the value was entered in a given unit
    unit_caveats: Mapping[str, str] | None = None

    @property
    def default_unit(self) -> str:
        return self.canonical_unit

    @property
    def allowed(self) -> str:
        return f"{_fmt(self.hard_low)}-{_fmt(self.hard_high)} {self.canonical_unit}".strip()


def _study(key: str) -> tuple[Decimal, Decimal]:
    low, high = TABLE1[key]["range"]
    return Decimal(str(low)), Decimal(str(high))


AFP_IU_CAVEAT: Final = (
    "AFP was converted from IU/mL with 1 IU/mL = 1.21 ng/mL (WHO standard 72/225); the "
    "factor depends on the assay, so check it with your laboratory near the "
    f"{AFP_CUTOFF.value} ng/mL cut-off.")

QUANTITIES: Final[dict[str, Quantity]] = {
    # Albumin: below 10 g/L is under the reporting range of bromocresol-green/purple
    # assays and incompatible with an ambulant patient; above 60 g/L exceeds what even
    # severe haemoconcentration produces (reference interval about 35-52 g/L).
    "albumin": Quantity(
        "albumin", "albumin", "g/L", {"g/L": Decimal(1), "g/dL": Decimal(10)},
        Decimal(10), Decimal(60), *_study("albumin_g_l")),
    # Lymphocytes: below 0.05 x 10^9/L (50 cells/uL) is beneath the resolution of an
    # automated differential and is what a count in 10^9/L typed as cells/uL produces;
    # above 50 x 10^9/L only a lymphoproliferative disorder gives, where PNI is meaningless.
    "lymphocytes": Quantity(
        "lymphocytes", "lymphocytes", "10^9/L",
        {"10^9/L": Decimal(1), "10^3/uL": Decimal(1), "cells/uL": Decimal("0.001")},
        Decimal("0.05"), Decimal(50), *_study("lymphocytes_10e9_l")),
    # AFP: 0 is "undetectable"; the highest AFP concentrations reported in HCC are in the
    # low millions of ng/mL, so above 5,000,000 ng/mL is taken as an entry error.
    "afp": Quantity(
        "afp", "AFP", "ng/mL",
        {"ng/mL": Decimal(1), "ug/L": Decimal(1), "IU/mL": Decimal("1.21")},
        Decimal(0), Decimal(5_000_000), *_study("afp_ng_ml"),
        unit_caveats={"IU/mL": AFP_IU_CAVEAT}),
    # Bilirubin: 0 is "below the detection limit"; the study itself reports up to 68
    # mg/dL, and above 100 mg/dL (1,710 umol/L) no liver failure produces.
    "bilirubin": Quantity(
        "bilirubin", "bilirubin", "mg/dL",
        {"mg/dL": Decimal(1), "umol/L": Decimal(1) / Decimal("17.1")},
        Decimal(0), Decimal(100), *_study("bilirubin_mg_dl")),
    # INR: a ratio; below 0.5 is not produced by any coagulation state, and above 20 is
    # beyond the measuring range of routine coagulometers.
    "inr": Quantity(
        "inr", "INR", "", {"": Decimal(1)},
        Decimal("0.5"), Decimal(20), *_study("inr"),
        range_hint="the INR is a unitless ratio, usually 0.8-3; was a prothrombin time "
                   "in seconds or an activity in % entered?"),
}

_UNIT_ALIASES: Final = {
    "g/l": "g/L", "g/dl": "g/dL",
    "10^9/l": "10^9/L", "x10^9/l": "10^9/L", "10e9/l": "10^9/L", "g/l(cells)": "10^9/L",
    "10^3/ul": "10^3/uL", "x10^3/ul": "10^3/uL", "10e3/ul": "10^3/uL", "k/ul": "10^3/uL",
    "cells/ul": "cells/uL", "/ul": "cells/uL", "cells/mm^3": "cells/uL", "/mm^3": "cells/uL",
    "cells/mm3": "cells/uL", "/mm3": "cells/uL",
    "ng/ml": "ng/mL", "ug/l": "ug/L", "iu/ml": "IU/mL",
    "mg/dl": "mg/dL", "umol/l": "umol/L",
}


@dataclass(frozen=True)
class Measurement:
    """One quantity as entered and as used."""

    field: str
    entered: object
    unit: str
    value: Decimal
    canonical_unit: str
    quality: Quality
    warnings: tuple[str, ...] = ()


def _fmt(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 0.05, 60, 147314."""
    text = format(value.normalize(), "f")
    return text


def parse_number(field: str, raw: object, unit: str | None) -> Decimal:
    """An exact decimal from a JSON number, a Python number or text (decimal comma read).

    >>> parse_number("albumin", "3,5", "g/dL")
    Decimal('3.5')
    """
    def bad(message: str, hint: str | None = None) -> InputError:
        return InputError(field, raw, unit, "a finite number", message, hint)

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise bad(f"{field} is required; enter a number")
    if isinstance(raw, bool):
        raise bad(f"{field} must be a number; got {raw!r}")
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # the shortest decimal that round-trips: what was typed
    elif isinstance(raw, str):
        text = raw.strip().replace("\u2212", "-")
        if "," in text:
            if "." in text or text.count(",") > 1:
                raise bad(f"{field} must be a plain number; got {raw!r}",
                          "write it without thousands separators, e.g. 1100 or 3,5")
            text = text.replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise bad(f"{field} must be a number; got {raw!r}") from None
    else:
        raise bad(f"{field} must be a number; got {type(raw).__name__}")
    if not value.is_finite():
        raise bad(f"{field} must be a finite number; got {raw!r}")
    # Bounding the digits keeps every later sum and conversion exact within Decimal's
    # default 28-digit precision, which the exact PNI category relies on.
    if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_MAGNITUDE:
        raise bad(f"{field} is not a lab value as reported (too many digits or out of scale); got {raw!r}",
                  f"enter the value as the laboratory reports it (at most {MAX_DIGITS} "
                  "significant digits)")
    return value


def parse_unit(quantity: Quantity, raw: object) -> str:
    """The accepted unit spelled canonically (``"g/dl"`` -> ``"g/dL"``), or an error."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return quantity.default_unit
    choices = ", ".join(u for u in quantity.units if u) or "none (unitless)"
    if not isinstance(raw, str):
        raise InputError(f"{quantity.field}_unit", raw, None, choices,
                         f"{quantity.field}_unit must be one of {choices}; got {raw!r}")
    key = raw.strip().replace("\u00b5", "u").replace("\u03bc", "u").replace(" ", "")
    if key in quantity.units:
        return key
    alias = _UNIT_ALIASES.get(key.lower())
    if alias is not None and alias in quantity.units:
        return alias
    raise InputError(f"{quantity.field}_unit", raw, None, choices,
                     f"{quantity.field}_unit must be one of {choices}; got {raw!r}")


def _unit_slip_hint(quantity: Quantity, entered: Decimal, unit: str) -> str | None:
    """Name another accepted unit in which the entered number would be plausible."""
    for other, factor in quantity.units.items():
        if factor == quantity.units[unit]:
            continue
        if quantity.study_low <= entered * factor <= quantity.study_high:
            return f"looks like {other}; choose {other} as the unit"
    return quantity.range_hint


def measure(field: str, raw: object, raw_unit: object = None) -> Measurement:
    """Read one lab value, convert it to the canonical unit and check its limits.

    >>> m = measure("albumin", "3,5", "g/dL")
    >>> m.value, m.canonical_unit, m.quality
    (Decimal('35.0'), 'g/L', 'converted')
    """
    quantity = QUANTITIES[field]
    unit = parse_unit(quantity, raw_unit)
    entered = parse_number(field, raw, unit)
    value = entered * quantity.units[unit]
    shown_unit = f" {unit}" if unit else ""
    canonical = f" {quantity.canonical_unit}" if quantity.canonical_unit else ""
    if not quantity.hard_low <= value <= quantity.hard_high:
        hint = ("a concentration or count cannot be negative" if entered < 0
                else _unit_slip_hint(quantity, entered, unit))
        converted = "" if unit == quantity.canonical_unit else f" = {_fmt(value)}{canonical}"
        message = (f"{field} must be between {_fmt(quantity.hard_low)} and "
                   f"{_fmt(quantity.hard_high)}{canonical}; got "
                   f"{_fmt(entered)}{shown_unit}{converted}")
        if hint:
            message += f" ({hint})"
        raise InputError(field, raw, unit, quantity.allowed, message, hint)
    warnings: list[str] = []
    quality: Quality = "ok" if unit == quantity.canonical_unit else "converted"
    if not quantity.study_low <= value <= quantity.study_high:
        quality = "outside-study-range"
        warnings.append(
            f"{field} {_fmt(value)}{canonical} is outside the study's range "
            f"({_fmt(quantity.study_low)}-{_fmt(quantity.study_high)}{canonical}); the "
            f"model was not derived on such values")
    if quantity.unit_caveats and unit in quantity.unit_caveats:
        warnings.append(quantity.unit_caveats[unit])
    return Measurement(field, raw, unit, value, quantity.canonical_unit, quality,
                       tuple(warnings))
