"""``hcc-prognosis replay``: write the cohort of one replicate of a study as CSV.

::

    hcc-prognosis replay --scenario tog2025 --replicate 17 --seed 1 --out rep17.csv
    hcc-prognosis replay --study study.sqlite --scenario tog2025 --replicate 17 > rep17.csv

Replicate r of scenario s under root seed S is drawn from its own random stream
(:mod:`simulation.study.seeds`), so this is exactly the cohort ``simulate`` analysed, whatever
the workers, chunking or resumes of that run. With ``--study`` the seed, the cohort size
and the scenario's definition are read from the study file (so a scenario file that has
changed since cannot mislead). The CSV has the cohort columns of ``hcc-prognosis cohort``
and can be given to ``hcc-prognosis analyze``.
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
        definitions = {name: definition for name, definition, _ in store.scenarios()}
    if args.scenario not in definitions:
        raise _problem("scenario", args.scenario, ", ".join(definitions),
                       f"the study {args.study} has no scenario {args.scenario!r}; it has "
                       f"{', '.join(definitions) or 'none'}")
    for name in ("seed", "n"):
        given = getattr(args, name)
        if given is not None and given != fingerprint.get(name):
            raise _problem(name, given, str(fingerprint.get(name)),
                           f"--{name} {given} differs from the study's {fingerprint.get(name)};"
                           f" leave it out with --study")
    return (scenario_from_dict(definitions[args.scenario]), int(fingerprint["seed"]),
            int(fingerprint["n"]))


def run(args: argparse.Namespace) -> int:
    """Write the replicate's cohort; exit status 0, or 2 for bad arguments."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.cohorts.cohort_io import write_cohort
    from simulation.cohorts.generate import generate_cohort
    from simulation.cohorts.scenarios import get_scenario
    from simulation.study.seeds import check_replicate, replicate_rng

    try:
        check_replicate(args.replicate)
        if args.study:
            scenario, seed, n = _from_study(args)
        else:
            scenario = get_scenario(args.scenario)
            seed = 1 if args.seed is None else args.seed
            n = int(COHORT["n"]) if args.n is None else args.n
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
