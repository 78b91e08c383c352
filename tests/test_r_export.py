"""The long export (``summarize --replicates --csv``): one row per estimate, read by R's
``read.csv`` as it is, and R's own bias and coverage on it equal ``summarize``'s.

rsimsum itself is not packaged for Debian (``apt-cache search r-cran-rsimsum`` finds
nothing), so R's base functions recompute the measures; rsimsum reads the same layout.
"""

import csv
import io
import json

import numpy as np
import pytest

from calculator.cli import main
from simulation.study.export import REPLICATE_COLUMNS
from tests.r_oracle import run_r


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "study.sqlite"
    assert main(["simulate", "--scenario", "tog2025", "--scenario", "tog2025-null",
                 "--grid", "n=40,60", "--replicates", "40", "--seed", "6", "--workers", "1",
                 "--chunk-size", "20", "--reference-n", "5000", "--no-progress",
                 "--out", str(path)]) == 0
    return path


def _export(study, capsys, *extra):
    assert main(["summarize", str(study), "--replicates", "--csv", *extra]) == 0
    return capsys.readouterr().out


def test_one_row_per_scenario_replicate_method_and_estimand(study, capsys):
    text = _export(study, capsys)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["scenario", "base_scenario", "n", *REPLICATE_COLUMNS]
    # 4 scenarios x 40 replicates x (8 + 7 + 8 + 7) estimands
    assert len(rows) == 4 * 40 * 30
    keys = {(r["scenario"], r["replicate"], r["method"], r["estimand"]) for r in rows}
    assert len(keys) == len(rows)
    first = rows[0]
    assert (first["base_scenario"], first["n"]) == ("tog2025", "40")
    assert {r["ok"] for r in rows} <= {"0", "1"}
    one = _export(study, capsys, "--scenario", "tog2025-null+n=60")
    assert len(one.splitlines()) == 1 + 40 * 30


def test_r_reads_it_and_finds_summarizes_bias_and_coverage(study, capsys, tmp_path):
    path = tmp_path / "replicates.csv"
    path.write_text(_export(study, capsys))
    assert main(["summarize", str(study), "--json"]) == 0
    summary = {(r["scenario"], r["method"], r["estimand"]): r
               for r in json.loads(capsys.readouterr().out)}
    script = f"""
d <- read.csv({json.dumps(str(path))}, stringsAsFactors = FALSE)
stopifnot(is.numeric(d$estimate), is.numeric(d$ci_lower), is.numeric(d$truth),
          is.integer(d$ok), is.integer(d$n))
u <- d[d$ok == 1 & !is.na(d$truth), ]
key <- paste(u$scenario, u$method, u$estimand, sep = "|")
keys <- sort(unique(key))
one <- function(k) {{
  x <- u[key == k, ]
  c(bias = mean(x$estimate) - x$truth[1],
    coverage = mean(x$ci_lower <= x$truth & x$truth <= x$ci_upper),
    used = nrow(x))
}}
m <- t(sapply(keys, one))
writeLines(keys, file.path(.oracle_dir, "keys.txt"))
write_table(data.frame(bias = m[, "bias"], coverage = m[, "coverage"], used = m[, "used"]),
            "measures")
"""
    out = run_r(script, {}, tmp_path, packages=())["measures"]
    keys = (tmp_path / "keys.txt").read_text().splitlines()
    assert len(keys) == len(out["bias"]) > 50
    compared = 0
    for k, key in enumerate(keys):
        row = summary[tuple(key.split("|"))]
        assert out["used"][k] == row["n_used"], key
        assert out["bias"][k] == pytest.approx(row["bias"], rel=1e-12, abs=1e-12), key
        if row["coverage"] is None:          # a cut-off has no interval
            assert np.isnan(out["coverage"][k]), key
        else:
            assert out["coverage"][k] == row["coverage"], key
            compared += 1
    assert compared > 50
