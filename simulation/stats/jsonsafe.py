"""JSON-safe numbers: a computed value as a finite Python float, or None.

Strict JSON has no NaN or infinity, so the records the simulation writes (the
``analyze --json`` record, the study file's rows, the reports' tables) carry an undefined
or missing number as ``None`` (``null``). This is the one conversion they all use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def finite_or_none(value: Any) -> float | None:
    """``value`` as a Python float if it is finite; None if it is None, NaN or infinite.

    Raises ``TypeError``/``ValueError`` as ``float(value)`` does for a non-number.

    >>> finite_or_none(2), finite_or_none(float("nan")), finite_or_none(float("-inf"))
    (2.0, None, None)
    >>> finite_or_none(None) is None
    True
    """
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def finite_list(values: Any) -> list[float | None]:
    """Numbers (e.g. an interval's two limits) as a list of :func:`finite_or_none`.

    >>> finite_list(np.array([0.5, np.nan]))
    [0.5, None]
    """
    return [finite_or_none(v) for v in np.asarray(values, dtype=float).ravel().tolist()]
