"""The study report: a simulation study in ADEMP terms, with its measures and figures.

``hcc-prognosis report study.sqlite -o report.html`` writes it. It follows the structure
Morris, White & Crowther (2019) recommend for reporting a simulation study: Aims,
Data-generating mechanisms, Estimands, Methods, Performance measures, then the results:

- the performance table per scenario, method and estimand, every measure with its Monte
  Carlo SE in brackets;
- the distribution of the data-driven PNI cut-offs, with the published 47.6 marked;
- bias and coverage per method and estimand, with ± 1.96 MCSE error bars;
- rejection rates under the null scenarios (type I errors);
- for a design grid (:mod:`simulation.study.grids`), each measure against the grid's
  values: line plots with ± 1.96 MCSE error bars, one line per method;
- failure rates, with the reasons from the failure ledger;
- for a study written by ``hcc-prognosis evidence``, the evidence section
  (:mod:`simulation.reports.evidence`); its hundreds of grid points appear there, not in
  the per-scenario tables.

A study run with a stopping rule (:mod:`simulation.study.stopping`) states the rule and
the replicate counts it reached.

Every number is a field of :func:`simulation.study.measures.summary_rows` (what
``summarize --json`` prints); each table cell names its row and field in ``data-key`` as
``scenario|method|estimand|field`` and its MCSE in ``data-mcse-key``. The per-replicate
cut-offs of the histogram are read with :meth:`simulation.study.store.Store.results`.

References
----------
.. [1] Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical
   methods. Stat Med 2019;38:2074-2102.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from calculator import __version__
from calculator.published import CITATION
from simulation.cohorts.factors import AFP_CUTOFF_NG_ML, DEFAULT_PNI_CUTOFF
from simulation.cohorts.scenarios import PNI_SLOPE, scenario_from_dict, truth
from simulation.evidence.design import point_of
from simulation.evidence.results import Evidence, is_evidence_study, read_evidence
from simulation.paper.methods import ESTIMAND_FACTOR, LOGHR_ESTIMANDS, METHODS, SELECTED_ESTIMANDS
from simulation.reports import figures, html
from simulation.reports.evidence import evidence_figures, evidence_sections
from simulation.reports.html import Cell, Row, Section, text
from simulation.study.measures import CUTOFF_TOLERANCE, summary_rows
from simulation.study.stopping import StoppingRule
from simulation.study.store import ScenarioEntry, Store
from simulation.study.truth import pni_has_effect

PUBLISHED_PNI = DEFAULT_PNI_CUTOFF

ESTIMAND_LABELS = {
    "cutoff": "chosen PNI cut-off",
    "pni_uv_loghr": "PNI, univariable log-HR",
    "pni_mv_loghr": "PNI, multivariable log-HR",
    "afp_mv_loghr": f"AFP ≥ {AFP_CUTOFF_NG_ML:g} ng/mL, multivariable log-HR",
    "ehs_mv_loghr": "extrahepatic spread, multivariable log-HR",
    "pni_selected": "PNI called an independent predictor",
    "afp_selected": "AFP called an independent predictor",
    "ehs_selected": "Extrahepatic spread called an independent predictor",
}
METHOD_TEXT = {
    "youden": "the paper's route: the PNI cut-off that maximises Youden's J against death "
              "(ROC analysis), then PNI below it as a factor; the cut-off is reported as the "
              "midpoint between the neighbouring PNI values of the two groups, as SPSS and "
              "pROC print it",
    "fixed": f"the published cut-off {PUBLISHED_PNI:g}, fixed in advance",
    "maxstat": "the maximally selected log-rank cut-off of R's maxstat.test (log-rank scores "
               "standardised by their permutation mean and variance, over the splits leaving "
               "10%-90% of the patients in the low group; reported as a midpoint), with the "
               "Lausen-Schumacher (1992) p-value corrected for the search. That corrected test "
               "is conservative at n = 58: under the global null (2,000 replicates of "
               "tog2025-null, seed 1) it rejected at p < 0.05 in 2.4% of studies (MCSE 0.3%)",
    "continuous": "PNI as a continuous Cox covariate (log-HR per one PNI unit; no cut-off)",
}
# ---------------------------------------------------------------------------------------
# Reading a study
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StudyData:
    """What the report shows, read from a study file.

    Attributes
    ----------
    fingerprint : dict
        The study's fingerprint (version, seed, cohort size, engine, ...).
    scenarios : list of (name, definition, requested)
        As :meth:`simulation.study.store.Store.scenarios` gives them.
    counts : dict
        Scenario -> ``{"ok": .., "failed": ..}`` replicates in the file.
    rows : list of dict
        :func:`simulation.study.measures.summary_rows`, the ``summarize --json`` rows.
    cutoffs : dict
        Scenario -> method -> each replicate's chosen cut-off (NaN where there was none).
    ledger : list of tuple
        The failure ledger ``(scenario, replicate, method, estimand, kind, message)``.
    evidence : Evidence or None
        For a study written by ``hcc-prognosis evidence``: the evidence computed from it.
    entries : list of ScenarioEntry
        Each scenario's cohort size, base scenario and grid values.
    stopping : dict or None
        The stopping rule of the last run that used one (its JSON form).
    """

    fingerprint: dict[str, Any]
    scenarios: list[tuple[str, dict[str, Any], int]]
    counts: dict[str, dict[str, int]]
    rows: list[dict[str, Any]]
    cutoffs: dict[str, dict[str, np.ndarray]]
    ledger: list[tuple]
    evidence: Evidence | None = None
    entries: tuple[ScenarioEntry, ...] = ()
    stopping: dict[str, Any] | None = None

    @property
    def grid(self) -> bool:
        """Whether the study is a design grid."""
        return any(entry.grid for entry in self.entries)

    def without_grid(self) -> StudyData:
        """The study without the evidence grid's points (the per-scenario sections show
        the other scenarios; the grid is shown by the evidence section)."""
        keep = {name for name, _, _ in self.scenarios if point_of(name) is None}
        return replace(self, scenarios=[s for s in self.scenarios if s[0] in keep],
                       counts={k: v for k, v in self.counts.items() if k in keep},
                       rows=[r for r in self.rows if r["scenario"] in keep],
                       cutoffs={k: v for k, v in self.cutoffs.items() if k in keep},
                       ledger=[e for e in self.ledger if e[0] in keep],
                       entries=tuple(e for e in self.entries if e.name in keep))


def read_study(path: str | os.PathLike[str]) -> StudyData:
    """Read everything the report needs from the study file at ``path`` (read-only use).

    Raises :class:`simulation.study.store.StudyFileError` for a missing or foreign file.
    """
    with Store(os.fspath(path), create=False) as store:
        scenarios = store.scenarios()
        counts = {name: store.replicate_counts(name) for name, _, _ in scenarios}
        cutoffs: dict[str, dict[str, np.ndarray]] = {}
        for name, _, _ in scenarios:
            if point_of(name) is not None:
                continue  # an evidence grid point: its section shows it
            per_method = {method: np.where(columns.ok, columns.estimate, math.nan)
                          for (method, estimand), columns in store.result_columns(name).items()
                          if estimand == "cutoff"}
            if per_method:
                order = [m for m in METHODS if m in per_method] + \
                    [m for m in per_method if m not in METHODS]
                cutoffs[name] = {m: per_method[m] for m in order}
        evidence = is_evidence_study(store)
        data = StudyData(fingerprint=store.fingerprint() or {}, scenarios=scenarios,
                         counts=counts, rows=summary_rows(store), cutoffs=cutoffs,
                         ledger=store.failures(), entries=tuple(store.scenario_entries()),
                         stopping=store.setting("stopping"))
    return replace(data, evidence=read_evidence(path)) if evidence else data


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------

def row_key(row: Mapping[str, Any], field: str) -> str:
    """``scenario|method|estimand|field``: where a cell's number is in ``summarize --json``."""
    return f"{row['scenario']}|{row['method']}|{row['estimand']}|{field}"


