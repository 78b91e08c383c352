"""Stopping at a target precision: the rule, its rounds, and a file equal, table for
table, to a fixed run with the counts the rule reached."""

import json
import math

import pytest

from calculator.cli import main
from calculator.errors import InputError
from simulation.cohorts.scenarios import get_scenario
from simulation.study.grids import expand, parse_grid
from simulation.study.measures import summary_rows
from simulation.study.runner import StudyConfig, run_study
from simulation.study.stopping import (
    PrecisionTarget,
    ScenarioStatus,
    StoppingRule,
    evaluate,
    next_count,
    parse_target,
)
from simulation.study.store import Store

TABLES = ("replicates", "results", "failures", "reference")


@pytest.mark.parametrize("text, message", [
    ("coverag=0.01", "unknown measure 'coverag'; measures: bias, empse"),
    ("coverage", "unknown measure 'coverage'"),
    ("coverage=0", "must be a number > 0"),
    ("coverage=-0.1", "must be a number > 0"),
    ("coverage=abc", "must be a number; got 'abc'"),
    ("pni_mv.coverage=0.01", "unknown estimand 'pni_mv'"),
    ("cutoff.cutoff_q975=0.5", "cutoff_q975 belongs to the cut-off; write cutoff_q975=0.5"),
])
def test_bad_targets_are_refused_with_the_accepted_names(text, message):
    with pytest.raises(InputError, match=message):
        parse_target(text)


def test_a_rule_needs_a_target_and_a_sensible_cap():
    with pytest.raises(InputError, match="needs at least one --target-mcse"):
        StoppingRule(())
    with pytest.raises(InputError, match="--max-replicates must be a whole number >= 2"):
        StoppingRule((parse_target("bias=0.1"),), 1)


def row(method, estimand, truth=0.0, **fields):
    return {"scenario": "s", "method": method, "estimand": estimand, "truth": truth, **fields}


def test_a_target_applies_where_its_measure_is_defined_and_projects_the_replicates():
    rule = StoppingRule((parse_target("coverage=0.01"), parse_target("cutoff_q975=0.5")), 5000)
    rows = [row("fixed", "pni_mv_loghr", coverage_mcse=0.02),        # 4x the replicates
            row("fixed", "pni_selected", truth=None, coverage_mcse=None),   # no coverage
            row("youden", "cutoff", truth=None, q975_mcse=0.25),     # met
            row("maxstat", "cutoff", truth=None, q975_mcse=None)]    # not yet estimable
    status = evaluate(rule, rows, {"s": 400})["s"]
    assert [(f.method, f.target.measure, f.mcse) for f in status.shortfalls] == [
        ("fixed", "coverage", 0.02), ("maxstat", "cutoff_q975", None)]
    assert status.needed == 1600 and status.stopped_by is None
    assert next_count(status, 300) == 1800                      # whole blocks of 300
    assert next_count(ScenarioStatus("s", 400, status.shortfalls, 1600, 1000), 300) == 1000
    capped = ScenarioStatus("s", 1000, status.shortfalls, 1600, 1000)
    assert capped.capped and capped.stopped_by == "cap" and next_count(capped, 300) == 1000
    narrowed = PrecisionTarget("coverage", 0.01, "pni_uv_loghr")
    assert not narrowed.applies(rows[0]) and narrowed.name == "pni_uv_loghr.coverage"
    assert StoppingRule.from_dict(rule.to_dict()) == rule


def _config():
    points = expand([get_scenario("tog2025-null")], parse_grid(["n=30,45,60"]), 58)
    return StudyConfig(points, 10, seed=8, chunk_size=10, reference_n=5000)


def _tables(path):
    with Store(path, create=False) as store:
        return {t: store.table(t) for t in TABLES}


