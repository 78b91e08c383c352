"""The JSON API: ``POST /api/v1/score``, ``POST /api/v1/score/fhir`` and the OpenAPI
document.

JSON only: a request that is not ``application/json`` is refused (415), so a cross-site
HTML form cannot reach the scoring endpoint, which is why it is exempt from the form's
CSRF token.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Final, NoReturn

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from calculator import InputError, score
from calculator.fhir import CLINICAL_INPUTS, parse_json, score_fhir
from webui.error_pages import api_error
from webui.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


#: Longest JSON integer turned into a Python int; a longer one (Python refuses to convert
#: more than 4,300 digits) is passed on as a Decimal, which the scoring core refuses with
#: a message naming its field (422), instead of failing the whole body as "not JSON".
MAX_INT_DIGITS: Final = 1000


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text) <= MAX_INT_DIGITS else Decimal(text)


@bp.post("/score")
def score_endpoint() -> Response | tuple[Response, int]:
    """Score the JSON body: 200 with the result JSON, 422 with the error JSON."""
    if not request.is_json:
        return api_error(415, "body", "send the inputs as JSON with Content-Type: "
                         "application/json", "application/json")
    body = request.get_data(cache=False)  # refused with 413 above MAX_CONTENT_LENGTH
    try:
        payload = json.loads(body, parse_constant=_reject_constant, parse_int=_integer)
    except (ValueError, RecursionError):
        return api_error(400, "body", "the body is not valid JSON; send one object of "
                         "named inputs, e.g. {\"albumin\": 35, ...}", "a JSON object")
    try:
        profile = score(payload, datetime.now().astimezone())
    except InputError as error:
        return jsonify(error.to_json()), 422
    return jsonify(profile.to_dict())


#: Largest FHIR request read: a Bundle of a patient's recent labs is a few kilobytes.
MAX_FHIR_BODY_BYTES: Final = 512 * 1024
#: The request's key holding the FHIR data.
BUNDLE_KEY: Final = "bundle"


@bp.post("/score/fhir")
def score_fhir_endpoint() -> Response | tuple[Response, int]:
    """Score the labs of a FHIR Bundle (or list) of Observations.

    The body is ``{"bundle": <Bundle or list of Observations>, "extrahepatic_spread":
    true|false}`` (and optionally ``ascites`` and ``encephalopathy`` for Child-Pugh):
    extrahepatic spread is not a lab, so it is given next to the Observations.
    """
    request.max_content_length = MAX_FHIR_BODY_BYTES
    if not request.is_json:
        return api_error(415, "body", "send the request as JSON with Content-Type: "
                         "application/json", "application/json")
    try:
        payload = parse_json(request.get_data(cache=False))
    except RequestEntityTooLarge:
        return api_error(413, "body", f"the request is larger than "
                         f"{MAX_FHIR_BODY_BYTES // 1024} KiB; send the patient's recent lab "
                         "Observations only")
    except InputError:
        return api_error(400, "body", "the body is not valid JSON; send {\"bundle\": <FHIR "
                         "Bundle>, \"extrahepatic_spread\": true|false}", "a JSON object")
    expected = ", ".join((BUNDLE_KEY, *CLINICAL_INPUTS))
    if not isinstance(payload, dict) or BUNDLE_KEY not in payload:
        bare = isinstance(payload, list) or (isinstance(payload, dict)
                                             and "resourceType" in payload)
        return api_error(422, BUNDLE_KEY, "the body must be an object with the FHIR data "
                         "under \"bundle\" and extrahepatic spread (not a lab) beside it: "
                         "{\"bundle\": {\"resourceType\": \"Bundle\", ...}, "
                         "\"extrahepatic_spread\": true}"
                         + ("; this body looks like the FHIR data itself" if bare else ""),
                         expected)
    clinical = {k: v for k, v in payload.items() if k != BUNDLE_KEY}
    try:
        result = score_fhir(payload[BUNDLE_KEY], clinical, datetime.now().astimezone())
    except InputError as error:
        return jsonify(error.to_json()), 422
    return jsonify(result.to_dict())


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
