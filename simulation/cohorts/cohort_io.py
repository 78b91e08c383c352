"""Reading and writing a cohort CSV (one row per patient), with every problem reported.

The columns are those of the project's interface (section 3), in this order:
``id, age, sex, ecog, child_pugh_score, etiology, cirrhosis, extrahepatic_spread,
afp_ng_ml, albumin_g_l, lymphocytes_10e9_l, bilirubin_mg_dl, inr, treatment, os_months,
os_event, pfs_months, pfs_event``. An empty cell is a missing value; it is allowed
everywhere and handled by the analysis (complete cases within each analysis).

:func:`read_cohort` returns ``dict[str, numpy.ndarray]``: numbers and 0/1 codes as float
arrays with NaN for missing, text columns (``id``, ``sex``, ``etiology``, ``treatment``)
as str arrays with ``""`` for missing. Columns not in the interface are kept as text.
A file with problems raises :class:`CohortFileError`, which lists every problem at once
(row, column, value, what is allowed), not just the first.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

import numpy as np

from calculator.columns import column_key
from calculator.errors import InputError
from calculator.formatting import plain
from calculator.number_entry import read_number
from calculator.units import QUANTITIES, measure
from simulation.cohorts.schema import (
    COLUMN_NAMES,
    COLUMNS_BY_NAME,
    TEXT_COLUMNS,
    Column,
)

# ---------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CohortProblem:
    """One thing wrong with a cohort file.

    ``row`` is the patient's 1-based data row (the header is not counted) and ``line``
    the line in the file; both are None for a problem of the file or its header.
    """

    row: int | None
    line: int | None
    column: str | None
    value: str | None
    allowed: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row} (line {self.line})")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class CohortFileError(ValueError):
    """A cohort file that cannot be analysed; :attr:`problems` lists every problem."""

    def __init__(self, problems: Iterable[CohortProblem]) -> None:
        self.problems: tuple[CohortProblem, ...] = tuple(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the cohort file: "
                         f"{first}{more}")

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """``{"errors": [{"row", "line", "column", "value", "allowed", "message"}, ...]}``."""
        return {"errors": [asdict(p) for p in self.problems]}


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------

class _CellError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _number(column: Column, text: str) -> float:
    """A number from a cell: a plain float as this module writes them, or else through the
    calculator's one number parser (decimal comma, a possible thousands separator decided
    by the column's limits), whose message is reused."""
    try:
        value = float(text)
        if math.isfinite(value) and "_" not in text:
            return value
    except ValueError:
        pass
    low, high = column.limits
    try:
        return float(read_number(text, column.name, column.name, unit=column.unit or None,
                                 fits=lambda v: low <= v <= high).value)
    except InputError as err:
        raise _CellError(err.message) from None


def _lab_problem(column: Column, text: str) -> str:
    """The calculator's verdict on an out-of-range lab value, phrased for a CSV column."""
    quantity = QUANTITIES[column.quantity or ""]
    try:
        measure(quantity.field, text, quantity.canonical_unit)
    except InputError as err:
        hint = err.hint or ""
        if hint.startswith("looks like"):
            hint = (f"{hint.split(';')[0]}; this column takes {quantity.canonical_unit}, "
                    f"so convert it")
        return f"{column.name} must be {column.allowed}; got {text}" + (
            f" ({hint})" if hint else "")
    return f"{column.name} must be {column.allowed}; got {text}"


#: Words people write for a missing value; the interface wants an empty cell.
MISSING_WORDS = frozenset({"na", "n/a", "nan", "null", "none", "missing", "-", ".", "?"})


def _cell(column: Column, text: str) -> Any:
    """Parse one non-empty cell of a known column, or raise :class:`_CellError`."""
    if text.lower() in MISSING_WORDS and column.kind != "text":
        raise _CellError(f"{column.name} must be {column.allowed}; got {text!r} (leave the "
                         f"cell empty for a missing value)")
    if column.kind == "text":
        return text
    if column.kind == "level":
        folded = text.upper() if column.name == "sex" else text.lower()
        if folded in column.levels:
            return folded
        raise _CellError(f"{column.name} must be {column.allowed}; got {text!r}")
    value = _number(column, text)
    if column.kind == "code":
        if value in column.levels:
            return value
        raise _CellError(f"{column.name} must be {column.allowed}; got {text}")
    low, high = column.limits
    if low <= value <= high:
        return value
    if column.kind == "lab":
        raise _CellError(_lab_problem(column, text))
    unit = f" {column.unit}" if column.unit else ""
    hint = f" ({column.hint})" if column.hint and value > high else ""
    raise _CellError(f"{column.name} must be between {plain(low)} and {plain(high)}{unit}; "
                     f"got {text}{hint}")


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------

