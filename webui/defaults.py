"""The unit each lab value's selector shows first on the form: the one place to change it.

These are the units most hospital laboratories print on their reports, not the canonical
units of the scoring core (g/L, 10^9/L, ng/mL, mg/dL): a clinician copies a value from the
report and should only have to touch the unit selector when the report differs.

* albumin in g/dL: how many laboratories (the United States, Türkiye, where the study was
  done, and others) report it;
* lymphocytes in 10^3/uL: the unit of the study's own Table 1 and of most automated
  differentials (numerically the same as 10^9/L);
* AFP in ng/mL and bilirubin in mg/dL: the study's units and the usual report units.

A value typed in the wrong unit is caught by the core's plausibility limits, whose error
names the unit that fits (e.g. albumin 35 "g/dL" -> "looks like g/L").
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from calculator.units import QUANTITIES

FORM_UNITS: Final = MappingProxyType({
    "albumin": "g/dL",
    "lymphocytes": "10^3/uL",
    "afp": "ng/mL",
    "bilirubin": "mg/dL",
})

for _name, _unit in FORM_UNITS.items():  # fail at import, not at the bedside
    if _unit not in QUANTITIES[_name].units:
        raise ValueError(f"FORM_UNITS[{_name!r}] = {_unit!r} is not an accepted unit")
