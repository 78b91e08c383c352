"""The paper's analysis of one cohort: a cohort in, a flat JSON-safe record out.

:func:`analyze` reproduces the statistical analysis of Majidova et al. (2025) on any
cohort with the interface's columns, synthetic or real:

1. counts, median follow-up by reverse Kaplan-Meier, and the Table 1 baseline summary;
2. Kaplan-Meier medians of OS and PFS for the whole cohort and by AFP, PNI and treatment
   group, each with the Brookmeyer-Crowley (log-log) and the symmetric Collett CI;
3. log-rank tests of OS by AFP, PNI and extrahepatic spread;
4. the ROC of PNI against death (AUC with DeLong CI) and its Youden cut-off;
5. PNI dichotomised at 47.6 (default) or at that Youden cut-off;
6. univariable Cox models of OS for the eight Table 4 factors, then a multivariable model
   of the factors with univariable p < 0.05.

Each analysis uses its complete cases and reports how many rows it used. Trouble that
small samples bring (an empty group, a group without deaths, a median not reached,
complete separation, a fit that does not converge) is reported in ``flags`` with the
estimates concerned set to None; it never raises. The record holds no NaN: every missing
number is None, so it serialises to strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calculator.child_pugh import CLASS_B_MIN_SCORE
from calculator.formatting import counted
from calculator.published import AGE_CUTOFF_YEARS
from simulation.cohorts.factors import (
    AFP_CUTOFF_NG_ML,
    DEFAULT_PNI_CUTOFF,
    FACTORS,
    code_factors,
    pni_values,
)
from simulation.cohorts.schema import COLUMN_NAMES, COLUMNS_BY_NAME, TEXT_COLUMNS, TREATMENTS
from simulation.paper.screening import ENTRY_P, enters, usable
from simulation.stats.engines import DEFAULT_ENGINE, Engine, get_engine
from simulation.stats.jsonsafe import finite_list, finite_or_none
from simulation.stats.km import km_median, risk_sets
from simulation.stats.roc import roc_auc, youden_cutoff

#: Baseline (Table 1) summaries: numbers by median and range, categories by counts.
BASELINE_NUMBERS = ("age", "afp_ng_ml", "albumin_g_l", "lymphocytes_10e9_l", "pni",
                    "bilirubin_mg_dl", "inr")
BASELINE_CATEGORIES = ("sex", "ecog", "child_pugh_score", "etiology", "cirrhosis",
                       "extrahepatic_spread", "treatment")
#: Log-rank comparisons: name -> (factor, label of group 1, label of group 0).
LOGRANK_TESTS = {
    "afp": ("afp", "afp_high", "afp_low"),
    "pni": ("pni_low", "pni_low", "pni_high"),
    "extrahepatic_spread": ("extrahepatic_spread", "spread", "no_spread"),
}
#: Human labels of the factors (1 = adverse level), for flags and tables.
FACTOR_LABELS = {
    "age_65_plus": f"age >= {AGE_CUTOFF_YEARS}", "male": "male sex", "ecog_1_plus": "ECOG >= 1",
    "viral_hepatitis": "viral hepatitis (HBV/HCV)", "afp": f"AFP >= {AFP_CUTOFF_NG_ML:g} ng/mL",
    "child_pugh_b": f"Child-Pugh B (score >= {CLASS_B_MIN_SCORE})",
    "extrahepatic_spread": "extrahepatic spread", "pni_low": "PNI below the cut-off",
}
#: Labels of the record's log-rank comparisons (adverse level vs reference).
LOGRANK_LABELS = {
    "afp": f"AFP >= {AFP_CUTOFF_NG_ML:g} vs < {AFP_CUTOFF_NG_ML:g} ng/mL",
    "pni": "PNI low vs high", "extrahepatic_spread": "Extrahepatic spread yes vs no",
}


# ---------------------------------------------------------------------------------------
# JSON-safe numbers
# ---------------------------------------------------------------------------------------

class _Flags:
    """The record's ``flags``: what could not be estimated, and why."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, analysis: str, reason: str) -> None:
        self.items.append({"analysis": analysis, "reason": reason})


# ---------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------