def _open(source: str | os.PathLike[str] | IO[str]) -> IO[str]:
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(source, encoding="utf-8-sig", newline="")
        except FileNotFoundError:
            raise CohortFileError([CohortProblem(
                None, None, None, str(source), "an existing CSV file",
                f"cannot find the file {os.fspath(source)!r}")]) from None
        except OSError as err:
            raise CohortFileError([CohortProblem(
                None, None, None, str(source), "a readable CSV file",
                f"cannot read {os.fspath(source)!r}: {err.strerror or err}")]) from None
    return source


def read_cohort(source: str | os.PathLike[str] | IO[str]) -> dict[str, np.ndarray]:
    """Read and check a cohort CSV.

    Parameters
    ----------
    source : path or text file object
        A CSV with a header row naming the columns (any order; names are matched as
        :func:`calculator.columns.column_key` does: without regard to case, surrounding
        spaces or ``-``/``_``). Empty cells are missing values.

    Returns
    -------
    dict of str to ndarray
        The interface columns in CSV order (see the module docstring), then any other
        columns as text.

    Raises
    ------
    CohortFileError
        Listing every problem: unreadable file, missing or repeated columns, rows with
        the wrong number of cells, values outside what a column allows (with the row,
        line, column, value and what is allowed), repeated ids, PFS longer than OS.

    Examples
    --------
    >>> row = "1,70,M,1,6,hbv,1,0,250,35,1.1,1,1.1,sorafenib,6.5,1,4.1,1"
    >>> text = ",".join(COLUMN_NAMES) + "\\n" + row + "\\n"
    >>> cohort = read_cohort(io.StringIO(text))
    >>> float(cohort["albumin_g_l"][0]), str(cohort["sex"][0])
    (35.0, 'M')
    """
    handle = _open(source)
    try:
        try:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader]
        except (csv.Error, UnicodeDecodeError) as err:
            raise CohortFileError([CohortProblem(None, None, None, None, "a UTF-8 CSV file",
                                                 f"the file is not a readable CSV: {err}")]
                                  ) from None
    finally:
        if handle is not source:
            handle.close()
    return _parse(rows)


def _parse(rows: list[tuple[int, list[str]]]) -> dict[str, np.ndarray]:
    """Check ``(line, cells)`` rows, the first non-blank one being the header."""
    problems: list[CohortProblem] = []
    header_at = next((i for i, (_, r) in enumerate(rows) if any(c.strip() for c in r)), None)
    if header_at is None:
        raise CohortFileError([CohortProblem(
            None, None, None, None, f"a header row: {', '.join(COLUMN_NAMES)}",
            "the file is empty; it needs a header row naming the columns "
            f"({', '.join(COLUMN_NAMES)}) and one row per patient")])
    header_line, header_cells = rows[header_at]
    header = [column_key(name) for name in header_cells]
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in seen:
            problems.append(CohortProblem(None, header_line, name, name,
                                          "each column once",
                                          f"column {name!r} appears twice in the header "
                                          f"(positions {seen[name] + 1} and {position + 1})"))
        else:
            seen[name] = position
    missing = [c for c in COLUMN_NAMES if c not in seen]
    if missing:
        problems.append(CohortProblem(
            None, header_line, ", ".join(missing), None, ", ".join(COLUMN_NAMES),
            f"the header lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; a cohort CSV has the columns {', '.join(COLUMN_NAMES)} "
            f"(leave a cell empty for a missing value, but keep the column)"))
    if problems:
        raise CohortFileError(problems)

    names = [name for name in header if name]
    values: dict[str, list[Any]] = {name: [] for name in names}
    data_rows = 0
    lines: list[int] = []
    for line, cells in rows[header_at + 1:]:
        if not any(cell.strip() for cell in cells):
            continue
        data_rows += 1
        lines.append(line)
        if len(cells) != len(header):
            problems.append(CohortProblem(
                data_rows, line, None, ",".join(cells), f"{len(header)} cells",
                f"the row has {len(cells)} cells but the header has {len(header)}; "
                f"check for a missing or extra comma"))
            continue
        for name, cell in zip(header, cells):
            if not name:
                continue
            text = cell.strip()
            column = COLUMNS_BY_NAME.get(name)
            if not text:
                values[name].append("" if column is None or name in TEXT_COLUMNS
                                    else math.nan)
                continue
            if column is None:
                values[name].append(text)
                continue
            try:
                values[name].append(_cell(column, text))
            except _CellError as err:
                problems.append(CohortProblem(data_rows, line, name, cell, column.allowed,
                                              err.message))
                values[name].append("" if name in TEXT_COLUMNS else math.nan)
    if data_rows == 0:
        problems.append(CohortProblem(None, None, None, None, "at least one patient row",
                                      "the file has a header but no patient rows"))
    if problems:
        raise CohortFileError(problems)

    cohort: dict[str, np.ndarray] = {}
    for name in list(COLUMN_NAMES) + [n for n in names if n not in COLUMNS_BY_NAME]:
        if name in TEXT_COLUMNS or name not in COLUMNS_BY_NAME:
            cohort[name] = np.array(values[name], dtype=str)
        else:
            cohort[name] = np.array(values[name], dtype=float)
    _check_rows(cohort, lines)
    return cohort


