"""The design of the evidence simulation: assumption sets, factors, grids and scenarios.

For each independent factor k of the paper (AFP >= 200, extrahepatic spread, PNI < 47.6)
and each assumption set (a *family*), one scenario per grid value :math:`\\theta` of k's
true conditional log-HR, the other factors held at the family's values. Each scenario is
calibrated anew to the study's targets (69% deaths, median OS 6.5 months, median
follow-up 20.4 months) by :func:`simulation.cohorts.calibrate.calibrate`, as every
scenario is. The truth of a grid point is :math:`\\theta` itself, so no large-sample
reference is computed for it.

Families
--------
``published``
    Table 4's multivariable model as the truth (the ``tog2025`` scenario), factor k at
    :math:`\\theta`; the true PNI step lies at the published 47.6.
``continuous-pni``
    No PNI threshold: PNI acts log-linearly, with the slope matched to a step of log-HR
    :math:`\\theta` at 47.6 (:func:`simulation.cohorts.covariates.matched_pni_slope`: the
    two PNI groups differ on average by :math:`\\theta`). For the PNI belt,
    :math:`\\theta` is this step-equivalent log-HR.
``weaker-others``
    The factors not being varied (and Child-Pugh B) at half their published log-HRs.

The grid runs from :data:`GRID_START` (a protective effect) in steps of :data:`GRID_STEP`
to a factor's :data:`GRID_STOP`, chosen from pilot runs (500 replicates at steps of
0.25, seed 7; 1,000 replicates for PNI at 3.50-4.50, seed 3) so that the 2.5% quantiles
of both belts pass the published estimate before the end where they can: for AFP from
1.5, for spread from 1.75. PNI's cannot: beyond a log-HR of about 3 both belts' lower
edges stay flat near 1.3-1.5, around the published 1.43 (a PNI group without deaths makes
ever more fits fail, and a misplaced Youden cut-off dilutes the rest), so a longer grid
would not close PNI's interval; it is reported as open above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from calculator.published import INDEPENDENT_FACTORS
from simulation.cohorts.covariates import matched_pni_slope
from simulation.cohorts.scenarios import (
    PNI_SLOPE,
    Effects,
    Scenario,
    get_scenario,
    published_adverse_log_hr,
)

#: The three independent factors, by their calculator names.
FACTORS: Final[tuple[str, ...]] = tuple(INDEPENDENT_FACTORS)
#: Factor -> its effect in a :class:`~simulation.cohorts.scenarios.Scenario`.
EFFECT: Final = {"afp": "afp", "extrahepatic_spread": "extrahepatic_spread", "pni": "pni_low"}
#: Factor -> the prefix of its estimands in :mod:`simulation.paper.methods`.
PREFIX: Final = {"afp": "afp", "extrahepatic_spread": "ehs", "pni": "pni"}
#: The factors of Table 4's multivariable model that carry an effect in ``tog2025``.
MODEL_EFFECTS: Final = ("afp", "child_pugh_b", "extrahepatic_spread", "pni_low")

#: The method the paper used (ROC/Youden cut-off for PNI); the only one simulated here.
METHODS: Final = ("youden",)

#: Grid of true log-HRs, in hundredths (exact names and equality): start, step, stops.
GRID_START_CENTI: Final = -100
GRID_STEP_CENTI: Final = 5
GRID_STOP_CENTI: Final = {"afp": 175, "extrahepatic_spread": 200, "pni": 350}
GRID_START: Final = GRID_START_CENTI / 100
GRID_STEP: Final = GRID_STEP_CENTI / 100
GRID_STOP: Final = {k: v / 100 for k, v in GRID_STOP_CENTI.items()}

#: Replicates of every grid point (stage 1).
REPLICATES: Final = 2000
#: Grid points with fewer reported replicates than this after stage 1 get more
#: replicates (the quantiles of the reported estimates need them), up to
#: :data:`MAX_REPLICATES`, in whole blocks of :data:`CHUNK_SIZE`.
REPORTED_TARGET: Final = 300
MAX_REPLICATES: Final = 6000
#: Replicates of the anchor scenarios (the cut-off's range, the false-positive share).
ANCHOR_REPLICATES: Final = 4000
#: Replicates analysed together per task: a whole grid point, so each is calibrated once.
CHUNK_SIZE: Final = 2000


@dataclass(frozen=True)
class Family:
    """One set of assumptions about the truth behind the paper."""

    name: str
    title: str
    why: str
    #: The factors whose belts the family re-draws.
    factors: tuple[str, ...] = FACTORS


FAMILIES: Final[tuple[Family, ...]] = (
    Family("published", "as published",
           "Table 4's multivariable model is the truth, with the true PNI step at 47.6: "
           "the main analysis."),
    Family("continuous-pni", "no PNI threshold",
           "The cut-off 47.6 was found in the same data, not known in advance, and most "
           "continuous prognostic markers act gradually (Altman et al. 1994); if PNI has "
           "no threshold, the Youden cut-off searches for one that does not exist. PNI "
           "acts log-linearly, with a slope that separates the two published PNI groups "
           "as much as the step does. It concerns PNI, so only PNI's belts are re-drawn.",
           ("pni",)),
    Family("weaker-others", "weaker other factors",
           "The other factors' published hazard ratios went through the same procedure "
           "and are themselves likely too large; at half their published log-HRs (AFP 1.40 "
           "instead of 1.97, spread 1.56 instead of 2.44, PNI 2.04 instead of 4.17, "
           "Child-Pugh B 1.26 instead of 1.60) they explain fewer deaths, which changes "
           "the power and the selection of the factor studied."),
)
FAMILY_NAMES: Final = tuple(f.name for f in FAMILIES)
#: The family whose results reach the bedside.
MAIN_FAMILY: Final = "published"


def family(name: str) -> Family:
    """The family called ``name``."""
    for f in FAMILIES:
        if f.name == name:
            return f
    raise KeyError(name)


def published_log_hr(factor: str) -> float:
    """The published estimate t_obs: ln of Table 4's multivariable HR, coded adverse.

    >>> round(published_log_hr("pni"), 4)
    1.4271
    """
    return published_adverse_log_hr(EFFECT[factor])


def grid_centi(factor: str) -> tuple[int, ...]:
    """The grid of ``factor`` in hundredths of a log-HR.

    >>> grid_centi("afp")[:3], len(grid_centi("afp"))
    ((-100, -95, -90), 56)
    """
    return tuple(range(GRID_START_CENTI, GRID_STOP_CENTI[factor] + 1, GRID_STEP_CENTI))


def grid(factor: str) -> tuple[float, ...]:
    """The grid of true log-HRs of ``factor``."""
    return tuple(c / 100 for c in grid_centi(factor))


@dataclass(frozen=True, order=True)
class GridPoint:
    """One grid point: a family, a factor and the true log-HR in hundredths."""

    family: str
    factor: str
    centi: int

    @property
    def theta(self) -> float:
        return self.centi / 100

    @property
    def name(self) -> str:
        """The scenario's name, e.g. ``ev-published-pni-p1.45`` (``m`` for minus).

        >>> GridPoint("published", "extrahepatic_spread", -5).name
        'ev-published-ehs-m0.05'
        """
        sign = "m" if self.centi < 0 else "p"
        return f"ev-{self.family}-{PREFIX[self.factor]}-{sign}{abs(self.centi) / 100:.2f}"


def points(families: tuple[str, ...] = FAMILY_NAMES) -> list[GridPoint]:
    """Every grid point of the design, family by family, factor by factor."""
    return [GridPoint(fam, factor, c) for fam in families for factor in family(fam).factors
            for c in grid_centi(factor)]


def point_of(name: str) -> GridPoint | None:
    """The grid point a scenario name stands for (None if it is not one)."""
    return _points_by_name().get(name)


@lru_cache(maxsize=1)
def _points_by_name() -> dict[str, GridPoint]:
    return {p.name: p for p in points()}


def _family_effects(fam: str) -> dict[str, float]:
    """The effects of the family's model with every factor at its (family) value."""
    published = {e: published_adverse_log_hr(e) for e in MODEL_EFFECTS}
    if fam == "weaker-others":
        return {e: v / 2 for e, v in published.items()}
    return published


