"""Child-Pugh score and class.

Points per item (Pugh RNH et al., Br J Surg 1973;60:646-9, with INR in place of the
prothrombin time as is usual today):

============== ========== ============ ==========
item            1 point    2 points     3 points
============== ========== ============ ==========
bilirubin       < 2 mg/dL  2-3 mg/dL    > 3 mg/dL
albumin         > 35 g/L   28-35 g/L    < 28 g/L
INR             < 1.7      1.7-2.3      > 2.3
ascites         none       mild         moderate-severe
encephalopathy  none       grade 1-2    grade 3-4
============== ========== ============ ==========

Class A is 5-6 points, B 7-9, C 10-15. Boundary values (2 and 3 mg/dL, 28 and 35 g/L,
1.7 and 2.3) score 2 points.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

ASCITES: Final = ("none", "mild", "moderate-severe")
ENCEPHALOPATHY: Final = ("none", "grade-1-2", "grade-3-4")
CLASSES: Final = ("A", "B", "C")
#: Lowest scores of class B and class C.
CLASS_B_MIN_SCORE: Final = 7
CLASS_C_MIN_SCORE: Final = 10


@dataclass(frozen=True)
class ChildPugh:
    """A Child-Pugh assessment; ``score`` is None when the class was given directly."""

    score: int | None
    child_pugh_class: str

    def to_dict(self) -> dict[str, object]:
        return {"score": self.score, "class": self.child_pugh_class}


def _three_bands(value: Decimal, low: str, high: str) -> int:
    """1 point below ``low``, 2 from ``low`` to ``high`` inclusive, 3 above ``high``."""
    if value < Decimal(low):
        return 1
    return 2 if value <= Decimal(high) else 3


def child_pugh_points(bilirubin_mg_dl: Decimal, albumin_g_l: Decimal, inr: Decimal,
                      ascites: str, encephalopathy: str) -> int:
    """The Child-Pugh score, 5-15.

    >>> child_pugh_points(Decimal("1.0"), Decimal("40"), Decimal("1.1"), "none", "none")
    5
    >>> child_pugh_points(Decimal("2"), Decimal("35"), Decimal("1.7"), "mild", "grade-1-2")
    10
    """
    albumin_points = 4 - _three_bands(albumin_g_l, "28", "35")  # points fall as albumin rises
    return (_three_bands(bilirubin_mg_dl, "2", "3") + albumin_points
            + _three_bands(inr, "1.7", "2.3")
            + ASCITES.index(ascites) + 1 + ENCEPHALOPATHY.index(encephalopathy) + 1)


def child_pugh_class(score: int) -> str:
    """Class A (5-6), B (7-9) or C (10-15).

    >>> child_pugh_class(6), child_pugh_class(7), child_pugh_class(10)
    ('A', 'B', 'C')
    """
    if not 5 <= score <= 15:
        raise ValueError(f"a Child-Pugh score is 5-15; got {score}")
    if score < CLASS_B_MIN_SCORE:
        return "A"
    return "B" if score < CLASS_C_MIN_SCORE else "C"


def assess(bilirubin_mg_dl: Decimal, albumin_g_l: Decimal, inr: Decimal,
           ascites: str, encephalopathy: str) -> ChildPugh:
    """Score and class from the five items."""
    score = child_pugh_points(bilirubin_mg_dl, albumin_g_l, inr, ascites, encephalopathy)
    return ChildPugh(score, child_pugh_class(score))
