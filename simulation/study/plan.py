"""How many patients does an external validation of the published model need?

For a time-to-event outcome there is no closed formula for the precision of the
calibration slope or the C-statistic: Riley et al. (2022) recommend simulating the
validation study from assumptions about the population (the distribution of the model's
linear predictor, the event and censoring times) and increasing the sample size until the
expected confidence interval is narrow enough, a target the investigator sets as a CI
width, as in their binary-outcome paper (Riley et al. 2021). This module does that with a
scenario of :mod:`simulation.cohorts` (by default ``tog2025``, the published model true in
the paper's case mix, death fraction, follow-up and median OS):

1. **Cohorts that grow.** Replicate ``r`` is one stream of patients, drawn in blocks of
   ``base * 2^b`` patients (block ``b`` from its own seeded stream,
   :func:`simulation.study.seeds.plan_rng`); its cohort of ``n`` patients is the first
   ``n`` of them. The generator's patients are independent and identically distributed,
   so this is a valid cohort of ``n``, and the cohorts of different sizes share their
   patients (common random numbers): the mean width falls smoothly with ``n`` and a
   search over ``n`` is not thrown off by Monte Carlo noise between sizes.
2. **Expected width at n.** The published model's calibration slope and Harrell's C are
   estimated in each replicate (:func:`simulation.paper.validation.stack_measures`, the
   same code as ``validate``, batched); the expected CI width is the mean over the
   replicates where the measure is estimable, with Monte Carlo SE ``sd / sqrt(R)``.
3. **Search.** Starting from ``start_n`` the size is doubled until the expected width
   reaches the target (or halved while it already does), then the interval between the
   last size that misses and the first that reaches is bisected on a grid of ``step``
   patients. The answer is the smallest grid size whose expected width is at most the
   target. Its Monte Carlo SE follows from the width's: the width falls as about
   :math:`n^{-1/2}`, so :math:`\\mathrm{SE}(n^*) \\approx 2 n^* \\mathrm{MCSE}(w) / w`.

:func:`check_size` judges one size instead (``plan --n``): the same replicates, and for
each measure its performance (Morris, White & Crowther 2019) against its large-sample
value in the scenario, from one cohort of :data:`~simulation.study.truth.REFERENCE_N`
patients on the scenario's reference stream: bias, empirical and model SE, coverage of
the 95% CI, and for the slope how often the CI holds 1 (the test of slope = 1 does not
reject). Under ``tog2025`` the large-sample slope is not exactly 1: the scenario's truth
also has Child-Pugh B (HR 1.60), which the three-factor model leaves out.

References
----------
.. [1] Riley RD, Collins GS, Ensor J, et al. Minimum sample size calculations for
   external validation of a clinical prediction model with a time-to-event outcome.
   Stat Med 2022;41:1280-1295.
.. [2] Riley RD, Debray TPA, Collins GS, et al. Minimum sample size for external
   validation of a clinical prediction model with a binary outcome. Stat Med
   2021;40:4230-4251.
.. [3] Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical
   methods. Stat Med 2019;38:2074-2102 (Monte Carlo SEs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

from calculator.errors import InputError
from simulation.cohorts.factors import code_factors
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import Scenario
from simulation.paper.validation import linear_predictor, stack_measures
from simulation.stats.jsonsafe import finite_or_none
from simulation.study.measures import performance
from simulation.study.seeds import check_seed, plan_rng, reference_rng
from simulation.study.truth import REFERENCE_N

#: Precision targets: name -> (measure, what it is).
TARGETS: dict[str, tuple[str, str]] = {
    "slope-ci-width": ("slope", "width of the 95% CI of the calibration slope"),
    "c-ci-width": ("c_harrell", "width of the 95% CI of Harrell's C"),
}
DEFAULT_REPLICATES = 1000
DEFAULT_START_N = 50
DEFAULT_STEP = 10
DEFAULT_MAX_N = 20_000
#: Patients in a replicate's first block; block b holds BASE_BLOCK * 2^b.
BASE_BLOCK = 64
#: Smallest cohort the search looks at.
MIN_N = 20


@dataclass(frozen=True)
class Target:
    """A precision target: the expected CI width of ``measure`` at most ``width``."""

    name: str
    width: float

    @property
    def measure(self) -> str:
        return TARGETS[self.name][0]

    def __str__(self) -> str:
        return f"{self.name}={self.width:g}"


def parse_target(text: str) -> Target:
    """``"slope-ci-width=0.3"`` -> :class:`Target`; :class:`InputError` naming
    ``target`` otherwise.

    >>> parse_target("slope-ci-width=0.3")
    Target(name='slope-ci-width', width=0.3)
    """
    names = ", ".join(TARGETS)
    name, sep, value = str(text).partition("=")
    name = name.strip().lower()
    if not sep or name not in TARGETS:
        raise InputError("target", text, None, f"NAME=WIDTH with NAME one of {names}",
                         f"--target must be NAME=WIDTH with NAME one of {names}; got "
                         f"{text!r}", "e.g. --target slope-ci-width=0.3")
    try:
        width = float(value)
    except ValueError:
        width = math.nan
    if not (math.isfinite(width) and 0 < width < 2):
        raise InputError("target", text, None, "a width between 0 and 2",
                         f"the width in --target {text!r} must be a number between 0 and "
                         "2 (a CI width on the measure's scale)",
                         "e.g. slope-ci-width=0.3 or c-ci-width=0.1")
    return Target(name, width)


# ---------------------------------------------------------------------------------------
# Growing cohorts
# ---------------------------------------------------------------------------------------

@dataclass
class GrowingCohorts:
    """Replicate cohorts of any size that share their first patients (module docstring).

    Only what the validation measures need is kept: OS time, event and the published
    linear predictor, as float arrays per replicate and block.
    """

    scenario: Scenario
    seed: int
    replicates: int
    blocks: list[list[np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_seed(self.seed)
        self.blocks = [[] for _ in range(self.replicates)]

    def _grow(self, r: int, n: int) -> None:
        while sum(block.shape[1] for block in self.blocks[r]) < n:
            b = len(self.blocks[r])
            cohort = generate_cohort(self.scenario, BASE_BLOCK * 2 ** b,
                                     plan_rng(self.seed, self.scenario.name, r, b))
            lp = linear_predictor(code_factors(cohort))
            self.blocks[r].append(np.stack([cohort["os_months"].astype(float),
                                            cohort["os_event"].astype(float), lp]))

    def stack(self, n: int) -> dict[str, np.ndarray]:
        """``os_months``, ``os_event`` and ``lp`` of every replicate's first ``n``
        patients, as ``(replicates, n)`` arrays."""
        rows = []
        for r in range(self.replicates):
            self._grow(r, n)
            rows.append(np.concatenate(self.blocks[r], axis=1)[:, :n])
        data = np.stack(rows)
        return {"os_months": data[:, 0], "os_event": data[:, 1], "lp": data[:, 2]}


# ---------------------------------------------------------------------------------------
# Expected widths at one size
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """The validation measures over the replicates of one cohort size.

    ``width[m]``, ``width_mcse[m]``: mean 95% CI width of measure ``m`` and its Monte
    Carlo SE; ``estimate[m]`` the mean estimate; ``estimable[m]`` the replicates with an
    estimate; ``deaths`` and ``deaths_mcse`` the mean number of deaths.
    """

    n: int
    replicates: int
    width: dict[str, float]
    width_mcse: dict[str, float]
    estimate: dict[str, float]
    estimable: dict[str, int]
    deaths: float
    deaths_mcse: float

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "replicates": self.replicates,
                "deaths": finite_or_none(self.deaths),
                "deaths_mcse": finite_or_none(self.deaths_mcse),
                "measures": {m: {"mean_ci_width": finite_or_none(self.width[m]),
                                 "mean_ci_width_mcse": finite_or_none(self.width_mcse[m]),
                                 "mean_estimate": finite_or_none(self.estimate[m]),
                                 "estimable": self.estimable[m]}
                             for m in self.width}}


def _mean_and_mcse(values: np.ndarray) -> tuple[float, float, int]:
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return math.nan, math.nan, 0
    mcse = float(ok.std(ddof=1) / math.sqrt(ok.size)) if ok.size > 1 else math.nan
    return float(ok.mean()), mcse, int(ok.size)


def evaluate(cohorts: GrowingCohorts, n: int) -> Evaluation:
    """Mean CI widths of the calibration slope and Harrell's C at cohort size ``n``."""
    data = cohorts.stack(n)
    fitted = stack_measures(data["os_months"], data["os_event"], data["lp"])
    measures = {"slope": (fitted.slope.slope, fitted.slope.ci),
                "c_harrell": (fitted.harrell.value, fitted.harrell.ci)}
    width, mcse, estimate, estimable = {}, {}, {}, {}
    for name, (value, ci) in measures.items():
        w, s, k = _mean_and_mcse(ci[:, 1] - ci[:, 0])
        width[name], mcse[name], estimable[name] = w, s, k
        estimate[name] = _mean_and_mcse(np.where(np.isfinite(ci[:, 0]), value, np.nan))[0]
    deaths = data["os_event"].sum(axis=1)
    d_mean, d_mcse, _ = _mean_and_mcse(deaths)
    return Evaluation(n, cohorts.replicates, width, mcse, estimate, estimable, d_mean,
                      d_mcse)


