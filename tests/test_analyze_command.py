"""``hcc-prognosis analyze`` (simulation.commands.analyze)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from calculator.cli import main
from simulation.cohorts.cohort_io import read_cohort, write_cohort
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.paper.analysis import analyze


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory) -> str:
    cohort = generate_cohort(get_scenario("tog2025"), 58, np.random.default_rng(1))
    cohort["albumin_g_l"] = cohort["albumin_g_l"].astype(float)
    cohort["albumin_g_l"][2] = np.nan
    path = tmp_path_factory.mktemp("analyze") / "cohort.csv"
    write_cohort(cohort, path)
    return str(path)


def test_json_is_the_analysis_record(cohort_csv, capsys) -> None:
    assert main(["analyze", cohort_csv, "--json", "--pni-cutoff", "youden"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(analyze(read_cohort(cohort_csv), "youden")))
    assert printed["n"] == 58 and printed["missing"]["by_column"] == {"albumin_g_l": 1}


def test_tables_in_the_manner_of_the_paper(cohort_csv, capsys) -> None:
    assert main(["analyze", cohort_csv, "--engine", "fast"]) == 0
    out = capsys.readouterr().out
    record = analyze(read_cohort(cohort_csv), engine="fast")
    for heading in ("Table 1. Baseline characteristics", "Kaplan-Meier medians",
                    "Log-rank tests of overall survival", "ROC of PNI against death",
                    "Table 4. Cox regression for overall survival"):
        assert heading in out
    assert f"Cohort {cohort_csv}: 58 patients" in out
    assert "Missing values: albumin_g_l 1; 57 of 58 rows complete" in out
    afp = record["cox"]["univariable"]["afp"]
    assert f"{afp['hr']:.2f} ({afp['ci'][0]:.2f}-{afp['ci'][1]:.2f})" in out
    auc = record["roc"]["auc"]
    assert f"AUC {auc:.3f}" in out
    assert "engine fast" in out


def test_bad_csv_lists_the_problems_and_exits_2(bad_cohort_csv, capsys) -> None:
    path = bad_cohort_csv
    assert main(["analyze", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "the cohort file has 2 problems" in captured.err
    assert "row 2 (line 3), column sex: sex must be M or F; got 'X'" in captured.err
    assert "column albumin_g_l" in captured.err and "looks like g/dL" in captured.err
    assert main(["analyze", str(path), "--json"]) == 2
    errors = json.loads(capsys.readouterr().err)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "sex"), (2, "albumin_g_l")]


def test_missing_file_and_bad_cutoff_exit_2(tmp_path, cohort_csv, capsys) -> None:
    assert main(["analyze", str(tmp_path / "none.csv")]) == 2
    assert "cannot find the file" in capsys.readouterr().err
    assert main(["analyze", cohort_csv, "--pni-cutoff", "high"]) == 2
    assert "--pni-cutoff: pni_cutoff must be a number" in capsys.readouterr().err
    assert main(["analyze", cohort_csv, "--pni-cutoff", "abc", "--json"]) == 2
    assert json.loads(capsys.readouterr().err)["errors"][0]["field"] == "pni_cutoff"


def test_many_problems_are_capped_on_the_terminal(tmp_path, capsys) -> None:
    cohort = generate_cohort(get_scenario("tog2025"), 80, np.random.default_rng(3))
    cohort["sex"] = np.full(80, "X")
    path = tmp_path / "many.csv"
    write_cohort(cohort, path)
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "has 80 problems" in err and "... and 30 more" in err


def test_the_command_module_imports_no_numpy() -> None:
    code = ("import sys, simulation.commands.analyze; "
            "print(any(m in sys.modules for m in ('numpy', 'lifelines', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
