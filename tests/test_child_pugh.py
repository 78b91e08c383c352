"""Child-Pugh points, class, and how the calculator asks for them."""

from decimal import Decimal

import pytest

from calculator import InputError, score
from calculator.child_pugh import child_pugh_class, child_pugh_points
from calculator.labels import label

BASE = {"albumin": 40, "lymphocytes": 2, "afp": 10, "extrahepatic_spread": "no"}
ITEMS = {"bilirubin": 1.0, "inr": 1.1, "ascites": "none", "encephalopathy": "none"}


def points(bilirubin="1", albumin="40", inr="1.1", ascites="none", enc="none"):
    return child_pugh_points(Decimal(bilirubin), Decimal(albumin), Decimal(inr), ascites, enc)


@pytest.mark.parametrize(("bilirubin", "expected"), [
    ("1.99", 5), ("2", 6), ("3", 6), ("3.01", 7)])
def test_bilirubin_bands(bilirubin, expected):
    assert points(bilirubin=bilirubin) == expected


@pytest.mark.parametrize(("albumin", "expected"), [
    ("35.1", 5), ("35", 6), ("28", 6), ("27.9", 7)])
def test_albumin_bands(albumin, expected):
    assert points(albumin=albumin) == expected


@pytest.mark.parametrize(("inr", "expected"), [("1.69", 5), ("1.7", 6), ("2.3", 6), ("2.31", 7)])
def test_inr_bands(inr, expected):
    assert points(inr=inr) == expected


def test_clinical_items_and_extremes():
    assert points(ascites="mild", enc="grade-1-2") == 7
    assert points(ascites="moderate-severe", enc="grade-3-4") == 9
    assert points("5", "20", "3", "moderate-severe", "grade-3-4") == 15


@pytest.mark.parametrize(("score_", "cls"), [(5, "A"), (6, "A"), (7, "B"), (9, "B"),
                                             (10, "C"), (15, "C")])
def test_class_bands(score_, cls):
    assert child_pugh_class(score_) == cls


def test_score_from_items_with_bilirubin_in_umol():
    result = score({**BASE, **ITEMS, "bilirubin": "51.3", "bilirubin_unit": "umol/L"})
    assert result.to_dict()["child_pugh"] == {"score": 6, "class": "A"}  # 51.3 umol/L = 3 mg/dL


def test_class_b_is_shown_adverse_but_not_independent_and_not_in_the_hazard():
    result = score({**BASE, "child_pugh_class": "b"}).to_dict()
    cp = next(f for f in result["factors"] if f["name"] == "child_pugh")
    assert cp["adverse"] and not cp["independent"]
    assert (cp["hr"], cp["ci"], cp["p"]) == (1.6, [0.75, 3.41], 0.218)
    assert result["adverse_count"] == 0
    assert result["relative_hazard"]["value"] == 1.0
    assert result["child_pugh"] == {"score": None, "class": "B"}


def test_class_c_warns_that_the_study_had_none():
    result = score({**BASE, "child_pugh_class": "C"}).to_dict()
    assert any("no class C patients" in w["message"] for w in result["warnings"])
    by_items = score({**BASE, "albumin": 20, "bilirubin": 4, "inr": 2.5,
                      "ascites": "mild", "encephalopathy": "none"}).to_dict()
    assert by_items["child_pugh"]["class"] == "C"
    assert any("no class C patients" in w["message"] for w in by_items["warnings"])


def test_not_given_means_none():
    assert score(BASE).to_dict()["child_pugh"] is None
    assert all(f["name"] != "child_pugh" for f in score(BASE).to_dict()["factors"])


@pytest.mark.parametrize("missing", list(ITEMS))
def test_a_missing_item_gives_the_result_with_a_warning_never_assumes_normal(missing):
    given = {k: v for k, v in ITEMS.items() if k != missing}
    result = score({**BASE, **given})
    assert result.child_pugh is None
    assert all(f.name != "child_pugh" for f in result.factors)
    warnings = [m for f, m in result.warnings if f == "child_pugh"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Child-Pugh was not calculated: {label(missing)} is missing")
    assert "never assumed normal" in warnings[0]
    echoed = {i.field for i in result.inputs}
    assert set(given) <= echoed and missing not in echoed  # what was given is shown


def test_only_bilirubin_names_the_three_missing_items():
    result = score({**BASE, "bilirubin": "1,2"})
    (message,) = [m for f, m in result.warnings if f == "child_pugh"]
    assert "INR, Ascites and Hepatic encephalopathy are missing (given: Total bilirubin)" \
        in message
    assert result.relative_hazard.value == score(BASE).relative_hazard.value


def test_an_invalid_item_in_a_partial_section_is_still_an_error():
    with pytest.raises(InputError) as e:
        score({**BASE, "bilirubin": "lots", "ascites": "mild"})
    assert [p.field for p in e.value.errors] == ["bilirubin"]
    assert e.value.errors[0].message.startswith("Total bilirubin must be a number")


def test_empty_strings_from_a_form_count_as_not_given():
    assert score({**BASE, "bilirubin": "", "inr": " ", "ascites": "",
                  "encephalopathy": ""}).child_pugh is None


def test_class_and_items_together_are_contradictory():
    with pytest.raises(InputError, match="given together with Total bilirubin") as e:
        score({**BASE, "child_pugh_class": "A", "bilirubin": 1})
    assert e.value.field == "child_pugh_class"


@pytest.mark.parametrize(("field", "value"), [
    ("ascites", "severe"), ("encephalopathy", "2"), ("ascites", 1)])
def test_bad_choices_name_the_choices(field, value):
    with pytest.raises(InputError, match=rf"^{label(field)} must be one of"):
        score({**BASE, **ITEMS, field: value})


def test_bad_class():
    with pytest.raises(InputError, match=r"^Child-Pugh class must be one of A, B, C; got 'D'$"):
        score({**BASE, "child_pugh_class": "D"})


@pytest.mark.parametrize(("bilirubin", "unit", "points"), [
    ("1.99", "mg/dL", 5), ("2", "mg/dL", 6), ("3", "mg/dL", 6), ("3.01", "mg/dL", 7),
    ("34.2", "umol/L", 6), ("34.1", "umol/L", 5), ("51.3", "umol/L", 6), ("51.4", "umol/L", 7),
])
def test_bilirubin_band_edges_in_either_unit_through_score(bilirubin, unit, points):
    # 17.1 umol/L = 1 mg/dL, so 34.2 and 51.3 umol/L are exactly the 2 and 3 mg/dL edges.
    result = score({**BASE, **ITEMS, "bilirubin": bilirubin, "bilirubin_unit": unit})
    assert result.child_pugh is not None and result.child_pugh.score == points
