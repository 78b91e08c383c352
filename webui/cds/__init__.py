"""The CDS Hooks 2.0 service: ``GET /cds-services`` and ``POST /cds-services/<id>``.

Specification: CDS Hooks 2.0 (HL7, https://cds-hooks.hl7.org/2.0/; source
github.com/HL7/cds-hooks, tag v2.0.1, ``input/pagecontent/index.md``), and its
``patient-view`` hook. One service, ``hcc-prognosis``, on ``patient-view``.

A call goes through these steps, each answering on its own when it fails:

1. the service is on (:mod:`webui.cds.config`; off: 404 naming what to set);
2. the EHR's JWT (:mod:`webui.jwt_auth`), before anything of the request is read
   (401, no card);
3. the body: JSON (415 otherwise), at most :data:`MAX_BODY_BYTES` (413), a
   ``patient-view`` request with a ``context.patientId`` (400);
4. the labs: from ``prefetch`` where given; the rest searched on ``fhirServer`` with
   ``fhirAuthorization`` (:mod:`webui.fhir_client`); neither: 412, as the specification
   requires; a FHIR server that fails: 412;
5. FHIR data that is not valid FHIR: 422; labs missing or unreadable: 200 with a card
   saying what is missing; otherwise 200 with the profile card (:mod:`webui.cds.cards`).

Nothing of a request is logged: the access log names the route pattern only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from calculator import InputError
from calculator.fhir import labs_from, observations, parse_json, score_labs
from webui.cds.cards import not_calculated_card, profile_card
from webui.cds.config import CdsConfig, CdsOff, cds_config
from webui.cds.prefetch import HOOK, PREFETCH, REQUIRED_KEYS, SERVICE_ID, discovery
from webui.error_pages import api_error
from webui.fhir_client import FHIR_ID, ServerRefused, bearer, check_server, fetch
from webui.http_fetch import FetchError
from webui.jwt_auth import AuthError, KeySource, ReplayCache, TokenVerifier

bp = Blueprint("cds", __name__, url_prefix="/cds-services")

#: Largest CDS Hooks request read: five labs' prefetch Bundles are tens of kilobytes.
MAX_BODY_BYTES: Final = 512 * 1024
EXTENSION: Final = "hcc_prognosis_cds"


@dataclass(frozen=True)
class CdsService:
    """A CDS Hooks service that is on: its settings and its token verifier."""

    config: CdsConfig
    verifier: TokenVerifier


def init_app(app: Flask) -> None:
    """Turn the service on or off from ``app.config["CDS"]`` (or the environment)."""
    settings = app.config.get("CDS")
    if settings is None:
        settings = cds_config(os.environ)
    state: CdsService | CdsOff
    if isinstance(settings, CdsConfig):
        try:
            keys = KeySource(settings.jwks, settings.fetch_limits)
        except ValueError as error:
            state = CdsOff(f"CDS Hooks is off: {error}")
            app.logger.warning("%s", state.reason)
        else:
            state = CdsService(settings, TokenVerifier(
                settings.issuers, keys, ReplayCache(), settings.leeway_s,
                settings.max_token_lifetime_s))
    else:
        state = settings
    app.extensions[EXTENSION] = state
    app.register_blueprint(bp)


def _state() -> CdsService | CdsOff:
    state: CdsService | CdsOff = current_app.extensions[EXTENSION]
    return state


@bp.before_request
def _guard() -> tuple[Response, int] | None:
    """Off: 404. A service call: the JWT first, then the body's size limit."""
    state = _state()
    if isinstance(state, CdsOff):
        return api_error(404, "cds", state.reason)
    if request.endpoint == "cds.call" and request.view_args is not None:
        audience = state.config.service_url(str(request.view_args.get("service_id")))
        try:
            state.verifier.verify(request.headers.get("Authorization"), audience)
        except AuthError as error:
            response, status = api_error(401, "Authorization", str(error),
                                         "a JWT signed by a trusted EHR (CDS Hooks 2.0)")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response, status
        request.max_content_length = MAX_BODY_BYTES
    return None


@bp.get("")
def services() -> Response:
    """Discovery: the one ``patient-view`` service and its prefetch templates."""
    return jsonify(discovery())


class BadRequest(ValueError):
    """A CDS Hooks request this service cannot read (400)."""


