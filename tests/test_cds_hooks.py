"""The CDS Hooks service, tested the way an EHR uses it.

The tests play the EHR: they make their own signing keys and publish the public half as a
JWKS (a file, or a URL served by the FHIR server test double), mint a JWT for each call,
send ``patient-view`` requests with prefetched Bundles or with a ``fhirServer`` to read
from (:mod:`tests.fhir_server_double`, real HTTP on 127.0.0.1), and check every answer
against the CDS Hooks 2.0 JSON shapes (:mod:`tests.cds_hooks_schema`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from jsonschema import Draft202012Validator

from calculator import score
from tests.cds_hooks_schema import DISCOVERY, RESPONSE
from tests.fhir_server_double import FhirServerDouble, running
from tests.strategies import fhir_bundles
from webui import create_app
from webui.cds.config import (
    BASE_URL_ENV,
    FHIR_SERVERS_ENV,
    ISSUERS_ENV,
    JWKS_ENV,
    CdsConfig,
    CdsOff,
    cds_config,
)
from webui.cds.prefetch import PREFETCH, SERVICE_ID
from webui.http_fetch import FetchLimits
from webui.presentation import interval, significant

ISSUER = "https://ehr.example.org"
BASE = "http://localhost"  # the Flask test client's host
SERVICE_URL = f"{BASE}/cds-services/{SERVICE_ID}"
PATIENT = "pat-4711"
TODAY = date.today()
#: Short limits, so that the slow and dripping server tests take about a second.
LIMITS = FetchLimits(connect_timeout_s=1.0, read_timeout_s=0.5, deadline_s=1.0,
                     max_bytes=256 * 1024)
DISCOVERY_SCHEMA = Draft202012Validator(DISCOVERY)
RESPONSE_SCHEMA = Draft202012Validator(RESPONSE)


# --- the EHR's side: keys, tokens, Observations, requests -------------------------------
@pytest.fixture(scope="module")
def ehr_key() -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": "ehr-ec", "use": "sig"},
                              private=True)


@pytest.fixture(scope="module")
def ehr_rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "ehr-rsa", "use": "sig"},
                               private=True)


@pytest.fixture(scope="module")
def forged_key() -> ECKey:
    """An attacker's key that claims the EHR's kid."""
    return ECKey.generate_key("P-384", parameters={"kid": "ehr-ec"}, private=True)


def public_jwks(*keys: ECKey | RSAKey) -> dict[str, Any]:
    return {"keys": [k.as_dict(private=False) for k in keys]}


def mint(key: ECKey | RSAKey | OctKey, *, alg: str = "ES384", aud: object = SERVICE_URL,
         iss: str = ISSUER, lifetime: int = 300, iat_offset: int = 0,
         header: dict[str, Any] | None = None, drop: tuple[str, ...] = (),
         jti: str | None = None) -> str:
    """A CDS Hooks JWT as an EHR signs it (CDS Hooks 2.0, "Trusting CDS Clients")."""
    now = int(time.time())
    claims: dict[str, Any] = {"iss": iss, "aud": aud, "exp": now + lifetime,
                              "iat": now + iat_offset, "jti": jti or str(uuid.uuid4()),
                              "tenant": "hospital-1"}
    for name in drop:
        claims.pop(name)
    kid = key.kid if key.kid is not None else "ehr-ec"
    return jwt.encode({"alg": alg, "typ": "JWT", "kid": kid, **(header or {})}, claims, key,
                      algorithms=[alg])


def lab(oid: str, code: str, value: str, unit: str, days_ago: int = 2,
        status: str = "final") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": status,
            "subject": {"reference": f"Patient/{PATIENT}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": (TODAY - timedelta(days=days_ago)).isoformat(),
            "valueQuantity": {"value": Decimal(value), "unit": unit, "code": unit,
                              "system": "http://unitsofmeasure.org"}}


LABS = {"albumin": [lab("alb-1", "1751-7", "3.47", "g/dL"),
                    lab("alb-0", "1751-7", "4.1", "g/dL", days_ago=40)],
        "lymphocytes": [lab("lym-1", "731-0", "1.21", "10*3/uL")],
        "afp": [lab("afp-1", "1834-1", "812.5", "ng/mL")],
        "bilirubin": [lab("bil-1", "1975-2", "1.4", "mg/dL")],
        "inr": [lab("inr-1", "6301-6", "1.2", "{INR}")]}


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}


def prefetch(labs: dict[str, list[dict[str, Any]]] = LABS) -> dict[str, Any]:
    """One searchset per prefetch key (a copy: tests may spoil it)."""
    return copy.deepcopy({key: searchset(labs.get(key, [])) for key in PREFETCH})


def hook_request(prefetched: dict[str, Any] | None = None,
                 server: FhirServerDouble | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": "Practitioner/dr-9", "patientId": PATIENT}}
    if prefetched is not None:
        body["prefetch"] = prefetched
    if server is not None:
        body["fhirServer"] = server.base
        body["fhirAuthorization"] = {"access_token": server.token, "token_type": "Bearer",
                                     "expires_in": 300, "scope": "user/Observation.read",
                                     "subject": "hcc-prognosis"}
    return {**body, **extra}


def as_json(body: object) -> str:
    """JSON as an EHR sends it: a decimal as a number (a non-finite one as text)."""
    def number(value: object) -> object:
        if isinstance(value, Decimal) and value.is_finite():
            return float(value)
        return str(value)
    return json.dumps(body, default=number)


def call(client: FlaskClient, body: object, token: str | None,
         service: str = SERVICE_ID) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(f"/cds-services/{service}", data=as_json(body),
                       content_type="application/json", headers=headers)


# --- the service's side -----------------------------------------------------------------
@pytest.fixture
def fhir_server() -> Iterator[FhirServerDouble]:
    with running(FhirServerDouble(observations=[o for group in LABS.values()
                                                for o in group])) as server:
        yield server


@pytest.fixture
def jwks_file(tmp_path: Path, ehr_key: ECKey, ehr_rsa_key: RSAKey) -> Path:
    path = tmp_path / "ehr-jwks.json"
    path.write_text(json.dumps(public_jwks(ehr_key, ehr_rsa_key)))
    return path


@pytest.fixture
def cds_app(jwks_file: Path, fhir_server: FhirServerDouble) -> Flask:
    return create_app({"TESTING": True, "CDS": CdsConfig(
        BASE, (ISSUER,), str(jwks_file), (fhir_server.base,), LIMITS)})


@pytest.fixture
def ehr(cds_app: Flask) -> FlaskClient:
    return cds_app.test_client()


def card_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    RESPONSE_SCHEMA.validate(body)
    [card] = body["cards"]
    return card  # type: ignore[no-any-return]


# --- discovery --------------------------------------------------------------------------
def test_discovery_lists_the_patient_view_service_with_its_prefetch(ehr: FlaskClient) -> None:
    response = ehr.get("/cds-services")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    DISCOVERY_SCHEMA.validate(body)
    [service] = body["services"]
    assert service["hook"] == "patient-view" and service["id"] == SERVICE_ID
    assert set(service["prefetch"]) == {"albumin", "lymphocytes", "afp", "bilirubin", "inr"}
    for key, template in service["prefetch"].items():
        assert template.startswith("Observation?patient={{context.patientId}}&code=")
        assert "_sort=-date" in template
    assert "http://loinc.org|1751-7" in service["prefetch"]["albumin"]
    assert "http://loinc.org|731-0" in service["prefetch"]["lymphocytes"]
    assert "http://loinc.org|19176-7" in service["prefetch"]["afp"]


# --- cards ------------------------------------------------------------------------------
def test_a_call_with_prefetch_gets_the_profile_card(ehr: FlaskClient, ehr_key: ECKey,
                                                    fhir_server: FhirServerDouble) -> None:
    card = card_of(call(ehr, hook_request(prefetch()), mint(ehr_key)))
    assert fhir_server.requests == []  # everything was prefetched
    # albumin 3.47 g/dL + 5 x 1.21 = 40.75: PNI low; AFP 812.5 >= 200
    expected = {spread: score({"albumin": "3.47", "albumin_unit": "g/dL",
                               "lymphocytes": "1.21", "lymphocytes_unit": "10^3/uL",
                               "afp": "812.5", "extrahepatic_spread": spread}).to_dict()
                for spread in (False, True)}
    rh0, rh1 = (expected[s]["relative_hazard"] for s in (False, True))
    rh0_text, rh1_text = significant(rh0["value"]), significant(rh1["value"])
    assert (rh0_text, rh1_text) == ("8.21", "20.0")  # AFP x PNI; AFP x PNI x spread
    assert card["summary"] == (f"PNI 40.7 (low), AFP ≥ 200 ng/mL: relative hazard "
                               f"{rh0_text} without, {rh1_text} with extrahepatic spread")
    assert card["indicator"] == "info"
    detail = card["detail"]
    for text in ("40.7, low", "AFP ≥ 200 ng/mL", "PNI < 47.6", "Extrahepatic spread",
                 f"without extrahepatic spread: **{rh0_text} (95% CI "
                 f"{interval(rh0['ci'])})**",
                 f"with extrahepatic spread: **{rh1_text} (95% CI {interval(rh1['ci'])})**",
                 "Observation alb-1, LOINC 1751-7, final", "3.47 g/dL = 34.7 g/L"):
        assert text in detail, text
    assert "alb-0" not in detail  # the older albumin is not the one used


def test_links_go_to_fixed_pages_without_patient_values(ehr: FlaskClient,
                                                        ehr_key: ECKey) -> None:
    card = card_of(call(ehr, hook_request(prefetch()), mint(ehr_key)))
    urls = [card["source"]["url"], *(link["url"] for link in card["links"])]
    assert set(urls) == {f"{BASE}/evidence", f"{BASE}/"}
    for url in urls:
        for value in (PATIENT, "3.47", "34.7", "1.21", "812", "40.7"):
            assert value not in url
    page = ehr.get("/evidence")
    assert page.status_code == 200 and b"Table 4" in page.data and b"<details" in page.data


def test_old_labs_make_the_card_a_warning(ehr: FlaskClient, ehr_key: ECKey) -> None:
    labs = {**LABS, "afp": [lab("afp-1", "1834-1", "812.5", "ng/mL", days_ago=45)]}
    card = card_of(call(ehr, hook_request(prefetch(labs)), mint(ehr_key)))
    assert card["indicator"] == "warning"
    assert "45 days before this calculation" in card["detail"]


def test_a_missing_lab_gets_a_card_naming_it_and_no_profile(ehr: FlaskClient,
                                                           ehr_key: ECKey) -> None:
    labs = {**LABS, "albumin": [lab("alb-p", "1751-7", "3.5", "g/dL", status="preliminary")]}
    card = card_of(call(ehr, hook_request(prefetch(labs)), mint(ehr_key)))
    assert card["summary"].startswith("Prognostic profile (PNI, AFP) not calculated")
    assert "Serum albumin" in card["summary"]
    assert "status is preliminary" in card["detail"] and "relative hazard" not in \
        card["detail"].lower()


def test_null_prefetch_means_no_data(ehr: FlaskClient, ehr_key: ECKey) -> None:
    prefetched = {**prefetch(), "afp": None}
    card = card_of(call(ehr, hook_request(prefetched), mint(ehr_key)))
    assert "AFP" in card["summary"] and "not calculated" in card["summary"]


def test_an_rsa_signed_token_is_accepted_too(ehr: FlaskClient, ehr_rsa_key: RSAKey) -> None:
    card_of(call(ehr, hook_request(prefetch()), mint(ehr_rsa_key, alg="RS384")))


# --- fetching from the EHR's FHIR server --------------------------------------------------
def test_without_prefetch_the_labs_are_read_from_the_fhir_server(
        ehr: FlaskClient, ehr_key: ECKey, fhir_server: FhirServerDouble) -> None:
    card = card_of(call(ehr, hook_request(server=fhir_server), mint(ehr_key)))
    assert "PNI 40.7 (low)" in card["summary"]
    assert len(fhir_server.requests) == len(PREFETCH)
    for path, query, authorization in fhir_server.requests:
        assert path == "/fhir/Observation" and query["patient"] == [PATIENT]
        assert authorization == f"Bearer {fhir_server.token}"
        assert query["_sort"] == ["-date"]


def test_only_what_was_not_prefetched_is_fetched(ehr: FlaskClient, ehr_key: ECKey,
                                                 fhir_server: FhirServerDouble) -> None:
    prefetched = prefetch()
    del prefetched["afp"]
    prefetched["inr"] = {"resourceType": "OperationOutcome",
                         "issue": [{"severity": "error", "code": "timeout"}]}
    card_of(call(ehr, hook_request(prefetched, fhir_server), mint(ehr_key)))
    asked = sorted(q["code"][0].split("|")[1].split(",")[0] for _, q, _ in fhir_server.requests)
    assert asked == ["1834-1", "6301-6"]


def test_no_prefetch_and_no_fhir_server_is_412(ehr: FlaskClient, ehr_key: ECKey) -> None:
    response = call(ehr, hook_request(), mint(ehr_key))
    assert response.status_code == 412
    assert "albumin" in response.get_json()["errors"][0]["message"]


@pytest.mark.parametrize(("mode", "words"), [
    ("redirect-elsewhere", "redirected to another host"), ("huge", "more than 256 KiB"),
    ("slow", "did not answer within"), ("drip", "took longer than"),
    ("error", "HTTP 500"), ("not-json", "not JSON"), ("unauthorised-always", "HTTP 401")])
def test_a_fhir_server_that_misbehaves_gets_412_quickly(
        ehr: FlaskClient, ehr_key: ECKey, fhir_server: FhirServerDouble, mode: str,
        words: str) -> None:
    fhir_server.mode = mode
    started = time.monotonic()
    response = call(ehr, hook_request(server=fhir_server), mint(ehr_key))
    assert response.status_code == 412
    assert words in response.get_json()["errors"][0]["message"]
    assert time.monotonic() - started < 5
    assert "cards" not in response.get_json()


def test_a_redirect_on_the_same_host_is_followed(ehr: FlaskClient, ehr_key: ECKey,
                                                 fhir_server: FhirServerDouble) -> None:
    fhir_server.mode = "redirect-same-host"
    card_of(call(ehr, hook_request(server=fhir_server), mint(ehr_key)))
    assert any("moved" in q for _, q, _ in fhir_server.requests)


@pytest.mark.parametrize(("server", "words"), [
    ("http://127.0.0.1:9/fhir", "not one of the FHIR servers"),
    ("https://user:pw@ehr.example.org/fhir", "without credentials"),
    ("ftp://ehr.example.org/fhir", "absolute https URL"), (5, "must be a URL")])
def test_a_fhir_server_not_allowed_is_refused_before_any_request(
        ehr: FlaskClient, ehr_key: ECKey, fhir_server: FhirServerDouble, server: object,
        words: str) -> None:
    body = {**hook_request(server=fhir_server), "fhirServer": server}
    response = call(ehr, body, mint(ehr_key))
    assert response.status_code == 400 and words in response.get_json()["errors"][0]["message"]
    assert fhir_server.requests == []


def test_a_bad_fhir_authorization_is_refused(ehr: FlaskClient, ehr_key: ECKey,
                                             fhir_server: FhirServerDouble) -> None:
    body = hook_request(server=fhir_server)
    body["fhirAuthorization"] = {"access_token": "x\r\nHost: evil", "token_type": "Bearer"}
    assert call(ehr, body, mint(ehr_key)).status_code == 400
    body["fhirAuthorization"] = {"access_token": "abc", "token_type": "MAC"}
    assert call(ehr, body, mint(ehr_key)).status_code == 400


# --- security: the JWT comes first, and anything wrong is 401 without a card ----------------
def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'ehr-ec'})}.{b64(claims)}."


def hmac_signed(claims: dict[str, Any], secret: bytes) -> str:
    """The key-confusion attack: HS256 with the EHR's *public* key as the shared secret
    (built by hand; the JOSE library rightly refuses to make it)."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'ehr-ec'})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.mark.parametrize("case", [
    "no header", "basic auth", "garbage", "alg none", "hs256", "hs256 with the public key",
    "unknown kid", "forged signature", "other issuer", "other audience",
    "discovery audience", "expired", "issued in the future", "lives too long", "no jti",
    "no exp", "typ missing", "jku to the attacker's keys", "tampered claims"])
