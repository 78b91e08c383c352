"""``hcc-prognosis score``: text, JSON, errors and CSV batches."""

import csv
import io
import json
import subprocess
import sys

import pytest

from calculator.cli import main

ONE = ["score", "--albumin", "3,5", "--albumin-unit", "g/dL", "--lymphocytes", "1100",
       "--lymphocytes-unit", "cells/uL", "--afp", "250", "--extrahepatic-spread", "yes"]


def test_text_output(capsys):
    assert main(ONE) == 0
    out = capsys.readouterr().out
    assert "PNI 40.5 (low" in out
    assert "Relative hazard vs a patient with none: 20.0 (95% CI 5.00-80.2)" in out
    assert "3,5 g/dL -> 35.0 g/L [converted]" in out
    assert "not a substitute for clinical judgement" in out


def test_json_output(capsys):
    assert main([*ONE, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pni"]["value"] == 40.5 and result["adverse_count"] == 3


def test_child_pugh_flags(capsys):
    assert main([*ONE, "--bilirubin", "1.2", "--inr", "1,1", "--ascites", "mild",
                 "--encephalopathy", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["child_pugh"] == {"score": 7, "class": "B"}


def test_bad_input_exits_2_with_every_message(capsys):
    assert main(["score", "--albumin", "3.5", "--lymphocytes", "1100", "--afp", "x"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "hcc-prognosis score: error: albumin must be between 10 and 60 g/L; got 3.5 g/L (looks like g/dL; "
        "choose g/dL as the unit)",
        "hcc-prognosis score: error: lymphocytes must be between 0.05 and 50 10^9/L; got 1100 10^9/L (looks "
        "like cells/uL; choose cells/uL as the unit)",
        "hcc-prognosis score: error: afp must be a number; got 'x'",
        "hcc-prognosis score: error: extrahepatic_spread is required; answer yes or no",
    ]


def test_bad_input_json_errors_on_stderr(capsys):
    assert main(["score", "--albumin", "350", "--lymphocytes", "1", "--afp", "1",
                 "--extrahepatic-spread", "no", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    errors = json.loads(captured.err)["errors"]
    assert errors[0]["field"] == "albumin" and errors[0]["value"] == "350"


def test_csv_scores_every_row_and_reports_bad_rows(tmp_path, capsys):
    source = tmp_path / "patients.csv"
    source.write_text("id,albumin,albumin_unit,lymphocytes,lymphocytes_unit,afp,"
                      "extrahepatic_spread\n"
                      "p1,35,,1.1,,250,yes\n"
                      "p2,3.5,,1.1,,20,no\n"
                      "p3,4.2,g/dL,2000,cells/uL,100,0\n", encoding="utf-8")
    out = tmp_path / "results.csv"
    assert main(["score", "--csv", str(source), "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["p1", "p2", "p3"]
    assert rows[0]["adverse_count"] == "3" and rows[0]["errors"] == ""
    assert rows[1]["pni"] == "" and "looks like g/dL" in rows[1]["errors"]
    assert rows[2]["pni"] == "52.0" and rows[2]["pni_category"] == "high"


def test_csv_to_stdout(tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text("albumin,lymphocytes,afp,extrahepatic_spread\n35,1.1,250,yes\n")
    assert main(["score", "--csv", str(source)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["relative_hazard"] == "20.0"


@pytest.mark.parametrize(("argv", "message"), [
    (["score", "--csv", "/nonexistent/p.csv"], "hcc-prognosis score: error: cannot read /nonexistent/p.csv"),
    (["score", "--csv", "x.csv", "--albumin", "35"], "hcc-prognosis score: error: give either --csv or"),
    (["score", "--out", "x.csv"], "hcc-prognosis score: error: --out goes with --csv"),
])
def test_csv_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(message)


def test_empty_csv_is_an_error(tmp_path, capsys):
    source = tmp_path / "empty.csv"
    source.write_text("")
    assert main(["score", "--csv", str(source)]) == 2
    assert "no header row" in capsys.readouterr().err


def test_console_script_runs_and_unknown_command_fails():
    done = subprocess.run([sys.executable, "-m", "calculator.cli", *ONE],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "PNI 40.5" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "calculator.cli", "frobnicate"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
