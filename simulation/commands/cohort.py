"""``hcc-prognosis cohort``: write a synthetic cohort like the paper's, or describe it.

::

    hcc-prognosis cohort --scenario tog2025 --n 58 --seed 1 --out cohort.csv
    hcc-prognosis cohort --scenario tog2025 --n 100000 --seed 1 --describe --json
    hcc-prognosis cohort --scenario my-scenario.toml --n 58 --seed 3 > cohort.csv

Without ``--out`` and ``--describe`` the CSV goes to standard output. The cohort is
``generate_cohort(scenario, n, numpy.random.default_rng(seed))``, so the same scenario,
size and seed give the same file.

**Two seed rules, on purpose.** ``cohort --seed S`` seeds one generator directly, as a
user drawing one cohort expects. The replicates of a study draw from streams spawned from
the root seed (:mod:`simulation.study.seeds`), so ``cohort --seed S`` is *not* replicate 0
of ``simulate --seed S``; ``hcc-prognosis replay --seed S --replicate R`` rebuilds that
one. Bad arguments print a message (or,
with ``--json``, the error JSON) on standard error and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from calculator.cli.errors import USAGE_EXIT_STATUS, report_input_error
from calculator.errors import InputError
from calculator.published import COHORT
from simulation.commands import BUILTIN_SCENARIOS

#: Largest cohort the command writes (about 2 GB of CSV at most).
MAX_N = 10_000_000


HELP = "write a synthetic cohort like the paper's"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hcc-prognosis cohort`` (no heavy imports here)."""
    parser.add_argument("--scenario", default="tog2025",
                        help=f"built-in scenario ({BUILTIN_SCENARIOS}) or a scenario .toml file "
                             "(default: tog2025)")
    parser.add_argument("--n", type=int, default=int(COHORT["n"]),
                        help=f"number of patients (default: {COHORT['n']}, as in the study)")
    parser.add_argument("--seed", type=int, default=1,
                        help="the cohort is drawn from numpy.random.default_rng(SEED): the "
                             "same seed gives the same cohort (default: 1). This is not a "
                             "simulation replicate's stream: replicate R of a study with "
                             "--seed S comes from 'hcc-prognosis replay --seed S "
                             "--replicate R'")
    parser.add_argument("--out", metavar="PATH",
                        help="write the cohort CSV here ('-' for standard output; the default "
                             "unless --describe is given)")
    parser.add_argument("--describe", action="store_true",
                        help="print the Table 1 marginals and outcome summaries (death "
                             "fraction, medians of OS and PFS, median follow-up by reverse "
                             "Kaplan-Meier) beside the published figures")
    parser.add_argument("--json", action="store_true",
                        help="with --describe: print JSON instead of a table")


def _usage_error(field: str, value: Any, allowed: str, message: str,
                 hint: str | None = None) -> InputError:
    return InputError(field, value, None, allowed, message, hint)


def _check(args: argparse.Namespace) -> None:
    """Raise InputError for argument combinations argparse cannot check."""
    if not 1 <= args.n <= MAX_N:
        raise _usage_error("n", args.n, f"1 to {MAX_N:,}",
                           f"--n must be between 1 and {MAX_N:,}; got {args.n}")
    if args.seed < 0:
        raise _usage_error("seed", args.seed, "a whole number >= 0",
                           f"--seed must be a whole number >= 0; got {args.seed}")
    if args.json and not args.describe:
        raise _usage_error("json", True, "with --describe",
                           "--json only applies to --describe",
                           "add --describe, or leave out --json to write the CSV")
    if args.describe and args.out == "-":
        raise _usage_error("out", "-", "a file path with --describe",
                           "--describe prints to standard output, so --out - would mix the "
                           "CSV with the description", "give --out a file path")


def _report(error: InputError, as_json: bool) -> int:
    if not as_json:
        return report_input_error("cohort", error)
    print(json.dumps(error.to_json()), file=sys.stderr)
    return USAGE_EXIT_STATUS


def run(args: argparse.Namespace) -> int:
    """Generate the cohort, write it and/or describe it. Returns the exit status."""
    try:
        _check(args)
        # Deferred: the command list loads every command module, so numpy waits for run.
        import numpy as np

        # Deferred: the command list loads every command module, so numpy waits for run.
        from simulation.cohorts.calibrate import calibrate
        from simulation.cohorts.generate import COHORT_COLUMNS, generate_cohort
        from simulation.cohorts.scenarios import get_scenario, truth

        scenario = get_scenario(args.scenario)
        calibration = calibrate(scenario)
    except InputError as error:
        return _report(error, args.json)

    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.cohorts.cohort_io import write_cohort

    full = generate_cohort(scenario, args.n, np.random.default_rng(args.seed), extra=True)
    cohort = {name: full[name] for name in COHORT_COLUMNS}
    if args.out is not None and args.out != "-":
        try:
            write_cohort(cohort, args.out)
        except OSError as exc:
            return _report(_usage_error("out", args.out, "a writable file path",
                                        f"cannot write {args.out!r}: {exc.strerror or exc}",
                                        "check that the folder exists"), args.json)
    elif not args.describe:
        write_cohort(cohort, sys.stdout)
    if args.describe:
        # Deferred: the command list loads every command module, so numpy waits for run.
        from simulation.cohorts.describe import describe_cohort, format_description

        description = describe_cohort(full)
        if args.json:
            description = {"scenario": scenario.name, "seed": args.seed, **description,
                           "targets": scenario.targets.to_dict(),
                           "calibration": calibration.to_dict(),
                           "truth": truth(scenario), "scenario_definition": scenario.to_dict()}
            print(json.dumps(description, indent=2))
        else:
            print(f"scenario {scenario.name}, n = {args.n}, seed {args.seed}")
            print(format_description(description))
    return 0
