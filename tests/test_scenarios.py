"""Scenarios: built-ins read from the published model, truth, serialisation, TOML files."""

import json
import math

import numpy as np
import pytest

from calculator.errors import InputError
from calculator.published import COHORT, PNI_CUTOFF, table4_row
from simulation.cohorts.covariates import reference_covariates
from simulation.cohorts.factors import pni_low, pni_values
from simulation.cohorts.scenarios import (
    BUILTINS,
    PNI_SLOPE,
    STEP_FACTORS,
    Effects,
    Scenario,
    ScenarioError,
    accrual_window_months,
    example_toml_paths,
    get_scenario,
    load_scenario_toml,
    published_targets,
    scenario_from_dict,
    truth,
)


def test_tog2025_truth_is_table4_multivariable_as_adverse():
    values = truth(get_scenario("tog2025"))
    assert list(values) == list(STEP_FACTORS)
    for factor, row in [("afp", "afp"), ("extrahepatic_spread", "extrahepatic_spread"),
                        ("pni_low", "pni"), ("child_pugh_b", "child_pugh")]:
        assert values[factor] == math.log(table4_row(row).adverse().hr)
    # interfaces.md section 4: adverse HRs AFP 1.97, spread 2.44, PNI < 47.6 4.17, CP B 1.60
    assert [round(math.exp(values[f]), 2) for f in
            ("afp", "extrahepatic_spread", "pni_low", "child_pugh_b")] == [1.97, 2.44, 4.17, 1.60]
    for factor in ("age_65_plus", "male", "ecog_1_plus", "viral_hepatitis"):
        assert values[factor] == 0.0


def test_null_scenarios():
    base = truth(get_scenario("tog2025"))
    null_pni = truth(get_scenario("tog2025-null-pni"))
    assert null_pni["pni_low"] == 0.0
    assert {k: v for k, v in null_pni.items() if k != "pni_low"} == \
        {k: v for k, v in base.items() if k != "pni_low"}
    assert set(truth(get_scenario("tog2025-null")).values()) == {0.0}


def test_continuous_slope_matches_the_step_on_the_group_means():
    scenario = get_scenario("tog2025-continuous")
    values = truth(scenario)
    assert "pni_low" not in values and values[PNI_SLOPE] < 0
    ref = reference_covariates(scenario.ecog2_share)
    pni = pni_values(ref["albumin_g_l"], ref["lymphocytes_10e9_l"])
    low = pni_low(pni, 47.6) == 1.0
    contrast = pni[~low].mean() - pni[low].mean()
    # the low group's mean linear predictor exceeds the high group's by ln(HR) of the step
    assert -values[PNI_SLOPE] * contrast == pytest.approx(math.log(1 / 0.24), rel=1e-12)
    assert scenario.pni_cutoff == float(PNI_CUTOFF.value)


def test_published_targets_and_accrual_window():
    targets = published_targets()
    assert targets.death_fraction == COHORT["deaths"] / COHORT["n"]
    # Results: 40 of 58 died, 49 progressed, follow-up 20.4, median OS 6.5, PFS 4.1
    assert (round(targets.death_fraction, 3), targets.median_followup_months,
            targets.median_os_months, targets.median_pfs_months,
            round(targets.pfs_event_fraction, 3)) == (0.69, 20.4, 6.5, 4.1, 0.845)
    assert accrual_window_months() == 45  # October 2020 to June 2024, both months included
    assert get_scenario("tog2025").accrual_months == 45.0


@pytest.mark.parametrize("name", list(BUILTINS))
def test_round_trip_through_json_and_hashable(name):
    scenario = get_scenario(name)
    assert get_scenario(name) is scenario
    data = json.loads(json.dumps(scenario.to_dict()))
    again = scenario_from_dict(data)
    assert again == scenario and hash(again) == hash(scenario)
    assert data["generator_version"] >= 1 and data["name"] == name


def test_from_dict_refuses_another_generator_version():
    data = get_scenario("tog2025").to_dict() | {"generator_version": 0}
    with pytest.raises(ScenarioError, match="generator version 0"):
        scenario_from_dict(data)


def test_effects_is_an_immutable_hashable_mapping():
    a = Effects({"pni_low": 1.0, "afp": 0.5})
    b = Effects({"afp": 0.5, "pni_low": 1.0})
    assert a == b and hash(a) == hash(b) and list(a) == ["afp", "pni_low"]
    assert a["afp"] == 0.5 and a.get("male", 0.0) == 0.0 and len(a) == 2
    assert a == {"afp": 0.5, "pni_low": 1.0} and a != Effects({"afp": 0.5})
    with pytest.raises(KeyError):
        a["male"]


def test_example_toml_ships_and_loads():
    paths = example_toml_paths()
    assert [p.name for p in paths] == ["tog2025-weaker-pni.toml"]
    scenario = get_scenario(str(paths[0]))
    assert scenario.name == "tog2025-weaker-pni"
    assert scenario.pni_cutoff == 45.0
    assert scenario.effects["pni_low"] == pytest.approx(math.log(2.0))
    assert scenario.effects["ecog_1_plus"] == 0.2
    assert scenario.effects["afp"] == get_scenario("tog2025").effects["afp"]  # from the base
    assert scenario.targets == published_targets()