# ---------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """The smallest grid size meeting a target, with how it was found."""

    target: Target
    n: int | None
    evaluation: Evaluation | None
    n_mcse: float | None
    below: Evaluation | None
    path: tuple[int, ...]
    reached: bool

    def to_dict(self) -> dict[str, Any]:
        measure = self.target.measure
        return {"target": str(self.target), "measure": TARGETS[self.target.name][1],
                "width": self.target.width, "reached": self.reached, "n": self.n,
                "n_mcse": finite_or_none(self.n_mcse),
                "deaths": None if self.evaluation is None else finite_or_none(
                    self.evaluation.deaths),
                "mean_ci_width": None if self.evaluation is None else finite_or_none(
                    self.evaluation.width[measure]),
                "mean_ci_width_mcse": None if self.evaluation is None else finite_or_none(
                    self.evaluation.width_mcse[measure]),
                "width_one_step_below": None if self.below is None else finite_or_none(
                    self.below.width[measure]),
                "searched": list(self.path)}


def _grid(n: float, step: int) -> int:
    return max(MIN_N, int(round(n / step)) * step)


def find_n(target: Target, evaluate_at: Callable[[int], Evaluation], *,
           start_n: int = DEFAULT_START_N, step: int = DEFAULT_STEP,
           max_n: int = DEFAULT_MAX_N) -> Answer:
    """Smallest ``n`` on the grid of ``step`` with expected width <= the target.

    Doubling from ``start_n`` (halving while it already meets the target, down to
    :data:`MIN_N`), then bisection (module docstring). ``evaluate_at`` is called once per
    size (callers cache it).
    """
    measure = target.measure
    path: list[int] = []

    def meets(n: int) -> bool:
        path.append(n)
        width = evaluate_at(n).width[measure]
        return math.isfinite(width) and width <= target.width

    n = _grid(start_n, step)
    if meets(n):
        hi = n
        lo = None
        while hi > MIN_N:
            candidate = _grid(hi / 2, step)
            if candidate >= hi:
                break
            if meets(candidate):
                hi = candidate
            else:
                lo = candidate
                break
        if lo is None:
            return _answer(target, hi, hi, evaluate_at, path, True, step)
    else:
        lo = n
        while True:
            hi = _grid(lo * 2, step)
            if hi > max_n:
                if lo < max_n and meets(_grid(max_n, step)):
                    hi = _grid(max_n, step)
                    break
                return Answer(target, None, None, None, None, tuple(path), False)
            if meets(hi):
                break
            lo = hi
    while hi - lo > step:
        mid = _grid((lo + hi) / 2, step)
        if mid in (lo, hi):
            break
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return _answer(target, hi, lo, evaluate_at, path, True, step)


