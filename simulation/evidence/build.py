"""The whole evidence build: simulate (resumably), compute, write the data file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.evidence.datafile import evidence_document, provenance, write_document
from simulation.evidence.design import FAMILY_NAMES, points
from simulation.evidence.results import read_evidence
from simulation.evidence.run import Budget, Stages, run_stages


@dataclass(frozen=True)
class Built:
    """What a build did: the stages run and, unless interrupted, the document written."""

    stages: Stages
    document: dict[str, Any] | None
    wall_time_s: float


def default_study_path(out: str | os.PathLike[str]) -> Path:
    """The study file kept next to the data file: ``evidence.json`` -> ``evidence.sqlite``.

    >>> str(default_study_path("data/evidence.json"))
    'data/evidence.sqlite'
    """
    return Path(out).with_suffix(".sqlite")


def build(out: str | os.PathLike[str], *, study: str | os.PathLike[str] | None = None,
          seed: int = 1, families: Sequence[str] = FAMILY_NAMES, budget: Budget = Budget(),
          workers: int | None = None, dask: str | None = None, progress: bool = True,
          say: Callable[[str], None] = lambda text: None,
          command: Sequence[str] = ()) -> Built:
    """Run (or resume) the simulation into ``study`` and write the data file ``out``.

    Stops without writing ``out`` if the simulation is interrupted (a resume finishes
    it); raises what :func:`simulation.study.runner.run_study` raises.
    """
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    study_path = Path(study) if study is not None else default_study_path(out)
    stages = run_stages(study_path, seed, points(tuple(families)), budget=budget,
                        workers=workers, dask=dask, progress=progress, say=say,
                        command=list(command))
    if stages.interrupted is not None:
        return Built(stages, None, time.perf_counter() - started)
    say("computing the belts, their inversion, Monte Carlo SEs and the calibration check")
    evidence = read_evidence(study_path)
    wall = time.perf_counter() - started
    document = evidence_document(
        evidence,
        provenance(command=command, seed=seed, study=study_path, evidence=evidence,
                   wall_time_s=wall, workers=workers, dask=dask,
                   replicates_run=stages.written,
                   load_average=(load_before, os.getloadavg()[0])),
        budget.to_dict())
    write_document(document, out)
    return Built(stages, document, wall)