def test_every_bad_token_gets_401_and_no_card(ehr: FlaskClient, ehr_key: ECKey,
                                              forged_key: ECKey, case: str,
                                              fhir_server: FhirServerDouble) -> None:
    now = int(time.time())
    good_claims = {"iss": ISSUER, "aud": SERVICE_URL, "exp": now + 300, "iat": now,
                   "jti": str(uuid.uuid4())}
    pem = ehr_key.as_pem(private=False)
    tokens: dict[str, str | None] = {
        "no header": None,
        "garbage": "not.a.jwt",
        "alg none": unsigned(good_claims),
        "hs256": mint(OctKey.import_key("a-shared-secret-of-32-bytes-long"), alg="HS256"),
        "hs256 with the public key": hmac_signed(good_claims, pem),
        "unknown kid": mint(ECKey.generate_key("P-384", parameters={"kid": "other"},
                                               private=True)),
        "forged signature": mint(forged_key),
        "other issuer": mint(ehr_key, iss="https://evil.example.org"),
        "other audience": mint(ehr_key, aud=f"{BASE}/cds-services/other"),
        "discovery audience": mint(ehr_key, aud=f"{BASE}/cds-services"),
        "expired": mint(ehr_key, lifetime=-120, iat_offset=-400),
        "issued in the future": mint(ehr_key, iat_offset=600, lifetime=900),
        "lives too long": mint(ehr_key, lifetime=7200),
        "no jti": mint(ehr_key, drop=("jti",)),
        "no exp": mint(ehr_key, drop=("exp",)),
        "typ missing": jws.serialize_compact({"alg": "ES384", "kid": "ehr-ec"},
                                             json.dumps(good_claims), ehr_key,
                                             algorithms=["ES384"]),
        "jku to the attacker's keys": mint(forged_key, header={
            "jku": fhir_server.jwks_url}),
    }
    fhir_server.jwks = public_jwks(forged_key)
    if case == "tampered claims":
        head, _, signature = mint(ehr_key).split(".")
        tokens[case] = f"{head}.{b64({**good_claims, 'iss': ISSUER + '.evil'})}.{signature}"
    headers = ({"Authorization": "Basic dXNlcjpwYXNz"} if case == "basic auth" else
               {} if tokens[case] is None else {"Authorization": f"Bearer {tokens[case]}"})
    response = ehr.post(f"/cds-services/{SERVICE_ID}", data=as_json(hook_request(prefetch())),
                        content_type="application/json", headers=headers)
    assert response.status_code == 401, (case, response.get_json())
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert "cards" not in body and body["errors"][0]["field"] == "Authorization"
    assert fhir_server.requests == []  # the attacker's jku was never followed


