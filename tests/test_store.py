"""The study file: fingerprint, append-only results, atomic replicates, clear refusals."""

import math
import sqlite3

import numpy as np
import pytest

from calculator.errors import InputError
from simulation.study.store import (
    LedgerEntry,
    ReplicateRecord,
    ResultBlock,
    ResultColumns,
    ResultRow,
    Store,
    StudyFileError,
)

FINGERPRINT = {"package": "hcc-prognosis", "version": "0.1.0", "seed": 1, "n": 58,
               "engine": "fast"}


def row(method="fixed", estimand="pni_mv_loghr", estimate=1.2, ok=True, flag="ok"):
    return ResultRow(method, estimand, estimate, 0.4, 0.01, 0.01, 0.4, 2.0, ok, None, None,
                     flag)


def record(r, rows=None, status="ok"):
    rows = (row(),) if rows is None else rows
    return ReplicateRecord("tog2025", r, status, 58, 40, tuple(rows),
                           (LedgerEntry("fixed", "afp_mv_loghr", "separated", "no deaths"),))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "study.sqlite") as s:
        s.claim(FINGERPRINT)
        yield s


def test_new_file_records_fingerprint_and_uses_wal(tmp_path):
    with Store(tmp_path / "a.sqlite") as s:
        s.claim(FINGERPRINT)
        assert s.fingerprint() == FINGERPRINT
        assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(tmp_path / "b.sqlite", journal="delete") as s:
        assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_same_study_is_accepted_again(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        s.claim(FINGERPRINT)
    with Store(path) as s:
        s.claim(dict(FINGERPRINT))


def test_other_study_is_refused_with_what_differs(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        s.claim(FINGERPRINT)
    with Store(path) as s, pytest.raises(StudyFileError,
                                         match=r"another study \(seed: file has 1, this run 2\)"):
        s.claim(dict(FINGERPRINT, seed=2))


def test_scenario_redefined_is_refused(store):
    store.register_scenario("mine", {"effects": {"afp": 0.5}}, 10, n=58)
    store.register_scenario("mine", {"effects": {"afp": 0.5}}, 30, n=58)
    assert store.scenarios() == [("mine", {"effects": {"afp": 0.5}}, 30)]
    store.register_scenario("mine", {"effects": {"afp": 0.5}}, 5, n=58)   # never shrinks
    assert store.scenarios()[0][2] == 30
    with pytest.raises(StudyFileError, match="defined differently.*effects"):
        store.register_scenario("mine", {"effects": {"afp": 0.7}}, 10, n=58)
    with pytest.raises(StudyFileError, match=r"defined differently \(differs in: n \(file "
                                             r"has 58, this run 40\)\)"):
        store.register_scenario("mine", {"effects": {"afp": 0.5}}, 10, n=40)


def test_each_scenario_keeps_its_cohort_size_and_grid_values(store):
    store.register_scenario("tog2025+n=100+pni_cutoff=45", {"x": 1}, 10, n=100,
                            base="tog2025", grid=[("n", 100), ("pni_cutoff", 45.0)])
    store.register_scenario("tog2025", {"x": 2}, 10, n=58)
    grid, alone = store.scenario_entries()
    assert (grid.n, grid.base, grid.grid) == (100, "tog2025", (("n", 100), ("pni_cutoff", 45.0)))
    assert (alone.n, alone.base, alone.grid) == (58, "tog2025", ())


def test_a_layout_1_file_is_refused_with_what_changed(tmp_path):
    path = tmp_path / "old.sqlite"
    with Store(path) as s:
        s._db.execute("UPDATE study SET value = '1' WHERE key = 'schema'")
    with pytest.raises(StudyFileError, match="layout 1, written before design grids") as old:
        Store(path, create=False)
    assert "re-run the study into a new file" in old.value.hint


def test_a_block_is_one_transaction_and_skips_replicates_already_written(store):
    block = ResultBlock.of_records([record(0), record(1), record(2)])
    assert block.failed == 0 and len(block.results) == 3
    assert store.write_replicate(record(1))
    assert store.write_block(block) == 2                  # 1 was there: 0 and 2 written
    assert store.finished("tog2025") == {0, 1, 2}
    assert len(store.results("tog2025")) == 3
    assert store.write_block(block) == 0
    bad = ResultBlock.of_records([record(5), record(6, [row(), row()])])
    with pytest.raises(sqlite3.IntegrityError):
        store.write_block(bad)
    assert store.finished("tog2025") == {0, 1, 2}         # neither 5 nor 6


def test_settings_are_kept_apart_from_the_fingerprint(store):
    assert store.setting("stopping") is None
    store.set_setting("stopping", {"max_replicates": 10})
    store.set_setting("stopping", {"max_replicates": 20})
    assert store.setting("stopping") == {"max_replicates": 20}
    with pytest.raises(ValueError, match="not a setting"):
        store.set_setting("fingerprint", {})


def test_replicate_written_once_with_nan_as_null(store):
    assert store.write_replicate(record(0, [row(estimate=math.nan, ok=False, flag="separated")]))
    assert not store.write_replicate(record(0))          # already there: nothing written
    assert store.finished("tog2025") == {0}
    (stored,) = store.results("tog2025")
    assert stored[3] is None and stored[9] == 0 and stored[12] == "separated"
    assert store.failures("tog2025") == [("tog2025", 0, "fixed", "afp_mv_loghr", "separated",
                                          "no deaths")]


def test_replicate_is_atomic(store):
    bad = record(1, [row(), row()])   # the same (method, estimand) twice violates the key
    with pytest.raises(sqlite3.IntegrityError):
        store.write_replicate(bad)
    assert store.finished("tog2025") == set()
    assert store.results("tog2025") == []
    assert store.failures() == []



def test_result_columns_equal_the_rows_across_read_chunks(store):
    for r in range(7):
        bad = r % 3 == 0
        store.write_replicate(record(r, [
            row(estimate=math.nan if bad else 0.1 * r, ok=not bad,
                flag="separated" if bad else "ok"),
            ResultRow("youden", "cutoff", 40.0 + r, math.nan, math.nan, math.nan, math.nan,
                      math.nan, r != 5, bool(r % 2), 0.25, "ok" if r != 5 else "no-events")]))
    columns = store.result_columns("tog2025", chunk_rows=3)   # chunks cut through groups
    assert set(columns) == {("fixed", "pni_mv_loghr"), ("youden", "cutoff")}
    fixed, cutoff = columns["fixed", "pni_mv_loghr"], columns["youden", "cutoff"]
    assert fixed.replicate.tolist() == list(range(7)) and len(cutoff) == 7
    assert fixed.ok.tolist() == [r % 3 != 0 for r in range(7)]
    assert np.isnan(fixed.estimate[[0, 3, 6]]).all()
    np.testing.assert_array_equal(fixed.estimate[[1, 2, 4, 5]], [0.1, 0.2, 0.4, 0.5])
    assert fixed.flags == {"separated": 3} and cutoff.flags == {"no-events": 1}
    assert cutoff.at_boundary.tolist() == [bool(r % 2) for r in range(7)]
    assert np.isnan(cutoff.se).all() and (cutoff.low_share == 0.25).all()
    assert len(ResultColumns.empty()) == 0 and store.result_columns("other") == {}

def test_results_are_append_only(store):
    store.write_replicate(record(0))
    for statement in ("UPDATE results SET estimate = 0", "DELETE FROM results",
                      "DELETE FROM replicates", "UPDATE failures SET kind = 'x'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._db.execute(statement)
    assert store.results("tog2025")[0][3] == 1.2


def test_counts_and_reference(store):
    store.write_replicate(record(0))
    store.write_replicate(ReplicateRecord("tog2025", 1, "failed", None, None, (),
                                          (LedgerEntry("", "", "exception", "boom"),)))
    assert store.replicate_counts("tog2025") == {"ok": 1, "failed": 1}
    store.write_reference("tog2025", [("fixed", "pni_uv_loghr", 1.1, 0.01, "ref")], 5000)
    store.write_reference("tog2025", [("fixed", "pni_uv_loghr", 9.9, 0.01, "ref")], 5000)
    assert store.reference("tog2025") == {("fixed", "pni_uv_loghr"): (1.1, 0.01, 5000, "ref")}
    assert store.integrity() == "ok"


def test_missing_file_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(StudyFileError, match="there is no file .*none.sqlite") as missing:
        Store(tmp_path / "none.sqlite", create=False)
    assert "give --out" not in str(missing.value.hint)  # a reader has no --out of its own
    with pytest.raises(StudyFileError, match="the folder .*nowhere.* does not exist"):
        Store(tmp_path / "nowhere" / "study.sqlite")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(StudyFileError, match="is an empty file, not a study file"):
        Store(empty, create=False)
    with pytest.raises(StudyFileError, match="is a folder"):
        Store(tmp_path, create=False)
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(StudyFileError, match="not a readable study file"):
        Store(text)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StudyFileError, match="not an hcc-prognosis study file"):
        Store(other)
    with pytest.raises(InputError, match="journal must be one of wal, delete"):
        Store(tmp_path / "x.sqlite", journal="memory")


def test_a_second_writer_is_refused_until_the_first_closes(tmp_path):
    path = tmp_path / "study.sqlite"
    first = Store(path)
    first.lock_for_writing()
    second = Store(path)
    with pytest.raises(StudyFileError, match=r"is being run by process \d+") as refused:
        second.lock_for_writing()
    assert "wait for that run" in refused.value.hint
    first.close()
    second.lock_for_writing()  # free again once the first run has closed the file
    second.close()
    assert not (tmp_path / "study.sqlite.lock").exists()
