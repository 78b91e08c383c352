"""``hcc-prognosis analyze``: the paper's analysis of a cohort CSV.

Prints tables in the manner of the paper (Table 1 baseline, Kaplan-Meier medians, log-rank
tests, ROC, Table 4 Cox models), or with ``--json`` the record of
:func:`simulation.paper.analysis.analyze`. A CSV that cannot be read gives every problem on
stderr (as JSON with ``--json``) and exit status 2.

numpy and the analysis are imported inside :func:`run`, so ``hcc-prognosis --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from calculator.cli.errors import report_input_error, report_problems
from calculator.cli.files import write_file
from calculator.errors import InputError
from calculator.formatting import interval, number, p_value, text_table
from calculator.published import PNI_CUTOFF
from simulation.commands import add_engine_option

HELP = "run the paper's analysis on a cohort CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cohort", metavar="COHORT.csv",
                        help="cohort CSV, one row per patient (columns: id, age, sex, ecog, "
                             "child_pugh_score, etiology, cirrhosis, extrahepatic_spread, "
                             "afp_ng_ml, albumin_g_l, lymphocytes_10e9_l, bilirubin_mg_dl, "
                             "inr, treatment, os_months, os_event, pfs_months, pfs_event; "
                             "empty cells are missing values)")
    published = str(PNI_CUTOFF.value)
    parser.add_argument("--pni-cutoff", default=published, metavar=f"{published}|youden",
                        help="PNI cut-off: a number (PNI below it is low, the adverse "
                             f"level; default {published}, the paper's) or 'youden' for the "
                             "cohort's own Youden-optimal cut-off against death")
    parser.add_argument("--json", action="store_true",
                        help="print the analysis record as JSON instead of tables")
    parser.add_argument("--report", metavar="OUT.html",
                        help="also write the cohort report (Table 1, Cox table, the paper's "
                             "Figures 1-3 redrawn) as one self-contained HTML file")
    add_engine_option(parser)


# ---------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------

def _f(value: float | None, digits: int = 1) -> str:
    return number(value, f".{digits}f")


def _p(value: float | None) -> str:
    return p_value(value)


#: Marks a symmetric CI's lower limit that was computed below 0 and is shown as 0.
TRUNCATED = "*"


def _interval(ci: Sequence[float | None], digits: int = 1, floor: float | None = None) -> str:
    return interval(ci[0], ci[1], f".{digits}f", missing="NA", floor=floor, mark=TRUNCATED)


def _share(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else f"{k}"


def _hr(entry: Mapping[str, Any]) -> str:
    if entry.get("hr") is None:
        return "not estimable"
    return f"{entry['hr']:.2f} ({entry['ci'][0]:.2f}-{entry['ci'][1]:.2f})"


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    return text_table(header, rows, indent="  ")


_BASELINE_LABELS = {
    "age": "Age, years", "afp_ng_ml": "AFP, ng/mL", "albumin_g_l": "Albumin, g/L",
    "lymphocytes_10e9_l": "Lymphocytes, 10^9/L", "pni": "PNI",
    "bilirubin_mg_dl": "Bilirubin, mg/dL", "inr": "INR", "sex": "Sex", "ecog": "ECOG-PS",
    "child_pugh_score": "Child-Pugh score", "etiology": "Etiology", "cirrhosis": "Cirrhosis",
    "extrahepatic_spread": "Extrahepatic spread", "treatment": "Second-line treatment",
}
_YES_NO = {"1": "yes", "0": "no"}


def _baseline_lines(record: Mapping[str, Any]) -> list[str]:
    rows: list[list[str]] = []
    for name, item in record["baseline"].items():
        label = _BASELINE_LABELS.get(name, name)
        missing = f"{item['missing']} missing" if item["missing"] else ""
        if "median" in item:
            digits = 0 if name == "age" else 2
            value = ("NA" if item["median"] is None else
                     f"{item['median']:.{digits}f} ({item['min']:.{digits}f}-"
                     f"{item['max']:.{digits}f})")
            rows.append([f"{label}, median (range)", value, missing])
            continue
        rows.append([label, "", missing])
        for level, count in item["counts"].items():
            shown = _YES_NO.get(level, level) if name in ("cirrhosis",
                                                          "extrahepatic_spread") else level
            rows.append([f"    {shown}", _share(count, item["n"]), ""])
    return ["Table 1. Baseline characteristics (n (%) of patients with the value)",
            *_table(rows, ["characteristic", "value", "missing"])]


def _km_lines(record: Mapping[str, Any]) -> list[str]:
    rows = []
    for group, os_entry in record["km"]["os"].items():
        pfs_entry = record["km"]["pfs"][group]
        rows.append([group, str(os_entry["n"]),
                     f"{os_entry['events']}", _f(os_entry["median"]),
                     _interval(os_entry["ci"]), _interval(os_entry["ci_symmetric"], floor=0.0),
                     f"{pfs_entry['events']}", _f(pfs_entry["median"]),
                     _interval(pfs_entry["ci"]),
                     _interval(pfs_entry["ci_symmetric"], floor=0.0)])
    header = ["group", "n", "OS deaths", "OS", "95% CI (log-log)", "95% CI (±1.96 SE)",
              "PFS events", "PFS", "95% CI (log-log)", "95% CI (±1.96 SE)"]
    lines = ["Kaplan-Meier medians, months (NA: not reached or not estimable)",
             *_table(rows, header)]
    if any(TRUNCATED in cell for row in rows for cell in row):
        lines.append(f"  {TRUNCATED} lower limit computed below 0 (median − 1.96 SE), shown "
                     "as 0; the JSON keeps the computed value")
    return lines


def _logrank_lines(record: Mapping[str, Any]) -> list[str]:
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.paper.analysis import LOGRANK_LABELS

    rows = []
    for name, entry in record["logrank"].items():
        groups = ", ".join(f"{g} {v['events']}/{v['n']}" for g, v in entry["groups"].items())
        rows.append([LOGRANK_LABELS.get(name, name), _f(entry["chi2"], 2), _p(entry["p"]),
                     groups])
    return ["Log-rank tests of overall survival",
            *_table(rows, ["comparison", "chi2", "p", "deaths/patients"])]


def _roc_lines(record: Mapping[str, Any]) -> list[str]:
    roc = record["roc"]
    lines = ["ROC of PNI against death (low PNI = risk)",
             f"  AUC {_f(roc['auc'], 3)} (95% CI {_interval(roc['ci'], 3)}, DeLong), "
             f"p {_p(roc['p'])}; {roc['deaths']} deaths, {roc['survivors']} survivors"]
    if roc["youden_cutoff"] is not None:
        lines.append(f"  Youden cut-off {roc['youden_cutoff']:g}: sensitivity "
                     f"{100 * roc['sensitivity']:.1f}%, specificity "
                     f"{100 * roc['specificity']:.1f}%")
    used = record["pni_cutoff_used"]
    lines.append("  PNI cut-off used: " + ("none" if used is None else
                                           f"{used:g} ({record['pni_cutoff_rule']})"))
    return lines


def _cox_lines(record: Mapping[str, Any]) -> list[str]:
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.paper.analysis import FACTOR_LABELS

    uni = record["cox"]["univariable"]
    multi = record["cox"]["multivariable"]
    rows = []
    for name, entry in uni.items():
        if name in multi["entered"]:
            m = multi[name]
            multi_cells = [_hr(m), _p(m["p"])]
        else:
            multi_cells = ["not entered", ""]
        rows.append([FACTOR_LABELS.get(name, name), _hr(entry), _p(entry["p"]), *multi_cells])
    used = (f"multivariable: {multi['n_used']} patients, {multi['events']} deaths"
            if multi["entered"] else "multivariable: no factor entered")
    return ["Table 4. Cox regression for overall survival (HR > 1: the factor is adverse; "
            f"Efron ties, Wald CI; entry at {record['cox']['entry_rule']}; {used})",
            *_table(rows, ["factor", "univariable HR (95% CI)", "p",
                           "multivariable HR (95% CI)", "p"])]


def render_text(record: Mapping[str, Any], source: str = "") -> str:
    """The analysis record as readable tables."""
    n = record["n"]
    header = [f"Cohort {source}".rstrip() + f": {n} patients, "
              f"{_share(record['deaths'], n)} deaths, {_share(record['progressions'], n)} "
              f"progressions or deaths (PFS events)",
              f"Median follow-up {_f(record['median_followup_months'])} months (reverse "
              f"Kaplan-Meier, 95% CI {_interval(record['median_followup_ci'])}); engine "
              f"{record['engine']}"]
    missing = record["missing"]
    if missing["by_column"]:
        listed = ", ".join(f"{c} {k}" for c, k in missing["by_column"].items())
        header.append(f"Missing values: {listed}; {missing['complete_rows']} of {n} rows "
                      f"complete. Each analysis uses its complete cases (n shown).")
    else:
        header.append("Missing values: none.")
    sections = [header, _baseline_lines(record), _km_lines(record), _logrank_lines(record),
                _roc_lines(record), _cox_lines(record)]
    if record["flags"]:
        sections.append(["Flags (estimates not reported, and why):",
                         *(f"  - {f['analysis']}: {f['reason']}" for f in record["flags"])])
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    # The command list imports every command module: numpy and the wings load here.
    from simulation.cohorts.cohort_io import CohortFileError, read_cohort
    from simulation.paper.analysis import analyze, parse_pni_cutoff
    from simulation.stats.engines import DEFAULT_ENGINE, get_engine

    try:
        cutoff = parse_pni_cutoff(args.pni_cutoff)
    except ValueError as err:
        return report_problems("analyze", "--pni-cutoff", [f"--pni-cutoff: {err}"], args.json,
                               {"errors": [{"field": "pni_cutoff", "value": args.pni_cutoff,
                                            "allowed": "a number between 0 and 200, or youden",
                                            "message": str(err)}]})
    try:
        engine = get_engine(args.engine or DEFAULT_ENGINE)
    except InputError as err:
        return report_input_error("analyze", err, args.json)
    try:
        cohort = read_cohort(args.cohort)
    except CohortFileError as err:
        return report_problems("analyze", "the cohort file", err.problems, args.json,
                               err.to_json())
    record = analyze(cohort, pni_cutoff=cutoff, engine=engine)
    if args.json:
        print(json.dumps(record, indent=2, allow_nan=False))
    else:
        sys.stdout.write(render_text(record, args.cohort))
    if args.report:
        # Deferred: the command list loads every command module, so numpy waits for run.
        from simulation.reports.cohort import cohort_report_html

        return write_file("analyze", "--report", args.report,
                          cohort_report_html(cohort, record, source=args.cohort))
    return 0
