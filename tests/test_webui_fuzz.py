"""No request breaks the server: over 10,000 generated requests (bodies, form fields, JSON
values, methods, paths and headers, the Host header included) get no 5xx, and every answer
carries the security headers.

Run through Flask's test client (no sockets), on the app as it is served (``TESTING``
off, so an error would become a 500 page rather than an exception), once with the form's
CSRF check and once without it, so that generated forms reach the scoring core.
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from webui import MAX_BODY_BYTES, create_app
from webui.security import SECURITY_HEADERS

#: Each example sends this many requests; with EXAMPLES examples that is REQUESTS.
REQUESTS_PER_EXAMPLE = 4
EXAMPLES = 2_600
REQUESTS = REQUESTS_PER_EXAMPLE * EXAMPLES

APPS = {"csrf": create_app({"TESTING": False}),
        "no-csrf": create_app({"TESTING": False, "WTF_CSRF_ENABLED": False})}

# --- what a client may send ------------------------------------------------------------
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                             blacklist_characters="\x7f"), max_size=24)
LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=0, max_size=70)
HOSTS = st.one_of(
    st.sampled_from(["localhost", "127.0.0.1:8000", "[::1]:8000", "calc.example.org",
                     "a" * 64 + ".org", "a..b", ".", "", " ", "x y", "évil.org", "host:",
                     "host:99999999", "[::1", "-a.org", "a" * 300, "localhost:abc"]),
    st.lists(LABEL, min_size=1, max_size=5).map(".".join),
    st.tuples(st.lists(LABEL, min_size=1, max_size=3).map(".".join),
              st.integers(0, 10**6)).map(lambda t: f"{t[0]}:{t[1]}"),
    HEADER_TEXT,
)
NUMBER_TEXT = st.one_of(
    st.sampled_from(["35", "3,5", "12,500", "1.250", "3_5", "1e3", "+5", "-1", "nan", "inf",
                     " 35 ", "٣٥", "３５", "3٥", "1,234.5", "12 500", "0x10", "35 g/L", "",
                     "9" * 5001, "1" * 20, "0.0000000001", "١٢٫٥٠٠", "1٬000", "−3"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.integers(-10**30, 10**30).map(str),
    st.text(max_size=30),
)
FIELD_NAMES = ["albumin", "albumin_unit", "lymphocytes", "lymphocytes_unit", "afp",
               "afp_unit", "extrahepatic_spread", "bilirubin", "bilirubin_unit", "inr",
               "ascites", "encephalopathy", "child_pugh_class", "lab_date", "action"]
CHOICE_TEXT = st.one_of(
    st.sampled_from(["g/L", "g/dL", "10^9/L", "10^3/uL", "cells/uL", "cells/µL", "×10⁹/L",
                     "ng/mL", "IU/mL", "ug/L", "mg/dL", "umol/L", "kg", "yes", "no", "maybe",
                     "none", "mild", "moderate-severe", "grade-1-2", "grade-3-4", "A", "b",
                     "D", "edit", "calculate", "2025-01-01", "2025-02-30", "9999-12-31",
                     "0001-01-01", "yesterday"]),
    st.text(max_size=20))
RANDOM_FORM = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10),
                              st.one_of(NUMBER_TEXT, CHOICE_TEXT), max_size=12)
#: A patient that scores, to start from: most generated forms and bodies change a few of
#: its fields, so that results (with warnings, Child-Pugh, lab dates) are rendered too.
VALID = {"albumin": "3,5", "albumin_unit": "g/dL", "lymphocytes": "1100",
         "lymphocytes_unit": "cells/uL", "afp": "250", "afp_unit": "ng/mL",
         "extrahepatic_spread": "yes"}
CHANGES = st.dictionaries(st.sampled_from(FIELD_NAMES),
                          st.one_of(NUMBER_TEXT, CHOICE_TEXT), max_size=4)
FORM = st.one_of(RANDOM_FORM, CHANGES.map(lambda changes: {**VALID, **changes}))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      NUMBER_TEXT, CHOICE_TEXT, st.integers(-10**40, 10**40))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                          max_leaves=4)
JSON_BODY = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), JSON_LEAF,
                    max_size=12).map(json.dumps),
    st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_LEAF, max_size=4).map(
        lambda changes: json.dumps({**VALID, **changes})),
    JSON_VALUE.map(json.dumps),
    st.sampled_from(['{"albumin": ' + "9" * 5001 + "}", '{"afp": 1e999}', '{"afp": NaN}',
                     "[" * 3000, '{"albumin": "3,5"', "", "null"]),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)
PATHS = st.one_of(
    st.sampled_from(["/", "/healthz", "/api/v1/score", "/api/v1/openapi.json",
                     "/static/style.css", "/static/result.js", "/static/../webui/__init__.py",
                     "//", "//healthz", "/api//v1/score", "/api/v1/score/", "/nowhere",
                     "/%ff%fe", "/static/", "/api/", "/?albumin=35"]),
    st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/?=&")),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "text/plain",
                                 "application/json; charset=latin-1", "", "*/*",
                                 "application/json; charset=utf-16"])
EXTRA_HEADERS = st.dictionaries(
    st.sampled_from(["Accept", "Accept-Language", "Cookie", "Referer", "Origin",
                     "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
                     "If-None-Match", "Range", "User-Agent", "X-CSRFToken"]),
    HEADER_TEXT, max_size=4)
METHODS = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])


@st.composite
def request_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Four requests: a form, a JSON body, anything at all, and a GET with an odd Host."""
    host = draw(HOSTS)
    app = draw(st.sampled_from(sorted(APPS)))
    return [
        {"app": "no-csrf", "method": "POST", "path": "/", "data": draw(FORM),
         "headers": {"Host": draw(st.sampled_from([host, "localhost"]))}},
        {"app": app, "method": "POST", "path": "/api/v1/score", "data": draw(JSON_BODY),
         "content_type": draw(st.sampled_from(["application/json"]) | CONTENT_TYPES),
         "headers": {"Host": draw(st.sampled_from([host, "localhost"]))}},
        {"app": app, "method": draw(METHODS), "path": draw(PATHS),
         "data": draw(st.one_of(FORM, JSON_BODY)), "content_type": draw(CONTENT_TYPES),
         "headers": {"Host": host, **draw(EXTRA_HEADERS)}},
        {"app": app, "method": "GET", "path": draw(PATHS), "headers": {"Host": host}},
    ]


