"""``hcc-prognosis replay``: write the cohort of one replicate of a study as CSV.

::

    hcc-prognosis replay --scenario tog2025 --replicate 17 --seed 1 --out rep17.csv
    hcc-prognosis replay --study study.sqlite --scenario tog2025 --replicate 17 > rep17.csv
    hcc-prognosis replay --scenario tog2025+n=100+hazard_ratios.pni_low=2 --replicate 3

Replicate r of scenario s under root seed S is drawn from its own random stream
(:mod:`simulation.study.seeds`), so this is exactly the cohort ``simulate`` analysed, whatever
the workers, chunking or resumes of that run. With ``--study`` the seed, the scenario's
cohort size and its definition are read from the study file (so a scenario file that has
changed since cannot mislead). Without it, a point of a design grid is rebuilt from its
name (:func:`simulation.study.grids.point_from_name`), cohort size included. The CSV has
the cohort columns of ``hcc-prognosis cohort`` and can be given to ``hcc-prognosis
analyze``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from calculator.cli.errors import report_input_error
from calculator.errors import InputError
from calculator.published import COHORT

if TYPE_CHECKING:  # pragma: no cover
    from simulation.cohorts.scenarios import Scenario


HELP = "write the cohort of one replicate as CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hcc-prognosis replay``."""
    parser.add_argument("--scenario", required=True, metavar="NAME_OR_TOML",
                        help="built-in scenario or scenario .toml file (with --study: the "
                             "scenario's name in the study)")
    parser.add_argument("--replicate", type=int, required=True, metavar="R",
                        help="replicate number (0 .. replicates-1)")
    parser.add_argument("--seed", type=int, default=None,
                        help="the study's root seed (default: 1, or the study file's)")
    parser.add_argument("--n", type=int, default=None,
                        help=f"patients per cohort (default: {COHORT['n']}, or the study "
                             "file's)")
    parser.add_argument("--study", metavar="FILE",
                        help="take seed, n and the scenario definition from this study file")
    parser.add_argument("--out", metavar="PATH",
                        help="write the CSV here (default: standard output)")


def _problem(field: str, value: object, allowed: str, message: str) -> InputError:
    return InputError(field, value, None, allowed, message)


def _from_study(args: argparse.Namespace) -> tuple[Scenario, int, int]:
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.cohorts.scenarios import scenario_from_dict
    from simulation.study.store import Store

    with Store(args.study, create=False) as store:
        fingerprint = store.fingerprint() or {}
        entries = {entry.name: entry for entry in store.scenario_entries()}
    if args.scenario not in entries:
        names = list(entries)
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        raise _problem("scenario", args.scenario, ", ".join(entries),
                       f"the study {args.study} has no scenario {args.scenario!r}; it has "
                       f"{shown or 'none'}")
    entry = entries[args.scenario]
    for name, recorded in (("seed", fingerprint.get("seed")), ("n", entry.n)):
        given = getattr(args, name)
        if given is not None and given != recorded:
            raise _problem(name, given, str(recorded),
                           f"--{name} {given} differs from the study's {recorded};"
                           f" leave it out with --study")
    return scenario_from_dict(entry.definition), int(fingerprint["seed"]), entry.n


def run(args: argparse.Namespace) -> int:
    """Write the replicate's cohort; exit status 0, or 2 for bad arguments."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.cohorts.cohort_io import write_cohort
    from simulation.cohorts.generate import generate_cohort
    from simulation.cohorts.scenarios import get_scenario
    from simulation.study.grids import SEPARATOR, point_from_name
    from simulation.study.seeds import check_replicate, replicate_rng

    try:
        check_replicate(args.replicate)
        if args.study:
            scenario, seed, n = _from_study(args)
        else:
            seed = 1 if args.seed is None else args.seed
            n = int(COHORT["n"]) if args.n is None else args.n
            if SEPARATOR in args.scenario and not args.scenario.lower().endswith(".toml"):
                point = point_from_name(args.scenario, get_scenario, n)
                if args.n is not None and point.n != args.n:
                    raise _problem("n", args.n, str(point.n),
                                   f"--n {args.n} differs from the n={point.n} of the "
                                   f"scenario's name; leave --n out")
                scenario, n = point.scenario, point.n
            else:
                scenario = get_scenario(args.scenario)
        if n < 1:
            raise _problem("n", n, "a whole number >= 1", f"--n must be >= 1; got {n}")
        cohort = generate_cohort(scenario, n, replicate_rng(seed, scenario.name,
                                                            args.replicate))
    except InputError as error:
        return report_input_error("replay", error)
    if args.out and args.out != "-":
        write_cohort(cohort, args.out)
    else:
        write_cohort(cohort, sys.stdout)
    return 0