def _format(value: float, fmt: str) -> str:
    """``pct``: a share as a percentage with one decimal; ``.3f`` keeps two significant
    digits of a small non-zero value (``0.00029``), as per-unit slopes have."""
    if fmt == "pct":
        return f"{100 * value:.1f}"
    if fmt == ".3f" and value != 0 and abs(value) < 0.01:
        return f"{value:.2g}"
    return format(value, fmt)


def measure(row: Mapping[str, Any], field: str, fmt: str, with_mcse: bool = True) -> Cell:
    """``value (MCSE)`` of a summary row's field (``-`` where it is undefined)."""
    value = html.finite(row.get(field))
    mcse_field = f"{field}_mcse"
    mcse = html.finite(row.get(mcse_field)) if with_mcse else None
    has_mcse = with_mcse and mcse_field in row
    if value is None:
        return Cell("-", None, row_key(row, field), numeric=True)
    shown = _format(value, fmt)
    if mcse is not None:
        shown += f" ({_format(mcse, fmt)})"
    return Cell(shown, value, row_key(row, field), numeric=True, mcse_value=mcse,
                mcse_key=row_key(row, mcse_field) if has_mcse else None)


def count(row: Mapping[str, Any], field: str) -> Cell:
    return html.number(row.get(field), "d", key=row_key(row, field))


def truth_cell(row: Mapping[str, Any], fmt: str = ".3f") -> Cell:
    value = html.finite(row.get("truth"))
    mark = " †" if row.get("truth_kind") == "reference" else ""
    if value is None:
        return Cell("none", None, row_key(row, "truth"), numeric=True)
    return Cell(format(value, fmt) + mark, value, row_key(row, "truth"), numeric=True)


# ---------------------------------------------------------------------------------------
# Which rows are which
# ---------------------------------------------------------------------------------------

def _scenario_objects(data: StudyData) -> dict[str, Any]:
    return {name: scenario_from_dict(definition) for name, definition, _ in data.scenarios}


def is_null(scenario: Any, estimand: str) -> bool:
    """The estimand's factor has no effect in ``scenario`` (so rejections are type I
    errors)."""
    prefix = estimand.partition("_")[0]
    if prefix not in ESTIMAND_FACTOR or estimand == "cutoff":
        return False
    if prefix == "pni":
        return not pni_has_effect(scenario)
    return truth(scenario).get(ESTIMAND_FACTOR[prefix], 0.0) == 0.0


def _rows_of(data: StudyData, estimands: Sequence[str]) -> list[dict[str, Any]]:
    return [r for r in data.rows if r["estimand"] in estimands]


