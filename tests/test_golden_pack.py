"""The golden-vector pack through every entry point: Python, ``score --csv``, the JSON API
and the HTML form.

The expected results come from :class:`Oracle`, a second implementation written here on
purpose naively (rational arithmetic with :class:`fractions.Fraction`, the rules spelled
out as plain code, the published numbers typed in from Table 4) that imports nothing of
the calculator's arithmetic. The hand-checked rows of the pack (``expect_*`` columns,
worked out by hand, see each row's note) check the oracle itself.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from calculator import InputError, score
from calculator.cli import main
from tests.golden_pack import INPUTS, PACK, make_rows, pack_text

# --- the oracle ---------------------------------------------------------------------------
#: Hard limits in the canonical units (the calculator's table, retyped).
LIMITS = {"albumin": (Fraction(10), Fraction(60)), "lymphocytes": (Fraction(5, 100), Fraction(50)),
          "afp": (Fraction(0), Fraction(5_000_000)), "bilirubin": (Fraction(0), Fraction(100)),
          "inr": (Fraction(1, 2), Fraction(20))}
#: Unit -> factor to the canonical unit, with the spellings the pack uses.
UNITS = {
    "albumin": {"": 1, "g/L": 1, "g/dL": 10, "g/dl": 10},
    "lymphocytes": {"": 1, "10^9/L": 1, "×10⁹/L": 1, "10^3/uL": 1,
                    "cells/uL": Fraction(1, 1000), "cells/µL": Fraction(1, 1000)},
    "afp": {"": 1, "ng/mL": 1, "ug/L": 1, "IU/mL": Fraction(121, 100),
            "IU/ml": Fraction(121, 100)},
    "bilirubin": {"": 1, "mg/dL": 1, "umol/L": Fraction(10, 171)},
    "inr": {"": 1},
}
#: Table 4, multivariable, as adverse: HR, lower, upper (spread and PNI are reciprocals
#: of the printed 0.41 (0.20-0.82) and 0.24 (0.09-0.65)).
TABLE4 = {"afp": (1.97, 1.01, 3.86), "extrahepatic_spread": (1 / 0.41, 1 / 0.82, 1 / 0.20),
          "pni": (1 / 0.24, 1 / 0.65, 1 / 0.09)}
Z = 1.959963984540054


class Refused(Exception):
    pass


def naive_number(text: str, field: str, factor: Fraction) -> Fraction:
    """The entry rules of interfaces.md section 5, written out plainly."""
    text = text.strip()
    digits, out, explicit_mark = set(), "", False
    for ch in text:
        value = unicodedata.decimal(ch, None)
        if value is not None:
            digits.add(ord(ch) - value)
            out += str(value)
        elif ch == "\u066b":
            out, explicit_mark = out + ".", True
        else:
            out += {"\uff0e": ".", "\uff0c": ",", "\u2212": "-"}.get(ch, ch)
    if len(digits) > 1 or not re.fullmatch(r"-?(\d+([.,]\d*)?|[.,]\d+)", out):
        raise Refused
    low, high = LIMITS[field]

    def fits(x: Fraction) -> bool:
        return low <= x * factor <= high

    as_decimal = Fraction(out.replace(",", "."))
    if explicit_mark or not re.fullmatch(r"-?[1-9]\d{0,2}[.,]\d{3}", out):
        return as_decimal
    as_grouped = Fraction(out.replace(",", "").replace(".", ""))
    if fits(as_grouped) and not fits(as_decimal):
        return as_grouped
    if fits(as_decimal) and not fits(as_grouped):
        return as_decimal
    raise Refused


def sig3(x: float) -> float:
    return round(x, 2 - math.floor(math.log10(abs(x))))


@dataclass
class Expected:
    errors: set[str] = field(default_factory=set)
    pni: Fraction | None = None
    afp: bool | None = None
    spread: bool | None = None
    pni_low: bool | None = None
    rh: float | None = None
    ci: tuple[float, float] | None = None
    cp_score: int | None = None
    cp_class: str | None = None

    @property
    def count(self) -> int:
        return int(bool(self.afp)) + int(bool(self.spread)) + int(bool(self.pni_low))

    @property
    def display(self) -> str:
        assert self.pni is not None
        tenths = math.floor(self.pni * 10)
        return f"{tenths // 10}.{tenths % 10}"


def oracle(row: dict[str, str]) -> Expected:
    result = Expected()
    values: dict[str, Fraction] = {}
    for name in ("albumin", "lymphocytes", "afp", "bilirubin", "inr"):
        text = row[name]
        unit = row.get(f"{name}_unit", "").strip()
        if not text.strip():
            if name in ("albumin", "lymphocytes", "afp"):
                result.errors.add(name)
            continue
        if unit not in UNITS[name]:
            result.errors.add(f"{name}_unit")
            continue
        factor = Fraction(UNITS[name][unit])
        try:
            canonical = naive_number(text, name, factor) * factor
        except Refused:
            result.errors.add(name)
            continue
        low, high = LIMITS[name]
        if not low <= canonical <= high:
            result.errors.add(name)
            continue
        values[name] = canonical
    spread = row["extrahepatic_spread"].strip().lower()
    if spread in ("yes", "y", "true", "1", "present"):
        result.spread = True
    elif spread in ("no", "n", "false", "0", "absent"):
        result.spread = False
    else:
        result.errors.add("extrahepatic_spread")
    items = [i for i in ("bilirubin", "inr", "ascites", "encephalopathy") if row[i].strip()]
    cls = row["child_pugh_class"].strip().upper()
    if cls and items:
        result.errors.add("child_pugh_class")
    elif cls:
        if cls in ("A", "B", "C"):
            result.cp_class = cls
        else:
            result.errors.add("child_pugh_class")
    for item, choices in (("ascites", ("none", "mild", "moderate-severe")),
                          ("encephalopathy", ("none", "grade-1-2", "grade-3-4"))):
        if row[item].strip() and row[item].strip().lower() not in choices:
            result.errors.add(item)
    if result.errors:
        return result
    if len(items) == 4 and not cls:
        def band(x: Fraction, low: str, high: str) -> int:
            return 1 if x < Fraction(low) else (2 if x <= Fraction(high) else 3)
        points = (band(values["bilirubin"], "2", "3") + (4 - band(values["albumin"], "28", "35"))
                  + band(values["inr"], "1.7", "2.3")
                  + ("none", "mild", "moderate-severe").index(row["ascites"].strip().lower()) + 1
                  + ("none", "grade-1-2", "grade-3-4").index(
                      row["encephalopathy"].strip().lower()) + 1)
        result.cp_score = points
        result.cp_class = "A" if points <= 6 else ("B" if points <= 9 else "C")
    result.pni = values["albumin"] + 5 * values["lymphocytes"]
    result.pni_low = result.pni < Fraction(476, 10)
    result.afp = values["afp"] >= 200
    present = [n for n, on in (("afp", result.afp), ("extrahepatic_spread", result.spread),
                               ("pni", result.pni_low)) if on]
    if not present:
        result.rh, result.ci = 1.0, (1.0, 1.0)
    elif len(present) == 1:
        hr, low, high = TABLE4[present[0]]
        result.rh, result.ci = sig3(hr), (sig3(low), sig3(high))
    else:
        log_rh = sum(math.log(TABLE4[n][0]) for n in present)
        se = math.sqrt(sum(((math.log(TABLE4[n][2]) - math.log(TABLE4[n][1])) / (2 * Z)) ** 2
                           for n in present))
        result.rh = sig3(math.exp(log_rh))
        result.ci = (sig3(math.exp(log_rh - Z * se)), sig3(math.exp(log_rh + Z * se)))
    return result


# --- the pack ------------------------------------------------------------------------------
def load_pack() -> list[dict[str, str]]:
    with PACK.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = load_pack()
EXPECTED = {r["id"]: oracle(r) for r in ROWS}


def inputs_of(row: dict[str, str]) -> dict[str, str]:
    return {k: row[k] for k in INPUTS if row[k] != ""}


def test_the_pack_is_what_its_generator_makes_and_is_big_enough() -> None:
    assert PACK.read_text(encoding="utf-8") == pack_text(make_rows())
    assert len(ROWS) >= 2000
    kinds = {r["kind"] for r in ROWS}
    assert {"hand-checked", "pni-boundary", "afp-boundary", "child-pugh-edge", "separator",
            "refused", "random"} <= kinds
    units = {(r["albumin_unit"], r["lymphocytes_unit"]) for r in ROWS if r["kind"] == "pni-boundary"}
    assert len(units) == 6  # exact PNI 47.6 in every pair of units
    exact = [e for e in EXPECTED.values() if e.pni == Fraction(476, 10)]
    assert len(exact) > 250
    scored = [e for e in EXPECTED.values() if not e.errors]
    assert 0.8 < len(scored) / len(ROWS) < 1  # mostly scored, some refused
    assert {e.count for e in scored} == {0, 1, 2, 3}
    assert {e.cp_class for e in scored} == {None, "A", "B", "C"}


def test_the_oracle_agrees_with_the_hand_checked_rows() -> None:
    hand = [r for r in ROWS if r["kind"] == "hand-checked"]
    assert len(hand) == 20
    for r in hand:
        e = EXPECTED[r["id"]]
        assert e.errors == set(r["expect_error_fields"].split()), r["id"]
        if e.errors:
            continue
        assert e.pni == Fraction(r["expect_pni"]), r["id"]
        assert ("low" if e.pni_low else "high") == r["expect_pni_category"], r["id"]
        assert str(e.afp) == r["expect_afp_adverse"], r["id"]
        assert e.count == int(r["expect_adverse_count"]), r["id"]
        assert e.rh == float(r["expect_relative_hazard"]), r["id"]
        assert str(e.cp_score or "") == r["expect_child_pugh_score"], r["id"]
        assert (e.cp_class or "") == r["expect_child_pugh_class"], r["id"]


def fields_of(error: InputError) -> set[str]:
    return {p.field for p in error.errors}


def test_python_score() -> None:
    for r in ROWS:
        e = EXPECTED[r["id"]]
        try:
            result = score(inputs_of(r)).to_dict()
        except InputError as error:
            assert fields_of(error) == e.errors, (r["id"], error)
            continue
        assert not e.errors, (r["id"], e.errors)
        assert Fraction(str(result["pni"]["value"])) == e.pni or \
            result["pni"]["value"] == float(e.pni), r["id"]
        assert result["pni"]["display"] == e.display, r["id"]
        assert result["pni"]["category"] == ("low" if e.pni_low else "high"), r["id"]
        adverse = {f["name"]: f["adverse"] for f in result["factors"]}
        assert (adverse["afp"], adverse["extrahepatic_spread"], adverse["pni"]) == (
            e.afp, e.spread, e.pni_low), r["id"]
        assert result["adverse_count"] == e.count, r["id"]
        rh = result["relative_hazard"]
        assert (rh["value"], tuple(rh["ci"])) == (e.rh, e.ci), r["id"]
        assert rh["reference_group"] == (e.count == 0), r["id"]
        cp = result["child_pugh"] or {}
        assert (cp.get("score"), cp.get("class")) == (e.cp_score, e.cp_class), r["id"]


def test_score_csv_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.csv"
    assert main(["score", "--csv", str(PACK), "--out", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        results = list(csv.DictReader(handle))
    assert [r["id"] for r in results] == [r["id"] for r in ROWS]
    failed = 0
    for r in results:
        e = EXPECTED[r["id"]]
        if r["errors"]:
            failed += 1
            assert set(r["error_fields"].split()) == e.errors, (r["id"], r["errors"])
            continue
        assert not e.errors, (r["id"], e.errors)
        assert float(r["pni"]) == float(e.pni), r["id"]
        assert r["pni_category"] == ("low" if e.pni_low else "high"), r["id"]
        assert (r["afp_adverse"], r["extrahepatic_spread_adverse"], r["pni_adverse"]) == (
            str(e.afp), str(e.spread), str(e.pni_low)), r["id"]
        assert int(r["adverse_count"]) == e.count, r["id"]
        assert (float(r["relative_hazard"]), float(r["relative_hazard_ci_lower"]),
                float(r["relative_hazard_ci_upper"])) == (e.rh, *e.ci), r["id"]
        assert r["child_pugh_score"] == str(e.cp_score or ""), r["id"]
        assert r["child_pugh_class"] == (e.cp_class or ""), r["id"]
    summary = capsys.readouterr().err
    assert f"{len(ROWS)} rows read, {len(ROWS) - failed} scored, {failed} with errors" in summary


def as_json_value(text: str) -> Any:
    """Plain ASCII decimals go as JSON numbers (every other row), the rest as strings."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+", text) and not re.fullmatch(r"-?[1-9]\d{0,2}\.\d{3}", text):
        return float(text)
    return text


