"""How numbers, units and factor names are written on the pages (Jinja filters).

Formatting only: every value comes from the scoring core or :mod:`calculator.published`.
"""

from __future__ import annotations

import math
from typing import Final

from flask import Flask

from calculator.formatting import written
from calculator.labels import (
    ENDPOINT_NAMES,
    FACTOR_NAMES,
    GROUP_NAMES,
    factor_name,
    label,
    pretty_unit,
)
from webui.forms import choice_label

DASH: Final = "–"


def number(value: object) -> str:
    """A number as a person writes it: no exponent, no trailing zeros; ``–`` for None.

    >>> number(35.0), number(0.0011), number(5000000.0), number(None), number("3,5")
    ('35', '0.0011', '5000000', '–', '3,5')
    """
    return DASH if value is None else written(value)


def significant(value: float | None, digits: int = 3) -> str:
    """A ratio to ``digits`` significant digits but at most two decimals, trailing zeros
    kept, as the paper prints hazard ratios.

    >>> significant(4.1667), significant(11.111), significant(20.0), significant(5.0)
    ('4.17', '11.1', '20.0', '5.00')
    >>> significant(0.75), significant(0.0912)
    ('0.75', '0.09')
    """
    if value is None:
        return DASH
    if value == 0 or not math.isfinite(value):
        return str(value)
    decimals = min(max(digits - 1 - math.floor(math.log10(abs(value))), 0), 2)
    return f"{value:.{decimals}f}"


def fixed(value: float | None, decimals: int = 2) -> str:
    """A figure with a fixed number of decimals, as a table prints it: ``0.2`` -> ``0.20``."""
    return DASH if value is None else f"{value:.{decimals}f}"


def interval(ci: tuple[float, float] | list[float]) -> str:
    """A 95% CI written ``1.01–3.86``."""
    return f"{significant(ci[0])}–{significant(ci[1])}"


def p_value(p: float | None) -> str:
    """``0.049`` as printed; ``–`` where the paper gives none."""
    return DASH if p is None else number(p)


def unit(code: str | None) -> str:
    return "" if not code else pretty_unit(code)


SHORT_FACTOR_NAMES: Final = {
    **FACTOR_NAMES,
    "afp": FACTOR_NAMES["afp"].rsplit(" ", 1)[0],  # AFP ≥ 200, without the unit
    "extrahepatic_spread": "Spread",
    "child_pugh": "Child-Pugh B/C",
}


def input_label(key: str) -> str:
    """The label of an input (or of ``child_pugh``, the score made from its items)."""
    return label(key)


def entered_value(item: dict[str, object]) -> str:
    """An ``inputs[]`` entry's value as entered (a choice by its label)."""
    entered = item.get("entered")
    if item.get("field") in ("ascites", "encephalopathy", "child_pugh_class"):
        return choice_label(str(item["field"]), str(entered).strip())
    return number(entered)


def used_value(item: dict[str, object]) -> str:
    """An ``inputs[]`` entry's value as used by the calculator."""
    value = item.get("value")
    if isinstance(value, bool):
        return "present" if value else "absent"
    if isinstance(value, str):
        return choice_label(str(item["field"]), value)
    return number(value)


def group_name(group: str) -> str:
    """A published median's group as a heading: ``afp_high`` -> ``AFP ≥ 200 ng/mL``."""
    return GROUP_NAMES.get(group, group)


def endpoint_name(endpoint: str) -> str:
    """``os`` -> ``Overall survival``."""
    return ENDPOINT_NAMES.get(endpoint, endpoint)


def register_filters(app: Flask) -> None:
    """Make the formatting functions available to the templates."""
    app.jinja_env.filters.update(
        number=number, sig=significant, fixed=fixed, ci=interval, p=p_value, unit=unit,
        factor_name=factor_name, input_label=input_label, entered=entered_value,
        used=used_value, group_name=group_name, endpoint_name=endpoint_name)
