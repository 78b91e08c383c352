"""Everything the evidence shows, computed from a study file written by :mod:`.run`.

For each family, factor and belt: the belt (:mod:`.belts`), its inversion at the published
estimate with bootstrap Monte Carlo SEs (:mod:`.inversion`), where its curves fall, and
its calibration check (:mod:`.calibration`). For each family's anchors: the Youden
cut-off's distribution and the share of studies that call PNI an independent predictor
when it has no effect. :func:`read_evidence` is what both the data file and the study
report use, so their numbers agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.evidence.belts import (
    BELTS,
    LEVELS,
    Belt,
    Samples,
    build_belt,
    decreasing_runs,
    samples_of,
)
from simulation.evidence.calibration import CalibrationCheck, check
from simulation.evidence.design import (
    FACTORS,
    FAMILY_NAMES,
    METHODS,
    GridPoint,
    anchors,
    family,
    grid_centi,
    point_of,
    published_log_hr,
)
from simulation.evidence.inversion import Inverted, invert
from simulation.study.measures import proportion, quantile_with_mcse
from simulation.study.store import Store, StudyFileError

#: Edges of the cut-off histogram (PNI units): one bin per unit.
CUTOFF_BINS = np.arange(20.0, 71.0, 1.0)


@dataclass(frozen=True)
class FactorBelt:
    """One belt of one factor under one family, inverted at the published estimate."""

    belt: Belt
    observed: float
    inverted: Inverted          # at the published estimate (arrays of length 1)
    boot: Inverted              # at the published estimate, one per bootstrap belt
    falls: Mapping[float, list[tuple[float, float, float]]]
    calibration: CalibrationCheck
    replicates: int
    reported: int
    failed: int

    def mcse(self, values: np.ndarray, open_mask: np.ndarray) -> float | None:
        """SD of the bootstrap values that are closed (None if fewer than 10)."""
        keep = ~open_mask & np.isfinite(values)
        return float(np.std(values[keep], ddof=1)) if keep.sum() >= 10 else None


@dataclass(frozen=True)
class CutoffRange:
    """The Youden cut-off's distribution in one anchor scenario."""

    scenario: str
    replicates: int
    chosen: int
    quantiles: Mapping[str, tuple[float | None, float | None]]
    histogram: np.ndarray


@dataclass(frozen=True)
class FalseFindings:
    """How often the procedure calls PNI independent when PNI has no effect."""

    scenario: str
    replicates: int
    usable: int
    share: float | None
    mcse: float | None


@dataclass(frozen=True)
class Evidence:
    """The evidence of one study file."""

    seed: int
    fingerprint: dict[str, Any]
    factor_belts: dict[tuple[str, str, str], FactorBelt]    # (family, factor, belt)
    cutoffs: dict[str, CutoffRange]                          # family -> its model's range
    false_findings: dict[str, FalseFindings]                 # family -> its null's share
    replicates: dict[str, int]                               # scenario -> replicates
    families: tuple[str, ...]


def grid_samples(store: Store, fam: str, factor: str,
                 replicates: Mapping[str, int]) -> list[Samples]:
    """The samples of one factor's grid points under one family, in grid order."""
    out = []
    for centi in grid_centi(factor):
        point = GridPoint(fam, factor, centi)
        out.append(samples_of(point, store.result_columns(point.name),
                              replicates.get(point.name, 0)))
    return out


def factor_belt(samples: Sequence[Samples], belt: str, seed: int) -> FactorBelt:
    """Build, invert and check one belt."""
    built = build_belt(samples, belt, seed)
    factor = samples[0].point.factor
    t_obs = published_log_hr(factor)
    observed = np.array([t_obs])
    inverted = invert(built.fine, built.smooth, observed)
    boots = [invert(built.fine, built.boot[b], observed) for b in range(built.boot.shape[0])]
    boot = Inverted(*(np.concatenate([getattr(x, name) for x in boots])
                      for name in Inverted.__dataclass_fields__))
    falls = {level: decreasing_runs(built.fine, built.smooth[:, j], built.boot[:, :, j])
             for j, level in enumerate(LEVELS)}
    return FactorBelt(
        belt=built, observed=t_obs, inverted=inverted, boot=boot, falls=falls,
        calibration=check(samples, belt), replicates=sum(s.replicates for s in samples),
        reported=sum(s.reported for s in samples),
        failed=sum(s.failed[belt] for s in samples))


def cutoff_range(store: Store, name: str, method: str = METHODS[0]) -> CutoffRange:
    """The cut-off's 2.5/50/97.5% quantiles (with MCSEs) and histogram in ``name``."""
    columns = store.result_columns(name)[(method, "cutoff")]
    cut = columns.estimate[columns.ok]
    quantiles = {label: quantile_with_mcse(cut, q)
                 for label, q in (("q025", 0.025), ("median", 0.5), ("q975", 0.975))}
    counts, _ = np.histogram(np.clip(cut, CUTOFF_BINS[0], CUTOFF_BINS[-1] - 1e-9), CUTOFF_BINS)
    return CutoffRange(name, len(columns), int(cut.size), quantiles, counts)


def false_findings(store: Store, name: str, method: str = METHODS[0]) -> FalseFindings:
    """The share of replicates of ``name`` whose procedure calls PNI independent."""
    columns = store.result_columns(name)[(method, "pni_selected")]
    share, mcse = proportion(columns.estimate[columns.ok] == 1.0)
    return FalseFindings(name, len(columns), int(columns.ok.sum()), share, mcse)


def designed_families(store: Store) -> tuple[str, ...]:
    """The families whose grid points the study file holds (in design order)."""
    names = {name for name, _, _ in store.scenarios()}
    found = {p.family for n in names if (p := point_of(n)) is not None}
    return tuple(f for f in FAMILY_NAMES if f in found)


def is_evidence_study(store: Store) -> bool:
    """Whether the study file holds an evidence simulation (its main family at least)."""
    return "published" in designed_families(store)


def read_evidence(path: str | os.PathLike[str],
                  factors: Sequence[str] = FACTORS) -> Evidence:
    """Compute the evidence from the study file at ``path``.

    Raises
    ------
    StudyFileError
        If the file is not a study, or holds no evidence simulation.
    """
    with Store(os.fspath(path), create=False) as store:
        fingerprint = store.fingerprint() or {}
        families = designed_families(store)
        if "published" not in families:
            raise StudyFileError(os.fspath(path), f"{os.fspath(path)!r} holds no evidence "
                                 "simulation",
                                 "write one with 'hcc-prognosis evidence'")
        replicates = {name: sum(store.replicate_counts(name).values())
                      for name, _, _ in store.scenarios()}
        seed = int(fingerprint["seed"])
        belts: dict[tuple[str, str, str], FactorBelt] = {}
        for fam in families:
            for factor in (f for f in family(fam).factors if f in factors):
                names = [GridPoint(fam, factor, c).name for c in grid_centi(factor)]
                if not all(replicates.get(name) for name in names):
                    continue  # a family run without this factor, or not finished
                samples = grid_samples(store, fam, factor, replicates)
                for belt in BELTS:
                    belts[(fam, factor, belt)] = factor_belt(samples, belt, seed)
        cutoffs, nulls = {}, {}
        for anchor in anchors():
            if anchor.family not in families or not replicates.get(anchor.scenario.name):
                continue
            if anchor.null_pni:
                nulls[anchor.family] = false_findings(store, anchor.scenario.name)
            else:
                cutoffs[anchor.family] = cutoff_range(store, anchor.scenario.name)
    return Evidence(seed, fingerprint, belts, cutoffs, nulls, replicates, families)
