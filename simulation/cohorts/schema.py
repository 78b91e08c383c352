"""The cohort's columns and levels: the one copy of every name the simulation uses.

A cohort (interfaces.md section 3) has one row per patient and these columns, in order:
``id, age, sex, ecog, child_pugh_score, etiology, cirrhosis, extrahepatic_spread,
afp_ng_ml, albumin_g_l, lymphocytes_10e9_l, bilirubin_mg_dl, inr, treatment, os_months,
os_event, pfs_months, pfs_event``. The levels of etiology and treatment are those of the
paper's Table 1 (:data:`calculator.published.TABLE1`); lab limits are the calculator's
(:data:`calculator.units.QUANTITIES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from calculator.formatting import plain
from calculator.published import TABLE1
from calculator.units import QUANTITIES

#: Sexes as the CSV writes them.
SEXES: tuple[str, ...] = ("M", "F")
#: Etiologies of liver disease, in Table 1's order.
ETIOLOGIES: tuple[str, ...] = tuple(TABLE1["etiology"])
#: Etiologies that count as viral hepatitis (Table 4: "hepatitis vs other").
VIRAL_ETIOLOGIES: tuple[str, ...] = ("hbv", "hcv")
#: Second-line treatments, in Table 1's order.
TREATMENTS: tuple[str, ...] = tuple(TABLE1["treatment"])


@dataclass(frozen=True)
class Column:
    """A cohort column: its kind and what it accepts.

    ``kind`` is ``"text"`` (free), ``"level"`` (one of ``levels``), ``"code"`` (one of
    the integers ``levels``), ``"number"`` (between ``low`` and ``high``) or ``"lab"``
    (a laboratory value in its canonical unit, limits from :mod:`calculator.units`).
    """

    name: str
    kind: str
    description: str
    levels: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    unit: str = ""
    quantity: str | None = None
    hint: str | None = None

    @property
    def allowed(self) -> str:
        if self.kind in ("level", "code"):
            return " or ".join(", ".join(map(str, self.levels)).rsplit(", ", 1))
        if self.kind in ("number", "lab"):
            low, high = self.limits
            unit = f" {self.unit}" if self.unit else ""
            return f"a number from {plain(low)} to {plain(high)}{unit}"
        return "any text"

    @property
    def limits(self) -> tuple[float, float]:
        if self.quantity is not None:
            q = QUANTITIES[self.quantity]
            return float(q.hard_low), float(q.hard_high)
        return float(self.low if self.low is not None else -math.inf), \
            float(self.high if self.high is not None else math.inf)


_MONTHS_HINT = "times are in months; was it entered in days or weeks?"
#: The interface's columns, in CSV order.
COLUMNS: tuple[Column, ...] = (
    Column("id", "text", "patient identifier"),
    Column("age", "number", "age at the start of second-line therapy", low=0, high=120,
           unit="years"),
    Column("sex", "level", "sex", levels=SEXES),
    Column("ecog", "code", "ECOG performance status", levels=(0, 1, 2)),
    Column("child_pugh_score", "code", "Child-Pugh score", levels=tuple(range(5, 16))),
    Column("etiology", "level", "etiology of liver disease",
           levels=ETIOLOGIES),
    Column("cirrhosis", "code", "cirrhosis (1 yes, 0 no)", levels=(0, 1)),
    Column("extrahepatic_spread", "code", "extrahepatic spread (1 yes, 0 no)", levels=(0, 1)),
    Column("afp_ng_ml", "lab", "alpha-fetoprotein", unit="ng/mL", quantity="afp"),
    Column("albumin_g_l", "lab", "serum albumin", unit="g/L", quantity="albumin"),
    Column("lymphocytes_10e9_l", "lab", "lymphocyte count", unit="10^9/L",
           quantity="lymphocytes"),
    Column("bilirubin_mg_dl", "lab", "total bilirubin", unit="mg/dL", quantity="bilirubin"),
    Column("inr", "lab", "INR", quantity="inr"),
    Column("treatment", "level", "second-line treatment",
           levels=TREATMENTS),
    Column("os_months", "number", "overall survival time", low=0, high=240, unit="months",
           hint=_MONTHS_HINT),
    Column("os_event", "code", "overall survival event (1 died, 0 censored)", levels=(0, 1)),
    Column("pfs_months", "number", "progression-free survival time", low=0, high=240,
           unit="months", hint=_MONTHS_HINT),
    Column("pfs_event", "code", "progression or death (1) or censored (0)", levels=(0, 1)),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
TEXT_COLUMNS = frozenset(c.name for c in COLUMNS if c.kind in ("text", "level"))


