"""The JSON API and its OpenAPI document: shapes, status codes, validation and fuzzing."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, find, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from calculator import InputError, score
from calculator.units import QUANTITIES
from webui.openapi import EXAMPLE_REQUEST, openapi_document

VALID = {"albumin": "3,5", "albumin_unit": "g/dL", "lymphocytes": 1100,
         "lymphocytes_unit": "cells/uL", "afp": 250, "extrahepatic_spread": True}


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def schema_validator(document: dict[str, Any], path: str, method: str,
                     status: int) -> Draft202012Validator:
    """A JSON Schema validator for one documented response, resolving the document's refs."""
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def request_validator(document: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({"$ref": "#/components/schemas/ScoreRequest",
                                 "components": document["components"]})


def test_score_returns_the_result_json(client: FlaskClient,
                                       document: dict[str, Any]) -> None:
    response = client.post("/api/v1/score", json=VALID)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    schema_validator(document, "/api/v1/score", "post", 200).validate(response.get_json())
    answer = response.get_json()
    calculated_at = datetime.fromisoformat(answer.pop("calculated_at"))
    assert calculated_at.tzinfo is not None  # the server's time, with its offset
    assert abs((datetime.now(timezone.utc) - calculated_at).total_seconds()) < 60
    expected = json.loads(json.dumps(score(VALID, calculated_at).to_dict()))
    expected.pop("calculated_at")
    assert answer == expected


@pytest.mark.parametrize("payload", [
    {**VALID, "albumin": 350, "weight": 80},
    {"albumin": None},
    [1, 2, 3],
    "albumin",
    {**VALID, "child_pugh_class": "A", "inr": 1.1},
])
def test_invalid_inputs_get_422_with_every_problem(client: FlaskClient,
                                                   document: dict[str, Any],
                                                   payload: object) -> None:
    response = client.post("/api/v1/score", json=payload)
    assert response.status_code == 422
    with pytest.raises(InputError) as caught:
        score(payload)  # type: ignore[arg-type]
    assert response.get_json() == json.loads(json.dumps(caught.value.to_json()))
    schema_validator(document, "/api/v1/score", "post", 422).validate(response.get_json())


@pytest.mark.parametrize("body", [b"{", b'{"albumin": NaN}', b"[" * 5000, b"\xff\xfe\x00",
                                  b'{"albumin": Infinity}', b""])
def test_malformed_json_gets_400(client: FlaskClient, document: dict[str, Any],
                                 body: bytes) -> None:
    response = client.post("/api/v1/score", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "body"
    schema_validator(document, "/api/v1/score", "post", 400).validate(response.get_json())


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_only_json_is_accepted(client: FlaskClient, document: dict[str, Any],
                               content_type: str) -> None:
    response = client.post("/api/v1/score", data=json.dumps(VALID), content_type=content_type)
    assert response.status_code == 415
    schema_validator(document, "/api/v1/score", "post", 415).validate(response.get_json())


def test_api_errors_are_json(client: FlaskClient) -> None:
    wrong_method = client.get("/api/v1/score")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["errors"][0]["message"]


def test_api_needs_no_csrf_token_but_the_form_does(client: FlaskClient) -> None:
    assert client.post("/api/v1/score", json=VALID).status_code == 200
    assert client.post("/", data={"albumin": "35"}).status_code == 400


def test_healthz(client: FlaskClient, document: dict[str, Any]) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    schema_validator(document, "/healthz", "get", 200).validate(response.get_json())


def test_openapi_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document == json.loads(json.dumps(openapi_document()))
    assert document["openapi"].startswith("3.")
    validate(document)


def test_openapi_documents_every_route_and_nothing_else(app: Flask,
                                                       document: dict[str, Any]) -> None:
    routes = {(rule.rule, method.lower()) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") or rule.rule == "/healthz"
              for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    documented = {(path, method) for path, item in document["paths"].items()
                  for method in item}
    assert routes == documented


def test_documented_example_is_a_valid_request_and_scores(client: FlaskClient,
                                                          document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/score"]["post"]["requestBody"]["content"][
        "application/json"]["example"]
    assert body == EXAMPLE_REQUEST
    request_validator(document).validate(body)
    assert client.post("/api/v1/score", json=body).status_code == 200


# --- fuzzing: requests drawn from the OpenAPI document, and beyond it ------------------
JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.text(max_size=12)
               | st.floats(allow_nan=False, allow_infinity=False))
ANY_JSON = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                        max_leaves=8)


def written(value: Decimal) -> st.SearchStrategy[Any]:
    """A number as a client may send it: JSON number, text, text with a decimal comma."""
    return st.sampled_from([float(value), str(value), str(value).replace(".", ","),
                            int(value) if value == int(value) else float(value)])


@st.composite
def lab_value(draw: st.DrawFn, name: str, unit: str) -> Any:
    """A value of ``name`` in ``unit``, mostly inside the core's limits, at times on or
    just beyond them."""
    q = QUANTITIES[name]
    factor = q.units[unit]
    low, high = q.hard_low / factor, q.hard_high / factor
    inside = st.decimals(min_value=low, max_value=high, places=3, allow_nan=False)
    edges = st.sampled_from([low, high, low - 1, high * 2, Decimal(0), Decimal("-1")])
    value = draw(st.one_of(inside, inside, inside, inside, edges))
    return draw(written(value))


def junk(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """What a careless or hostile client may put in a property instead."""
    if "enum" in schema:
        return st.one_of(JSON_LEAVES, st.sampled_from(schema["enum"]).map(str.upper))
    return JSON_LEAVES


@st.composite
def score_requests(draw: st.DrawFn, request_schema: dict[str, Any]) -> dict[str, Any]:
    """A request body built from the document's ScoreRequest schema: its required
    properties, an optional Child-Pugh part, units from its enums; then, now and again,
    a property replaced by junk, a required one dropped or an unknown one added."""
    properties = request_schema["properties"]
    child_pugh = draw(st.sampled_from(["none", "none", "class", "items", "items", "some"]))
    names = list(request_schema["required"])
    if child_pugh == "class":
        names.append("child_pugh_class")
    elif child_pugh == "items":
        names += ["bilirubin", "inr", "ascites", "encephalopathy"]
    elif child_pugh == "some":
        names += draw(st.lists(st.sampled_from(["bilirubin", "inr", "ascites",
                                                "encephalopathy", "child_pugh_class"]),
                               unique=True))
    body: dict[str, Any] = {}
    for name in names:
        schema = properties[name]
        unit_key = f"{name}_unit"
        if name in QUANTITIES:
            units = properties[unit_key]["enum"] if unit_key in properties else [""]
            unit = draw(st.sampled_from(units))
            if unit_key in properties and (unit != properties[unit_key]["default"]
                                           or draw(st.booleans())):
                body[unit_key] = unit
            body[name] = draw(lab_value(name, unit))
        elif "enum" in schema:
            body[name] = draw(st.sampled_from(schema["enum"]))
        else:
            body[name] = draw(st.one_of([st.sampled_from(s["enum"]) if "enum" in s
                                         else st.booleans() for s in schema["anyOf"]]))
    mischief = draw(st.integers(0, 9))
    if mischief == 0 and body:
        key = draw(st.sampled_from(sorted(body)))
        body[key] = draw(junk(properties.get(key, {})))
    elif mischief == 1:
        body.pop(draw(st.sampled_from(request_schema["required"])), None)
    elif mischief == 2:
        body[draw(st.text(min_size=1, max_size=8))] = draw(JSON_LEAVES)
    return body


DOCUMENT = openapi_document()
FUZZ_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])


