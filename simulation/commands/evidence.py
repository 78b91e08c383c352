"""``hcc-prognosis evidence``: re-estimate the published hazard ratios by simulation.

::

    hcc-prognosis evidence --out evidence.json                      # study in evidence.sqlite
    hcc-prognosis evidence --out calculator/data/evidence.json --study /tmp/evidence.sqlite
    hcc-prognosis evidence --out evidence.json --dask local:4         # or tcp://host:8786

Simulates the paper's procedure (Youden cut-off, univariable screen, multivariable Cox
model) over a grid of true log-HRs for AFP >= 200, extrahepatic spread and PNI < 47.6,
under the published model and two sensitivity analyses, into an ordinary study file
(``summarize`` and ``report`` read it; re-running the same command resumes it), then
inverts the belts at the published estimates and writes the data file the calculator
ships (:mod:`simulation.evidence`). Ctrl-C stops cleanly (exit status 130, the data file
untouched); bad arguments: a message and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from calculator.cli.errors import report_error, report_input_error
from calculator.errors import InputError
from calculator.formatting import interval, number, text_table

HELP = "re-estimate the published hazard ratios by simulating the paper's procedure"
COMMAND = "evidence"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hcc-prognosis evidence`` (no heavy imports here)."""
    parser.add_argument("--out", required=True, metavar="FILE.json",
                        help="the evidence data file to write (the calculator ships "
                             "calculator/data/evidence.json)")
    parser.add_argument("--study", metavar="FILE.sqlite",
                        help="the study file holding the simulation (default: --out with "
                             ".sqlite); re-running resumes it")
    parser.add_argument("--seed", type=int, default=1, help="root seed (default: 1)")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"worker processes (default: all cores, here {os.cpu_count()})")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run on Dask: local:N for a LocalCluster of N workers, or a "
                             "scheduler address such as tcp://10.0.0.5:8786")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _hr_text(result: dict[str, Any]) -> str:
    """A belt's re-estimate as a person reads it: ``1.45 (0.94-3.10)``, open limits as
    ``<`` / ``>`` bounds."""
    est, ci = result["estimate"], result["interval"]
    if est["open"] == "below":
        point = f"<{number(est['bound_hr'], '#.3g')}"
    elif est["open"] == "above":
        point = f">{number(est['bound_hr'], '#.3g')}"
    else:
        point = number(est["hr"], "#.3g")
    low, high = ci["hr"]
    low_text = ("<" if ci["open"][0] else "") + number(low, "#.3g")
    high_text = (">" if ci["open"][1] else "") + number(high, "#.3g")
    return f"{point} ({low_text} to {high_text})"


def summary_lines(document: dict[str, Any]) -> list[str]:
    """The results in a few lines: each belt's re-estimate per family, the cut-off's
    range and the share of false PNI findings."""
    rows = []
    for fam in document["family_order"]:
        item = document["families"][fam]
        for factor, entry in item["factors"].items():
            for belt in ("as_published", "always_fitted"):
                result = entry.get(belt)
                if result is None:
                    continue
                cal = result["calibration"]
                rows.append([fam, factor, belt.replace("_", " "), _hr_text(result),
                             f"{number(cal['coverage'], '.3f')} "
                             f"({number(cal['coverage_mcse'], '.3f')})"])
    lines = text_table(["family", "factor", "belt", "re-estimated HR (95% CI)",
                        "coverage (MCSE)"], rows, left_columns=3)
    for fam in document["family_order"]:
        item = document["families"][fam]
        cut, ff = item.get("cutoff"), item.get("false_findings")
        if cut:
            lines.append(f"{fam}: Youden cut-off 95% range "
                         f"{interval(cut['q025'], cut['q975'])} (MCSE "
                         f"{number(cut['q025_mcse'], '.2f')}, {number(cut['q975_mcse'], '.2f')}; "
                         f"{cut['scenario']}, {cut['replicates']:,} replicates)")
        if ff:
            lines.append(f"{fam}: PNI called independent without an effect in "
                         f"{number(100 * ff['share'], '.1f')}% (MCSE "
                         f"{number(100 * ff['mcse'], '.1f')}%) of {ff['replicates']:,} studies "
                         f"({ff['scenario']})")
    return lines


def run(args: argparse.Namespace) -> int:
    """Build the evidence; exit status 0, 1 (a worker lost), 2 (bad input or an unusable
    file), 130 (Ctrl-C) or 143 (SIGTERM)."""
    # The command list imports every command module: numpy and the wings load here.
    from simulation.evidence.build import build
    from simulation.study.runner import WorkerLost, parse_dask
    from simulation.study.seeds import check_seed

    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    out_dir = os.path.dirname(os.path.abspath(args.out))
    try:
        check_seed(args.seed)
        if args.dask:
            parse_dask(args.dask)
        if not os.path.isdir(out_dir):
            return report_error(COMMAND, f"the folder {out_dir} of --out does not exist",
                                "create it first, or choose another path")
        built = build(args.out, study=args.study, seed=args.seed, workers=args.workers,
                      dask=args.dask, progress=not args.no_progress, say=say,
                      command=["hcc-prognosis", COMMAND, *sys.argv[2:]])
    except InputError as error:
        return report_input_error(COMMAND, error)
    except WorkerLost as lost:
        report_error(COMMAND, str(lost), "run the same command again to resume")
        return 1
    except OSError as error:
        return report_error(COMMAND, f"cannot write {error.filename!r}: "
                            f"{error.strerror or error}", "is its folder writable?")
    stopped = built.stages.interrupted
    if stopped is not None:
        terminated = stopped.signum == signal.SIGTERM
        say(f"{'stopped by SIGTERM' if terminated else 'interrupted'}: "
            f"{built.stages.written:,} replicates written in this run; {args.out} not "
            "written; run the same command again to resume")
        return 143 if terminated else 130
    assert built.document is not None
    for line in summary_lines(built.document):
        say(line)
    total = built.document["provenance"]["replicates_total"]
    say(f"{args.out} written: {total:,} replicates in the study, "
        f"{built.stages.written:,} run now, {built.wall_time_s:.0f} s")
    return 0
