"""Design grids: keys and values, stable names, the cross product as scenarios of one
study, per-scenario cohort sizes, shared references, and the grid in summarize, report
and replay."""

import csv
import io
import json

import numpy as np
import pytest

from calculator.cli import main
from calculator.errors import InputError
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.study.grids import (
    StudyScenario,
    expand,
    format_value,
    grid_name,
    parse_grid,
    point_from_name,
)
from simulation.study.runner import StudyConfig, run_study
from simulation.study.seeds import replicate_rng
from simulation.study.store import Store
from tests.report_html_parse import parse_report


def test_names_put_n_first_then_keys_alphabetically_whatever_the_order_given():
    one = expand([get_scenario("tog2025")],
                 parse_grid(["pni_cutoff=45,50", "n=100", "hazard_ratios.pni_low=2.0"]), 58)
    other = expand([get_scenario("tog2025")],
                   parse_grid(["hazard_ratios.pni_low=2", "n=100", "pni_cutoff=45.0,50"]), 58)
    assert [p.name for p in one] == [p.name for p in other] == [
        "tog2025+n=100+hazard_ratios.pni_low=2+pni_cutoff=45",
        "tog2025+n=100+hazard_ratios.pni_low=2+pni_cutoff=50"]
    assert format_value(0.1) == "0.1" and format_value(1e-05) == "0.00001"


def test_the_cross_product_applies_each_value_as_the_scenario_file_would():
    points = expand([get_scenario("tog2025"), get_scenario("tog2025-null")],
                    parse_grid(["n=40,80", "hazard_ratios.pni_low=1,2",
                                "targets.death_fraction=0.6"]), 58)
    assert len(points) == 2 * 2 * 2
    first = points[0]
    assert (first.name, first.n, first.base) == (
        "tog2025+n=40+hazard_ratios.pni_low=1+targets.death_fraction=0.6", 40, "tog2025")
    assert first.scenario.effects["pni_low"] == 0.0                 # HR 1
    assert first.scenario.effects["afp"] == get_scenario("tog2025").effects["afp"]
    assert first.scenario.targets.death_fraction == 0.6
    assert points[-1].scenario.effects["pni_low"] == pytest.approx(np.log(2))
    assert points[-1].scenario.effects.get("afp", 0.0) == 0.0       # tog2025-null's
    assert first.reference_name == "tog2025+hazard_ratios.pni_low=1+targets.death_fraction=0.6"
    assert [p.n for p in expand([get_scenario("tog2025")], (), 58)] == [58]


def test_a_grid_name_gives_back_its_point():
    name = ("tog2025+n=100+followup_after_accrual_months=calibrated+log_hazard_ratios.afp=0.5"
            "+weibull_shape=1.2")
    point = point_from_name(name, get_scenario, 58)
    assert point.name == name
    assert point.n == 100 and point.scenario.effects["afp"] == 0.5
    assert point.scenario.weibull_shape == 1.2
    assert point.scenario.followup_after_accrual_months is None
    assert point_from_name("tog2025", get_scenario, 70) == StudyScenario.alone(
        get_scenario("tog2025"), 70)
    assert grid_name("x", []) == "x"


