"""``hcc-prognosis cohort``: the CSV, the description, and errors with exit status 2."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from calculator.cli import main
from simulation.cohorts.cohort_io import read_cohort
from simulation.cohorts.generate import COHORT_COLUMNS, generate_cohort
from simulation.cohorts.scenarios import BUILTINS, get_scenario, truth
from simulation.commands import BUILTIN_SCENARIOS


def _read(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_writes_the_csv_of_the_generated_cohort(tmp_path):
    out = tmp_path / "cohort.csv"
    assert main(["cohort", "--scenario", "tog2025", "--n", "58", "--seed", "1",
                 "--out", str(out)]) == 0
    rows = _read(out)
    assert rows[0] == list(COHORT_COLUMNS) and len(rows) == 59
    cohort = generate_cohort(get_scenario("tog2025"), 58, np.random.default_rng(1))
    back = read_cohort(out)  # the analysis' reader accepts it and gets the same values
    for name in COHORT_COLUMNS:
        if cohort[name].dtype.kind in "iuf":
            assert back[name].astype(float).tolist() == cohort[name].astype(float).tolist(), name
        else:
            assert back[name].tolist() == [str(v) for v in cohort[name].tolist()], name


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    paths = [tmp_path / f"{i}.csv" for i in range(3)]
    for path, seed in zip(paths, ["7", "7", "8"]):
        assert main(["cohort", "--n", "40", "--seed", seed, "--out", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()


def test_csv_to_standard_output_by_default(capsys):
    assert main(["cohort", "--n", "5", "--seed", "3", "--scenario", "tog2025-null"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == list(COHORT_COLUMNS) and len(rows) == 6


def test_describe_json(capsys, tmp_path):
    out = tmp_path / "c.csv"
    assert main(["cohort", "--scenario", "tog2025-continuous", "--n", "3000", "--seed", "4",
                 "--describe", "--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scenario"] == "tog2025-continuous" and result["n"] == 3000
    assert result["seed"] == 4 and len(_read(out)) == 3001
    outcomes = result["outcomes"]
    assert set(outcomes) >= {"death_fraction", "median_os_months", "median_pfs_months",
                             "median_followup_months", "pfs_event_fraction"}
    # 3,000 patients: SD of the death fraction about 0.008, of median OS about 0.3 month
    assert abs(outcomes["death_fraction"] - result["targets"]["death_fraction"]) < 0.04
    assert abs(outcomes["median_os_months"] - result["targets"]["median_os_months"]) < 1.5
    assert result["truth"] == truth(get_scenario("tog2025-continuous"))
    assert result["marginals"]["bclc"]["C"] > 0.4
    assert result["calibration"]["expected_death_fraction"] == pytest.approx(
        result["targets"]["death_fraction"])
    assert result["scenario_definition"]["pni_effect"] == "continuous"


def test_describe_text(capsys):
    assert main(["cohort", "--n", "500", "--seed", "2", "--describe"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario tog2025, n = 500, seed 2")
    assert "published" in out
    line = next(l for l in out.splitlines() if l.startswith("median_followup_months"))
    assert line.split()[-1] == "20.4"
    line = next(l for l in out.splitlines() if l.startswith("male"))
    assert line.split()[-1] == "82.8%"


def test_scenario_from_a_toml_file(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\nbase = "tog2025-null"\n[hazard_ratios]\nafp = 3.0\n')
    assert main(["cohort", "--scenario", str(path), "--n", "200", "--seed", "1",
                 "--describe", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scenario"] == "mine"
    assert result["truth"]["afp"] == pytest.approx(np.log(3.0))


BAD_ARGS = [
    (["--n", "0"], "--n must be between 1 and 10,000,000; got 0"),
    (["--seed", "-1"], "--seed must be a whole number >= 0; got -1"),
    (["--json"], "--json only applies to --describe"),
    (["--describe", "--out", "-"], "--describe prints to standard output"),
    (["--scenario", "tog2024"], "unknown scenario 'tog2024'; built-in: tog2025"),
    (["--scenario", "missing.toml"], "scenario file 'missing.toml' not found"),
]


@pytest.mark.parametrize("args, message", BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_arguments_exit_2_with_a_message(capsys, args, message):
    assert main(["cohort", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_unwritable_output_and_invalid_toml(capsys, tmp_path):
    assert main(["cohort", "--out", str(tmp_path / "no" / "such" / "c.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\n[hazard_ratios]\nafp = -1\n')
    assert main(["cohort", "--scenario", str(path)]) == 2
    assert "hazard_ratios.afp must be a number in (0, inf)" in capsys.readouterr().err


def test_unreachable_targets_exit_2(capsys, tmp_path):
    path = tmp_path / "far.toml"
    # uniform entry over 45 months censors about 15% before 6.5 months: 95% deaths is
    # out of reach whatever the Weibull shape
    path.write_text('name = "far"\n[targets]\ndeath_fraction = 0.95\npfs_event_fraction = 0.97\n')
    assert main(["cohort", "--scenario", str(path)]) == 2
    assert "death_fraction 0.950 cannot be reached" in capsys.readouterr().err


def test_errors_as_json_with_json(capsys):
    assert main(["cohort", "--n", "0", "--describe", "--json"]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["errors"][0]["field"] == "n"


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["cohort", "--n", "many"])
    assert caught.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_help_names_every_built_in_scenario():
    assert BUILTIN_SCENARIOS.split(", ") == list(BUILTINS)


def test_console_script_end_to_end():
    done = subprocess.run([sys.executable, "-m", "calculator.cli", "cohort", "--n", "4",
                           "--seed", "9"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert len(rows) == 5 and rows[0][0] == "id"
