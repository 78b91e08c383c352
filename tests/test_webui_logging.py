"""No patient value reaches a log line: every logger (the app's, waitress's, werkzeug's,
the root) is captured at DEBUG while forms and API calls go through the test client and
through a real waitress server. Access-log lines are checked to have exactly the form
``METHOD ROUTE STATUS ELAPSED ms`` before their elapsed time is set aside, so a timing such
as ``36.1 ms`` is never taken for albumin 36.1 (see :mod:`tests.log_privacy`)."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.fhir_server_double import FhirServerDouble, running
from tests.log_privacy import access_message_without_timing
from tests.log_privacy import leaked as leaked_values
from webui import create_app
from webui.cds.config import BASE_URL_ENV, FHIR_SERVERS_ENV, ISSUERS_ENV, JWKS_ENV
from webui.logs import ACCESS_LOGGER, QUEUE_LOGGER, QueueDepthSummary, summarise_queue_warnings
from webui.serve_command import make_server, server_url, stop_server

#: Values nobody types by accident, so that finding one in a log means it leaked.
PATIENT = {"albumin": "3,61", "albumin_unit": "g/dL", "lymphocytes": "1237",
           "lymphocytes_unit": "cells/uL", "afp": "4321.5", "afp_unit": "ng/mL",
           "extrahepatic_spread": "yes", "bilirubin": "2,87", "bilirubin_unit": "mg/dL",
           "inr": "1.43", "ascites": "mild", "encephalopathy": "none"}
SLIP = {**PATIENT, "albumin": "36.1"}  # g/L typed while g/dL is selected
LEAKS = ("3,61", "3.61", "36.1", "1237", "1.237", "4321.5", "2,87", "2.87", "1.43")
LOGGERS = ("", "webui", ACCESS_LOGGER, "waitress", "waitress.queue", "werkzeug", "flask")


def leaked(text: str) -> list[str]:
    return leaked_values(text, LEAKS)


def record_text(record: logging.LogRecord) -> str:
    """Everything a record carries; for an access-log record, its message (checked to have
    the access-log form) without the elapsed time, and its arguments but the last."""
    if record.name == ACCESS_LOGGER:
        assert isinstance(record.args, tuple) and len(record.args) == 4
        return "\n".join([access_message_without_timing(record.getMessage()),
                          repr(record.args[:3]), record.exc_text or "",
                          record.stack_info or ""])
    parts = [record.getMessage(), repr(record.args), record.exc_text or "",
             record.stack_info or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found
    return found.group(1)


def exercise_test_client(app: Flask) -> None:
    client = app.test_client()
    query = urllib.parse.urlencode(PATIENT)
    client.get(f"/?{query}")
    for values in (PATIENT, SLIP):
        token = form_token(client.get("/").get_data(as_text=True))
        client.post(f"/?{query}", data={"csrf_token": token, **values})
    client.post("/", data=PATIENT)  # no CSRF token
    client.post("/api/v1/score", json=PATIENT)
    client.post("/api/v1/score", json=SLIP)
    client.post("/api/v1/score", data=json.dumps(PATIENT)[:-1], content_type="application/json")
    client.get("/boom", query_string=PATIENT)


def test_no_patient_value_in_logs_of_the_test_client(
        everything_logged: pytest.LogCaptureFixture) -> None:
    app = create_app({"TESTING": False})

    @app.get("/boom")
    def boom() -> str:
        raise ValueError(f"albumin {PATIENT['albumin']} lymphocytes {PATIENT['lymphocytes']}")

    exercise_test_client(app)
    records = everything_logged.records
    assert any(r.name == ACCESS_LOGGER and "POST /api/v1/score 422" in r.getMessage()
               for r in records)
    assert any("unhandled ValueError on GET /boom" in r.getMessage() for r in records)
    for record in records:
        assert leaked(record_text(record)) == [], record_text(record)


def test_no_patient_value_in_logs_of_the_real_server(
        everything_logged: pytest.LogCaptureFixture) -> None:
    server = make_server("127.0.0.1", 0, threads=2)
    url = server_url(server)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        for values in (PATIENT, SLIP):
            with opener.open(url, timeout=10) as page:
                token = form_token(page.read().decode())
            body = urllib.parse.urlencode({"csrf_token": token, **values}).encode()
            try:
                opener.open(url, data=body, timeout=10).close()
            except urllib.error.HTTPError as error:  # the slip answers 422
                assert error.code == 422
                error.close()
        request = urllib.request.Request(url + "api/v1/score",
                                         data=json.dumps(PATIENT).encode(),
                                         headers={"Content-Type": "application/json"})
        with opener.open(request, timeout=10) as answer:
            assert answer.status == 200
    finally:
        stop_server(server)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
    records = everything_logged.records
    assert any(r.name == ACCESS_LOGGER and "POST / 200" in r.getMessage() for r in records)
    assert any(r.name == ACCESS_LOGGER and "POST / 422" in r.getMessage() for r in records)
    for record in records:
        assert leaked(record_text(record)) == [], record_text(record)


def test_a_timing_that_looks_like_a_value_is_not_a_leak_but_a_value_is() -> None:
    """The check is honest both ways: a timing equal to a value passes, the value
    anywhere else in an access line fails."""
    timing = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "%s %s %d %.1f ms",
                               ("POST", "/", 200, 36.1), None)
    assert leaked(record_text(timing)) == []
    assert leaked(timing.getMessage()) == ["36.1"]  # what the old check tripped on
    smuggled = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1,
                                 "%s %s %d %.1f ms", ("POST", "/?albumin=36.1", 200, 1.0), None)
    with pytest.raises(AssertionError, match="unexpected form"):
        record_text(smuggled)


def test_queue_depth_warnings_are_summarised_not_flooded() -> None:
    """waitress warns for every request that waits (about 14,000 lines in 20 s at 8
    clients); one line per interval gets through, carrying the peak and the count."""
    clock = iter(i * 0.001 for i in range(100_000))  # 1 ms apart: 14,000 in 14 s
    summary = QueueDepthSummary(interval_s=10.0, clock=lambda: next(clock))
    passed = []
    for i in range(14_000):
        record = logging.LogRecord(QUEUE_LOGGER, logging.WARNING, __file__, 1,
                                   "Task queue depth is %d", (i % 9,), None)
        if summary.filter(record):
            passed.append(record.getMessage())
    assert len(passed) == 2
    assert passed[0] == "Task queue depth is 0"
    assert passed[1] == ("Task queue depth is 1 (peak 8; 9999 similar warnings in the last "
                         "10 s not logged)")


def test_serving_installs_the_summary_once() -> None:
    logger = logging.getLogger(QUEUE_LOGGER)
    first = summarise_queue_warnings()
    assert summarise_queue_warnings() is first
    assert [f for f in logger.filters if isinstance(f, QueueDepthSummary)] == [first]


# --- FHIR input and the CDS Hooks service --------------------------------------------------
#: The same distinctive values as FHIR Observations, and a patient id nobody types.
PATIENT_ID = "pat-98765"
FHIR_LABS = (("alb", "1751-7", "3.61", "g/dL"), ("lym", "731-0", "1237", "/uL"),
             ("afp", "1834-1", "4321.5", "ng/mL"), ("bil", "1975-2", "2.87", "mg/dL"),
             ("inr", "6301-6", "1.43", "{INR}"))
EHR = "https://ehr.example.org"
CDS_BASE = "https://calc.example.org"


def fhir_bundle(*, broken: bool = False) -> dict[str, object]:
    day = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    entries = [{"resource": {
        "resourceType": "Observation", "id": f"{name}-{PATIENT_ID}", "status": "final",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": day,
        "valueQuantity": {"value": float(value), "system": "http://unitsofmeasure.org",
                          "code": "mg/L" if broken and name == "alb" else unit}}}
        for name, code, value, unit in FHIR_LABS]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def cds_calls(key: ECKey, server: FhirServerDouble) -> list[tuple[str, bytes, str]]:
    """CDS Hooks calls (path, body, Authorization): with prefetch, with a lab that cannot be
    read, from the FHIR server double, with a bad token."""
    def token() -> str:
        now = int(time.time())
        return jwt.encode({"alg": "ES256", "typ": "JWT", "kid": "log-key"},
                          {"iss": EHR, "aud": f"{CDS_BASE}/cds-services/hcc-prognosis",
                           "exp": now + 60, "iat": now, "jti": str(uuid.uuid4())}, key,
                          algorithms=["ES256"])

    def hook(**extra: object) -> bytes:
        return json.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                           "context": {"userId": "Practitioner/1", "patientId": PATIENT_ID},
                           **extra}).encode()
    prefetch = {k: fhir_bundle() for k in ("albumin", "lymphocytes", "afp", "bilirubin",
                                          "inr")}
    spoilt = {**prefetch, "albumin": fhir_bundle(broken=True)}
    server.observations = [e["resource"] for e in fhir_bundle()["entry"]]  # type: ignore
    fetch = {"fhirServer": server.base, "fhirAuthorization": {
        "access_token": server.token, "token_type": "Bearer", "expires_in": 60,
        "scope": "user/Observation.read", "subject": "hcc-prognosis"}}
    path = "/cds-services/hcc-prognosis"
    return [(path, hook(prefetch=prefetch), token()), (path, hook(prefetch=spoilt), token()),
            (path, hook(**fetch), token()), (path, hook(prefetch=prefetch), "Bearer x.y.z")]


@pytest.fixture
def cds_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[ECKey, FhirServerDouble]]:
    key = ECKey.generate_key("P-256", parameters={"kid": "log-key"}, private=True)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    with running() as server:
        monkeypatch.setenv(BASE_URL_ENV, CDS_BASE)
        monkeypatch.setenv(ISSUERS_ENV, EHR)
        monkeypatch.setenv(JWKS_ENV, str(jwks))
        monkeypatch.setenv(FHIR_SERVERS_ENV, server.base)
        yield key, server


def assert_nothing_leaked(records: list[logging.LogRecord]) -> None:
    assert any(r.name == ACCESS_LOGGER and "/cds-services/<service_id>" in r.getMessage()
               for r in records)
    for record in records:
        text = record_text(record)
        assert leaked(text) == [] and PATIENT_ID not in text and "98765" not in text, text


def test_no_patient_value_in_logs_of_fhir_and_cds_calls(
        everything_logged: pytest.LogCaptureFixture,
        cds_environment: tuple[ECKey, FhirServerDouble]) -> None:
    key, server = cds_environment
    client = create_app({"TESTING": False}).test_client()
    for broken in (False, True):
        client.post("/api/v1/score/fhir", json={"bundle": fhir_bundle(broken=broken),
                                                "extrahepatic_spread": True})
    statuses = []
    for path, body, token in cds_calls(key, server):
        statuses.append(client.post(path, data=body, content_type="application/json",
                                    headers={"Authorization": f"Bearer {token}"}).status_code)
    assert statuses == [200, 200, 200, 401]
    assert len(server.requests) == 5  # the FHIR server double was read
    assert_nothing_leaked(everything_logged.records)


def test_no_patient_value_in_logs_of_cds_calls_to_the_real_server(
        everything_logged: pytest.LogCaptureFixture,
        cds_environment: tuple[ECKey, FhirServerDouble]) -> None:
    key, fhir_server = cds_environment
    server = make_server("127.0.0.1", 0, threads=2)
    url = server_url(server).rstrip("/")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    statuses = []
    try:
        for path, body, token in cds_calls(key, fhir_server):
            request = urllib.request.Request(url + path, data=body, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    statuses.append(answer.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
                error.close()
    finally:
        stop_server(server)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
    assert statuses == [200, 200, 200, 401]
    assert_nothing_leaked(everything_logged.records)