def test_json_api(client: FlaskClient) -> None:
    for i, r in enumerate(ROWS):
        e = EXPECTED[r["id"]]
        body = {k: (as_json_value(v) if i % 2 and k in ("albumin", "lymphocytes", "afp",
                                                         "bilirubin", "inr") else v)
                for k, v in inputs_of(r).items()}
        response = client.post("/api/v1/score", json=body)
        result = response.get_json()
        if e.errors:
            assert response.status_code == 422, (r["id"], result)
            assert {p["field"] for p in result["errors"]} == e.errors, r["id"]
            continue
        assert response.status_code == 200, (r["id"], result)
        assert result["pni"]["value"] == float(e.pni), r["id"]
        assert result["pni"]["display"] == e.display, r["id"]
        adverse = {f["name"]: f["adverse"] for f in result["factors"]}
        assert (adverse["afp"], adverse["extrahepatic_spread"], adverse["pni"]) == (
            e.afp, e.spread, e.pni_low), r["id"]
        rh = result["relative_hazard"]
        assert (rh["value"], tuple(rh["ci"])) == (e.rh, e.ci), r["id"]
        cp = result["child_pugh"] or {}
        assert (cp.get("score"), cp.get("class")) == (e.cp_score, e.cp_class), r["id"]


def by_id(page: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (tags dropped, spaces collapsed)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split()) if found else ""


