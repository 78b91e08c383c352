"""Sample size for an external validation, and the coverage of its measures
(simulation.study.plan, ``hcc-prognosis plan``).

- The growing cohorts: replicate cohorts of different sizes share their first patients,
  and are the same on every run (seeded streams).
- The search finds the smallest grid size on a known width curve, from below and above.
- A small plan meets its target at the answer and misses it one step below.
- The coverage check on synthetic truth (fast version of the README's 1,000 replicates of
  n = 300): under ``tog2025`` the slope's CI covers its large-sample value, and 1, about
  95% of the time (within 3 Monte Carlo SEs); under ``tog2025-null-pni`` it almost never
  holds 1.
"""

import json
import math

import numpy as np
import pytest

from calculator.cli import main
from calculator.errors import InputError
from simulation.cohorts.scenarios import get_scenario
from simulation.commands.plan import TARGET_NAMES
from simulation.study.plan import (
    TARGETS,
    Evaluation,
    GrowingCohorts,
    Target,
    check_size,
    find_n,
    parse_target,
    plan,
)


def test_target_names_in_the_help_are_the_targets() -> None:
    assert TARGET_NAMES.split(", ") == list(TARGETS)


@pytest.mark.parametrize("text, message", [
    ("slope-width=0.3", "NAME one of slope-ci-width, c-ci-width"),
    ("slope-ci-width", "NAME one of"),
    ("slope-ci-width=0", "between 0 and 2"),
    ("c-ci-width=nan", "between 0 and 2"),
])
def test_bad_targets_are_refused_naming_the_field(text, message) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_target(text)
    assert caught.value.errors[0].field == "target"


def test_growing_cohorts_share_their_patients_and_repeat() -> None:
    scenario = get_scenario("tog2025")
    a = GrowingCohorts(scenario, 7, 5)
    small, big = a.stack(50), a.stack(300)
    for name in small:
        np.testing.assert_array_equal(big[name][:, :50], small[name])
    again = GrowingCohorts(scenario, 7, 5).stack(300)
    for name in big:
        np.testing.assert_array_equal(again[name], big[name])
    other = GrowingCohorts(scenario, 8, 5).stack(50)
    assert not np.array_equal(other["os_months"], small["os_months"])
    assert big["os_months"].shape == (5, 300)


def _curve(n: int) -> Evaluation:
    """A known expected width, 3 / sqrt(n): at most 0.3 from n = 100 on."""
    width = 3 / math.sqrt(n)
    return Evaluation(n, 1, {"slope": width}, {"slope": 0.001}, {"slope": 1.0},
                      {"slope": 1}, 0.7 * n, 1.0)


@pytest.mark.parametrize("start", [20, 50, 100, 400, 1000])
def test_search_finds_the_smallest_grid_size_from_any_start(start) -> None:
    answer = find_n(Target("slope-ci-width", 0.3), _curve, start_n=start, step=10)
    assert answer.n == 100 and answer.reached
    assert answer.below is None or answer.below.width["slope"] > 0.3
    assert len(set(answer.path)) == len(answer.path)        # no size evaluated twice
    assert answer.n_mcse == pytest.approx(2 * 100 * 0.001 / 0.3)


def test_search_says_when_the_target_is_out_of_reach() -> None:
    answer = find_n(Target("slope-ci-width", 0.01), _curve, start_n=50, step=10,
                    max_n=5000)
    assert not answer.reached and answer.n is None
    assert answer.to_dict()["n"] is None


def test_a_small_plan_meets_its_target_at_the_answer_and_not_one_step_below() -> None:
    result = plan(get_scenario("tog2025"), [parse_target("c-ci-width=0.15")],
                  replicates=60, step=10, seed=2)
    answer = result.answers[0]
    assert answer.evaluation.width["c_harrell"] <= 0.15 < answer.below.width["c_harrell"]
    assert answer.below.n == answer.n - 10
    record = result.to_dict()
    json.dumps(record, allow_nan=False)
    assert record["n"] == answer.n and record["deaths"] == pytest.approx(
        answer.evaluation.deaths)
    assert 40 < answer.n < 200


@pytest.fixture(scope="module")
def coverage() -> dict[str, dict]:
    """The README's coverage check, fast: 300 replicates of n = 300."""
    return {s: check_size(get_scenario(s), 300, replicates=300, seed=1,
                          reference_n=100_000)
            for s in ("tog2025", "tog2025-null-pni")}


def test_published_model_true_the_slopes_ci_covers(coverage) -> None:
    record = coverage["tog2025"]
    slope = record["measures"]["slope"]
    three_mcse = 3 * math.sqrt(0.95 * 0.05 / 300)
    assert abs(slope["coverage"] - 0.95) < three_mcse
    assert abs(slope["covers_one"] - 0.95) < three_mcse
    assert abs(record["reference"]["slope"]["value"] - 1) < 0.02
    assert abs(slope["bias"]) < 3 * slope["bias_mcse"] + 0.01
    c = record["measures"]["c_harrell"]
    assert abs(c["coverage"] - 0.95) < three_mcse
    assert slope["estimable"] == 300 and 180 < record["deaths"] < 240


def test_no_pni_effect_the_slopes_ci_fails_to_hold_one(coverage) -> None:
    record = coverage["tog2025-null-pni"]
    slope = record["measures"]["slope"]
    assert record["reference"]["slope"]["value"] < 0.6
    assert slope["covers_one"] < 0.02 and slope["rejection"] > 0.98
    # Coverage of its own (large-sample) value is still nominal: the CI is valid, the
    # model is not.
    assert abs(slope["coverage"] - 0.95) < 3 * math.sqrt(0.95 * 0.05 / 300)


def test_plan_command_search_and_check(capsys) -> None:
    assert main(["plan", "--target", "c-ci-width=0.2", "--replicates", "40", "--step",
                 "20"]) == 0
    out = capsys.readouterr().out
    assert "c-ci-width=0.2: n = " in out and "found by doubling then bisection" in out
    assert main(["plan", "--n", "100", "--replicates", "30", "--json",
                 "--scenario", "tog2025-null"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["n"] == 100 and set(record["measures"]) == {"slope", "c_harrell"}


def test_plan_command_errors_exit_2(capsys) -> None:
    assert main(["plan", "--target", "slope-ci-width=abc", "--json"]) == 2
    error = json.loads(capsys.readouterr().err)["errors"][0]
    assert error["field"] == "target"
    assert main(["plan", "--n", "5"]) == 2
    assert "--n must be a whole number >= 20; got 5" in capsys.readouterr().err
    assert main(["plan", "--n", "100", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["plan", "--n", "100", "--target", "c-ci-width=0.1"])
    assert caught.value.code == 2
