"""Running a simulation study: chunks of replicates on a process pool or a Dask cluster.

The scenarios of a study are its points (:class:`~simulation.study.grids.StudyScenario`:
a generating model and a cohort size; a design grid makes many,
:mod:`simulation.study.grids`). The replicates of each are cut into fixed blocks of
``C`` (``[k C, (k + 1) C)``; :meth:`StudyConfig.block_size`: ``chunk_size``, or fewer
for large cohorts so that a block holds at most :data:`BLOCK_PATIENTS` patients). A
block is the unit of work: its cohorts are drawn
together (each from its own seed, :mod:`simulation.study.seeds`;
:func:`simulation.cohorts.generate.generate_stack`) and analysed together by every method
(:func:`simulation.paper.methods.analyze_stack`), so the fast engine fits a whole block per
call. Blocks are always complete, whatever the replicate count, and only the main process
writes to the study file, one transaction per block (:mod:`simulation.study.store`). So a
replicate's results do not depend on the worker count, the order in which blocks finish,
the executor (process pool, Dask, or none), the replicate count asked for, or on a resume
after an interruption; a resumed block is recomputed whole and only its missing
replicates are written.

Each scenario can have its own replicate count (``targets``), which is how
:func:`run_study` adds replicates in rounds until a precision rule is met
(:mod:`simulation.study.stopping`): the file then equals, table for table, a run asked
for those counts from the start.

Executors:

- ``workers = 1``: in this process;
- ``workers > 1``: local worker processes (forkserver start method where available),
  each fed through its own pipe (:func:`_pool_results`); Ctrl-C or SIGTERM stops them
  and keeps every replicate already written, and a worker killed from outside stops the
  run with an error instead of hanging it;
- ``dask = "local:N"``: a Dask ``LocalCluster`` of N single-threaded worker processes;
  ``dask = "tcp://host:port"``: an existing Dask scheduler (see the README for starting
  one on several machines). Workers must run the same ``hcc-prognosis`` version: each
  block's result carries the worker's version and a mismatch stops the run.

A progress bar (tqdm, on stderr) shows replicates written and the time left.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from calculator import __version__
from calculator.errors import InputError
from simulation.cohorts.generate import generate_stack
from simulation.cohorts.scenarios import Scenario, scenario_from_dict
from simulation.paper.cutoffs import MAXSTAT_MAX_SHARE, MAXSTAT_MIN_SHARE
from simulation.paper.methods import (
    METHODS,
    METHODS_VERSION,
    StackAnalysis,
    analyze_stack,
    estimands_of,
)
from simulation.stats.engines import DEFAULT_ENGINE, get_engine
from simulation.study.grids import MIN_N, StudyScenario
from simulation.study.measures import summary_rows
from simulation.study.seeds import check_seed, replicate_rng
from simulation.study.stopping import ScenarioStatus, StoppingRule, evaluate, next_count
from simulation.study.store import (
    ResultBlock,
    Store,
    StudyFileError,
    canonical_json,
)
from simulation.study.truth import REFERENCE_N, needs_reference, reference_rows

#: Replicates per block when a new study does not say otherwise. The batched Cox engine
#: fits a stack of 1,000 models a third faster per model than a stack of 100.
DEFAULT_CHUNK_SIZE = 500
#: Most patients in a block: larger cohorts come in fewer replicates per block, so that a
#: worker's memory stays bounded (the analysis stacks some 20 copies of the block).
BLOCK_PATIENTS = 29_000


@dataclass(frozen=True)
class StudyConfig:
    """What defines a study (its fingerprint), its scenarios and how many replicates each
    should have.

    ``scenarios`` are :class:`~simulation.cohorts.scenarios.Scenario` objects, each run
    with ``n`` patients per cohort, or :class:`~simulation.study.grids.StudyScenario`
    points that carry their own cohort size (a design grid,
    :func:`simulation.study.grids.expand`); :attr:`points` gives both as points.
    """

    scenarios: tuple[Scenario | StudyScenario, ...]
    replicates: int
    seed: int
    n: int = 58
    engine: str = DEFAULT_ENGINE.name
    chunk_size: int = DEFAULT_CHUNK_SIZE
    reference_n: int = REFERENCE_N
    #: The methods each replicate is analysed by (some of :data:`METHODS`).
    methods: tuple[str, ...] = METHODS
    #: Compute each scenario's large-sample reference (False: estimands whose truth is a
    #: reference have none, e.g. a grid whose points' truths are their generating values).
    references: bool = True

    def __post_init__(self) -> None:
        check_seed(self.seed)
        methods = tuple(self.methods) if not isinstance(self.methods, str) else ()
        if not methods or any(m not in METHODS for m in methods) \
                or len(set(methods)) != len(methods):
            raise InputError("methods", self.methods, None, ", ".join(METHODS),
                             f"methods must be distinct names among {', '.join(METHODS)}; "
                             f"got {self.methods!r}")
        if not isinstance(self.references, bool):
            raise InputError("references", self.references, None, "True or False",
                             f"references must be True or False; got {self.references!r}")
        # In the canonical order, so that equal sets are equal studies.
        object.__setattr__(self, "methods", tuple(m for m in METHODS if m in methods))
        for name, value, low in (("replicates", self.replicates, 1), ("n", self.n, MIN_N),
                                 ("chunk_size", self.chunk_size, 1),
                                 ("reference_n", self.reference_n, 1000)):
            _check_count(name, value, low)
        for point in self.points:
            _check_count("n", point.n, MIN_N)
        get_engine(self.engine)
        names = [p.name for p in self.points]
        if not names:
            raise InputError("scenario", None, None, "at least one scenario",
                             "give at least one --scenario")
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InputError("scenario", names, None, "distinct scenario names",
                             f"each scenario may be given once; {', '.join(twice)} "
                             "is given more than once")

    def block_size(self, point: StudyScenario) -> int:
        """Replicates per block of ``point``: ``chunk_size``, fewer for large cohorts
        (at most :data:`BLOCK_PATIENTS` patients a block, at least one replicate).

        >>> from simulation.cohorts.scenarios import get_scenario
        >>> config = StudyConfig((get_scenario("tog2025"),), 10, seed=1, chunk_size=500)
        >>> [config.block_size(StudyScenario.alone(get_scenario("tog2025"), n))
        ...  for n in (58, 100, 1000)]
        [500, 290, 29]
        """
        return max(1, min(self.chunk_size, BLOCK_PATIENTS // point.n))

    @property
    def points(self) -> tuple[StudyScenario, ...]:
        """Every scenario of the study with its cohort size, in order."""
        return tuple(s if isinstance(s, StudyScenario) else StudyScenario.alone(s, self.n)
                     for s in self.scenarios)

    def fingerprint(self) -> dict[str, Any]:
        """What must be equal for two runs to be the same study (cohort sizes belong to
        the scenarios, see :meth:`simulation.study.store.Store.register_scenario`)."""
        return {"package": "hcc-prognosis", "version": __version__, "seed": self.seed,
                "engine": self.engine, "chunk_size": self.chunk_size,
                "block_patients": BLOCK_PATIENTS,
                "methods": list(self.methods), "methods_version": METHODS_VERSION,
                "maxstat_window": [MAXSTAT_MIN_SHARE, MAXSTAT_MAX_SHARE],
                "reference_n": self.reference_n,
                # Only when off, so that the files of earlier studies still resume.
                **({} if self.references else {"references": False})}


def _check_count(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(name, value, None, f"a whole number >= {low}",
                         f"{name.replace('_', '-')} must be a whole number >= {low}; "
                         f"got {value!r}")


# ---------------------------------------------------------------------------------------
# One block of replicates (runs in a worker)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChunkTask:
    """A block of replicates of one scenario; ``keep`` are the ones to return."""

    scenario: str          # canonical JSON of the scenario's definition
    seed: int
    n: int
    engine: str
    start: int
    stop: int
    keep: tuple[int, ...]
    methods: tuple[str, ...] = METHODS


@dataclass(frozen=True)
class ChunkResult:
    """What a worker sends back: its package version and the block's rows."""

    version: str
    block: ResultBlock


