"""Numbers, p-values, intervals and text tables as every command and report prints them.

One place for each rule, so ``score``, ``analyze``, ``summarize`` and the HTML reports
never disagree on how a p-value or a confidence interval reads. Pure functions of plain
numbers: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

#: Smallest p-value printed as a number; below it, ``<0.001``.
SMALLEST_SHOWN_P: Final = 0.001


def is_number(value: object) -> bool:
    """True for a finite int or float (not bool, not None, not NaN or infinite).

    >>> is_number(2), is_number(float("nan")), is_number(None), is_number(True)
    (True, False, False, False)
    """
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def number(value: float | None, fmt: str = ".1f", missing: str = "NA") -> str:
    """``value`` formatted with ``fmt``; ``missing`` for None, NaN or infinity.

    >>> number(6.54), number(None), number(0.1234, ".3f", "-")
    ('6.5', 'NA', '0.123')
    """
    return format(value, fmt) if is_number(value) else missing


def plain(value: Decimal | float) -> str:
    """A number written out in full, without exponent or trailing zeros; a float by its
    shortest exact decimal (its ``repr``).

    >>> plain(Decimal("12.500")), plain(Decimal("1.25E+4")), plain(0.05), plain(147314.0)
    ('12.5', '12500', '0.05', '147314')
    """
    if isinstance(value, Decimal):
        exact = value
    elif isinstance(value, int):
        exact = Decimal(value)
    else:   # float, or a numpy scalar (whose repr is not a plain number)
        exact = Decimal(repr(float(value)))
    return format(exact.normalize(), "f")


def written(value: object) -> str:
    """A number as a person writes it (:func:`plain`); text, booleans and non-finite
    numbers as ``str`` gives them.

    >>> written(35.0), written(0.0011), written(5000000.0), written("3,5"), written(True)
    ('35', '0.0011', '5000000', '3,5', 'True')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return plain(value)


def counted(k: int, noun: str) -> str:
    """``k`` and ``noun``, plural unless ``k`` is 1 (nouns that take an "s").

    >>> counted(1, "death"), counted(0, "patient"), counted(3, "adverse factor")
    ('1 death', '0 patients', '3 adverse factors')
    """
    return f"{k} {noun}{'' if k == 1 else 's'}"


def p_value(p: float | None, missing: str = "NA") -> str:
    """A p-value as tables print it: three decimals, ``<0.001`` below that.

    >>> p_value(0.0042), p_value(0.00002), p_value(None)
    ('0.004', '<0.001', 'NA')
    """
    if not is_number(p):
        return missing
    assert p is not None
    return "<0.001" if p < SMALLEST_SHOWN_P else f"{p:.3f}"


def interval(lower: float | None, upper: float | None, fmt: str = ".1f", *,
             missing: str = "NR", floor: float | None = None,
             mark: str | None = None) -> str:
    """A confidence interval as a person reads it.

    ``2.7–10.2`` with an en dash, ``−1.3 to 9.2`` with a true minus when a limit is
    negative (a dash would read as a minus), ``missing`` for a limit that does not exist.

    ``floor``: a quantity that cannot go below it (a time, a hazard ratio) shows a lower
    limit computed below the floor as the floor, marked as truncated; the computed value
    stays in the JSON. The symmetric median CI of a small group is the usual case. In a
    table, ``mark`` (e.g. ``"*"``) flags the limit instead, for a footnote to explain.

    >>> interval(2.7, 10.2), interval(-1.25, 9.2), interval(0.4, None)
    ('2.7–10.2', '−1.2 to 9.2', '0.4–NR')
    >>> interval(-1.25, 9.2, floor=0.0)
    '0.0–9.2 (lower limit truncated at 0)'
    >>> interval(-1.25, 9.2, floor=0.0, mark="*")
    '0.0*–9.2'
    >>> interval(5.0, 80.2, "#.3g")
    '5.00–80.2'
    """
    note = star = ""
    if floor is not None and is_number(lower) and lower < floor:  # type: ignore[operator]
        lower = floor
        if mark is None:
            note = f" (lower limit truncated at {floor:g})"
        else:
            star = mark
    limits = (lower, upper)
    shown = [number(v, fmt, missing).replace("-", "\u2212") for v in limits]
    shown[0] += star
    negative = any(is_number(v) and v < 0 for v in limits)  # type: ignore[operator]
    joined = f"{shown[0]} to {shown[1]}" if negative else f"{shown[0]}\u2013{shown[1]}"
    return joined + note


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *,
               left_columns: int = 1, indent: str = "") -> list[str]:
    """Rows of text cells as aligned lines: a header, a rule of dashes, the rows.

    The first ``left_columns`` columns are left-aligned, the rest right-aligned.

    >>> print("\\n".join(text_table(["group", "n"], [["all", "58"], ["AFP high", "21"]])))
    group      n
    --------  --
    all       58
    AFP high  21
    """
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(str(c).ljust(w) if i < left_columns else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))).rstrip()

    return [line(header), indent + "  ".join("-" * w for w in widths),
            *(line(row) for row in rows)]
