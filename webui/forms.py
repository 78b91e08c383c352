"""The bedside form: its fields, choices and the raw values handed to the scoring core.

The form validates nothing itself except its CSRF token (Flask-WTF): every value goes to
:func:`calculator.score` exactly as typed, so the core is the single place that decides
what is valid and words the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from flask import request
from flask_wtf import FlaskForm
from wtforms import StringField

from calculator.child_pugh import ASCITES, CLASSES, ENCEPHALOPATHY
from calculator.labels import LABELS, pretty_unit
from calculator.profile import CHILD_PUGH_ITEMS, FIELDS, REQUIRED
from calculator.units import QUANTITIES
from webui.defaults import FORM_UNITS

#: Quantities whose unit the form lets the user choose (INR is unitless).
UNIT_FIELDS: Final = tuple(name for name in QUANTITIES if len(QUANTITIES[name].units) > 1)

#: Every key the form hands to the core.
INPUT_NAMES: Final = tuple(
    key for name in FIELDS
    for key in ((name, f"{name}_unit") if name in UNIT_FIELDS else (name,)))


def input_group(key: str) -> str:
    """The input a key belongs to: ``albumin_unit`` -> ``albumin``; others unchanged.

    >>> input_group("albumin_unit"), input_group("inr"), input_group("weight_unit")
    ('albumin', 'inr', 'weight_unit')
    """
    base = key.removesuffix("_unit")
    return base if base != key and base in FIELDS else key


#: The order in which the inputs appear on the page (the Child-Pugh class before its items).
DISPLAY_ORDER: Final = (
    *(key for key in INPUT_NAMES if input_group(key) in REQUIRED),
    "lab_date",
    "child_pugh_class",
    *(key for key in INPUT_NAMES if input_group(key) in CHILD_PUGH_ITEMS),
)

_CHOICE_LABELS: Final = MappingProxyType({
    "ascites": {"none": "None", "mild": "Mild", "moderate-severe": "Moderate to severe"},
    "encephalopathy": {"none": "None", "grade-1-2": "Grade 1–2", "grade-3-4": "Grade 3–4"},
    "child_pugh_class": {"A": "A (5–6 points)", "B": "B (7–9 points)",
                         "C": "C (10–15 points)"},
})
for _name, _codes in (("ascites", ASCITES), ("encephalopathy", ENCEPHALOPATHY),
                      ("child_pugh_class", CLASSES)):
    if tuple(_CHOICE_LABELS[_name]) != tuple(_codes):  # the core's codes changed
        raise ValueError(f"labels for {_name} do not match the core's choices {_codes}")

NOT_GIVEN: Final = ("", "not given")


def choice_label(name: str, code: str) -> str:
    """The label shown for a categorical code (``grade-1-2`` -> ``Grade 1-2``)."""
    labels: Mapping[str, str] = _CHOICE_LABELS.get(name, {})
    return labels.get(code, code)


def options(key: str) -> tuple[tuple[str, str], ...]:
    """The (value, label) pairs of a selector: a unit (``albumin_unit``), a categorical
    input or ``extrahepatic_spread``."""
    name = input_group(key)
    if key != name:
        return tuple((u, pretty_unit(u)) for u in QUANTITIES[name].units)
    if key == "extrahepatic_spread":
        return (("yes", "Yes, present"), ("no", "No"))
    return (NOT_GIVEN, *_CHOICE_LABELS[key].items())


def _unit_field(name: str) -> StringField:
    return StringField(f"{LABELS[name]} unit", default=FORM_UNITS[name])


class ScoreForm(FlaskForm):
    """The calculator's form; field names are the interface names of the core.

    Every field is plain text to WTForms: the templates draw the selectors from
    :func:`options`, and the core, not WTForms, checks the choices.
    """

    albumin = StringField(LABELS["albumin"])
    albumin_unit = _unit_field("albumin")
    lymphocytes = StringField(LABELS["lymphocytes"])
    lymphocytes_unit = _unit_field("lymphocytes")
    afp = StringField(LABELS["afp"])
    afp_unit = _unit_field("afp")
    extrahepatic_spread = StringField(LABELS["extrahepatic_spread"], default="")
    bilirubin = StringField(LABELS["bilirubin"])
    bilirubin_unit = _unit_field("bilirubin")
    inr = StringField(LABELS["inr"])
    ascites = StringField(LABELS["ascites"], default="")
    encephalopathy = StringField(LABELS["encephalopathy"], default="")
    child_pugh_class = StringField(LABELS["child_pugh_class"], default="")
    lab_date = StringField(LABELS["lab_date"])

    def raw_inputs(self) -> dict[str, str]:
        """What was posted for each input, as typed; ``""`` for what was not posted.

        Only the interface names are returned (never the CSRF token), read from the
        request body: a query string is never consulted.
        """
        return {name: (self[name].raw_data or [""])[0] for name in INPUT_NAMES}


def posted_form() -> ScoreForm:
    """The form as posted: read from the form-encoded body only (never from a JSON body,
    which Flask-WTF would otherwise read, nor from the query string)."""
    return ScoreForm(formdata=request.form)