def test_the_rule_stops_scenarios_apart_and_equals_a_fixed_run_of_its_counts(tmp_path):
    # youden's univariable rejection is about 0.15 under the null: an MCSE of 0.05 needs
    # some 50 replicates, more or fewer as the first rounds fall; the cap is 70.
    rule = StoppingRule((parse_target("pni_uv_loghr.rejection=0.05"),), max_replicates=70)
    adaptive = tmp_path / "adaptive.sqlite"
    outcome = run_study(_config(), adaptive, workers=2, progress=False, rule=rule,
                        say=lambda text: None)
    counts = outcome.counts
    assert outcome.rounds >= 2 and set(counts) == {p.name for p in _config().points}
    assert all(c % 10 == 0 or c == 70 for c in counts.values())
    assert len(set(counts.values())) >= 2                   # scenarios stopped apart
    with Store(adaptive, create=False) as store:
        rows = summary_rows(store)
    for name, status in outcome.status.items():
        assert status.replicates == counts[name]
        assert status.stopped_by in ("target", "cap")
        mine = [r for r in rows if r["scenario"] == name and r["estimand"] == "pni_uv_loghr"]
        assert (max(rule.targets[0].mcse(r) for r in mine) <= 0.05) == (
            status.stopped_by == "target")
        if status.stopped_by == "target":   # the MCSEs summarize shows meet it too
            assert max(r["rejection_mcse"] for r in mine) <= 0.05
    fixed = tmp_path / "fixed.sqlite"
    run_study(_config(), fixed, workers=1, progress=False, targets=counts,
              say=lambda text: None)
    assert _tables(adaptive) == _tables(fixed)


def test_summarize_and_report_state_the_rule_and_the_counts_reached(tmp_path, capsys):
    path = tmp_path / "rule.sqlite"
    argv = ["simulate", "--scenario", "tog2025-null", "--grid", "n=30,40", "--replicates", "10",
            "--chunk-size", "10", "--seed", "3", "--workers", "1", "--reference-n", "5000",
            "--no-progress", "--target-mcse", "pni_uv_loghr.rejection=0.06",
            "--target-mcse", "cutoff_median=100", "--max-replicates", "30", "--out", str(path)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "Stopping rule: replicates added in rounds until the Monte Carlo SE of " \
           "pni_uv_loghr.rejection <= 0.06 and cutoff_median <= 100" in err
    assert main(["summarize", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    stopped = {r["scenario"]: (r["stopped_by"], r["n_rep"]) for r in rows}
    assert {by for by, _ in stopped.values()} <= {"target", "cap"}
    assert all(n == 30 for by, n in stopped.values() if by == "cap")
    assert main(["summarize", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Stopping rule:" in text and "Reached:" in text
    out = tmp_path / "rule.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    assert "Reached:" in out.read_text(encoding="utf-8")
    assert main(argv[:-2] + ["--max-replicates", "1", "--out", str(path)]) == 2
    assert "--max-replicates must be a whole number >= 2" in capsys.readouterr().err
    assert main(["simulate", "--scenario", "tog2025", "--replicates", "2", "--max-replicates",
                 "5", "--out", str(tmp_path / "y.sqlite")]) == 2
    assert "give it with --target-mcse" in capsys.readouterr().err


def test_a_share_of_zero_after_a_small_round_does_not_stop_the_scenario():
    """Its plain MCSE is 0; the rule reads it with one success and one failure added."""
    rule = StoppingRule((parse_target("rejection=0.01"),), 10_000)
    rows = [row("fixed", "pni_selected", truth=None, rejection=0.0, rejection_mcse=0.0,
                n_used=10)]
    status = evaluate(rule, rows, {"s": 10})["s"]
    smoothed = 1 / 12
    assert not status.met
    assert status.needed == math.ceil(10 * (math.sqrt(smoothed * (1 - smoothed) / 10)
                                            / 0.01) ** 2)
    rows[0].update(n_used=2000)       # still none seen: the rule is met at 2,000
    assert evaluate(rule, rows, {"s": 2000})["s"].met