def test_toml_continuous_from_base_drops_the_inherited_step(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "c"\nbase = "tog2025"\npni_effect = "continuous"\n'
                    "[log_hazard_ratios]\npni_per_unit = -0.05\n"
                    '[targets]\nmedian_os_months = 9.0\n')
    scenario = load_scenario_toml(path)
    assert "pni_low" not in scenario.effects and scenario.effects[PNI_SLOPE] == -0.05
    assert scenario.targets.median_os_months == 9.0
    assert scenario.targets.death_fraction == published_targets().death_fraction


def test_toml_calibrated_keyword(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nweibull_shape = 0.8\n'
                    'followup_after_accrual_months = "calibrated"\n')
    scenario = load_scenario_toml(path)
    assert scenario.weibull_shape == 0.8 and scenario.followup_after_accrual_months is None
    assert scenario.effects == {}


BAD_TOML = [
    ('name = "x"\nfoo = 1\n', "unknown field 'foo'"),
    ('description = "no name"\n', "needs a name"),
    ('name = "x"\n[hazard_ratios]\nbmi = 2.0\n', "unknown factor 'bmi'"),
    ('name = "x"\n[hazard_ratios]\nafp = -2.0\n', r"hazard_ratios.afp must be a number in \(0, inf\)"),
    ('name = "x"\n[hazard_ratios]\nafp = "2"\n', "hazard_ratios.afp must be a number"),
    ('name = "x"\n[hazard_ratios]\nafp = nan\n', "hazard_ratios.afp must be a number"),
    ('name = "x"\n[log_hazard_ratios]\nafp = 9.0\n', r"log_hazard_ratios.afp must be a number in \[-5, 5\]"),
    ('name = "x"\n[hazard_ratios]\nafp = 2.0\n[log_hazard_ratios]\nafp = 0.7\n',
     "afp is given both as a hazard ratio and as a log hazard ratio"),
    ('name = "x"\nhazard_ratios = 2\n', "hazard_ratios must be a table"),
    ('name = "x"\npni_effect = "linear"\n', "pni_effect must be 'step' or 'continuous'"),
    ('name = "x"\npni_effect = "continuous"\n', "needs effects.pni_per_unit"),
    ('name = "x"\n[log_hazard_ratios]\npni_per_unit = -0.1\n', "needs pni_effect = 'continuous'"),
    ('name = "x"\npni_effect = "continuous"\n[log_hazard_ratios]\npni_per_unit = -0.1\npni_low = 1.0\n',
     "pni_low is a step"),
    ('name = "x"\n[targets]\ndeath_fraction = 1.5\n', r"targets.death_fraction must be a number in \(0, 1\)"),
    ('name = "x"\n[targets]\nmedian_pfs_months = 8.0\n', "targets.median_pfs_months must be"),
    ('name = "x"\n[targets]\npfs_event_fraction = 0.5\n', "targets.pfs_event_fraction must be"),
    ('name = "x"\n[targets]\ndeaths = 40\n', "unknown target 'deaths'"),
    ('name = "x"\nfollowup_after_accrual_months = "calibrated"\n', "exactly one of weibull_shape"),
    ('name = "x"\nweibull_shape = 1.0\n', "exactly one of weibull_shape"),
    ('name = "x"\nweibull_shape = "flat"\nfollowup_after_accrual_months = "calibrated"\n',
     "weibull_shape must be a number or 'calibrated'"),
    ('name = "x"\nweibull_shape = 9.0\nfollowup_after_accrual_months = "calibrated"\n',
     r"weibull_shape must be a number in \[0.2, 5\]"),
    ('name = "x"\naccrual_months = 0\n', "accrual_months must be a number in"),
    ('name = "x"\necog2_share = 0.7\n', "ecog2_share must be a number in"),
    ('name = "x"\npni_cutoff = true\n', "pni_cutoff must be a number"),
    ('name = "x y"\n', "name must be letters, digits"),
    ('name = "x"\nbase = "paper"\n', "base must be a built-in scenario"),
    ('name = "x"\ndescription = 3\n', "description must be text"),
    ('name = "x\n', "not valid TOML"),
    ('name = "tog2025"\n', "name 'tog2025' is a built-in scenario"),
    ('name = "x"\n[log_hazard_ratios]\nbmi = "high"\n', "unknown factor 'bmi'"),
]


@pytest.mark.parametrize("text, message", BAD_TOML)
def test_bad_toml_gives_a_clear_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as caught:
        get_scenario(str(path))
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, InputError) and caught.value.field


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="unknown scenario 'tog2024'; built-in: tog2025"):
        get_scenario("tog2024")
    with pytest.raises(ScenarioError, match="not found"):
        get_scenario(str(tmp_path / "absent.toml"))


def test_scenario_validates_in_python_too():
    with pytest.raises(ScenarioError, match="unknown effect 'bmi'"):
        Scenario("x", Effects({"bmi": 1.0}))
    with pytest.raises(ScenarioError, match=r"effects.afp must be a number"):
        Scenario("x", Effects({"afp": float("inf")}))
    assert isinstance(Scenario("x", {"afp": 0.5}).effects, Effects)


def test_truth_of_a_step_scenario_is_finite_for_every_factor():
    for name in BUILTINS:
        values = truth(get_scenario(name))
        assert all(np.isfinite(v) for v in values.values()) and len(values) == 8
