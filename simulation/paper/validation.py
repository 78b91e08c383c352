"""Does the published model hold in new patients? External validation of one cohort.

:func:`validate` applies the paper's three-factor model *unchanged* to a cohort with the
interface's columns (``hcc-prognosis validate``): nothing is re-estimated from the
cohort except the measures of how well the published model fits it. The model is the
linear predictor of Table 4's multivariable hazard ratios, re-expressed as adverse
(:mod:`calculator.published`, the one copy of the numbers):

.. math::

    \\eta = \\ln(1.97)\\,[\\mathrm{AFP} \\ge 200] + \\ln(2.44)\\,[\\mathrm{spread}]
          + \\ln(4.17)\\,[\\mathrm{PNI} < 47.6],

and its risk groups are the number of those adverse factors present (0-3).

Measures, each with a 95% CI (TRIPOD; Royston & Altman 2013):

- discrimination: Harrell's C and Uno's C truncated at :math:`\\tau`
  (:mod:`simulation.stats.concordance`, R's ``survival::concordance``, infinitesimal-
  jackknife variance);
- calibration: the calibration slope, a Cox regression of OS on :math:`\\eta`, with the
  Wald test of slope = 1 (:mod:`simulation.stats.calibration`). The paper gives no
  baseline survival, so calibration in the large (absolute risk) cannot be assessed;
- risk groups: n, deaths, Kaplan-Meier median OS (Brookmeyer-Crowley log-log CI), the
  observed hazard ratio of each group against group 0 (Cox, Efron ties, Wald CI) beside
  the hazard ratio the published model gives the group's patients (from
  :func:`calculator.profile.combined_relative_hazard`), and the log-rank test for trend
  over the four groups (:mod:`simulation.stats.trend`).

The cohort is read and checked as ``analyze`` reads it, and the analysis uses the complete
cases for OS and the three factors, the same rows ``analyze`` would use for a Cox model of
those three factors. Small-sample trouble gives ``warnings``, never an exception: fewer
than 100 deaths (Collins, Ogundimu & Altman 2016), empty or small risk groups, separation,
medians not reached, an unstable Uno weighting. The record holds no NaN (None instead).

References
----------
.. [1] Collins GS, Ogundimu EO, Altman DG. Sample size considerations for the external
   validation of a multivariable prognostic model: a resampling study. Stat Med
   2016;35:214-226 (at least 100 events, ideally 200 or more).
.. [2] Riley RD, Collins GS, Ensor J, et al. Minimum sample size calculations for external
   validation of a clinical prediction model with a time-to-event outcome. Stat Med
   2022;41:1280-1295.
.. [3] Royston P, Altman DG. External validation of a Cox prognostic model: principles and
   methods. BMC Med Res Methodol 2013;13:33.
.. [4] Collins GS, Reitsma JB, Altman DG, Moons KGM. Transparent reporting of a
   multivariable prediction model for individual prognosis or diagnosis (TRIPOD).
   BMJ 2015;350:g7594.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calculator import __version__
from calculator.formatting import counted
from calculator.profile import Factor, RelativeHazard, combined_relative_hazard
from calculator.published import CITATION, DOI, MODEL_VERSION, Z95, log_hr_se, table4_row
from simulation.cohorts.factors import AFP_CUTOFF_NG_ML, DEFAULT_PNI_CUTOFF, code_factors
from simulation.paper.analysis import normalise_cohort
from simulation.stats.calibration import CalibrationSlope, calibration_slope
from simulation.stats.concordance import Concordance, harrell_c, uno_c
from simulation.stats.cox import cox_fit
from simulation.stats.jsonsafe import finite_list, finite_or_none
from simulation.stats.km import km_median
from simulation.stats.trend import logrank_trend

#: The model's factors (project coding, 1 = adverse) -> their Table 4 row names.
MODEL_FACTORS: dict[str, str] = {"afp": "afp", "extrahepatic_spread": "extrahepatic_spread",
                                 "pni_low": "pni"}
#: What each factor means, for tables and messages.
FACTOR_RULES: dict[str, str] = {
    "afp": f"AFP >= {AFP_CUTOFF_NG_ML:g} ng/mL",
    "extrahepatic_spread": "extrahepatic spread",
    "pni_low": f"PNI < {DEFAULT_PNI_CUTOFF:g}",
}
#: Risk groups: the number of adverse factors present.
RISK_GROUPS: tuple[int, ...] = (0, 1, 2, 3)
#: The columns the model needs (with OS).
MODEL_COLUMNS: tuple[str, ...] = ("afp_ng_ml", "extrahepatic_spread", "albumin_g_l",
                                  "lymphocytes_10e9_l", "os_months", "os_event")

#: Default truncation time of Uno's C: one year, a usual landmark of second-line HCC
#: trials (the paper's median OS was 6.5 months, its median follow-up 20.4).
DEFAULT_TAU_MONTHS = 12.0
#: Fewer deaths than this: the usual minimum for an external validation (Collins,
#: Ogundimu & Altman 2016; 200 or more is better).
MIN_DEATHS = 100
IDEAL_DEATHS = 200
#: A risk group with fewer patients or deaths than these is called small.
MIN_GROUP_PATIENTS = 10
MIN_GROUP_DEATHS = 5
#: Uno's weights 1/G(t-)^2 are unstable when fewer than this share is still at risk at tau.
MIN_AT_RISK_AT_TAU = 0.10


# ---------------------------------------------------------------------------------------
# The published model
# ---------------------------------------------------------------------------------------

def published_log_hazard_ratios() -> dict[str, float]:
    """ln of Table 4's multivariable HR of each model factor, as adverse.

    >>> {k: round(v, 4) for k, v in published_log_hazard_ratios().items()}
    {'afp': 0.678, 'extrahepatic_spread': 0.8916, 'pni_low': 1.4271}
    """
    return {factor: math.log(table4_row(row).adverse().hr)
            for factor, row in MODEL_FACTORS.items()}


def linear_predictor(coded: Mapping[str, Any]) -> np.ndarray:
    """The published model's log relative hazard of each patient, shape ``(..., n)``
    (NaN where a factor is missing).

    ``coded`` holds the factors as :func:`simulation.cohorts.factors.code_factors` codes
    them (1 = adverse).
    """
    betas = published_log_hazard_ratios()
    return sum((betas[f] * np.asarray(coded[f], dtype=float) for f in MODEL_FACTORS),
               start=np.zeros(np.shape(coded["afp"])))


def adverse_count(coded: Mapping[str, Any]) -> np.ndarray:
    """Number of the model's adverse factors present (0-3; NaN where one is missing)."""
    return sum((np.asarray(coded[f], dtype=float) for f in MODEL_FACTORS),
               start=np.zeros(np.shape(coded["afp"])))