def test_the_reasons_are_said(ehr: FlaskClient, ehr_key: ECKey) -> None:
    def reason(token: str) -> str:
        return str(call(ehr, hook_request(prefetch()), token).get_json()["errors"][0][
            "message"])
    assert "expired" in reason(mint(ehr_key, lifetime=-120, iat_offset=-400))
    assert "allow-list" in reason(mint(ehr_key, iss="https://evil.example.org"))
    assert SERVICE_URL in reason(mint(ehr_key, aud="https://elsewhere/cds-services/x"))


def test_a_replayed_token_is_refused(ehr: FlaskClient, ehr_key: ECKey) -> None:
    token = mint(ehr_key)
    card_of(call(ehr, hook_request(prefetch()), token))
    again = call(ehr, hook_request(prefetch()), token)
    assert again.status_code == 401 and "replayed" in again.get_json()["errors"][0]["message"]


def test_an_audience_list_naming_this_service_is_accepted(ehr: FlaskClient,
                                                          ehr_key: ECKey) -> None:
    card_of(call(ehr, hook_request(prefetch()),
                 mint(ehr_key, aud=["https://other.example.org", SERVICE_URL])))


def test_the_token_is_checked_before_the_body_is_read(ehr: FlaskClient,
                                                      ehr_key: ECKey) -> None:
    big = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    for body in (b"not json", big):
        response = ehr.post(f"/cds-services/{SERVICE_ID}", data=body,
                            content_type="application/json",
                            headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 401
    response = ehr.post(f"/cds-services/{SERVICE_ID}", data=big,
                        content_type="application/json",
                        headers={"Authorization": f"Bearer {mint(ehr_key)}"})
    assert response.status_code == 413 and "KiB" in response.get_json()["errors"][0]["message"]


def test_keys_from_a_jwks_url_and_a_rotated_key(fhir_server: FhirServerDouble,
                                                ehr_key: ECKey) -> None:
    fhir_server.jwks = public_jwks(ehr_key)
    app = create_app({"TESTING": True, "CDS": CdsConfig(
        BASE, (ISSUER,), fhir_server.jwks_url, (fhir_server.base,), LIMITS)})
    client = app.test_client()
    assert fhir_server.requests == []  # fetched when first needed, not at start
    card_of(call(client, hook_request(prefetch()), mint(ehr_key)))
    new_key = ECKey.generate_key("P-384", parameters={"kid": "ehr-ec-2"}, private=True)
    fhir_server.jwks = public_jwks(new_key)
    state = app.extensions["hcc_prognosis_cds"]
    state.verifier.keys._fetched_at -= 60  # the rotation happened a while ago
    card_of(call(client, hook_request(prefetch()), mint(new_key)))
    assert [p for p, _, _ in fhir_server.requests] == ["/jwks.json", "/jwks.json"]


# --- bad requests -----------------------------------------------------------------------
@pytest.mark.parametrize(("body", "status"), [
    ({"hook": "order-sign", "hookInstance": "x", "context": {"patientId": PATIENT}}, 400),
    ({"hook": "patient-view", "context": {"patientId": PATIENT}}, 400),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "a/b"}}, 400),
    ({"hook": "patient-view", "hookInstance": "x", "context": {}}, 400),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": PATIENT},
      "prefetch": {"albumin": "not a bundle"}}, 400),
    ([1, 2, 3], 400),
])
def test_malformed_hook_requests_get_400(ehr: FlaskClient, ehr_key: ECKey, body: object,
                                         status: int) -> None:
    response = call(ehr, body, mint(ehr_key))
    assert response.status_code == status and "cards" not in response.get_json()