def _text_column(values: Any) -> np.ndarray:
    out = []
    for v in np.asarray(values, dtype=object).tolist():
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        out.append("" if missing else str(v))
    return np.array(out, dtype=str)


def normalise_cohort(cohort: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The interface columns as arrays: numbers as float (NaN missing), text as str
    (``""`` missing). Raises ValueError for absent columns or unequal lengths."""
    absent = [c for c in COLUMN_NAMES if c not in cohort]
    if absent:
        raise ValueError(f"the cohort lacks the column(s) {', '.join(absent)}; a cohort has "
                         f"{', '.join(COLUMN_NAMES)}")
    out: dict[str, np.ndarray] = {}
    for name in COLUMN_NAMES:
        if name in TEXT_COLUMNS:
            out[name] = _text_column(cohort[name])
        else:
            out[name] = np.asarray(cohort[name], dtype=float).reshape(-1)
    lengths = {name: len(v) for name, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"the cohort's columns differ in length: {lengths}")
    if not out["id"].size:
        raise ValueError("the cohort has no patients")
    return out


def _missing(cohort: Mapping[str, np.ndarray]) -> np.ndarray:
    """(columns, n) bool: which cells are missing."""
    return np.stack([cohort[c] == "" if c in TEXT_COLUMNS else np.isnan(cohort[c])
                     for c in COLUMN_NAMES])


# ---------------------------------------------------------------------------------------
# Pieces of the record
# ---------------------------------------------------------------------------------------

def _baseline(cohort: Mapping[str, np.ndarray], pni: np.ndarray) -> dict[str, Any]:
    """Table 1: medians and ranges of the numbers, counts of the categories."""
    columns = dict(cohort, pni=pni)
    out: dict[str, Any] = {}
    for name in BASELINE_NUMBERS:
        x = columns[name]
        seen = x[~np.isnan(x)]
        out[name] = {"n": int(seen.size), "missing": int(x.size - seen.size),
                     "median": finite_or_none(np.median(seen)) if seen.size else None,
                     "min": finite_or_none(seen.min()) if seen.size else None,
                     "max": finite_or_none(seen.max()) if seen.size else None}
    for name in BASELINE_CATEGORIES:
        x = columns[name]
        if name in TEXT_COLUMNS:
            labels = [v for v in x.tolist() if v != ""]
        else:
            labels = [str(int(v)) for v in x.tolist() if not math.isnan(v)]
        order = [str(level) for level in COLUMNS_BY_NAME[name].levels]
        levels = sorted(set(labels), key=lambda v: (order.index(v) if v in order
                                                     else len(order), v))
        out[name] = {"n": len(labels), "missing": int(x.size - len(labels)),
                     "counts": {level: labels.count(level) for level in levels}}
    return out


def _km_groups(coded: Mapping[str, np.ndarray], treatment: np.ndarray
               ) -> dict[str, np.ndarray]:
    """Group name -> membership (bool, n)."""
    n = treatment.size
    groups = {"all": np.ones(n, dtype=bool),
              "afp_high": coded["afp"] == 1, "afp_low": coded["afp"] == 0,
              "pni_high": coded["pni_low"] == 0, "pni_low": coded["pni_low"] == 1}
    for name in TREATMENTS:
        member = treatment == name
        if member.any():
            groups[name] = member
    return groups


def _km_section(time: np.ndarray, event: np.ndarray, groups: Mapping[str, np.ndarray],
                label: str, flags: _Flags) -> dict[str, Any]:
    names = list(groups)
    masks = np.stack([groups[g] for g in names])
    fit = km_median(np.broadcast_to(time, masks.shape), np.broadcast_to(event, masks.shape),
                    masks)
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        where = f"km.{label}.{name}"
        n, events = int(fit.n[i]), int(fit.events[i])
        out[name] = {"median": finite_or_none(fit.median[i]), "ci": finite_list(fit.ci[i]),
                     "ci_symmetric": finite_list(fit.ci_symmetric[i]),
                     "se": finite_or_none(fit.se[i]), "n": n, "events": events}
        if n == 0:
            flags.add(where, "the group is empty (no patients with complete data)")
        elif events == 0:
            flags.add(where, f"no events among {counted(n, 'patient')}: the median is not "
                             f"reached")
        elif not np.isfinite(fit.median[i]):
            flags.add(where, f"the median is not reached: survival stays above 0.5 "
                             f"({counted(events, 'event')} among {counted(n, 'patient')})")
        else:
            for k, side in enumerate(("lower", "upper")):
                if not np.isfinite(fit.ci[i, k]):
                    flags.add(where, f"the {side} 95% limit (log-log) is not reached: the "
                                     f"{side} band stays above 0.5 to the end of the curve "
                                     f"({counted(events, 'event')} among "
                                     f"{counted(n, 'patient')})")
            if not np.isfinite(fit.se[i]):
                flags.add(where, "Collett's standard error is undefined (the curve does not "
                                 "fall to 0.45 or ends at 0): no symmetric interval")
    return out


def _roc_section(pni: np.ndarray, died: np.ndarray, flags: _Flags) -> dict[str, Any]:
    used = np.isfinite(pni) & np.isfinite(died)
    auc = roc_auc(-pni, died, used)
    youden = youden_cutoff(pni, died, used)
    record = {"marker": "PNI (lower = higher risk; AUC of -PNI)",
              "outcome": "death (os_event = 1)",
              "auc": finite_or_none(auc.auc), "ci": finite_list(auc.ci),
              "se": finite_or_none(auc.se), "p": finite_or_none(auc.p),
              "youden_cutoff": finite_or_none(youden.cutoff),
              "sensitivity": finite_or_none(youden.sensitivity),
              "specificity": finite_or_none(youden.specificity),
              "j": finite_or_none(youden.j), "n_used": int(used.sum()),
              "deaths": int(auc.n_positive), "survivors": int(auc.n_negative)}
    if not np.isfinite(auc.auc):
        flags.add("roc", "the ROC needs at least one death and one survivor with PNI; "
                         f"there are {int(auc.n_positive)} and {int(auc.n_negative)}")
    elif not np.isfinite(auc.se):
        flags.add("roc", "the DeLong interval needs at least two deaths and two survivors")
    return record


def _logrank_section(time: np.ndarray, event: np.ndarray, coded: Mapping[str, np.ndarray],
                     engine: Any, flags: _Flags) -> dict[str, Any]:
    names = list(LOGRANK_TESTS)
    groups = np.stack([coded[LOGRANK_TESTS[name][0]] for name in names])
    masks = np.isfinite(groups) & np.isfinite(time) & np.isfinite(event)
    shape = groups.shape
    result = engine.logrank_test(np.broadcast_to(np.nan_to_num(time), shape),
                                 np.broadcast_to(np.nan_to_num(event), shape),
                                 np.nan_to_num(groups), masks)
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        _, one, zero = LOGRANK_TESTS[name]
        out[name] = {"chi2": finite_or_none(result.chi2[i]), "p": finite_or_none(result.p[i]),
                     "n_used": int(masks[i].sum()),
                     "groups": {one: {"n": int(result.n[i, 1]), "events": int(result.events[i, 1])},
                                zero: {"n": int(result.n[i, 0]),
                                       "events": int(result.events[i, 0])}}}
        if not np.isfinite(result.chi2[i]):
            flags.add(f"logrank.{name}", "the log-rank test is undefined: a group is empty or "
                                         "there are no deaths where both groups are at risk")
    return out


# ---------------------------------------------------------------------------------------
# Cox models
# ---------------------------------------------------------------------------------------

def _exp(value: float | None) -> float | None:
    """exp, or None when the value is missing or the result would overflow."""
    if value is None or value > math.log(np.finfo(float).max):
        return None
    return math.exp(value)


def _cox_entry(fit: Any, b: int, j: int, n_used: int, events: int, exposed: int,
               usable: bool) -> dict[str, Any]:
    coef = finite_or_none(fit.coef[b, j]) if usable else None
    se = finite_or_none(fit.se[b, j]) if usable else None
    lower = finite_or_none(fit.ci_lower[b, j]) if usable else None
    upper = finite_or_none(fit.ci_upper[b, j]) if usable else None
    return {"coef": coef, "se": se, "hr": _exp(coef), "ci": [_exp(lower), _exp(upper)],
            "p": finite_or_none(fit.p[b, j]) if usable else None,
            "n_used": n_used, "events": events, "exposed": exposed}


def _empty_entry(n_used: int, events: int, exposed: int) -> dict[str, Any]:
    return {"coef": None, "se": None, "hr": None, "ci": [None, None], "p": None,
            "n_used": n_used, "events": events, "exposed": exposed}


def _why_not_estimable(x: np.ndarray, event: np.ndarray) -> str | None:
    """Why a 0/1 factor has no finite Cox estimate in these rows, if it is plain to see."""
    exposed = int(x.sum())
    if event.sum() == 0:
        return "no deaths among the patients with complete data"
    if exposed in (0, x.size):
        level = "all" if exposed else "none"
        return f"the factor does not vary ({level} of the {x.size} patients have it)"
    return None


def _binary_cox_trouble(label: str, time: np.ndarray, event: np.ndarray, x: np.ndarray
                        ) -> str | None:
    """Why a univariable Cox model of a 0/1 factor has no finite estimate, or None.

    Only deaths at times when patients with and without the factor are both at risk
    carry information about its hazard ratio. With none, the partial likelihood is flat;
    when all of them fall on one level it rises without bound towards HR = 0 or
    infinity (monotone likelihood, Therneau & Grambsch 2000, section 3.5). Deciding this
    from the data, not from a fit, gives every engine the same verdict.
    """
    plain = _why_not_estimable(x, event)
    if plain is not None:
        return plain
    sets = risk_sets(time[None], event[None], np.ones((1, time.size), dtype=bool))
    exposed = sets.sort(x[None])
    at_risk_exposed, _ = sets.tally(exposed)
    _, deaths_exposed = sets.tally(exposed * sets.sort(event[None]))
    mixed = sets.step & (sets.deaths > 0) & (at_risk_exposed > 0) & \
        (at_risk_exposed < sets.at_risk)
    with_it = int(deaths_exposed[mixed].sum())
    without = int((sets.deaths - deaths_exposed)[mixed].sum())
    if with_it + without == 0:
        return (f"no information on {label}: no death occurs while patients with and "
                f"without it are both at risk")
    if with_it == 0 or without == 0:
        return (f"complete separation for {label}: of the {with_it + without} deaths while "
                f"patients with and without it were both at risk, {with_it} had it; the "
                f"hazard ratio runs off to {'infinity' if without == 0 else '0'}, so it is "
                f"not reported")
    return None


def _separation_reason(label: str, x: np.ndarray, event: np.ndarray) -> str:
    d1, d0 = int(event[x == 1].sum()), int(event[x == 0].sum())
    n1, n0 = int((x == 1).sum()), int((x == 0).sum())
    return (f"complete separation for {label}: {d1} deaths among {n1} with it, {d0} among "
            f"{n0} without; the hazard ratio runs off to 0 or infinity, so it is not "
            f"reported")


def _cox_univariable(time: np.ndarray, event: np.ndarray, coded: Mapping[str, np.ndarray],
                     engine: Any, flags: _Flags) -> dict[str, Any]:
    complete_os = np.isfinite(time) & np.isfinite(event)
    out: dict[str, Any] = {}
    fit_names: list[str] = []
    for name in FACTORS:
        rows = complete_os & np.isfinite(coded[name])
        x, e = coded[name][rows], event[rows]
        out[name] = _empty_entry(int(rows.sum()), int(e.sum()), int(x.sum()))
        reason = _binary_cox_trouble(FACTOR_LABELS[name], time[rows], e, x)
        if reason is None:
            fit_names.append(name)
        else:
            flags.add(f"cox.univariable.{name}", reason)
    if not fit_names:
        return out
    masks = np.stack([complete_os & np.isfinite(coded[name]) for name in fit_names])
    X = np.stack([np.nan_to_num(coded[name]) for name in fit_names])[:, :, None]
    shape = masks.shape
    fit = engine.cox_fit(np.broadcast_to(np.nan_to_num(time), shape),
                         np.broadcast_to(np.nan_to_num(event), shape), X, masks)
    for b, name in enumerate(fit_names):
        where = f"cox.univariable.{name}"
        rows = masks[b]
        x, e = coded[name][rows], event[rows]
        fit_usable = bool(usable(fit.converged[b], fit.separated[b]))
        out[name] = _cox_entry(fit, b, 0, int(rows.sum()), int(e.sum()), int(x.sum()),
                               fit_usable)
        if fit.separated[b, 0]:
            flags.add(where, _separation_reason(FACTOR_LABELS[name], x, e))
        elif not fit.converged[b]:
            flags.add(where, "the Cox fit did not converge; the estimate is not reported")
    return out


def _cox_multivariable(time: np.ndarray, event: np.ndarray, coded: Mapping[str, np.ndarray],
                       entered: Sequence[str], engine: Any, flags: _Flags) -> dict[str, Any]:
    out: dict[str, Any] = {"entered": list(entered)}
    if not entered:
        out.update(n_used=0, events=0)
        return out
    rows = np.isfinite(time) & np.isfinite(event)
    for name in entered:
        rows &= np.isfinite(coded[name])
    e = event[rows]
    out.update(n_used=int(rows.sum()), events=int(e.sum()))
    active = []
    for name in entered:
        x = coded[name][rows]
        out[name] = _empty_entry(int(rows.sum()), int(e.sum()), int(x.sum()))
        reason = _why_not_estimable(x, e)
        if reason is not None:
            flags.add(f"cox.multivariable.{name}", f"{reason}; left out of the model")
        active.append(reason is None)
    if not any(active):
        return out
    X = np.stack([np.nan_to_num(coded[name]) for name in entered], axis=-1)[None]
    fit = engine.cox_fit(np.nan_to_num(time)[None], np.nan_to_num(event)[None], X, rows[None],
                         np.array(active)[None])
    separated = [name for j, name in enumerate(entered) if active[j] and fit.separated[0, j]]
    fit_usable = bool(usable(fit.converged[0], fit.separated[0] & np.array(active)))
    for j, name in enumerate(entered):
        if active[j]:
            x = coded[name][rows]
            out[name] = _cox_entry(fit, 0, j, int(rows.sum()), int(e.sum()), int(x.sum()),
                                   fit_usable)
    for name in separated:
        flags.add(f"cox.multivariable.{name}",
                  _separation_reason(FACTOR_LABELS[name], coded[name][rows], e)
                  + "; the model's other estimates are not reported either")
    if not separated and not fit.converged[0]:
        flags.add("cox.multivariable", "the Cox fit did not converge; its estimates are not "
                                       "reported")
    return out


# ---------------------------------------------------------------------------------------
# The analysis
# ---------------------------------------------------------------------------------------

def parse_pni_cutoff(pni_cutoff: float | str) -> float | str:
    """A PNI cut-off as a float, or ``"youden"``; ValueError with the accepted values."""
    if isinstance(pni_cutoff, str):
        text = pni_cutoff.strip().lower()
        if text == "youden":
            return "youden"
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"pni_cutoff must be a number (e.g. 47.6) or 'youden'; "
                             f"got {pni_cutoff!r}") from None
    elif isinstance(pni_cutoff, bool) or not isinstance(pni_cutoff, (int, float, np.number)):
        raise ValueError(f"pni_cutoff must be a number (e.g. 47.6) or 'youden'; "
                         f"got {pni_cutoff!r}")
    else:
        value = float(pni_cutoff)
    if not math.isfinite(value) or not 0 < value < 200:
        raise ValueError(f"pni_cutoff must be a PNI value between 0 and 200 (the paper's is "
                         f"47.6) or 'youden'; got {pni_cutoff!r}")
    return value


def analyze(cohort: Mapping[str, Any], pni_cutoff: float | str = DEFAULT_PNI_CUTOFF,
            engine: str | Engine = DEFAULT_ENGINE) -> dict[str, Any]:
    """The paper's analysis of one cohort, as the ``analyze --json`` record.

    Parameters
    ----------
    cohort : mapping of column name to array
        The cohort CSV's columns (from :func:`simulation.cohorts.cohort_io.read_cohort` or the
        generator); missing values NaN (numbers) or ``""``/None (text).
    pni_cutoff : float or "youden"
        PNI < cut-off is ``pni_low``; ``"youden"`` takes the cohort's own Youden-optimal
        cut-off against death, as the paper did.
    engine : Engine or its name
        Which Cox and log-rank implementations to use (:mod:`simulation.stats.engines`;
        the fast engine by default, lifelines the reference).

    Returns
    -------
    dict
        ``n, deaths, progressions, median_followup_months`` (reverse Kaplan-Meier, with
        its ``median_followup_ci``), ``km`` (``os``/``pfs`` by group), ``logrank``,
        ``roc``, ``pni_cutoff_used``, ``cox`` (``univariable``; ``multivariable`` with
        ``entered``), ``baseline`` (Table 1), ``missing`` (per column, and complete
        rows), ``flags`` (``{"analysis", "reason"}``) and ``engine``. Numbers are Python
        floats or None, never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from simulation.cohorts.generate import generate_cohort
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> record = analyze(generate_cohort(get_scenario("tog2025"), 58,
    ...                                  np.random.default_rng(1)))
    >>> record["n"], record["pni_cutoff_used"], sorted(record["cox"]["univariable"])[:2]
    (58, 47.6, ['afp', 'age_65_plus'])
    """
    cutoff_choice = parse_pni_cutoff(pni_cutoff)
    chosen_engine = get_engine(engine)
    data = normalise_cohort(cohort)
    flags = _Flags()
    n = int(data["id"].size)
    missing_cells = _missing(data)
    os_time, os_event = data["os_months"], data["os_event"]
    pfs_time, pfs_event = data["pfs_months"], data["pfs_event"]
    pni = pni_values(data["albumin_g_l"], data["lymphocytes_10e9_l"])

    roc = _roc_section(pni, os_event, flags)
    if cutoff_choice == "youden":
        cutoff_used = roc["youden_cutoff"]
        if cutoff_used is None:
            flags.add("pni_cutoff", "no Youden cut-off (no deaths or no survivors with PNI): "
                                    "PNI groups and the PNI factor are missing")
    else:
        cutoff_used = float(cutoff_choice)
    coded = code_factors(data, np.nan if cutoff_used is None else cutoff_used)

    followup_rows = np.isfinite(os_time) & np.isfinite(os_event)
    followup = km_median(os_time, 1.0 - os_event, followup_rows)
    if not np.isfinite(followup.median):
        flags.add("median_followup_months", "the reverse Kaplan-Meier curve (censoring as the "
                                            "event) does not reach 0.5")
    groups = _km_groups(coded, data["treatment"])
    km = {"os": _km_section(os_time, os_event, groups, "os", flags),
          "pfs": _km_section(pfs_time, pfs_event, groups, "pfs", flags)}
    logrank = _logrank_section(os_time, os_event, coded, chosen_engine, flags)
    univariable = _cox_univariable(os_time, os_event, coded, chosen_engine, flags)
    screened = enters([np.nan if univariable[name]["p"] is None else univariable[name]["p"]
                       for name in FACTORS])
    entered = [name for name, passes in zip(FACTORS, screened) if passes]
    multivariable = _cox_multivariable(os_time, os_event, coded, entered, chosen_engine, flags)

    return {
        "n": n,
        "deaths": int(np.nansum(os_event == 1)),
        "progressions": int(np.nansum(pfs_event == 1)),
        "median_followup_months": finite_or_none(followup.median),
        "median_followup_ci": finite_list(followup.ci),
        "median_followup_ci_symmetric": finite_list(followup.ci_symmetric),
        "km": km,
        "logrank": logrank,
        "roc": roc,
        "pni_cutoff_used": cutoff_used,
        "pni_cutoff_rule": (None if cutoff_used is None else
                            f"high if PNI >= {cutoff_used:g}; PNI below it is adverse"),
        "cox": {"univariable": univariable, "multivariable": multivariable,
                "entry_rule": f"univariable p < {ENTRY_P:g}"},
        "baseline": _baseline(data, pni),
        "missing": {"by_column": {name: int(count) for name, count
                                  in zip(COLUMN_NAMES, missing_cells.sum(axis=1)) if count},
                    "complete_rows": int((~missing_cells.any(axis=0)).sum())},
        "flags": flags.items,
        "engine": chosen_engine.name,
    }
