"""The OpenAPI 3.1 document of the JSON API, built from the scoring core's definitions.

Units, choices and required inputs are read from :mod:`calculator.units`,
:mod:`calculator.child_pugh` and :mod:`calculator.profile`, so the document cannot drift
from what :func:`calculator.score` accepts.
"""

from __future__ import annotations

from typing import Any, Final

from calculator import __version__, published
from calculator.child_pugh import ASCITES, CLASSES, ENCEPHALOPATHY
from calculator.fhir import CODES, LOINC_SYSTEM, USABLE_STATUSES
from calculator.lab_dates import MAX_AGE_DAYS
from calculator.profile import REQUIRED
from calculator.units import QUANTITIES

SCHEMA_REF: Final = "#/components/schemas/"

_NUMBER_OR_TEXT: Final = ["number", "string"]
_CI: Final = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
              "description": "95% confidence interval [lower, upper]"}
_NULLABLE_TEXT: Final = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF + name}


def _object(properties: dict[str, Any], required: list[str] | None = None,
            closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "required": required if required is not None
                              else list(properties)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _request_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, q in QUANTITIES.items():
        unit = q.canonical_unit or "no unit"
        properties[name] = {
            "type": _NUMBER_OR_TEXT,
            "description": f"{q.label}; accepted {q.allowed} after conversion to {unit}. "
                           "Text is a plain decimal and may use a decimal comma ('3,5'); "
                           "a possible thousands separator ('12,500') is read as such only "
                           "where the decimal reading is impossible, else refused.",
        }
        if len(q.units) > 1:
            properties[f"{name}_unit"] = {"type": "string", "enum": list(q.units),
                                          "default": q.canonical_unit}
    properties["extrahepatic_spread"] = {
        "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["yes", "no"]}],
        "description": "extrahepatic metastasis present"}
    properties["ascites"] = {"type": "string", "enum": list(ASCITES)}
    properties["encephalopathy"] = {"type": "string", "enum": list(ENCEPHALOPATHY)}
    properties["child_pugh_class"] = {
        "type": "string", "enum": list(CLASSES),
        "description": "instead of bilirubin, inr, ascites and encephalopathy (which come "
                       "all together or not at all)"}
    properties["lab_date"] = {
        "type": "string", "format": "date",
        "description": "date the labs were taken (YYYY-MM-DD); a warning if older than "
                       f"{MAX_AGE_DAYS} days or in the future"}
    schema = _object(properties, list(REQUIRED), closed=True)
    schema["description"] = ("One patient's inputs. Unknown keys are an error. Optional "
                             "Child-Pugh: the class, or its four items, or neither.")
    return schema


def _result_schema() -> dict[str, Any]:
    number, text, boolean = {"type": "number"}, {"type": "string"}, {"type": "boolean"}
    pni = _object({"value": number, "display": text, "cutoff": number,
                   "category": {"type": "string", "enum": ["high", "low"]},
                   "label": text, "rule": text, "source": text,
                   "near_cutoff": {**boolean, "description": "the PNI lies within the 95% "
                                   "range of the data-driven cut-off (simulated): its "
                                   "category is uncertain"},
                   "cutoff_range": _object({"low": number, "high": number, "note": text})})
    opens = {"type": "array", "items": boolean, "minItems": 2, "maxItems": 2,
             "description": "a limit is only a bound (the simulation grid's end)"}
    side = {"type": ["string", "null"], "enum": ["below", "above", "undetermined", None]}
    reestimate = _object({"hr": number, "hr_open": side, "ci": _CI, "ci_open": opens,
                          "text": text, "log_mcse": {"type": "object"}, "method": text,
                          "source": text},
                         required=["hr", "ci", "method", "source"])
    factor = _object({"name": text, "adverse": boolean, "hr": number, "ci": _CI,
                      "p": {"type": ["number", "null"]}, "rule": text, "source": text,
                      "independent": boolean,
                      "reestimate": {"oneOf": [{"type": "null"}, reestimate],
                                     "description": "re-estimated by simulation "
                                     "(independent factors; see /evidence)"}})
    combined = _object({"value": number, "value_open": side, "ci": _CI, "ci_open": opens,
                        "text": text, "factors": {"type": "array", "items": text},
                        "method": text, "source": text})
    relative_hazard = _object({"value": number, "ci": _CI,
                               "factors": {"type": "array", "items": text},
                               "reference": text, "reference_group": boolean,
                               "endpoint": text, "meaning": text, "summary": text,
                               "caveat": text,
                               "reestimate": {"oneOf": [{"type": "null"}, combined]}})
    child_pugh = {"oneOf": [{"type": "null"}, _object(
        {"score": {"type": ["integer", "null"], "minimum": 5, "maximum": 15},
         "class": {"type": "string", "enum": list(CLASSES)}})]}
    median = _object({"group": text, "endpoint": {"type": "string", "enum": ["os", "pfs"]},
                      "n": {"type": ["integer", "null"]}, "n_note": _NULLABLE_TEXT,
                      "median_months": number,
                      "ci": _CI, "logrank_p": {"type": ["number", "null"]}, "source": text})
    warning = _object({"field": text, "message": text})
    entry = _object({"field": text, "entered": {}, "unit": _NULLABLE_TEXT,
                     "value": {"type": ["number", "string", "boolean"]},
                     "canonical_unit": _NULLABLE_TEXT,
                     "quality": {"type": "string",
                                 "enum": ["ok", "outside-study-range", "converted"]},
                     "date": {"type": ["string", "null"], "format": "date"},
                     "source": _fhir_source()},
                    required=["field", "entered", "unit", "value", "canonical_unit",
                              "quality", "date"])
    model = _object({"source": text, "doi": text, "published_model_version": text,
                     "version": text})
    return _object({
        "pni": pni,
        "factors": {"type": "array", "items": factor, "minItems": 3},
        "adverse_count": {"type": "integer", "minimum": 0,
                          "maximum": len(published.INDEPENDENT_FACTORS)},
        "relative_hazard": relative_hazard,
        "child_pugh": child_pugh,
        "published_medians": {"type": "array", "items": median},
        "published_medians_note": text,
        "warnings": {"type": "array", "items": warning},
        "inputs": {"type": "array", "items": entry, "minItems": 4},
        "calculated_at": {"type": ["string", "null"], "format": "date-time"},
        "lab_date": {"type": ["string", "null"], "format": "date"},
        "applicability": text,
        "limits": {"type": "array", "items": text},
        "limit": text,
        "evidence": {"type": "object", "description": "what the simulation says about the "
                     "published numbers: label, assumptions, how a combination is formed, "
                     "the share of false PNI findings and the cut-off's range"},
        "model": model,
    })


def _fhir_source() -> dict[str, Any]:
    """``inputs[].source``: the FHIR Observation an input was read from (FHIR input only)."""
    text = {"type": "string"}
    schema = _object({"resource_type": {"type": "string", "const": "Observation"},
                      "id": _NULLABLE_TEXT, "system": {"type": "string", "const": LOINC_SYSTEM},
                      "code": {"type": "string", "enum": list(CODES)}, "display": text,
                      "status": {"type": "string", "enum": list(USABLE_STATUSES)},
                      "effective": text,
                      "unit_system": {"type": ["string", "null"]}, "unit": _NULLABLE_TEXT})
    schema["description"] = ("Only in /api/v1/score/fhir results: the Observation read, its "
                             "LOINC code, status, effective time as given and UCUM unit.")
    return schema


def _fhir_request_schema() -> dict[str, Any]:
    schema = _object({
        "bundle": {"type": ["object", "array"],
                   "description": "A FHIR R4 Bundle (or a JSON list) of Observation "
                                  "resources: the patient's labs, matched by LOINC code, "
                                  "units read from UCUM codes. Per lab the latest final, "
                                  "amended or corrected result is used."},
        "extrahepatic_spread": {
            "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["yes", "no"]}],
            "description": "extrahepatic metastasis present; not a lab, so given here"},
        "ascites": {"type": "string", "enum": list(ASCITES)},
        "encephalopathy": {"type": "string", "enum": list(ENCEPHALOPATHY)},
    }, ["bundle", "extrahepatic_spread"], closed=True)
    schema["description"] = ("A patient's labs as FHIR Observations and the inputs that are "
                             "not labs.")
    return schema


def _error_schema() -> dict[str, Any]:
    problem = _object({"field": _NULLABLE_TEXT, "value": {}, "unit": _NULLABLE_TEXT,
                       "allowed": _NULLABLE_TEXT, "hint": _NULLABLE_TEXT,
                       "message": {"type": "string"}}, required=["field", "message"])
    return _object({"errors": {"type": "array", "items": problem, "minItems": 1}})


def _json_response(description: str, schema: str | dict[str, Any]) -> dict[str, Any]:
    body = _ref(schema) if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


EXAMPLE_REQUEST: Final = {"albumin": 3.5, "albumin_unit": "g/dL", "lymphocytes": 1100,
                          "lymphocytes_unit": "cells/uL", "afp": 250, "afp_unit": "ng/mL",
                          "extrahepatic_spread": True}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at ``/api/v1/openapi.json``."""
    error = "ErrorResponse"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hcc-prognosis calculator API",
            "version": __version__,
            "summary": "Relative risk profile after progression on atezolizumab + "
                       "bevacizumab (PNI, AFP, extrahepatic spread).",
            "description": (f"Model: {published.CITATION}, doi:{published.DOI}, "
                            f"{published.MODEL_VERSION}. Applies to patients "
                            f"{published.APPLICABILITY}. Decision support, not a "
                            "substitute for clinical judgement. Nothing sent is stored."),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": {
            "/api/v1/score": {"post": {
                "operationId": "score",
                "summary": "Score one patient",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("ScoreRequest"),
                    "example": EXAMPLE_REQUEST}}},
                "responses": {
                    "200": _json_response("The risk profile", "ScoreResult"),
                    "400": _json_response("The body is not valid JSON", error),
                    "413": _json_response("The body is too large", error),
                    "415": _json_response("The body is not JSON", error),
                    "422": _json_response("Invalid inputs, every problem listed", error),
                },
            }},
            "/api/v1/score/fhir": {"post": {
                "operationId": "scoreFhir",
                "summary": "Score one patient from FHIR R4 Observations",
                "description": (
                    "The labs (albumin, lymphocytes, AFP; bilirubin and INR for "
                    "Child-Pugh) come from the Observations, matched by LOINC code; "
                    "each input's Observation is echoed in inputs[].source. Lab-date "
                    f"warnings: older than {MAX_AGE_DAYS} days, in the future, or albumin "
                    "and lymphocytes more than 7 days apart. A missing lab is named (422), "
                    "never guessed."),
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("ScoreFhirRequest")}}},
                "responses": {
                    "200": _json_response("The risk profile", "ScoreResult"),
                    "400": _json_response("The body is not valid JSON", error),
                    "413": _json_response("The body is too large", error),
                    "415": _json_response("The body is not JSON", error),
                    "422": _json_response("Invalid or missing FHIR data or inputs, every "
                                          "problem listed", error),
                },
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json_response("OpenAPI 3.1 document",
                                                    {"type": "object"})},
            }},
            "/healthz": {"get": {
                "operationId": "healthz",
                "summary": "Liveness check",
                "responses": {"200": _json_response("The service is up", "Health")},
            }},
        },
        "components": {"schemas": {
            "ScoreRequest": _request_schema(),
            "ScoreFhirRequest": _fhir_request_schema(),
            "ScoreResult": _result_schema(),
            "ErrorResponse": _error_schema(),
            "Health": _object({"status": {"type": "string", "const": "ok"},
                               "version": {"type": "string"}}, required=["status"]),
        }},
    }