def published_relative_hazard(present: Sequence[str]) -> RelativeHazard:
    """The calculator's combined relative hazard of the adverse factors ``present``
    (project names, e.g. ``("afp", "pni_low")``) against none of them."""
    factors = []
    for factor, row_name in MODEL_FACTORS.items():
        row = table4_row(row_name)
        hr = row.adverse()
        factors.append(Factor(row_name, factor in present, hr.hr, (hr.lower, hr.upper),
                              hr.p, FACTOR_RULES[factor], row.source, row.independent))
    return combined_relative_hazard(tuple(factors))


def published_group_hazard(coded_rows: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The relative hazard the published model gives a risk group's patients.

    Within a group, patients can have different factors (group 1 is AFP alone, spread
    alone or PNI alone), so the group's published relative hazard is the geometric mean
    of its patients' ones, :math:`\\exp(\\bar\\eta)`, with
    :math:`\\mathrm{se} = \\sqrt{\\sum_f p_f^2\\,\\mathrm{se}_f^2}` (:math:`p_f` the share
    of the group with factor :math:`f`, :math:`\\mathrm{se}_f` recovered from the
    published CI, the log-HRs taken as independent, as the calculator does). A group with
    a single combination gets the calculator's value and CI unchanged. Each combination
    is listed with its n and the calculator's relative hazard.
    """
    x = np.stack([np.asarray(coded_rows[f], dtype=float) for f in MODEL_FACTORS], axis=-1)
    if x.shape[0] == 0:
        return {"value": None, "ci": [None, None], "basis": "no patients",
                "combinations": []}
    combos, counts = np.unique(x.astype(int), axis=0, return_counts=True)
    listed = []
    for combo, count in zip(combos.tolist(), counts.tolist(), strict=True):
        present = [f for f, flag in zip(MODEL_FACTORS, combo, strict=True) if flag]
        rh = published_relative_hazard(present)
        listed.append({"factors": present, "n": int(count), "value": rh.value,
                       "ci": list(rh.ci)})
    if len(listed) == 1:
        only = listed[0]
        return {"value": only["value"], "ci": only["ci"], "basis": "the calculator's "
                "combined relative hazard of the group's one combination of factors",
                "combinations": listed}
    shares = x.mean(axis=0)
    betas = np.array(list(published_log_hazard_ratios().values()))
    ses = np.array([log_hr_se(table4_row(row).adverse()) for row in MODEL_FACTORS.values()])
    log_rh = float(shares @ betas)
    se = float(np.sqrt(np.sum(shares ** 2 * ses ** 2)))
    return {"value": math.exp(log_rh),
            "ci": [math.exp(log_rh - Z95 * se), math.exp(log_rh + Z95 * se)],
            "basis": "geometric mean over the group's patients of the calculator's combined "
                     "relative hazard (log-HRs independent, as the calculator takes them)",
            "combinations": listed}


# ---------------------------------------------------------------------------------------
# The measures on a stack (for simulations)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StackMeasures:
    """Harrell's C and the calibration slope of the published model in each cohort of a
    stack (see :func:`stack_measures`), with the patients and deaths used."""

    harrell: Concordance
    slope: CalibrationSlope
    n: np.ndarray
    deaths: np.ndarray


def stack_measures(time: Any, event: Any, lp: Any) -> StackMeasures:
    """The published model's Harrell's C and calibration slope in each cohort of a stack.

    ``time``, ``event`` and ``lp`` (the published linear predictor, :func:`linear_predictor`)
    are ``(B, n)`` arrays; rows with a missing value are left out, as :func:`validate`
    leaves out incomplete cases.
    """
    time, event, lp = (np.asarray(a, dtype=float) for a in (time, event, lp))
    used = np.isfinite(lp) & np.isfinite(time) & np.isfinite(event)
    return StackMeasures(harrell=harrell_c(time, event, lp, used),
                         slope=calibration_slope(time, event, lp, used),
                         n=used.sum(axis=-1), deaths=((event == 1) & used).sum(axis=-1))


# ---------------------------------------------------------------------------------------
# One cohort: the record
# ---------------------------------------------------------------------------------------

class _Warnings:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, code: str, message: str) -> None:
        self.items.append({"code": code, "message": message})


def _model_section() -> dict[str, Any]:
    betas = published_log_hazard_ratios()
    terms = " + ".join(f"{betas[f]:.4f} x [{FACTOR_RULES[f]}]" for f in MODEL_FACTORS)
    return {"source": CITATION, "doi": DOI, "published_model_version": MODEL_VERSION,
            "coefficients": {f: {"log_hr": betas[f], "hr": table4_row(row).adverse().hr,
                                 "rule": FACTOR_RULES[f],
                                 "source": table4_row(row).source}
                             for f, row in MODEL_FACTORS.items()},
            "linear_predictor": f"lp = {terms}",
            "risk_groups": "number of the three adverse factors present (0-3)"}


def _concordance_entry(c: Concordance, method: str) -> dict[str, Any]:
    return {"value": finite_or_none(c.value), "ci": finite_list(c.ci), "se": finite_or_none(c.se),
            "pairs": {"concordant": finite_or_none(c.concordant),
                      "discordant": finite_or_none(c.discordant),
                      "tied_score": finite_or_none(c.tied_score)},
            "method": method}


def _slope_entry(s: CalibrationSlope) -> dict[str, Any]:
    return {"value": finite_or_none(s.slope), "ci": finite_list(s.ci), "se": finite_or_none(s.se),
            "test_slope_1": {"z": finite_or_none(s.z_vs_one), "p": finite_or_none(s.p_vs_one)},
            "method": "Cox regression of OS on the published linear predictor (Efron ties), "
                      "Wald 95% CI; test of slope = 1 by Wald z = (slope - 1) / se"}


def _group_hazards(time: np.ndarray, event: np.ndarray, group: np.ndarray,
                   warnings: _Warnings) -> dict[int, dict[str, Any]]:
    """Observed HR of each group against group 0 (one Cox model with three indicators)."""
    empty = {"value": None, "ci": [None, None], "p": None, "se": None}
    out: dict[int, dict[str, Any]] = {0: {**empty, "reference": True}}
    sizes = {k: int((group == k).sum()) for k in RISK_GROUPS}
    others = [k for k in RISK_GROUPS[1:]]
    for k in others:
        out[k] = dict(empty)
    if sizes[0] == 0:
        warnings.add("no-reference-group", "no patient has none of the three factors (risk "
                     "group 0), so no group hazard ratio can be estimated against it")
        return out
    present = [k for k in others if sizes[k] > 0]
    if not present or event.sum() == 0:
        return out
    X = np.stack([(group == k).astype(float) for k in others], axis=-1)
    active = np.array([sizes[k] > 0 for k in others])
    fit = cox_fit(time, event, X, active=active)
    for j, k in enumerate(others):
        if not active[j]:
            continue
        if fit.separated[0, j]:
            direction = "0" if fit.coef[0, j] < 0 else "infinity"
            warnings.add("separation", f"risk group {k} against group 0: the hazard ratio "
                         f"runs off to {direction} (complete separation: "
                         f"{int(event[group == k].sum())} deaths among {sizes[k]} in group "
                         f"{k}, {int(event[group == 0].sum())} among {sizes[0]} in group 0); "
                         "it is not reported")
            continue
        if not fit.converged[0]:
            continue
        coef, se = float(fit.coef[0, j]), float(fit.se[0, j])
        out[k] = {"value": math.exp(coef), "ci": [math.exp(coef - Z95 * se),
                                                  math.exp(coef + Z95 * se)],
                  "p": finite_or_none(fit.p[0, j]), "se": finite_or_none(se)}
    if not fit.converged[0] and not fit.separated[0].any():
        warnings.add("no-convergence", "the Cox model of the risk groups did not converge; "
                     "its hazard ratios are not reported")
    return out


def _risk_groups(time: np.ndarray, event: np.ndarray, group: np.ndarray,
                 coded: Mapping[str, np.ndarray], warnings: _Warnings) -> list[dict[str, Any]]:
    masks = np.stack([group == k for k in RISK_GROUPS])
    shape = masks.shape
    km = km_median(np.broadcast_to(time, shape), np.broadcast_to(event, shape), masks)
    hazards = _group_hazards(time, event, group, warnings)
    out = []
    for i, k in enumerate(RISK_GROUPS):
        rows = masks[i]
        n, deaths = int(rows.sum()), int(event[rows].sum())
        published = published_group_hazard({f: coded[f][rows] for f in MODEL_FACTORS})
        if k == 0:
            published = {**published, "value": None, "ci": [None, None], "reference": True,
                         "basis": "the reference group (none of the three factors)"}
        out.append({"adverse_factors": k, "n": n, "deaths": deaths,
                    "median_months": finite_or_none(km.median[i]),
                    "median_ci": finite_list(km.ci[i]),
                    "hr": hazards[k], "hr_published": published})
        label = f"risk group {k} ({counted(k, 'adverse factor')})"
        if n == 0:
            warnings.add("empty-risk-group", f"{label} has no patients")
            continue
        if n < MIN_GROUP_PATIENTS or deaths < MIN_GROUP_DEATHS:
            warnings.add("small-risk-group",
                         f"{label} has {counted(n, 'patient')} and {counted(deaths, 'death')} "
                         f"(fewer than {MIN_GROUP_PATIENTS} patients or {MIN_GROUP_DEATHS} "
                         "deaths): its median and hazard ratio are very imprecise")
        if not np.isfinite(km.median[i]):
            warnings.add("median-not-reached",
                         f"{label}: the median OS is not reached (survival stays above 0.5 "
                         f"with {counted(deaths, 'death')} among {counted(n, 'patient')})")
    return out


def _missing(data: Mapping[str, np.ndarray], used: np.ndarray) -> dict[str, Any]:
    by_column = {}
    for name in MODEL_COLUMNS:
        count = int(np.isnan(data[name]).sum())
        if count:
            by_column[name] = count
    return {"by_column": by_column, "excluded_rows": int(used.size - used.sum()),
            "rule": "complete cases for OS and the model's three factors (AFP, extrahepatic "
                    "spread, PNI from albumin and lymphocytes), the rows analyze uses for a "
                    "Cox model of those factors"}


def _at_risk_share(time: np.ndarray, tau: float) -> float:
    return float((time >= tau).mean()) if time.size else math.nan


def validate(cohort: Mapping[str, Any], tau: float = DEFAULT_TAU_MONTHS) -> dict[str, Any]:
    """The published model validated on one cohort: the ``validate --json`` record.

    Parameters
    ----------
    cohort : mapping of column name to array
        The cohort CSV's columns (:func:`simulation.cohorts.cohort_io.read_cohort` or the
        generator); missing values NaN (numbers) or ``""`` (text).
    tau : float
        Truncation time of Uno's C, months.

    Returns
    -------
    dict
        ``n``, ``deaths``, ``rows``, ``missing``, ``model``, ``c_harrell``, ``c_uno``
        (with ``tau_months``), ``calibration_slope`` (with ``test_slope_1``),
        ``risk_groups`` (a list for 0-3 adverse factors), ``logrank_trend``,
        ``warnings`` (``{"code", "message"}``) and ``version``; numbers are floats or
        None, never NaN.

    Examples
    --------
    >>> from simulation.cohorts.generate import generate_cohort
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> record = validate(generate_cohort(get_scenario("tog2025"), 400,
    ...                                   np.random.default_rng(2)))
    >>> record["n"], [g["adverse_factors"] for g in record["risk_groups"]]
    (400, [0, 1, 2, 3])
    >>> 0.5 < record["c_harrell"]["value"] < 0.8
    True
    """
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive number of months; got {tau!r}")
    data = normalise_cohort(cohort)
    coded = code_factors(data)
    lp_all = linear_predictor(coded)
    time_all, event_all = data["os_months"], data["os_event"]
    used = np.isfinite(lp_all) & np.isfinite(time_all) & np.isfinite(event_all)
    time, event, lp = time_all[used], event_all[used], lp_all[used]
    group = np.rint(adverse_count(coded)[used]).astype(int)
    coded_used = {f: coded[f][used] for f in MODEL_FACTORS}
    warnings = _Warnings()
    n, deaths = int(used.sum()), int(event.sum())

    if n == 0:
        warnings.add("no-complete-cases", "no patient has OS and all three factors recorded")
    if deaths < MIN_DEATHS:
        warnings.add("few-deaths",
                     f"{counted(deaths, 'death')}: an external validation needs at least "
                     f"{MIN_DEATHS} deaths, ideally {IDEAL_DEATHS} or more (Collins, Ogundimu "
                     "& Altman 2016, Stat Med 35:214); with fewer, the C-statistics and the "
                     "calibration slope are imprecise (see the widths of their CIs) and "
                     "small-sample bias is likely. `hcc-prognosis plan` estimates the size "
                     "a study needs (Riley et al. 2022, Stat Med 41:1280).")
    if n and np.unique(lp).size < 2:
        warnings.add("no-variation", "every patient has the same linear predictor (one risk "
                     "group): discrimination and calibration slope cannot be assessed")

    harrell = harrell_c(time, event, lp)
    uno = uno_c(time, event, lp, tau)
    slope = calibration_slope(time, event, lp)
    trend = logrank_trend(time, event, group.astype(float))
    if bool(slope.separated):
        warnings.add("separation", "calibration slope: the Cox fit on the linear predictor "
                     "has no finite estimate (every death had the highest, or every one the "
                     "lowest, predictor of its risk set); it is not reported")
    elif n and np.unique(lp).size > 1 and deaths and not np.isfinite(slope.slope):
        warnings.add("no-convergence", "calibration slope: the Cox fit did not converge")

    at_risk = _at_risk_share(time, tau)
    if n and at_risk < MIN_AT_RISK_AT_TAU:
        warnings.add("uno-tau", f"Uno's C: only {at_risk:.0%} of the patients are still "
                     f"followed at tau = {tau:g} months (fewer than "
                     f"{MIN_AT_RISK_AT_TAU:.0%}), where the weights 1/G(t-)^2 become "
                     "unstable; choose a smaller --tau")
    risk_groups = _risk_groups(time, event, group, coded_used, warnings)

    c_uno = _concordance_entry(uno, f"Uno's C truncated at tau = {tau:g} months: pairs "
                               "whose death is after tau do not count, the others are "
                               "weighted by 1/G(t-)^2 (R: concordance(..., reverse = TRUE, "
                               "timewt = 'n/G2', ymax = tau)); infinitesimal-jackknife "
                               "variance, CI C +- 1.96 se")
    c_uno.update(tau_months=float(tau), at_risk_at_tau=finite_or_none(at_risk))
    return {
        "n": n,
        "deaths": deaths,
        "rows": int(used.size),
        "missing": _missing(data, used),
        "model": _model_section(),
        "c_harrell": _concordance_entry(
            harrell, "Harrell's C of the linear predictor (R: concordance(Surv(t, e) ~ lp, "
                     "reverse = TRUE)); ties in the predictor count 1/2; "
                     "infinitesimal-jackknife variance, CI C +- 1.96 se"),
        "c_uno": c_uno,
        "calibration_slope": _slope_entry(slope),
        "risk_groups": risk_groups,
        "logrank_trend": {"chi2": finite_or_none(trend.chi2), "df": 1,
                          "p": finite_or_none(trend.p), "z": finite_or_none(trend.z),
                          "scores": list(RISK_GROUPS),
                          "method": "log-rank test for trend, scores 0-3 adverse factors: "
                                    "(s'(O - E))^2 / s'Vs from the k-group log-rank O, E "
                                    "and hypergeometric V (R: survdiff)"},
        "warnings": warnings.items,
        "version": __version__,
    }
