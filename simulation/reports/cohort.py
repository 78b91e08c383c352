"""The cohort report: one cohort's analysis laid out as the paper lays it out, in one HTML file.

``hcc-prognosis analyze cohort.csv --report out.html`` writes it. Every number comes from
the record of :func:`simulation.paper.analysis.analyze` (the ``analyze --json`` output), and
every table cell names its place in that record (``data-key``); the figures redraw the
paper's Figures 1-3 from the cohort itself:

- Table 1, baseline characteristics, beside the published Table 1;
- Kaplan-Meier medians of OS and PFS by group with both 95% CIs, and the log-rank tests;
- Figure 1 and 2: Kaplan-Meier curves of OS by AFP group and by PNI group, with
  censoring marks, numbers at risk and the log-rank p;
- Figure 3: the ROC curve of PNI against death with its AUC (DeLong CI), the Youden
  cut-off and the published 47.6 marked;
- Table 4: univariable and multivariable Cox models, beside the published estimates;
- the flags: what could not be estimated, and why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calculator import __version__, formatting
from calculator.published import (
    AGE_CUTOFF_YEARS,
    CITATION,
    DOI,
    MODEL_VERSION,
    NOT_INTERPRETED,
    PNI_MEDIANS_WITHHELD,
    table4_row,
)
from simulation.cohorts.factors import (
    AFP_CUTOFF_NG_ML,
    DEFAULT_PNI_CUTOFF,
    code_factors,
    pni_low,
    pni_values,
)
from simulation.paper.analysis import LOGRANK_LABELS as PLAIN_LOGRANK_LABELS
from simulation.paper.analysis import normalise_cohort
from simulation.reports import figures, html
from simulation.reports.html import Cell, Row, Section, number, text
from simulation.reports.table1 import HEADERS as TABLE1_HEADERS
from simulation.reports.table1 import table1_rows
from simulation.stats.roc import roc_curve

#: Log-rank comparisons of the record, labelled as the paper prints them.
LOGRANK_LABELS = {name: label.replace(">=", "≥") for name, label in PLAIN_LOGRANK_LABELS.items()}
#: Kaplan-Meier groups of the record, with their labels (treatments are added as found).
GROUP_LABELS = {
    "all": "All patients", "afp_low": f"AFP < {AFP_CUTOFF_NG_ML:g} ng/mL",
    "afp_high": f"AFP ≥ {AFP_CUTOFF_NG_ML:g} ng/mL",
    "pni_high": "PNI high (≥ cut-off)", "pni_low": "PNI low (< cut-off)",
    "sorafenib": "Sorafenib", "regorafenib": "Regorafenib", "cabozantinib": "Cabozantinib",
    "other": "Other second-line treatment",
}
#: Factor -> (row label: adverse level vs reference, Table 4 row name).
FACTOR_ROWS = {
    "age_65_plus": (f"Age ≥ {AGE_CUTOFF_YEARS} vs < {AGE_CUTOFF_YEARS} years", "age"),
    "male": ("Male vs female", "male"),
    "ecog_1_plus": ("ECOG PS ≥ 1 vs 0", "ecog"),
    "viral_hepatitis": ("Viral hepatitis (HBV/HCV) vs other", "viral_hepatitis"),
    "afp": (LOGRANK_LABELS["afp"], "afp"),
    "child_pugh_b": ("Child-Pugh B vs A", "child_pugh"),
    "extrahepatic_spread": (LOGRANK_LABELS["extrahepatic_spread"], "extrahepatic_spread"),
    "pni_low": (LOGRANK_LABELS["pni"], "pni"),
}
PUBLISHED_PNI = DEFAULT_PNI_CUTOFF
PUBLISHED_AFP = AFP_CUTOFF_NG_ML


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------

def months(value: Any, key: str) -> Cell:
    """A time in months, one decimal (``-`` when not reached or not estimable)."""
    return number(value, ".1f", key=key)


def interval(ci: Sequence[Any], key: str, fmt: str = ".1f", floor: float | None = None
             ) -> Cell:
    """A 95% interval (:func:`calculator.formatting.interval`) keyed by its lower
    limit; an open limit shows as ``NR`` (not reached), a lower limit below ``floor`` as
    the floor, marked as truncated."""
    lower, upper = (html.finite(v) for v in ci)
    if lower is None and upper is None:
        return Cell("-", None, f"{key}.0", numeric=True)
    return Cell(formatting.interval(lower, upper, fmt, floor=floor), lower, f"{key}.0",
                numeric=True)


def hazard_ratio(entry: Mapping[str, Any], key: str) -> Cell:
    """``HR (lower-upper)`` with the HR's key; ``not estimable`` when the record has none."""
    hr = html.finite(entry.get("hr"))
    if hr is None:
        return Cell("not estimable", None, f"{key}.hr", numeric=True)
    lower, upper = entry["ci"]
    return Cell(f"{hr:.2f} ({formatting.interval(lower, upper, '.2f')})", hr, f"{key}.hr",
                numeric=True)


