"""Short help shown under each form field: what it is, its unit and where the cut-off is.

Every number is read from the scoring core (cut-offs from :mod:`calculator.published`,
study ranges and unit factors from :mod:`calculator.units`).
"""

from __future__ import annotations

from typing import Final

from calculator import published
from calculator.formatting import plain
from calculator.lab_dates import MAX_AGE_DAYS
from calculator.labels import pretty_unit
from calculator.units import QUANTITIES

PNI_FORMULA: Final = ("Prognostic Nutritional Index (PNI) = albumin (g/L) + 5 × "
                      "lymphocytes (×10⁹/L)")


def study_range(name: str) -> str:
    """The range of a quantity among the study's patients (Table 1), in canonical units."""
    q = QUANTITIES[name]
    unit = f" {pretty_unit(q.canonical_unit)}" if q.canonical_unit else ""
    return f"Study range {plain(q.study_low)}–{plain(q.study_high)}{unit}."


def _pni_help(what: str) -> str:
    return (f"{what} Enters the {PNI_FORMULA}; a PNI below "
            f"{plain(published.PNI_CUTOFF.value)} is adverse.")


def _afp_help() -> str:
    cutoff = published.AFP_CUTOFF
    iu = QUANTITIES["afp"].units["IU/mL"]
    return (f"Serum alpha-fetoprotein. Adverse if ≥ {plain(cutoff.value)} {cutoff.unit}; "
            f"IU/mL is converted at 1 IU/mL = {plain(iu)} ng/mL (assay-dependent).")


def _child_pugh_help() -> str:
    p = published.table4_row("child_pugh").adverse().p
    p_text = f"p = {plain(p)}" if p is not None else "p not reported"
    return ("Give the class if you know it, or instead all four items below (albumin is "
            "taken from above); leave both empty to skip. Child-Pugh was not an "
            f"independent predictor in the study (multivariable {p_text}): it is "
            "shown for context and left out of the combined hazard.")


def field_help() -> dict[str, str]:
    """Help text by input name."""
    return {
        "albumin": f"{_pni_help('Serum albumin from the same blood draw.')} "
                   f"{study_range('albumin')}",
        "lymphocytes": f"{_pni_help('Absolute count from the differential, not the %.')} "
                       f"{study_range('lymphocytes')}",
        "afp": f"{_afp_help()} {study_range('afp')}",
        "extrahepatic_spread": "Metastasis outside the liver (e.g. lung, bone, distant "
                               "nodes) on current imaging. Adverse if present.",
        "child_pugh_class": _child_pugh_help(),
        "bilirubin": f"Total serum bilirubin, for Child-Pugh. {study_range('bilirubin')}",
        "inr": f"International normalised ratio, unitless, for Child-Pugh. "
               f"{study_range('inr')}",
        "ascites": "Clinical or imaging grade, for Child-Pugh.",
        "encephalopathy": "West Haven grade, for Child-Pugh.",
        "lab_date": f"The day the blood was drawn; a warning follows if it is more than "
                    f"{MAX_AGE_DAYS} days before today or in the future.",
    }
