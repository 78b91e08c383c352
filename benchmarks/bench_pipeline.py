"""Benchmark: full paper-pipeline replicates per second, fast engine vs lifelines.

One replicate of the pipeline is what ``hcc-prognosis simulate`` does for it: generate a
cohort from its seed, analyse it by the four methods (Youden, fixed 47.6, maxstat,
continuous PNI: ROC, maxstat's rank statistics, 8 univariable Cox fits, the 4-factor multivariable
model and the selected model of each method) and write its rows to the study file. Both
engines run the same code in the same process on one core, one after the other, so the
printed ratio compares like with like on this machine at this moment. The goal
(issue 6) is a ratio of at least 100.

    python benchmarks/bench_pipeline.py [--n 58] [--fast-replicates 1000]
                                        [--lifelines-replicates 20] [--scenario tog2025]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from simulation.cohorts.scenarios import get_scenario
from simulation.study.runner import ChunkTask, run_chunk
from simulation.study.store import Store, canonical_json

GOAL = 100.0


def replicates_per_second(scenario: str, n: int, replicates: int, engine: str,
                          chunk_size: int, seed: int = 1) -> float:
    """Replicates/s of generate + analyse + store, in this process."""
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
            for record in result.records:
                store.write_replicate(record)
        elapsed = time.perf_counter() - started
    return replicates / elapsed


def main() -> None:
    """Measure both engines and print the figures and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="tog2025")
    parser.add_argument("--n", type=int, default=58)
    parser.add_argument("--fast-replicates", type=int, default=1000)
    parser.add_argument("--lifelines-replicates", type=int, default=20)
    parser.add_argument("--chunk-size", type=int, default=100)
    args = parser.parse_args()

    fast = replicates_per_second(args.scenario, args.n, args.fast_replicates, "fast",
                                 args.chunk_size)
    reference = replicates_per_second(args.scenario, args.n, args.lifelines_replicates,
                                      "lifelines", min(args.chunk_size, 10))
    ratio = fast / reference
    print(f"full paper pipeline, scenario {args.scenario}, n = {args.n}, one core")
    print(f"  fast engine      : {fast:9.1f} replicates/s ({args.fast_replicates} replicates)")
    print(f"  lifelines engine : {reference:9.2f} replicates/s "
          f"({args.lifelines_replicates} replicates)")
    print(f"  ratio fast / lifelines: {ratio:.0f}x (goal >= {GOAL:.0f}x: "
          f"{'met' if ratio >= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
