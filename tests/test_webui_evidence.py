"""The re-estimates on the result page and the evidence page (``GET /evidence``)."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient

from calculator import evidence, published, score
from tests.test_webui_app import TYPICAL, Page, post_form
from webui.evidence_charts import Axis, belt_chart, cutoff_chart, hr_ticks
from webui.evidence_view import belt_text, sentence

SVG = "{http://www.w3.org/2000/svg}"


def svgs(text: str) -> list[ET.Element]:
    return [ET.fromstring(block) for block in re.findall(r"<svg class=\"evidence-chart\".*?</svg>",
                                                         text, re.S)]


def test_result_page_shows_each_reestimate_beside_the_published_hr(client: FlaskClient) -> None:
    page = Page(post_form(client, TYPICAL).get_data(as_text=True))
    for name in published.INDEPENDENT_FACTORS:
        row = page.text_of(f"factor-{name}")
        assert html.unescape(evidence.reestimate(name).text) in row
        hr = published.table4_row(name).adverse().hr
        assert row.index(f"{hr:.2f}") < row.index(evidence.reestimate(name).text)
    combined = evidence.combined_reestimate(published.INDEPENDENT_FACTORS)
    assert combined is not None
    assert combined.text in page.text_of("rh-reestimate")
    assert page.text_of("rh-value") == "20.0"  # the published figure leads
    note = page.text_of("reestimate-note")
    assert "Re-estimated by simulation, allowing for the cut-off chosen from the same 58 " \
           "patients and the small study" in note
    assert "as if the factors were independent" in note
    assert page.text_of("false-findings") == evidence.load().false_findings.line
    assert any(a.get("href") == "/evidence" for _, a in page.tags if _ == "a")


def test_pni_near_the_cutoff_is_flagged_on_the_page(client: FlaskClient) -> None:
    near = post_form(client, {**TYPICAL, "albumin": "4,0", "lymphocytes": "1500"})
    page = Page(near.get_data(as_text=True))
    assert "Near the cut-off: the category is uncertain." in page.text_of("pni-near-cutoff")
    assert "near the cut-off" in page.text_of("rh-facts")
    far = Page(post_form(client, {**TYPICAL, "albumin": "5,5", "lymphocytes": "3000"})
               .get_data(as_text=True))
    assert "pni-near-cutoff" not in far.by_id
    assert "near the cut-off" not in far.text_of("rh-facts")


def test_reference_patient_has_no_combined_reestimate(client: FlaskClient) -> None:
    values = {**TYPICAL, "albumin": "4,5", "lymphocytes": "3000", "afp": "20",
              "extrahepatic_spread": "no"}
    page = Page(post_form(client, values).get_data(as_text=True))
    assert "rh-reestimate" not in page.by_id
    assert score({**values, "albumin": "4,5"}).to_dict()["relative_hazard"]["reference_group"]


def test_evidence_page_draws_every_chart_with_its_description(client: FlaskClient) -> None:
    response = client.get("/evidence")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    charts = svgs(text)
    ids = [c.get("id") for c in charts]
    assert ids == [f"belt-{f}-{b}" for f in published.INDEPENDENT_FACTORS
                   for b in ("as_published", "always_fitted")] + ["cutoff-chart"] + \
        [f"calibration-{f}" for f in published.INDEPENDENT_FACTORS]
    for chart in charts:
        assert chart.find(f"{SVG}title").text and chart.find(f"{SVG}desc").text
        assert chart.get("role") == "img"
    cutoff = charts[6]
    assert any(t.text == "published 47.6" for t in cutoff.iter(f"{SVG}text"))
    page = Page(text)
    shipped = evidence.load()
    for name, r in shipped.reestimates.items():
        assert r.text in page.text_of(f"reestimate-{name}")
    assert shipped.false_findings.line in page.text_of("false-findings")
    assert shipped.provenance["command"] in page.text_of("provenance")
    for fam in shipped.document["family_order"]:
        assert sentence(shipped.document["families"][fam]["title"]) in page.text_of("sensitivity")


def test_evidence_page_uses_no_colour_alone() -> None:
    """Greyscale-safe: the belt's three curves differ by dash and width."""
    doc = evidence.load().document
    factor = "pni"
    chart = belt_chart(doc["curves"][factor]["as_published"],
                       doc["families"]["published"]["factors"][factor]["as_published"],
                       "PNI", "as published")
    curves = [s for s in chart.shapes if type(s).__name__ == "Polyline"]
    assert {(s.dash, s.width) for s in curves} == {("5 3", 1.3), ("", 2.0)}
    assert {s.stroke for s in curves} == {"#111"}


def test_axis_and_ticks() -> None:
    axis = Axis(0.0, 1.0, 10.0, 110.0)
    assert axis(0.5) == 60.0 and axis(2.0) == 110.0  # clamped
    assert [label for _, label in hr_ticks(-1.0, 3.5)] == ["0.5", "1", "2", "5", "10", "20"]


def test_cutoff_chart_marks_the_published_cutoff_and_the_range() -> None:
    chart = cutoff_chart({"edges": [40.0, 45.0, 50.0], "counts": [3, 7]},
                         {"q025": 41.0, "q975": 49.0}, 47.6)
    lines = [s for s in chart.shapes if type(s).__name__ == "Line" and s.width > 2]
    assert len(lines) == 1  # the published cut-off, the only heavy line
    assert "41.0" in chart.description and "49.0" in chart.description


@pytest.mark.parametrize("result, shown", [
    ({"estimate": {"open": "below", "hr": None, "bound_hr": 1.28},
      "interval": {"hr": [1.28, 1.43], "open": [True, False]}}, "<1.28 (<1.28 to 1.43)"),
    ({"estimate": {"open": None, "hr": 2.0, "bound_hr": None},
      "interval": {"hr": [None, None], "open": [False, False]}}, "2.00 (no interval)"),
])
def test_belt_text(result: dict, shown: str) -> None:
    assert belt_text(result) == shown