# ---------------------------------------------------------------------------------------
# ADEMP
# ---------------------------------------------------------------------------------------

def _aims() -> str:
    return html.paragraph(
        "How far can an ROC-chosen PNI cut-off and the Cox hazard ratios of a small "
        f"retrospective study be trusted? The study reproduces the design of {CITATION} (a "
        "cohort of about 58 patients, a PNI cut-off chosen by ROC analysis against death, "
        "univariable screening then a multivariable Cox model) on synthetic cohorts whose "
        "truth is known, and compares the paper's route with a pre-specified cut-off, a "
        "maximally selected log-rank cut-off with a corrected p-value, and PNI kept "
        "continuous.")


OTHER_FACTORS = ("age_65_plus", "male", "ecog_1_plus", "viral_hepatitis")


def _pni_effect(definition: Mapping[str, Any]) -> str:
    effects = definition.get("effects", {})
    if definition.get("pni_effect") == "continuous":
        return f"HR {math.exp(effects.get(PNI_SLOPE, 0.0)):.3f} per PNI unit (log-linear)"
    if effects.get("pni_low", 0.0) == 0.0:
        return "no effect"
    return (f"HR {math.exp(effects['pni_low']):.2f} below "
            f"{definition.get('pni_cutoff', PUBLISHED_PNI):g} (step)")


def scenario_table(data: StudyData) -> str:
    """The data-generating mechanisms: true HRs, targets and replicates of each scenario."""
    others = [f for f in OTHER_FACTORS
              if any(d.get("effects", {}).get(f, 0.0) for _, d, _ in data.scenarios)]
    headers = ("Scenario", "Description", "Patients per cohort", f"AFP ≥ {AFP_CUTOFF_NG_ML:g}",
               "Spread", "Child-Pugh B", "PNI", *others, "Targets",
               "Replicates run / requested")
    sizes = {entry.name: entry.n for entry in data.entries}
    rows = []
    for name, definition, requested in data.scenarios:
        effects = definition.get("effects", {})
        hr = lambda f: text(f"{math.exp(effects.get(f, 0.0)):.2f}")  # noqa: E731
        targets = definition.get("targets", {})
        target_text = (f"{targets.get('death_fraction', math.nan):.0%} deaths; median OS "
                       f"{targets.get('median_os_months', math.nan):g} mo; follow-up "
                       f"{targets.get('median_followup_months', math.nan):g} mo")
        done = data.counts.get(name, {"ok": 0, "failed": 0})
        rows.append(Row(name, (
            text(definition.get("description", "")),
            html.number(sizes.get(name, data.fingerprint.get("n")), "d"), hr("afp"),
            hr("extrahepatic_spread"),
            hr("child_pugh_b"), text(_pni_effect(definition)), *(hr(f) for f in others),
            text(target_text), text(f"{done['ok'] + done['failed']} / {requested}"))))
    return html.table("Scenarios: true hazard ratios (adverse level vs reference; 1.00 is no "
                      "effect) and calibration targets", headers, rows, table_id="scenarios",
                      note="Every other Table 4 factor has no effect unless a column shows it.")


def cohort_sizes(data: StudyData) -> str:
    """``58`` or ``58 to 3,000 (by scenario)``."""
    sizes = sorted({entry.n for entry in data.entries}) or [data.fingerprint.get("n", "?")]
    if len(sizes) == 1:
        return f"{sizes[0]}"
    return f"{sizes[0]:,} to {sizes[-1]:,} (by scenario)"


def grid_text(data: StudyData) -> str:
    """The design grid in words: its keys and values, and how its points are named."""
    values: dict[str, list[Any]] = {}
    for entry in data.entries:
        for key, value in entry.grid:
            values.setdefault(key, [])
            if value not in values[key]:
                values[key].append(value)
    bases = list(dict.fromkeys(entry.base for entry in data.entries))
    keys = "; ".join(f"{key} = {', '.join(_shown(v) for v in vals)}"
                     for key, vals in values.items())
    return (f"every combination of {keys}, for the scenario(s) {', '.join(bases)}: "
            f"{len(data.entries)} scenarios, each named base+key=value (e.g. "
            f"{data.entries[-1].name}) and drawing its own replicates.")


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def stopping_text(data: StudyData) -> str:
    """The stopping rule and the replicate counts it reached."""
    rule = StoppingRule.from_dict(data.stopping or {})
    by = {r["scenario"]: (r["n_rep"], r.get("stopped_by")) for r in data.rows}
    met = sum(1 for _, how in by.values() if how == "target")
    capped = [name for name, (_, how) in by.items() if how == "cap"]
    counts = sorted(count for count, _ in by.values())
    text_ = (f"{rule.describe()}. Reached: {met} of {len(by)} scenario(s) met it, "
             f"{len(capped)} stopped by the cap; replicates per scenario {counts[0]:,} to "
             f"{counts[-1]:,}")
    if capped:
        more = ", ..." if len(capped) > 8 else ""
        text_ += f" (stopped by the cap: {', '.join(capped[:8])}{more})"
    return text_ + "."


