"""The Prognostic Nutritional Index and its category.

.. math:: \\mathrm{PNI} = \\mathrm{albumin\\ (g/L)} + 5 \\times \\mathrm{lymphocytes\\ (10^9/L)}

Onodera T, Goseki N, Kosaki G. Nihon Geka Gakkai Zasshi 1984;85:1001-5, written there
as 10 x albumin (g/dL) + 0.005 x lymphocytes (/mm^3), which is the same quantity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, overload

from calculator.published import PNI_CUTOFF


@overload
def prognostic_nutritional_index(albumin_g_l: Decimal, lymphocytes_10e9_l: Decimal) -> Decimal: ...
@overload
def prognostic_nutritional_index(albumin_g_l: float, lymphocytes_10e9_l: float) -> float: ...
@overload
def prognostic_nutritional_index(albumin_g_l: Any, lymphocytes_10e9_l: Any) -> Any: ...


def prognostic_nutritional_index(albumin_g_l: Any, lymphocytes_10e9_l: Any) -> Any:
    """PNI from albumin in g/L and lymphocytes in 10^9/L.

    This is the project's only PNI formula. It is written with plain arithmetic so that
    it serves exact :class:`~decimal.Decimal` inputs (the calculator), floats, and numpy
    arrays (the simulation) alike.

    >>> prognostic_nutritional_index(35, 1.1)
    40.5
    >>> prognostic_nutritional_index(Decimal("37.1"), Decimal("2.1"))
    Decimal('47.6')
    """
    return albumin_g_l + 5 * lymphocytes_10e9_l


def pni_is_high(pni: Decimal) -> bool:
    """True if PNI >= 47.6, decided exactly on a :class:`~decimal.Decimal`.

    Binary floats put some sums whose exact value is 47.6 at 47.599999999999994, so the
    category is never decided on a float.

    >>> pni_is_high(Decimal("47.6")), pni_is_high(Decimal("47.59"))
    (True, False)
    """
    if not isinstance(pni, Decimal):
        raise TypeError("pni_is_high needs an exact Decimal, not a binary float")
    return pni >= PNI_CUTOFF.value
