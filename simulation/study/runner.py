"""Running a simulation study: chunks of replicates on a process pool or a Dask cluster.

The replicates of a scenario are cut into fixed blocks of ``chunk_size``
(``[k C, (k + 1) C)``). A block is the unit of work: its cohorts are generated (each from
its own seed, :mod:`simulation.study.seeds`), stacked and analysed together by each of
the study's methods (:func:`simulation.paper.methods.analyze_stack`; all of them unless
:attr:`StudyConfig.methods` names fewer), so the fast engine fits a whole block per call.
Blocks are always complete, whatever the replicate count, and only the main process writes
to the study file, one transaction per replicate (:mod:`simulation.study.store`). So a
replicate's results do not depend on the worker count, the order in which blocks finish,
the executor (process pool, Dask, or none), or on a resume after an interruption; a
resumed block is recomputed whole and only its missing replicates are written.

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
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from tqdm import tqdm

from calculator import __version__
from calculator.errors import InputError
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import Scenario, scenario_from_dict
from simulation.paper.cutoffs import MAXSTAT_MAX_SHARE, MAXSTAT_MIN_SHARE
from simulation.paper.methods import (
    METHODS,
    METHODS_VERSION,
    analyze_stack,
    estimands_of,
)
from simulation.stats.engines import DEFAULT_ENGINE, get_engine
from simulation.stats.jsonsafe import finite_or_none
from simulation.stats.stacking import stack_cohorts
from simulation.study.seeds import check_seed, replicate_rng
from simulation.study.store import (
    LedgerEntry,
    ReplicateRecord,
    ResultRow,
    Store,
    StudyFileError,
    canonical_json,
)
from simulation.study.truth import REFERENCE_N, needs_reference, reference_rows

#: Replicates per block when a new study does not say otherwise.
DEFAULT_CHUNK_SIZE = 100


@dataclass(frozen=True)
class StudyConfig:
    """What defines a study (its fingerprint) and how many replicates to have."""

    scenarios: tuple[Scenario, ...]
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
        for name, value, low in (("replicates", self.replicates, 1), ("n", self.n, 10),
                                 ("chunk_size", self.chunk_size, 1),
                                 ("reference_n", self.reference_n, 1000)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(name, value, None, f"a whole number >= {low}",
                                 f"{name.replace('_', '-')} must be a whole number >= {low}; "
                                 f"got {value!r}")
        get_engine(self.engine)
        names = [s.name for s in self.scenarios]
        if not names:
            raise InputError("scenario", None, None, "at least one scenario",
                             "give at least one --scenario")
        if len(set(names)) != len(names):
            raise InputError("scenario", names, None, "distinct scenario names",
                             f"each scenario may be given once; got {names}")

    def fingerprint(self) -> dict[str, Any]:
        """What must be equal for two runs to be the same study."""
        return {"package": "hcc-prognosis", "version": __version__, "seed": self.seed,
                "n": self.n, "engine": self.engine, "chunk_size": self.chunk_size,
                "methods": list(self.methods), "methods_version": METHODS_VERSION,
                "maxstat_window": [MAXSTAT_MIN_SHARE, MAXSTAT_MAX_SHARE],
                "reference_n": self.reference_n,
                # Only when off, so that the files of earlier studies still resume.
                **({} if self.references else {"references": False})}


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
    """What a worker sends back: its package version and the block's records."""

    version: str
    records: tuple[ReplicateRecord, ...]


@lru_cache(maxsize=16)
def _scenario(definition: str) -> Scenario:

    return scenario_from_dict(json.loads(definition))


def _exception_text(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)
    place = f" (at {Path(where[-1].filename).name}:{where[-1].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"


def _records(scenario: str, replicates: Sequence[int], analysis: Any
             ) -> list[ReplicateRecord]:
    out = []
    for i, r in enumerate(replicates):
        rows, ledger = [], []
        for method in analysis.methods:
            for estimand in estimands_of(method):
                res = analysis.results.get((method, estimand))
                if res is None:
                    continue
                num = {name: finite_or_none(getattr(res, name)[i])
                       for name in ("estimate", "se", "p", "p_naive", "ci_lower", "ci_upper")}
                rows.append(ResultRow(
                    method=method, estimand=estimand, **num, ok=bool(res.ok[i]),
                    at_boundary=None if res.at_boundary is None else bool(res.at_boundary[i]),
                    low_share=None if res.low_share is None else finite_or_none(res.low_share[i]),
                    flag=str(res.flag[i])))
                if not res.ok[i]:
                    ledger.append(LedgerEntry(method, estimand, str(res.flag[i]),
                                              str(res.detail[i])))
        out.append(ReplicateRecord(scenario, int(r), "ok", int(analysis.n[i]),
                                   int(analysis.deaths[i]), tuple(rows), tuple(ledger)))
    return out


