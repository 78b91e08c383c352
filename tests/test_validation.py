"""External validation of one cohort (simulation.paper.validation).

The numbers against R are in test_r_validation.py. Here: the model is the published one
(from calculator.published, and the calculator's combined relative hazard); the complete
cases are analyze's; the record is strict JSON; the warnings are honest; and on synthetic
truth the measures say what they should: under ``tog2025`` (the published model true) the
slope is near 1 and its CI holds 1, under ``tog2025-null-pni`` and ``tog2025-null`` the
slope shows the failure.
"""

import json
import math

import numpy as np
import pytest

from calculator import score
from calculator.published import table4_row
from simulation.cohorts.factors import code_factors
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.paper.analysis import analyze
from simulation.paper.validation import (
    MIN_DEATHS,
    linear_predictor,
    published_group_hazard,
    published_log_hazard_ratios,
    validate,
)


def cohort_of(scenario: str, n: int, seed: int) -> dict[str, np.ndarray]:
    return generate_cohort(get_scenario(scenario), n, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def large() -> dict[str, dict]:
    """One cohort of 3,000 per scenario (seeded)."""
    return {s: validate(cohort_of(s, 3000, 11))
            for s in ("tog2025", "tog2025-null-pni", "tog2025-null")}


def test_the_model_is_table_4_as_adverse() -> None:
    betas = published_log_hazard_ratios()
    for factor, row in (("afp", "afp"), ("extrahepatic_spread", "extrahepatic_spread"),
                        ("pni_low", "pni")):
        assert betas[factor] == math.log(table4_row(row).adverse().hr)
    coded = {"afp": np.array([0, 1, 1.0]), "extrahepatic_spread": np.array([0, 0, 1.0]),
             "pni_low": np.array([0, 1, 1.0])}
    assert linear_predictor(coded).tolist() == pytest.approx(
        [0.0, betas["afp"] + betas["pni_low"], sum(betas.values())])


def test_published_hazard_of_a_group_is_the_calculators() -> None:
    """Group 3 is one combination: the calculator's 20.0 (5.00-80.2) exactly, as
    ``score`` gives it for a patient with all three factors."""
    patient = score({"albumin": 30, "lymphocytes": 1.0, "afp": 250,
                     "extrahepatic_spread": True}).relative_hazard
    group = published_group_hazard({"afp": np.ones(4), "extrahepatic_spread": np.ones(4),
                                    "pni_low": np.ones(4)})
    assert group["value"] == patient.value
    assert group["ci"] == list(patient.ci)
    assert group["combinations"] == [{"factors": ["afp", "extrahepatic_spread", "pni_low"],
                                      "n": 4, "value": patient.value,
                                      "ci": list(patient.ci)}]


def test_published_hazard_of_a_mixed_group_is_the_geometric_mean() -> None:
    """Group 1 of three AFP-only and one PNI-only patients: exp(mean lp), and the CI from
    se^2 = (3/4)^2 se_afp^2 + (1/4)^2 se_pni^2."""
    betas = published_log_hazard_ratios()
    group = published_group_hazard({"afp": np.array([1, 1, 1, 0.0]),
                                    "extrahepatic_spread": np.zeros(4),
                                    "pni_low": np.array([0, 0, 0, 1.0])})
    log_rh = 0.75 * betas["afp"] + 0.25 * betas["pni_low"]
    assert group["value"] == pytest.approx(math.exp(log_rh), rel=1e-12)
    se_afp = (math.log(3.86) - math.log(1.01)) / (2 * 1.959963984540054)
    se_pni = (math.log(1 / 0.09) - math.log(1 / 0.65)) / (2 * 1.959963984540054)
    se = math.sqrt(0.75 ** 2 * se_afp ** 2 + 0.25 ** 2 * se_pni ** 2)
    assert group["ci"] == pytest.approx([math.exp(log_rh - 1.959963984540054 * se),
                                         math.exp(log_rh + 1.959963984540054 * se)])
    assert [c["n"] for c in group["combinations"]] == [1, 3]


def test_complete_cases_are_those_analyze_uses_for_the_three_factors() -> None:
    cohort = cohort_of("tog2025", 400, 3)
    rng = np.random.default_rng(4)
    for column in ("afp_ng_ml", "albumin_g_l", "lymphocytes_10e9_l", "os_months",
                   "extrahepatic_spread"):
        values = cohort[column].astype(float)
        values[rng.choice(400, 12, replace=False)] = np.nan
        cohort[column] = values
    record = validate(cohort)
    multi = analyze(cohort)["cox"]["multivariable"]
    assert {"afp", "extrahepatic_spread", "pni_low"} <= set(multi["entered"])
    assert record["n"] == multi["n_used"] < 400
    assert record["deaths"] == multi["events"]
    assert record["rows"] == 400
    assert record["missing"]["excluded_rows"] == 400 - record["n"]
    assert set(record["missing"]["by_column"]) == {"afp_ng_ml", "albumin_g_l",
                                                   "lymphocytes_10e9_l", "os_months",
                                                   "extrahepatic_spread"}


def test_the_record_is_strict_json_with_the_interface_keys() -> None:
    record = validate(cohort_of("tog2025", 58, 1))
    text = json.dumps(record, allow_nan=False)
    for key in ("n", "deaths", "c_harrell", "c_uno", "calibration_slope", "risk_groups",
                "logrank_trend", "warnings"):
        assert key in record
    for key in ("c_harrell", "c_uno", "calibration_slope"):
        assert set(record[key]) >= {"value", "ci"} and len(record[key]["ci"]) == 2
    assert [g["adverse_factors"] for g in record["risk_groups"]] == [0, 1, 2, 3]
    assert sum(g["n"] for g in record["risk_groups"]) == record["n"]
    assert record["risk_groups"][0]["hr"]["reference"] is True
    assert record["risk_groups"][0]["hr_published"]["reference"] is True
    assert "NaN" not in text and "Infinity" not in text


def test_fewer_than_100_deaths_is_said_with_its_source() -> None:
    record = validate(cohort_of("tog2025", 58, 1))
    few = [w for w in record["warnings"] if w["code"] == "few-deaths"]
    assert len(few) == 1 and record["deaths"] < MIN_DEATHS
    assert "at least 100 deaths" in few[0]["message"]
    assert "Collins, Ogundimu & Altman 2016" in few[0]["message"]
    assert not any(w["code"] == "few-deaths"
                   for w in validate(cohort_of("tog2025", 400, 2))["warnings"])


def _set(cohort: dict, rows: np.ndarray, **values: float) -> None:
    for column, value in values.items():
        cohort[column] = cohort[column].astype(float)
        cohort[column][rows] = value


def test_empty_small_and_separated_groups_and_unreached_medians() -> None:
    cohort = cohort_of("tog2025", 200, 5)
    everyone = np.arange(200)
    # Nobody without a factor: every patient has extrahepatic spread.
    _set(cohort, everyone, extrahepatic_spread=1.0)
    codes = {w["code"] for w in validate(cohort)["warnings"]}
    assert {"no-reference-group", "empty-risk-group"} <= codes

    cohort = cohort_of("tog2025", 200, 6)
    # Group 3 (AFP >= 200, spread, PNI < 47.6) made alive at the end: no deaths there.
    coded = code_factors(cohort)
    three = np.flatnonzero((coded["afp"] == 1) & (coded["extrahepatic_spread"] == 1)
                           & (coded["pni_low"] == 1))
    _set(cohort, three, os_event=0.0, os_months=40.0)
    record = validate(cohort)
    messages = {w["code"]: w["message"] for w in record["warnings"]}
    assert "separation" in messages and "risk group 3" in messages["separation"]
    assert record["risk_groups"][3]["hr"]["value"] is None
    assert record["risk_groups"][3]["median_months"] is None
    assert "median-not-reached" in messages

    small = cohort_of("tog2025", 30, 7)
    codes = {w["code"] for w in validate(small)["warnings"]}
    assert "small-risk-group" in codes


def test_no_complete_case_gives_a_record_not_an_exception() -> None:
    cohort = cohort_of("tog2025", 20, 8)
    _set(cohort, np.arange(20), albumin_g_l=np.nan)
    record = validate(cohort)
    assert record["n"] == 0 and record["c_harrell"]["value"] is None
    assert record["calibration_slope"]["value"] is None
    assert {"no-complete-cases", "few-deaths"} <= {w["code"] for w in record["warnings"]}
    json.dumps(record, allow_nan=False)


def test_uno_tau_is_stated_and_checked() -> None:
    record = validate(cohort_of("tog2025", 300, 9), tau=6.0)
    assert record["c_uno"]["tau_months"] == 6.0
    assert "tau = 6 months" in record["c_uno"]["method"]
    late = validate(cohort_of("tog2025", 300, 9), tau=40.0)
    assert "uno-tau" in {w["code"] for w in late["warnings"]}
    with pytest.raises(ValueError, match="tau must be a positive number of months"):
        validate(cohort_of("tog2025", 30, 9), tau=0.0)


def test_published_model_true_slope_near_one_and_intervals_cover(large) -> None:
    record = large["tog2025"]
    slope = record["calibration_slope"]
    assert abs(slope["value"] - 1) < 0.08
    assert slope["ci"][0] < 1 < slope["ci"][1] and slope["test_slope_1"]["p"] > 0.05
    assert 0.67 < record["c_harrell"]["value"] < 0.74
    for group in record["risk_groups"][1:]:
        observed, published = group["hr"], group["hr_published"]
        # Each group's observed HR interval holds the published one's value.
        assert observed["ci"][0] < published["value"] < observed["ci"][1]


def test_no_pni_effect_the_slope_shows_the_failure(large) -> None:
    slope = large["tog2025-null-pni"]["calibration_slope"]
    assert slope["ci"][1] < 0.7 and slope["test_slope_1"]["p"] < 1e-6
    assert large["tog2025-null-pni"]["c_harrell"]["value"] < large["tog2025"]["c_harrell"][
        "value"] - 0.05


def test_no_effect_at_all_slope_near_zero_and_c_near_one_half(large) -> None:
    record = large["tog2025-null"]
    slope, c = record["calibration_slope"], record["c_harrell"]
    assert slope["ci"][0] < 0 < slope["ci"][1]
    assert c["ci"][0] < 0.5 < c["ci"][1]
    assert record["logrank_trend"]["p"] > 0.01
