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
from datetime import date
from decimal import Decimal
from typing import Final

from calculator.errors import InputError, shown
from calculator.formatting import plain
from calculator.labels import LABELS, pretty_unit, with_unit
from calculator.number_entry import read_number
from calculator.published import AFP_CUTOFF, TABLE1

Quality = str  # "ok" | "outside-study-range" | "converted"

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
        """The hard limits in the canonical unit, ASCII (the error JSON's ``allowed``)."""
        return f"{plain(self.hard_low)}-{plain(self.hard_high)} {self.canonical_unit}".strip()

    @property
    def limits_text(self) -> str:
        """The hard limits as a person reads them: ``10–60 g/L``."""
        return with_unit(f"{plain(self.hard_low)}–{plain(self.hard_high)}",
                         self.canonical_unit)

    def fits(self, entered: Decimal, unit: str) -> bool:
        """Whether ``entered`` in ``unit`` is within the hard limits."""
        return self.hard_low <= entered * self.units[unit] <= self.hard_high


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
        "albumin", LABELS["albumin"], "g/L", {"g/L": Decimal(1), "g/dL": Decimal(10)},
        Decimal(10), Decimal(60), *_study("albumin_g_l")),
    # Lymphocytes: below 0.05 x 10^9/L (50 cells/uL) is beneath the resolution of an
    # automated differential and is what a count in 10^9/L typed as cells/uL produces;
    # above 50 x 10^9/L only a lymphoproliferative disorder gives, where PNI is meaningless.
    "lymphocytes": Quantity(
        "lymphocytes", LABELS["lymphocytes"], "10^9/L",
        {"10^9/L": Decimal(1), "10^3/uL": Decimal(1), "cells/uL": Decimal("0.001")},
        Decimal("0.05"), Decimal(50), *_study("lymphocytes_10e9_l")),
    # AFP: 0 is "undetectable"; the highest AFP concentrations reported in HCC are in the
    # low millions of ng/mL, so above 5,000,000 ng/mL is taken as an entry error.
    "afp": Quantity(
        "afp", LABELS["afp"], "ng/mL",
        {"ng/mL": Decimal(1), "ug/L": Decimal(1), "IU/mL": Decimal("1.21")},
        Decimal(0), Decimal(5_000_000), *_study("afp_ng_ml"),
        unit_caveats={"IU/mL": AFP_IU_CAVEAT}),
    # Bilirubin: 0 is "below the detection limit"; the study itself reports up to 68
    # mg/dL, and above 100 mg/dL (1,710 umol/L) no liver failure produces.
    "bilirubin": Quantity(
        "bilirubin", LABELS["bilirubin"], "mg/dL",
        {"mg/dL": Decimal(1), "umol/L": Decimal(1) / Decimal("17.1")},
        Decimal(0), Decimal(100), *_study("bilirubin_mg_dl")),
    # INR: a ratio; below 0.5 is not produced by any coagulation state, and above 20 is
    # beyond the measuring range of routine coagulometers.
    "inr": Quantity(
        "inr", LABELS["inr"], "", {"": Decimal(1)},
        Decimal("0.5"), Decimal(20), *_study("inr"),
        range_hint="the INR is a unitless ratio, usually 0.8-3; was a prothrombin time "
                   "in seconds or an activity in % entered?"),
}

_UNIT_ALIASES: Final = {
    "g/l": "g/L", "g/dl": "g/dL",
    "10^9/l": "10^9/L", "x10^9/l": "10^9/L", "10e9/l": "10^9/L", "g/l(cells)": "10^9/L",
    "×10⁹/l": "10^9/L", "10⁹/l": "10^9/L", "x10⁹/l": "10^9/L",
    "10^3/ul": "10^3/uL", "x10^3/ul": "10^3/uL", "10e3/ul": "10^3/uL", "k/ul": "10^3/uL",
    "×10³/ul": "10^3/uL", "10³/ul": "10^3/uL", "x10³/ul": "10^3/uL",
    "cells/ul": "cells/uL", "/ul": "cells/uL", "cells/mm^3": "cells/uL", "/mm^3": "cells/uL",
    "cells/mm3": "cells/uL", "/mm3": "cells/uL", "cells/mm³": "cells/uL", "/mm³": "cells/uL",
    "ng/ml": "ng/mL", "ug/l": "ug/L", "iu/ml": "IU/mL",
    "mg/dl": "mg/dL", "umol/l": "umol/L",
}


