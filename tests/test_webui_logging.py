"""No patient value reaches a log line: every logger (the app's, waitress's, werkzeug's,
the root) is captured at DEBUG while forms and API calls go through the test client and
through a real waitress server."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from flask import Flask

from webui import create_app
from webui.logs import ACCESS_LOGGER
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
    return [v for v in LEAKS if re.search(rf"(?<![\d.,]){re.escape(v)}(?!\d)", text)]


def record_text(record: logging.LogRecord) -> str:
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
