"""The web pages through Flask's test client: form, result, form errors, every error path,
security headers, CSRF, query strings, body limits and storage."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calculator import InputError, published, score
from calculator.units import AFP_IU_CAVEAT
from webui import MAX_BODY_BYTES, create_app
from webui.defaults import FORM_UNITS
from webui.forms import DISPLAY_ORDER, INPUT_NAMES, input_group
from webui.presentation import significant

TYPICAL = {"albumin": "3,5", "albumin_unit": "g/dL", "lymphocytes": "1100",
           "lymphocytes_unit": "cells/uL", "afp": "250", "afp_unit": "ng/mL",
           "extrahepatic_spread": "yes"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    """Elements of an HTML page: attributes by id, text by id, every start tag."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.by_id: dict[str, dict[str, str]] = {}
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(text)
        self.text = " ".join(" ".join(self._all).split())

    _all: list[str] = []

    def reset(self) -> None:
        super().reset()
        self._all = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v if v is not None else "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.by_id[attributes["id"]] = {"tag": tag, **attributes}
            self.text_by_id.setdefault(attributes["id"], "")
        if tag not in VOID:
            self._open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        self._all.append(data)
        for _, element_id in self._open:
            if element_id is not None:
                self.text_by_id[element_id] += data

    def text_of(self, element_id: str) -> str:
        return " ".join(self.text_by_id[element_id].split())

    def with_attribute(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a]


def token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/").get_data(as_text=True))
    assert found
    return found.group(1)


def post_form(client: FlaskClient, values: dict[str, str], **kwargs: object):  # noqa: ANN201
    return client.post("/", data={"csrf_token": token(client), **values}, **kwargs)


def problems_of(values: dict[str, str]) -> tuple[InputError, ...]:
    with pytest.raises(InputError) as caught:
        score(values)
    return caught.value.errors


