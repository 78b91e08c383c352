"""Benchmark: the batched Cox engine (simulation.stats.cox.cox_fit) against lifelines.

Run from the repository root::

    python benchmarks/bench_cox.py            # about 2-4 minutes
    python benchmarks/bench_cox.py --quick    # smaller sizes, about a minute

    # another version of the engine timed side by side with this one, e.g. before a change:
    git show main:simulation/stats/cox.py > /tmp/cox_baseline.py
    python benchmarks/bench_cox.py --baseline /tmp/cox_baseline.py --sections 1,2

Everything runs on one thread (OMP/OPENBLAS/MKL threads set to 1 before numpy is
imported), and every speed is printed next to lifelines measured in the same run, as a
ratio, so the figures do not depend on how fast the machine is. What is printed:

1. Cox fits per second at n = 58, p = 3 (the paper's cohort size and three binary
   factors, times rounded to 0.1 month so ties are common): fast engine against
   ``lifelines.CoxPHFitter().fit`` with default options on ready-made DataFrames (the
   quickest way to use lifelines) and against ``cox_fit_lifelines`` (tight tolerances,
   the reference engine of the simulation). With ``--baseline PATH`` the ``cox_fit`` of
   the module file at PATH (another version of ``simulation/stats/cox.py``) is timed in
   the same rounds, its results checked against this version's, and both ratios printed.
2. Time per fit as n grows from 58 to 5,000 (and the baseline's, if given).
3. Time per fit as the stack grows from 10^2 to 10^5 cohorts (chunked).
4. Peak memory of 10^5 cohorts with the default chunking, and of 10^4 cohorts in one
   chunk (bytes per row), each in a fresh process.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from simulation.stats.cox import cox_fit  # noqa: E402
from simulation.stats.reference import cox_fit_lifelines  # noqa: E402

#: Log hazard ratios of the three simulated binary factors (AFP >= 200, extrahepatic
#: spread, PNI < 47.6), of the order of the paper's Table 4; the benchmark only needs
#: realistic effects, not the published values.
LOG_HR = np.log([2.0, 2.4, 4.2])


def paper_like_stack(cohorts: int, n: int, seed: int = 1
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cohorts`` cohorts of ``n`` patients with three binary factors.

    Exponential survival with those log-HRs (median about 6 months in the reference
    group), uniform censoring over 5-40 months, times rounded to 0.1 month.
    """
    rng = np.random.default_rng(seed)
    X = (rng.random((cohorts, n, 3)) < [0.4, 0.5, 0.5]).astype(float)
    death = rng.exponential(8.0, (cohorts, n)) * np.exp(-(X @ LOG_HR))
    censor = rng.uniform(5.0, 40.0, (cohorts, n))
    time_ = np.maximum(np.round(np.minimum(death, censor), 1), 0.1)
    return time_, death <= censor, X


