"""``hcc-prognosis simulate``: run a simulation study into a SQLite file (resumable).

::

    hcc-prognosis simulate --scenario tog2025 --replicates 2000 --seed 1 --out study.sqlite
    hcc-prognosis simulate --scenario tog2025 --scenario tog2025-null ... --out study.sqlite
    hcc-prognosis simulate --scenario my-scenario.toml --replicates 500 --out mine.sqlite
    hcc-prognosis simulate ... --dask local:4            # a Dask LocalCluster
    hcc-prognosis simulate ... --dask tcp://10.0.0.5:8786  # an existing Dask scheduler

Re-running the same command resumes: replicates already in the file are kept and only the
missing ones run. More replicates, or another scenario, can be added to the same study
later. Another seed, cohort size, engine or package version on the same file is refused
with a message saying what differs. Ctrl-C stops cleanly (exit status 130) and keeps every
replicate written. Bad arguments: a message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from calculator.cli.errors import report_error, report_input_error
from calculator.errors import InputError
from calculator.published import COHORT
from simulation.commands import BUILTIN_SCENARIOS, add_engine_option

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
    parser.add_argument("--n", type=int, default=int(COHORT["n"]),
                        help=f"patients per cohort (default: {COHORT['n']}, as in the study)")
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
                             "file's, or 100 for a new study)")
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
    from simulation.cohorts.scenarios import get_scenario
    from simulation.stats.engines import DEFAULT_ENGINE
    from simulation.study.runner import DEFAULT_CHUNK_SIZE, StudyConfig, WorkerLost, run_study
    from simulation.study.truth import REFERENCE_N

    try:
        scenarios = tuple(get_scenario(name) for name in args.scenario)
        recorded = _recorded_settings(args.out)
        config = StudyConfig(
            scenarios=scenarios, replicates=args.replicates, seed=args.seed, n=args.n,
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
                            command=["hcc-prognosis", "simulate"] + sys.argv[2:])
    except InputError as error:
        return report_input_error("simulate", error)
    except WorkerLost as lost:
        report_error("simulate", str(lost), "run the same command again to resume")
        return 1
    total = outcome.already + outcome.written
    wanted = args.replicates * len(scenarios)
    if outcome.interrupted:
        terminated = outcome.signum == signal.SIGTERM
        how = "stopped by SIGTERM" if terminated else "interrupted"
        print(f"{how}: {outcome.written} replicates written in this run, {total} of "
              f"{wanted} in {args.out}; run the same command again to resume",
              file=sys.stderr)
        return 143 if terminated else 130
    failed = f" ({outcome.failed} failed, see the ledger)" if outcome.failed else ""
    print(f"{outcome.written} replicates written in {outcome.elapsed_s:.1f} s{failed}; "
          f"{total} of {wanted} in {args.out}. Next: hcc-prognosis summarize {args.out}",
          file=sys.stderr)
    return 0