@pytest.mark.parametrize("grid, field, message", [
    (["hazard_ratio.pni_low=2"], "grid", r"unknown key 'hazard_ratio.pni_low'; known: n, "
                                         r"pni_cutoff, .*hazard_ratios.<factor>"),
    (["hazard_ratios.pni_high=2"], "grid", "unknown key 'hazard_ratios.pni_high'"),
    (["name=x"], "grid", "unknown key 'name'"),
    (["n"], "grid", r"--grid must be KEY=V1,V2,...; got 'n'"),
    (["n="], "grid", r"--grid must be KEY=V1,V2,..."),
    (["n=5"], "n", r"patients per cohort must be a whole number >= 10; got '5'"),
    (["n=58.5"], "n", "must be a whole number >= 10"),
    (["n=58,58"], "grid", "value 58 is given twice"),
    (["n=58", "n=100"], "grid", "--grid n is given twice"),
    (["hazard_ratios.pni_low=0"], "hazard_ratios.pni_low",
     r"hazard_ratios.pni_low must be a number in \(0, inf\); got 0.0"),
    (["hazard_ratios.pni_low=-1"], "hazard_ratios.pni_low", r"in \(0, inf\); got -1.0"),
    (["hazard_ratios.pni_low=abc"], "hazard_ratios.pni_low", "must be a number; got 'abc'"),
    (["hazard_ratios.pni_low=1e3"], "hazard_ratios.pni_low", "exponent"),
    (["hazard_ratios.pni_low=nan"], "hazard_ratios.pni_low", "nan"),
    (["log_hazard_ratios.afp=9"], "log_hazard_ratios.afp", r"in \[-5, 5\]"),
    (["pni_cutoff=10"], "pni_cutoff", r"pni_cutoff must be a number in \[20, 80\]; got 10.0"),
    (["targets.death_fraction=1.5"], "targets.death_fraction",
     r"targets.death_fraction must be a number in \(0, 1\); got 1.5"),
    (["weibull_shape=flat"], "weibull_shape", "must be a number or 'calibrated'; got 'flat'"),
    (["pni_effect=linear"], "pni_effect", "pni_effect must be 'step' or 'continuous'"),
    (["n=1.250"], "n", "could be 1.25 or 1250"),
])
def test_bad_keys_and_values_are_refused_naming_the_key_value_and_range(grid, field, message):
    with pytest.raises(InputError, match=message) as refused:
        expand([get_scenario("tog2025")], parse_grid(grid), 58)
    assert refused.value.field == field


def _cli_grid(path, *extra):
    return main(["simulate", "--scenario", "tog2025", "--scenario", "tog2025-null",
                 "--grid", "n=30,50", "--grid", "hazard_ratios.pni_low=1,4", "--replicates", "6",
                 "--seed", "5", "--workers", "1", "--chunk-size", "3", "--reference-n", "5000",
                 "--no-progress", "--out", str(path), *extra])


