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
import urllib.error
import urllib.parse
import urllib.request

import pytest
from flask import Flask

from tests.log_privacy import access_message_without_timing
from tests.log_privacy import leaked as leaked_values
from webui import create_app
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
