"""``hcc-prognosis simulate``: run a simulation study into a SQLite file (resumable).

::

    hcc-prognosis simulate --scenario tog2025 --replicates 2000 --seed 1 --out study.sqlite
    hcc-prognosis simulate --scenario tog2025 --scenario tog2025-null ... --out study.sqlite
    hcc-prognosis simulate --scenario my-scenario.toml --replicates 500 --out mine.sqlite
    hcc-prognosis simulate ... --dask local:4            # a Dask LocalCluster
    hcc-prognosis simulate ... --dask tcp://10.0.0.5:8786  # an existing Dask scheduler
    hcc-prognosis simulate --scenario tog2025 --grid n=58,100,200 \
        --grid hazard_ratios.pni_low=1,2 ...                # a design grid
    hcc-prognosis simulate ... --replicates 500 --target-mcse coverage=0.005 \
        --max-replicates 20000                             # stop at a target precision

Re-running the same command resumes: replicates already in the file are kept and only the
missing ones run. More replicates, another scenario or more grid points can be added to
the same study later. Another seed, engine or package version on the same file, or a
scenario of the same name with another definition or cohort size, is refused with a
message saying what differs. Ctrl-C stops cleanly (exit status 130) and keeps every
replicate written. Bad arguments: a message on stderr and exit status 2.

A design grid (:mod:`simulation.study.grids`) makes one scenario per combination of the
values given, named after them (``tog2025+n=100+hazard_ratios.pni_low=2``). With
``--target-mcse`` (:mod:`simulation.study.stopping`) ``--replicates`` is the first round.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from typing import TYPE_CHECKING

from calculator.cli.errors import report_error, report_input_error
from calculator.errors import InputError
from calculator.published import COHORT
from simulation.commands import BUILTIN_SCENARIOS, add_engine_option

if TYPE_CHECKING:  # pragma: no cover
    from simulation.study.runner import RunOutcome
    from simulation.study.stopping import StoppingRule

HELP = "run a simulation study (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hcc-prognosis simulate`` (no heavy imports here)."""
    parser.add_argument("--scenario", action="append", required=True, metavar="NAME_OR_TOML",
                        help=f"built-in scenario ({BUILTIN_SCENARIOS}) or a scenario .toml file; "
                             "repeat to run several into the same study")
    parser.add_argument("--replicates", type=int, required=True, metavar="R",
                        help="replicates per scenario (numbered 0 .. R-1)")
    parser.add_argument("--seed", type=int, default=1,
                        help="root seed; replicate r of scenario s always draws the same "
                             "cohort for the same seed (default: 1)")
    parser.add_argument("--n", type=int, default=None,
                        help=f"patients per cohort (default: {COHORT['n']}, as in the study; "
                             "to vary it, --grid n=...)")
    parser.add_argument("--grid", action="append", metavar="KEY=V1,V2,...", default=[],
                        help="a design grid: run every combination of the values given, for "
                             "every --scenario, as scenarios of this study named after their "
                             "values; KEY is n or a field of the scenario file "
                             "(hazard_ratios.pni_low, log_hazard_ratios.afp, pni_cutoff, "
                             "targets.death_fraction, weibull_shape, ...); repeatable")
    parser.add_argument("--target-mcse", action="append", metavar="MEASURE=VALUE", default=[],
                        help="add replicates in rounds until the Monte Carlo SE of MEASURE "
                             "is at most VALUE for every scenario, method and estimand "
                             "(MEASURE: bias, empse, mse, modse, relerr_modse, coverage, "
                             "rejection, cutoff_mean, cutoff_sd, cutoff_q025, cutoff_median, "
                             "cutoff_q975, cutoff_within_2, cutoff_at_boundary, "
                             "cutoff_small_group; ESTIMAND.MEASURE for one estimand); "
                             "--replicates is then the first round; repeatable")
    parser.add_argument("--max-replicates", type=int, default=None, metavar="N",
                        help="with --target-mcse: at most N replicates per scenario "
                             "(default: 10,000)")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="the study's SQLite file (created, or resumed if it holds this "
                             "study)")
    add_engine_option(parser)
    parser.add_argument("--workers", type=int, default=None,
                        help=f"worker processes (default: all cores, here {os.cpu_count()}); "
                             "1 runs in this process")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run on Dask instead of the local pool: local:N for a "
                             "LocalCluster of N workers, or a scheduler address such as "
                             "tcp://10.0.0.5:8786")
    parser.add_argument("--chunk-size", type=int, default=None, metavar="C",
                        help="replicates analysed together per task (default: the study "
                             "file's, or 500 for a new study; fewer for large cohorts, at "
                             "most 29,000 patients a task)")
    parser.add_argument("--reference-n", type=int, default=None, metavar="N",
                        help="patients in the one large cohort per scenario that gives the "
                             "large-sample reference values (default: the study file's, "
                             "or 500,000)")
    parser.add_argument("--journal", choices=("wal", "delete"), default="wal",
                        help="SQLite journal of a new file: 'wal' (default) or 'delete' "
                             "(for network file systems)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar")


