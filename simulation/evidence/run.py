"""Running the evidence simulation through the study runner, in stages, resumably.

Everything lands in one ordinary study file (:mod:`simulation.study.store`), so
``summarize`` and ``report`` read it like any study and re-running resumes it:

1. every grid point of the design, :data:`~simulation.evidence.design.REPLICATES`
   replicates each;
2. the anchor scenarios (each family's model as is, and without a PNI effect),
   :data:`~simulation.evidence.design.ANCHOR_REPLICATES` each;
3. more replicates where the main family's belt of reported estimates rests on too few
   (fewer than :data:`~simulation.evidence.design.REPORTED_TARGET` reported after stage
   1): enough for the target at the observed reporting rate, in whole blocks, at most
   :data:`~simulation.evidence.design.MAX_REPLICATES` (none where even that many would
   leave too few for a belt). The plan depends only on stage 1's
   results, which depend only on the seed, so a resumed run plans the same.

Only the Youden method is analysed and no large-sample reference is computed: a grid
point's truth is its own :math:`\\theta`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.cohorts.scenarios import Scenario
from simulation.evidence.belts import MIN_SAMPLE, reported_adverse
from simulation.evidence.design import (
    ANCHOR_REPLICATES,
    CHUNK_SIZE,
    MAIN_FAMILY,
    MAX_REPLICATES,
    METHODS,
    PREFIX,
    REPLICATES,
    REPORTED_TARGET,
    GridPoint,
    anchor_scenarios,
    scenario,
)
from simulation.study.runner import RunOutcome, StudyConfig, run_study
from simulation.study.store import Store


@dataclass(frozen=True)
class Budget:
    """Replicates of each stage (the design's by default; smaller ones for tests)."""

    replicates: int = REPLICATES
    anchor_replicates: int = ANCHOR_REPLICATES
    reported_target: int = REPORTED_TARGET
    max_replicates: int = MAX_REPLICATES
    chunk_size: int = CHUNK_SIZE

    def to_dict(self) -> dict[str, int]:
        return {"replicates_per_point": self.replicates,
                "anchor_replicates": self.anchor_replicates,
                "reported_target": self.reported_target,
                "max_replicates": self.max_replicates, "chunk_size": self.chunk_size}


def study_config(scenarios: Sequence[Scenario], replicates: int, seed: int,
                 chunk_size: int = CHUNK_SIZE) -> StudyConfig:
    """The runner's configuration of one stage (the fingerprint is the same for all)."""
    return StudyConfig(scenarios=tuple(scenarios), replicates=int(replicates), seed=seed,
                       chunk_size=chunk_size, methods=METHODS, references=False)


def reported_counts(store: Store, grid_points: Sequence[GridPoint],
                    method: str = METHODS[0]) -> dict[GridPoint, tuple[int, int]]:
    """``(reported, replicates)`` of each grid point in the file."""
    out = {}
    for p in grid_points:
        columns = store.result_columns(p.name).get((method, f"{PREFIX[p.factor]}_selected"))
        if columns is None:
            out[p] = (0, 0)
            continue
        log_hr = (columns.ci_lower + columns.ci_upper) / 2.0
        reported = reported_adverse(columns.ok, columns.estimate, log_hr)
        out[p] = (int(reported.sum()), len(columns))
    return out


def top_up_plan(counts: dict[GridPoint, tuple[int, int]],
                target: int = REPORTED_TARGET, most: int = MAX_REPLICATES,
                block: int = CHUNK_SIZE) -> dict[int, list[GridPoint]]:
    """Replicate count -> the grid points to bring to it (those short of ``target``).

    A point whose reporting rate could not give even :data:`MIN_SAMPLE` reported
    replicates at ``most`` replicates gets none: its belt would stay undefined.

    >>> p = GridPoint("published", "afp", 0)
    >>> top_up_plan({p: (100, 2000)})
    {6000: [GridPoint(family='published', factor='afp', centi=0)]}
    >>> top_up_plan({p: (250, 2000)})
    {4000: [GridPoint(family='published', factor='afp', centi=0)]}
    >>> top_up_plan({p: (10, 2000)})
    {}
    """
    plan: dict[int, list[GridPoint]] = {}
    for p, (reported, replicates) in sorted(counts.items()):
        if replicates == 0 or reported >= target:
            continue
        share = reported / replicates
        if share * most < MIN_SAMPLE:
            continue
        wanted = math.ceil(target / share)
        wanted = min(most, block * math.ceil(wanted / block))
        if wanted > replicates:
            plan.setdefault(wanted, []).append(p)
    return dict(sorted(plan.items()))


@dataclass
class Stages:
    """What the stages did: their outcomes, and the replicate count of each scenario."""

    outcomes: list[tuple[str, RunOutcome]] = field(default_factory=list)
    replicates: dict[str, int] = field(default_factory=dict)

    @property
    def interrupted(self) -> RunOutcome | None:
        for _, outcome in self.outcomes:
            if outcome.interrupted:
                return outcome
        return None

    @property
    def written(self) -> int:
        return sum(o.written for _, o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(o.failed for _, o in self.outcomes)


def run_stages(study: str | Path, seed: int, grid: Sequence[GridPoint], *,
               budget: Budget = Budget(), workers: int | None = None, dask: Any = None,
               progress: bool = True, say: Callable[[str], None] = lambda text: None,
               command: Sequence[str] | str = "") -> Stages:
    """Run (or resume) the three stages for ``grid`` (e.g. :func:`points`) into
    ``study``; stop at the first interruption."""
    stages = Stages()
    families = {p.family for p in grid}

    def stage(label: str, scenarios: Sequence[Scenario], replicates: int) -> bool:
        say(f"{label}: {len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''} x "
            f"{replicates:,} replicates")
        config = study_config(scenarios, replicates, seed, budget.chunk_size)
        outcome = run_study(config, study, workers=workers,
                            dask=dask, progress=progress, command=command, say=say)
        stages.outcomes.append((label, outcome))
        for s in scenarios:
            stages.replicates[s.name] = replicates
        return not outcome.interrupted

    if not stage("stage 1 of 3, the grid", [scenario(p) for p in grid], budget.replicates):
        return stages
    if not stage("stage 2 of 3, the anchors", anchor_scenarios(families),
                 budget.anchor_replicates):
        return stages
    with Store(study, create=False) as store:
        counts = reported_counts(store, [p for p in grid if p.family == MAIN_FAMILY])
    plan = top_up_plan(counts, budget.reported_target, budget.max_replicates,
                       budget.chunk_size)
    if not plan:
        say("stage 3 of 3: every grid point has enough reported replicates")
    for replicates, group in plan.items():
        if not stage("stage 3 of 3, more replicates where few are reported",
                     [scenario(p) for p in group], replicates):
            return stages
    return stages
