"""Stopping at a target precision: add replicates until every named MCSE is small enough.

``hcc-prognosis simulate ... --replicates 500 --target-mcse coverage=0.005
--target-mcse cutoff_q975=0.5 --max-replicates 20000`` runs a first round of 500
replicates per scenario, then, scenario by scenario, adds replicates in rounds until
the Monte Carlo SE of every named measure is at most its value for every method and
estimand where the measure is defined (or the scenario reaches ``--max-replicates``).

**Measures** (:data:`MEASURES`; the MCSEs of :mod:`simulation.study.measures`):

- of every log-HR estimand: ``bias``, ``empse``, ``mse``, ``modse``, ``relerr_modse``
  (in percentage points), ``coverage``; ``bias``, ``mse`` and ``coverage`` only where the
  estimand has a true value;
- ``rejection``: the rejection rate of every log-HR estimand, the share of every
  ``*_selected`` estimand and maxstat's corrected test;
- of the data-driven cut-off: ``cutoff_mean``, ``cutoff_sd``, ``cutoff_q025``,
  ``cutoff_median``, ``cutoff_q975`` (PNI units), ``cutoff_within_2`` (share within
  +-2 PNI units of the true step; where there is one), ``cutoff_at_boundary`` and
  ``cutoff_small_group``.

A name may be narrowed to one estimand, ``pni_mv_loghr.coverage=0.005``.

**Rounds.** After each round the replicates a scenario needs are projected from the
largest ratio of an MCSE to its target, since an MCSE falls as :math:`1/\\sqrt{R}`:
:math:`R' = R\\,(\\mathrm{MCSE}/\\mathrm{target})^2`, rounded up to whole blocks of the
study's chunk size (at least one block more), and capped at ``--max-replicates``. A
measure whose MCSE is not yet defined (fewer than two usable replicates) asks for one
block more. For a share (coverage, rejection and the cut-off's shares) the rule reads
the MCSE with :math:`\\tilde p = (x + 1)/(R + 2)` in place of :math:`p = x/R`, so that a
share of 0 or 1 after a small first round (whose plain MCSE :math:`\\sqrt{p(1-p)/R}` is
0) does not stop a scenario; this MCSE is never smaller than the plain one, which
``summarize`` shows, so a rule met is met by the MCSEs shown too.

Because a replicate's cohort depends only on (seed, scenario, replicate) and blocks
are always whole (:mod:`simulation.study.runner`), the file a rule produces equals, in
its results tables, a run asked from the start for the replicate counts it reached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calculator.errors import InputError
from calculator.number_entry import read_number
from simulation.paper.methods import LOGHR_ESTIMANDS, SELECTED_ESTIMANDS

#: Accepted measure names -> the summary field whose ``<field>_mcse`` is compared.
MEASURES: dict[str, str] = {
    "bias": "bias", "empse": "empse", "mse": "mse", "modse": "modse",
    "relerr_modse": "relerr_modse", "coverage": "coverage", "rejection": "rejection",
    "cutoff_mean": "mean", "cutoff_sd": "sd", "cutoff_q025": "q025",
    "cutoff_median": "median", "cutoff_q975": "q975", "cutoff_within_2": "share_within_2",
    "cutoff_at_boundary": "share_at_boundary", "cutoff_small_group": "share_small_group"}
#: Measures that need the estimand's true value.
NEED_TRUTH = ("bias", "mse", "coverage", "cutoff_within_2")
#: Measures that are shares of replicates (their MCSE is read with one success and one
#: failure added, see the module notes).
SHARES = ("coverage", "rejection", "cutoff_within_2", "cutoff_at_boundary",
          "cutoff_small_group")
#: Largest replicate count per scenario when ``--max-replicates`` is not given.
DEFAULT_MAX_REPLICATES = 10_000


@dataclass(frozen=True)
class PrecisionTarget:
    """The MCSE of ``measure`` (of ``estimand`` only, if given) must be <= ``value``."""

    measure: str
    value: float
    estimand: str | None = None

    @property
    def name(self) -> str:
        """The measure as written: ``coverage`` or ``pni_mv_loghr.coverage``."""
        return self.measure if self.estimand is None else f"{self.estimand}.{self.measure}"

    def applies(self, row: Mapping[str, Any]) -> bool:
        """Whether a summary row has this measure (by design, whatever its MCSE now)."""
        estimand = row["estimand"]
        if self.estimand is not None and estimand != self.estimand:
            return False
        if self.measure in NEED_TRUTH and row.get("truth") is None:
            return False
        if self.measure.startswith("cutoff_"):
            return estimand == "cutoff"
        if self.measure == "rejection":
            return (estimand in LOGHR_ESTIMANDS or estimand in SELECTED_ESTIMANDS
                    or (estimand == "cutoff" and row["method"] == "maxstat"))
        return estimand in LOGHR_ESTIMANDS

    def mcse(self, row: Mapping[str, Any]) -> float | None:
        """The row's MCSE of this measure as the rule reads it (None while undefined).

        >>> share = PrecisionTarget("rejection", 0.05)
        >>> round(share.mcse({"rejection": 0.0, "rejection_mcse": 0.0, "n_used": 10}), 4)
        0.0874
        """
        field = MEASURES[self.measure]
        value = row.get(f"{field}_mcse")
        if value is None or not math.isfinite(value):
            return None
        share, used = row.get(field), row.get("n_used")
        if self.measure in SHARES and share is not None and used:
            smoothed = (share * used + 1.0) / (used + 2.0)
            return math.sqrt(smoothed * (1.0 - smoothed) / used)
        return float(value)


def parse_target(text: str) -> PrecisionTarget:
    """``MEASURE=VALUE`` or ``ESTIMAND.MEASURE=VALUE`` as given to ``--target-mcse``.

    >>> parse_target("pni_mv_loghr.coverage=0.005")
    PrecisionTarget(measure='coverage', value=0.005, estimand='pni_mv_loghr')
    """
    name, equals, number = text.partition("=")
    name = name.strip()
    estimand, dot, measure = name.rpartition(".")
    allowed = (f"MEASURE=VALUE or ESTIMAND.MEASURE=VALUE, MEASURE one of "
               f"{', '.join(MEASURES)}")
    if not equals or measure not in MEASURES:
        raise InputError("target_mcse", text, None, allowed,
                         f"--target-mcse: unknown measure {name!r}; measures: "
                         f"{', '.join(MEASURES)}", "e.g. --target-mcse coverage=0.005")
    if dot:
        known = (*LOGHR_ESTIMANDS, *SELECTED_ESTIMANDS, "cutoff")
        if estimand not in known:
            raise InputError("target_mcse", text, None, f"an estimand: {', '.join(known)}",
                             f"--target-mcse: unknown estimand {estimand!r}; estimands: "
                             f"{', '.join(known)}")
        if measure.startswith("cutoff_"):
            raise InputError("target_mcse", text, None, measure,
                             f"--target-mcse: {measure} belongs to the cut-off; write "
                             f"{measure}={number}")
    value = float(read_number(number.strip(), "target_mcse", f"--target-mcse {name}").value)
    if not value > 0:
        raise InputError("target_mcse", text, None, "a number > 0",
                         f"--target-mcse {name} must be a number > 0; got {number!r}")
    return PrecisionTarget(measure, value, estimand or None)


@dataclass(frozen=True)
class StoppingRule:
    """Every target's MCSE met for every method and estimand, or ``max_replicates``."""

    targets: tuple[PrecisionTarget, ...]
    max_replicates: int = DEFAULT_MAX_REPLICATES

    def __post_init__(self) -> None:
        if not self.targets:
            raise InputError("target_mcse", None, None, "at least one MEASURE=VALUE",
                             "a stopping rule needs at least one --target-mcse")
        if isinstance(self.max_replicates, bool) or not isinstance(self.max_replicates, int) \
                or self.max_replicates < 2:
            raise InputError("max_replicates", self.max_replicates, None,
                             "a whole number >= 2", "--max-replicates must be a whole "
                             f"number >= 2; got {self.max_replicates!r}")

    def describe(self) -> str:
        """The rule in words, as summarize and the report print it."""
        parts = " and ".join(f"{t.name} <= {t.value:g}" for t in self.targets)
        return (f"replicates added in rounds until the Monte Carlo SE of {parts} for every "
                f"method and estimand of each scenario, or {self.max_replicates:,} "
                "replicates per scenario")

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as the study file records it."""
        return {"targets": [{"measure": t.measure, "estimand": t.estimand, "value": t.value}
                            for t in self.targets], "max_replicates": self.max_replicates}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoppingRule:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(PrecisionTarget(t["measure"], float(t["value"]), t.get("estimand"))
                         for t in data["targets"]), int(data["max_replicates"]))


@dataclass(frozen=True)
class Shortfall:
    """A measure not yet precise enough in one (method, estimand) of a scenario."""

    target: PrecisionTarget
    method: str
    estimand: str
    mcse: float | None   # None: not yet defined

    def describe(self) -> str:
        shown = "not yet estimable" if self.mcse is None else f"MCSE {self.mcse:.3g}"
        return (f"{self.target.measure} of {self.method} {self.estimand}: {shown} "
                f"(target {self.target.value:g})")


@dataclass(frozen=True)
class ScenarioStatus:
    """Where a scenario stands against the rule."""

    scenario: str
    replicates: int
    shortfalls: tuple[Shortfall, ...]
    #: Replicates projected to meet every target (the current count if met).
    needed: int
    cap: int

    @property
    def met(self) -> bool:
        return not self.shortfalls

    @property
    def capped(self) -> bool:
        """Stopped by the cap with a target still missed."""
        return not self.met and self.replicates >= self.cap

    @property
    def stopped_by(self) -> str | None:
        """``"target"``, ``"cap"``, or None while the rule still asks for more."""
        return "target" if self.met else "cap" if self.capped else None


def evaluate(rule: StoppingRule, rows: Sequence[Mapping[str, Any]],
             replicates: Mapping[str, int]) -> dict[str, ScenarioStatus]:
    """Each scenario's status: the rule's shortfalls in its summary ``rows``
    (:func:`simulation.study.measures.summary_rows`) at its replicate count."""
    out: dict[str, ScenarioStatus] = {}
    for scenario, count in replicates.items():
        shortfalls, needed = [], count
        for row in rows:
            if row["scenario"] != scenario:
                continue
            for target in rule.targets:
                if not target.applies(row):
                    continue
                mcse = target.mcse(row)
                if mcse is not None and mcse <= target.value:
                    continue
                shortfalls.append(Shortfall(target, row["method"], row["estimand"], mcse))
                wanted = (count + 1 if mcse is None
                          else math.ceil(count * (mcse / target.value) ** 2))
                needed = max(needed, wanted)
        out[scenario] = ScenarioStatus(scenario, count, tuple(shortfalls), needed,
                                       rule.max_replicates)
    return out


def next_count(status: ScenarioStatus, block: int) -> int:
    """Replicates to have after the next round: the projection in whole blocks, at least
    one block more than now, at most the cap (the current count once the rule stops).

    >>> s = ScenarioStatus("x", 500, (None,), needed=1234, cap=10_000)
    >>> next_count(s, 100), next_count(ScenarioStatus("x", 500, (None,), 501, 600), 100)
    (1300, 600)
    """
    if status.stopped_by is not None:
        return status.replicates
    blocks = max(math.ceil(status.needed / block), status.replicates // block + 1)
    return min(blocks * block, status.cap)