def _design(data: StudyData) -> str:
    fp = data.fingerprint
    items = [
        ("Cohorts", f"{cohort_sizes(data)} patients each, drawn by the project's generator "
                    "(Table 1 marginals with clinical dependence; Weibull survival by "
                    "inverse transform with the scenario's conditional log-HRs; staggered "
                    "entry, administrative end and drop-out calibrated to the death share "
                    "and median follow-up)."),
        ("Seeds", f"root seed {fp.get('seed', '?')}; replicate r of scenario s draws from "
                  "SeedSequence(seed, (hash(s), 0, r)), so every replicate can be re-drawn "
                  "alone ('hcc-prognosis replay')."),
        ("Engine", f"Cox fits by the {fp.get('engine', '?')} engine (Efron ties); "
                   f"package version {fp.get('version', '?')}, methods version "
                   f"{fp.get('methods_version', '?')}."),
    ]
    if data.grid:
        items.append(("Design grid", grid_text(data)))
    if data.stopping is not None:
        items.append(("Replicates", stopping_text(data)))
    return html.definitions(items, "ademp")


def _estimands_text() -> str:
    items = [
        ("cutoff", "the PNI cut-off a data-driven method chooses; truth: the generating step "
                   "(none where PNI has no effect)."),
        ("pni_uv_loghr", "univariable Cox log-HR of PNI (low vs high; per unit for "
                         "continuous)."),
        ("*_mv_loghr", f"log-HRs of PNI, AFP ≥ {AFP_CUTOFF_NG_ML:g} and extrahepatic spread in the "
                       "multivariable model of the four Table 4 factors (AFP, Child-Pugh B, "
                       "spread, PNI), fitted in every replicate so that nothing is "
                       "conditional on selection."),
        ("*_selected", "whether the paper's own procedure (univariable p < 0.05 screening of "
                       "the eight factors, then a multivariable model) keeps the factor with "
                       "p < 0.05; its share is shown as the rejection rate."),
        ("Truth", "the generating conditional log-HR where the analysis model contains the "
                  "generating model; otherwise (marked †) a large-sample reference value: the "
                  "method applied to one very large cohort from the scenario."),
    ]
    return html.definitions(items, "ademp")


def _methods_text(methods: Sequence[str]) -> str:
    return html.definitions(((m, METHOD_TEXT.get(m, m)) for m in methods), "ademp")


def _measures_text() -> str:
    items = [
        ("Bias", "mean estimate minus truth; MCSE = empSE / sqrt(n)."),
        ("EmpSE", "SD of the estimates over replicates; MCSE = empSE / sqrt(2(n - 1))."),
        ("ModSE", "root mean of the model SEs squared; Rel. error = 100 (ModSE / EmpSE - 1)."),
        ("MSE", "mean squared error against the truth."),
        ("Coverage", "share of replicates whose 95% Wald CI holds the truth; MCSE = "
                     "sqrt(p(1 - p) / n)."),
        ("Rejection", "share with p < 0.05: power where the factor acts, type I error where it "
                      "does not; same MCSE."),
        ("Failures", "replicates without a usable estimate (no convergence, complete "
                     "separation, no cut-off, an exception) are counted and left out of the "
                     "measures, never re-drawn."),
    ]
    return html.definitions(items, "ademp") + html.paragraph(
        "Monte Carlo SEs follow Morris, White & Crowther (2019), Table 6; n is the number of "
        "replicates with a usable estimate. Figures show ± 1.96 MCSE.", "note")


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------

#: Rows of each estimand in the performance table: field -> (label, format).
PERFORMANCE_FIELDS: dict[str, tuple[str, str]] = {
    "bias": ("Bias", ".3f"),
    "empse": ("EmpSE", ".3f"),
    "modse": ("ModSE", ".3f"),
    "relerr_modse": ("Relative error of ModSE, %", ".1f"),
    "mse": ("MSE", ".3f"),
    "coverage": ("Coverage of the 95% CI, %", "pct"),
    "rejection": ("Rejection (p < 0.05), %", "pct"),
}


def _by_method(data: StudyData, scenario: str, estimand: str) -> dict[str, dict[str, Any]]:
    return {r["method"]: r for r in data.rows
            if r["scenario"] == scenario and r["estimand"] == estimand}


def performance_rows(data: StudyData, scenario: str, methods: Sequence[str]) -> list[Row]:
    """The performance table of one scenario: methods in columns; per log-HR estimand its
    usable replicates, truth and each measure with its MCSE; then how often the paper's
    procedure keeps each factor."""
    rows: list[Row] = []
    for estimand in LOGHR_ESTIMANDS:
        per = _by_method(data, scenario, estimand)
        if not per:
            continue
        rows.append(Row(ESTIMAND_LABELS.get(estimand, estimand), group=True))
        cells = lambda make: [make(per[m]) if m in per else text("") for m in methods]  # noqa: E731
        rows.append(Row("Replicates used", cells(lambda r: count(r, "n_used")), indent=True))
        rows.append(Row("Truth", cells(truth_cell), indent=True))
        for field, (label, fmt) in PERFORMANCE_FIELDS.items():
            rows.append(Row(label, cells(lambda r, f=field, g=fmt: measure(r, f, g)),
                            indent=True))
    selected = {e: _by_method(data, scenario, e) for e in SELECTED_ESTIMANDS}
    if any(selected.values()):
        rows.append(Row("Called an independent predictor by the paper's procedure, %",
                        group=True))
        for estimand, per in selected.items():
            if per:
                rows.append(Row(ESTIMAND_LABELS[estimand].split(" called")[0],
                                [measure(per[m], "rejection", "pct") if m in per else text("")
                                 for m in methods], indent=True))
    return rows


