"""The evidence data file the calculator ships: results, curves and provenance as JSON.

:func:`evidence_document` turns an :class:`~simulation.evidence.results.Evidence` into
plain JSON (finite numbers only, rounded), with the provenance needed to trust and redo
it: the command, seed, grid, replicates, versions, date, wall time and every Monte Carlo
SE. ``calculator.evidence`` reads and checks it; it is the only bridge between the
simulation and the bedside (the calculator never imports the simulation).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import numpy as np

from calculator import __version__
from calculator.published import MODEL_VERSION
from simulation.cohorts.scenarios import GENERATOR_VERSION
from simulation.evidence.belts import BELT_TITLES, BELTS, BOOTSTRAP, LEVELS, MIN_SAMPLE
from simulation.evidence.design import (
    FAMILIES,
    GRID_START,
    GRID_STOP,
    MAIN_FAMILY,
    design_dict,
    family,
)
from simulation.evidence.results import CUTOFF_BINS, Evidence, FactorBelt
from simulation.paper.methods import METHODS_VERSION
from simulation.stats.jsonsafe import finite_or_none

#: Version of the file's layout; ``calculator.evidence`` refuses another.
FORMAT: Final = "hcc-prognosis-evidence/1"

#: How the bedside labels a re-estimate.
LABEL: Final = ("re-estimated by simulation, allowing for the cut-off chosen from the same "
                "58 patients and the small study")
#: The assumptions behind the re-estimates, in one line.
ASSUMPTIONS: Final = (
    "Assumes studies like this one (58 patients, 69% deaths, median follow-up 20.4 months), "
    "analysed as the paper did (ROC/Youden PNI cut-off, univariable screen, multivariable "
    "Cox model), with the other factors as published; the published estimate is treated "
    "as one that this procedure reported as adverse.")
#: How the re-estimated interval of a combination of factors is formed.
COMBINATION: Final = (
    "Product of the re-estimated hazard ratios of the factors present; the interval adds "
    "each factor's log-scale distances from its re-estimate to its lower and to its upper "
    "limit in quadrature, side by side, as if the factors were independent; a limit that "
    "is open for any factor is open for the combination.")
#: Decimals of log-HRs and shares in the file.
DECIMALS: Final = 4


def _round(value: Any, decimals: int = DECIMALS) -> float | None:
    number = finite_or_none(value)
    return None if number is None else round(number, decimals)


def _hr(log_hr: Any) -> float | None:
    number = finite_or_none(log_hr)
    return None if number is None else float(f"{math.exp(number):.4g}")


def _list(values: Any, decimals: int = DECIMALS) -> list[float | None]:
    return [_round(v, decimals) for v in np.asarray(values, dtype=float).ravel()]


def belt_result(fb: FactorBelt) -> dict[str, Any]:
    """One belt's inversion at the published estimate, with MCSEs and checks."""
    inv, boot, belt = fb.inverted, fb.boot, fb.belt
    side = str(inv.estimate_side[0]) or None
    defined = [float(belt.fine[0]), float(belt.fine[-1])] if belt.fine.size else [None, None]
    start, stop = GRID_START, GRID_STOP[belt.factor]
    reasons = []
    if inv.lower_open[0] or side == "below":
        reasons.append("the grid starts there" if defined[0] is not None and
                       defined[0] <= start + 1e-9 else
                       f"below it fewer than {MIN_SAMPLE} simulated studies per grid point "
                       "report the factor, too few for the belt's quantiles")
    if inv.upper_open[0] or side == "above":
        reasons.append("the grid ends there" if defined[1] is not None and
                       defined[1] >= stop - 1e-9 else "the belt ends there")
    falls = [{"level": level, "from": a, "to": b, "by": by}
             for level, runs in fb.falls.items() for a, b, by in runs]
    estimate = finite_or_none(inv.estimate[0])
    bound = None
    if side == "below":
        bound = defined[0]
    elif side == "above":
        bound = defined[1]
    return {
        "belt": belt.belt,
        "title": BELT_TITLES[belt.belt],
        "observed_log_hr": _round(fb.observed, 6),
        "estimate": {
            "log_hr": _round(estimate), "hr": _hr(estimate), "open": side,
            "bound_log_hr": _round(bound), "bound_hr": _hr(bound),
            "mcse_log_hr": _round(fb.mcse(boot.estimate, boot.estimate_side != "")),
            "bootstrap_open_share": _round(np.mean(boot.estimate_side != "")),
        },
        "interval": {
            "log_hr": [_round(inv.lower[0]), _round(inv.upper[0])],
            "hr": [_hr(inv.lower[0]), _hr(inv.upper[0])],
            "open": [bool(inv.lower_open[0]), bool(inv.upper_open[0])],
            "mcse_log_hr": [_round(fb.mcse(boot.lower, boot.lower_open)),
                            _round(fb.mcse(boot.upper, boot.upper_open))],
            "bootstrap_open_share": [_round(np.mean(boot.lower_open)),
                                     _round(np.mean(boot.upper_open))],
            "contiguous": bool(inv.contiguous[0]), "empty": bool(inv.empty[0]),
        },
        "open_because": "; ".join(reasons) or None,
        "belt_range_log_hr": [_round(d) for d in defined],
        "grid_range_log_hr": [start, stop],
        "monotone": not falls,
        "falls": falls,
        "calibration": {k: _round(v) if isinstance(v, float) else v
                        for k, v in fb.calibration.summary().items()},
        "replicates": fb.replicates,
        "estimates": int(belt.n.sum()),
        "failed_fits": fb.failed,
        "reported": fb.reported,
    }


