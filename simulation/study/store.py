"""The SQLite file of a simulation study: append-only results, failure ledger, fingerprint.

One file holds one study. Its tables:

``study``
    ``key``/``value`` pairs; ``fingerprint`` is the canonical JSON of what makes two runs
    the same study (package version, root seed, engine, chunk size, method version),
    ``schema`` the layout version, ``stopping`` the last precision rule a run used
    (:mod:`simulation.study.stopping`).
``scenarios``
    Each scenario's full definition (JSON), its cohort size ``n``, the scenario it was
    made from (``base``) and the grid values that made it (``grid``, a JSON list of
    ``[key, value]`` pairs, empty outside a design grid; :mod:`simulation.study.grids`),
    its position, and the largest replicate count requested so far. A scenario name
    that comes back with another definition or cohort size is refused.
``replicates``
    One row per finished replicate, ``ok`` or ``failed`` (an exception: counted, never
    re-drawn), with the cohort's size and deaths.
``results``
    One row per (scenario, replicate, method, estimand): estimate, model SE, p-values,
    Wald interval, ``ok`` (0 where separation or non-convergence makes the estimate
    unusable), the flag saying why, and for cut-offs the share of the low group and
    whether the search stopped at its boundary.
``failures``
    The ledger: separations, non-convergence, warnings and exceptions, each with its
    replicate, method and message.
``reference``
    Large-sample reference values of a scenario (see :mod:`simulation.study.measures`).
``runs``
    When each ``simulate`` command ran (for the record; not part of the results).

Rows of ``replicates``, ``results`` and ``failures`` are never updated or deleted
(triggers refuse it). All rows of a block of replicates (:class:`ResultBlock`) are
written in one transaction, so a replicate is either wholly in the file or not at all.
The journal is SQLite's write-ahead log with ``synchronous=NORMAL``: a process killed at
any moment (SIGKILL included) loses at most the transactions not yet committed and never
corrupts the file (SQLite, "Atomic Commit In SQLite" and "Write-Ahead Logging"). WAL
needs a local file system; on a network share pass ``journal="delete"`` (the rollback
journal), which is as safe, only slower.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np

from calculator.errors import InputError
from simulation.stats.jsonsafe import finite_or_none

#: Layout version of the file; a file with another version is refused. Layout 2 (design
#: grids): the cohort size is a column of ``scenarios`` instead of part of the fingerprint.
SCHEMA_VERSION = 2
#: Value of ``PRAGMA application_id`` that marks a study file ("HCCS").
APPLICATION_ID = 0x48434353

JOURNAL_MODES = ("wal", "delete")

_SCHEMA = """
CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE scenarios (
    name TEXT PRIMARY KEY, position INTEGER NOT NULL, definition TEXT NOT NULL,
    requested INTEGER NOT NULL, n INTEGER NOT NULL, base TEXT NOT NULL,
    grid TEXT NOT NULL);
CREATE TABLE replicates (
    scenario TEXT NOT NULL, replicate INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    n INTEGER, deaths INTEGER,
    PRIMARY KEY (scenario, replicate)) WITHOUT ROWID;
CREATE TABLE results (
    scenario TEXT NOT NULL, replicate INTEGER NOT NULL, method TEXT NOT NULL,
    estimand TEXT NOT NULL, estimate REAL, se REAL, p REAL, p_naive REAL,
    ci_lower REAL, ci_upper REAL, ok INTEGER NOT NULL, at_boundary INTEGER,
    low_share REAL, flag TEXT NOT NULL,
    PRIMARY KEY (scenario, replicate, method, estimand)) WITHOUT ROWID;
CREATE TABLE failures (
    scenario TEXT NOT NULL, replicate INTEGER NOT NULL, method TEXT NOT NULL,
    estimand TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (scenario, replicate, method, estimand, kind, message)) WITHOUT ROWID;
CREATE TABLE reference (
    scenario TEXT NOT NULL, method TEXT NOT NULL, estimand TEXT NOT NULL,
    value REAL, se REAL, n INTEGER NOT NULL, label TEXT NOT NULL,
    PRIMARY KEY (scenario, method, estimand)) WITHOUT ROWID;
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, command TEXT NOT NULL,
    written INTEGER NOT NULL DEFAULT 0, outcome TEXT);