def check_response(client: FlaskClient, body: bytes) -> None:
    response = client.post("/api/v1/score", data=body, content_type="application/json")
    documented = DOCUMENT["paths"]["/api/v1/score"]["post"]["responses"]
    assert str(response.status_code) in documented, response.status_code
    assert response.is_json
    schema_validator(DOCUMENT, "/api/v1/score", "post",
                     response.status_code).validate(response.get_json())
    assert response.headers["Cache-Control"] == "no-store"


@FUZZ_SETTINGS
@given(body=score_requests(DOCUMENT["components"]["schemas"]["ScoreRequest"]))
@example(body={**VALID, "albumin": "3.76", "lymphocytes": 2000})
@example(body={**VALID, "albumin": 10**400})
@example(body={**VALID, "afp": -0.0, "afp_unit": "IU/mL"})
def test_fuzz_requests_from_the_openapi_schema(client: FlaskClient,
                                               body: dict[str, Any]) -> None:
    check_response(client, json.dumps(body).encode())


@pytest.mark.parametrize("status", [200, 422])
def test_fuzzing_reaches_both_answers(client: FlaskClient, status: int) -> None:
    """The request strategy is not wasted on one branch: it finds results and errors."""
    def answers(body: dict[str, Any]) -> bool:
        return client.post("/api/v1/score", json=body).status_code == status

    found = find(score_requests(DOCUMENT["components"]["schemas"]["ScoreRequest"]), answers,
                 settings=settings(max_examples=50, derandomize=True, database=None))
    if status == 200:
        request_validator(DOCUMENT).validate(found)


@FUZZ_SETTINGS
@given(body=ANY_JSON)
def test_fuzz_any_json_body(client: FlaskClient, body: object) -> None:
    check_response(client, json.dumps(body).encode())


@FUZZ_SETTINGS
@given(body=st.binary(max_size=64))
def test_fuzz_any_bytes(client: FlaskClient, body: bytes) -> None:
    check_response(client, body)


@pytest.mark.parametrize("field", ["albumin", "afp", "inr"])
def test_a_number_too_long_gets_422_naming_its_field(client: FlaskClient,
                                                     document: dict[str, Any],
                                                     field: str) -> None:
    """A 5,001-digit JSON integer is valid JSON that Python will not turn into an int; it
    is refused for its field, not answered "not valid JSON"."""
    marker = 123454321    # a number found nowhere else in the body, then made 5,001 nines
    body = json.dumps({**VALID, "bilirubin": 1, "inr": 1, "ascites": "none",
                       "encephalopathy": "none", field: marker})
    body = body.replace(str(marker), "9" * 5001)
    response = client.post("/api/v1/score", data=body, content_type="application/json")
    assert response.status_code == 422
    (problem,) = response.get_json()["errors"]
    assert problem["field"] == field
    assert "too many digits" in problem["message"] and "(5001 characters)" in problem["message"]
    assert len(json.dumps(problem)) < 1000  # the value is echoed cut short
    schema_validator(document, "/api/v1/score", "post", 422).validate(response.get_json())


def test_json_strings_go_through_the_number_parser(client: FlaskClient) -> None:
    response = client.post("/api/v1/score", json={**VALID, "afp": "12,500"})
    assert response.status_code == 422
    assert "could be 12.5 or 12500 ng/mL" in response.get_json()["errors"][0]["message"]
    as_number = client.post("/api/v1/score", json={**VALID, "afp": 12.5})
    assert as_number.status_code == 200  # a JSON number is a number, not a text to guess
    assert not next(f for f in as_number.get_json()["factors"] if f["name"] == "afp")["adverse"]
