"""``hcc-prognosis score --fhir bundle.json``: the labs from a FHIR Bundle, the rest from
flags; text and JSON out, errors with exit status 2."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from calculator.cli import main

TODAY = date.today()


def lab(oid: str, code: str, value: float, unit: str, days_ago: int = 1) -> dict[str, Any]:
    return {"resource": {
        "resourceType": "Observation", "id": oid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": (TODAY - timedelta(days=days_ago)).isoformat(),
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org",
                          "code": unit}}}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        lab("alb", "1751-7", 3.5, "g/dL"), lab("lym", "731-0", 1100, "/uL"),
        lab("afp", "19176-7", 250, "[IU]/mL", days_ago=40)]}))
    return path


def test_text_names_each_observation_and_the_dates(bundle: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--fhir", str(bundle), "--extrahepatic-spread", "no"]) == 0
    out = capsys.readouterr().out
    assert "Prognostic Nutritional Index (PNI) 40.5: low" in out
    assert "Labs read from FHIR Observations:" in out
    assert "Serum albumin: Observation alb (LOINC 1751-7, " in out and ", final, UCUM g/dL" in out
    assert "AFP (alpha-fetoprotein): Observation afp (LOINC 19176-7" in out
    words = " ".join(out.split())  # warnings are wrapped
    assert "40 days before this calculation" in words
    assert "1 IU/mL = 1.21 ng/mL" in words  # the caveat of AFP in IU/mL


def test_json_echoes_the_sources(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--fhir", str(bundle), "--extrahepatic-spread", "yes",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [i["source"]["unit"] for i in result["inputs"][:3]] == ["g/dL", "/uL", "[IU]/mL"]
    assert result["adverse_count"] == 3


@pytest.mark.parametrize(("args", "words"), [
    (["--extrahepatic-spread", "no", "--albumin", "35"], "leave out --albumin"),
    (["--extrahepatic-spread", "no", "--lab-date", "2025-01-01"], "leave out --lab-date"),
    ([], "Extrahepatic spread is required"),
])
def test_flags_that_conflict_or_are_missing(bundle: Path, capsys: pytest.CaptureFixture[str],
                                            args: list[str], words: str) -> None:
    assert main(["score", "--fhir", str(bundle), *args]) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot find the FHIR file"), ("{", "not valid JSON (line 1, column 2)"),
    ('{"resourceType": "Patient"}', "got a 'Patient' resource"),
    ('[]', "Serum albumin has no usable result"),
])
def test_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                   words: str) -> None:
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    assert main(["score", "--fhir", str(path), "--extrahepatic-spread", "no"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hcc-prognosis score: error:") and words in err


def test_errors_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_text("[]")
    assert main(["score", "--fhir", str(path), "--extrahepatic-spread", "no", "--json"]) == 2
    errors = json.loads(capsys.readouterr().err)["errors"]
    assert [e["field"] for e in errors] == ["albumin", "lymphocytes", "afp"]
