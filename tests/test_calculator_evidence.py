"""The calculator's reading of the shipped evidence file and the re-estimates at the
bedside (calculator.evidence, calculator.profile, calculator.note, score's text)."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files

import pytest

from calculator import evidence, published, score
from calculator.cli.score import format_text
from calculator.evidence import (
    CombinedReestimate,
    CutoffRange,
    EvidenceFileError,
    Reestimate,
    combine,
    parse,
)
from calculator.note import record_note

ALL_ADVERSE = {"albumin": 35, "lymphocytes": 1.1, "afp": 250, "extrahepatic_spread": True}
NONE_ADVERSE = {"albumin": 45, "lymphocytes": 3.0, "afp": 20, "extrahepatic_spread": False}


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(files("calculator").joinpath(evidence.DATA_FILE).read_text("utf-8"))


def test_the_shipped_file_reads_and_checks() -> None:
    shipped = evidence.load()
    assert set(shipped.reestimates) == {"afp", "extrahepatic_spread", "pni"}
    assert shipped.label == ("re-estimated by simulation, allowing for the cut-off chosen "
                             "from the same 58 patients and the small study")
    for r in shipped.reestimates.values():
        assert 0 < r.ci[0] <= r.ci[1]
        if r.hr_open is None:
            assert r.ci[0] <= r.hr <= r.ci[1]
    assert shipped.cutoff.low < float(published.PNI_CUTOFF.value) < shipped.cutoff.high
    assert 0 < shipped.false_findings.share < 1


def test_the_bedside_loads_no_numpy() -> None:
    code = ("import sys, calculator; calculator.score({'albumin': 35, 'lymphocytes': 1.1, "
            "'afp': 250, 'extrahepatic_spread': True}).to_dict(); "
            "print('numpy' in sys.modules, 'calculator.evidence' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("path, value, field", [
    (("format",), "other/1", "format"),
    (("label",), "", "label"),
    (("provenance", "seed"), "1", "provenance.seed"),
    (("families", "published", "factors", "pni", "as_published", "estimate", "hr"), None,
     "estimate.hr"),
    (("families", "published", "factors", "afp", "as_published", "interval", "hr"),
     [3.0, 1.0], "interval.hr"),
    (("families", "published", "factors", "afp", "as_published", "estimate", "open"),
     "sideways", "estimate.open"),
    (("families", "published", "cutoff", "q025"), float("nan"), "cutoff.q025"),
    (("families", "published", "false_findings", "share"), 1.5, "false_findings.share"),
])
def test_a_broken_file_is_refused_naming_the_field(document: dict, path, value, field) -> None:
    broken = copy.deepcopy(document)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    if path[-1] == "hr" and path[-2] == "estimate":
        node["open"] = None
    with pytest.raises(EvidenceFileError, match=field.replace(".", r"\.")):
        parse(broken)


def test_a_missing_part_is_refused(document: dict) -> None:
    broken = copy.deepcopy(document)
    del broken["families"]["published"]["factors"]["extrahepatic_spread"]
    with pytest.raises(EvidenceFileError, match="extrahepatic_spread"):
        parse(broken)
    with pytest.raises(EvidenceFileError, match="the file must be an object"):
        parse([])


def _r(factor: str, hr: float, ci: tuple[float, float], hr_open: str | None = None,
       ci_open: tuple[bool, bool] = (False, False)) -> Reestimate:
    return Reestimate(factor, hr, hr_open, ci, ci_open, (None, None, None), "m", "s")


def test_combination_adds_each_side_in_quadrature() -> None:
    a = _r("afp", 2.0, (1.0, 8.0))
    b = _r("pni", 3.0, (1.5, 4.5))
    both = combine([a, b], "m", "s")
    assert both.hr == pytest.approx(6.0)
    down = math.hypot(math.log(2.0), math.log(2.0))
    up = math.hypot(math.log(4.0), math.log(1.5))
    assert both.ci[0] == pytest.approx(6.0 * math.exp(-down))
    assert both.ci[1] == pytest.approx(6.0 * math.exp(up))
    assert both.ci_open == (False, False) and both.hr_open is None
    assert combine([a], "m", "s").ci == (1.0, 8.0)  # one factor keeps its interval


def test_an_open_part_opens_the_combination() -> None:
    low = _r("afp", 1.3, (1.3, 1.5), "below", (True, False))
    high = _r("pni", 4.0, (1.2, 33.0), None, (False, True))
    both = combine([low, high], "m", "s")
    assert both.hr_open == "below" and both.ci_open == (True, True)
    assert both.text.startswith("<5.20 (<")
    up = _r("ehs", 40.0, (10.0, 40.0), "above", (False, True))
    assert combine([low, up], "m", "s").hr_open == "undetermined"
    assert combine([low, up], "m", "s").text.startswith("not determined")


def test_text_marks_bounds() -> None:
    assert _r("afp", 1.284, (1.284, 1.43), "below", (True, False)).text == \
        "<1.28 (<1.28 to 1.43)"
    assert _r("pni", 4.05, (1.16, 33.12), None, (True, True)).text == "4.05 (<1.16 to >33.1)"
    assert isinstance(combine([_r("a", 2, (1, 3))], "m", "s"), CombinedReestimate)


def test_near_cutoff_includes_the_range_limits() -> None:
    cut = CutoffRange(36.9, 51.9, 46.8, 0.4, 0.3, 4000, "tog2025")
    assert cut.contains(Decimal("36.9")) and cut.contains(Decimal("51.9"))
    assert not cut.contains(Decimal("36.8")) and not cut.contains(Decimal("52.0"))


def test_result_json_carries_the_reestimates() -> None:
    data = score(ALL_ADVERSE).to_dict()
    for f in data["factors"]:
        assert {"hr", "ci", "method", "source"} <= set(f["reestimate"])
        assert f["reestimate"]["text"] == evidence.reestimate(f["name"]).text
    rh = data["relative_hazard"]["reestimate"]
    assert rh["factors"] == ["afp", "extrahepatic_spread", "pni"]
    assert rh["method"] == evidence.load().combination
    assert data["relative_hazard"]["value"] == 20.0  # the published figure stays primary
    assert data["evidence"]["label"] == evidence.load().label
    assert data["evidence"]["false_findings"]["line"].startswith("Where PNI has no effect")
    assert data["evidence"]["page"] == "/evidence"
    json.dumps(data, allow_nan=False)


def test_child_pugh_and_the_reference_group_have_no_reestimate() -> None:
    data = score({**ALL_ADVERSE, "child_pugh_class": "B"}).to_dict()
    cp = next(f for f in data["factors"] if f["name"] == "child_pugh")
    assert cp["reestimate"] is None
    none = score(NONE_ADVERSE).to_dict()
    assert none["relative_hazard"]["reference_group"]
    assert none["relative_hazard"]["reestimate"] is None


def test_pni_near_the_cutoff_is_flagged() -> None:
    cut = evidence.load().cutoff
    inside = score({**ALL_ADVERSE, "albumin": 40, "lymphocytes": 1.5}).to_dict()["pni"]
    assert cut.low <= 47.5 <= cut.high
    assert inside["value"] == 47.5 and inside["near_cutoff"] is True
    assert inside["cutoff_range"]["low"] == cut.low
    far = score({**ALL_ADVERSE, "albumin": 55, "lymphocytes": 3.0}).to_dict()["pni"]
    assert far["value"] == 70.0 and far["near_cutoff"] is False


def test_note_and_text_show_both_figures_labelled() -> None:
    profile = score({**ALL_ADVERSE, "albumin": 40, "lymphocytes": 1.5})
    note = " ".join(record_note(profile).split())  # wrapped lines read as one
    text = " ".join(format_text(profile).split())
    for shown in (note, text):
        assert "Relative hazard 20.0" in shown
        assert "Re-estimated by simulation" in shown
        assert evidence.reestimate("pni").text in shown
        assert "near the cut-off" in shown.lower()
        assert "Where PNI has no effect" in shown
    assert "allowing for the cut-off chosen from the same 58 patients" in text
    assert "allowing for the cut-off chosen from the same 58 patients" in note
