"""A study's replicates in long format: one row per (scenario, replicate, method, estimand).

``hcc-prognosis summarize study.sqlite --replicates --csv`` writes it, the layout that
R's ``rsimsum::simsum(data, estvarname = "estimate", se = "se", true = "truth",
methodvar = "method", by = c("estimand", ...))`` and ``read.csv`` take as they are:

``scenario, base_scenario, n, <grid keys>, replicate, method, estimand, truth, estimate,
se, p, p_naive, ci_lower, ci_upper, ok, flag``

The grid keys are one column each, for every key of any scenario of the study (empty
for a scenario that lacks it; :mod:`simulation.study.grids`). ``truth`` is the value
:mod:`simulation.study.truth` compares the estimand with (empty where there is none),
``ok`` is 1 for a usable estimate and 0 for one left out of the measures (``flag`` says
why: separated, not converged, no cut-off, ...); numbers that do not exist are empty
cells (R reads them as ``NA``). A failed replicate has no rows. To reproduce a measure
of ``summarize``, keep the rows with ``ok == 1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from simulation.cohorts.scenarios import scenario_from_dict
from simulation.study.store import Store
from simulation.study.truth import truth_for

#: The columns after the scenario's design columns.
REPLICATE_COLUMNS = ("replicate", "method", "estimand", "truth", "estimate", "se", "p",
                     "p_naive", "ci_lower", "ci_upper", "ok", "flag")


def grid_keys(store: Store) -> list[str]:
    """Every grid key of the study other than ``n`` (a column of its own), in order."""
    keys: dict[str, None] = {}
    for entry in store.scenario_entries():
        keys.update((key, None) for key, _ in entry.grid if key != "n")
    return list(keys)


def header(store: Store) -> list[str]:
    """The export's columns."""
    return ["scenario", "base_scenario", "n", *grid_keys(store), *REPLICATE_COLUMNS]


def replicate_rows(store: Store, names: list[str] | None = None) -> Iterator[list[Any]]:
    """The export's rows (in :func:`header` order), scenario by scenario, read as they
    are written; None for an empty cell."""
    keys = grid_keys(store)
    for entry in store.scenario_entries():
        if names is not None and entry.name not in names:
            continue
        scenario = scenario_from_dict(entry.definition)
        reference = store.reference(entry.name)
        values = dict(entry.grid)
        design = [entry.name, entry.base, entry.n, *(values.get(k) for k in keys)]
        truths: dict[tuple[str, str], float | None] = {}
        for (replicate, method, estimand, estimate, se, p, p_naive, lower, upper, ok, _,
             _, flag) in store.iter_results(entry.name):
            key = (method, estimand)
            if key not in truths:
                truths[key] = truth_for(scenario, method, estimand, reference).value
            yield [*design, replicate, method, estimand, truths[key], estimate, se, p,
                   p_naive, lower, upper, ok, flag]
