"""The validation report: does the published model hold in this cohort? One HTML file.

``hcc-prognosis validate cohort.csv --report out.html`` writes it. Every number comes from
the record of :func:`simulation.paper.validation.validate` (the ``validate --json``
output) and every table cell names its place in it (``data-key``):

- the cohort and the model as applied (its linear predictor, the complete cases);
- the warnings (few deaths, small or empty risk groups, separation, medians not reached);
- the measures: Harrell's and Uno's C, the calibration slope with its test of slope = 1,
  the log-rank test for trend, each with its 95% CI;
- the risk groups (0-3 adverse factors): n, deaths, median OS, observed against published
  hazard ratio;
- Kaplan-Meier curves by risk group with numbers at risk, and the observed against the
  published hazard ratios on a log axis.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calculator import __version__, formatting
from calculator.published import AFP_CUTOFF, CITATION, DOI, MODEL_VERSION, PNI_CUTOFF
from simulation.cohorts.factors import code_factors
from simulation.paper.analysis import normalise_cohort
from simulation.paper.validation import FACTOR_RULES, MIN_DEATHS, adverse_count
from simulation.reports import figures, html
from simulation.reports.html import Cell, Row, Section, number, text

#: Labels of the risk groups.
GROUP_LABELS = {0: "0 factors (reference)", 1: "1 factor", 2: "2 factors", 3: "3 factors"}


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------

def estimate(entry: Mapping[str, Any], key: str, fmt: str = ".3f") -> Cell:
    """``value (lower–upper)`` keyed by the value; ``not estimable`` without one."""
    value = html.finite(entry.get("value"))
    if value is None:
        return Cell("not estimable", None, f"{key}.value", numeric=True)
    lower, upper = entry["ci"]
    return Cell(f"{value:{fmt}} ({formatting.interval(lower, upper, fmt)})", value,
                f"{key}.value", numeric=True)


def hazard_ratio(entry: Mapping[str, Any], key: str) -> Cell:
    if entry.get("reference"):
        return Cell("reference", None, None)
    return estimate(entry, key, ".2f")


def _short_combination(factors: Sequence[str]) -> str:
    return (" + ".join(FACTOR_RULES[f] for f in factors) or "none").replace(">=", "≥")


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------

def measure_rows(record: Mapping[str, Any]) -> list[Row]:
    slope = record["calibration_slope"]
    uno = record["c_uno"]
    trend = record["logrank_trend"]
    share = uno["at_risk_at_tau"]
    followed = formatting.number(None if share is None else 100 * share, ".0f")
    return [
        Row("Discrimination", group=True),
        Row("Harrell's C", (estimate(record["c_harrell"], "c_harrell"),
                            number(record["c_harrell"]["se"], ".3f", key="c_harrell.se"),
                            text("0.5: no discrimination; 1: perfect"))),
        Row(f"Uno's C, truncated at {uno['tau_months']:g} months",
            (estimate(uno, "c_uno"), number(uno["se"], ".3f", key="c_uno.se"),
             text(f"{followed}% of patients still followed at tau"))),
        Row("Calibration", group=True),
        Row("Calibration slope", (estimate(slope, "calibration_slope"),
                                  number(slope["se"], ".3f", key="calibration_slope.se"),
                                  text("1: the published effects hold"))),
        Row("Test of slope = 1 (Wald), p",
            (number(slope["test_slope_1"]["p"], formatting.p_value,
                    key="calibration_slope.test_slope_1.p"), text(""),
             text(f"z = {formatting.number(slope['test_slope_1']['z'], '.2f')}")),
            indent=True),
        Row("Risk groups", group=True),
        Row("Log-rank test for trend (0-3 factors), p",
            (number(trend["p"], formatting.p_value, key="logrank_trend.p"), text(""),
             text(f"chi-square {formatting.number(trend['chi2'], '.2f')} on 1 df"))),
    ]


def group_rows(record: Mapping[str, Any]) -> list[Row]:
    rows = []
    for i, group in enumerate(record["risk_groups"]):
        key = f"risk_groups.{i}"
        combos = "; ".join(f"{_short_combination(c['factors'])} ({c['n']})"
                           for c in group["hr_published"]["combinations"])
        rows.append(Row(GROUP_LABELS[group["adverse_factors"]], (
            number(group["n"], "d", key=f"{key}.n"),
            number(group["deaths"], "d", key=f"{key}.deaths"),
            number(group["median_months"], ".1f", key=f"{key}.median_months", missing="NR"),
            _median_ci(group["median_ci"], f"{key}.median_ci", group["n"]),
            hazard_ratio(group["hr"], f"{key}.hr"),
            hazard_ratio(group["hr_published"], f"{key}.hr_published"),
            text(combos or "-"))))
    return rows


def _median_ci(ci: Sequence[Any], key: str, n: int) -> Cell:
    lower, upper = (html.finite(v) for v in ci)
    if lower is None and upper is None:
        return Cell("NR" if n else "-", None, f"{key}.0", numeric=True)
    return Cell(formatting.interval(lower, upper, ".1f"), lower, f"{key}.0", numeric=True)


def overview_rows(record: Mapping[str, Any]) -> list[Row]:
    return [
        Row("Rows in the file", (number(record["rows"], "d", key="rows"),)),
        Row("Patients analysed (complete cases)", (number(record["n"], "d", key="n"),)),
        Row("Deaths", (number(record["deaths"], "d", key="deaths"),)),
    ]


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------

def _groups_of(cohort: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = normalise_cohort(cohort)
    group = adverse_count(code_factors(data))
    used = np.isfinite(group) & np.isfinite(data["os_months"]) & np.isfinite(data["os_event"])
    return data["os_months"][used], data["os_event"][used], group[used]


def km_groups_png(cohort: Mapping[str, Any], record: Mapping[str, Any]) -> bytes | None:
    """Kaplan-Meier curves of OS by risk group (groups with patients), numbers at risk."""
    time, event, group = _groups_of(cohort)
    groups = [figures.SurvivalGroup(GROUP_LABELS[k], time[group == k], event[group == k])
              for k in (0, 1, 2, 3) if (group == k).any()]
    if not groups:
        return None
    fig = figures.km_figure(groups, title="Overall survival by number of adverse factors")
    return figures.to_png(fig)


def _triple(entry: Mapping[str, Any]) -> tuple[float, float, float] | None:
    value = html.finite(entry.get("value"))
    lower, upper = (html.finite(v) for v in entry.get("ci", (None, None)))
    if value is None or lower is None or upper is None:
        return None
    return (value, lower, upper)


def hazard_ratio_png(record: Mapping[str, Any]) -> bytes:
    """Observed against published hazard ratio of each risk group, log axis."""
    rows = [figures.HazardRatioRow(GROUP_LABELS[g["adverse_factors"]], _triple(g["hr"]),
                                   _triple(g["hr_published"]))
            for g in record["risk_groups"]]
    fig = figures.hazard_ratio_figure(
        rows, title="Hazard ratio by number of adverse factors")
    return figures.to_png(fig)


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------

def _warnings(record: Mapping[str, Any]) -> str:
    if not record["warnings"]:
        return html.paragraph("No warnings: the cohort is large enough for the usual "
                              f"minimum of {MIN_DEATHS} deaths and every risk group has "
                              "patients and deaths.")
    return html.bullet_list((w["message"] for w in record["warnings"]), "flags")


def _model(record: Mapping[str, Any]) -> str:
    model = record["model"]
    missing = record["missing"]
    listed = ", ".join(f"{c} {k}" for c, k in missing["by_column"].items())
    gaps = (f"Missing values: {listed}; {missing['excluded_rows']} rows left out."
            if missing["by_column"] else "No missing values in the columns the model uses.")
    return "\n".join([
        html.table("The cohort", ("", "Value"), overview_rows(record), table_id="overview",
                   note=f"{gaps} Rule: {missing['rule']}."),
        html.paragraph("The published model, applied unchanged: "
                       f"{model['linear_predictor'].replace('>=', '≥')} "
                       f"(log hazard ratios of Table 4, multivariable, re-expressed as adverse; "
                       f"{model['source']}, doi:{model['doi']}). Risk groups are the number "
                       "of the three adverse factors present."),
        html.paragraph("The paper gives no baseline survival, so only relative measures can "
                       "be checked here: discrimination (C), the calibration slope and the "
                       "hazard ratios of the risk groups. Calibration in the large (observed "
                       "against predicted absolute risk) cannot be assessed.", "note"),
    ])


def validation_report_html(cohort: Mapping[str, Any], record: Mapping[str, Any], *,
                           source: str = "") -> str:
    """The validation report as one self-contained HTML document.

    Parameters
    ----------
    cohort : mapping of column name to array
        The cohort that was validated on (for the curves).
    record : dict
        Its :func:`simulation.paper.validation.validate` record.
    source : str
        Where the cohort came from (the CSV path), shown in the title.
    """
    km_png = km_groups_png(cohort, record)
    trend_p = formatting.p_value(record["logrank_trend"]["p"])
    sections = [
        Section("cohort", "The cohort and the model", _model(record)),
        Section("warnings", "Warnings", _warnings(record)),
        Section("measures", "How well the published model fits",
                html.table("Discrimination and calibration of the published model (95% CIs)",
                           ("Measure", "Estimate (95% CI)", "SE", "Reading"),
                           measure_rows(record), table_id="measures", css_class="numeric",
                           note="C: the share of comparable pairs (the one who died first "
                                "had the higher predicted risk), predictor ties counting "
                                "1/2; CIs C ± 1.96 SE with the infinitesimal-jackknife SE "
                                "(R survival::concordance). Calibration slope: Cox "
                                "regression of OS on the published linear predictor "
                                "(Efron ties, Wald CI); below 1 the published effects are "
                                "too strong for these patients, above 1 too weak.")),
        Section("groups", "Risk groups",
                html.table("Overall survival by number of adverse factors",
                           ("Risk group", "n", "Deaths", "Median OS, months",
                            "95% CI (log-log)", "Observed HR (95% CI)",
                            "Published HR (95% CI)", "Factor combinations (n)"),
                           group_rows(record), table_id="risk-groups", css_class="numeric",
                           note="Observed: Cox model of OS on the groups (Efron ties, Wald "
                                "CI), against group 0. Published: the calculator's combined "
                                "relative hazard, averaged on the log scale over the group's "
                                "patients (the CI treats the published log hazard ratios as "
                                "independent, as the paper gives no covariance). NR: not "
                                "reached.")),
        Section("figure-km", "Survival by risk group",
                html.figure(km_png, figure_id="fig-km-groups",
                            alt="Kaplan-Meier curves of overall survival by number of "
                                "adverse factors",
                            caption="Kaplan-Meier estimates of overall survival by number of "
                                    f"adverse factors (AFP ≥ {AFP_CUTOFF.value} ng/mL, "
                                    f"extrahepatic spread, PNI < {PNI_CUTOFF.value}), "
                                    "censored patients marked, numbers at risk "
                                    f"below. Log-rank test for trend p {trend_p}.")
                if km_png is not None else html.paragraph("No patients to draw.", "note")),
        Section("figure-hr", "Observed against published hazard ratios",
                html.figure(hazard_ratio_png(record), figure_id="fig-hr",
                            alt="Observed and published hazard ratios by risk group on a "
                                "log axis",
                            caption="Hazard ratio of each risk group against group 0: in "
                                    "this cohort (filled circles, solid bars) and under the "
                                    "published model (open squares, dashed bars), 95% CIs, "
                                    "log axis. Where the model transports, the two agree.")),
    ]
    title = "External validation" + (f": {os.path.basename(source)}" if source else "")
    subtitle = (f"The published model of {CITATION} (doi:{DOI}) applied unchanged to this "
                f"cohort: {record['n']} patients, {record['deaths']} deaths.")
    footer = (f"hcc-prognosis {__version__}, published model {MODEL_VERSION}. An external "
              "validation of relative risk only; it does not replace clinical judgement.")
    return html.page(title, subtitle, sections, footer)
