"""``hcc-prognosis summarize``: performance measures of a simulation study.

::

    hcc-prognosis summarize study.sqlite            # readable tables
    hcc-prognosis summarize study.sqlite --json     # one object per (scenario, method, estimand)
    hcc-prognosis summarize study.sqlite --csv      # the same rows as CSV

Every measure comes with its Monte Carlo SE (``<measure>_mcse``); see
:mod:`simulation.study.measures` for the formulas and how the truth is chosen.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from calculator.cli.errors import report_input_error
from calculator.errors import InputError
from calculator.formatting import text_table
from calculator.published import PNI_CUTOFF

#: Fields first in the CSV, in this order; the rest follow alphabetically.
LEADING = ("scenario", "method", "estimand", "n_rep", "n_requested", "n_failed", "n_used",
           "truth", "truth_kind", "truth_se", "mean", "mean_mcse", "bias", "bias_mcse",
           "empse", "empse_mcse", "modse", "modse_mcse", "relerr_modse",
           "relerr_modse_mcse", "mse", "mse_mcse", "coverage", "coverage_mcse", "rejection",
           "rejection_mcse")


HELP = "performance measures of a study"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hcc-prognosis summarize``."""
    parser.add_argument("study", metavar="FILE", help="the study's SQLite file")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the rows as JSON")
    form.add_argument("--csv", action="store_true", help="print the rows as CSV")
    parser.add_argument("--scenario", action="append", metavar="NAME",
                        help="only this scenario (repeatable)")


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _with_mcse(row: dict[str, Any], key: str, digits: int = 3) -> str:
    value, mcse = row.get(key), row.get(f"{key}_mcse")
    if value is None:
        return "-"
    return f"{value:.{digits}f} ({_num(mcse, digits)})"


def _table(header: Sequence[str], lines: list[list[str]]) -> str:
    return "\n".join(text_table(header, lines, left_columns=2))


def format_text(rows: list[dict[str, Any]], fingerprint: dict[str, Any] | None,
                path: str) -> str:
    """The summary as readable tables, one block per scenario."""
    fp = fingerprint or {}
    out = [f"Study {path}: seed {fp.get('seed')}, n = {fp.get('n')} per cohort, engine "
           f"{fp.get('engine')}, hcc-prognosis {fp.get('version')}"]
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    for name in scenarios:
        mine = [r for r in rows if r["scenario"] == name]
        first = mine[0]
        failed = first["failures"].get("replicate-failed", 0)
        out.append("")
        out.append(f"== {name}: {first['n_rep']} of {first['n_requested']} replicates done"
                   f"{f', {failed} failed' if failed else ''} ==")
        loghr = [r for r in mine if r["estimand"].endswith("_loghr")]
        if loghr:
            out.append("Log hazard ratios (Monte Carlo SE in brackets; truth G = generating "
                       "model, R = large-sample reference)")
            out.append(_table(
                ["method", "estimand", "used", "truth", "bias", "empSE", "modSE",
                 "relErr%", "coverage", "rejection"],
                [[r["method"], r["estimand"], str(r["n_used"]),
                  "-" if r["truth"] is None else
                  f"{r['truth']:.3f} {'G' if r['truth_kind'] == 'generating' else 'R'}",
                  _with_mcse(r, "bias"), _with_mcse(r, "empse"), _with_mcse(r, "modse"),
                  _with_mcse(r, "relerr_modse", 1), _with_mcse(r, "coverage"),
                  _with_mcse(r, "rejection")] for r in loghr]))
        cut = [r for r in mine if r["estimand"] == "cutoff"]
        if cut:
            out.append("")
            out.append(f"Chosen PNI cut-off (published: {PNI_CUTOFF.value})")
            out.append(_table(
                ["method", "truth", "used", "mean", "SD", "2.5%", "median", "97.5%",
                 "at boundary", "group < 10%"],
                [[r["method"], "-" if r["truth"] is None else f"{r['truth']:.2f}",
                  str(r["n_used"]), _with_mcse(r, "mean", 2), _with_mcse(r, "sd", 2),
                  _with_mcse(r, "q025", 2), _with_mcse(r, "median", 2),
                  _with_mcse(r, "q975", 2), _with_mcse(r, "share_at_boundary"),
                  _with_mcse(r, "share_small_group")] for r in cut]))
        selected = {(r["method"], r["estimand"]): r for r in mine
                    if r["estimand"].endswith("_selected")}
        if selected:
            out.append("")
            out.append("Called an independent predictor by the paper's procedure "
                       "(univariable p < .05, then multivariable p < .05)")
            methods = list(dict.fromkeys(m for m, _ in selected))
            names = ("pni_selected", "afp_selected", "ehs_selected")
            out.append(_table(["method", "used", *names],
                              [[m, str(selected[(m, names[0])]["n_used"]),
                                *[_with_mcse(selected[(m, e)], "rejection") for e in names]]
                               for m in methods]))
        flags: dict[str, int] = {}
        for r in mine:
            for flag, count in r["failures"].items():
                if flag != "replicate-failed":
                    flags[flag] = flags.get(flag, 0) + count
        if flags:
            out.append("")
            out.append("Estimates left out (counted over all methods and estimands): "
                       + ", ".join(f"{k} {v}" for k, v in sorted(flags.items())))
        refs = sorted({r["truth_label"] for r in mine if r["truth_kind"] == "reference"})
        for label in refs:
            out.append(f"R: {label}")
    return "\n".join(out)


def format_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (``failures`` as JSON text)."""
    keys = list(LEADING) + sorted({k for r in rows for k in r} - set(LEADING))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (json.dumps(r[k], sort_keys=True) if isinstance(r.get(k), dict)
                             else "" if r.get(k) is None else r[k]) for k in keys})
    return buffer.getvalue()


def run(args: argparse.Namespace) -> int:
    """Print the summary; exit status 0, or 2 if the file is not a readable study."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.study.measures import summary_rows
    from simulation.study.store import Store

    try:
        with Store(args.study, create=False) as store:
            rows = summary_rows(store)
            fingerprint = store.fingerprint()
    except InputError as error:
        return report_input_error("summarize", error)
    if args.scenario:
        unknown = sorted(set(args.scenario) - {r["scenario"] for r in rows})
        if unknown:
            print(f"hcc-prognosis summarize: error: no scenario {', '.join(unknown)} in "
                  f"{args.study}", file=sys.stderr)
            return 2
        rows = [r for r in rows if r["scenario"] in args.scenario]
    if args.json:
        text = json.dumps(rows, indent=1) + "\n"
    elif args.csv:
        text = format_csv(rows)
    else:
        text = format_text(rows, fingerprint, args.study) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the exit-time flush
    return 0
