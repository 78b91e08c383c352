"""The simulate, summarize and replay subcommands, end to end through the CLI."""

import csv
import io
import json

import numpy as np
import pytest

from calculator.cli import main
from simulation.cohorts.cohort_io import read_cohort
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.paper.methods import analyze_stack
from simulation.stats.stacking import stack_cohorts
from simulation.study.seeds import replicate_rng
from simulation.study.store import Store

INTERFACE_FIELDS = ("scenario", "method", "estimand", "n_rep", "n_failed", "truth", "mean",
                    "bias", "bias_mcse", "empse", "modse", "relerr_modse", "mse",
                    "coverage", "coverage_mcse", "rejection", "rejection_mcse")


def simulate(path, *extra):
    return main(["simulate", "--scenario", "tog2025", "--scenario", "tog2025-null",
                 "--replicates", "8", "--seed", "4", "--workers", "1", "--chunk-size", "4",
                 "--reference-n", "5000", "--no-progress", "--out", str(path), *extra])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "study.sqlite"
    assert simulate(path) == 0
    return path


def test_summarize_json_has_every_interface_field_with_mcse(study, capsys):
    assert main(["summarize", str(study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["scenario"] for r in rows} == {"tog2025", "tog2025-null"}
    row = next(r for r in rows if (r["scenario"], r["method"], r["estimand"])
               == ("tog2025", "youden", "pni_mv_loghr"))
    for field in INTERFACE_FIELDS:
        assert field in row
    for measure in ("bias", "empse", "modse", "relerr_modse", "mse", "coverage", "rejection"):
        assert f"{measure}_mcse" in row
    assert row["n_rep"] == 8 and row["truth"] == pytest.approx(np.log(1 / 0.24), abs=2e-3)
    cut = next(r for r in rows if r["estimand"] == "cutoff")
    for key in ("mean", "sd", "q025", "median", "q975", "share_at_boundary"):
        assert f"{key}_mcse" in cut


def test_summarize_csv_and_table(study, capsys):
    assert main(["summarize", str(study), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2 * (8 + 7 + 8 + 7)
    assert rows[0]["bias_mcse"] != "" or rows[0]["estimand"] == "cutoff"
    assert main(["summarize", str(study), "--scenario", "tog2025-null"]) == 0
    text = capsys.readouterr().out
    assert "== tog2025-null: 8 of 8 replicates done" in text
    assert "Chosen PNI cut-off" in text and "independent predictor" in text
    assert "tog2025 " not in text.replace("tog2025-null", "")


def test_rerun_resumes_and_other_study_is_refused(study, capsys):
    assert simulate(study) == 0
    assert "nothing to run" in capsys.readouterr().err
    assert simulate(study, "--n", "40") == 2
    err = capsys.readouterr().err
    assert "scenario 'tog2025' in" in err and "(differs in: n (file has 58, this run 40))" in err
    assert "--grid n=58,40" in err


@pytest.mark.parametrize("args, message", [
    (["--replicates", "0"], "replicates must be a whole number >= 1"),
    (["--scenario", "nonesuch"], "unknown scenario 'nonesuch'"),
    (["--dask", "local:0"], "--dask local:N needs a worker count N >= 1"),
    (["--dask", "somewhere"], "--dask must be local:N or a scheduler address"),
    (["--workers", "0"], "workers must be a whole number >= 1"),
])
def test_bad_arguments_exit_2_with_a_message(tmp_path, capsys, args, message):
    base = {"--scenario": "tog2025-null", "--replicates": "4", "--workers": "1"}
    for key, value in zip(args[::2], args[1::2]):
        base[key] = value
    argv = ["simulate", "--out", str(tmp_path / "x.sqlite"), "--no-progress"]
    for key, value in base.items():
        argv += [key, value]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_summarize_refuses_what_is_not_a_study(tmp_path, capsys):
    assert main(["summarize", str(tmp_path / "missing.sqlite")]) == 2
    assert "there is no file" in capsys.readouterr().err
    (tmp_path / "t.txt").write_text("hello\n" * 50)
    assert main(["summarize", str(tmp_path / "t.txt")]) == 2
    assert "not a readable study file" in capsys.readouterr().err


def test_replay_writes_the_replicates_cohort(study, tmp_path, capsys):
    out = tmp_path / "rep5.csv"
    assert main(["replay", "--scenario", "tog2025", "--replicate", "5", "--seed", "4",
                 "--out", str(out)]) == 0
    replayed = read_cohort(out)
    original = generate_cohort(get_scenario("tog2025"), 58, replicate_rng(4, "tog2025", 5))
    assert np.array_equal(replayed["os_months"], original["os_months"])
    assert np.array_equal(replayed["albumin_g_l"], original["albumin_g_l"])
    # Analysing the replayed cohort reproduces the estimates stored for replicate 5.
    out_study = tmp_path / "rep5b.csv"
    assert main(["replay", "--study", str(study), "--scenario", "tog2025",
                 "--replicate", "5", "--out", str(out_study)]) == 0
    assert out_study.read_text() == out.read_text()
    analysis = analyze_stack(stack_cohorts([read_cohort(out)]), "fast")
    with Store(study, create=False) as store:
        stored = {(m, e): (est, ok) for r, m, e, est, *_rest, ok, _b, _l, _f
                  in store.results("tog2025") if r == 5}
    for key, (estimate, ok) in stored.items():
        result = analysis.results[key]
        assert bool(result.ok[0]) == bool(ok), key
        if ok:
            assert result.estimate[0] == pytest.approx(estimate, rel=1e-12, abs=1e-12), key


def test_replay_errors(study, capsys):
    assert main(["replay", "--scenario", "tog2025", "--replicate", "-1"]) == 2
    assert "replicate must be a whole number >= 0" in capsys.readouterr().err
    assert main(["replay", "--study", str(study), "--scenario", "mine", "--replicate", "1"]) == 2
    assert "has no scenario 'mine'" in capsys.readouterr().err
    assert main(["replay", "--study", str(study), "--scenario", "tog2025", "--replicate", "1",
                 "--seed", "9"]) == 2
    assert "--seed 9 differs from the study's 4" in capsys.readouterr().err
