"""The risk profile: factors, combined relative hazard, medians, echo, errors, fuzzing."""

import json
import math
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calculator import InputError, __version__, published, score
from calculator.profile import FIELDS
from tests import strategies as s

ALL_ADVERSE = {"albumin": 35, "lymphocytes": 1.1, "afp": 250, "extrahepatic_spread": True}
NONE_ADVERSE = {"albumin": 45, "lymphocytes": 2.0, "afp": 20, "extrahepatic_spread": False}


def test_all_adverse_patient_worked_value():
    # exp(ln 1.97 + ln(1/0.41) + ln(1/0.24)) = 20.0; se^2 summed from the Table 4 CIs
    # (0.342^2 + 0.360^2 + 0.504^2) gives 95% CI 5.0-80.2 (published-model sheet: "about
    # 20, CI about 5 to 80").
    result = score(ALL_ADVERSE).to_dict()
    assert result["adverse_count"] == 3
    rh = result["relative_hazard"]
    assert rh["value"] == pytest.approx(20.0, abs=0.05)
    assert rh["ci"][0] == pytest.approx(5.0, abs=0.05)
    assert rh["ci"][1] == pytest.approx(80.2, abs=0.2)
    assert "covariance" in rh["caveat"]
    assert rh["reference"] == "patient with none of the three independent adverse factors"


def test_no_adverse_factor_is_the_reference():
    result = score(NONE_ADVERSE).to_dict()
    assert result["adverse_count"] == 0
    assert result["relative_hazard"]["value"] == 1.0
    assert result["relative_hazard"]["ci"] == [1.0, 1.0]


@pytest.mark.parametrize(("name", "hr", "ci", "p"), [
    ("afp", 1.97, [1.01, 3.86], 0.049),
    ("extrahepatic_spread", 2.44, [1.22, 5.0], 0.012),
    ("pni", 4.17, [1.54, 11.1], 0.005),
])
def test_factors_are_the_adverse_table4_rows(name, hr, ci, p):
    factor = next(f for f in score(ALL_ADVERSE).to_dict()["factors"] if f["name"] == name)
    assert (factor["hr"], factor["ci"], factor["p"]) == (hr, ci, p)
    assert factor["adverse"] and factor["independent"]
    assert factor["source"].startswith("Table 4")
    assert factor["rule"]


def test_single_factor_hazards_equal_their_hr():
    only_pni = score({**NONE_ADVERSE, "lymphocytes": 0.5}).to_dict()
    assert only_pni["relative_hazard"]["value"] == 4.17
    assert only_pni["relative_hazard"]["ci"] == [1.54, 11.1]


def test_afp_exactly_200_is_adverse_and_199_99_is_not():
    assert score({**NONE_ADVERSE, "afp": 200}).adverse_count == 1
    assert score({**NONE_ADVERSE, "afp": "199,99"}).adverse_count == 0
    # 165.28 IU/mL x 1.21 = 199.9888 ng/mL; 165.29 IU/mL x 1.21 = 200.0009 ng/mL
    assert score({**NONE_ADVERSE, "afp": 165.28, "afp_unit": "IU/mL"}).adverse_count == 0
    assert score({**NONE_ADVERSE, "afp": 165.29, "afp_unit": "IU/mL"}).adverse_count == 1


def test_every_result_states_its_boundary_rules():
    result = score(NONE_ADVERSE).to_dict()
    assert "PNI ≥ 47.6" in result["pni"]["rule"]
    rules = {f["name"]: f["rule"] for f in result["factors"]}
    assert rules["afp"] == "adverse if AFP ≥ 200 ng/mL"
    assert "PNI < 47.6 is adverse" in rules["pni"]


def test_published_medians_follow_the_afp_group_and_skip_the_pni_typo():
    high = score(ALL_ADVERSE).to_dict()["published_medians"]
    low = score(NONE_ADVERSE).to_dict()["published_medians"]
    assert {(m["group"], m["endpoint"]) for m in high} == {("all", "os"), ("all", "pfs"),
                                                           ("afp_high", "os")}
    assert ("afp_low", "os", 10.4) in {(m["group"], m["endpoint"], m["median_months"])
                                       for m in low}
    assert all("pni" not in m["group"] for m in high + low)
    assert "20.1" in score(NONE_ADVERSE).to_dict()["published_medians_note"]