def _failed(scenario: str, r: int, stage: str, exc: BaseException) -> ReplicateRecord:
    return ReplicateRecord(scenario, int(r), "failed", None, None, (),
                           (LedgerEntry("", "", "exception", f"{stage}: {_exception_text(exc)}"),))


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Generate and analyse one block of replicates; never raises for a bad replicate.

    A replicate whose cohort cannot be generated or analysed is returned ``failed`` with
    the exception in the ledger (counted, never re-drawn). If the block's batched
    analysis raises, its replicates are analysed one at a time to find the culprit.
    Warnings are recorded in the ledger (under the block's first replicate), whatever
    the warning filters of the calling process.
    """
    scenario = _scenario(task.scenario)
    name = scenario.name
    cohorts: dict[int, Any] = {}
    failed: dict[int, ReplicateRecord] = {}
    records: dict[int, ReplicateRecord] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for r in range(task.start, task.stop):
            try:
                cohorts[r] = generate_cohort(scenario, task.n, replicate_rng(task.seed, name, r))
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                failed[r] = _failed(name, r, "generating the cohort", exc)
        good = sorted(cohorts)
        if good:
            try:
                analysis = analyze_stack(stack_cohorts([cohorts[r] for r in good]), task.engine,
                                         task.methods)
                records.update(zip(good, _records(name, good, analysis)))
            except Exception:  # noqa: BLE001 - isolate the replicate that fails
                for r in good:
                    try:
                        one = analyze_stack(stack_cohorts([cohorts[r]]), task.engine,
                                            task.methods)
                        records[r] = _records(name, [r], one)[0]
                    except Exception as exc:  # noqa: BLE001
                        failed[r] = _failed(name, r, "analysing the cohort", exc)
    records.update(failed)
    keep = [records[r] for r in task.keep if r in records]
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if notes and keep:
        first = keep[0]
        extra = tuple(LedgerEntry("", "", "warning",
                                  f"replicates {task.start}-{task.stop - 1} (analysed "
                                  f"together): {note}", replicate=task.start)
                      for note in notes)
        keep[0] = ReplicateRecord(first.scenario, first.replicate, first.status, first.n,
                                  first.deaths, first.rows, first.ledger + extra)
    return ChunkResult(__version__, tuple(keep))


# ---------------------------------------------------------------------------------------
# Planning and running
# ---------------------------------------------------------------------------------------

def plan(config: StudyConfig, finished: dict[str, set[int]]) -> list[ChunkTask]:
    """The blocks that still hold missing replicates, scenario by scenario."""
    tasks = []
    size = config.chunk_size
    for scenario in config.scenarios:
        definition = canonical_json(scenario.to_dict())
        done = finished.get(scenario.name, set())
        for start in range(0, config.replicates, size):
            keep = tuple(r for r in range(start, min(start + size, config.replicates))
                         if r not in done)
            if keep:
                tasks.append(ChunkTask(definition, config.seed, config.n, config.engine,
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
                      say: Callable[[str], None] = lambda text: None) -> None:
    """Compute and store each scenario's large-sample reference, once (none if the study
    does without: ``config.references`` False)."""
    if not config.references:
        return
    for scenario in config.scenarios:
        if needs_reference(scenario, config.methods) and not store.has_reference(scenario.name):
            say(f"computing the large-sample reference values of {scenario.name} "
                f"({config.reference_n:,} patients, once per study)")
            rows = reference_rows(scenario, config.seed, config.reference_n, config.methods)
            store.write_reference(scenario.name, rows, config.reference_n)


def open_study(path: str | Path, config: StudyConfig, journal: str = "wal") -> Store:
    """Open (or create) the study file and check that it holds this study."""
    store = Store(path, journal=journal)
    try:
        store.lock_for_writing()
        store.claim(config.fingerprint())
        for scenario in config.scenarios:
            store.register_scenario(scenario.name, scenario.to_dict(), config.replicates)
    except BaseException:
        store.close()
        raise
    return store


def _run(store: Store, config: StudyConfig, out: str | Path, workers: int, dask: Any,
         progress: bool, say: Callable[[str], None], outcome: RunOutcome) -> None:
    """Run the missing replicates of an open study, counting them in ``outcome``."""
    finished = {s.name: store.finished(s.name) for s in config.scenarios}
    outcome.already = sum(len({r for r in done if r < config.replicates})
                          for done in finished.values())
    tasks = plan(config, finished)
    todo = sum(len(t.keep) for t in tasks)
    if todo == 0:
        say(f"all {outcome.already} replicates are already in {out}; nothing to run")
        return
    if outcome.already:
        say(f"resuming: {outcome.already} replicates already in {out}, {todo} to run")
    ensure_references(store, config, say)
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
                for record in result.records:
                    with _signals_deferred():
                        if store.write_replicate(record):
                            outcome.written += 1
                            outcome.failed += record.status == "failed"
                bar.update(len(result.records))
    finally:
        # Stops the pool or the cluster; a second Ctrl-C meanwhile changes nothing.
        with _signals_deferred():
            results.close()


def run_study(config: StudyConfig, out: str | Path, *, workers: int | None = None,
              dask: Any = None, progress: bool = True, journal: str = "wal",
              command: Sequence[str] | str = "", say: Callable[[str], None] | None = None
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
    outcome = RunOutcome(scenarios=[s.name for s in config.scenarios])
    with _stop_on_signals():
        try:
            store = open_study(out, config, journal)
        except (sqlite3.OperationalError, OSError) as exc:
            raise _disk_error(exc, out, 0) or exc from None
        run_id = None
        try:
            run_id = store.start_run(command)
            _run(store, config, out, workers, dask, progress, say, outcome)
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
