"""``hcc-prognosis validate``: does the published model hold in my patients?

::

    hcc-prognosis validate cohort.csv [--json] [--report out.html] [--tau 12]

Applies the paper's three-factor model unchanged to a cohort CSV in the ``analyze``
format (read and checked as ``analyze`` reads it) and prints its discrimination (Harrell's
and Uno's C), its calibration slope with the test of slope = 1, and overall survival by
number of adverse factors with observed against published hazard ratios, with warnings
where the cohort is too small to tell (:func:`simulation.paper.validation.validate`).
With ``--json`` the record; with ``--report`` also a self-contained HTML report. A file
that cannot be read gives every problem on stderr and exit status 2.

numpy and the wings are imported inside :func:`run`, so ``hcc-prognosis --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from typing import Any

from calculator.cli.errors import report_error, report_problems
from calculator.cli.files import write_file
from calculator.formatting import interval, number, p_value, text_table

HELP = "validate the published model on a cohort CSV (C-statistics, calibration slope)"

#: Default truncation time of Uno's C (kept here so the help needs no numpy; a test checks
#: it equals simulation.paper.validation.DEFAULT_TAU_MONTHS).
DEFAULT_TAU = 12.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cohort", metavar="COHORT.csv",
                        help="cohort CSV in the analyze format (one row per patient; the "
                             "model needs afp_ng_ml, extrahepatic_spread, albumin_g_l, "
                             "lymphocytes_10e9_l, os_months and os_event)")
    parser.add_argument("--json", action="store_true",
                        help="print the validation record as JSON instead of tables")
    parser.add_argument("--report", metavar="OUT.html",
                        help="also write the validation report (measures, risk groups, "
                             "Kaplan-Meier curves, observed against published hazard "
                             "ratios) as one self-contained HTML file")
    parser.add_argument("--tau", type=float, default=DEFAULT_TAU, metavar="MONTHS",
                        help=f"truncation time of Uno's C in months (default {DEFAULT_TAU:g}: "
                             "one year; choose a time at which at least 10%% of patients "
                             "are still followed)")


# ---------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------

def _ci(entry: Mapping[str, Any], fmt: str = ".3f") -> str:
    if entry.get("value") is None:
        return "not estimable"
    lower, upper = entry["ci"]
    return f"{entry['value']:{fmt}} (95% CI {interval(lower, upper, fmt)})"


def _hr(entry: Mapping[str, Any]) -> str:
    if entry.get("reference"):
        return "reference"
    return _ci(entry, ".2f")


def _median_ci(ci: list[float | None]) -> str:
    if ci[0] is None and ci[1] is None:
        return "NR"
    return interval(ci[0], ci[1], ".1f")


def render_text(record: Mapping[str, Any], source: str = "") -> str:
    """The validation record as readable lines and tables."""
    slope = record["calibration_slope"]
    uno = record["c_uno"]
    trend = record["logrank_trend"]
    lines = [f"External validation of the published model ({record['model']['source']})"
             + (f" on {source}" if source else ""),
             f"  {record['model']['linear_predictor']}",
             f"  {record['n']} patients with OS and the three factors (of {record['rows']} "
             f"rows), {record['deaths']} deaths", ""]
    measures = [
        ["Harrell's C", _ci(record["c_harrell"]), ""],
        [f"Uno's C, tau {uno['tau_months']:g} months", _ci(uno), ""],
        ["Calibration slope", _ci(slope),
         f"test of slope = 1: p {p_value(slope['test_slope_1']['p'])}"],
        ["Log-rank test for trend", f"chi2 {number(trend['chi2'], '.2f')} (1 df)",
         f"p {p_value(trend['p'])}"],
    ]
    lines += text_table(["measure", "estimate", "test"], measures, left_columns=3, indent="  ")
    lines += ["", "Overall survival by number of adverse factors (HR against 0 factors)"]
    rows = [[str(g["adverse_factors"]), str(g["n"]), str(g["deaths"]),
             number(g["median_months"], ".1f", "NR"), _median_ci(g["median_ci"]),
             _hr(g["hr"]),
             _hr(g["hr_published"])]
            for g in record["risk_groups"]]
    lines += text_table(["factors", "n", "deaths", "median OS", "95% CI", "observed HR",
                         "published HR"], rows, indent="  ")
    if record["warnings"]:
        lines += ["", "Warnings:", *(f"  - {w['message']}" for w in record["warnings"])]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.tau) and args.tau > 0):
        return report_error("validate", f"--tau must be a positive number of months; got "
                            f"{args.tau:g}", "e.g. --tau 12")
    # The command list imports every command module: numpy and the wings load here.
    from simulation.cohorts.cohort_io import CohortFileError, read_cohort
    from simulation.paper.validation import validate

    try:
        cohort = read_cohort(args.cohort)
    except CohortFileError as err:
        return report_problems("validate", "the cohort file", err.problems, args.json,
                               err.to_json())
    record = validate(cohort, tau=args.tau)
    if args.json:
        print(json.dumps(record, indent=2, allow_nan=False))
    else:
        sys.stdout.write(render_text(record, args.cohort))
    if args.report:
        # Deferred: matplotlib and the report load only when a report is asked for.
        from simulation.reports.validation import validation_report_html

        return write_file("validate", "--report", args.report,
                          validation_report_html(cohort, record, source=args.cohort))
    return 0
