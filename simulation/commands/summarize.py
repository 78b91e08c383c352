"""``hcc-prognosis summarize``: performance measures of a simulation study.

::

    hcc-prognosis summarize study.sqlite            # readable tables
    hcc-prognosis summarize study.sqlite --json     # one object per (scenario, method, estimand)
    hcc-prognosis summarize study.sqlite --csv      # the same rows as CSV
    hcc-prognosis summarize study.sqlite --replicates --csv   # every estimate (long format)

Every measure comes with its Monte Carlo SE (``<measure>_mcse``); see
:mod:`simulation.study.measures` for the formulas and how the truth is chosen. Every row
carries its scenario's design: ``base_scenario``, ``n`` and the value of each grid key
(:mod:`simulation.study.grids`). The text of a design grid shows the main measures
against the grid's values; ``--scenario NAME`` shows one point in full. A study run with
a stopping rule (:mod:`simulation.study.stopping`) states the rule and where each
scenario ended (``stopped_by``). ``--replicates --csv`` writes one row per (scenario,
replicate, method, estimand) as :mod:`simulation.study.export` describes, the long
format R's rsimsum reads.
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

from calculator.cli.errors import report_error, report_input_error
from calculator.errors import InputError
from calculator.formatting import text_table
from calculator.published import PNI_CUTOFF

#: Fields first in the CSV, in this order (the grid keys after ``n``); the rest follow
#: alphabetically.
LEADING = ("scenario", "base_scenario", "n", "method", "estimand", "n_rep", "n_requested",
           "n_failed", "n_used", "truth", "truth_kind", "truth_se", "mean", "mean_mcse",
           "bias", "bias_mcse", "empse", "empse_mcse", "modse", "modse_mcse", "relerr_modse",
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
    parser.add_argument("--replicates", action="store_true",
                        help="with --csv: every estimate, one row per (scenario, replicate, "
                             "method, estimand), in the long format R's rsimsum reads")


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
                path: str, stopping: dict[str, Any] | None = None,
                details: bool | None = None) -> str:
    """The summary as readable tables.

    A study without a design grid gets one block per scenario; a grid gets its main
    measures against the grid's values, and the blocks only with ``details``.
    """
    fp = fingerprint or {}
    sizes = sorted({r["n"] for r in rows})
    size_text = (f"n = {sizes[0]} per cohort" if len(sizes) == 1
                 else f"cohorts of {', '.join(map(str, sizes[:-1]))} or {sizes[-1]} patients "
                      "(by scenario)")
    out = [f"Study {path}: seed {fp.get('seed')}, {size_text}, engine {fp.get('engine')}, "
           f"hcc-prognosis {fp.get('version')}"]
    out.extend(stopping_text(rows, stopping))
    grid = any(r["grid_keys"] for r in rows)
    if grid:
        out.extend(grid_text(rows))
    if details is None:
        details = not grid
    if not details:
        out.append("")
        out.append("Every measure of one scenario: add --scenario NAME; all of them: --json "
                   "or --csv.")
        return "\n".join(out)
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    for name in scenarios:
        mine = [r for r in rows if r["scenario"] == name]
        out.extend(_scenario_block(name, mine))
    return "\n".join(out)


def stopping_text(rows: list[dict[str, Any]], stopping: dict[str, Any] | None) -> list[str]:
    """The stopping rule and the replicate counts it reached, if a run used one."""
    if stopping is None:
        return []
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.study.stopping import StoppingRule

    rule = StoppingRule.from_dict(stopping)
    per = {r["scenario"]: (r["n_rep"], r.get("stopped_by")) for r in rows}
    met = [name for name, (_, by) in per.items() if by == "target"]
    capped = [name for name, (_, by) in per.items() if by == "cap"]
    open_ = [name for name, (_, by) in per.items() if by is None]
    counts = sorted(count for count, _ in per.values())
    lines = ["", f"Stopping rule: {rule.describe()}.",
             f"Reached: {len(met)} of {len(per)} scenario(s) met it, {len(capped)} stopped "
             f"by the cap" + (f", {len(open_)} not finished (run the same command again)"
                              if open_ else "")
             + f"; replicates per scenario {counts[0]:,} to {counts[-1]:,}."]
    for name in capped:
        lines.append(f"  stopped by the cap: {name} ({per[name][0]:,} replicates)")
    return lines


#: The measures of the grid table: (estimand, field, column title, digits).
GRID_MEASURES = (("cutoff", "median", "cut-off median", 2),
                 ("cutoff", "share_within_2", "cut-off within ±2", 3),
                 ("pni_uv_loghr", "rejection", "PNI uv rejection", 3),
                 ("pni_mv_loghr", "bias", "PNI mv bias", 3),
                 ("pni_mv_loghr", "coverage", "PNI mv coverage", 3),
                 ("pni_selected", "rejection", "PNI selected", 3))


def grid_text(rows: list[dict[str, Any]]) -> list[str]:
    """The main measures against the grid's values: one table per base scenario, one
    line per (grid point, method)."""
    out: list[str] = []
    for base in dict.fromkeys(r["base_scenario"] for r in rows):
        mine = [r for r in rows if r["base_scenario"] == base]
        keys = list(dict.fromkeys(k for r in mine for k in r["grid_keys"]))
        by = {(r["scenario"], r["method"], r["estimand"]): r for r in mine}
        lines = []
        for name in dict.fromkeys(r["scenario"] for r in mine):
            first = next(r for r in mine if r["scenario"] == name)
            values = [str(first["n"]) if k == "n" else _value(first.get(k)) for k in keys]
            for method in dict.fromkeys(r["method"] for r in mine if r["scenario"] == name):
                cells = [_with_mcse(by[(name, method, e)], f, d) if (name, method, e) in by
                         else "" for e, f, _, d in GRID_MEASURES]
                lines.append([*values, method, str(first["n_rep"]), *cells])
        out.append("")
        out.append(f"== {base}: measures against the design grid (Monte Carlo SE in brackets) ==")
        out.append("\n".join(text_table(
            [*keys, "method", "reps", *(title for _, _, title, _ in GRID_MEASURES)], lines,
            left_columns=len(keys) + 1)))
    return out


def _value(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _scenario_block(name: str, mine: list[dict[str, Any]]) -> list[str]:
    """Every measure of one scenario."""
    out: list[str] = []
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
             "within ±2", "at boundary", "group < 10%"],
            [[r["method"], "-" if r["truth"] is None else f"{r['truth']:.2f}",
              str(r["n_used"]), _with_mcse(r, "mean", 2), _with_mcse(r, "sd", 2),
              _with_mcse(r, "q025", 2), _with_mcse(r, "median", 2),
              _with_mcse(r, "q975", 2), _with_mcse(r, "share_within_2"),
              _with_mcse(r, "share_at_boundary"),
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
    return out


def format_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (``failures`` and ``grid_keys`` as JSON text), the grid keys as
    columns after ``n``."""
    grid = list(dict.fromkeys(k for r in rows for k in r.get("grid_keys", ()) if k != "n"))
    leading = [*LEADING[:3], *grid, *LEADING[3:]]
    keys = leading + sorted({k for r in rows for k in r} - set(leading))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (json.dumps(r[k], sort_keys=True) if isinstance(r.get(k),
                                                                            (dict, list))
                             else "" if r.get(k) is None else r[k]) for k in keys})
    return buffer.getvalue()