def test_inputs_are_echoed_as_entered_and_as_used():
    result = score({**ALL_ADVERSE, "albumin": "3,5", "albumin_unit": "g/dL",
                    "lymphocytes": 1100, "lymphocytes_unit": "cells/uL"}).to_dict()
    inputs = {i["field"]: i for i in result["inputs"]}
    assert inputs["albumin"] == {"field": "albumin", "entered": "3,5", "unit": "g/dL",
                                 "value": 35.0, "canonical_unit": "g/L", "quality": "converted",
                                 "date": None}
    assert inputs["lymphocytes"]["value"] == 1.1
    assert inputs["afp"]["quality"] == "ok"
    assert inputs["extrahepatic_spread"]["value"] is True


def test_model_applicability_and_no_absolute_survival():
    result = score(ALL_ADVERSE).to_dict()
    assert result["model"]["doi"] == "10.5152/tjg.2025.24784"
    assert result["model"]["version"] == __version__
    assert result["model"]["published_model_version"] == published.MODEL_VERSION
    assert "Child-Pugh A/B" in result["applicability"]
    text = json.dumps(result, ensure_ascii=False).lower()
    negated = r"not an? (?:absolute survival )?probability|no survival probability"
    assert text.count("probability") == len(re.findall(negated, text)) > 0


def test_all_invalid_fields_are_reported_together():
    with pytest.raises(InputError) as e:
        score({"albumin": "x", "lymphocytes": -1, "afp": None, "extrahepatic_spread": "maybe",
               "albumen": 35})
    fields = [p.field for p in e.value.errors]
    assert fields == ["albumen", "albumin", "lymphocytes", "afp", "extrahepatic_spread"]
    assert "not a known input" in e.value.errors[0].message
    assert isinstance(e.value, ValueError)
    json.dumps(e.value.to_json(), allow_nan=False)


def test_missing_required_fields():
    with pytest.raises(InputError) as e:
        score({})
    assert [p.field for p in e.value.errors] == ["albumin", "lymphocytes", "afp",
                                                 "extrahepatic_spread"]
    assert e.value.errors[3].message == "Extrahepatic spread is required; answer yes or no"


@pytest.mark.parametrize("raw", [None, [], "albumin=35", 35])
def test_non_mapping_input(raw):
    with pytest.raises(InputError, match="must be an object of named fields"):
        score(raw)


@given(base=st.fixed_dictionaries({"albumin": s.albumin_g_l, "lymphocytes": s.lymphocytes_10e9_l,
                                   "afp": s.afp_ng_ml, "extrahepatic_spread": st.booleans()}),
       which=st.sampled_from(["afp", "extrahepatic_spread", "pni"]))
def test_turning_a_factor_adverse_never_lowers_count_or_hazard(base, which):
    before = score(base)
    worse = dict(base)
    if which == "afp":
        worse["afp"] = max(base["afp"], 200)
    elif which == "extrahepatic_spread":
        worse["extrahepatic_spread"] = True
    else:
        worse["albumin"], worse["lymphocytes"] = min(base["albumin"], 40), min(
            base["lymphocytes"], 1)
    after = score(worse)
    assert after.adverse_count >= before.adverse_count
    assert after.relative_hazard.value >= before.relative_hazard.value
    assert after.relative_hazard.ci[1] >= before.relative_hazard.ci[1]


@given(values=st.dictionaries(st.sampled_from([*FIELDS, "albumin_unit", "lymphocytes_unit",
                                               "afp_unit", "bilirubin_unit"]),
                              s.anything, max_size=12))
def test_any_input_gives_a_finite_result_or_the_input_error(values):
    try:
        result = score(values).to_dict()
    except InputError as err:
        assert err.errors
        json.dumps(err.to_json(), allow_nan=False)
        return
    text = json.dumps(result, allow_nan=False)  # raises on NaN or inf
    assert math.isfinite(result["pni"]["value"]) and "NaN" not in text