@lru_cache(maxsize=16)
def _scenario(definition: str) -> Scenario:

    return scenario_from_dict(json.loads(definition))


def _exception_text(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)
    place = f" (at {Path(where[-1].filename).name}:{where[-1].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"


def _nullable(values: np.ndarray) -> np.ndarray:
    """Floats as objects, None where not finite (SQLite's NULL)."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out


def _add_analysis(block: ResultBlock, replicates: Sequence[int], analysis: StackAnalysis
                  ) -> None:
    """Add the rows of analysed replicates (``analysis`` row ``i`` is ``replicates[i]``)
    to ``block``, in the order of the results table's key."""
    name, B = block.scenario, len(replicates)
    pairs = sorted((m, e) for m in analysis.methods for e in estimands_of(m)
                   if (m, e) in analysis.results)
    K = len(pairs)
    columns: dict[str, list[np.ndarray]] = {c: [] for c in (
        "estimate", "se", "p", "p_naive", "ci_lower", "ci_upper", "ok", "at_boundary",
        "low_share", "flag")}
    numbers = np.asarray(replicates, dtype=np.int64)
    none = np.full(B, None, dtype=object)
    for method, estimand in pairs:
        res = analysis.results[(method, estimand)]
        for c in ("estimate", "se", "p", "p_naive", "ci_lower", "ci_upper"):
            columns[c].append(_nullable(np.asarray(getattr(res, c), dtype=float)))
        ok = np.asarray(res.ok, dtype=bool)
        columns["ok"].append(ok.astype(np.int64).astype(object))
        columns["at_boundary"].append(
            none if res.at_boundary is None
            else np.asarray(res.at_boundary, dtype=bool).astype(np.int64).astype(object))
        columns["low_share"].append(
            none if res.low_share is None
            else _nullable(np.asarray(res.low_share, dtype=float)))
        columns["flag"].append(np.asarray(res.flag).astype(str).astype(object))
        for i in np.flatnonzero(~ok):
            block.failures.append((name, int(numbers[i]), method, estimand,
                                   str(res.flag[i]), str(res.detail[i])))
    # (K, B) -> replicate-major rows: (replicate, method, estimand) in key order.
    flat = {c: np.stack(parts).T.ravel().tolist() for c, parts in columns.items()}
    block.results.extend(zip(
        [name] * (K * B), np.repeat(numbers, K).tolist(),
        [m for m, _ in pairs] * B, [e for _, e in pairs] * B,
        flat["estimate"], flat["se"], flat["p"], flat["p_naive"], flat["ci_lower"],
        flat["ci_upper"], flat["ok"], flat["at_boundary"], flat["low_share"], flat["flag"],
        strict=True))
    block.replicates.extend(zip([name] * B, numbers.tolist(), ["ok"] * B,
                                np.asarray(analysis.n).tolist(),
                                np.asarray(analysis.deaths).tolist(), strict=True))