def _scenario(name: str, fam: str, effects: dict[str, float], description: str) -> Scenario:
    base = get_scenario("tog2025")
    if fam == "continuous-pni":
        step = effects.pop("pni_low")
        slope = matched_pni_slope(step, base.pni_cutoff, base.ecog2_share)
        effects[PNI_SLOPE] = slope + 0.0  # no negative zero in a file
        return replace(base, name=name, effects=Effects(effects), pni_effect="continuous",
                       description=description)
    return replace(base, name=name, effects=Effects(effects), description=description)


def scenario(point: GridPoint) -> Scenario:
    """The generating scenario of a grid point.

    >>> s = scenario(GridPoint("published", "pni", 145))
    >>> s.name, s.effects["pni_low"], round(s.effects["afp"], 4)
    ('ev-published-pni-p1.45', 1.45, 0.678)
    """
    effects = _family_effects(point.family)
    varied = EFFECT[point.factor]
    effects[varied] = point.theta  # the others stay at the family's values
    return _scenario(point.name, point.family, effects,
                     f"evidence belt ({family(point.family).title}): {point.factor} true "
                     f"log-HR {point.theta:+.2f}")


@dataclass(frozen=True)
class Anchor:
    """A scenario with every factor at its family's value (``null_pni``: PNI without
    effect), for the cut-off's range and the share of false PNI findings."""

    family: str
    null_pni: bool
    scenario: Scenario