def test_invalid_fhir_in_the_prefetch_gets_422(ehr: FlaskClient, ehr_key: ECKey) -> None:
    prefetched = prefetch()
    prefetched["albumin"]["entry"][0]["resource"]["valueQuantity"]["value"] = "abc"
    response = call(ehr, hook_request(prefetched), mint(ehr_key))
    assert response.status_code == 422
    assert "valueQuantity.value" in response.get_json()["errors"][0]["message"]
    stranger = prefetch()
    stranger["afp"]["entry"][0]["resource"]["subject"] = {"reference": "Patient/other"}
    response = call(ehr, hook_request(stranger), mint(ehr_key))
    assert response.status_code == 422 and "Patient/other" in response.get_data(as_text=True)


def test_unknown_service_json_only_and_wrong_method(ehr: FlaskClient, ehr_key: ECKey) -> None:
    other = f"{BASE}/cds-services/other"
    assert call(ehr, hook_request(prefetch()), mint(ehr_key, aud=other),
                service="other").status_code == 404
    response = ehr.post(f"/cds-services/{SERVICE_ID}", data="hook=patient-view",
                        content_type="application/x-www-form-urlencoded",
                        headers={"Authorization": f"Bearer {mint(ehr_key)}"})
    assert response.status_code == 415
    response = ehr.get(f"/cds-services/{SERVICE_ID}")
    assert response.status_code == 405 and response.is_json


