"""Marginals and outcome summaries of a cohort, beside the published figures.

:func:`describe_cohort` computes, for a cohort dict (as :func:`simulation.cohorts.generate.
generate_cohort` returns), the Table 1 marginals and the outcome summaries the
calibration aims at: death fraction, share with a PFS event, Kaplan-Meier median OS and
PFS, and the median follow-up by reverse Kaplan-Meier (Schemper & Smith 1996: the
Kaplan-Meier estimate with the censoring indicator reversed). Medians come from
:func:`simulation.stats.km.km_median`, the same estimator (and R's midpoint convention) as
``analyze``. :func:`format_description` lays it out as text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from calculator.published import COHORT, TABLE1
from simulation.cohorts.factors import code_factors, pni_values
from simulation.cohorts.scenarios import published_targets
from simulation.cohorts.schema import ETIOLOGIES, TREATMENTS
from simulation.stats.jsonsafe import finite_or_none
from simulation.stats.km import km_median


def _share(mask: np.ndarray) -> float:
    return float(np.mean(mask))


def _spread(x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, dtype=float)
    return {"median": float(np.median(x)), "min": float(x.min()), "max": float(x.max())}


def _km_median(time: np.ndarray, event: np.ndarray) -> float | None:
    return finite_or_none(km_median(np.asarray(time, dtype=float),
                                    np.asarray(event, dtype=float)).median)


def describe_cohort(cohort: dict[str, np.ndarray]) -> dict[str, Any]:
    """Table 1 marginals and outcome summaries of ``cohort``.

    Returns
    -------
    dict
        ``{"n", "marginals": {...}, "outcomes": {...}}``; shares are fractions (0-1),
        times in months; ``bclc`` appears only if the cohort carries it.
    """
    n = len(cohort["id"])
    ecog = cohort["ecog"]
    score = cohort["child_pugh_score"]
    factors = code_factors(cohort)
    pni = pni_values(cohort["albumin_g_l"], cohort["lymphocytes_10e9_l"])
    marginals: dict[str, Any] = {
        "age": _spread(cohort["age"]),
        "age_65_plus": _share(factors["age_65_plus"] == 1),
        "male": _share(cohort["sex"] == "M"),
        "ecog": {"0": _share(ecog == 0), "1": _share(ecog == 1), "2": _share(ecog == 2),
                 "1-2": _share(factors["ecog_1_plus"] == 1)},
        "child_pugh_score": {str(s): _share(score == s) for s in np.unique(score)},
        "child_pugh_b": _share(factors["child_pugh_b"] == 1),
        "cirrhosis": _share(cohort["cirrhosis"] == 1),
        "etiology": {e: _share(cohort["etiology"] == e) for e in ETIOLOGIES},
        "extrahepatic_spread": _share(cohort["extrahepatic_spread"] == 1),
        "afp_ng_ml": _spread(cohort["afp_ng_ml"]) | {"high": _share(factors["afp"] == 1)},
        "albumin_g_l": _spread(cohort["albumin_g_l"]),
        "lymphocytes_10e9_l": _spread(cohort["lymphocytes_10e9_l"]),
        "bilirubin_mg_dl": _spread(cohort["bilirubin_mg_dl"]),
        "inr": _spread(cohort["inr"]),
        "pni": _spread(pni) | {"low": _share(factors["pni_low"] == 1)},
        "treatment": {t: _share(cohort["treatment"] == t) for t in TREATMENTS},
    }
    if "bclc" in cohort:
        marginals["bclc"] = {stage: _share(cohort["bclc"] == stage) for stage in ("B", "C")}
    os_time, os_event = cohort["os_months"], cohort["os_event"]
    outcomes = {
        "deaths": int(np.sum(os_event)),
        "death_fraction": _share(os_event == 1),
        "pfs_events": int(np.sum(cohort["pfs_event"])),
        "pfs_event_fraction": _share(cohort["pfs_event"] == 1),
        "median_os_months": _km_median(os_time, os_event),
        "median_pfs_months": _km_median(cohort["pfs_months"], cohort["pfs_event"]),
        "median_followup_months": _km_median(os_time, 1 - np.asarray(os_event)),
    }
    return {"n": n, "marginals": marginals, "outcomes": outcomes}


def _published_figures() -> dict[str, str]:
    """Table 1 and outcome figures as printed, keyed like the flattened description."""
    t = TABLE1
    shown = {f"{k}.median": f"{t[k]['median']:g} ({t[k]['range'][0]:g}-{t[k]['range'][1]:g})"
             for k in ("age", "afp_ng_ml", "albumin_g_l", "lymphocytes_10e9_l",
                       "bilirubin_mg_dl", "inr")}
    shown |= {k: f"{t[k]:.1%}" for k in ("male", "cirrhosis", "extrahepatic_spread")}
    shown |= {f"ecog.{k}": f"{p:.1%}" for k, p in t["ecog"].items()}
    shown |= {f"child_pugh_score.{s}": f"{p:.1%}" for s, p in t["child_pugh_score"].items()}
    shown |= {f"etiology.{e}": f"{p:.1%}" for e, p in t["etiology"].items()}
    shown |= {f"treatment.{d}": f"{p:.1%}" for d, p in t["treatment"].items()}
    shown |= {f"bclc.{s}": f"{p:.1%}" for s, p in t["bclc"].items()}
    targets = published_targets()
    shown |= {"deaths": f"{COHORT['deaths']} of {COHORT['n']}",
              "death_fraction": f"{targets.death_fraction:.1%}",
              "pfs_events": f"{COHORT['progressions']} of {COHORT['n']}",
              "pfs_event_fraction": f"{targets.pfs_event_fraction:.1%}",
              "median_os_months": f"{targets.median_os_months:g}",
              "median_pfs_months": f"{targets.median_pfs_months:g}",
              "median_followup_months": f"{targets.median_followup_months:g}"}
    return shown


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            rows += _flatten(f"{prefix}.{key}" if prefix else str(key), item)
        return rows
    return [(prefix, value)]


def _format_value(key: str, value: Any) -> str:
    if value is None:
        return "not reached"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if key.rsplit(".", 1)[-1] in ("median", "min", "max") or key.endswith("_months"):
        return f"{value:.4g}"
    return f"{value:.1%}"


def format_description(description: dict[str, Any]) -> str:
    """``description`` as an aligned text table, with the published figure beside each."""
    figures = _published_figures()
    rows = [("n", str(description["n"]), str(COHORT["n"]))]
    for section in ("marginals", "outcomes"):
        rows += [(key, _format_value(key, value), figures.get(key, ""))
                 for key, value in _flatten("", description[section])]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {'cohort':>12}  published"]
    lines += [f"{k:{width}}  {v:>12}  {p}".rstrip() for k, v, p in rows]
    return "\n".join(lines)