def write_replicates_csv(store: Any, names: list[str] | None, out: Any) -> None:
    """Every estimate as CSV (:mod:`simulation.study.export`), written as it is read."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.study.export import header, replicate_rows

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(store))
    for row in replicate_rows(store, names):
        writer.writerow(["" if v is None else v for v in row])


def run(args: argparse.Namespace) -> int:
    """Print the summary; exit status 0, or 2 if the file is not a readable study."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.study.measures import summary_rows
    from simulation.study.store import Store

    if args.replicates and not args.csv:
        return report_error("summarize", "--replicates writes one row per estimate as CSV",
                            "add --csv")
    try:
        with Store(args.study, create=False) as store:
            names = [e.name for e in store.scenario_entries()]
            unknown = sorted(set(args.scenario or ()) - set(names))
            if unknown:
                return report_error("summarize", f"no scenario {', '.join(unknown)} in "
                                                 f"{args.study}",
                                    f"its scenarios: {_some(names)}")
            if args.replicates:
                try:
                    write_replicates_csv(store, args.scenario, sys.stdout)
                    sys.stdout.flush()
                except BrokenPipeError:  # e.g. piped into head: not an error
                    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush
                return 0
            rows = summary_rows(store, args.scenario)
            fingerprint = store.fingerprint()
            stopping = store.setting("stopping")
    except InputError as error:
        return report_input_error("summarize", error)
    if args.json:
        text = json.dumps(rows, indent=1) + "\n"
    elif args.csv:
        text = format_csv(rows)
    else:
        text = format_text(rows, fingerprint, args.study, stopping,
                           details=True if args.scenario else None) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the exit-time flush
    return 0


def _some(names: list[str], shown: int = 6) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more"
                                       if len(names) > shown else "")
