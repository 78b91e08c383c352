"""FHIR Observations to the calculator's inputs (calculator.fhir): codes, units, which
result is used, how old it is, what is refused, and a fuzz of generated Bundles."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from calculator import InputError, score
from calculator.fhir import (
    CODES,
    LAB_CODES,
    NOT_USABLE_CODES,
    UCUM_UNITS,
    parse_json,
    read_labs,
    score_fhir,
)
from calculator.units import QUANTITIES
from tests.strategies import FHIR_NOW, fhir_bundles

NOW = datetime.fromisoformat(FHIR_NOW)
SPREAD = {"extrahepatic_spread": False}


def observation(oid: str, code: str, value: object, unit: str | None,
                when: str = "2025-03-18", status: str = "final",
                patient: str | None = "p1", **extra: Any) -> dict[str, Any]:
    """An Observation as a lab system sends it (dates near :data:`NOW`)."""
    quantity: dict[str, Any] = {"value": value}
    if unit is not None:
        quantity.update(system="http://unitsofmeasure.org", code=unit, unit=unit)
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": oid, "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "valueQuantity": quantity, **extra}
    if when:
        resource["effectiveDateTime"] = when
    if patient:
        resource["subject"] = {"reference": f"Patient/{patient}"}
    return resource


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}


ALBUMIN = observation("alb", "1751-7", Decimal("3.5"), "g/dL")
LYMPHOCYTES = observation("lym", "731-0", Decimal("1.1"), "10*3/uL")
AFP = observation("afp", "1834-1", 250, "ng/mL")
THREE = (ALBUMIN, LYMPHOCYTES, AFP)


def problems(data: object, clinical: dict[str, object] | None = None,
             patient_id: str | None = None) -> list[dict[str, Any]]:
    with pytest.raises(InputError) as caught:
        score_fhir(data, SPREAD if clinical is None else clinical, NOW, patient_id)
    return caught.value.to_json()["errors"]


# --- the tables ---------------------------------------------------------------------
def test_every_code_is_read_for_one_input_and_no_code_is_both_read_and_refused() -> None:
    assert len(CODES) == len(LAB_CODES)
    assert set(CODES).isdisjoint(NOT_USABLE_CODES)
    assert {c.field for c in LAB_CODES} == {"albumin", "lymphocytes", "afp", "bilirubin",
                                            "inr"}
    for code in CODES:  # LOINC codes end in a mod-10 check digit
        number, check = code.split("-")
        digits = [int(d) for d in number]
        doubled = [d * 2 if i % 2 == 0 else d for i, d in enumerate(reversed(digits))]
        total = sum(d // 10 + d % 10 for d in doubled)
        assert (10 - total % 10) % 10 == int(check), code


def test_every_ucum_unit_maps_onto_a_unit_the_calculator_accepts() -> None:
    for field, units in UCUM_UNITS.items():
        assert set(units.values()) <= set(QUANTITIES[field].units), field


@pytest.mark.parametrize(("field", "ucum", "value", "used"), [
    ("albumin", "g/dL", "3.5", 35), ("albumin", "g/L", "35", 35),
    ("lymphocytes", "10*9/L", "1.1", 1.1), ("lymphocytes", "10*3/uL", "1.1", 1.1),
    ("lymphocytes", "/uL", "1100", 1.1), ("lymphocytes", "{cells}/uL", "1100", 1.1),
    ("lymphocytes", "/mm3", "1100", 1.1),
    ("afp", "ng/mL", "250", 250), ("afp", "ug/L", "250", 250),
    ("afp", "[IU]/mL", "100", 121), ("afp", "k[IU]/L", "100", 121),
    ("bilirubin", "mg/dL", "1.2", 1.2), ("bilirubin", "umol/L", "34.2", 2.0),
    ("inr", "{INR}", "1.3", 1.3), ("inr", "1", "1.3", 1.3), ("inr", "{ratio}", "1.3", 1.3),
])
def test_each_ucum_unit_is_converted_as_the_calculator_converts(
        field: str, ucum: str, value: str, used: float) -> None:
    code = next(c.code for c in LAB_CODES if c.field == field)
    others = [r for r in THREE if CODES[r["code"]["coding"][0]["code"]].field != field]
    result = score_fhir(bundle(*others, observation("x", code, Decimal(value), ucum)),
                        SPREAD, NOW).to_dict()
    entry = next(i for i in result["inputs"] if i["field"] == field)
    assert entry["value"] == pytest.approx(used)
    assert entry["source"]["unit"] == ucum and entry["source"]["code"] == code


def test_the_result_is_the_one_of_the_same_values_entered_by_hand() -> None:
    """FHIR adds no rule of its own to the scoring: same values, same result."""
    from_fhir = score_fhir(bundle(*THREE), {"extrahepatic_spread": True}, NOW).to_dict()
    by_hand = score({"albumin": "3.5", "albumin_unit": "g/dL", "lymphocytes": "1.1",
                     "lymphocytes_unit": "10^3/uL", "afp": 250,
                     "extrahepatic_spread": True, "lab_date": "2025-03-18"}, NOW).to_dict()
    for key in ("pni", "factors", "adverse_count", "relative_hazard"):
        assert from_fhir[key] == by_hand[key], key
    assert [i["value"] for i in from_fhir["inputs"]] == [i["value"] for i in by_hand["inputs"]]


def test_each_input_echoes_its_observation() -> None:
    result = score_fhir(bundle(*THREE), SPREAD, NOW).to_dict()
    albumin = result["inputs"][0]
    assert albumin["date"] == "2025-03-18"
    assert albumin["source"] == {
        "resource_type": "Observation", "id": "alb", "system": "http://loinc.org",
        "code": "1751-7", "display": "Albumin [Mass/volume] in Serum or Plasma",
        "status": "final", "effective": "2025-03-18",
        "unit_system": "http://unitsofmeasure.org", "unit": "g/dL"}
    assert "source" not in result["inputs"][3]  # extrahepatic spread: not from FHIR


# --- which result ----------------------------------------------------------------------
def test_the_latest_final_result_is_used_and_a_newer_unused_one_is_named() -> None:
    older = observation("alb-old", "1751-7", Decimal("2.9"), "g/dL", when="2025-03-10")
    newest = observation("alb-pre", "1751-7", Decimal("4.4"), "g/dL", when="2025-03-19",
                         status="preliminary")
    result = score_fhir(bundle(older, ALBUMIN, newest, LYMPHOCYTES, AFP), SPREAD,
                        NOW).to_dict()
    assert result["inputs"][0]["source"]["id"] == "alb"
    assert result["inputs"][0]["value"] == 35
    named = [w["message"] for w in result["warnings"] if "alb-pre" in w["message"]]
    assert named and "preliminary" in named[0]


@pytest.mark.parametrize("status", ["preliminary", "registered", "cancelled",
                                    "entered-in-error", "unknown"])
def test_results_not_final_are_never_used(status: str) -> None:
    only = observation("alb", "1751-7", Decimal("3.5"), "g/dL", status=status)
    [error] = [e for e in problems(bundle(only, LYMPHOCYTES, AFP)) if e["field"] == "albumin"]
    assert f"status is {status}" in error["message"]
    assert "never computed from a guess" in error["message"]


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_an_amended_or_corrected_result_wins_over_a_final_one_at_the_same_time(
        status: str) -> None:
    final = observation("alb-1", "1751-7", Decimal("3.0"), "g/dL", when="2025-03-18T08:00:00Z")
    fixed = observation("alb-2", "1751-7", Decimal("3.2"), "g/dL", when="2025-03-18T08:00:00Z",
                        status=status)
    result = score_fhir(bundle(fixed, final, LYMPHOCYTES, AFP), SPREAD, NOW).to_dict()
    assert result["inputs"][0]["source"]["id"] == "alb-2"


def test_two_different_results_equally_late_are_refused() -> None:
    a = observation("alb-a", "1751-7", Decimal("3.0"), "g/dL")
    b = observation("alb-b", "1751-7", Decimal("3.9"), "g/dL")
    [error] = problems(bundle(a, b, LYMPHOCYTES, AFP))
    assert error["field"] == "albumin" and "alb-a" in error["message"] \
        and "alb-b" in error["message"]
    same = observation("alb-c", "1751-7", Decimal("3.5"), "g/dL")
    assert score_fhir(bundle(ALBUMIN, same, LYMPHOCYTES, AFP), SPREAD, NOW)


def test_a_time_orders_results_of_one_day_and_time_zones_are_respected() -> None:
    morning = observation("m", "1751-7", Decimal("3.0"), "g/dL", when="2025-03-18")
    evening = observation("e", "1751-7", Decimal("3.6"), "g/dL",
                          when="2025-03-18T19:00:00+01:00")
    result = score_fhir(bundle(morning, evening, LYMPHOCYTES, AFP), SPREAD, NOW).to_dict()
    assert result["inputs"][0]["source"]["id"] == "e"
    late = observation("n", "1751-7", Decimal("3.6"), "g/dL", when="2025-03-19T23:30:00-05:00")
    result = score_fhir(bundle(late, LYMPHOCYTES, AFP), SPREAD, NOW).to_dict()
    assert result["inputs"][0]["date"] == "2025-03-20"  # 04:30 UTC, the calculation's zone


@pytest.mark.parametrize("when", [{"effectiveDateTime": "2025-03"},
                                  {"effectiveDateTime": "2025"}, {}])
def test_a_result_not_dated_to_the_day_is_not_used(when: dict[str, str]) -> None:
    undated = observation("alb", "1751-7", Decimal("3.5"), "g/dL", when="")
    undated.update(when)
    [error] = [e for e in problems(bundle(undated, LYMPHOCYTES, AFP))
               if e["field"] == "albumin"]
    assert "to the day" in error["message"] or "no effective date" in error["message"]


def test_effective_period_and_instant_are_read() -> None:
    period = observation("p", "1751-7", Decimal("3.5"), "g/dL", when="",
                         effectivePeriod={"start": "2025-03-17T08:00:00Z"})
    instant = observation("i", "731-0", Decimal("1.1"), "10*3/uL", when="",
                          effectiveInstant="2025-03-16T08:00:00.000Z")
    result = score_fhir(bundle(period, instant, AFP), SPREAD, NOW).to_dict()
    assert [i["date"] for i in result["inputs"][:2]] == ["2025-03-17", "2025-03-16"]


# --- how old -------------------------------------------------------------------------
def test_old_future_and_far_apart_labs_give_warnings() -> None:
    old = observation("alb", "1751-7", Decimal("3.5"), "g/dL", when="2025-02-01")
    future = observation("afp", "1834-1", 250, "ng/mL", when="2025-03-25")
    result = score_fhir(bundle(old, LYMPHOCYTES, future), SPREAD, NOW).to_dict()
    messages = " | ".join(w["message"] for w in result["warnings"])
    assert "47 days before this calculation" in messages
    assert "5 days after this calculation" in messages
    assert "45 days apart" in messages  # albumin 2025-02-01, lymphocytes 2025-03-18
    fresh = score_fhir(bundle(*THREE), SPREAD, NOW).to_dict()
    assert not any("days" in w["message"] for w in fresh["warnings"])


def test_albumin_and_lymphocytes_seven_days_apart_is_still_one_draw() -> None:
    lym = observation("lym", "731-0", Decimal("1.1"), "10*3/uL", when="2025-03-11")
    result = score_fhir(bundle(ALBUMIN, lym, AFP), SPREAD, NOW).to_dict()
    assert not any("apart" in w["message"] for w in result["warnings"])
    lym = observation("lym", "731-0", Decimal("1.1"), "10*3/uL", when="2025-03-10")
    result = score_fhir(bundle(ALBUMIN, lym, AFP), SPREAD, NOW).to_dict()
    assert any("8 days apart" in w["message"] for w in result["warnings"])


# --- what is refused -------------------------------------------------------------------
def test_every_missing_lab_is_named_and_nothing_is_computed() -> None:
    errors = problems(bundle(LYMPHOCYTES))
    assert [e["field"] for e in errors] == ["albumin", "afp"]
    assert all("LOINC" in e["message"] and "guess" in e["message"] for e in errors)


def test_a_code_of_the_right_analyte_that_cannot_be_used_is_named() -> None:
    percent = observation("lp", "736-9", 22, "%")
    [error] = problems(bundle(ALBUMIN, percent, AFP))
    assert error["field"] == "lymphocytes"
    assert "736-9" in error["message"] and "percentage" in error["message"]


def test_codes_the_calculator_does_not_read_are_listed() -> None:
    glucose = observation("g", "2345-7", 100, "mg/dL")
    errors = problems(bundle(glucose))
    assert "2345-7" in errors[0]["message"]


@pytest.mark.parametrize(("unit", "words"), [("mg/L", "does not read"),
                                             ("g/dl", "does not read"),
                                             (None, "no UCUM unit code")])
def test_a_unit_that_is_not_a_ucum_code_of_the_lab_is_refused(unit: str | None,
                                                              words: str) -> None:
    bad = observation("alb", "1751-7", Decimal("3.5"), unit)
    if unit is None:
        bad["valueQuantity"]["unit"] = "g/dL"  # free text only: never read
    [error] = problems(bundle(bad, LYMPHOCYTES, AFP))
    assert error["field"] == "albumin_unit" and words in error["message"]
    assert "alb" in error["message"]


def test_a_value_with_a_comparator_is_refused_not_guessed() -> None:
    low = observation("afp", "1834-1", 2, "ng/mL")
    low["valueQuantity"]["comparator"] = "<"
    [error] = problems(bundle(ALBUMIN, LYMPHOCYTES, low))
    assert error["field"] == "afp" and "'< 2'" in error["message"]


def test_an_optional_lab_that_cannot_be_read_is_left_out_with_a_warning() -> None:
    inr = observation("inr", "6301-6", Decimal("1.2"), "s")
    result = score_fhir(bundle(*THREE, inr), SPREAD, NOW).to_dict()
    assert not any(i["field"] == "inr" for i in result["inputs"])
    assert any(w["field"] == "inr" and "left out" in w["message"] for w in result["warnings"])


def test_values_go_through_the_number_rules_and_limits_naming_the_observation() -> None:
    slip = observation("alb", "1751-7", Decimal("35"), "g/dL")  # g/L sent as g/dL
    [error] = problems(bundle(slip, LYMPHOCYTES, AFP))
    assert error["field"] == "albumin" and "looks like g/L" in error["message"]
    assert "Observation alb" in error["message"]
    huge = observation("alb", "1751-7", Decimal("1E+400"), "g/dL")
    [error] = problems(bundle(huge, LYMPHOCYTES, AFP))
    assert error["field"] == "albumin" and "too many digits" in error["message"]


def test_extrahepatic_spread_is_required_and_said_to_be_given_separately() -> None:
    [error] = problems(bundle(*THREE), {})
    assert error["field"] == "extrahepatic_spread" and "not a lab" in error["message"]
    [error] = problems(bundle(*THREE), {**SPREAD, "albumin": 35})
    assert error["field"] == "albumin" and "not read next to FHIR data" in error["message"]


def test_results_of_another_patient_are_never_used() -> None:
    stranger = observation("afp", "1834-1", 250, "ng/mL", patient="p2")
    errors = problems(bundle(ALBUMIN, LYMPHOCYTES, stranger))
    assert errors[0]["field"] == "bundle" and "more than one patient" in errors[0]["message"]
    errors = problems(bundle(*THREE), patient_id="p9")
    assert "not Patient/p9" in errors[0]["message"]
    assert score_fhir(bundle(*THREE), SPREAD, NOW, patient_id="p1")


@pytest.mark.parametrize(("data", "words"), [
    ({"resourceType": "Patient"}, "got a 'Patient' resource"),
    ("a string", "got str"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": "x"}, "entry must be a list"),
    ({"resourceType": "Bundle", "entry": []}, "not a valid FHIR R4 Bundle"),
    (bundle({"resourceType": "Observation", "code": {"text": "x"}}), "status"),
    (bundle({**ALBUMIN, "valueQuantity": {"value": "abc"}}), "valueQuantity.value"),
    (bundle({**ALBUMIN, "bogus": 1}), "bogus"),
    ([ALBUMIN, 5], "resource 1 is not an object"),
    ([{"resourceType": 5}], "no resourceType"),
    ([{"resourceType": "Observation", "contained": [{"resourceType": "Nope"}],
       "status": "final", "code": {"text": "x"}}], "not a valid FHIR R4 Observation"),
    ([ALBUMIN] * 1001, "more than the 1000"),
])
def test_malformed_fhir_data_is_refused_naming_the_place(data: object, words: str) -> None:
    [error] = problems(data)
    assert error["field"] == "bundle" and words in error["message"], error["message"]


def test_a_single_observation_or_a_plain_list_is_read_too() -> None:
    assert score_fhir(list(THREE), SPREAD, NOW).profile.adverse_count == 2
    with pytest.raises(InputError):
        score_fhir(ALBUMIN, SPREAD, NOW)  # one Observation: the others are missing


def test_json_decimals_are_kept_exact_and_bad_json_is_refused() -> None:
    assert parse_json('{"v": 3.50}') == {"v": Decimal("3.50")}
    assert isinstance(parse_json("1" * 5000), Decimal)  # past int's text limit
    for text in ('{"v": NaN}', "{", '{"v": Infinity}', "[" * 100_000):
        with pytest.raises(InputError, match="not valid JSON"):
            parse_json(text)


def test_other_resources_are_not_read() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "not even a date"}
    assert score_fhir(bundle(patient, *THREE), SPREAD, NOW)
    errors = problems(bundle(patient))
    assert any("no Observation" in e["message"] for e in errors)


# --- fuzz ----------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=fhir_bundles())
def test_fuzz_generated_bundles_give_a_result_or_input_errors_only(data: object) -> None:
    """Any Bundle gives a result whose every lab names its Observation, or InputErrors
    that each name a field and say something; nothing else is ever raised."""
    try:
        result = score_fhir(data, {"extrahepatic_spread": True}, NOW).to_dict()
    except InputError as error:
        assert error.errors
        for problem in error.errors:
            assert problem.field and problem.message
        return
    labs = [i for i in result["inputs"] if i["field"] in UCUM_UNITS]
    assert {i["field"] for i in labs} >= {"albumin", "lymphocytes", "afp"}
    for item in labs:
        assert item["source"]["code"] in CODES and item["source"]["status"] in (
            "final", "amended", "corrected")
        assert item["date"] is not None


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=fhir_bundles(clean=True))
def test_fuzz_clean_bundles_always_score(data: object) -> None:
    """A Bundle with one final, dated, UCUM-coded result of each required lab scores,
    unless two equally recent results differ (refused, by name)."""
    try:
        labs = read_labs(data, NOW)
    except InputError as error:
        assert all("equally recent" in p.message for p in error.errors), error.to_json()
        return
    assert set(labs.sources) >= {"albumin", "lymphocytes", "afp"}


def test_importing_the_mapping_loads_no_fhir_model_library() -> None:
    """fhir.resources (and pydantic) load only when Observations are read, so
    ``import calculator`` and the score command stay instant."""
    code = ("import sys, calculator, calculator.fhir, calculator.cli.score; "
            "print(','.join(m for m in ('fhir.resources', 'pydantic') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""