CUTOFF_HEADERS = ("Scenario / method", "Replicates used", "Truth", "Mean", "SD", "2.5%", "Median",
                  "97.5%", f"Within ±{CUTOFF_TOLERANCE:g} of the truth, %",
                  "At search boundary, %", "Group < 10% of patients, %")


def cutoff_rows(data: StudyData) -> list[Row]:
    rows: list[Row] = []
    for name, _, _ in data.scenarios:
        chosen = [r for r in data.rows if r["scenario"] == name and r["estimand"] == "cutoff"]
        if chosen:
            rows.append(Row(f"Scenario {name}", group=True))
        for r in chosen:
            rows.append(Row(r["method"], (
                count(r, "n_used"), truth_cell(r, ".2f"), measure(r, "mean", ".2f"),
                measure(r, "sd", ".2f"), measure(r, "q025", ".2f"),
                measure(r, "median", ".2f"), measure(r, "q975", ".2f"),
                measure(r, "share_within_2", "pct"), measure(r, "share_at_boundary", "pct"),
                measure(r, "share_small_group", "pct")), indent=True))
    return rows


def _points(rows: Sequence[Mapping[str, Any]], field: str, scale: float = 1.0
            ) -> list[figures.PerformancePoint]:
    points = []
    for r in rows:
        value = html.finite(r.get(field))
        if value is None:
            continue
        mcse = html.finite(r.get(f"{field}_mcse"))
        points.append(figures.PerformancePoint(
            PANEL_TITLES.get(r["estimand"], r["estimand"]), r["method"], r["scenario"],
            scale * value, math.nan if mcse is None else scale * mcse))
    return points


#: Short panel titles of the study figures.
PANEL_TITLES = {
    "pni_uv_loghr": "PNI, univariable", "pni_mv_loghr": "PNI, multivariable",
    "pni_selected": "PNI selected",
    "afp_mv_loghr": "AFP, multivariable", "afp_selected": "AFP selected",
    "ehs_mv_loghr": "Spread, multivariable", "ehs_selected": "Spread selected",
}
#: Panel grids: log-HR estimands two by two; the null figure one factor per row, with
#: univariable, multivariable and selection in columns.
LOGHR_LAYOUT = (("pni_uv_loghr", "pni_mv_loghr"), ("afp_mv_loghr", "ehs_mv_loghr"))
NULL_LAYOUT = (("pni_uv_loghr", "pni_mv_loghr", "pni_selected"),
               ("", "afp_mv_loghr", "afp_selected"), ("", "ehs_mv_loghr", "ehs_selected"))


def _layout(grid: Sequence[Sequence[str]]) -> list[list[str]]:
    return [[PANEL_TITLES.get(name, name) if name else "" for name in row] for row in grid]


def _order(data: StudyData) -> list[str]:
    """Scenarios in the study's order, so that each keeps its marker in every figure."""
    return [name for name, _, _ in data.scenarios]


def bias_png(data: StudyData) -> bytes | None:
    points = _points(_rows_of(data, LOGHR_ESTIMANDS), "bias")
    if not points:
        return None
    fig = figures.performance_figure(points, measure="Bias (log hazard ratio)", reference=0.0,
                                     reference_label="no bias", title="Bias",
                                     layout=_layout(LOGHR_LAYOUT), series_order=_order(data))
    return figures.to_png(fig)


def coverage_png(data: StudyData) -> bytes | None:
    points = _points(_rows_of(data, LOGHR_ESTIMANDS), "coverage", 100.0)
    if not points:
        return None
    fig = figures.performance_figure(points, measure="Coverage of the 95% CI (%)",
                                     reference=95.0, reference_label="nominal 95%",
                                     title="Coverage", bounds=(0.0, 100.0),
                                     layout=_layout(LOGHR_LAYOUT), series_order=_order(data))
    return figures.to_png(fig)


def null_rows(data: StudyData) -> list[dict[str, Any]]:
    """Summary rows whose factor has no effect in their scenario (type I errors)."""
    scenarios = _scenario_objects(data)
    return [r for r in data.rows if r["scenario"] in scenarios
            and html.finite(r.get("rejection")) is not None
            and is_null(scenarios[r["scenario"]], r["estimand"])]


def rejection_png(data: StudyData, rows: Sequence[Mapping[str, Any]]) -> bytes | None:
    points = _points(rows, "rejection", 100.0)
    if not points:
        return None
    fig = figures.performance_figure(points, measure="Rejection rate, p < 0.05 (%)",
                                     reference=5.0, reference_label="nominal 5%",
                                     title="Type I error under the null", bounds=(0.0, 100.0),
                                     layout=_layout(NULL_LAYOUT), series_order=_order(data),
                                     width_in=7.6, x_start=0.0)
    return figures.to_png(fig)