def _recorded_settings(path: str) -> dict:
    """The fingerprint of an existing study file, or {} (no file, or not a study)."""
    # Deferred: the command list loads every command module, so numpy waits for run.
    from simulation.study.store import Store, StudyFileError

    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return {}
    try:
        with Store(path, create=False) as store:
            return store.fingerprint() or {}
    except StudyFileError:
        return {}


def run(args: argparse.Namespace) -> int:
    """Run or resume the study; exit status 0, 2 (bad input or an unusable file), 130
    (Ctrl-C) or 143 (SIGTERM); work finished before a stop is kept."""
    # The command list imports every command module: numpy and the wings load here.
    from simulation.cohorts.calibrate import calibrate
    from simulation.cohorts.scenarios import get_scenario
    from simulation.stats.engines import DEFAULT_ENGINE
    from simulation.study.grids import expand, parse_grid
    from simulation.study.runner import DEFAULT_CHUNK_SIZE, StudyConfig, WorkerLost, run_study
    from simulation.study.stopping import DEFAULT_MAX_REPLICATES, StoppingRule, parse_target
    from simulation.study.truth import REFERENCE_N

    try:
        axes = parse_grid(args.grid)
        if args.n is not None and any(axis.key == "n" for axis in axes):
            raise InputError("n", args.n, None, "--n or --grid n=..., not both",
                             "--n and --grid n=... both give the cohort size; keep one")
        rule = None
        if args.target_mcse:
            rule = StoppingRule(tuple(parse_target(t) for t in args.target_mcse),
                                DEFAULT_MAX_REPLICATES if args.max_replicates is None
                                else args.max_replicates)
        elif args.max_replicates is not None:
            raise InputError("max_replicates", args.max_replicates, None,
                             "with --target-mcse", "--max-replicates caps a stopping rule: "
                             "give it with --target-mcse")
        n = int(COHORT["n"]) if args.n is None else args.n
        points = expand([get_scenario(name) for name in args.scenario], axes, n)
        for point in points:
            calibrate(point.scenario)  # an unreachable target is refused before any run
        recorded = _recorded_settings(args.out)
        config = StudyConfig(
            scenarios=points, replicates=args.replicates, seed=args.seed, n=n,
            engine=(args.engine if args.engine is not None
                    else str(recorded.get("engine", DEFAULT_ENGINE.name))),
            chunk_size=(args.chunk_size if args.chunk_size is not None
                        else int(recorded.get("chunk_size", DEFAULT_CHUNK_SIZE))),
            reference_n=(args.reference_n if args.reference_n is not None
                         else int(recorded.get("reference_n", REFERENCE_N))))
        if args.dask:
            # Deferred: the command list loads every command module, so numpy waits for run.
            from simulation.study.runner import parse_dask

            parse_dask(args.dask)
        outcome = run_study(config, args.out, workers=args.workers, dask=args.dask,
                            progress=not args.no_progress, journal=args.journal,
                            command=["hcc-prognosis", "simulate"] + sys.argv[2:], rule=rule)
    except InputError as error:
        return report_input_error("simulate", error)
    except WorkerLost as lost:
        report_error("simulate", str(lost), "run the same command again to resume")
        return 1
    total = outcome.already + outcome.written
    wanted = args.replicates * len(points)
    if rule is not None:
        total, wanted = sum(outcome.counts.values()), None
    if outcome.interrupted:
        terminated = outcome.signum == signal.SIGTERM
        how = "stopped by SIGTERM" if terminated else "interrupted"
        of = "" if wanted is None else f" of {wanted}"
        print(f"{how}: {outcome.written} replicates written in this run, "
              f"{outcome.already + outcome.written}{of} in {args.out}; run the same command "
              "again to resume", file=sys.stderr)
        return 143 if terminated else 130
    failed = f" ({outcome.failed} failed, see the ledger)" if outcome.failed else ""
    of = "" if wanted is None else f" of {wanted}"
    print(f"{outcome.written} replicates written in {outcome.elapsed_s:.1f} s{failed}; "
          f"{total}{of} in {args.out}. Next: hcc-prognosis summarize {args.out}",
          file=sys.stderr)
    if rule is not None:
        print(stopping_lines(rule, outcome), file=sys.stderr)
    return 0


def stopping_lines(rule: StoppingRule, outcome: RunOutcome) -> str:
    """Where each scenario ended against the stopping rule, for the closing message."""
    status = outcome.status
    met = [s for s in status.values() if s.met]
    capped = [s for s in status.values() if s.capped]
    lines = [f"Stopping rule: {rule.describe()}.",
             f"After {outcome.rounds} round(s): {len(met)} of {len(status)} scenario(s) met "
             "it" + (f", {len(capped)} stopped by the cap" if capped else "")]
    for s in capped[:10]:
        worst = max(s.shortfalls,
                    key=lambda f: math.inf if f.mcse is None else f.mcse / f.target.value)
        lines.append(f"  {s.scenario}: {s.replicates:,} replicates; {worst.describe()}")
    return "\n".join(lines)
