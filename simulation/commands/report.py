"""``hcc-prognosis report``: the HTML report of a simulation study.

::

    hcc-prognosis report study.sqlite -o report.html
    hcc-prognosis report study.sqlite -o report.html --png-dir figures/   # figures as PNGs too

The report is one self-contained HTML file (figures embedded, nothing fetched, a print
stylesheet inside): the study in ADEMP terms, the performance tables with Monte Carlo SEs,
the cut-off's distribution, bias, coverage, type I errors and failures
(:mod:`simulation.reports.study`). Its numbers are those of ``summarize --json``.
A file that is not a study, or an output that cannot be written, gives a one-line error
and exit status 2.

numpy, matplotlib and the report are imported inside :func:`run`, so ``hcc-prognosis
--help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from calculator.cli.errors import report_error, report_input_error
from calculator.errors import InputError

HELP = "write the HTML report of a study"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hcc-prognosis report``."""
    parser.add_argument("study", metavar="STUDY.sqlite",
                        help="the study's SQLite file (written by 'hcc-prognosis simulate')")
    parser.add_argument("-o", "--out", required=True, metavar="REPORT.html",
                        help="where to write the HTML report")
    parser.add_argument("--png-dir", metavar="DIR",
                        help="also write each figure as a PNG file into this folder "
                             "(created if needed)")


def run(args: argparse.Namespace) -> int:
    """Write the report; exit status 0, or 2 with a message on stderr."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.reports.study import read_study, study_figures, study_report_html

    try:
        data = read_study(args.study)
    except InputError as error:
        return report_input_error("report", error)
    if not data.rows:
        return report_error("report", f"{args.study!r} holds no finished replicate yet",
                            "run 'hcc-prognosis simulate ... --out' on it first")
    pngs = study_figures(data)
    page = study_report_html(data, source=args.study, pngs=pngs)
    try:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(page)
        if args.png_dir:
            os.makedirs(args.png_dir, exist_ok=True)
            for name, png in pngs.items():
                if png is not None:
                    with open(os.path.join(args.png_dir, f"{name}.png"), "wb") as image:
                        image.write(png)
    except OSError as error:
        return report_error("report", f"cannot write {error.filename!r}: "
                            f"{error.strerror or error}",
                            "does its folder exist and is it writable?")
    print(f"report written to {args.out}", file=sys.stderr)
    return 0
