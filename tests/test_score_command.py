"""``hcc-prognosis score``: text, JSON, errors and CSV batches."""

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime

import pytest

from calculator.cli import main

ONE = ["score", "--albumin", "3,5", "--albumin-unit", "g/dL", "--lymphocytes", "1100",
       "--lymphocytes-unit", "cells/uL", "--afp", "250", "--extrahepatic-spread", "yes"]


def test_text_output(capsys):
    assert main(ONE) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Relative hazard 20.0 (95% CI 5.00–80.2) for overall survival")
    assert "not a probability of death" in " ".join(lines[:3])
    assert "Prognostic Nutritional Index (PNI) 40.5: low" in out
    assert "Serum albumin: 3,5 g/dL → 35 g/L [converted]" in out
    assert "Absolute lymphocyte count: 1100 cells/µL → 1.1 ×10⁹/L [converted]" in out
    assert "not a substitute for clinical judgement" in out
    assert "AFP ≥ 200 ng/mL (n not reported in the paper): overall survival 5.3 (2.9–7.8)" in out
    assert "Whole cohort (n = 58): overall survival 6.5 (2.7–10.2)" in out
    assert re.search(r"^Calculated: \d{4}-\d\d-\d\d \d\d:\d\d", out, re.M)
    for ascii_stand_in in ("10^9", "cells/uL", ">=", "5.00-80.2"):
        assert ascii_stand_in not in out