# --- configuration ----------------------------------------------------------------------
def test_without_configuration_the_endpoints_are_off_and_say_so(client: FlaskClient) -> None:
    for response in (client.get("/cds-services"),
                     client.post(f"/cds-services/{SERVICE_ID}", json=hook_request())):
        assert response.status_code == 404
        message = response.get_json()["errors"][0]["message"]
        assert "not configured" in message and BASE_URL_ENV in message


@pytest.mark.parametrize(("environ", "words"), [
    ({BASE_URL_ENV: "https://calc.example.org"}, f"{ISSUERS_ENV}, {JWKS_ENV} are not set"),
    ({BASE_URL_ENV: "http://calc.example.org", ISSUERS_ENV: ISSUER, JWKS_ENV: "/k.json"},
     "must be the service's https URL"),
    ({BASE_URL_ENV: "https://calc.example.org", ISSUERS_ENV: ISSUER,
      JWKS_ENV: "http://ehr.example.org/jwks"}, "https URL or a file path"),
])
def test_partial_or_unusable_configuration_keeps_it_off(environ: dict[str, str],
                                                        words: str) -> None:
    state = cds_config(environ)
    assert isinstance(state, CdsOff) and words in state.reason


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            jwks_file: Path, ehr_key: ECKey) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://localhost/")
    monkeypatch.setenv(ISSUERS_ENV, f" {ISSUER} , https://other-ehr.example.org")
    monkeypatch.setenv(JWKS_ENV, str(jwks_file))
    monkeypatch.setenv(FHIR_SERVERS_ENV, "https://fhir.example.org/r4/")
    config = cds_config(os.environ)
    assert isinstance(config, CdsConfig)
    assert config.issuers == (ISSUER, "https://other-ehr.example.org")
    assert config.fhir_servers == ("https://fhir.example.org/r4",)
    client = create_app({"TESTING": True}).test_client()
    card_of(call(client, hook_request(prefetch()), mint(ehr_key)))