def p_value(value: Any, key: str) -> Cell:
    return number(value, formatting.p_value, key=key)


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------

def km_rows(record: Mapping[str, Any], endpoint: str) -> list[Row]:
    """Median survival rows of ``record["km"][endpoint]``, one per group."""
    rows = []
    for group, entry in record["km"][endpoint].items():
        key = f"km.{endpoint}.{group}"
        rows.append(Row(GROUP_LABELS.get(group, group), (
            number(entry["n"], "d", key=f"{key}.n"),
            number(entry["events"], "d", key=f"{key}.events"),
            months(entry["median"], f"{key}.median"),
            interval(entry["ci"], f"{key}.ci"),
            interval(entry["ci_symmetric"], f"{key}.ci_symmetric", floor=0.0))))
    return rows


def logrank_rows(record: Mapping[str, Any]) -> list[Row]:
    rows = []
    for name, entry in record["logrank"].items():
        key = f"logrank.{name}"
        groups = "; ".join(f"{g.replace('_', ' ')} {v['events']}/{v['n']}"
                           for g, v in entry["groups"].items())
        rows.append(Row(LOGRANK_LABELS.get(name, name), (
            number(entry["chi2"], ".2f", key=f"{key}.chi2"), p_value(entry["p"], f"{key}.p"),
            text(groups))))
    return rows


def _published_cox(factor: str) -> str:
    row = table4_row(FACTOR_ROWS[factor][1])
    if row.adverse_level == NOT_INTERPRETED or row.multivariable is None:
        return f"not entered (univariable p = {row.univariable.p:.3f})"
    hr = row.adverse()
    return f"{hr.hr:.2f} ({formatting.interval(hr.lower, hr.upper, '.2f')}), p = {hr.p:.3f}"


def cox_rows(record: Mapping[str, Any]) -> list[Row]:
    """Table 4 rows: univariable and multivariable HR (95% CI) and p, and the paper's."""
    uni = record["cox"]["univariable"]
    multi = record["cox"]["multivariable"]
    rows = []
    for factor, entry in uni.items():
        key_u = f"cox.univariable.{factor}"
        cells = [number(entry["n_used"], "d", key=f"{key_u}.n_used"),
                 number(entry["events"], "d", key=f"{key_u}.events"),
                 hazard_ratio(entry, key_u), p_value(entry["p"], f"{key_u}.p")]
        if factor in multi["entered"]:
            key_m = f"cox.multivariable.{factor}"
            cells += [hazard_ratio(multi[factor], key_m), p_value(multi[factor]["p"],
                                                                   f"{key_m}.p")]
        else:
            cells += [text("not entered"), text("")]
        cells.append(text(_published_cox(factor)))
        label = FACTOR_ROWS.get(factor, (factor,))[0]
        rows.append(Row(label, cells))
    return rows


def roc_rows(record: Mapping[str, Any]) -> list[Row]:
    roc = record["roc"]
    return [
        Row("AUC", (number(roc["auc"], ".3f", key="roc.auc"),)),
        Row("95% CI (DeLong)", (interval(roc["ci"], "roc.ci", ".3f"),), indent=True),
        Row("p (AUC = 0.5)", (p_value(roc["p"], "roc.p"),), indent=True),
        Row("Youden-optimal cut-off c (PNI ≥ c is high)",
            (number(roc["youden_cutoff"], "g", key="roc.youden_cutoff"),)),
        Row("Sensitivity: deaths with PNI < c",
            (number(roc["sensitivity"], ".1%", key="roc.sensitivity"),), indent=True),
        Row("Specificity: survivors with PNI ≥ c",
            (number(roc["specificity"], ".1%", key="roc.specificity"),), indent=True),
        Row("Deaths with a PNI", (number(roc["deaths"], "d", key="roc.deaths"),)),
        Row("Survivors with a PNI", (number(roc["survivors"], "d", key="roc.survivors"),)),
    ]


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------