def test_text_output_of_absent_factors_and_the_reference_group(capsys):
    assert main(["score", "--albumin", "45", "--lymphocytes", "2", "--afp", "20",
                 "--extrahepatic-spread", "no"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No adverse factor: this patient is in the reference group")
    assert "1.00 (1.00" not in out
    assert re.search(r"Extrahepatic spread\s+absent\s+not applied; 2.44 \(1.22–5.00\) if "
                     r"present", out)


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
        "hcc-prognosis score: error: Serum albumin must be between 10 and 60 g/L; got 3.5 g/L "
        "(looks like g/dL; choose g/dL as the unit)",
        "hcc-prognosis score: error: Absolute lymphocyte count must be between 0.05 and 50 "
        "×10⁹/L; got 1100 ×10⁹/L (looks like cells/µL; choose cells/µL as the unit)",
        "hcc-prognosis score: error: AFP (alpha-fetoprotein) must be a number; got 'x'",
        "hcc-prognosis score: error: Extrahepatic spread is required; answer yes or no",
    ]


@pytest.mark.parametrize(("afp", "message"), [
    ("12,500", "AFP (alpha-fetoprotein) '12,500' could be 12.5 or 12500 ng/mL"),
    ("1.250", "AFP (alpha-fetoprotein) '1.250' could be 1.25 or 1250 ng/mL"),
    ("3_5", "must be a plain number without underscores"),
    ("2e2", "must be written without an exponent"),
])
def test_a_possible_thousands_separator_is_never_a_silent_decimal(afp, message, capsys):
    assert main(["score", "--albumin", "35", "--lymphocytes", "1.1", "--afp", afp,
                 "--extrahepatic-spread", "no"]) == 2
    assert message in capsys.readouterr().err


def test_lab_date_flag(capsys):
    assert main([*ONE, "--lab-date", "2001-01-01", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lab_date"] == "2001-01-01"
    assert any("days before this calculation" in w["message"] for w in result["warnings"])
    assert datetime.fromisoformat(result["calculated_at"]).tzinfo is not None


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
    (["score", "--csv", "/nonexistent/p.csv"],
     "hcc-prognosis score: error: cannot find the input file /nonexistent/p.csv"),
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
    err = capsys.readouterr().err
    assert err.startswith("hcc-prognosis score: error: the input file ") and "is empty" in err


HEADER_VARIANTS = [
    "Albumin,Lymphocytes,AFP,Extrahepatic_Spread",
    " ALBUMIN , lymphocytes ,afp, extrahepatic-spread ",
    "albumin,Lymphocytes,Afp,Extrahepatic Spread",
]


@pytest.mark.parametrize("header", HEADER_VARIANTS)
def test_csv_headers_match_as_analyze_matches_them(header, tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text(f"{header}\n35,1.1,250,yes\n", encoding="utf-8")
    assert main(["score", "--csv", str(source)]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["errors"] == "" and row["relative_hazard"] == "20.0"


def test_csv_without_an_input_column_fails_once_naming_expected_and_found(tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text("patient,alb,lym\n1,35,1.1\n2,36,1.2\n", encoding="utf-8")
    assert main(["score", "--csv", str(source)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("hcc-prognosis score: error: the input file ")
    assert "has no column for albumin, lymphocytes, afp, extrahepatic_spread" in line
    assert "expected the columns albumin, lymphocytes, afp, extrahepatic_spread" in line
    assert "found 'patient', 'alb', 'lym'" in line


def test_semicolon_file_with_decimal_commas_is_read(tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text("id;Albumin;Albumin_Unit;Lymphocytes;AFP;Extrahepatic spread\n"
                      "a;3,5;g/dL;1,1;250;yes\nb;4,2;g/dL;2,05;12,500;no\n", encoding="utf-8")
    assert main(["score", "--csv", str(source)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["pni"] == "40.5" and rows[0]["errors"] == ""
    assert "'12,500' could be 12.5 or 12500 ng/mL" in rows[1]["errors"]
    assert rows[1]["error_fields"] == "afp"


def test_a_repeated_column_is_refused(tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text("albumin,Albumin,lymphocytes,afp,extrahepatic_spread\n35,35,1,1,no\n")
    assert main(["score", "--csv", str(source)]) == 2
    assert "names the column(s) albumin more than once" in capsys.readouterr().err


def test_ragged_rows_get_their_own_error(tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text("albumin,lymphocytes,afp,extrahepatic_spread\n35,1.1,250,yes\n35,1.1\n")
    assert main(["score", "--csv", str(source)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["errors"] == ""
    assert rows[1]["errors"].startswith("the row has 2 cells but the header has 4")


@pytest.mark.parametrize(("out", "cause"), [
    ("missing-folder/r.csv", "the folder {tmp}/missing-folder does not exist"),
    (".", "it is a folder; give --out a file name"),
])
def test_output_path_problems_name_the_output_path(out, cause, tmp_path, capsys):
    source = tmp_path / "patients.csv"
    source.write_text("albumin,lymphocytes,afp,extrahepatic_spread\n35,1.1,250,yes\n")
    target = str(tmp_path / out)
    assert main(["score", "--csv", str(source), "--out", target]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hcc-prognosis score: error: cannot write the results to {target}")
    assert cause.format(tmp=tmp_path) in err
    assert "patients.csv" not in err


def test_out_cannot_overwrite_the_input(tmp_path, capsys):
    source = tmp_path / "patients.csv"
    source.write_text("albumin,lymphocytes,afp,extrahepatic_spread\n35,1.1,250,yes\n")
    assert main(["score", "--csv", str(source), "--out", str(source)]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert source.read_text().startswith("albumin")


def test_out_prints_a_one_line_summary(tmp_path, capsys):
    source = tmp_path / "patients.csv"
    source.write_text("albumin,lymphocytes,afp,extrahepatic_spread\n35,1.1,250,yes\n"
                      "x,1.1,250,yes\n350,1,1,no\n")
    out = tmp_path / "r.csv"
    assert main(["score", "--csv", str(source), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"hcc-prognosis score: 3 rows read, 1 scored, 2 with errors (see the errors "
        f"column); written to {out}"]


def test_not_utf8_names_the_cause(tmp_path, capsys):
    source = tmp_path / "latin1.csv"
    source.write_bytes("albumin,lymphocytes,afp,extrahepatic_spread\n35,1.1,250,sí\n"
                       .encode("latin-1"))
    assert main(["score", "--csv", str(source)]) == 2
    assert "is not UTF-8 text (byte 0xed at position" in capsys.readouterr().err


def test_console_script_runs_and_unknown_command_fails():
    done = subprocess.run([sys.executable, "-m", "calculator.cli", *ONE],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "Relative hazard 20.0" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "calculator.cli", "frobnicate"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_csv_lab_date_column(tmp_path, capsys):
    source = tmp_path / "p.csv"
    source.write_text("albumin,lymphocytes,afp,extrahepatic_spread,Lab Date\n"
                      "35,1.1,250,yes,2001-01-01\n35,1.1,250,yes,01/01/2001\n")
    assert main(["score", "--csv", str(source)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert "These labs were taken" in rows[0]["warnings"] and rows[0]["errors"] == ""
    assert rows[1]["error_fields"] == "lab_date"