def test_an_unreadable_jwks_file_keeps_it_off_naming_the_file(tmp_path: Path) -> None:
    for content in (None, "not json", '{"keys": []}', '{"keys": [{"kty": "oct", "k": "x"}]}'):
        path = tmp_path / "jwks.json"
        if content is not None:
            path.write_text(content)
        app = create_app({"TESTING": True, "CDS": CdsConfig(BASE, (ISSUER,), str(path))})
        response = app.test_client().get("/cds-services")
        assert response.status_code == 404
        assert "JWKS" in response.get_json()["errors"][0]["message"]


# --- fuzz -------------------------------------------------------------------------------
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=fhir_bundles(patient=PATIENT))
def test_fuzz_prefetched_bundles_get_a_card_or_a_clear_4xx(ehr: FlaskClient, ehr_key: ECKey,
                                                           data: object) -> None:
    """Whatever the EHR prefetches, the answer is a valid card response (200) or an error
    JSON with a 4xx status; never a 5xx (TESTING is on: a crash fails the test)."""
    prefetched = {**dict.fromkeys(PREFETCH), "albumin": data}  # the others: no data
    response = call(ehr, hook_request(prefetched), mint(ehr_key))
    assert response.status_code in (200, 400, 412, 422), response.status_code
    body = response.get_json()
    if response.status_code == 200:
        RESPONSE_SCHEMA.validate(body)
    else:
        assert body["errors"][0]["message"]



_TOKEN_PART = st.one_of(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789-_=", max_size=40),
                        st.dictionaries(st.sampled_from(["alg", "kid", "typ", "jku", "iss",
                                                         "aud", "exp", "jti", "crit"]),
                                        st.one_of(st.none(), st.integers(), st.text(max_size=8),
                                                  st.sampled_from(["ES384", "none", "HS256",
                                                                   "JWT", "ehr-ec"])),
                                        max_size=5).map(b64))


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_TOKEN_PART, min_size=1, max_size=4),
       scheme=st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "Basic ", ""]))
def test_fuzz_made_up_tokens_get_401(ehr: FlaskClient, parts: list[str], scheme: str) -> None:
    """Tokens made of random or hand-built JOSE parts are refused with 401, never more."""
    response = ehr.post(f"/cds-services/{SERVICE_ID}", data=as_json(hook_request(prefetch())),
                        content_type="application/json",
                        headers={"Authorization": scheme + ".".join(parts)})
    assert response.status_code == 401 and "cards" not in response.get_json()
