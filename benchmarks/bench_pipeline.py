"""Benchmark: full paper-pipeline replicates per second, fast engine vs lifelines.

One replicate of the pipeline is what ``hcc-prognosis simulate`` does for it, through the
same function (:func:`simulation.study.runner.run_chunk`) and the same writer
(:meth:`simulation.study.store.Store.write_block`): draw its cohort from its own seed (a
block of cohorts at once, :func:`simulation.cohorts.generate.generate_stack`), analyse it
by the four methods (Youden, fixed 47.6, maxstat, continuous PNI: ROC, maxstat's
standardised log-rank scores over its splits, 8 univariable Cox fits, the 4-factor
multivariable model and the selected model of each method) and write its rows to a
study file (SQLite, WAL, one transaction per block). The two paths differ only in the
Cox engine: the batched numpy engine ("fast") or one lifelines fit per model (the
reference). Both run in this process, on one core, in alternating rounds; each side
keeps its fastest round, because other processes on the machine slow both at random.
The goal (issue 13) is a ratio of at least 400.

    python benchmarks/bench_pipeline.py [--n 58] [--fast-replicates 2000]
                                        [--lifelines-replicates 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

# One thread for the linear algebra, set before numpy loads: "one core" means one core.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from simulation.cohorts.scenarios import get_scenario  # noqa: E402 - after the thread limit
from simulation.study.runner import DEFAULT_CHUNK_SIZE, ChunkTask, run_chunk  # noqa: E402
from simulation.study.store import Store, canonical_json  # noqa: E402

GOAL = 400.0


def seconds(scenario: str, n: int, replicates: int, engine: str, chunk_size: int,
            seed: int = 1) -> float:
    """Wall time of generate + analyse + store for ``replicates`` replicates."""
    definition = canonical_json(get_scenario(scenario).to_dict())
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "b.sqlite") as store:
        store.claim({"benchmark": engine})
        # Warm-up block (imports, calibration, caches) outside the timing.
        run_chunk(ChunkTask(definition, seed + 1, n, engine, 0, 2, (0, 1)))
        started = time.perf_counter()
        for start in range(0, replicates, chunk_size):
            stop = min(start + chunk_size, replicates)
            result = run_chunk(ChunkTask(definition, seed, n, engine, start, stop,
                                         tuple(range(start, stop))))
            store.write_block(result.block)
        return time.perf_counter() - started


def main() -> None:
    """Measure both engines in alternating rounds and print the figures and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="tog2025")
    parser.add_argument("--n", type=int, default=58)
    parser.add_argument("--fast-replicates", type=int, default=2000)
    parser.add_argument("--lifelines-replicates", type=int, default=20)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                        help=f"replicates per block of the fast path (default: simulate's, "
                             f"{DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    fast_rates, reference_rates = [], []
    for _ in range(args.rounds):
        fast_rates.append(args.fast_replicates / seconds(
            args.scenario, args.n, args.fast_replicates, "fast", args.chunk_size))
        reference_rates.append(args.lifelines_replicates / seconds(
            args.scenario, args.n, args.lifelines_replicates, "lifelines",
            min(args.chunk_size, 10)))
    fast, reference = max(fast_rates), max(reference_rates)
    ratio = fast / reference
    print(f"full paper pipeline, scenario {args.scenario}, n = {args.n}, one core, "
          f"best of {args.rounds} alternating rounds")
    print(f"  fast engine      : {fast:9.1f} replicates/s ({args.fast_replicates} replicates, "
          f"blocks of {args.chunk_size}; rounds: "
          f"{', '.join(f'{r:.0f}' for r in fast_rates)})")
    print(f"  lifelines engine : {reference:9.2f} replicates/s "
          f"({args.lifelines_replicates} replicates; rounds: "
          f"{', '.join(f'{r:.2f}' for r in reference_rates)})")
    print(f"  ratio fast / lifelines: {ratio:.0f}x (goal >= {GOAL:.0f}x: "
          f"{'met' if ratio >= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