@given(values=st.fixed_dictionaries({
    "albumin": s.albumin_g_l.flatmap(s.as_entered),
    "lymphocytes": s.lymphocytes_10e9_l.flatmap(s.as_entered),
    "afp": s.afp_ng_ml.flatmap(s.as_entered), "extrahepatic_spread": s.yes_no}))
def test_valid_lab_values_always_score(values):
    result = score(values).to_dict()
    assert 0 <= result["adverse_count"] <= 3
    assert result["relative_hazard"]["ci"][0] <= result["relative_hazard"]["value"]


# --- the headline: endpoint, comparator, what the number is ------------------------------
def test_the_headline_names_endpoint_comparator_and_says_not_a_probability():
    rh = score(ALL_ADVERSE).to_dict()["relative_hazard"]
    assert rh["endpoint"] == published.ENDPOINT
    assert rh["summary"].startswith("Relative hazard 20.0 (95% CI 5.00–80.2) for overall "
                                    "survival on second-line therapy after atezolizumab + "
                                    "bevacizumab, against a patient with none of the three")
    assert "not a probability of death" in rh["summary"]
    assert rh["reference_group"] is False


def test_no_adverse_factor_reads_as_the_reference_group_not_1_00():
    rh = score(NONE_ADVERSE).to_dict()["relative_hazard"]
    assert rh["reference_group"] is True
    assert rh["summary"].startswith("No adverse factor: this patient is in the reference group")
    assert "1.00" not in rh["summary"]


def test_medians_without_a_published_n_say_so():
    medians = score(ALL_ADVERSE).to_dict()["published_medians"]
    by_group = {(m["group"], m["endpoint"]): m for m in medians}
    assert by_group[("all", "os")]["n"] == 58 and by_group[("all", "os")]["n_note"] is None
    assert by_group[("afp_high", "os")]["n"] is None
    assert by_group[("afp_high", "os")]["n_note"] == "n not reported in the paper"


# --- time of calculation and lab dates ---------------------------------------------------
NOW = datetime(2025, 3, 31, 9, 30, tzinfo=timezone(timedelta(hours=3)))


def test_the_time_of_calculation_is_passed_in_and_echoed():
    assert score(ALL_ADVERSE).to_dict()["calculated_at"] is None  # the core reads no clock
    assert score(ALL_ADVERSE, NOW).to_dict()["calculated_at"] == "2025-03-31T09:30:00+03:00"


@pytest.mark.parametrize(("lab_date", "warning"), [
    ("2025-03-01", None),  # 30 days: still current
    ("2025-02-28", "These labs were taken 31 days before this calculation (2025-02-28)"),
    ("2025-03-31", None),
    ("2025-04-01", "These labs were dated 2025-04-01, 1 day after this calculation"),
])
def test_lab_date_older_than_30_days_or_in_the_future_warns(lab_date, warning):
    result = score({**ALL_ADVERSE, "lab_date": lab_date}, NOW).to_dict()
    assert result["lab_date"] == lab_date
    labs = [i for i in result["inputs"] if i["field"] in ("albumin", "lymphocytes", "afp")]
    assert all(i["date"] == lab_date for i in labs)
    spread = next(i for i in result["inputs"] if i["field"] == "extrahepatic_spread")
    assert spread["date"] is None  # not a lab
    messages = [w["message"] for w in result["warnings"] if w["field"] == "lab_date"]
    assert len(messages) == (0 if warning is None else 1)
    if warning is not None:
        assert messages[0].startswith(warning)


@pytest.mark.parametrize("bad", ["31.03.2025", "2025-02-30", "yesterday", "2025-3-1", 20250301])
def test_a_bad_lab_date_is_an_error_naming_the_field(bad):
    with pytest.raises(InputError, match=r"^Date of these labs must be a date written "
                                         r"YYYY-MM-DD") as e:
        score({**ALL_ADVERSE, "lab_date": bad}, NOW)
    assert e.value.field == "lab_date"


def test_a_lab_date_without_a_calculation_time_is_said_to_be_unchecked():
    result = score({**ALL_ADVERSE, "lab_date": "2020-01-01"}).to_dict()
    assert [w["message"] for w in result["warnings"]] == [
        "the lab date was not checked: no time of calculation was given to compare it with"]
