"""How the inputs and units are named where a person reads them.

The interface names (``albumin``, ``extrahepatic_spread``, ``10^9/L``) are the contract of
the JSON, the CLI flags and the CSV columns; a person reads the labels and the typeset
units below, in every message, on the form, on the result and in the terminal. One table,
so the form's label and the message next to it always agree.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from calculator.formatting import plain
from calculator.published import AFP_CUTOFF, PNI_CUTOFF

#: The label of each input as the form shows it; messages name fields by these.
LABELS: Final = MappingProxyType({
    "albumin": "Serum albumin",
    "lymphocytes": "Absolute lymphocyte count",
    "afp": "AFP (alpha-fetoprotein)",
    "extrahepatic_spread": "Extrahepatic spread",
    "bilirubin": "Total bilirubin",
    "inr": "INR",
    "ascites": "Ascites",
    "encephalopathy": "Hepatic encephalopathy",
    "child_pugh_class": "Child-Pugh class",
    "child_pugh": "Child-Pugh",
    "lab_date": "Date of these labs",
    "pni": "Prognostic Nutritional Index (PNI)",
})

#: Each factor by its adverse level, as a heading or a list item reads it.
FACTOR_NAMES: Final = MappingProxyType({
    "afp": f"AFP ≥ {format(AFP_CUTOFF.value.normalize(), 'f')} {AFP_CUTOFF.unit}",
    "extrahepatic_spread": "Extrahepatic spread",
    "pni": f"PNI < {plain(PNI_CUTOFF.value)}",
    "child_pugh": "Child-Pugh B or C",
})

_AFP = plain(AFP_CUTOFF.value)
#: The groups of the published Kaplan-Meier medians.
GROUP_NAMES: Final = MappingProxyType({
    "all": "Whole cohort", "afp_high": f"AFP ≥ {_AFP} {AFP_CUTOFF.unit}",
    "afp_low": f"AFP < {_AFP} {AFP_CUTOFF.unit}", "sorafenib": "Sorafenib",
    "regorafenib": "Regorafenib", "cabozantinib": "Cabozantinib",
})
ENDPOINT_NAMES: Final = MappingProxyType({"os": "Overall survival",
                                          "pfs": "Progression-free survival"})

#: Unit codes of the interface and how they are typeset (the codes stay ASCII so they
#: can be typed; the typeset forms are accepted back as units too).
_TYPESET: Final = (("10^9", "×10⁹"), ("10^3", "×10³"), ("uL", "µL"), ("ug/", "µg/"),
                   ("umol", "µmol"))


def label(name: str) -> str:
    """The label of an input, or the name itself for an unknown one.

    >>> label("extrahepatic_spread"), label("weight")
    ('Extrahepatic spread', 'weight')
    """
    return LABELS.get(name, name)


def pretty_unit(unit: str | None) -> str:
    """A unit code as people write it: ``10^9/L`` -> ``×10⁹/L``, ``uL`` -> ``µL``.

    >>> pretty_unit("10^3/uL"), pretty_unit("umol/L"), pretty_unit("g/dL"), pretty_unit(None)
    ('×10³/µL', 'µmol/L', 'g/dL', '')
    """
    text = unit or ""
    for code, typeset in _TYPESET:
        text = text.replace(code, typeset)
    return text


def with_unit(number: str, unit: str | None) -> str:
    """``number`` followed by its typeset unit, if it has one.

    >>> with_unit("1.1", "10^9/L"), with_unit("1.1", "")
    ('1.1 ×10⁹/L', '1.1')
    """
    shown = pretty_unit(unit)
    return f"{number} {shown}" if shown else number


def factor_name(name: str) -> str:
    """A factor by its adverse level: ``pni`` -> ``PNI < 47.6``.

    >>> factor_name("afp")
    'AFP ≥ 200 ng/mL'
    """
    return FACTOR_NAMES.get(name, name)
