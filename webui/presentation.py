"""How numbers, units and factor names are written on the pages (Jinja filters).

Formatting only: every value comes from the scoring core or :mod:`calculator.published`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Final

from flask import Flask

from calculator import published
from webui.field_help import plain
from webui.forms import LABELS, choice_label, pretty_unit

DASH: Final = "–"


def number(value: object) -> str:
    """A number as a person writes it: no exponent, no trailing zeros; ``–`` for None.

    >>> number(35.0), number(0.0011), number(5000000.0), number(None), number("3,5")
    ('35', '0.0011', '5000000', '–', '3,5')
    """
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return plain(Decimal(repr(value)) if isinstance(value, float) else value)


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


FACTOR_NAMES: Final = {
    "afp": f"AFP ≥ {plain(published.AFP_CUTOFF.value)} {published.AFP_CUTOFF.unit}",
    "extrahepatic_spread": "Extrahepatic spread",
    "pni": f"PNI < {plain(published.PNI_CUTOFF.value)}",
    "child_pugh": "Child-Pugh B or C",
}

SHORT_FACTOR_NAMES: Final = {
    "afp": f"AFP ≥ {plain(published.AFP_CUTOFF.value)}",
    "extrahepatic_spread": "Spread",
    "pni": f"PNI < {plain(published.PNI_CUTOFF.value)}",
    "child_pugh": "Child-Pugh B/C",
}


def factor_name(name: str) -> str:
    """The adverse level of a factor, as a heading: ``pni`` -> ``PNI < 47.6``."""
    return FACTOR_NAMES.get(name, name)


def input_label(key: str) -> str:
    """The label of an input (or of ``child_pugh``, the score made from its items)."""
    return LABELS.get(key) or {"child_pugh": "Child-Pugh"}.get(key, key)


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


def register_filters(app: Flask) -> None:
    """Make the formatting functions available to the templates."""
    app.jinja_env.filters.update(
        number=number, sig=significant, fixed=fixed, ci=interval, p=p_value, unit=unit,
        factor_name=factor_name, input_label=input_label, entered=entered_value,
        used=used_value)