def test_html_form(client: FlaskClient) -> None:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/").get_data(as_text=True))
    assert token
    for r in ROWS:
        e = EXPECTED[r["id"]]
        data = {"csrf_token": token.group(1), **{k: r[k] for k in INPUTS}}
        response = client.post("/", data=data)
        page = response.get_data(as_text=True)
        if e.errors:
            assert response.status_code == 422, r["id"]
            shown = set(re.findall(r'id="([a-z_]+)-error"', page))
            assert shown == {f.removesuffix("_unit") for f in e.errors}, r["id"]
            continue
        assert response.status_code == 200, r["id"]
        assert by_id(page, "pni-value") == e.display, r["id"]
        assert ("low" if e.pni_low else "high") in by_id(page, "pni-category"), r["id"]
        for name, on in (("afp", e.afp), ("extrahepatic_spread", e.spread),
                         ("pni", e.pni_low)):
            assert f'id="factor-{name}" class="{"present" if on else "absent"}"' in page
        headline = by_id(page, "rh-title")
        if e.count == 0:
            assert "Reference group" in headline, r["id"]
        else:
            assert f"Relative hazard {e.rh:#.3g} (95% CI {e.ci[0]:#.3g}–{e.ci[1]:#.3g})" \
                in headline, (r["id"], headline)
        assert f"Adverse factors present: {e.count} of 3" in by_id(page, "rh-facts")
        if e.cp_class is None:
            assert 'id="child-pugh"' not in page, r["id"]
        else:
            cp = re.search(r'id="child-pugh".*?</section>', page, re.S)
            assert cp and f"Class <strong>{e.cp_class}</strong>" in cp.group(0), r["id"]
            if e.cp_score is not None:
                assert f"score {e.cp_score}" in cp.group(0), r["id"]