"""
_APPEND_ONLY = ("replicates", "results", "failures", "reference")


def _triggers() -> str:
    parts = []
    for table in _APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            parts.append(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;")
    return "\n".join(parts)


class StudyFileError(InputError):
    """A study file that cannot be used: not a study, another study, unreadable."""

    def __init__(self, path: str | Path, message: str, hint: str | None = None) -> None:
        super().__init__("out", str(path), None, "a study file of this study, or a new path",
                         message, hint)


@dataclass(frozen=True)
class ResultRow:
    """One estimate of one method in one replicate (a row of ``results``)."""

    method: str
    estimand: str
    estimate: float | None
    se: float | None
    p: float | None
    p_naive: float | None
    ci_lower: float | None
    ci_upper: float | None
    ok: bool
    at_boundary: bool | None
    low_share: float | None
    flag: str


@dataclass(frozen=True)
class LedgerEntry:
    """One line of the failure ledger: what went wrong where (method/estimand may be '')."""

    method: str
    estimand: str
    kind: str
    message: str
    replicate: int | None = None  # None: the record's own replicate


@dataclass(frozen=True)
class ReplicateRecord:
    """Everything one replicate writes, committed in one transaction."""

    scenario: str
    replicate: int
    status: str
    n: int | None
    deaths: int | None
    rows: tuple[ResultRow, ...] = ()
    ledger: tuple[LedgerEntry, ...] = field(default=())


#: Columns of a ``results`` row, in the table's order.
RESULT_COLUMNS = ("scenario", "replicate", "method", "estimand", "estimate", "se", "p",
                  "p_naive", "ci_lower", "ci_upper", "ok", "at_boundary", "low_share", "flag")


@dataclass(frozen=True)
class ResultBlock:
    """What a block of replicates of one scenario writes, as rows ready for SQLite.

    ``replicates`` rows are ``(scenario, replicate, status, n, deaths)``, ``results`` rows
    follow :data:`RESULT_COLUMNS` (None for a missing number) and ``failures`` rows are
    ``(scenario, replicate, method, estimand, kind, message)``. Plain lists of tuples
    travel cheaply between processes and go straight into ``executemany``.
    """

    scenario: str
    replicates: list[tuple] = field(default_factory=list)
    results: list[tuple] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)

    @classmethod
    def of_records(cls, records: Sequence[ReplicateRecord]) -> ResultBlock:
        """The block of some replicates of one scenario given one by one."""
        if not records:
            raise ValueError("a block needs at least one replicate")
        scenario = records[0].scenario
        block = cls(scenario)
        for record in records:
            if record.scenario != scenario:
                raise ValueError("the replicates of a block belong to one scenario")
            block.replicates.append((scenario, record.replicate, record.status, record.n,
                                     record.deaths))
            block.results.extend(
                (scenario, record.replicate, row.method, row.estimand,
                 finite_or_none(row.estimate), finite_or_none(row.se), finite_or_none(row.p),
                 finite_or_none(row.p_naive), finite_or_none(row.ci_lower),
                 finite_or_none(row.ci_upper), int(bool(row.ok)),
                 None if row.at_boundary is None else int(bool(row.at_boundary)),
                 finite_or_none(row.low_share), row.flag) for row in record.rows)
            block.failures.extend(
                (scenario, record.replicate if e.replicate is None else e.replicate,
                 e.method, e.estimand, e.kind, e.message) for e in record.ledger)
        return block

    @property
    def failed(self) -> int:
        """Replicates of the block that failed as a whole."""
        return sum(row[2] == "failed" for row in self.replicates)


@dataclass(frozen=True)
class ScenarioEntry:
    """A scenario of a study as the file records it."""

    name: str
    definition: dict[str, Any]
    requested: int
    #: Patients per cohort.
    n: int
    #: The scenario it was made from (its own name outside a design grid).
    base: str
    #: ``(key, value)`` pairs of the design grid that made it, in its name's order.
    grid: tuple[tuple[str, Any], ...] = ()


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ResultColumns:
    """One (scenario, method, estimand)'s rows of ``results``, as columns in replicate
    order: floats with NaN for NULL; ``ok`` and ``at_boundary`` as bools."""

    #: The numeric columns read, in this order.
    NUMERIC = ("replicate", "estimate", "se", "p", "p_naive", "ci_lower", "ci_upper", "ok",
               "at_boundary", "low_share")

    replicate: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    p: np.ndarray
    p_naive: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    ok: np.ndarray
    at_boundary: np.ndarray
    low_share: np.ndarray
    #: Rows not ``ok``, counted by their flag.
    flags: dict[str, int]

    @classmethod
    def of(cls, table: np.ndarray, flags: dict[str, int]) -> "ResultColumns":
        """From a (rows, len(NUMERIC)) float table."""
        columns = dict(zip(cls.NUMERIC, table.T))
        for name in ("ok", "at_boundary"):
            columns[name] = np.nan_to_num(columns[name], nan=0.0) != 0
        return cls(**columns, flags=flags)

    @classmethod
    def empty(cls) -> "ResultColumns":
        """No rows."""
        return cls.of(np.empty((0, len(cls.NUMERIC))), {})

    def __len__(self) -> int:
        return len(self.replicate)


class Store:
    """An open study file.

    Parameters
    ----------
    path : str or Path
        The SQLite file. Created (with its tables) if it does not exist and ``create``.
    create : bool
        False to refuse a missing file (``summarize``).
    journal : {"wal", "delete"}
        SQLite journal mode for a new file (see the module notes).
    """

    def __init__(self, path: str | Path, *, create: bool = True, journal: str = "wal") -> None:
        self.path = Path(path)
        self._lock: IO[bytes] | None = None
        if journal not in JOURNAL_MODES:
            raise InputError("journal", journal, None, " or ".join(JOURNAL_MODES),
                             f"journal must be one of {', '.join(JOURNAL_MODES)}; got {journal!r}")
        shown = str(self.path)
        # What to do about a file that is not usable depends on who opened it.
        fix = ("give --out a new file name" if create else
               "give the path of a study file written by 'hcc-prognosis simulate'")
        if self.path.is_dir():
            raise StudyFileError(path, f"{shown!r} is a folder, not a study file", fix)
        if not self.path.exists():
            if not create:
                raise StudyFileError(path, f"there is no file {shown!r}",
                                     "run 'hcc-prognosis simulate ... --out FILE' first, or "
                                     "check the path")
            folder = self.path.parent
            if not folder.is_dir():
                raise StudyFileError(path, f"the folder {str(folder)!r} of {shown!r} does "
                                           "not exist", "create it first, or choose another path")
        exists = self.path.exists() and self.path.stat().st_size > 0
        if self.path.exists() and not exists and not create:
            raise StudyFileError(path, f"{shown!r} is an empty file, not a study file "
                                       "(a run may have stopped before writing anything)",
                                 "run 'hcc-prognosis simulate ... --out' on it to start the "
                                 "study")
        try:
            self._db = sqlite3.connect(shown, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA busy_timeout = 30000")
            if exists:
                self._check_is_study(fix)
            else:
                self._create(journal)
            self._db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StudyFileError(path, f"{shown!r} is not a readable study file ({exc})",
                                 fix) from None
        except sqlite3.OperationalError as exc:  # pragma: no cover - e.g. no permission
            raise StudyFileError(path, f"cannot open {shown!r}: {exc}",
                                 "check the path and its permissions") from None

    def lock_for_writing(self) -> None:
        """Take the file for this process's run, or refuse if another run holds it.

        An advisory lock (``flock``) on a sidecar ``<file>.lock``: two ``simulate`` runs
        on one study file would both compute every replicate and one would write none.
        The lock goes with the process, so a killed run never leaves it held.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        while True:
            handle = open(lock_path, "a+b")  # noqa: SIM115 - held until close()
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().decode("ascii", "replace").strip() or "another process"
                handle.close()
                raise StudyFileError(self.path, f"{str(self.path)!r} is being run by {holder}",
                                     "wait for that run to finish (or stop it), or give "
                                     "--out another file") from None
            # The holder before us may have removed the file while we waited for it:
            # then our lock is on a file nobody else sees, so take the new one.
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}".encode("ascii",
                                                                              "replace"))
        handle.flush()
        self._lock = handle

    # --- set-up -------------------------------------------------------------------------
    def _create(self, journal: str) -> None:
        self._db.execute(f"PRAGMA journal_mode = {journal}")
        self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        # One script, one transaction: a file is either a complete study file or empty.
        self._db.executescript(
            "BEGIN IMMEDIATE;\n" + _SCHEMA + _triggers()
            + f"\nINSERT INTO study VALUES ('schema', '{SCHEMA_VERSION}');\nCOMMIT;")

    def _check_is_study(self, fix: str) -> None:
        (app_id,) = self._db.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            raise StudyFileError(self.path, f"{str(self.path)!r} is not an hcc-prognosis "
                                            "study file", fix)
        row = self._db.execute("SELECT value FROM study WHERE key = 'schema'").fetchone()
        layout = row[0] if row else "?"
        if layout == "1":
            raise StudyFileError(
                self.path, f"{str(self.path)!r} is a study file of layout 1, written before "
                           "design grids (one cohort size for the whole study); this version "
                           f"of hcc-prognosis reads layout {SCHEMA_VERSION}, where each "
                           "scenario has its own cohort size",
                "re-run the study into a new file with this version, or read this one "
                "with the hcc-prognosis version that wrote it (its fingerprint names it)")
        if layout != str(SCHEMA_VERSION):
            raise StudyFileError(self.path, f"{str(self.path)!r} has study file layout "
                                            f"{layout}, this version reads {SCHEMA_VERSION}",
                                 "re-run the study into a new file")

    def transaction(self) -> _Transaction:
        """Context manager: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""
        return _Transaction(self._db)

    def close(self) -> None:
        """Close the file (checkpoints the write-ahead log) and release the run lock."""
        self._db.close()
        if self._lock is not None:
            lock_path = Path(self._lock.name)
            self._lock.close()
            self._lock = None
            lock_path.unlink(missing_ok=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the study's identity -------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any] | None:
        """The recorded fingerprint, or None for a new file."""
        row = self._db.execute("SELECT value FROM study WHERE key = 'fingerprint'").fetchone()
        return None if row is None else json.loads(row[0])

    def claim(self, fingerprint: dict[str, Any]) -> None:
        """Record ``fingerprint`` in a new file, or check that it is the file's.

        Raises
        ------
        StudyFileError
            The file holds another study; the message lists what differs.
        """
        text = canonical_json(fingerprint)
        with self.transaction():
            recorded = self.fingerprint()
            if recorded is None:
                self._db.execute("INSERT INTO study VALUES ('fingerprint', ?)", (text,))
                return
        if canonical_json(recorded) != text:
            keys = sorted(set(recorded) | set(fingerprint))
            diff = [f"{k}: file has {recorded.get(k)!r}, this run {fingerprint.get(k)!r}"
                    for k in keys if recorded.get(k) != fingerprint.get(k)]
            raise StudyFileError(
                self.path, f"{str(self.path)!r} holds another study ({'; '.join(diff)})",
                "re-run with the file's settings to resume it, or give --out a new file")

    def register_scenario(self, name: str, definition: dict[str, Any], requested: int, *,
                          n: int, base: str | None = None,
                          grid: Sequence[tuple[str, Any]] = ()) -> None:
        """Add a scenario to the study, or check that it is unchanged.

        ``n`` is its cohort size, ``base`` the scenario it was made from (default: itself)
        and ``grid`` the design-grid values that made it. ``requested`` (the replicate
        count asked for) only ever grows.
        """
        text = canonical_json(definition)
        grid_text = canonical_json([[key, value] for key, value in grid])
        with self.transaction():
            row = self._db.execute("SELECT definition, requested, n FROM scenarios "
                                   "WHERE name = ?", (name,)).fetchone()
            if row is None:
                (position,) = self._db.execute("SELECT COUNT(*) FROM scenarios").fetchone()
                self._db.execute("INSERT INTO scenarios VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (name, position, text, int(requested), int(n),
                                  base or name, grid_text))
                return
            if row[0] == text and row[2] == int(n):
                if requested > row[1]:
                    self._db.execute("UPDATE scenarios SET requested = ? WHERE name = ?",
                                     (int(requested), name))
                return
        recorded = json.loads(row[0])
        diff = [k for k in sorted(set(recorded) | set(definition))
                if recorded.get(k) != definition.get(k)]
        hint = "give the changed scenario another name, or use a new --out file"
        if row[2] != int(n):
            diff.append(f"n (file has {row[2]}, this run {int(n)})")
            hint = (f"a scenario keeps its cohort size; to study several in one file, give "
                    f"them as a design grid (--grid n={row[2]},{int(n)}), or use a new "
                    "--out file")
        raise StudyFileError(
            self.path, f"scenario {name!r} in {str(self.path)!r} was defined differently "
                       f"(differs in: {', '.join(diff)})", hint)

    def scenarios(self) -> list[tuple[str, dict[str, Any], int]]:
        """``(name, definition, requested)`` of each scenario, in the order added."""
        return [(e.name, e.definition, e.requested) for e in self.scenario_entries()]

    def scenario_entries(self) -> list[ScenarioEntry]:
        """Each scenario with its cohort size and grid values, in the order added."""
        rows = self._db.execute("SELECT name, definition, requested, n, base, grid "
                                "FROM scenarios ORDER BY position").fetchall()
        return [ScenarioEntry(name, json.loads(text), requested, n, base,
                              tuple((key, value) for key, value in json.loads(grid)))
                for name, text, requested, n, base, grid in rows]

    # --- settings -------------------------------------------------------------------------
    def setting(self, key: str) -> Any:
        """A JSON value of the ``study`` table (None if absent), e.g. ``"stopping"``."""
        row = self._db.execute("SELECT value FROM study WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        """Record (or replace) a JSON value of the ``study`` table; not the fingerprint."""
        if key in ("schema", "fingerprint"):
            raise ValueError(f"{key!r} is not a setting")
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO study VALUES (?, ?)",
                             (key, canonical_json(value)))

    # --- replicates -----------------------------------------------------------------------
    def finished(self, scenario: str) -> set[int]:
        """Replicate numbers of ``scenario`` already in the file (ok or failed)."""
        rows = self._db.execute("SELECT replicate FROM replicates WHERE scenario = ?",
                                (scenario,))
        return {r for (r,) in rows}

    def write_block(self, block: ResultBlock) -> int:
        """Write a block of replicates in one transaction; returns how many were written.

        Replicates already in the file (e.g. written by another process running the same
        study) are left as they are, and their rows are not written again.
        """
        if not block.replicates:
            return 0
        numbers = [row[1] for row in block.replicates]
        replicates, results, failures = block.replicates, block.results, block.failures
        with self.transaction():
            present = {r for (r,) in self._db.execute(
                "SELECT replicate FROM replicates WHERE scenario = ? AND replicate "
                "BETWEEN ? AND ?", (block.scenario, min(numbers), max(numbers)))}
            present &= set(numbers)
            if present:
                replicates = [row for row in replicates if row[1] not in present]
                results = [row for row in results if row[1] not in present]
                # A block's warnings name its first replicate, written or not.
                failures = [row for row in failures
                            if row[1] not in present or row[4] == "warning"]
                if not replicates:
                    return 0
            self._db.executemany("INSERT INTO replicates VALUES (?, ?, ?, ?, ?)", replicates)
            self._db.executemany("INSERT INTO results VALUES "
                                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
            self._db.executemany("INSERT OR IGNORE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                                 failures)
        return len(replicates)

    def write_replicate(self, record: ReplicateRecord) -> bool:
        """Write one replicate's rows in one transaction (see :meth:`write_block`).

        Returns False (and writes nothing) if the replicate is already in the file.
        """
        return self.write_block(ResultBlock.of_records([record])) == 1

    def replicate_counts(self, scenario: str) -> dict[str, int]:
        """``{"ok": .., "failed": ..}`` replicates of ``scenario`` in the file."""
        counts = {"ok": 0, "failed": 0}
        for status, count in self._db.execute(
                "SELECT status, COUNT(*) FROM replicates WHERE scenario = ? GROUP BY status",
                (scenario,)):
            counts[status] = count
        return counts

    def results(self, scenario: str) -> list[tuple]:
        """Rows of ``results`` for ``scenario``: ``(replicate, method, estimand, estimate,
        se, p, p_naive, ci_lower, ci_upper, ok, at_boundary, low_share, flag)``, ordered."""
        return list(self.iter_results(scenario))

    def iter_results(self, scenario: str) -> Iterator[tuple]:
        """The rows of :meth:`results`, read as they are needed (for a long export)."""
        cursor = self._db.execute(
            "SELECT replicate, method, estimand, estimate, se, p, p_naive, ci_lower, "
            "ci_upper, ok, at_boundary, low_share, flag FROM results WHERE scenario = ? "
            "ORDER BY replicate, method, estimand", (scenario,))
        while rows := cursor.fetchmany(10_000):
            yield from rows

    def result_columns(self, scenario: str, chunk_rows: int = 65_536
                       ) -> dict[tuple[str, str], ResultColumns]:
        """The results of ``scenario`` as columns per ``(method, estimand)``, in replicate
        order.

        Rows are read ``chunk_rows`` at a time and kept as float arrays (80 bytes a row),
        never all as Python tuples: summarising 10^5 replicates of tog2025 (3 million
        rows) peaks at 581 MiB instead of 1.6 GiB.
        """
        cursor = self._db.execute(
            "SELECT method, estimand, " + ", ".join(ResultColumns.NUMERIC) + ", flag "
            "FROM results WHERE scenario = ? ORDER BY replicate, method, estimand",
            (scenario,))
        blocks: dict[tuple[str, str], list[np.ndarray]] = {}
        flags: dict[tuple[str, str], dict[str, int]] = {}
        ok_at = ResultColumns.NUMERIC.index("ok")
        while rows := cursor.fetchmany(chunk_rows):
            groups: dict[tuple[str, str], list[tuple]] = {}
            for row in rows:
                groups.setdefault((row[0], row[1]), []).append(row[2:])
            for key, group in groups.items():
                # NULL (None) becomes NaN in a float array.
                blocks.setdefault(key, []).append(
                    np.array([r[:-1] for r in group], dtype=float))
                counts = flags.setdefault(key, {})
                for r in group:
                    if not r[ok_at]:
                        counts[r[-1]] = counts.get(r[-1], 0) + 1
        return {key: ResultColumns.of(np.concatenate(parts), flags[key])
                for key, parts in blocks.items()}

    def failures(self, scenario: str | None = None) -> list[tuple]:
        """The ledger: ``(scenario, replicate, method, estimand, kind, message)`` rows."""
        if scenario is None:
            return self._db.execute("SELECT * FROM failures ORDER BY 1, 2, 3, 4, 5").fetchall()
        return self._db.execute("SELECT * FROM failures WHERE scenario = ? ORDER BY 2, 3, 4, 5",
                                (scenario,)).fetchall()

    def table(self, name: str) -> list[tuple]:
        """All rows of a results table, in key order (for comparisons and export)."""
        keys = {"replicates": "1, 2", "results": "1, 2, 3, 4", "failures": "1, 2, 3, 4, 5, 6",
                "reference": "1, 2, 3"}
        if name not in keys:
            raise ValueError(f"unknown table {name!r}; known: {', '.join(keys)}")
        return self._db.execute(f"SELECT * FROM {name} ORDER BY {keys[name]}").fetchall()

    # --- reference values -----------------------------------------------------------------
    def has_reference(self, scenario: str) -> bool:
        """Whether the scenario's reference values are stored."""
        return self._db.execute("SELECT 1 FROM reference WHERE scenario = ? LIMIT 1",
                                (scenario,)).fetchone() is not None

    def write_reference(self, scenario: str,
                        rows: Iterable[tuple[str, str, float | None, float | None, str]],
                        n: int) -> None:
        """Store ``(method, estimand, value, se, label)`` reference rows of ``scenario``,
        all in one transaction (a second call for the same scenario does nothing)."""
        with self.transaction():
            if self._db.execute("SELECT 1 FROM reference WHERE scenario = ? LIMIT 1",
                                (scenario,)).fetchone():
                return
            self._db.executemany(
                "INSERT INTO reference VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(scenario, method, estimand, finite_or_none(value), finite_or_none(se), int(n),
                  label) for method, estimand, value, se, label in rows])

    def reference(self, scenario: str) -> dict[tuple[str, str], tuple[float | None,
                                                                        float | None, int, str]]:
        """``(method, estimand) -> (value, se, n, label)`` of ``scenario``."""
        rows = self._db.execute(
            "SELECT method, estimand, value, se, n, label FROM reference WHERE scenario = ?",
            (scenario,))
        return {(m, e): (v, s, n, label) for m, e, v, s, n, label in rows}

    # --- run log --------------------------------------------------------------------------
    def start_run(self, command: Sequence[str] | str) -> int:
        """Log the start of a ``simulate`` command; returns the run's id."""
        text = command if isinstance(command, str) else " ".join(command)
        with self.transaction():
            cursor = self._db.execute("INSERT INTO runs (started, command) VALUES (?, ?)",
                                      (_now(), text))
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, written: int, outcome: str) -> None:
        """Log the end of a run: replicates written and ``finished``/``interrupted``."""
        with self.transaction():
            self._db.execute("UPDATE runs SET finished = ?, written = ?, outcome = ? "
                             "WHERE id = ?", (_now(), int(written), outcome, run_id))

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` for a sound file)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        if self._db.in_transaction:  # left open by an interruption (Ctrl-C) mid-way
            self._db.execute("ROLLBACK")
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")