@pytest.fixture(scope="module")
def grid_study(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "grid.sqlite"
    assert _cli_grid(path) == 0
    return path


def test_each_point_is_a_scenario_with_its_own_cohort_size_and_streams(grid_study):
    with Store(grid_study, create=False) as store:
        entries = store.scenario_entries()
        assert len(entries) == 8 and all(len(store.finished(e.name)) == 6 for e in entries)
        sizes = dict(store._db.execute("SELECT scenario, MAX(n) FROM replicates GROUP BY 1"))
        fingerprint = store.fingerprint()
    assert "n" not in fingerprint
    for entry in entries:
        assert sizes[entry.name] == entry.n == dict(entry.grid)["n"]
    name = "tog2025+n=50+hazard_ratios.pni_low=4"
    point = point_from_name(name, get_scenario, 58)
    with Store(grid_study, create=False) as store:
        (deaths,) = store._db.execute("SELECT deaths FROM replicates WHERE scenario = ? AND "
                                      "replicate = 2", (name,)).fetchone()
    cohort = generate_cohort(point.scenario, 50, replicate_rng(5, name, 2))
    assert int(cohort["os_event"].sum()) == deaths


def test_points_differing_only_in_n_share_one_reference(grid_study):
    with Store(grid_study, create=False) as store:
        small = store.reference("tog2025+n=30+hazard_ratios.pni_low=4")
        large = store.reference("tog2025+n=50+hazard_ratios.pni_low=4")
        other = store.reference("tog2025+n=30+hazard_ratios.pni_low=1")
    assert small and small == large and other != small


def test_rerunning_resumes_and_a_grid_can_grow(grid_study, capsys):
    assert _cli_grid(grid_study) == 0
    assert "nothing to run" in capsys.readouterr().err
    assert _cli_grid(grid_study, "--grid", "pni_cutoff=45") == 0   # new points, same file
    with Store(grid_study, create=False) as store:
        assert len(store.scenario_entries()) == 16


def test_summarize_carries_the_grid_keys(grid_study, capsys):
    assert main(["summarize", str(grid_study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["scenario"] == "tog2025+n=30+hazard_ratios.pni_low=4"
               and r["method"] == "youden" and r["estimand"] == "cutoff")
    assert (row["base_scenario"], row["n"], row["hazard_ratios.pni_low"]) == ("tog2025", 30, 4.0)
    assert row["grid_keys"] == ["n", "hazard_ratios.pni_low"]
    assert "share_within_2" in row and "share_within_2_mcse" in row
    assert main(["summarize", str(grid_study), "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    header = list(table[0])
    assert header[:4] == ["scenario", "base_scenario", "n", "hazard_ratios.pni_low"]
    assert main(["summarize", str(grid_study)]) == 0
    text = capsys.readouterr().out
    assert "== tog2025: measures against the design grid" in text
    assert "cohorts of 30 or 50 patients (by scenario)" in text
    assert "cut-off within ±2" in text and "PNI mv coverage" in text


def test_the_report_shows_each_measure_against_the_grid(grid_study, tmp_path):
    out = tmp_path / "grid.html"
    assert main(["report", str(grid_study), "-o", str(out)]) == 0
    report = parse_report(out.read_text(encoding="utf-8"))
    assert {"fig-grid-cutoff", "fig-grid-coverage", "fig-grid-bias",
            "fig-grid-rejection"} <= set(report.images)
    assert "fig-bias" not in report.images        # markers per scenario do not read here


def test_bad_grid_on_the_command_line_exits_2(tmp_path, capsys):
    assert main(["simulate", "--scenario", "tog2025", "--grid", "n=58", "--n", "40",
                 "--replicates", "2", "--out", str(tmp_path / "x.sqlite")]) == 2
    assert "--n and --grid n=... both give the cohort size" in capsys.readouterr().err
    assert main(["simulate", "--scenario", "tog2025", "--grid", "hazard_ratios.pni_low=0",
                 "--replicates", "2", "--out", str(tmp_path / "x.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "--grid hazard_ratios.pni_low=0 on scenario tog2025: hazard_ratios.pni_low must " \
           "be a number in (0, inf)" in err and "Traceback" not in err
    assert not (tmp_path / "x.sqlite").exists()


def test_replay_rebuilds_a_grid_point_from_its_name_or_the_study(grid_study, tmp_path):
    name = "tog2025-null+n=30+hazard_ratios.pni_low=4"
    by_name, from_study = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["replay", "--scenario", name, "--replicate", "4", "--seed", "5",
                 "--out", str(by_name)]) == 0
    assert main(["replay", "--study", str(grid_study), "--scenario", name, "--replicate",
                 "4", "--out", str(from_study)]) == 0
    assert by_name.read_text() == from_study.read_text()
    assert len(by_name.read_text().splitlines()) == 1 + 30


def test_a_config_takes_points_with_their_own_sizes(tmp_path):
    points = expand([get_scenario("tog2025-null")], parse_grid(["n=20,30"]), 58)
    config = StudyConfig(points, 4, seed=2, chunk_size=4, reference_n=5000)
    assert [config.block_size(p) for p in points] == [4, 4]
    outcome = run_study(config, tmp_path / "s.sqlite", workers=1, progress=False,
                        say=lambda text: None)
    assert outcome.counts == {"tog2025-null+n=20": 4, "tog2025-null+n=30": 4}
    with pytest.raises(InputError, match="is given more than once"):
        StudyConfig(points + points[:1], 4, seed=2)


def test_a_later_run_reuses_the_reference_of_a_point_differing_only_in_n(tmp_path):
    said = []
    path = tmp_path / "s.sqlite"
    for sizes in ("20", "30"):
        points = expand([get_scenario("tog2025")], parse_grid([f"n={sizes}"]), 58)
        run_study(StudyConfig(points, 2, seed=2, chunk_size=2, reference_n=5000), path,
                  workers=1, progress=False, say=said.append)
    assert sum("computing the large-sample reference" in text for text in said) == 1
    with Store(path, create=False) as store:
        assert store.reference("tog2025+n=20") == store.reference("tog2025+n=30") != {}
