"""R as the oracle of the statistics tests: run an R script on data a test wrote, read R's
answers back.

A test writes its cohorts as tables (columns of numbers, many cohorts stacked in long
format with a ``cohort`` column) and runs ONE Rscript call on all of them, since R is
slow to start. Numbers cross in both directions as C99 hexadecimal floats (``%a``), so R
sees exactly the doubles the project analysed and the test reads exactly the doubles R
computed: no decimal rounding can create or break a tie.

In the R script:

- ``read_table("name")`` returns the data frame the test passed as ``tables["name"]``;
- ``write_table(df, "name")`` hands a data frame of numbers back; :func:`run_r` returns
  it as ``{"name": {column: ndarray}}`` (R's NA becomes NaN).

If Rscript or one of the R packages is missing, the test fails (it does not skip) and
says to run ``tests/install-deps.sh``.
"""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

#: R packages of the Debian archive the oracle tests use (installed by install-deps.sh).
R_PACKAGES = ("survival", "maxstat", "pROC")
INSTALL_HINT = ("run `bash tests/install-deps.sh` as root: it installs R with the Debian "
                "packages r-base-core, r-cran-survival, r-cran-maxstat and r-cran-proc")

_PRELUDE = r"""
options(warn = 1)
suppressPackageStartupMessages({
%(libraries)s
})
.oracle_dir <- %(folder)s
read_table <- function(name) {
  d <- read.csv(file.path(.oracle_dir, paste0("in_", name, ".csv")),
                colClasses = "character", check.names = FALSE)
  for (column in names(d)) d[[column]] <- as.numeric(d[[column]])
  d
}
write_table <- function(d, name) {
  d <- as.data.frame(d)
  out <- as.data.frame(lapply(d, function(x) sprintf("%%a", as.numeric(x))),
                       check.names = FALSE)
  write.csv(out, file.path(.oracle_dir, paste0("out_", name, ".csv")),
            row.names = FALSE, quote = FALSE)
}
"""


def rscript() -> str:
    """The Rscript executable; fails the calling test with the install hint if absent."""
    path = shutil.which("Rscript")
    if path is None:
        pytest.fail(f"Rscript is not installed: {INSTALL_HINT}", pytrace=False)
    return path


def _hex(value: Any) -> str:
    x = float(value)
    return "NA" if math.isnan(x) else x.hex() if math.isfinite(x) else ("Inf" if x > 0
                                                                         else "-Inf")


def _number(text: str) -> float:
    if text in ("NA", "NaN"):
        return math.nan
    if text in ("Inf", "-Inf"):
        return math.inf if text == "Inf" else -math.inf
    return float.fromhex(text)


def write_table(path: Path, columns: Mapping[str, Any]) -> None:
    """One CSV of equal-length numeric columns, every value as a hexadecimal float."""
    arrays = {name: np.asarray(values, dtype=float).reshape(-1)
              for name, values in columns.items()}
    lengths = {a.size for a in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of unequal length: { {k: v.size for k, v in arrays.items()} }")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(arrays))
        writer.writerows(zip(*([_hex(v) for v in a] for a in arrays.values())))


def read_table(path: Path) -> dict[str, np.ndarray]:
    """A CSV written by the R side's ``write_table``, as float columns."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    return {name: np.array([_number(row[k]) for row in body], dtype=float)
            for k, name in enumerate(header)}


def long_format(cohorts: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Stack cohorts (mappings of equal-length columns) into one table with a
    ``cohort`` column numbering them from 1."""
    names = list(cohorts[0])
    out = {"cohort": np.concatenate([np.full(len(np.asarray(c[names[0]])), k + 1.0)
                                     for k, c in enumerate(cohorts)])}
    for name in names:
        out[name] = np.concatenate([np.asarray(c[name], dtype=float).reshape(-1)
                                    for c in cohorts])
    return out


def run_r(script: str, tables: Mapping[str, Mapping[str, Any]], folder: Path,
          packages: Sequence[str] = R_PACKAGES, timeout: float = 300.0
          ) -> dict[str, dict[str, np.ndarray]]:
    """Run ``script`` with Rscript on ``tables``; return every table it wrote.

    Parameters
    ----------
    script : str
        R code; ``read_table`` and ``write_table`` are defined, ``packages`` loaded.
    tables : mapping of name -> mapping of column -> array
        Numbers only (NaN becomes NA).
    folder : Path
        A scratch directory (pytest's ``tmp_path``).
    """
    executable = rscript()
    folder.mkdir(parents=True, exist_ok=True)
    for name, columns in tables.items():
        write_table(folder / f"in_{name}.csv", columns)
    libraries = "\n".join(f"  library({p})" for p in packages)
    source = _PRELUDE % {"libraries": libraries, "folder": _r_string(str(folder))} + script
    (folder / "oracle.R").write_text(source)
    done = subprocess.run([executable, "--vanilla", str(folder / "oracle.R")],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        missing = "there is no package called" in done.stderr
        hint = f"\n{INSTALL_HINT}" if missing else ""
        pytest.fail(f"Rscript failed (exit {done.returncode}):\n{done.stderr[-3000:]}{hint}",
                    pytrace=False)
    return {path.stem[len("out_"):]: read_table(path)
            for path in sorted(folder.glob("out_*.csv"))}


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