def _pivot(rows: Sequence[Mapping[str, Any]], scenarios: Sequence[str], methods: Sequence[str],
           cell: Any) -> list[Row]:
    """Summary rows laid out with scenarios as groups, estimands as rows, methods as
    columns; ``cell(row)`` makes each cell."""
    out: list[Row] = []
    for scenario in scenarios:
        mine = [r for r in rows if r["scenario"] == scenario]
        if not mine:
            continue
        out.append(Row(f"Scenario {scenario}", group=True))
        for estimand in dict.fromkeys(r["estimand"] for r in mine):
            per = {r["method"]: r for r in mine if r["estimand"] == estimand}
            out.append(Row(ESTIMAND_LABELS.get(estimand, estimand),
                           [cell(per[m]) if m in per else text("") for m in methods],
                           indent=True))
    return out


def rejection_table_rows(data: StudyData, rows: Sequence[Mapping[str, Any]],
                         methods: Sequence[str]) -> list[Row]:
    """Type I errors: rejection rate (MCSE) of each null estimand by method."""
    return _pivot(rows, [name for name, _, _ in data.scenarios], methods,
                  lambda r: measure(r, "rejection", "pct"))


def cutoff_png(data: StudyData) -> bytes | None:
    if not data.cutoffs:
        return None
    fig = figures.cutoff_distribution_figure(data.cutoffs, published=PUBLISHED_PNI)
    return figures.to_png(fig)


def _failure_cell(row: Mapping[str, Any]) -> Cell:
    failed, n = int(row.get("n_failed") or 0), int(row.get("n_rep") or 0)
    shown = f"{failed} ({100 * failed / n:.1f}%)" if n else str(failed)
    return Cell(shown, float(failed), row_key(row, "n_failed"), numeric=True)


def failure_rows(data: StudyData, methods: Sequence[str]) -> list[Row]:
    """Replicates without a usable estimate, per estimand (rows) and method (columns);
    only estimands with at least one failure are listed."""
    failing = {(r["scenario"], r["estimand"]) for r in data.rows if r.get("n_failed")}
    rows = [r for r in data.rows if (r["scenario"], r["estimand"]) in failing]
    return _pivot(rows, [name for name, _, _ in data.scenarios], methods, _failure_cell)


def ledger_table(data: StudyData) -> str:
    """The failure ledger: replicates with an entry of each kind, by scenario and method."""
    replicates: dict[tuple[str, str, str], set[int]] = {}
    for scenario, replicate, method, _, kind, _ in data.ledger:
        replicates.setdefault((scenario, method, kind), set()).add(replicate)
    if not replicates:
        return ""
    kinds = sorted({kind for _, _, kind in replicates})
    rows: list[Row] = []
    for scenario, _, _ in data.scenarios:
        present = {m for s, m, _ in replicates if s == scenario}
        methods = [m for m in (*METHOD_TEXT, "") if m in present] + \
            sorted(m for m in present if m not in METHOD_TEXT and m)
        if not methods:
            continue
        rows.append(Row(f"Scenario {scenario}", group=True))
        for method in methods:
            rows.append(Row(method or "whole replicate (exception)",
                            [html.number(len(replicates.get((scenario, method, k), ())), "d")
                             for k in kinds], indent=True))
    return html.table("Failure ledger: replicates with an entry of each kind", ("Scenario / "
                      "method", *kinds), rows, table_id="ledger", css_class="numeric",
                      note="separated: a coefficient runs off to infinity (a group without "
                           "deaths); constant: a covariate does not vary in the cohort and "
                           "is left out; exception: the replicate failed as a whole.")


def _figure(png: bytes | None, figure_id: str, alt: str, caption: str, missing: str) -> str:
    if png is None:
        return html.paragraph(missing, "note")
    return html.figure(png, figure_id=figure_id, alt=alt, caption=caption)


# ---------------------------------------------------------------------------------------
# A design grid: measures against its values
# ---------------------------------------------------------------------------------------

def grid_key(data: StudyData) -> str | None:
    """The key the grid figures put on the x axis: ``n`` if it varies, else the first
    numeric key that takes two values or more (None if there is none)."""
    values: dict[str, set[Any]] = {}
    for entry in data.entries:
        for key, value in entry.grid:
            values.setdefault(key, set()).add(value)
    numeric = [key for key, vals in values.items()
               if len(vals) > 1 and all(isinstance(v, (int, float)) for v in vals)]
    return "n" if "n" in numeric else (numeric[0] if numeric else None)


