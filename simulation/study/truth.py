"""The true value each estimand of a simulation study is compared with.

Where the analysis model contains the generating model, the truth is the
generating conditional log-HR (:func:`simulation.cohorts.scenarios.truth`); for the data-driven
cut-offs under a step truth the estimand is the log-HR of the true step, so their bias
includes what choosing the cut-off costs. Where the analysis model is not the truth (a
continuous PNI effect analysed dichotomised; a univariable model when other factors act;
a step analysed as continuous), the truth is a **large-sample reference**: the method
applied to one cohort of :data:`REFERENCE_N` patients drawn from the scenario with its own
seed stream (:func:`simulation.study.seeds.reference_rng`), computed once per scenario with the
fast engine and stored in the study file, labelled as such with its model SE.

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import PNI_SLOPE, Scenario, truth
from simulation.paper.methods import (
    DICHOTOMISED,
    ESTIMAND_FACTOR,
    FIXED_CUTOFF,
    METHODS,
    MV_FACTORS,
    SELECTED_ESTIMANDS,
    analyze_stack,
    estimands_of,
)
from simulation.stats.engines import FAST
from simulation.stats.jsonsafe import finite_or_none
from simulation.stats.stacking import stack_cohorts
from simulation.study.seeds import reference_rng

#: Patients in the cohort of a large-sample reference value.
REFERENCE_N = 500_000


@dataclass(frozen=True)
class Truth:
    """The value an estimand is compared with.

    ``kind`` is ``generating`` (from the scenario's model), ``reference`` (large-sample
    reference value, with its ``se``) or ``none`` (no true value: the ``*_selected``
    shares, or a cut-off where PNI has no effect).
    """

    value: float | None
    kind: str
    se: float | None
    label: str


# ---------------------------------------------------------------------------------------
# Which truth applies
# ---------------------------------------------------------------------------------------

def _model_factors(estimand: str) -> tuple[str, ...]:
    prefix, _, model = estimand.partition("_")
    if model.startswith("uv"):
        return (ESTIMAND_FACTOR[prefix],)
    return MV_FACTORS


def model_holds_truth(scenario: Scenario, method: str, estimand: str) -> bool:
    """True when the analysis model of ``estimand`` contains the generating model.

    Every factor with a non-zero generating effect must be in the model with the right
    form: a PNI step for the dichotomising methods (at the true cut-off for ``fixed``;
    for the data-driven cut-offs the estimand *is* the true step's log-HR), a PNI slope
    for ``continuous``.
    """
    in_model = _model_factors(estimand)
    for name, beta in truth(scenario).items():
        if beta == 0.0:
            continue
        if name == "pni_low":
            ok = ("pni_low" in in_model and method in DICHOTOMISED
                  and (method != "fixed" or scenario.pni_cutoff == FIXED_CUTOFF))
        elif name == PNI_SLOPE:
            ok = "pni_low" in in_model and method == "continuous"
        else:
            ok = name in in_model
        if not ok:
            return False
    return True


def generating_value(scenario: Scenario, method: str, estimand: str) -> float:
    """The generating coefficient of the estimand's factor (0 if it has no effect)."""
    effects = truth(scenario)
    factor = ESTIMAND_FACTOR[estimand.partition("_")[0]]
    if factor == "pni_low":
        return float(effects.get(PNI_SLOPE if method == "continuous" else "pni_low", 0.0))
    return float(effects.get(factor, 0.0))


def pni_has_effect(scenario: Scenario) -> bool:
    """Whether PNI acts in the scenario (a step or a slope other than 0)."""
    effects = truth(scenario)
    return effects.get("pni_low", 0.0) != 0.0 or effects.get(PNI_SLOPE, 0.0) != 0.0


def truth_kind(scenario: Scenario, method: str, estimand: str) -> str:
    """``generating``, ``reference`` or ``none`` for this (method, estimand)."""
    if estimand in SELECTED_ESTIMANDS:
        return "none"
    if estimand == "cutoff":
        if not pni_has_effect(scenario):
            return "none"
        return "generating" if scenario.pni_effect == "step" else "reference"
    return "generating" if model_holds_truth(scenario, method, estimand) else "reference"


def needs_reference(scenario: Scenario, methods: Sequence[str] = METHODS) -> bool:
    """Whether any estimand of ``scenario`` is compared with a reference value."""
    return any(truth_kind(scenario, m, e) == "reference"
               for m in methods for e in estimands_of(m))


def reference_label(method: str, n: int, seed: int) -> str:
    """How a reference value was obtained, for the summary."""
    return (f"large-sample reference: the {method} method applied to one cohort of "
            f"{n:,} patients drawn from the scenario (root seed {seed}, reference stream)")


def reference_rows(scenario: Scenario, seed: int, n: int = REFERENCE_N,
                   methods: Sequence[str] = METHODS, *, stream: str | None = None
                   ) -> list[tuple[str, str, float | None, float | None, str]]:
    """``(method, estimand, value, se, label)`` of each method applied to one big cohort.

    The cohort is drawn with :func:`simulation.study.seeds.reference_rng` (a stream no
    replicate uses) of the name ``stream`` (default: the scenario's; a design grid
    gives its points that differ only in cohort size one stream) and analysed with the
    fast engine, one method at a time to bound memory. Values are stored for every
    log-HR and cut-off estimand; the selection shares have no reference.
    """
    cohort = generate_cohort(scenario, int(n),
                             reference_rng(seed, scenario.name if stream is None else stream))
    stack = stack_cohorts([cohort])
    del cohort
    rows: list[tuple[str, str, float | None, float | None, str]] = []
    for method in methods:
        out = analyze_stack(stack, FAST, (method,), selection=False)
        for estimand in estimands_of(method):
            if estimand in SELECTED_ESTIMANDS:
                continue
            result = out.results[(method, estimand)]
            value = float(result.estimate[0]) if result.ok[0] else None
            se = finite_or_none(result.se[0]) if result.ok[0] else None
            rows.append((method, estimand, value, se, reference_label(method, int(n), seed)))
    return rows


def truth_for(scenario: Scenario, method: str, estimand: str,
              reference: Mapping[tuple[str, str], tuple[Any, Any, int, str]]) -> Truth:
    """The :class:`Truth` of one (method, estimand) of ``scenario``.

    ``reference`` maps ``(method, estimand)`` to ``(value, se, n, label)`` as
    :meth:`simulation.study.store.Store.reference` returns it.
    """
    kind = truth_kind(scenario, method, estimand)
    if kind == "none":
        what = ("the share of replicates that call the factor an independent predictor"
                if estimand in SELECTED_ESTIMANDS else "PNI has no effect: no true cut-off")
        return Truth(None, "none", None, what)
    if kind == "generating":
        if estimand == "cutoff":
            return Truth(float(scenario.pni_cutoff), kind, None,
                         "generating: the true PNI step")
        return Truth(generating_value(scenario, method, estimand), kind, None,
                     "generating conditional log-HR")
    if (method, estimand) not in reference:
        return Truth(None, "reference", None, "large-sample reference not computed")
    value, se, n, label = reference[(method, estimand)]
    return Truth(None if value is None else float(value), "reference",
                 None if se is None else float(se), label)