def _draw(scenario: Scenario, n: int, seed: int, replicates: Sequence[int]
          ) -> tuple[list[int], dict[str, np.ndarray] | None, dict[int, str]]:
    """The block's cohorts as one stack; if drawing them together fails, the cohorts that
    can be drawn alone. Returns the replicates drawn, their stack and the failures
    (replicate -> message)."""
    def stack(numbers: Sequence[int]) -> dict[str, np.ndarray]:
        return generate_stack(scenario, n, [replicate_rng(seed, scenario.name, r)
                                            for r in numbers])

    try:
        return list(replicates), stack(replicates), {}
    except Exception:  # noqa: BLE001 - find the replicate that fails
        pass
    good: list[int] = []
    failed: dict[int, str] = {}
    for r in replicates:
        try:
            stack([r])
            good.append(r)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded
            failed[r] = f"generating the cohort: {_exception_text(exc)}"
    return good, (stack(good) if good else None), failed


def _analyse(stack: dict[str, np.ndarray], replicates: list[int], engine: str,
             methods: Sequence[str] = METHODS
             ) -> tuple[list[tuple[list[int], StackAnalysis]], dict[int, str]]:
    """The stack analysed at once; if that raises, one cohort at a time, to find the
    replicates that fail (replicate -> message)."""
    try:
        return [(replicates, analyze_stack(stack, engine, methods))], {}
    except Exception:  # noqa: BLE001 - isolate the replicate that fails
        pass
    analysed: list[tuple[list[int], StackAnalysis]] = []
    failed: dict[int, str] = {}
    for i, r in enumerate(replicates):
        try:
            one = {name: column[i:i + 1] for name, column in stack.items()}
            analysed.append(([r], analyze_stack(one, engine, methods)))
        except Exception as exc:  # noqa: BLE001 - every failure is recorded
            failed[r] = f"analysing the cohort: {_exception_text(exc)}"
    return analysed, failed


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Generate and analyse one block of replicates; never raises for a bad replicate.

    A replicate whose cohort cannot be generated or analysed is returned ``failed`` with
    the exception in the ledger (counted, never re-drawn). If the block's batched
    analysis raises, its replicates are analysed one at a time to find the culprit.
    Warnings are recorded in the ledger (under the block's first replicate), whatever
    the warning filters of the calling process. Only the replicates ``task.keep`` are
    returned; the others were computed only because blocks are always whole.
    """
    scenario = _scenario(task.scenario)
    block = ResultBlock(scenario.name)
    keep = set(task.keep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawn, stack, failed = _draw(scenario, task.n, task.seed,
                                     range(task.start, task.stop))
        analysed: list[tuple[list[int], StackAnalysis]] = []
        if stack is not None:
            analysed, not_analysed = _analyse(stack, drawn, task.engine, task.methods)
            failed.update(not_analysed)
    for replicates, analysis in analysed:
        rows = [i for i, r in enumerate(replicates) if r in keep]
        if rows:
            _add_analysis(block, [replicates[i] for i in rows], _subset(analysis, rows))
    for r, message in failed.items():
        if r in keep:
            block.replicates.append((block.scenario, r, "failed", None, None))
            block.failures.append((block.scenario, r, "", "", "exception", message))
    block.replicates.sort(key=lambda row: row[1])
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if notes and block.replicates:
        block.failures.extend(
            (block.scenario, task.start, "", "", "warning",
             f"replicates {task.start}-{task.stop - 1} (analysed together): {note}")
            for note in notes)
    return ChunkResult(__version__, block)


def _subset(analysis: StackAnalysis, rows: list[int]) -> StackAnalysis:
    """The analysis of some cohorts of the stack only."""
    if len(rows) == len(analysis):
        return analysis
    index = np.asarray(rows)
    results = {}
    for key, res in analysis.results.items():
        columns: dict[str, Any] = {
            name: None if getattr(res, name) is None else np.asarray(getattr(res, name))[index]
            for name in res.__dataclass_fields__}
        results[key] = type(res)(**columns)
    return StackAnalysis(results=results, n=np.asarray(analysis.n)[index],
                         deaths=np.asarray(analysis.deaths)[index], methods=analysis.methods)


# ---------------------------------------------------------------------------------------
# Planning and running
# ---------------------------------------------------------------------------------------

def plan(config: StudyConfig, finished: Mapping[str, set[int]],
         targets: Mapping[str, int] | None = None) -> list[ChunkTask]:
    """The blocks that still hold missing replicates, scenario by scenario.

    ``targets`` gives a scenario's replicate count (default: ``config.replicates``).
    """
    tasks = []
    for point in config.points:
        size = config.block_size(point)
        wanted = (targets or {}).get(point.name, config.replicates)
        definition = canonical_json(point.scenario.to_dict())
        done = finished.get(point.name, set())
        for start in range(0, wanted, size):
            keep = tuple(r for r in range(start, min(start + size, wanted)) if r not in done)
            if keep:
                tasks.append(ChunkTask(definition, config.seed, point.n, config.engine,
                                       start, start + size, keep, config.methods))
    return tasks


@dataclass
class RunOutcome:
    """What a run did."""

    written: int = 0
    failed: int = 0
    already: int = 0
    interrupted: bool = False
    #: The signal that stopped the run (``signal.SIGINT`` or ``signal.SIGTERM``), if any.
    signum: int | None = None
    elapsed_s: float = 0.0
    scenarios: list[str] = field(default_factory=list)
    #: Replicates each scenario has at the end (ok or failed).
    counts: dict[str, int] = field(default_factory=dict)
    #: With a stopping rule: rounds run, and where each scenario stands against it.
    rounds: int = 0
    status: dict[str, ScenarioStatus] = field(default_factory=dict)


#: Signals that stop a run cleanly (finished replicates kept), with their exit statuses.
STOP_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal (Ctrl-C or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signum)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM (and Ctrl-C) into :class:`Stopped` while a run is under way, so that
    both end it the same clean way: the pool or cluster is stopped, what finished is kept.
    Only in the main thread (elsewhere signals cannot be handled and this does nothing).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum, handler in previous.items():
        # Leave a signal alone if the caller chose to ignore it (e.g. nohup).
        if handler is not signal.SIG_IGN:
            signal.signal(signum, _raise_stopped)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a replicate is written, then raise.

    The transaction makes a write atomic anyway; this only keeps a replicate that was
    about to be committed. Works in the main thread (elsewhere it does nothing).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        raise Stopped(caught[0])


def _disk_error(exc: BaseException, out: str | Path, written: int) -> StudyFileError | None:
    """A full or failing disk as one clear error (None for any other exception)."""
    text = str(exc).lower()
    full = (isinstance(exc, sqlite3.OperationalError) and ("full" in text or "disk i/o" in text)
            or isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
    if not full:
        return None
    return StudyFileError(out, f"the disk holding {str(out)!r} is full or failing ({exc}); "
                               f"the {written} replicates written in this run and all "
                               "earlier ones are kept", "free some space, then run the same "
                                                         "command again to resume")


class WorkerLost(RuntimeError):
    """A worker process ended while it ran a block (killed from outside, out of memory)."""

    def __init__(self, exitcode: int | None) -> None:
        how = (f"killed by {signal.Signals(-exitcode).name}" if exitcode and exitcode < 0
               else f"exit code {exitcode}")
        super().__init__(f"a worker process ended unexpectedly ({how}) while it ran "
                         "replicates; the replicates written so far are kept")


def _worker(conn: Connection) -> None:
    """A pool worker: run the blocks it is sent and send back their results.

    It ignores Ctrl-C (the submitting process stops the run) and ends quietly when the
    submitting process is gone (its end of the pipe closed) or sends ``None``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while (task := conn.recv()) is not None:
            conn.send(run_chunk(task))
    except (EOFError, OSError):
        pass


def _pool_results(tasks: Sequence[ChunkTask], workers: int
                  ) -> Generator[ChunkResult, None, None]:
    """Run the blocks on ``workers`` local processes; yield results as they finish.

    Each worker has its own pipe and shares no lock with the others, so a worker killed
    at any moment (a SIGTERM to the whole process group, the OOM killer) can never
    deadlock the pool: its death is seen at once and stops the run with an error,
    while a stop asked for (Ctrl-C, SIGTERM) simply ends every worker.
    """
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context: Any = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["simulation.study.runner", "simulation.paper.methods",
                                        "simulation.cohorts.generate", "simulation.stats.cox"])
    queue = iter(tasks)
    running: dict[Connection, Any] = {}  # pipe -> its worker, while a block runs there
    processes: list[tuple[Any, Connection]] = []
    try:
        for _ in range(min(workers, len(tasks))):
            ours, theirs = context.Pipe()
            process = context.Process(target=_worker, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            processes.append((process, ours))
            ours.send(next(queue))
            running[ours] = process
        while running:
            sentinels = {process.sentinel: conn for conn, process in running.items()}
            for ready in wait([*running, *sentinels]):
                conn = sentinels.get(ready, ready)  # type: ignore[call-overload]
                if conn not in running:
                    continue
                process = running[conn]
                try:
                    result = conn.recv()
                    task = next(queue, None)
                    if task is None:
                        del running[conn]
                    conn.send(task)
                except (EOFError, OSError):  # the worker died: nothing more comes from it
                    process.join(1.0)
                    raise WorkerLost(process.exitcode) from None
                yield result
    finally:
        for process, conn in processes:
            if process.is_alive():
                process.terminate()
            conn.close()
        for process, _ in processes:
            process.join()


def parse_dask(spec: str) -> tuple[str, int | str]:
    """``"local:N"`` -> ``("local", N)``; ``"tcp://host:port"`` (or any scheduler address)
    -> ``("address", spec)``."""
    if spec.startswith("local:"):
        count = spec.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise InputError("dask", spec, None, "local:N with N >= 1, or tcp://host:port",
                             f"--dask local:N needs a worker count N >= 1; got {spec!r}",
                             "e.g. --dask local:4")
        return "local", int(count)
    if "://" not in spec:
        raise InputError("dask", spec, None, "local:N, or a scheduler address tcp://host:port",
                         f"--dask must be local:N or a scheduler address such as "
                         f"tcp://10.0.0.5:8786; got {spec!r}")
    return "address", spec


def _dask_results(tasks: Sequence[ChunkTask], dask: Any) -> Generator[ChunkResult, None, None]:
    """Run the blocks on a Dask cluster: a Client, ``"local:N"`` or a scheduler address."""
    try:
        # Deferred: Dask is an optional extra, loaded only for --dask.
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("dask", str(dask), None, "dask.distributed installed",
                         "--dask needs dask.distributed", "pip install 'hcc-prognosis[dask]'"
                         ) from None
    own_client = own_cluster = None
    if isinstance(dask, Client):
        client = dask
    else:
        kind, value = parse_dask(dask)
        if kind == "local":
            # The worker processes inherit an ignored SIGINT, so that Ctrl-C reaches only
            # this process, which then stops the cluster in order.
            in_main = threading.current_thread() is threading.main_thread()
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
            try:
                # On loopback: a local cluster needs no network route (left to itself,
                # Dask finds its address by routing towards an outside one).
                own_cluster = LocalCluster(n_workers=int(value), threads_per_worker=1,
                                           processes=True, dashboard_address=None,
                                           host="127.0.0.1")
            finally:
                if in_main:
                    signal.signal(signal.SIGINT, previous)
            own_client = client = Client(own_cluster)
        else:
            try:
                own_client = client = Client(str(value), timeout="20s")
            except OSError as exc:
                raise InputError("dask", str(value), None, "a reachable Dask scheduler",
                                 f"cannot reach the Dask scheduler at {value}: {exc}",
                                 "start one with 'dask scheduler' and workers with "
                                 "'dask worker tcp://HOST:8786'") from None
    futures = [client.submit(run_chunk, task, pure=False) for task in tasks]
    try:
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _local_results(tasks: Sequence[ChunkTask]) -> Generator[ChunkResult, None, None]:
    for task in tasks:
        yield run_chunk(task)


def _progress(total: int, enabled: bool) -> Any:
    return tqdm(total=total, unit="rep", desc="replicates", disable=not enabled,
                file=sys.stderr, smoothing=0.1, dynamic_ncols=True)


def ensure_references(store: Store, config: StudyConfig,
                      say: Callable[[str], None] = lambda text: None,
                      names: Sequence[str] | None = None) -> None:
    """Compute and store each scenario's large-sample reference, once (none if the study
    does without: ``config.references`` False).

    Points of a grid that differ only in cohort size share the reference cohort (its
    stream is keyed by :attr:`~simulation.study.grids.StudyScenario.reference_name`),
    so it is computed once and stored for each of them.
    """
    if not config.references:
        return

    def key_of(reference_name: str, definition: dict[str, Any]) -> tuple[str, str]:
        return reference_name, canonical_json(dict(definition, name="", description=""))

    done: dict[tuple[str, str], list] = {}
    for entry in store.scenario_entries():   # stored by an earlier run of the study
        if store.has_reference(entry.name):
            stream = StudyScenario(scenario_from_dict(entry.definition), entry.n, entry.base,
                                   entry.grid).reference_name
            done.setdefault(key_of(stream, entry.definition), [
                (method, estimand, value, se, label) for (method, estimand), (value, se, _, label)
                in store.reference(entry.name).items()])
    for point in config.points:
        if names is not None and point.name not in names:
            continue
        if not needs_reference(point.scenario, config.methods) \
                or store.has_reference(point.name):
            continue
        key = key_of(point.reference_name, point.scenario.to_dict())
        if key not in done:
            say(f"computing the large-sample reference values of {point.reference_name} "
                f"({config.reference_n:,} patients, once per study)")
            done[key] = reference_rows(point.scenario, config.seed, config.reference_n,
                                       config.methods, stream=point.reference_name)
        store.write_reference(point.name, done[key], config.reference_n)


def open_study(path: str | Path, config: StudyConfig, journal: str = "wal") -> Store:
    """Open (or create) the study file and check that it holds this study."""
    store = Store(path, journal=journal)
    try:
        store.lock_for_writing()
        store.claim(config.fingerprint())
        for point in config.points:
            store.register_scenario(point.name, point.scenario.to_dict(), config.replicates,
                                    n=point.n, base=point.base, grid=point.grid)
    except BaseException:
        store.close()
        raise
    return store


def _run(store: Store, config: StudyConfig, out: str | Path, workers: int, dask: Any,
         progress: bool, say: Callable[[str], None], outcome: RunOutcome,
         targets: Mapping[str, int]) -> None:
    """Run the missing replicates of an open study up to ``targets`` (replicates per
    scenario), counting them in ``outcome``."""
    finished = {p.name: store.finished(p.name) for p in config.points}
    already = sum(len({r for r in done if r < targets[name]})
                  for name, done in finished.items())
    if not outcome.rounds:
        outcome.already = already
    tasks = plan(config, finished, targets)
    todo = sum(len(t.keep) for t in tasks)
    if todo == 0:
        if not outcome.rounds:
            say(f"all {already} replicates are already in {out}; nothing to run")
        return
    if already and not outcome.rounds:
        say(f"resuming: {already} replicates already in {out}, {todo} to run")
    ensure_references(store, config, say, names=[p.name for p in config.points
                                                 if targets[p.name] > len(finished[p.name])])
    if dask is not None:
        results: Generator[ChunkResult, None, None] = _dask_results(tasks, dask)
    elif workers > 1 and len(tasks) > 1:
        results = _pool_results(tasks, workers)
    else:
        results = _local_results(tasks)
    try:
        with _progress(todo, progress) as bar:
            for result in results:
                if result.version != __version__:
                    raise StudyFileError(
                        out, f"a worker runs hcc-prognosis {result.version}, this is "
                             f"{__version__}: results would not be comparable",
                        "install the same version on every Dask worker")
                with _signals_deferred():
                    written = store.write_block(result.block)
                    outcome.written += written
                    outcome.failed += result.block.failed if written else 0
                bar.update(len(result.block.replicates))
    finally:
        # Stops the pool or the cluster; a second Ctrl-C meanwhile changes nothing.
        with _signals_deferred():
            results.close()


def _until_precise(store: Store, config: StudyConfig, rule: StoppingRule, run_round: Callable[
        [Mapping[str, int]], None], outcome: RunOutcome, say: Callable[[str], None]) -> None:
    """Rounds of replicates until ``rule`` stops every scenario (see
    :mod:`simulation.study.stopping`)."""
    store.set_setting("stopping", rule.to_dict())
    names = [p.name for p in config.points]
    targets = {name: min(config.replicates, rule.max_replicates) for name in names}
    while True:
        run_round(targets)
        outcome.rounds += 1
        counts = {name: sum(store.replicate_counts(name).values()) for name in names}
        rows = summary_rows(store, names)
        outcome.status = evaluate(rule, rows, counts)
        wanted = {p.name: next_count(outcome.status[p.name], config.block_size(p))
                  for p in config.points}
        if all(wanted[name] <= counts[name] for name in names):
            return
        more = {name: wanted[name] for name in names if wanted[name] > counts[name]}
        say(f"round {outcome.rounds + 1}: more replicates for {len(more)} scenario(s) ("
            + ", ".join(f"{name} to {count:,}" for name, count in list(more.items())[:4])
            + (", ..." if len(more) > 4 else "") + ")")
        for point in config.points:
            if point.name in more:
                store.register_scenario(point.name, point.scenario.to_dict(), more[point.name],
                                        n=point.n, base=point.base, grid=point.grid)
        targets = {name: max(wanted[name], counts[name]) for name in names}


def run_study(config: StudyConfig, out: str | Path, *, workers: int | None = None,
              dask: Any = None, progress: bool = True, journal: str = "wal",
              command: Sequence[str] | str = "", say: Callable[[str], None] | None = None,
              rule: StoppingRule | None = None, targets: Mapping[str, int] | None = None
              ) -> RunOutcome:
    """Run (or resume) a study into the SQLite file ``out``.

    Parameters
    ----------
    config : StudyConfig
    out : path
        The study file; re-running the same study resumes it (only missing replicates
        run), another study is refused (:class:`simulation.study.store.StudyFileError`).
    workers : int, optional
        Processes of the local pool (default: all cores); 1 runs in this process.
    dask : str or distributed.Client, optional
        ``"local:N"``, a scheduler address, or a connected Client; replaces the pool.
    progress : bool
        Show the progress bar.
    say : callable, optional
        Where to print status lines (default: stderr).
    rule : StoppingRule, optional
        Add replicates in rounds until it is met (:mod:`simulation.study.stopping`);
        ``config.replicates`` is then the first round.
    targets : mapping, optional
        Replicates of some scenarios other than ``config.replicates`` (without ``rule``).

    Returns
    -------
    RunOutcome
        ``interrupted`` is True after Ctrl-C or SIGTERM (``signum`` says which);
        everything written so far is kept. A full disk raises
        :class:`~simulation.study.store.StudyFileError`, keeping what was written.
    """
    say = say or (lambda text: print(text, file=sys.stderr))
    workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("workers", workers, None, "a whole number >= 1",
                         f"workers must be a whole number >= 1; got {workers!r}")
    started = time.perf_counter()
    outcome = RunOutcome(scenarios=[p.name for p in config.points])
    counts = {p.name: (targets or {}).get(p.name, config.replicates) for p in config.points}
    with _stop_on_signals():
        try:
            store = open_study(out, config, journal)
        except (sqlite3.OperationalError, OSError) as exc:
            raise _disk_error(exc, out, 0) or exc from None
        run_id = None
        try:
            run_id = store.start_run(command)
            for point in config.points:
                if counts[point.name] > config.replicates:
                    store.register_scenario(point.name, point.scenario.to_dict(),
                                            counts[point.name], n=point.n, base=point.base,
                                            grid=point.grid)

            def run_round(wanted: Mapping[str, int]) -> None:
                _run(store, config, out, workers, dask, progress, say, outcome, wanted)

            if rule is None:
                run_round(counts)
            else:
                _until_precise(store, config, rule, run_round, outcome, say)
            outcome.counts = {p.name: sum(store.replicate_counts(p.name).values())
                              for p in config.points}
        except Stopped as stop:
            outcome.interrupted, outcome.signum = True, stop.signum
        except KeyboardInterrupt:
            outcome.interrupted, outcome.signum = True, signal.SIGINT
        except (sqlite3.OperationalError, OSError) as exc:
            trouble = _disk_error(exc, out, outcome.written)
            if trouble is None:
                raise
            raise trouble from None
        finally:
            outcome.elapsed_s = time.perf_counter() - started
            error = sys.exc_info()[0] is not None  # an exception is on its way out
            try:
                if run_id is not None:
                    store.finish_run(run_id, outcome.written,
                                     "interrupted" if outcome.interrupted else
                                     "stopped by an error" if error else "finished")
            except sqlite3.Error:
                pass  # a full disk: the run's record is lost, its replicates are not
            finally:
                store.close()
    return outcome
