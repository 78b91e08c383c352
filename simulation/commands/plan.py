"""``hcc-prognosis plan``: how many patients does a validation study of the model need?

::

    hcc-prognosis plan --target slope-ci-width=0.3 [--target c-ci-width=0.1]
        [--scenario tog2025] [--seed 1] [--replicates 1000] [--step 10] [--json]
    hcc-prognosis plan --n 300 [--scenario tog2025] [--seed 1] [--replicates 1000] [--json]

With ``--target``: estimates by simulation from a scenario the number of patients (and
the deaths they bring) for which an external validation of the published model reaches
each precision target, the expected width of the 95% CI of the calibration slope or of
Harrell's C at most the given value (:func:`simulation.study.plan.plan`; Riley et al.
2022). With ``--n``: how a study of that size performs (bias, coverage, CI width, how
often the slope's CI holds 1; :func:`simulation.study.plan.check_size`). Bad arguments
give a message (the error JSON with ``--json``) and exit status 2.

numpy and the wings are imported inside :func:`run`, so ``hcc-prognosis --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from calculator.cli.errors import report_input_error
from calculator.errors import InputError
from calculator.formatting import number, text_table
from simulation.commands import BUILTIN_SCENARIOS

HELP = "estimate the patients a validation study of the model needs (by simulation)"

#: Target names (kept here so the help needs no numpy; a test checks them against
#: simulation.study.plan.TARGETS).
TARGET_NAMES = "slope-ci-width, c-ci-width"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--target", action="append", metavar="NAME=WIDTH",
                        help=f"precision to reach, NAME one of {TARGET_NAMES}: the expected "
                             "width of the 95%% CI of the calibration slope or of Harrell's "
                             "C (e.g. slope-ci-width=0.3, c-ci-width=0.1); repeatable")
    what.add_argument("--n", type=int, metavar="N",
                      help="instead of searching, judge a study of N patients: bias, "
                           "coverage and CI width of the slope and of Harrell's C against "
                           "their large-sample values, and how often the slope's CI holds 1")
    parser.add_argument("--scenario", default="tog2025",
                        help=f"the population to simulate: a built-in scenario "
                             f"({BUILTIN_SCENARIOS}) or a scenario .toml file (default: "
                             "tog2025, the published model true in the paper's setting)")
    parser.add_argument("--seed", type=int, default=1,
                        help="root seed of the simulated cohorts (default: 1)")
    parser.add_argument("--replicates", type=int, default=1000,
                        help="simulated studies per sample size (default: 1000)")
    parser.add_argument("--start-n", type=int, default=50, metavar="N",
                        help="first sample size tried (default: 50)")
    parser.add_argument("--step", type=int, default=10, metavar="N",
                        help="grid of sample sizes the answer is on (default: 10)")
    parser.add_argument("--max-n", type=int, default=20_000, metavar="N",
                        help="largest sample size tried (default: 20000)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def render_text(record: Mapping[str, Any]) -> str:
    """The plan as readable lines."""
    lines = [f"Sample size for an external validation of the published model, by simulation "
             f"from scenario {record['scenario']} ({record['replicates']} simulated studies "
             f"per size, seed {record['seed']})", ""]
    for answer in record["targets"]:
        if not answer["reached"]:
            lines.append(f"{answer['target']}: not reached up to the largest size tried "
                         f"(sizes tried: {', '.join(map(str, answer['searched']))})")
            continue
        lines.append(
            f"{answer['target']}: n = {answer['n']} patients (Monte Carlo SE about "
            f"{number(answer['n_mcse'], '.0f')}), about {number(answer['deaths'], '.0f')} "
            f"deaths; mean CI width {number(answer['mean_ci_width'], '.3f')} (MCSE "
            f"{number(answer['mean_ci_width_mcse'], '.4f')}), "
            f"{number(answer['width_one_step_below'], '.3f')} at "
            f"n = {answer['n'] - record['grid_step']}")
        lines.append(f"  found by doubling then bisection on a grid of {record['grid_step']}: "
                     f"sizes {', '.join(map(str, answer['searched']))}")
    if record["n"] is not None:
        lines += ["", f"Every target is met with n = {record['n']} patients (about "
                      f"{number(record['deaths'], '.0f')} deaths).", ""]
        rows = []
        for e in record["evaluations"]:
            m = e["measures"]
            rows.append([str(e["n"]), number(e["deaths"], ".0f"),
                         number(m["slope"]["mean_ci_width"], ".3f"),
                         number(m["slope"]["mean_estimate"], ".3f"),
                         number(m["c_harrell"]["mean_ci_width"], ".3f"),
                         number(m["c_harrell"]["mean_estimate"], ".3f")])
        lines += text_table(["n", "deaths", "slope CI width", "mean slope", "C CI width",
                             "mean C"], rows)
    return "\n".join(lines) + "\n"


_MEASURE_LABELS = {"slope": "Calibration slope", "c_harrell": "Harrell's C"}


def render_check(record: Mapping[str, Any]) -> str:
    """``plan --n`` as readable lines."""
    lines = [f"A validation study of {record['n']} patients (about "
             f"{number(record['deaths'], '.0f')} deaths), simulated {record['replicates']} "
             f"times from scenario {record['scenario']} (seed {record['seed']})", ""]
    rows = []
    for name, m in record["measures"].items():
        ref = record["reference"][name]
        rows.append([_MEASURE_LABELS[name], number(ref["value"], ".3f"),
                     number(m["mean"], ".3f"),
                     f"{number(m['bias'], '.4f')} ({number(m['bias_mcse'], '.4f')})",
                     f"{number(m['empse'], '.3f')} / {number(m['modse'], '.3f')}",
                     f"{number(_pct(m['coverage']), '.1f')} "
                     f"({number(_pct(m['coverage_mcse']), '.1f')})",
                     number(m["mean_ci_width"], ".3f")])
    lines += text_table(["measure", "large-sample", "mean", "bias (MCSE)",
                         "empSE / modSE", "coverage % (MCSE)", "mean CI width"], rows)
    slope = record["measures"]["slope"]
    held = round((slope["covers_one"] or 0.0) * slope["estimable"])
    lines += ["", f"The slope's 95% CI holds 1 in {held} of {slope['estimable']} studies "
                  f"({number(_pct(slope['covers_one']), '.1f')}%, MCSE "
                  f"{number(_pct(slope['covers_one_mcse']), '.1f')}).",
              f"Large-sample values from one cohort of "
              f"{record['reference']['slope']['n']} patients."]
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def run(args: argparse.Namespace) -> int:
    # The command list imports every command module: numpy and the wings load here.
    from simulation.cohorts.scenarios import get_scenario
    from simulation.study.plan import check_size, parse_target, plan

    try:
        scenario = get_scenario(args.scenario)
        if args.n is not None:
            record = check_size(scenario, args.n, seed=args.seed, replicates=args.replicates)
            text = render_check(record)
        else:
            targets = [parse_target(t) for t in args.target]
            record = plan(scenario, targets, seed=args.seed, replicates=args.replicates,
                          start_n=args.start_n, step=args.step, max_n=args.max_n,
                          progress=None if args.json else _progress).to_dict()
            text = render_text(record)
    except InputError as err:
        return report_input_error("plan", err, args.json)
    if args.json:
        print(json.dumps(record, indent=2, allow_nan=False))
    else:
        sys.stdout.write(text)
    return 0


def _progress(evaluation: Any) -> None:
    print(f"  n = {evaluation.n}: slope CI width {evaluation.width['slope']:.3f}, "
          f"C CI width {evaluation.width['c_harrell']:.3f}", file=sys.stderr)
