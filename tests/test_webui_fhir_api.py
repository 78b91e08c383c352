"""``POST /api/v1/score/fhir``: a FHIR Bundle in, the result JSON out; every bad input a
clear 4xx with the error JSON, shown by examples and a fuzz of generated Bundles."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, find, given, settings
from jsonschema import Draft202012Validator

from calculator import score
from tests.strategies import fhir_bundles, yes_no
from webui.openapi import openapi_document

DOCUMENT = openapi_document()
PATH = "/api/v1/score/fhir"
TODAY = date.today()


def validator(status: int) -> Draft202012Validator:
    response = DOCUMENT["paths"][PATH]["post"]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": DOCUMENT["components"]})


REQUEST = Draft202012Validator({"$ref": "#/components/schemas/ScoreFhirRequest",
                                "components": DOCUMENT["components"]})


def lab(oid: str, code: str, value: float, unit: str, days_ago: int = 1) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": (TODAY - timedelta(days=days_ago)).isoformat(),
            "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org",
                              "code": unit}}


BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": lab("alb", "1751-7", 3.5, "g/dL")},
    {"resource": lab("lym", "731-0", 1.1, "10*3/uL")},
    {"resource": lab("afp", "1834-1", 250, "ng/mL")}]}


def post(client: FlaskClient, body: object) -> Any:
    response = client.post(PATH, data=json.dumps(body, default=str),
                           content_type="application/json")
    assert response.status_code in (200, 400, 413, 415, 422), response.status_code
    assert response.is_json and response.headers["Cache-Control"] == "no-store"
    validator(response.status_code).validate(response.get_json())
    return response


def test_a_bundle_scores_like_the_same_values_entered(client: FlaskClient) -> None:
    body = {"bundle": BUNDLE, "extrahepatic_spread": True}
    REQUEST.validate(body)
    response = post(client, body)
    assert response.status_code == 200
    result = response.get_json()
    by_hand = score({"albumin": 35, "lymphocytes": 1.1, "afp": 250,
                     "extrahepatic_spread": True}).to_dict()
    assert result["pni"] == by_hand["pni"]
    assert result["relative_hazard"] == by_hand["relative_hazard"]
    assert [i["source"]["id"] for i in result["inputs"][:3]] == ["alb", "lym", "afp"]
    assert result["inputs"][0]["date"] == (TODAY - timedelta(days=1)).isoformat()


def test_child_pugh_items_that_are_not_labs_are_given_beside_the_bundle(
        client: FlaskClient) -> None:
    bundle = {**BUNDLE, "entry": [*BUNDLE["entry"],
                                  {"resource": lab("bil", "14631-6", 34.2, "umol/L")},
                                  {"resource": lab("inr", "34714-6", 1.3, "{INR}")}]}
    result = post(client, {"bundle": bundle, "extrahepatic_spread": "no",
                           "ascites": "none", "encephalopathy": "none"}).get_json()
    by_hand = score({"albumin": 35, "lymphocytes": 1.1, "afp": 250, "bilirubin": "34.2",
                     "bilirubin_unit": "umol/L", "inr": "1.3", "ascites": "none",
                     "encephalopathy": "none", "extrahepatic_spread": False}).to_dict()
    # albumin 3.5 g/dL 2 points, bilirubin 2.0 mg/dL 2, INR 1.3 1, none 1, none 1
    assert result["child_pugh"] == by_hand["child_pugh"] == {"score": 7, "class": "B"}


@pytest.mark.parametrize(("body", "field", "words"), [
    (BUNDLE, "bundle", "looks like the FHIR data itself"),
    ({"bundle": BUNDLE}, "extrahepatic_spread", "not a lab"),
    ({"bundle": {**BUNDLE, "entry": BUNDLE["entry"][:2]}, "extrahepatic_spread": True},
     "afp", "no usable result"),
    ({"bundle": {**BUNDLE, "entry": [{"resource": lab("x", "2345-7", 90, "mg/dL")}]},
      "extrahepatic_spread": True}, "albumin", "2345-7"),
    ({"bundle": {**BUNDLE, "entry": [{"resource": lab("alb", "1751-7", 3.5, "mg/L")},
                                     *BUNDLE["entry"][1:]]},
      "extrahepatic_spread": True}, "albumin_unit", "does not read"),
    ({"bundle": {"resourceType": "Bundle"}, "extrahepatic_spread": True}, "bundle",
     "not a valid FHIR R4 Bundle"),
    ({"bundle": BUNDLE, "extrahepatic_spread": True, "albumin": 35}, "albumin",
     "not read next to FHIR data"),
])
def test_bad_input_gets_422_naming_the_field(client: FlaskClient, body: object, field: str,
                                             words: str) -> None:
    response = post(client, body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert any(e["field"] == field and words in e["message"] for e in errors), errors


def test_malformed_bodies(client: FlaskClient) -> None:
    assert post(client, None).status_code == 422
    response = client.post(PATH, data="{", content_type="application/json")
    assert response.status_code == 400 and response.is_json
    response = client.post(PATH, data="bundle=1", content_type="text/plain")
    assert response.status_code == 415 and response.is_json


def test_a_5_mb_bundle_gets_413_without_being_read(client: FlaskClient) -> None:
    entry = {"resource": lab("alb", "1751-7", 3.5, "g/dL")}
    huge = {"bundle": {**BUNDLE, "entry": [entry] * 20_000}, "extrahepatic_spread": True}
    data = json.dumps(huge)
    assert len(data) > 5_000_000
    response = client.post(PATH, data=data, content_type="application/json")
    assert response.status_code == 413
    validator(413).validate(response.get_json())
    assert "KiB" in response.get_json()["errors"][0]["message"]


def test_the_document_describes_the_endpoint() -> None:
    operation = DOCUMENT["paths"][PATH]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScoreFhirRequest"}
    assert set(operation["responses"]) == {"200", "400", "413", "415", "422"}


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(bundle=fhir_bundles(), spread=yes_no)
def test_fuzz_generated_bundles_get_the_result_or_a_documented_4xx(
        client: FlaskClient, bundle: object, spread: object) -> None:
    """Generated Bundles (valid, spoilt, malformed): 200 with the documented result or a
    documented 4xx with the error JSON; never a 5xx (TESTING is on: a crash fails)."""
    response = post(client, {"bundle": bundle, "extrahepatic_spread": spread})
    if response.status_code == 200:
        for item in response.get_json()["inputs"]:
            assert item["field"] == "extrahepatic_spread" or item["source"]["id"]


@pytest.mark.parametrize("status", [200, 422])
def test_fuzz_reaches_results_and_errors(client: FlaskClient, status: int) -> None:
    """The Bundle strategy is not wasted on one answer (the first example found is
    enough: no shrinking)."""
    find(fhir_bundles(), lambda b: client.post(
        PATH, data=json.dumps({"bundle": b, "extrahepatic_spread": True}, default=str),
        content_type="application/json").status_code == status,
        settings=settings(max_examples=100, derandomize=True, database=None,
                          phases=[Phase.generate]))


def test_decimals_keep_their_digits(client: FlaskClient) -> None:
    """A FHIR decimal is read as written: 46.3 g/L + 5 x 0.26 is exactly 47.6 (high)."""
    bundle = {**BUNDLE, "entry": [{"resource": lab("alb", "1751-7", 46.3, "g/L")},
                                  {"resource": lab("lym", "731-0", 0.26, "10*9/L")},
                                  BUNDLE["entry"][2]]}
    result = post(client, {"bundle": bundle, "extrahepatic_spread": False}).get_json()
    assert result["pni"]["category"] == "high" and result["pni"]["display"] == "47.6"
    assert Decimal(str(result["pni"]["value"])) == Decimal("47.6")
