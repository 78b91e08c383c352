"""Running a study: identical results whatever the executor, resumable, interruptible."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import simulation.study.runner as runner
from simulation.cohorts.scenarios import get_scenario
from simulation.study.measures import summary_rows
from simulation.study.runner import ChunkResult, StudyConfig, plan, run_study
from simulation.study.seeds import replicate_rng
from simulation.study.store import Store, StudyFileError

TABLES = ("replicates", "results", "failures", "reference")


def config(replicates=24, scenarios=("tog2025-null",), **kw):
    kw.setdefault("chunk_size", 6)
    kw.setdefault("reference_n", 5_000)
    return StudyConfig(tuple(get_scenario(s) for s in scenarios), replicates, seed=3, **kw)


def contents(path):
    with Store(path, create=False) as store:
        return {t: store.table(t) for t in TABLES}, summary_rows(store)


def quiet(cfg, path, **kw):
    kw.setdefault("workers", 1)
    return run_study(cfg, path, progress=False, say=lambda text: None, **kw)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """An uninterrupted in-process run of the study the other tests repeat."""
    path = tmp_path_factory.mktemp("base") / "study.sqlite"
    outcome = quiet(config(), path)
    assert outcome.written == 24 and not outcome.interrupted
    return contents(path)


def test_blocks_are_fixed_and_only_missing_replicates_are_kept():
    cfg = config(replicates=14, chunk_size=6)
    tasks = plan(cfg, {"tog2025-null": {0, 1, 7}})
    assert [(t.start, t.stop) for t in tasks] == [(0, 6), (6, 12), (12, 18)]
    assert [t.keep for t in tasks] == [(2, 3, 4, 5), (6, 8, 9, 10, 11), (12, 13)]
    assert plan(cfg, {"tog2025-null": set(range(14))}) == []


def test_one_and_two_workers_give_identical_files(tmp_path, baseline):
    path = tmp_path / "two.sqlite"
    outcome = quiet(config(), path, workers=2)
    assert outcome.written == 24
    assert contents(path) == baseline


def test_dask_local_cluster_gives_identical_files(tmp_path, baseline):
    from distributed import Client, LocalCluster

    # On loopback TCP: the test needs no network route (Dask's in-process transport
    # looks its address up by routing towards an outside host).
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        outcome = quiet(config(), tmp_path / "dask.sqlite", dask=client)
    assert outcome.written == 24
    assert contents(tmp_path / "dask.sqlite") == baseline


def test_interrupted_run_keeps_its_work_and_resumes_to_the_same_file(tmp_path, monkeypatch,
                                                                     baseline):
    real = runner.run_chunk
    calls = []

    def interrupted(task):
        calls.append(task.start)
        if len(calls) == 3:
            raise KeyboardInterrupt   # Ctrl-C while the third block is computed
        return real(task)

    monkeypatch.setattr(runner, "run_chunk", interrupted)
    path = tmp_path / "study.sqlite"
    first = quiet(config(), path)
    assert first.interrupted and first.written == 12
    monkeypatch.setattr(runner, "run_chunk", real)
    second = quiet(config(), path)
    assert not second.interrupted and (second.already, second.written) == (12, 12)
    assert contents(path) == baseline
    with Store(path, create=False) as store:
        runs = store._db.execute("SELECT written, outcome FROM runs ORDER BY id").fetchall()
    assert runs == [(12, "interrupted"), (12, "finished")]


def test_extending_a_study_equals_running_it_whole(tmp_path, baseline):
    path = tmp_path / "grow.sqlite"
    quiet(config(replicates=9), path)
    outcome = quiet(config(replicates=24), path)
    assert (outcome.already, outcome.written) == (9, 15)
    assert contents(path)[0] == baseline[0]


def test_failed_replicate_is_counted_and_never_redrawn(tmp_path, monkeypatch):
    real = runner.generate_stack
    failing_age = real(get_scenario("tog2025-null"), 58,
                       [replicate_rng(3, "tog2025-null", 4)])["age"][0, 0]

    def flaky(scenario, n, rngs, **kw):
        stack = real(scenario, n, rngs, **kw)
        if (stack["age"][:, 0] == failing_age).any():
            raise RuntimeError("simulated failure")
        return stack

    monkeypatch.setattr(runner, "generate_stack", flaky)
    path = tmp_path / "flaky.sqlite"
    outcome = quiet(config(replicates=6), path)
    assert outcome.failed >= 1 and outcome.written == 6
    with Store(path, create=False) as store:
        statuses = dict(store._db.execute("SELECT replicate, status FROM replicates"))
        ledger = store.failures()
    assert statuses[4] == "failed"
    assert any(row[1] == 4 and row[4] == "exception" and "simulated failure" in row[5]
               and row[5].startswith("generating the cohort") for row in ledger)
    again = quiet(config(replicates=6), path)
    assert again.written == 0                                   # not re-drawn
    row = next(r for r in contents(path)[1] if r["estimand"] == "pni_mv_loghr")
    assert row["failures"]["replicate-failed"] == outcome.failed
    assert row["n_rep"] == 6 and row["n_used"] <= 6 - outcome.failed


def test_worker_of_another_version_is_refused(tmp_path, monkeypatch):
    real = runner.run_chunk
    monkeypatch.setattr(runner, "run_chunk",
                        lambda task: ChunkResult("9.9.9", real(task).block))
    with pytest.raises(StudyFileError, match="a worker runs hcc-prognosis 9.9.9"):
        quiet(config(replicates=6), tmp_path / "v.sqlite")
    with Store(tmp_path / "v.sqlite", create=False) as store:
        assert store.finished("tog2025-null") == set()
        assert store._db.execute("SELECT outcome FROM runs").fetchall() == [
            ("stopped by an error",)]


def test_another_study_on_the_same_file_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    quiet(config(replicates=6), path)
    with pytest.raises(StudyFileError, match=r"differs in: n \(file has 58, this run 40\)"):
        quiet(config(replicates=6, n=40), path)
    with pytest.raises(StudyFileError, match="engine: file has 'fast', this run 'lifelines'"):
        quiet(config(replicates=6, engine="lifelines"), path)


def _cli(path, replicates, extra=()):
    return [sys.executable, "-m", "calculator.cli", "simulate", "--scenario", "tog2025-null",
            "--replicates", str(replicates), "--seed", "3", "--n", "40", "--chunk-size", "5",
            "--reference-n", "5000", "--out", str(path), "--no-progress", *extra]


def _wait_for(path, count, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
                if db.execute("SELECT COUNT(*) FROM replicates").fetchone()[0] >= count:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.02)
    raise AssertionError(f"no {count} replicates in {path} before the run ended")


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(_cli(killed, 600, ["--workers", "1"]), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(killed, 10, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with Store(killed, create=False) as store:
        assert store.integrity() == "ok"
        done = len(store.finished("tog2025-null"))
    assert 10 <= done < 600                                 # killed in the middle
    cfg = StudyConfig((get_scenario("tog2025-null"),), 600, seed=3, n=40, chunk_size=5,
                      reference_n=5000)
    resumed = quiet(cfg, killed)
    assert resumed.already == done and resumed.written == 600 - done
    whole = tmp_path / "whole.sqlite"
    quiet(cfg, whole)
    assert contents(killed) == contents(whole)


@pytest.mark.parametrize(("signum", "to_group", "status", "said"), [
    (signal.SIGINT, True, 130, "interrupted"),          # Ctrl-C reaches the whole group
    (signal.SIGTERM, False, 143, "stopped by SIGTERM"),  # kill PID, as a scheduler does
    (signal.SIGTERM, True, 143, "stopped by SIGTERM"),   # or the whole group
])
def test_a_signal_stops_the_pool_cleanly(tmp_path, signum, to_group, status, said):
    path = tmp_path / "int.sqlite"
    # As from a terminal: Ctrl-C is not ignored (a shell's background job would ignore it).
    proc = subprocess.Popen(_cli(path, 100_000, ["--workers", "2"]), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    try:
        _wait_for(path, 10, proc)
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == status, err
    assert said in err and "run the same command again to resume" in err
    assert "Traceback" not in err and "leaked" not in err and "Error" not in err, err
    with Store(path, create=False) as store:
        assert store.integrity() == "ok"
        assert 10 <= len(store.finished("tog2025-null")) < 100_000
    deadline = time.monotonic() + 10
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive_in_group(proc.pid) == []      # the workers have stopped too


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive_in_group(pgid):
    """Processes of a process group that still run (zombies excepted), from /proc."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def test_a_second_run_on_the_same_file_is_refused(tmp_path):
    path = tmp_path / "busy.sqlite"
    first = subprocess.Popen(_cli(path, 100_000, ["--workers", "1"]), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(path, 5, first)
        second = subprocess.run(_cli(path, 100_000, ["--workers", "1"]), capture_output=True,
                                text=True, timeout=60)
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.communicate(timeout=60)
    assert second.returncode == 2
    assert f"is being run by process {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr


def test_a_full_disk_stops_with_one_message_and_keeps_the_work(tmp_path, monkeypatch):
    """SQLite's own "database or disk is full", provoked by capping the file's pages."""
    path = tmp_path / "full.sqlite"
    opened = runner.open_study

    def capped(*args, **kwargs):
        store = opened(*args, **kwargs)
        (pages,) = store._db.execute("PRAGMA page_count").fetchone()
        store._db.execute(f"PRAGMA max_page_count = {pages + 40}")
        return store

    monkeypatch.setattr(runner, "open_study", capped)
    with pytest.raises(StudyFileError, match="is full or failing") as full:
        quiet(config(replicates=400, chunk_size=20), path)
    assert "run the same command again to resume" in full.value.hint
    with Store(path, create=False) as store:
        assert store.integrity() == "ok"
        kept = len(store.finished("tog2025-null"))
    assert 0 < kept < 400
    monkeypatch.setattr(runner, "open_study", opened)
    resumed = quiet(config(replicates=400, chunk_size=20), path)
    assert resumed.already == kept and resumed.written == 400 - kept


def test_a_worker_killed_from_outside_stops_the_run_with_a_message(tmp_path):
    path = tmp_path / "lost.sqlite"
    proc = subprocess.Popen(_cli(path, 100_000, ["--workers", "2"]), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(path, 10, proc)
        # The workers are the fork server's children, grandchildren of the run.
        workers = [pid for pid in _alive_in_group(proc.pid)
                   if pid != proc.pid and _parent_of(pid) != proc.pid]
        os.kill(workers[0], signal.SIGKILL)        # e.g. the out-of-memory killer
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 1, err
    assert "a worker process ended unexpectedly (killed by SIGKILL)" in err
    assert "Traceback" not in err
    with Store(path, create=False) as store:
        assert store.integrity() == "ok" and len(store.finished("tog2025-null")) >= 10


def _parent_of(pid):
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])