def anchors(families: Iterable[str] = FAMILY_NAMES) -> list[Anchor]:
    """Each family's model as is, and without a PNI effect (built-ins where they exist)."""
    out = []
    for fam in (f for f in FAMILY_NAMES if f in set(families)):
        if fam == "published":
            model, null = get_scenario("tog2025"), get_scenario("tog2025-null-pni")
        elif fam == "continuous-pni":
            # Without a PNI effect, the continuous family is the published one's null.
            model, null = get_scenario("tog2025-continuous"), get_scenario("tog2025-null-pni")
        else:
            effects = _family_effects(fam)
            model = _scenario(f"ev-{fam}-model", fam, dict(effects),
                              f"evidence anchor ({family(fam).title}): every factor at "
                              "its family value")
            del effects["pni_low"]
            null = _scenario(f"ev-{fam}-null-pni", fam, effects,
                             f"evidence anchor ({family(fam).title}): no PNI effect")
        out += [Anchor(fam, False, model), Anchor(fam, True, null)]
    return out


def anchor_scenarios(families: Iterable[str] = FAMILY_NAMES) -> list[Scenario]:
    """The distinct anchor scenarios of ``families``, in order."""
    seen: dict[str, Scenario] = {}
    for a in anchors(families):
        seen.setdefault(a.scenario.name, a.scenario)
    return list(seen.values())


def design_dict() -> dict[str, object]:
    """The design as plain data (for the data file's provenance and its test)."""
    return {
        "families": [{"name": f.name, "title": f.title, "why": f.why,
                      "factors": list(f.factors)} for f in FAMILIES],
        "main_family": MAIN_FAMILY,
        "factors": list(FACTORS),
        "grid": {f: {"start": GRID_START, "step": GRID_STEP, "stop": GRID_STOP[f],
                     "points": len(grid_centi(f))} for f in FACTORS},
        "methods": list(METHODS),
        "replicates_per_point": REPLICATES,
        "reported_target": REPORTED_TARGET,
        "max_replicates": MAX_REPLICATES,
        "anchor_replicates": ANCHOR_REPLICATES,
        "published_log_hr": {f: round(published_log_hr(f), 6) for f in FACTORS},
    }