def best_of(function, repeats: int = 3) -> float:
    """Fastest of ``repeats`` wall-clock runs, in seconds (least disturbed by others)."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def lifelines_frames(time_, event, X, fits: int) -> list:
    """Ready-made DataFrames for ``fits`` cohorts, as a lifelines user would hold them."""
    import pandas as pd

    frames = []
    for b in range(fits):
        frame = pd.DataFrame(X[b], columns=[f"x{k}" for k in range(X.shape[2])])
        frame["time"] = time_[b]
        frame["event"] = event[b].astype(int)
        frames.append(frame)
    return frames


def lifelines_default_run(frames: list) -> None:
    """Plain ``CoxPHFitter().fit`` with default options, one frame after another."""
    from lifelines import CoxPHFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for frame in frames:
            CoxPHFitter().fit(frame, "time", "event")


def lifelines_default_seconds_per_fit(time_, event, X, fits: int) -> float:
    frames = lifelines_frames(time_, event, X, fits)
    lifelines_default_run(frames[:1])                       # imports and caches
    return best_of(lambda: lifelines_default_run(frames), repeats=2) / fits


def load_baseline(path: str) -> Callable:
    """``cox_fit`` of the module file at ``path``: another version of the engine."""
    spec = importlib.util.spec_from_file_location("cox_baseline", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline: cannot load a module from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cox_fit


def largest_difference(fit, other) -> str:
    """Largest relative difference of coef and se, and whether the flags agree."""
    worst = 0.0
    for name in ("coef", "se", "loglik"):
        a, b = getattr(fit, name), getattr(other, name)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return "NaN patterns differ"
        both = ~np.isnan(a)
        scale = np.maximum(np.abs(a[both]), 1e-300)
        worst = max(worst, float((np.abs(a[both] - b[both]) / scale).max(initial=0.0)))
    flags = all(np.array_equal(getattr(fit, name), getattr(other, name))
                for name in ("converged", "separated", "n_iter"))
    return f"largest relative difference {worst:.1e}, flags {'equal' if flags else 'DIFFER'}"


def section_fits_per_second(quick: bool, baseline: Callable | None = None,
                            rounds: int | None = None) -> dict:
    """Fast engine, baseline and lifelines timed in alternation; the best round counts.

    Other processes on the machine slow every side at random; alternating them (the
    fast engine and the baseline in turn going first) and keeping each side's fastest
    round makes the ratios fair ones.
    """
    n, p = 58, 3
    cohorts = 5_000 if quick else 20_000
    fits = 30 if quick else 60
    rounds = rounds or (3 if quick else 5)
    time_, event, X = paper_like_stack(cohorts, n)
    frames = lifelines_frames(time_, event, X, fits)
    engines = {"fast": cox_fit} | ({"baseline": baseline} if baseline else {})
    for engine in engines.values():
        engine(time_[:100], event[:100], X[:100])                   # warm-up
    lifelines_default_run(frames[:1])
    best = {name: np.inf for name in engines}
    default, reference = np.inf, np.inf
    for round_ in range(rounds):
        order = list(engines) if round_ % 2 == 0 else list(engines)[::-1]
        for name in order:
            engine = engines[name]
            best[name] = min(best[name], best_of(lambda: engine(time_, event, X),
                                                 repeats=1) / cohorts)
        default = min(default, best_of(lambda: lifelines_default_run(frames), repeats=1) / fits)
        reference = min(reference, best_of(lambda: cox_fit_lifelines(
            time_[:fits], event[:fits], X[:fits]), repeats=1) / fits)
    fast = best["fast"]
    fit = cox_fit(time_, event, X)
    print(f"1. Cox fits/s at n = {n}, p = {p} ({cohorts} cohorts; one thread; best of "
          f"{rounds} alternating rounds)")
    print(f"   fast engine                 {1 / fast:10.0f} fits/s  ({fast * 1e6:7.1f} us/fit, "
          f"{fit.n_iter.mean():.1f} iterations on average, "
          f"{(~fit.finite).mean():.2%} flagged)")
    if baseline:
        base = best["baseline"]
        print(f"   baseline engine             {1 / base:10.0f} fits/s  ({base * 1e6:7.1f} us/fit;"
              f" fast / baseline time {fast / base:.3f}; "
              f"{largest_difference(fit, baseline(time_, event, X))})")
    print(f"   lifelines, default options  {1 / default:10.1f} fits/s  "
          f"({default * 1e3:7.2f} ms/fit)   ratio {default / fast:7.0f}x"
          + (f"  (baseline {default / best['baseline']:.0f}x)" if baseline else ""))
    print(f"   cox_fit_lifelines (tight)   {1 / reference:10.1f} fits/s  "
          f"({reference * 1e3:7.2f} ms/fit)   ratio {reference / fast:7.0f}x"
          + (f"  (baseline {reference / best['baseline']:.0f}x)" if baseline else ""))
    figures = {"fast_us": fast * 1e6, "lifelines_default_ms": default * 1e3,
               "lifelines_reference_ms": reference * 1e3,
               "ratio_default": default / fast, "ratio_reference": reference / fast}
    if baseline:
        figures |= {"baseline_us": best["baseline"] * 1e6,
                    "baseline_ratio_default": default / best["baseline"],
                    "baseline_ratio_reference": reference / best["baseline"]}
    return figures


def section_growth_with_n(quick: bool, baseline: Callable | None = None) -> None:
    sizes = [58, 200, 1000, 5000] if quick else [58, 200, 500, 1000, 2000, 5000]
    print("\n2. Time per fit as n grows (p = 3, stacks of about 2 x 10^5 rows)")
    print("        n   cohorts   us/fit   ns/row   lifelines ms/fit   ratio"
          + ("   baseline us/fit   ratio" if baseline else ""))
    for n in sizes:
        cohorts = max(20, 200_000 // n // (4 if quick else 1))
        time_, event, X = paper_like_stack(cohorts, n, seed=n)
        seconds = best_of(lambda: cox_fit(time_, event, X)) / cohorts
        default = lifelines_default_seconds_per_fit(time_, event, X, 3 if n >= 2000 else 10)
        line = (f"   {n:6d}   {cohorts:7d}   {seconds * 1e6:7.1f}   {seconds / n * 1e9:6.0f}"
                f"   {default * 1e3:16.2f}   {default / seconds:5.0f}x")
        if baseline:
            base = best_of(lambda: baseline(time_, event, X)) / cohorts
            line += f"   {base * 1e6:15.1f}   {default / base:5.0f}x"
        print(line)


def section_growth_with_stack(quick: bool) -> None:
    sizes = [100, 1_000, 10_000] + ([] if quick else [100_000])
    print("\n3. Time per fit as the stack grows (n = 58, p = 3, default chunking)")
    print("    cohorts   seconds   us/fit")
    for cohorts in sizes:
        time_, event, X = paper_like_stack(cohorts, 58, seed=cohorts)
        seconds = best_of(lambda: cox_fit(time_, event, X), repeats=1 if cohorts >= 10**5 else 3)
        print(f"   {cohorts:8d}   {seconds:7.2f}   {seconds / cohorts * 1e6:6.1f}")
    print("\n   chunk size at 20,000 cohorts:")
    time_, event, X = paper_like_stack(20_000, 58, seed=7)
    for chunk in (250, 1_000, 2_000, 5_000, 20_000):    # default: 1,129 at n = 58
        seconds = best_of(lambda: cox_fit(time_, event, X, chunk_size=chunk), repeats=2)
        print(f"   chunk_size {chunk:6d}: {seconds / 20_000 * 1e6:6.1f} us/fit")


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_memory_child(cohorts: int, chunk: str) -> None:
    """Run in a fresh process: fit a stack, print memory figures as JSON.

    ``chunk`` is "default" (``cox_fit``'s own chunking) or "one" (one chunk). VmHWM is
    the peak resident memory of this process; tracemalloc sees numpy's allocations
    during the fit alone.
    """
    import tracemalloc

    time_, event, X = paper_like_stack(cohorts, 58)
    before = _status_mib("VmRSS")
    tracemalloc.start()
    cox_fit(time_, event, X, **({} if chunk == "default" else {"chunk_size": cohorts}))
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs = time_.nbytes + event.nbytes + X.nbytes
    print(json.dumps({"peak_mib": _status_mib("VmHWM"), "before_mib": before,
                      "traced_peak_mib": traced / 2**20, "inputs_mib": inputs / 2**20}))


def section_memory(quick: bool) -> None:
    big = 10_000 if quick else 100_000
    print("\n4. Peak memory, n = 58, p = 3 (a fresh process each)")
    for cohorts, chunk in ((big, "default"), (10_000, "one")):
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(cohorts), chunk],
                             capture_output=True, text=True, check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        label = "default chunks" if chunk == "default" else "one chunk"
        per_row = figures["traced_peak_mib"] * 2**20 / (cohorts * 58)
        print(f"   {cohorts:7d} cohorts, {label:14s}: peak RSS {figures['peak_mib']:6.0f} MiB "
              f"(inputs {figures['inputs_mib']:4.0f} MiB; {figures['before_mib']:4.0f} MiB "
              f"before the fit; numpy allocations during the fit peak at "
              f"{figures['traced_peak_mib']:5.0f} MiB"
              + (f", {per_row:.0f} bytes per row)" if chunk == "one" else ")"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--baseline", metavar="PATH",
                        help="a module file with another version of cox_fit (e.g. "
                             "simulation/stats/cox.py of another commit), timed side by "
                             "side with this one in sections 1 and 2")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="alternating rounds in section 1 (default 5, --quick 3)")
    parser.add_argument("--sections", default="1,2,3,4", metavar="LIST",
                        help="comma-separated sections to run (default: 1,2,3,4)")
    parser.add_argument("--memory-child", nargs=2, metavar=("COHORTS", "CHUNK"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        cohorts, chunk = args.memory_child
        peak_memory_child(int(cohorts), chunk)
        return
    baseline = load_baseline(args.baseline) if args.baseline else None
    sections = {part.strip() for part in args.sections.split(",")}
    if "1" in sections:
        section_fits_per_second(args.quick, baseline, args.rounds)
    if "2" in sections:
        section_growth_with_n(args.quick, baseline)
    if "3" in sections:
        section_growth_with_stack(args.quick)
    if "4" in sections:
        section_memory(args.quick)


if __name__ == "__main__":
    main()