# --- the form --------------------------------------------------------------------------
def test_form_has_every_input_labelled_with_help_and_lab_default_units(
        client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    labelled = {a["for"] for _, a in page.tags if _ == "label" and "for" in a}
    controls = [a for tag, a in page.tags
                if tag in ("input", "select") and a.get("type") != "hidden"]
    assert {a["name"] for a in controls} == set(INPUT_NAMES)
    for control in controls:
        assert control["id"] in labelled, f"{control['id']} has no label"
        for described in control["aria-describedby"].split():
            assert page.text_of(described), f"{control['id']} points at empty {described}"
    for name, unit in FORM_UNITS.items():
        selected = re.search(rf'<select[^>]*id="{name}_unit".*?</select>',
                             response.get_data(as_text=True), re.S)
        assert selected and f'value="{unit}" selected' in selected.group(0)
    assert published.AFP_CUTOFF.rule.split()[-2] in page.text_of("afp-help")  # the cut-off
    assert str(published.PNI_CUTOFF.value) in page.text_of("albumin-help")
    for name in ("albumin", "lymphocytes", "afp"):
        assert "required" in page.by_id[name]
    assert not page.with_attribute("autofocus")  # nothing to point at yet


# --- the result page -------------------------------------------------------------------
def test_result_page_shows_the_whole_profile(client: FlaskClient) -> None:
    response = post_form(client, TYPICAL)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    page = Page(text)
    expected = score(TYPICAL).to_dict()

    assert page.text_of("pni-value") == expected["pni"]["display"]
    assert expected["pni"]["category"] in page.text_of("pni-category")
    assert expected["pni"]["rule"] in page.text_of("pni")
    assert "Prognostic Nutritional Index (PNI)" in page.text_of("pni-title")
    for factor in expected["factors"]:
        row = page.text_of(f"factor-{factor['name']}")
        assert ("present" if factor["adverse"] else "absent") in row
        assert (f"{significant(factor['hr'])} ({significant(factor['ci'][0])}–"
                f"{significant(factor['ci'][1])})") in row
        assert str(factor["p"]) in row
    rh = expected["relative_hazard"]
    assert page.text_of("rh-value") == significant(rh["value"])
    assert f"{significant(rh['ci'][0])}–{significant(rh['ci'][1])}" in page.text_of("combined")
    assert rh["caveat"] in page.text

    for median in expected["published_medians"]:
        assert f"{median['median_months']} ({median['ci'][0]}–{median['ci'][1]})" \
            in page.text_of("medians")
    assert "n = 58" in page.text_of("medians")
    assert "n not reported in the paper" in page.text_of("medians")  # the AFP group
    assert expected["published_medians_note"] in page.text
    assert "3,5 g/dL" in page.text_of("input-albumin")
    assert "35 g/L" in page.text_of("input-albumin")
    assert "1100 cells/µL" in page.text_of("input-lymphocytes")
    assert "1.1 ×10⁹/L" in page.text_of("input-lymphocytes")

    evidence = page.text_of("evidence")
    for row in published.TABLE4:
        assert row.paper_coding in evidence
    assert f"{published.COHORT['n']}:" in evidence
    inconsistencies = page.text_of("inconsistencies")
    for item in published.INCONSISTENCIES:
        assert " ".join(item.what.split()) in inconsistencies
    for limit in published.LIMITS:
        assert limit in page.text
    assert published.MODEL_VERSION in page.text_of("model")
    assert published.DOI in page.text_of("model")
    assert "not a substitute for clinical judgement" in page.text


def test_headline_names_endpoint_comparator_and_what_the_number_is(
        client: FlaskClient) -> None:
    page = Page(post_form(client, TYPICAL).get_data(as_text=True))
    headline = page.text_of("combined")
    assert published.ENDPOINT.capitalize() in page.text_of("rh-title")
    assert "Relative hazard 20.0 (95% CI 5.00–80.2)" in page.text_of("rh-title")
    assert "none of the three independent adverse factors" in headline
    assert "not a probability of death" in headline
    # the actions come right after the headline, before everything else
    order = [tag_id for _, tag_id in ((t, a.get("id")) for t, a in page.tags) if tag_id in
             ("combined", "actions", "pni", "factors", "evidence")]
    assert order == ["combined", "actions", "pni", "factors", "evidence"]
    assert {a.get("data-action") for _, a in page.tags if "data-action" in a} == {
        "print", "copy"}
    assert page.by_id["note"]  # the note exists for the copy button and without JavaScript


def test_a_patient_without_adverse_factors_reads_as_the_reference(
        client: FlaskClient) -> None:
    none = {**TYPICAL, "albumin": "4,5", "lymphocytes": "2000", "afp": "20",
            "extrahepatic_spread": "no"}
    assert score(none).adverse_count == 0
    text = post_form(client, none).get_data(as_text=True)
    page = Page(text)
    assert page.text_of("rh-value") == "Reference group"
    assert "1.00 (1.00" not in page.text and "1.00–1.00" not in page.text
    assert "reference group" in page.text_of("chart").lower()
    for name in published.INDEPENDENT_FACTORS:  # every factor absent, none applied
        row = page.text_of(f"factor-{name}")
        assert "absent" in row and "not applied" in row and "favourable" not in row


def test_absent_factors_do_not_look_applied(client: FlaskClient) -> None:
    values = {**TYPICAL, "extrahepatic_spread": "no"}
    page = Page(post_form(client, values).get_data(as_text=True))
    row = page.text_of("factor-extrahepatic_spread")
    assert "absent" in row and "not applied; 2.44 (1.22–5.00) if present" in row
    assert "absent: not applied" in page.text_of("chart")
    assert "not applied" not in page.text_of("factor-afp")


def test_evidence_and_inconsistencies_are_folded_without_javascript(
        client: FlaskClient) -> None:
    page = Page(post_form(client, TYPICAL).get_data(as_text=True))
    for folded in ("evidence", "inconsistencies"):
        assert page.by_id[folded]["tag"] == "details" and "open" not in page.by_id[folded]


def test_note_for_the_record_and_the_printed_time(client: FlaskClient) -> None:
    values = {**TYPICAL, "lab_date": "2001-02-03"}
    page = Page(post_form(client, values).get_data(as_text=True))
    note = page.text_of("note-text")
    calculated = page.text_of("calculated")
    stamp = re.search(r"Calculated (\d{4}-\d\d-\d\d \d\d:\d\d \(UTC[+-]\d\d:\d\d\))",
                      calculated)
    assert stamp, calculated
    assert f"Calculated: {stamp.group(1)}" in note  # the note and the page: the same time
    assert stamp.group(1) in page.text_of("model")  # and the printed footer line
    for expected in ("Serum albumin: 3,5 g/dL → 35 g/L", "Labs dated: 2001-02-03",
                     "Relative hazard 20.0 (95% CI 5.00–80.2)", published.MODEL_VERSION,
                     published.ONE_LINE_LIMIT, "PNI): 40.5, low"):
        assert expected in note
    assert "days before this calculation" in page.text_of("warnings")  # an old lab date


def test_partial_child_pugh_gives_the_result_with_a_warning(client: FlaskClient) -> None:
    response = post_form(client, {**TYPICAL, "bilirubin": "1,2"})
    assert response.status_code == 200
    warnings = Page(response.get_data(as_text=True)).text_of("warnings")
    assert "Child-Pugh was not calculated: INR, Ascites and Hepatic encephalopathy are " \
           "missing" in warnings
    invalid = post_form(client, {**TYPICAL, "bilirubin": "lots"})
    assert invalid.status_code == 422
    assert "Total bilirubin must be a number" in Page(
        invalid.get_data(as_text=True)).text_of("bilirubin-error")


@pytest.mark.parametrize("values", [TYPICAL, {**TYPICAL, "albumin": "35"},
                                    {key: "" for key in INPUT_NAMES}, None])
def test_pages_speak_plain_words(client: FlaskClient,
                                 values: dict[str, str] | None) -> None:
    """Labels, not code names; typeset units and signs, not ASCII stand-ins."""
    text = (client.get("/") if values is None else post_form(client, values)).get_data(
        as_text=True)
    page = Page(text)
    visible = page.text.replace("µL", "")
    for code in ("extrahepatic_spread", "10^9", "10^3", "uL", ">=", "cells/ul"):
        assert code not in visible, code
    assert "Prognostic Nutritional Index" in page.text
    if values and not values.get("albumin"):
        assert "Extrahepatic spread is required" in page.text_of("error-summary")


def test_result_chart_is_an_svg_forest_plot_on_a_log_axis(client: FlaskClient) -> None:
    text = post_form(client, {**TYPICAL, "extrahepatic_spread": "no"}).get_data(as_text=True)
    svg_text = re.search(r"<svg class=\"forest\".*?</svg>", text, re.S)
    assert svg_text
    svg = ET.fromstring(svg_text.group(0))
    ns = {"s": "http://www.w3.org/2000/svg"}
    squares = svg.findall("s:rect", ns)
    assert [r.get("fill") for r in squares].count("#ffffff") == 1  # spread is absent
    assert len(squares) == len(published.INDEPENDENT_FACTORS)
    assert len(svg.findall("s:polygon", ns)) == 1  # this patient's combined hazard
    ticks = [t.text for t in svg.findall("s:text", ns)]
    assert {"1", "2", "5", "10"} <= set(ticks)
    assert svg.get("role") == "img"


def test_result_shows_warnings_and_child_pugh(client: FlaskClient) -> None:
    values = {**TYPICAL, "afp": "300", "afp_unit": "IU/mL", "bilirubin": "34,2",
              "bilirubin_unit": "umol/L", "inr": "1.8", "ascites": "mild",
              "encephalopathy": "none"}
    response = post_form(client, values)
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert AFP_IU_CAVEAT in page.text_of("warnings")
    cp = score(values).to_dict()["child_pugh"]
    assert f"Class {cp['class']}, score {cp['score']}" in page.text_of("child-pugh")
    assert "factor-child_pugh" in page.by_id

    class_only = Page(post_form(client, {**TYPICAL, "child_pugh_class": "C"})
                      .get_data(as_text=True))
    assert "Class C (given directly)" in class_only.text_of("child-pugh")
    assert "no class C patients" in class_only.text_of("warnings")


# --- form errors -----------------------------------------------------------------------
@pytest.mark.parametrize("values", [
    {**TYPICAL, "albumin": "35", "afp": "abc", "extrahepatic_spread": ""},
    {**TYPICAL, "albumin_unit": "kg/L"},
    {**TYPICAL, "lymphocytes": "1.1", "inr": "1,2", "ascites": "mild"},
    {**TYPICAL, "child_pugh_class": "B", "bilirubin": "1"},
    {key: "" for key in INPUT_NAMES},
], ids=["unit-slip-and-garbage", "bad-unit", "incomplete-child-pugh", "class-and-items",
        "empty"])
def test_form_errors_sit_next_to_their_fields(client: FlaskClient,
                                              values: dict[str, str]) -> None:
    response = post_form(client, values)
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == "no-store"
    page = Page(response.get_data(as_text=True))
    problems = problems_of(values)
    for problem in problems:
        group = input_group(problem.field)
        assert problem.message in page.text_of(f"{group}-error")
        control = page.by_id[problem.field]
        assert f"{group}-error" in control["aria-describedby"].split()
        assert control.get("aria-invalid") == "true"
    focused = page.with_attribute("autofocus")
    first = next(key for key in DISPLAY_ORDER if key in {p.field for p in problems})
    assert [a["id"] for a in focused] == [first]
    for key, value in values.items():  # everything entered is kept
        control = page.by_id.get(key)
        if value and control and control["tag"] == "input":
            assert control["value"] == value
    if values.get("albumin_unit") == "g/dL":
        assert re.search(r'value="g/dL" selected', response.get_data(as_text=True))
    assert f"Please check {len(problems)} value" in page.text_of("error-summary")


def test_unknown_problems_go_to_the_top_of_the_form(app: Flask) -> None:
    from webui.placed_errors import place_errors

    error = InputError.collect([
        InputError("weight", 80, None, "known inputs", "weight is not a known input"),
        InputError("albumin_unit", "kg", None, "g/L, g/dL", "albumin_unit must be ...")])
    placed = place_errors(error)
    assert placed.top == ["weight is not a known input"]
    assert placed.by_input == {"albumin": ["albumin_unit must be ..."]}
    assert placed.first == "albumin_unit" and placed.count == 2
    with app.test_request_context("/", method="POST"):
        from flask import render_template

        from webui.forms import ScoreForm
        text = render_template("form.html", form=ScoreForm(), errors=place_errors(
            InputError("weight", 80, None, "x", "weight is not a known input")))
    page = Page(text)
    assert "weight is not a known input" in page.text_of("error-summary")
    assert [a["id"] for a in page.with_attribute("autofocus")] == ["error-summary"]


def test_change_these_values_reopens_the_filled_form(client: FlaskClient) -> None:
    result = Page(post_form(client, TYPICAL).get_data(as_text=True))
    hidden = {a["name"]: a["value"] for _, a in result.tags
              if a.get("type") == "hidden" and a.get("name") != "csrf_token"}
    assert hidden == {key: TYPICAL.get(key, "") for key in INPUT_NAMES}
    response = post_form(client, {**hidden, "action": "edit"})
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert page.by_id["albumin"]["value"] == "3,5"
    assert "checked" in page.by_id["extrahepatic_spread"]
    assert "pni-value" not in page.by_id  # the form, not a result


# --- CSRF, query strings, limits, storage ----------------------------------------------
@pytest.mark.parametrize("csrf", [None, "forged-token"])
def test_form_without_a_valid_csrf_token_is_not_scored(client: FlaskClient,
                                                       csrf: str | None) -> None:
    client.get("/")
    data = dict(TYPICAL) if csrf is None else {**TYPICAL, "csrf_token": csrf}
    response = client.post("/", data=data)
    assert response.status_code == 400
    page = Page(response.get_data(as_text=True))
    assert "nothing was calculated" in page.text_of("notice")
    assert page.by_id["albumin"]["value"] == "3,5"  # kept for resending
    assert "pni-value" not in page.by_id


def test_lab_values_are_never_read_from_a_query_string(client: FlaskClient) -> None:
    query = "&".join(f"{k}={v}" for k, v in TYPICAL.items())
    page = Page(client.get(f"/?{query}").get_data(as_text=True))
    assert page.by_id["albumin"]["value"] == ""
    assert "checked" not in page.by_id["extrahepatic_spread"]

    response = client.post(f"/?{query}", data={"csrf_token": token(client)})
    assert response.status_code == 422
    errors = Page(response.get_data(as_text=True))
    for name in ("albumin", "lymphocytes", "afp", "extrahepatic_spread"):
        assert "required" in errors.text_of(f"{name}-error")


@pytest.mark.parametrize("path,content_type", [
    ("/", "application/x-www-form-urlencoded"), ("/api/v1/score", "application/json")])
def test_oversized_bodies_get_413(client: FlaskClient, path: str, content_type: str) -> None:
    body = b"a=" + b"1" * MAX_BODY_BYTES
    response = client.post(path, data=body, content_type=content_type)
    assert response.status_code == 413
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if path.startswith("/api/"):
        assert response.is_json and response.json["errors"][0]["field"] == "request"
    else:
        assert "larger than any form" in response.get_data(as_text=True)


def test_nothing_but_the_csrf_token_is_kept_between_requests(app: Flask,
                                                             client: FlaskClient) -> None:
    post_form(client, TYPICAL)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert set(session) == {"csrf_token"}
    assert not any(v in cookie.value for v in ("3,5", "1100", "250"))


def test_session_cookie_is_secure_when_deployment_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a TLS proxy, FLASK_SESSION_COOKIE_SECURE=true marks the CSRF cookie Secure."""
    monkeypatch.delenv("FLASK_SESSION_COOKIE_SECURE", raising=False)
    assert "secure" not in cookie_header(create_app({"TESTING": True})).lower()
    monkeypatch.setenv("FLASK_SESSION_COOKIE_SECURE", "true")
    header = cookie_header(create_app({"TESTING": True}))
    assert "; secure" in header.lower() and "httponly" in header.lower()


def cookie_header(app: Flask) -> str:
    """The Set-Cookie header of a fresh form page."""
    return app.test_client().get("/").headers["Set-Cookie"]


# --- error pages and headers -----------------------------------------------------------
def test_unknown_page_and_wrong_method(client: FlaskClient) -> None:
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "There is no page" in missing.get_data(as_text=True)
    wrong = client.put("/")
    assert wrong.status_code == 405
    assert "does not accept" in wrong.get_data(as_text=True)


def test_server_error_page_says_nothing_of_the_input() -> None:
    app = create_app({"TESTING": False})

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("albumin 4321.5 g/L")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Nothing you entered was stored" in text and "4321.5" not in text
    assert response.headers["Cache-Control"] == "no-store"


ROUTES = [("get", "/", None), ("post", "/", "form"), ("post", "/", "bad-form"),
          ("get", "/healthz", None), ("get", "/api/v1/openapi.json", None),
          ("post", "/api/v1/score", "json"), ("get", "/static/style.css", None),
          ("get", "/nowhere", None)]


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_every_response_carries_the_security_headers(client: FlaskClient, method: str,
                                                     path: str, body: str | None) -> None:
    if body == "form":
        response = post_form(client, TYPICAL)
    elif body == "bad-form":
        response = post_form(client, {})
    elif body == "json":
        response = client.post(path, json={"albumin": 35})
    else:
        response = getattr(client, method)(path)
    response.close()  # static files are streamed from disk
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    if path.startswith("/static/"):
        assert response.status_code == 200 and "no-store" not in headers.get("Cache-Control", "")
    else:
        assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("values", [None, TYPICAL, {"albumin": "x"}])
def test_pages_have_no_inline_script_or_style(client: FlaskClient,
                                              values: dict[str, str] | None) -> None:
    text = (client.get("/") if values is None else post_form(client, values)).get_data(
        as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S)
    assert all(body.strip() == "" and 'src="/static/' in attributes
               for attributes, body in scripts), scripts  # the app's own files only
    assert len(scripts) == (1 if values is TYPICAL else 0)
    assert "<style" not in text
    assert not re.search(r"\sstyle\s*=", text)
    assert not re.search(r"\son[a-z]+\s*=", text)
    assert 'href="/static/style.css"' in text
    assert html.unescape(text).count("<form") >= 1


# --- hosts, redirects and the headers of every answer -----------------------------------
BAD_HOSTS = ["a" * 64 + ".example.org", "a..b", ".", "garbage host", "évil.example", "",
             "x" * 300, "[::1", "host:port", "-lead.example"]


@pytest.mark.parametrize("host", BAD_HOSTS)
@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/openapi.json", "/nowhere"])
def test_a_bad_host_gets_the_apps_own_400(host: str, path: str) -> None:
    app = create_app({"TESTING": False})  # as served: errors become pages, not raises
    response = app.test_client().get(path, headers={"Host": host})
    assert response.status_code == 400
    assert_security_headers(response)
    if path.startswith("/api/"):
        assert response.get_json()["errors"][0]["message"]
    else:
        text = response.get_data(as_text=True)
        assert "not a valid host name" in text and 'href="/static/style.css"' in text


def test_trusted_hosts_setting_refuses_other_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_TRUSTED_HOSTS", '["calc.example.org"]')
    client = create_app({"TESTING": False}).test_client()
    assert client.get("/", headers={"Host": "calc.example.org"}).status_code == 200
    refused = client.get("/", headers={"Host": "evil.example.org"})
    assert refused.status_code == 400
    assert "does not answer for the host" in refused.get_data(as_text=True)
    assert_security_headers(refused)


@pytest.mark.parametrize("path", ["//healthz", "/api//v1/openapi.json", "//"])
def test_redirects_never_carry_the_request_host(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"})
    assert 300 <= response.status_code < 400
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil" not in location


def test_even_a_failing_error_page_carries_the_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the error handler itself fails, Flask's last-resort 500 still has them."""
    app = create_app({"TESTING": False})

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("boom")

    import webui.error_pages

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the error page broke")

    monkeypatch.setattr(webui.error_pages, "render_template", broken)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert_security_headers(response)


def assert_security_headers(response) -> None:  # noqa: ANN001
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("body", ["{}", "[1, 2]", "{", '{"albumin": "3,5", "csrf_token": "x"}'])
def test_the_form_never_reads_a_json_body(body: str) -> None:
    """Flask-WTF would read a JSON body as the form (and fail on a bad one with a 500 from
    inside the CSRF error page); the form reads form-encoded bodies only."""
    app = create_app({"TESTING": False})
    response = app.test_client().post("/", data=body, content_type="application/json")
    assert response.status_code == 400
    page = Page(response.get_data(as_text=True))
    assert "nothing was calculated" in page.text_of("notice")
    assert page.by_id["albumin"]["value"] == ""
    no_csrf = create_app({"TESTING": False, "WTF_CSRF_ENABLED": False}).test_client()
    assert no_csrf.post("/", data=body, content_type="application/json").status_code == 422