@dataclass(frozen=True)
class Measurement:
    """One quantity as entered and as used.

    ``date`` is the day the sample was taken, where known (the form's lab date, or a
    FHIR Observation's effective date).
    """

    field: str
    entered: object
    unit: str
    value: Decimal
    canonical_unit: str
    quality: Quality
    warnings: tuple[str, ...] = ()
    date: date | None = None


def parse_unit(quantity: Quantity, raw: object) -> str:
    """The accepted unit spelled as its code (``"g/dl"`` -> ``"g/dL"``, ``"cells/µL"`` ->
    ``"cells/uL"``, ``"×10⁹/L"`` -> ``"10^9/L"``), or an error naming the choices.

    >>> parse_unit(QUANTITIES["lymphocytes"], "×10⁹/L")
    '10^9/L'
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return quantity.default_unit
    choices = ", ".join(pretty_unit(u) for u in quantity.units if u) or "none (unitless)"
    problem = InputError(f"{quantity.field}_unit", raw, None,
                         ", ".join(u for u in quantity.units if u) or "none (unitless)",
                         f"the unit of {quantity.label} must be one of {choices}; "
                         f"got {shown(raw)}")
    if not isinstance(raw, str):
        raise problem
    key = raw.strip().replace(" ", "")
    if key in quantity.units:
        return key
    folded = key.replace("\u00b5", "u").replace("\u03bc", "u")
    if folded in quantity.units:
        return folded
    alias = _UNIT_ALIASES.get(key.lower()) or _UNIT_ALIASES.get(folded.lower())
    if alias is not None and alias in quantity.units:
        return alias
    raise problem


def _unit_slip_hint(quantity: Quantity, entered: Decimal, unit: str) -> str | None:
    """Name another accepted unit in which the entered number would be plausible."""
    for other, factor in quantity.units.items():
        if factor == quantity.units[unit]:
            continue
        if quantity.study_low <= entered * factor <= quantity.study_high:
            return f"looks like {pretty_unit(other)}; choose {pretty_unit(other)} as the unit"
    return quantity.range_hint


def measure(field: str, raw: object, raw_unit: object = None) -> Measurement:
    """Read one lab value, convert it to the canonical unit and check its limits.

    >>> m = measure("albumin", "3,5", "g/dL")
    >>> m.value, m.canonical_unit, m.quality
    (Decimal('35.0'), 'g/L', 'converted')
    >>> measure("lymphocytes", "1,100", "cells/uL").value
    Decimal('1.100')
    """
    quantity = QUANTITIES[field]
    unit = parse_unit(quantity, raw_unit)
    reading = read_number(raw, field, quantity.label, unit=unit,
                          fits=lambda entered: quantity.fits(entered, unit),
                          limits=quantity.limits_text)
    entered = reading.value
    value = entered * quantity.units[unit]
    if not quantity.hard_low <= value <= quantity.hard_high:
        hint = ("a concentration or count cannot be negative" if entered < 0
                else _unit_slip_hint(quantity, entered, unit))
        converted = ("" if unit == quantity.canonical_unit
                     else f" = {with_unit(plain(value), quantity.canonical_unit)}")
        message = (f"{quantity.label} must be between {plain(quantity.hard_low)} and "
                   f"{with_unit(plain(quantity.hard_high), quantity.canonical_unit)}; got "
                   f"{with_unit(plain(entered), unit)}{converted}")
        if hint:
            message += f" ({hint})"
        raise InputError(field, raw, unit, quantity.allowed, message, hint)
    warnings: list[str] = [reading.note] if reading.note else []
    quality: Quality = "ok" if unit == quantity.canonical_unit else "converted"
    if not quantity.study_low <= value <= quantity.study_high:
        quality = "outside-study-range"
        warnings.append(
            f"{quantity.label} {with_unit(plain(value), quantity.canonical_unit)} is outside "
            f"the study's range ({plain(quantity.study_low)}–"
            f"{with_unit(plain(quantity.study_high), quantity.canonical_unit)}); the model "
            "was not derived on such values")
    if quantity.unit_caveats and unit in quantity.unit_caveats:
        warnings.append(quantity.unit_caveats[unit])
    return Measurement(field, raw, unit, value, quantity.canonical_unit, quality,
                       tuple(warnings))