def belt_curves(fb: FactorBelt, every: int = 5) -> dict[str, Any]:
    """A belt's raw and smoothed quantile curves and its per-point calibration, for
    drawing (the smoothed curves every ``every`` fine-grid steps)."""
    belt, per = fb.belt, fb.calibration.per_point()
    return {
        "levels": list(LEVELS),
        "theta": _list(belt.theta, 2),
        "n": [int(v) for v in belt.n],
        "raw": [_list(row) for row in belt.raw],
        "raw_mcse": [_list(row) for row in belt.raw_mcse],
        "smooth_theta": _list(belt.fine[::every], 3),
        "smooth": [_list(row) for row in belt.smooth[::every]],
        "coverage": _list(per["coverage"]),
        "coverage_mcse": _list(per["coverage_mcse"]),
        "below": _list(per["below"]),
        "below_mcse": _list(per["below_mcse"]),
        "held_out": [int(v) for v in fb.calibration.held_out],
    }


def _quantiles(q: Mapping[str, tuple[float | None, float | None]]) -> dict[str, Any]:
    return {name: _round(value[0], 3) for name, value in q.items()} | {
        f"{name}_mcse": _round(value[1], 3) for name, value in q.items()}


def evidence_document(evidence: Evidence, provenance: Mapping[str, Any],
                      budget: Mapping[str, int]) -> dict[str, Any]:
    """The data file's content (plain JSON data)."""
    families: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    for fam in evidence.families:
        info = family(fam)
        factors: dict[str, Any] = {}
        for factor in info.factors:
            entry: dict[str, Any] = {}
            for belt in BELTS:
                fb = evidence.factor_belts.get((fam, factor, belt))
                if fb is None:
                    continue
                entry["published_log_hr"] = _round(fb.observed, 6)
                entry[belt] = belt_result(fb)
                if fam == MAIN_FAMILY:
                    curves.setdefault(factor, {})[belt] = belt_curves(fb)
            if entry:
                factors[factor] = entry
        item: dict[str, Any] = {"title": info.title, "why": info.why, "factors": factors}
        if fam in evidence.cutoffs:
            cut = evidence.cutoffs[fam]
            item["cutoff"] = {"scenario": cut.scenario, "replicates": cut.replicates,
                              "chosen": cut.chosen, **_quantiles(cut.quantiles)}
        if fam in evidence.false_findings:
            ff = evidence.false_findings[fam]
            item["false_findings"] = {"scenario": ff.scenario, "replicates": ff.replicates,
                                      "usable": ff.usable, "share": _round(ff.share),
                                      "mcse": _round(ff.mcse)}
        families[fam] = item
    main_cut = evidence.cutoffs.get(MAIN_FAMILY)
    return {
        "format": FORMAT,
        "provenance": dict(provenance),
        "design": {**design_dict(), **budget, "bootstrap": BOOTSTRAP,
                   "min_sample": MIN_SAMPLE},
        "label": LABEL,
        "assumptions": ASSUMPTIONS,
        "combination": COMBINATION,
        "headline_belt": BELTS[0],
        "main_family": MAIN_FAMILY,
        "families": families,
        "family_order": [f.name for f in FAMILIES if f.name in families],
        "curves": curves,
        "cutoff_histogram": None if main_cut is None else {
            "scenario": main_cut.scenario, "edges": _list(CUTOFF_BINS, 1),
            "counts": [int(c) for c in main_cut.histogram]},
    }


def provenance(*, command: Sequence[str], seed: int, study: str | os.PathLike[str],
               evidence: Evidence, wall_time_s: float, workers: int | None, dask: str | None,
               replicates_run: int, load_average: tuple[float, float] = (math.nan, math.nan)
               ) -> dict[str, Any]:
    """Where the numbers come from and how to make them again (``load_average``: the
    machine's 1-minute load at the start and the end, which the wall time depends on)."""
    counts = evidence.replicates
    usual = max(set(counts.values()), key=list(counts.values()).count) if counts else 0
    return {
        "command": " ".join(command),
        "seed": seed,
        "package_version": __version__,
        "methods_version": METHODS_VERSION,
        "generator_version": GENERATOR_VERSION,
        "published_model_version": MODEL_VERSION,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "study_file": Path(study).name,
        "study_fingerprint": evidence.fingerprint,
        "replicates_total": sum(counts.values()),
        "scenarios": len(counts),
        "replicates_per_scenario": usual,
        "replicates_otherwise": {name: n for name, n in sorted(counts.items()) if n != usual},
        "replicates_run_this_time": replicates_run,
        "wall_time_s": round(wall_time_s, 1),
        "workers": workers,
        "dask": dask,
        "cpu_count": os.cpu_count(),
        "load_average_1min": [_round(v, 2) for v in load_average],
    }


def write_document(document: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the document as compact JSON (strict: no NaN; the provenance first),
    atomically (a temporary file, then a rename), so a reader never sees half a file."""
    target = Path(path)
    text = json.dumps(document, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=False) + "\n"
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