def _hook_request(body: object) -> tuple[str, Mapping[str, Any]]:
    """The patient id and the request, checked against CDS Hooks 2.0's request shape."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a CDS Hooks request object")
    if body.get("hook") != HOOK:
        raise BadRequest(f"this service answers the {HOOK} hook; got hook "
                         f"{body.get('hook')!r:.40}")
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise BadRequest("hookInstance must be given (a UUID)")
    context = body.get("context")
    if not isinstance(context, Mapping):
        raise BadRequest("context must be an object with patientId")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not FHIR_ID.fullmatch(patient_id):
        raise BadRequest("context.patientId must be a FHIR id")
    prefetch = body.get("prefetch", {})
    if not isinstance(prefetch, Mapping):
        raise BadRequest("prefetch must be an object of prefetch keys")
    return patient_id, body


def _prefetched(prefetch: Mapping[str, Any]) -> tuple[list[object], list[str]]:
    """The resources the EHR prefetched, and the keys it did not satisfy (absent, or
    an OperationOutcome instead of data)."""
    resources: list[object] = []
    unsatisfied: list[str] = []
    for key in PREFETCH:
        if key not in prefetch:
            unsatisfied.append(key)
            continue
        value = prefetch[key]
        if value is None:  # CDS Hooks: null means the EHR has no data for this key
            continue
        if isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome":
            unsatisfied.append(key)
        elif isinstance(value, Mapping) and value.get("resourceType") == "Bundle":
            resources.append(value)
        elif isinstance(value, Mapping) and value.get("resourceType") == "Observation":
            resources.append({"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": value}]})
        else:
            raise BadRequest(f"prefetch.{key} must be a FHIR Bundle of Observations or null")
    return resources, unsatisfied


def _observations(bundles: list[object]) -> list[Any]:
    """The Observations of every Bundle, each Bundle validated on its own."""
    return [obs for bundle in bundles for obs in observations(bundle)[0]]


@bp.post("/<service_id>")
def call(service_id: str) -> tuple[Response, int] | Response:
    """A ``patient-view`` call (the JWT was verified in :func:`_guard`)."""
    state = _state()
    assert isinstance(state, CdsService)
    if service_id != SERVICE_ID:
        return api_error(404, "service", f"there is no CDS service {service_id!r:.40} here; "
                         f"the one service is {SERVICE_ID}")
    if not request.is_json:
        return api_error(415, "body", "send the CDS Hooks request as JSON with "
                         "Content-Type: application/json", "application/json")
    try:
        patient_id, body = _hook_request(parse_json(request.get_data(cache=False)))
        bundles, unsatisfied = _prefetched(body.get("prefetch", {}))
    except RequestEntityTooLarge:
        return api_error(413, "body", f"the request is larger than {MAX_BODY_BYTES // 1024} "
                         "KiB; prefetch the five labs' latest results only")
    except InputError:
        return api_error(400, "body", "the body is not valid JSON", "a CDS Hooks request")
    except BadRequest as error:
        return api_error(400, "body", str(error), "a CDS Hooks patient-view request")
    if unsatisfied:
        if body.get("fhirServer") is None:
            missing = [k for k in unsatisfied if k in REQUIRED_KEYS]
            if missing:
                return api_error(412, "prefetch", f"the request has no prefetch for "
                                 f"{', '.join(missing)} and no fhirServer to read them from",
                                 ", ".join(PREFETCH))
        else:
            try:
                config = state.config
                base = check_server(body["fhirServer"], config.fhir_servers)
                headers = bearer(body.get("fhirAuthorization"))
                fetched = fetch(base, headers, {k: PREFETCH[k] for k in unsatisfied},
                                patient_id, config.fetch_limits)
            except ServerRefused as error:
                return api_error(400, "fhirServer", str(error))
            except FetchError as error:
                return api_error(412, "fhirServer", f"the FHIR server could not give the "
                                 f"labs: {error}")
            for key, found in fetched.items():
                if not (isinstance(found, Mapping) and found.get("resourceType") == "Bundle"):
                    return api_error(412, "fhirServer", f"the FHIR server's answer to the "
                                     f"search for {key} is not a Bundle")
                bundles.append(found)
    now = datetime.now().astimezone()  # the time of calculation; the core reads no clock
    base_url = state.config.base_url
    try:
        labs = labs_from(_observations(bundles), now, patient_id)
        profiles = [score_labs(labs, {"extrahepatic_spread": spread}, now)
                    for spread in (False, True)]
    except InputError as error:
        if any(p.field == "bundle" for p in error.errors):
            return jsonify(error.to_json()), 422
        return jsonify({"cards": [not_calculated_card(error, base_url)]}), 200
    return jsonify({"cards": [profile_card(profiles[0], profiles[1], labs, now, base_url)]})