def _x_of(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _panel_of(row: Mapping[str, Any], key: str, label: str) -> str:
    """The panel of a row: its base scenario, the values of the other grid keys, and
    what is shown."""
    others = [f"{k}={row.get(k):g}" if isinstance(row.get(k), float) else f"{k}={row.get(k)}"
              for k in row.get("grid_keys", ()) if k not in (key, "n") or
              (k == "n" and key != "n")]
    if key != "n" and "n" not in row.get("grid_keys", ()):
        others = [o for o in others if not o.startswith("n=")]
    return ", ".join([row["base_scenario"], *others]) + f": {label}"


def grid_points(data: StudyData, estimands: Sequence[str], field: str, key: str,
                scale: float = 1.0) -> list[figures.GridPoint]:
    """The grid's values of ``field`` for ``estimands``, one point per (scenario,
    method), placed by the value of ``key``."""
    points = []
    for r in data.rows:
        if r["estimand"] not in estimands:
            continue
        x, value = _x_of(r, key), html.finite(r.get(field))
        if x is None or value is None:
            continue
        mcse = html.finite(r.get(f"{field}_mcse"))
        label = GRID_PANELS.get((r["estimand"], field), PANEL_TITLES.get(r["estimand"],
                                                                         r["estimand"]))
        points.append(figures.GridPoint(_panel_of(r, key, label), r["method"], x,
                                        scale * value, math.nan if mcse is None
                                        else scale * mcse))
    return points


#: Panel titles of the grid figures by (estimand, field).
GRID_PANELS = {("cutoff", "share_within_2"): f"cut-off within ±{CUTOFF_TOLERANCE:g}",
               ("pni_uv_loghr", "rejection"): "PNI univariable test",
               ("pni_selected", "rejection"): "PNI called independent"}

#: The grid figures: name -> (estimands, field, scale, axis label, reference, its label,
#: bounds, title).
GRID_FIGURES: dict[str, tuple[tuple[str, ...], str, float, str, float | None, str,
                              tuple[float, float] | None, str]] = {
    "grid-cutoff": (("cutoff",), "share_within_2", 100.0,
                    f"Cut-off within ±{CUTOFF_TOLERANCE:g} of the true step (%)", 80.0, "80%",
                    (0.0, 100.0), "The data-driven cut-off finds the true step"),
    "grid-coverage": (("pni_uv_loghr", "pni_mv_loghr"), "coverage", 100.0,
                      "Coverage of the 95% CI (%)", 95.0, "nominal 95%", (0.0, 100.0),
                      "Coverage of the PNI log-HR"),
    "grid-bias": (("pni_uv_loghr", "pni_mv_loghr"), "bias", 1.0, "Bias (log hazard ratio)",
                  0.0, "no bias", None, "Bias of the PNI log-HR"),
    "grid-rejection": (("pni_uv_loghr", "pni_selected"), "rejection", 100.0,
                       "Rejection, p < 0.05 (%)", 5.0, "nominal 5%", (0.0, 100.0),
                       "PNI found prognostic (p < 0.05)"),
}


def grid_pngs(data: StudyData) -> dict[str, bytes | None]:
    """PNG bytes of the grid figures (None where the study has nothing to show)."""
    key = grid_key(data)
    out: dict[str, bytes | None] = dict.fromkeys(GRID_FIGURES)
    if key is None:
        return out
    log_x = key == "n" and max(e.n for e in data.entries) >= 4 * min(e.n for e in data.entries)
    x_label = ("Patients per cohort (n)" if key == "n" else key)
    order = [m for m in METHODS]
    for name, (estimands, field_, scale, label, reference, ref_label, bounds,
               title) in GRID_FIGURES.items():
        points = grid_points(data, estimands, field_, key, scale)
        if not points:
            continue
        fig = figures.grid_figure(points, x_label=x_label, measure=label,
                                  reference=reference, reference_label=ref_label,
                                  title=title, log_x=log_x, bounds=bounds,
                                  series_order=order)
        out[name] = figures.to_png(fig)
    return out


#: Largest number of scenarios whose cut-off histograms are drawn one panel each.
MAX_HISTOGRAM_PANELS = 6


def study_figures(data: StudyData) -> dict[str, bytes | None]:
    """PNG bytes of the study's figures (None where the study has nothing to show).

    A design grid shows each measure against the grid's values instead of one marker
    per scenario (its many scenarios would not read as markers); an evidence study adds
    its belts.
    """
    standard = data.without_grid()
    if standard.grid:
        few = len(standard.cutoffs) <= MAX_HISTOGRAM_PANELS
        pngs = {"cutoff": cutoff_png(standard) if few else None, "bias": None,
                "coverage": None, "rejection": None, **grid_pngs(standard)}
    else:
        pngs = {"cutoff": cutoff_png(standard), "bias": bias_png(standard),
                "coverage": coverage_png(standard),
                "rejection": rejection_png(standard, null_rows(standard))}
    if data.evidence is not None:
        pngs.update(evidence_figures(data.evidence))
    return pngs


def _grid_section(data: StudyData, pngs: Mapping[str, bytes | None]) -> str:
    key = grid_key(data)
    if key is None:
        return html.paragraph("No numeric grid key takes two values or more: the measures "
                              "are in the tables of each scenario.", "note")
    captions = {
        "grid-cutoff": f"Share of replicates whose data-driven cut-off lies within "
                       f"±{CUTOFF_TOLERANCE:g} PNI units of the true step, against {key}; "
                       "the dashed line marks 80%.",
        "grid-coverage": f"Coverage of the 95% Wald CI of the PNI log-HR (univariable and "
                         f"in the four-factor model), against {key}; dashed: nominal 95%.",
        "grid-bias": f"Bias of the PNI log-HR against {key} (the continuous method's is per "
                     "PNI unit); dashed: no bias.",
        "grid-rejection": f"Share of replicates that find PNI prognostic (univariable test "
                          f"at p < 0.05; the paper's procedure calling it independent), "
                          f"against {key}: power where PNI acts, a type I error where it "
                          "does not (dashed: 5%).",
    }
    parts = [_figure(pngs.get(name), f"fig-{name}", GRID_FIGURES[name][7], caption,
                     "Nothing of this kind to show.")
             for name, caption in captions.items() if pngs.get(name) is not None]
    return "\n".join(parts) + html.paragraph(
        "Each line is a method, each panel a scenario of the grid and what is shown; the "
        "bars span ± 1.96 Monte Carlo SE.", "note")


def study_report_html(data: StudyData, *, source: str = "",
                      pngs: Mapping[str, bytes | None] | None = None) -> str:
    """The study report as one self-contained HTML document.

    ``pngs`` are the figures if already drawn (:func:`study_figures`); else they are drawn.
    """
    pngs = study_figures(data) if pngs is None else pngs
    full, data = data, data.without_grid()
    methods = list(dict.fromkeys(r["method"] for r in data.rows))
    performance = []
    for name, _, _ in data.scenarios:
        rows = performance_rows(data, name, methods)
        if rows:
            performance.append(html.table(
                f"Scenario {name}: performance, value (Monte Carlo SE)",
                ("Estimand / measure", *methods), rows, table_id=f"performance-{name}",
                css_class="numeric"))
    nulls = null_rows(data)
    failures = failure_rows(data, methods)
    grid_sections = ([Section("grid", "Measures against the design grid",
                              _grid_section(data, pngs))] if data.grid else [])
    sections = [
        Section("aims", "Aims", _aims()),
        Section("data", "Data-generating mechanisms",
                scenario_table(data) + _design(data)),
        Section("estimands", "Estimands", _estimands_text()),
        Section("methods", "Methods", _methods_text(methods)),
        Section("measures", "Performance measures", _measures_text()),
        Section("performance", "Performance of each method",
                "\n".join(performance) + html.paragraph(
                    "Log-HRs are on the log scale; the continuous method's PNI log-HR is per "
                    "PNI unit. † truth is a large-sample reference value. Rejection of a "
                    "*_selected row is the share of replicates in which the paper's procedure "
                    "calls the factor an independent predictor.", "note")),
        *grid_sections,
        Section("cutoff", "The data-driven cut-off",
                _figure(pngs["cutoff"], "fig-cutoff",
                        "Histograms of the chosen PNI cut-off per scenario and method",
                        f"Distribution of the PNI cut-off each data-driven method chose, one "
                        f"panel per scenario; the dashed line is the published "
                        f"{PUBLISHED_PNI:g}. Bars are percent of all replicates; replicates "
                        "without a cut-off are counted in the legend.",
                        "The study has no data-driven cut-offs." if not data.grid else
                        "The cut-offs of the grid's scenarios are in the table below and in "
                        "the figures of the design grid.")
                + html.table("The chosen cut-off: value (Monte Carlo SE)", CUTOFF_HEADERS,
                             cutoff_rows(data), table_id="cutoffs", css_class="numeric")),
        *([] if data.grid else [Section("bias-coverage", "Bias and coverage",
                _figure(pngs["bias"], "fig-bias", "Bias per method and estimand",
                        "Bias of each log-HR estimand by method (rows) and scenario "
                        "(markers), with ± 1.96 Monte Carlo SE bars.",
                        "No estimand has a truth to compute bias against.")
                + _figure(pngs["coverage"], "fig-coverage", "Coverage per method and estimand",
                          "Coverage of the 95% Wald interval, with ± 1.96 Monte Carlo SE "
                          "bars; the dashed line is the nominal 95%.",
                          "No estimand has a truth to compute coverage against."))]),
        Section("null", "Rejection under the null",
                (_figure(pngs["rejection"], "fig-rejection", "Type I error per method",
                        "Rejection rate (p < 0.05) where the factor has no effect in the "
                        "scenario: a type I error, nominally 5%; ± 1.96 Monte Carlo SE bars. "
                        "The *_selected panels show how often the paper's procedure calls a "
                        "factor without effect an independent predictor.",
                        "The study has no null scenario.") if not data.grid else "")
                + (html.table("Type I error: rejection rate, % (Monte Carlo SE)",
                              ("Scenario / estimand", *methods),
                              rejection_table_rows(data, nulls, methods),
                              table_id="null-rejection", css_class="numeric")
                   if nulls else "")),
        Section("failures", "Failures",
                (html.table("Replicates without a usable estimate, n (%)",
                            ("Scenario / estimand", *methods), failures, table_id="failures",
                            css_class="numeric",
                            note="They are counted here and left out of the measures; a "
                                 "failed replicate is never re-drawn.")
                 if failures else html.paragraph("Every replicate gave every estimate."))
                + ledger_table(data)),
    ]
    if full.evidence is not None:
        sections = sections[:1] + evidence_sections(full.evidence, pngs) + sections[1:]
    replicates = sum(c["ok"] + c["failed"] for c in full.counts.values())
    title = "Simulation study" + (f": {os.path.basename(source)}" if source else "")
    grid = len(full.scenarios) - len(data.scenarios)
    subtitle = (f"{len(data.scenarios)} scenario(s)"
                + (f" and an evidence grid of {grid} points" if grid else "")
                + f", {replicates:,} replicates in all, cohorts of {cohort_sizes(full)} "
                f"patients; methods {', '.join(methods)}.")
    footer = (f"hcc-prognosis {__version__}. Report of the study file {source}; the same "
              "numbers are printed by 'hcc-prognosis summarize --json'.")
    return html.page(title, subtitle, sections, footer)