def _check_rows(cohort: Mapping[str, np.ndarray], lines: Sequence[int]) -> None:
    """Problems that involve more than one cell: repeated ids, PFS longer than OS."""
    problems: list[CohortProblem] = []
    first_row: dict[str, int] = {}
    for row, patient in enumerate(cohort["id"], start=1):
        if not patient:
            continue
        if patient in first_row:
            problems.append(CohortProblem(row, lines[row - 1], "id", str(patient),
                                          "a different id for each patient",
                                          f"id {patient!r} is repeated (first at row "
                                          f"{first_row[patient]}); is a patient entered twice?"))
        else:
            first_row[str(patient)] = row
    with np.errstate(invalid="ignore"):
        longer = np.flatnonzero(cohort["pfs_months"] > cohort["os_months"])
    for i in map(int, longer):
        problems.append(CohortProblem(
            i + 1, lines[i], "pfs_months", repr(float(cohort["pfs_months"][i])),
            f"at most os_months ({float(cohort['os_months'][i]):g})",
            f"pfs_months {float(cohort['pfs_months'][i]):g} is longer than os_months "
            f"{float(cohort['os_months'][i]):g}; PFS ends at progression or death, so it "
            f"cannot exceed OS"))
    if problems:
        raise CohortFileError(problems)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, np.str_)):
        return str(value)
    number = float(value)
    if math.isnan(number):
        return ""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def write_cohort(cohort: Mapping[str, Any], destination: str | os.PathLike[str] | IO[str],
                 extra_columns: Sequence[str] = ()) -> None:
    """Write a cohort as CSV: the interface columns in order, then ``extra_columns``.

    Missing values (NaN, None, ``""``) become empty cells; numbers are written in their
    shortest round-trip form, so :func:`read_cohort` gives back the same floats.
    """
    names = list(COLUMN_NAMES) + [c for c in extra_columns if c not in COLUMNS_BY_NAME]
    absent = [c for c in names if c not in cohort]
    if absent:
        raise ValueError(f"the cohort lacks the column(s) {', '.join(absent)}; a cohort "
                         f"has {', '.join(COLUMN_NAMES)}")
    columns = [np.asarray(cohort[name]).tolist() for name in names]
    own = isinstance(destination, (str, os.PathLike))
    handle: IO[str] = (open(destination, "w", encoding="utf-8", newline="")
                       if isinstance(destination, (str, os.PathLike)) else destination)
    try:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*columns):
            writer.writerow([_format(value) for value in row])
    finally:
        if own:
            handle.close()


def cohort_to_csv_text(cohort: Mapping[str, Any]) -> str:
    """The CSV text of :func:`write_cohort` (for tests and small cohorts)."""
    buffer = io.StringIO()
    write_cohort(cohort, buffer)
    return buffer.getvalue()