def coded_cohort(cohort: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """OS columns, PNI and the eight factors of ``cohort``, PNI coded at the record's cut-off."""
    data = normalise_cohort(cohort)
    cutoff = record["pni_cutoff_used"]
    coded = code_factors(data, np.nan if cutoff is None else cutoff)
    return {"os_months": data["os_months"], "os_event": data["os_event"],
            "pni": _pni(data), **coded}


def _pni(data: Mapping[str, np.ndarray]) -> np.ndarray:
    return pni_values(data["albumin_g_l"], data["lymphocytes_10e9_l"])


def survival_groups(coded: Mapping[str, np.ndarray], factor: str, labels: tuple[str, str]
            ) -> list[figures.SurvivalGroup]:
    """The two groups of a 0/1 factor (reference first), patients with it recorded."""
    return [figures.SurvivalGroup(label, coded["os_months"][coded[factor] == level],
                                  coded["os_event"][coded[factor] == level])
            for level, label in zip((0, 1), labels, strict=True)]


def km_afp_figure(coded: Mapping[str, np.ndarray], record: Mapping[str, Any]) -> bytes:
    """Figure 1: OS by AFP group."""
    groups = survival_groups(coded, "afp", (f"AFP < {PUBLISHED_AFP:g} ng/mL",
                                    f"AFP ≥ {PUBLISHED_AFP:g} ng/mL"))
    fig = figures.km_figure(groups, title="Overall survival by AFP",
                            logrank_p=record["logrank"]["afp"]["p"])
    return figures.to_png(fig)


def km_pni_figure(coded: Mapping[str, np.ndarray], record: Mapping[str, Any]) -> bytes:
    """Figure 2: OS by PNI group at the cut-off the analysis used."""
    cutoff = record["pni_cutoff_used"]
    groups = survival_groups(coded, "pni_low", (f"PNI ≥ {cutoff:g} (high)", f"PNI < {cutoff:g} (low)"))
    fig = figures.km_figure(groups, title="Overall survival by PNI",
                            logrank_p=record["logrank"]["pni"]["p"])
    return figures.to_png(fig)


def published_cutoff_point(pni: np.ndarray, died: np.ndarray) -> figures.RocPoint | None:
    """The published 47.6 on this cohort's ROC curve: (share of survivors with PNI < 47.6,
    share of deaths with PNI < 47.6); None without deaths or survivors."""
    used = np.isfinite(pni) & np.isfinite(died)
    dead, alive = used & (died == 1), used & (died == 0)
    if not dead.any() or not alive.any():
        return None
    low = pni_low(pni, PUBLISHED_PNI) == 1
    return figures.RocPoint(f"published cut-off {PUBLISHED_PNI:g}",
                            float(np.mean(low[alive])), float(np.mean(low[dead])))


def roc_png(coded: Mapping[str, np.ndarray], record: Mapping[str, Any]) -> bytes | None:
    """Figure 3: the ROC curve of PNI against death (low PNI is the risk)."""
    roc = record["roc"]
    if roc["auc"] is None:
        return None
    pni, died = coded["pni"], coded["os_event"]
    curve = roc_curve(-pni, died, np.isfinite(pni) & np.isfinite(died))
    points = []
    if roc["youden_cutoff"] is not None:
        points.append(figures.RocPoint(f"Youden cut-off {roc['youden_cutoff']:g}",
                                       1 - roc["specificity"], roc["sensitivity"]))
    published = published_cutoff_point(pni, died)
    if published is not None:
        points.append(published)
    fig = figures.roc_figure(curve.fpr, curve.tpr, auc=roc["auc"], auc_ci=roc["ci"],
                             points=points, title="ROC curve of PNI for death (low PNI = risk)",
                             positive_label="death")
    return figures.to_png(fig)


def cohort_figures(cohort: Mapping[str, Any], record: Mapping[str, Any]
                   ) -> dict[str, bytes | None]:
    """PNG bytes of Figures 1-3 (``km_afp``, ``km_pni``, ``roc``); None where the cohort
    cannot give one (no PNI cut-off, or no deaths or no survivors)."""
    coded = coded_cohort(cohort, record)
    return {"km_afp": km_afp_figure(coded, record),
            "km_pni": (km_pni_figure(coded, record)
                       if record["pni_cutoff_used"] is not None else None),
            "roc": roc_png(coded, record)}


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------

def _overview(record: Mapping[str, Any], source: str) -> str:
    n = record["n"]
    followup = record["median_followup_months"]
    ci = record["median_followup_ci"]
    cutoff = record["pni_cutoff_used"]
    rows = [
        Row("Patients", (number(n, "d", key="n"),)),
        Row("Deaths", (number(record["deaths"], "d", key="deaths"),)),
        Row("Progressions or deaths (PFS events)",
            (number(record["progressions"], "d", key="progressions"),)),
        Row("Median follow-up, months (reverse Kaplan-Meier)",
            (months(followup, "median_followup_months"),)),
        Row("95% CI (log-log)", (interval(ci, "median_followup_ci"),), indent=True),
        Row("PNI cut-off used", (number(cutoff, "g", key="pni_cutoff_used",
                                        missing="none"),)),
    ]
    missing = record["missing"]
    if missing["by_column"]:
        listed = ", ".join(f"{c} {k}" for c, k in missing["by_column"].items())
        note = (f"Missing values: {listed}; {missing['complete_rows']} of {n} rows are "
                "complete. Each analysis uses the patients with the values it needs (the n "
                "of each table).")
    else:
        note = "No missing values."
    body = [html.table(f"Cohort {source}", ("", "Value"), rows, table_id="overview", note=note),
            html.paragraph(f"PNI cut-off rule: {record['pni_cutoff_rule'] or 'none'}. "
                           f"Cox engine: {record['engine']}.", "note")]
    return "\n".join(body)


def _flags(record: Mapping[str, Any]) -> str:
    if not record["flags"]:
        return html.paragraph("Every estimate could be computed.")
    return html.bullet_list((f"{f['analysis']}: {f['reason']}" for f in record["flags"]),
                            "flags")


def _figure_or_note(png: bytes | None, figure_id: str, alt: str, caption: str,
                    note: str) -> str:
    if png is None:
        return html.paragraph(note, "note")
    return html.figure(png, figure_id=figure_id, alt=alt, caption=caption)


def cohort_report_html(cohort: Mapping[str, Any], record: Mapping[str, Any], *,
                       source: str = "") -> str:
    """The cohort report as one self-contained HTML document.

    Parameters
    ----------
    cohort : mapping of column name to array
        The cohort that was analysed (for the curves).
    record : dict
        Its :func:`simulation.paper.analysis.analyze` record.
    source : str
        Where the cohort came from (the CSV path), shown in the title.
    """
    pngs = cohort_figures(cohort, record)
    cutoff = record["pni_cutoff_used"]
    cut_text = "none" if cutoff is None else f"{cutoff:g}"
    km_headers = ("Group", "n", "Events", "Median, months", "95% CI (log-log)",
                  "95% CI (± 1.96 SE)")
    km_note = ("Medians from the Kaplan-Meier curve (midpoint rule where it lies at 0.5). "
               "The log-log interval is Brookmeyer-Crowley's (R survfit conf.type = "
               "'log-log'); the symmetric one is median ± 1.96 SE with Collett's SE, the "
               "way SPSS-style tables such as the paper's are made. NR: the limit is not "
               "reached; -: not estimable. " + PNI_MEDIANS_WITHHELD)
    sections = [
        Section("overview", "The cohort", _overview(record, source)),
        Section("table1", "Table 1. Baseline characteristics",
                html.table("Baseline characteristics: n (%) of the patients with the value "
                           "recorded, or median (range)", TABLE1_HEADERS,
                           table1_rows(record["baseline"]), table_id="table1",
                           note="Percentages are of the patients with the value recorded; "
                                "the published column is the paper's Table 1.")),
        Section("survival", "Survival",
                "\n".join([
                    html.table("Median overall survival by group", km_headers,
                               km_rows(record, "os"), table_id="km-os"),
                    html.table("Median progression-free survival by group", km_headers,
                               km_rows(record, "pfs"), table_id="km-pfs", note=km_note),
                    html.table("Log-rank tests of overall survival",
                               ("Comparison", "Chi-square (1 df)", "p", "Deaths/patients"),
                               logrank_rows(record), table_id="logrank",
                               note=f"PNI groups at the cut-off {cut_text}."),
                ])),
        Section("figure1", "Figure 1. Overall survival by AFP",
                _figure_or_note(pngs["km_afp"], "fig-km-afp",
                                "Kaplan-Meier curves of overall survival by AFP group",
                                "Kaplan-Meier estimates of overall survival for AFP < "
                                f"{AFP_CUTOFF_NG_ML:g} and ≥ {AFP_CUTOFF_NG_ML:g} ng/mL, with censored patients marked and the "
                                "numbers at risk below; log-rank p from the analysis. "
                                "Redrawn from this cohort as in the paper's Figure 1.",
                                "No AFP groups.")),
        Section("figure2", "Figure 2. Overall survival by PNI",
                _figure_or_note(pngs["km_pni"], "fig-km-pni",
                                "Kaplan-Meier curves of overall survival by PNI group",
                                f"Kaplan-Meier estimates of overall survival for PNI ≥ "
                                f"{cut_text} (high) and < {cut_text} (low), with censored "
                                "patients marked and the numbers at risk below; log-rank p "
                                "from the analysis. As in the paper's Figure 2.",
                                "No PNI groups: the cohort gave no PNI cut-off.")),
        Section("figure3", "Figure 3. ROC curve of PNI",
                "\n".join([
                    _figure_or_note(pngs["roc"], "fig-roc", "ROC curve of PNI against death",
                                    "Empirical ROC curve of PNI against death (a low PNI "
                                    "calls death), with the Youden-optimal cut-off of this "
                                    f"cohort and the published {PUBLISHED_PNI:g} marked. As "
                                    "in the paper's Figure 3.",
                                    "No ROC curve: it needs at least one death and one "
                                    "survivor with a PNI."),
                    html.table("ROC analysis of PNI against death", ("", "Value"),
                               roc_rows(record), table_id="roc",
                               note="The cut-off is chosen on the same data it is then "
                                    "tested on, which makes its p-values optimistic (see the "
                                    "simulation study)."),
                ])),
        Section("table4", "Table 4. Cox regression for overall survival",
                html.table("Cox proportional-hazards models of overall survival (HR > 1: "
                           "the first level is adverse)",
                           ("Factor", "n", "Deaths", "Univariable HR (95% CI)", "p",
                            "Multivariable HR (95% CI)", "p", "Published multivariable HR "
                            "(adverse coding)"),
                           cox_rows(record), table_id="table4",
                           note=(f"Efron ties, Wald CIs and p-values. Factors with "
                                 f"{record['cox']['entry_rule']} entered the multivariable "
                                 f"model ({_multi_used(record)}). PNI dichotomised at "
                                 f"{cut_text}. Published column: Table 4 of {CITATION}, "
                                 "re-expressed so that HR > 1 is adverse."))),
        Section("flags", "What could not be estimated", _flags(record)),
    ]
    title = "Cohort analysis" + (f": {os.path.basename(source)}" if source else "")
    subtitle = (f"The analysis of {CITATION} (doi:{DOI}) applied to this cohort: "
                f"{record['n']} patients, {record['deaths']} deaths.")
    footer = (f"hcc-prognosis {__version__}, published model {MODEL_VERSION}. "
              "A relative risk analysis of one cohort; it does not replace clinical "
              "judgement.")
    return html.page(title, subtitle, sections, footer)


def _multi_used(record: Mapping[str, Any]) -> str:
    multi = record["cox"]["multivariable"]
    if not multi["entered"]:
        return "none did"
    return f"{multi['n_used']} patients, {multi['events']} deaths"