def _answer(target: Target, n: int, below: int, evaluate_at: Callable[[int], Evaluation],
            path: Sequence[int], reached: bool, step: int) -> Answer:
    evaluation = evaluate_at(n)
    width = evaluation.width[target.measure]
    mcse = evaluation.width_mcse[target.measure]
    n_mcse = 2.0 * n * mcse / width if width > 0 and math.isfinite(mcse) else math.nan
    below_eval = evaluate_at(below) if below != n else None
    return Answer(target, n, evaluation, n_mcse, below_eval, tuple(path), reached)


@dataclass(frozen=True)
class Plan:
    """A sample-size plan: the answer per target and every size evaluated."""

    scenario: str
    seed: int
    replicates: int
    step: int
    answers: tuple[Answer, ...]
    evaluations: tuple[Evaluation, ...]

    @property
    def n(self) -> int | None:
        """The size that meets every target (the largest answer), None if one is not met."""
        sizes = [a.n for a in self.answers]
        return None if any(s is None for s in sizes) else max(sizes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        final = next((e for e in self.evaluations if e.n == self.n), None)
        return {"scenario": self.scenario, "seed": self.seed, "replicates": self.replicates,
                "grid_step": self.step, "n": self.n,
                "deaths": None if final is None else finite_or_none(final.deaths),
                "at_n": None if final is None else final.to_dict(),
                "targets": [a.to_dict() for a in self.answers],
                "evaluations": [e.to_dict() for e in sorted(self.evaluations,
                                                            key=lambda e: e.n)],
                "method": ("simulation (Riley et al. 2022, Stat Med 41:1280): replicate "
                           "cohorts from the scenario, the published model's calibration "
                           "slope and Harrell's C with 95% CIs in each; expected width = "
                           "mean over replicates (MCSE sd/sqrt(R)); size doubled from the "
                           "start until the target is met, then bisection on the grid; "
                           "cohorts of different sizes share their patients (common "
                           "random numbers)")}


def plan(scenario: Scenario, targets: Sequence[Target], *, seed: int = 1,
         replicates: int = DEFAULT_REPLICATES, start_n: int = DEFAULT_START_N,
         step: int = DEFAULT_STEP, max_n: int = DEFAULT_MAX_N,
         progress: Callable[[Evaluation], None] | None = None) -> Plan:
    """Patients (and deaths) a validation study needs to meet every target (module
    docstring).

    Examples
    --------
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> p = plan(get_scenario("tog2025"), [parse_target("c-ci-width=0.2")], replicates=40,
    ...          step=20)
    >>> p.n is not None and p.n < 200, p.answers[0].evaluation.width["c_harrell"] <= 0.2
    (True, True)
    """
    for name, value, low in (("replicates", replicates, 2), ("start_n", start_n, MIN_N),
                             ("step", step, 1), ("max_n", max_n, MIN_N)):
        _check_whole(name, value, low)
    if not targets:
        raise InputError("target", None, None, ", ".join(TARGETS),
                         "give at least one --target", "e.g. --target slope-ci-width=0.3")
    cohorts = GrowingCohorts(scenario, seed, replicates)
    cache: dict[int, Evaluation] = {}

    def evaluate_at(n: int) -> Evaluation:
        if n not in cache:
            cache[n] = evaluate(cohorts, n)
            if progress is not None:
                progress(cache[n])
        return cache[n]

    answers = tuple(find_n(t, evaluate_at, start_n=start_n, step=step, max_n=max_n)
                    for t in targets)
    result = Plan(scenario.name, seed, replicates, step, answers, tuple(cache.values()))
    if result.n is not None:
        evaluate_at(result.n)
        result = Plan(scenario.name, seed, replicates, step, answers, tuple(cache.values()))
    return result


# ---------------------------------------------------------------------------------------
# One size: performance of the validation measures
# ---------------------------------------------------------------------------------------

def large_sample_values(scenario: Scenario, seed: int, n: int = REFERENCE_N
                        ) -> dict[str, dict[str, float | None]]:
    """The calibration slope and Harrell's C of the published model in one cohort of
    ``n`` patients from the scenario's reference stream (with their SEs)."""
    cohort = generate_cohort(scenario, n, reference_rng(seed, scenario.name))
    lp = linear_predictor(code_factors(cohort))
    fitted = stack_measures(cohort["os_months"][None].astype(float),
                            cohort["os_event"][None].astype(float), lp[None])
    return {"slope": {"value": finite_or_none(fitted.slope.slope[0]),
                      "se": finite_or_none(fitted.slope.se[0]), "n": n},
            "c_harrell": {"value": finite_or_none(fitted.harrell.value[0]),
                          "se": finite_or_none(fitted.harrell.se[0]), "n": n}}


def check_size(scenario: Scenario, n: int, *, seed: int = 1,
               replicates: int = DEFAULT_REPLICATES, reference_n: int = REFERENCE_N
               ) -> dict[str, Any]:
    """How a validation study of ``n`` patients performs under ``scenario``.

    Returns a JSON-safe record: ``reference`` (large-sample values), and per measure
    (``slope``, ``c_harrell``) the :func:`simulation.study.measures.performance` fields
    against the reference value, the mean CI width with its MCSE and, for the slope,
    ``covers_one`` (share of CIs holding 1) with its MCSE. ``rejection`` is the share of
    replicates rejecting slope = 1 (slope) or C = 0.5 (C) at the 5% level.

    Examples
    --------
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> r = check_size(get_scenario("tog2025-null"), 200, replicates=50,
    ...                reference_n=20_000)
    >>> abs(r["reference"]["slope"]["value"]) < 0.1, r["measures"]["slope"]["covers_one"]
    (True, 0.0)
    """
    _check_whole("n", n, MIN_N)
    _check_whole("replicates", replicates, 2)
    cohorts = GrowingCohorts(scenario, seed, replicates)
    data = cohorts.stack(n)
    fitted = stack_measures(data["os_months"], data["os_event"], data["lp"])
    reference = large_sample_values(scenario, seed, reference_n)
    c = fitted.harrell
    with np.errstate(divide="ignore", invalid="ignore"):
        c_p = 2.0 * ndtr(-np.abs((c.value - 0.5) / c.se))
    columns = {"slope": (fitted.slope.slope, fitted.slope.se, fitted.slope.ci,
                         fitted.slope.p_vs_one),
               "c_harrell": (c.value, c.se, c.ci, c_p)}
    measures: dict[str, Any] = {}
    for name, (value, se, ci, p) in columns.items():
        ok = np.isfinite(value) & np.isfinite(ci).all(axis=-1)
        row = performance(value[ok], se[ok], ci[ok, 0], ci[ok, 1], p[ok],
                          reference[name]["value"])
        width, width_mcse, _ = _mean_and_mcse(ci[ok, 1] - ci[ok, 0])
        row.update(estimable=int(ok.sum()), mean_ci_width=finite_or_none(width),
                   mean_ci_width_mcse=finite_or_none(width_mcse))
        if name == "slope":
            hits = (ci[ok, 0] <= 1.0) & (1.0 <= ci[ok, 1])
            share = float(hits.mean()) if hits.size else math.nan
            row.update(covers_one=finite_or_none(share), covers_one_mcse=finite_or_none(
                math.sqrt(share * (1 - share) / hits.size) if hits.size else math.nan))
        measures[name] = row
    deaths, deaths_mcse, _ = _mean_and_mcse(fitted.deaths.astype(float))
    return {"scenario": scenario.name, "n": n, "replicates": replicates, "seed": seed,
            "deaths": finite_or_none(deaths), "deaths_mcse": finite_or_none(deaths_mcse),
            "reference": reference, "measures": measures,
            "method": ("replicate cohorts of n patients from the scenario (the plan's "
                       "streams); performance as Morris, White & Crowther 2019 (Table 6) "
                       "against the large-sample value of each measure in one cohort of "
                       f"{reference_n} patients (the scenario's reference stream)")}


def _check_whole(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(name, value, None, f"a whole number >= {low}",
                         f"--{name.replace('_', '-')} must be a whole number >= {low}; "
                         f"got {value!r}")