def send(request: dict[str, Any]) -> tuple[int, dict[str, str]]:
    """Run one request through the app's WSGI callable, as a server would.

    Not ``app.test_client()``: the test client builds a URL from the Host after each
    request (for its cookie jar) and fails on some Hosts itself; the app never does.
    """
    app: Flask = APPS[request["app"]]
    kwargs = {k: v for k, v in request.items() if k in ("data", "content_type", "headers")}
    environ = EnvironBuilder(path=request["path"], method=request["method"],
                             **kwargs).get_environ()
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    b"".join(body)
    return int(status.split()[0]), dict(headers)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=request_batches())
@example(batch=[{"app": "no-csrf", "method": "POST", "path": "/api/v1/score",
                 "data": '{"albumin": ' + "9" * 5001 + "}", "content_type": "application/json",
                 "headers": {"Host": "localhost"}}] * REQUESTS_PER_EXAMPLE)
@example(batch=[{"app": "csrf", "method": "GET", "path": "/", "headers": {"Host": h}}
                for h in ("a" * 64 + ".org", "a..b", ".", "garbage host")])
@example(batch=[{"app": "no-csrf", "method": "POST", "path": "/",
                 "data": {"albumin": "1" * (MAX_BODY_BYTES + 1)},
                 "headers": {"Host": "localhost"}}] * REQUESTS_PER_EXAMPLE)
def test_no_request_gets_a_server_error(batch: list[dict[str, Any]]) -> None:
    assert len(batch) == REQUESTS_PER_EXAMPLE
    for request in batch:
        status, headers = send(request)
        assert status < 500, (status, request)
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (name, request)


def test_the_fuzzer_sends_at_least_ten_thousand_requests() -> None:
    assert REQUESTS >= 10_000
