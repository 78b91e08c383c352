"""Generator of the golden-vector pack ``tests/data/golden_patients.csv`` (seeded).

    python -m tests.golden_pack            # rewrites the pack

Each row is one patient's inputs *as entered* (text, as a form, a CSV cell or the command
line carries them): units of every kind, decimal commas, possible thousands separators,
digits of other scripts, exact boundaries (PNI 47.6 in every pair of units, AFP 200 ng/mL
and 165.29 IU/mL, every Child-Pugh band edge) and entries that must be refused. The
expected results are not stored: ``tests/test_golden_pack.py`` computes them with its own
naive implementation on :class:`fractions.Fraction`, except for the hand-checked rows
(``kind = hand-checked``), whose ``expect_*`` columns were worked out by hand.

The test regenerates the pack in memory and compares it with the file, so the file is
always exactly what this script makes.
"""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Final

PACK: Final = Path(__file__).resolve().parent / "data" / "golden_patients.csv"
SEED: Final = 20251129

INPUTS: Final = ("albumin", "albumin_unit", "lymphocytes", "lymphocytes_unit", "afp",
                 "afp_unit", "extrahepatic_spread", "bilirubin", "bilirubin_unit", "inr",
                 "ascites", "encephalopathy", "child_pugh_class")
EXPECTED: Final = ("expect_pni", "expect_pni_category", "expect_afp_adverse",
                   "expect_adverse_count", "expect_relative_hazard",
                   "expect_child_pugh_score", "expect_child_pugh_class", "expect_error_fields")
COLUMNS: Final = ("id", "kind", "note", *INPUTS, *EXPECTED)

ALBUMIN_UNITS: Final = ("g/L", "g/dL")
LYMPHOCYTE_UNITS: Final = ("10^9/L", "10^3/uL", "cells/uL")
#: Albumin in g/dL is g/L / 10; lymphocytes in cells/uL are 10^9/L x 1000.
SCALE: Final = {"g/L": Fraction(1), "g/dL": Fraction(1, 10), "10^9/L": Fraction(1),
                "10^3/uL": Fraction(1), "cells/uL": Fraction(1000)}
YES: Final = ("yes", "Yes", "YES", "y", "1", "true", "present")
NO: Final = ("no", "No", "n", "0", "false", "absent")
FULL_WIDTH_ZERO: Final = 0xFF10
ARABIC_INDIC_ZERO: Final = 0x0660


def written(value: Fraction, decimals: int, rng: random.Random) -> str:
    """``value`` with ``decimals`` places, written the way people write it: point or
    comma, now and then with spaces around or in another script's digits."""
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):.{decimals}f}"
    style = rng.random()
    if decimals == 0 and 1000 <= value < 1_000_000 and rng.random() < 0.05:
        return f"{int(value):,}"  # "2,100": a thousands separator, as some reports print
    if style < 0.35:
        text = text.replace(".", ",")
    elif style < 0.40:
        text = f" {text} "
    elif style < 0.42:
        text = "".join(chr(FULL_WIDTH_ZERO + int(c)) if c.isdigit() else c for c in text)
    elif style < 0.44:
        text = "".join(chr(ARABIC_INDIC_ZERO + int(c)) if c.isdigit() else
                       ("\u066b" if c == "." else c) for c in text)
    return text


def places(value: Fraction) -> int:
    """The fewest decimal places that write ``value`` exactly (it must be a decimal)."""
    for n in range(0, 12):
        if (value * 10 ** n).denominator == 1:
            return n
    raise ValueError(f"{value} is not a short decimal")


def row(id_: str, kind: str, note: str = "", **values: str) -> dict[str, str]:
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise KeyError(unknown)
    return {"id": id_, "kind": kind, "note": note, **values}


def pni_boundary_rows(rng: random.Random) -> list[dict[str, str]]:
    """Exact PNI 47.6 (and 0.01 g/L either side) in every pair of albumin and lymphocyte
    units: albumin a/10 g/L with lymphocytes (47.6 - a/10)/5 x10^9/L, which has at most
    two decimals, over the whole lab grid."""
    rows = []
    for alb_unit in ALBUMIN_UNITS:
        for lym_unit in LYMPHOCYTE_UNITS:
            for tenths in range(100, 474, 2):
                albumin = Fraction(tenths, 10)
                lymphocytes = (Fraction(476, 10) - albumin) / 5
                shift = rng.choice((Fraction(0), Fraction(0), Fraction(-1, 100),
                                    Fraction(1, 100)))
                alb = (albumin + shift) * SCALE[alb_unit]
                lym = lymphocytes * SCALE[lym_unit]
                offset = {Fraction(0): "", Fraction(-1, 100): "-0.01", Fraction(1, 100): "+0.01"}
                rows.append(row(f"pni-{alb_unit}-{lym_unit}-{tenths}{offset[shift]}"
                                .replace("/", "").replace("^", ""),
                                "pni-boundary", f"PNI {float(Fraction(476, 10) + shift)}",
                                albumin=written(alb, places(alb), rng), albumin_unit=alb_unit,
                                lymphocytes=written(lym, places(lym), rng),
                                lymphocytes_unit=lym_unit, afp=rng.choice(("20", "250")),
                                afp_unit="ng/mL", extrahepatic_spread=rng.choice(YES + NO)))
    return rows


def afp_boundary_rows() -> list[dict[str, str]]:
    """AFP at and around 200 ng/mL in each unit; 200 ng/mL = 165.2893 IU/mL (x 1.21)."""
    cases = [("200", "ng/mL"), ("200", "ug/L"), ("199.99", "ng/mL"), ("200.01", "ng/mL"),
             ("200,0", "ng/mL"), ("199,999", "ng/mL"), ("165.29", "IU/mL"),
             ("165.28", "IU/mL"), ("165,29", "IU/mL"), ("165.2893", "IU/mL"),
             ("165.2892", "IU/mL"), ("200", ""), ("0", "ng/mL"), ("5000000", "ng/mL"),
             ("5000000.01", "ng/mL"), ("4132231.4", "IU/mL"), ("4132231.41", "IU/mL")]
    return [row(f"afp-{i}", "afp-boundary", f"AFP {afp} {unit}", albumin="40",
                albumin_unit="g/L", lymphocytes="1.5", lymphocytes_unit="10^9/L", afp=afp,
                afp_unit=unit, extrahepatic_spread="no") for i, (afp, unit) in enumerate(cases)]


def child_pugh_rows() -> list[dict[str, str]]:
    """Every Child-Pugh band edge (bilirubin 2 and 3 mg/dL = 34.2 and 51.3 umol/L, albumin
    28 and 35 g/L = 2.8 and 3.5 g/dL, INR 1.7 and 2.3) with a neighbour either side, the
    class edges 6/7 and 9/10, the class given directly and sections given in part."""
    base = {"lymphocytes": "1.5", "lymphocytes_unit": "10^9/L", "afp": "20",
            "afp_unit": "ng/mL", "extrahepatic_spread": "no"}
    rows = []
    edges = {
        "bilirubin": [("1.99", "mg/dL"), ("2", "mg/dL"), ("2.01", "mg/dL"), ("3", "mg/dL"),
                      ("3.01", "mg/dL"), ("34.1", "umol/L"), ("34.2", "umol/L"),
                      ("34.3", "umol/L"), ("51.3", "umol/L"), ("51.4", "umol/L"),
                      ("34,2", "umol/L"), ("2,0", "mg/dL")],
        "albumin": [("27.9", "g/L"), ("28", "g/L"), ("35", "g/L"), ("35.1", "g/L"),
                    ("2.79", "g/dL"), ("2.8", "g/dL"), ("3.5", "g/dL"), ("3.51", "g/dL"),
                    ("3,500", "g/dL"), ("28,000", "g/L")],
        "inr": [("1.69", ""), ("1.7", ""), ("1.71", ""), ("2.3", ""), ("2.31", ""),
                ("1,7", ""), ("2,300", "")],
    }
    n = 0
    for item, values in edges.items():
        for value, unit in values:
            items = {"bilirubin": "1", "bilirubin_unit": "mg/dL", "inr": "1.1",
                     "ascites": "none", "encephalopathy": "none", "albumin": "40",
                     "albumin_unit": "g/L"}
            items[item] = value
            if item != "inr":
                items[f"{item}_unit"] = unit
            rows.append(row(f"cp-edge-{n}", "child-pugh-edge", f"{item} {value} {unit}",
                            **{**base, **items}))
            n += 1
    # class edges: 5 + points from ascites and encephalopathy
    for ascites in ("none", "mild", "moderate-severe"):
        for enc in ("none", "grade-1-2", "grade-3-4"):
            for bili, alb, inr in (("1", "40", "1.1"), ("2.5", "30", "2"), ("4", "25", "2.5")):
                rows.append(row(f"cp-class-{n}", "child-pugh-edge", "class edges",
                                **base, albumin=alb, albumin_unit="g/L", bilirubin=bili,
                                bilirubin_unit="mg/dL", inr=inr, ascites=ascites,
                                encephalopathy=enc))
                n += 1
    for cls in ("A", "b", " C ", "D"):
        rows.append(row(f"cp-given-{n}", "child-pugh-edge", "class given", **base,
                        albumin="40", albumin_unit="g/L", child_pugh_class=cls))
        n += 1
    partial = [{"bilirubin": "1,2", "bilirubin_unit": "mg/dL"}, {"inr": "1.3"},
               {"ascites": "mild", "encephalopathy": "none"},
               {"bilirubin": "1.2", "inr": "x"}, {"bilirubin": "1", "child_pugh_class": "A"}]
    for items in partial:
        rows.append(row(f"cp-partial-{n}", "child-pugh-edge", "section given in part",
                        **base, albumin="40", albumin_unit="g/L", **items))
        n += 1
    return rows


def separator_and_refused_rows() -> list[dict[str, str]]:
    """Possible thousands separators in every field, and entries that must be refused."""
    good = {"albumin": "40", "albumin_unit": "g/L", "lymphocytes": "1.5",
            "lymphocytes_unit": "10^9/L", "afp": "20", "afp_unit": "ng/mL",
            "extrahepatic_spread": "no"}
    cases = [
        ("afp", "12,500", "ng/mL"), ("afp", "1.250", "ng/mL"), ("afp", "150,000", "ng/mL"),
        ("afp", "1,250", "IU/mL"), ("afp", "12500", "ng/mL"), ("afp", "12,5", "ng/mL"),
        ("afp", "12.500,0", "ng/mL"), ("afp", "1,234,567", "ng/mL"),
        ("lymphocytes", "1,100", "cells/uL"), ("lymphocytes", "1.100", "cells/uL"),
        ("lymphocytes", "2,100", "10^9/L"), ("lymphocytes", "1,100", "10^3/uL"),
        ("lymphocytes", "9,999", "cells/uL"), ("albumin", "3,500", "g/dL"),
        ("albumin", "35,000", "g/L"), ("albumin", "1,234", "g/L"),
        ("afp", "3_5", "ng/mL"), ("afp", "1e3", "ng/mL"), ("afp", "2E2", "ng/mL"),
        ("afp", "+250", "ng/mL"), ("afp", "-1", "ng/mL"), ("albumin", "-40", "g/L"),
        ("afp", "nan", "ng/mL"), ("afp", "inf", "ng/mL"), ("afp", "12 500", "ng/mL"),
        ("afp", "250 ng/mL", "ng/mL"), ("albumin", "3.5g/dl", "g/dL"), ("afp", "", "ng/mL"),
        ("afp", "abc", "ng/mL"), ("albumin", "35", "kg/L"), ("albumin", "35", "g/dl"),
        ("lymphocytes", "1100", "cells/µL"), ("lymphocytes", "1.1", "×10⁹/L"),
        ("afp", "250", "IU/ml"), ("albumin", "٣٥", "g/L"), ("albumin", "３５", "g/L"),
        ("albumin", "3٥", "g/L"), ("afp", "٢٥٠٫٥", "ng/mL"), ("afp", "２５０", "ng/mL"),
        ("lymphocytes", "１，１", "10^9/L"), ("albumin", "35", "g/dL"),
        ("lymphocytes", "1100", "10^9/L"), ("lymphocytes", "1.1", "cells/uL"),
        ("albumin", "60", "g/L"), ("albumin", "60.01", "g/L"), ("albumin", "10", "g/L"),
        ("albumin", "9.99", "g/L"), ("lymphocytes", "0.05", "10^9/L"),
        ("lymphocytes", "0.049", "10^9/L"), ("lymphocytes", "50", "cells/uL"),
        ("lymphocytes", "50000", "cells/uL"), ("lymphocytes", "50001", "cells/uL"),
    ]
    rows = [row(f"entry-{i}", "separator" if any(c in value for c in ",.") else "refused",
                f"{field} {value!r} {unit}", **{**good, field: value, f"{field}_unit": unit})
            for i, (field, value, unit) in enumerate(cases)]
    spreads = ["yes", "NO", " present ", "1", "0", "maybe", "", "true", "ja"]
    rows += [row(f"spread-{i}", "refused" if s.strip().lower() not in
                 {v.lower() for v in YES + NO} else "separator", f"spread {s!r}",
                 **{**good, "extrahepatic_spread": s}) for i, s in enumerate(spreads)]
    return rows


def random_rows(rng: random.Random, count: int) -> list[dict[str, str]]:
    """Patients drawn across the hard limits and every unit, mostly valid."""
    rows = []
    for i in range(count):
        alb_unit = rng.choice(ALBUMIN_UNITS)
        lym_unit = rng.choice(LYMPHOCYTE_UNITS)
        albumin = Fraction(rng.randint(100, 600), 10)          # 10.0-60.0 g/L
        lymphocytes = Fraction(rng.randint(5, 1500), 100)       # 0.05-15 x10^9/L
        if rng.random() < 0.03:
            albumin = Fraction(rng.randint(0, 99), 10)          # below the limit
        alb = albumin * SCALE[alb_unit]
        lym = lymphocytes * SCALE[lym_unit]
        afp_unit = rng.choice(("ng/mL", "ng/mL", "ug/L", "IU/mL"))
        afp = Fraction(round(10 ** rng.uniform(-0.3, 5.5) * 100), 100)
        values = {"albumin": written(alb, places(alb), rng), "albumin_unit": alb_unit,
                  "lymphocytes": written(lym, places(lym), rng), "lymphocytes_unit": lym_unit,
                  "afp": written(afp, places(afp), rng), "afp_unit": afp_unit,
                  "extrahepatic_spread": rng.choice(YES + NO)}
        section = rng.random()
        if section < 0.25:
            bili_unit = rng.choice(("mg/dL", "umol/L"))
            bili = Fraction(rng.randint(2, 1000), 100) if bili_unit == "mg/dL" else \
                Fraction(rng.randint(30, 3000), 10)
            inr = Fraction(rng.randint(80, 400), 100)
            values.update(bilirubin=written(bili, places(bili), rng),
                          bilirubin_unit=bili_unit, inr=written(inr, places(inr), rng),
                          ascites=rng.choice(("none", "mild", "moderate-severe")),
                          encephalopathy=rng.choice(("none", "grade-1-2", "grade-3-4")))
        elif section < 0.35:
            values["child_pugh_class"] = rng.choice(("A", "B", "C", "a"))
        rows.append(row(f"random-{i}", "random", **values))
    return rows


def hand_checked_rows() -> list[dict[str, str]]:
    """Edge rows whose expected results were worked out by hand (the note says how)."""
    def hand(id_: str, note: str, inputs: dict[str, str], **expect: str) -> dict[str, str]:
        return row(id_, "hand-checked", note, **inputs,
                   **{f"expect_{k}": v for k, v in expect.items()})

    def patient(albumin: str, lymphocytes: str, afp: str, spread: str,
                **more: str) -> dict[str, str]:
        return {"albumin": albumin, "lymphocytes": lymphocytes, "afp": afp,
                "extrahepatic_spread": spread, **more}

    return [
        hand("hand-1", "37.1 + 5 x 2.1 = 47.6 exactly: high; AFP 200 is adverse; HR 1.97",
             patient("37.1", "2.1", "200", "no"), pni="47.6", pni_category="high",
             afp_adverse="True", adverse_count="1", relative_hazard="1.97"),
        hand("hand-2", "10 x 3.71 g/dL + 0.005 x 2100 /uL = 47.6: high; nothing adverse",
             patient("3,71", "2100", "199.99", "no", albumin_unit="g/dL",
                     lymphocytes_unit="cells/uL"), pni="47.6", pni_category="high",
             afp_adverse="False", adverse_count="0", relative_hazard="1.0"),
        hand("hand-3", "46.3 + 5 x 0.26 = 47.6 (47.599999999999994 in floats): high",
             patient("46.3", "0.26", "20", "no"), pni="47.6", pni_category="high",
             afp_adverse="False", adverse_count="0", relative_hazard="1.0"),
        hand("hand-4", "37.09 + 10.5 = 47.59: low; PNI < 47.6 alone: HR 1/0.24 = 4.17",
             patient("37.09", "2.1", "20", "no"), pni="47.59", pni_category="low",
             afp_adverse="False", adverse_count="1", relative_hazard="4.17"),
        hand("hand-5", "165.29 IU/mL x 1.21 = 200.0009 ng/mL: adverse; PNI 55 high",
             patient("45", "2", "165.29", "no", afp_unit="IU/mL"), pni="55",
             pni_category="high", afp_adverse="True", adverse_count="1",
             relative_hazard="1.97"),
        hand("hand-6", "165.28 IU/mL x 1.21 = 199.9888 ng/mL: not adverse",
             patient("45", "2", "165.28", "no", afp_unit="IU/mL"), pni="55",
             pni_category="high", afp_adverse="False", adverse_count="0",
             relative_hazard="1.0"),
        hand("hand-7", "all three: 1.97 / 0.41 / 0.24 = 20.02; PNI 35 + 5.5 = 40.5",
             patient("35", "1.1", "250", "yes"), pni="40.5", pni_category="low",
             afp_adverse="True", adverse_count="3", relative_hazard="20.0"),
        hand("hand-8", "AFP and spread: 1.97 / 0.41 = 4.805",
             patient("45", "1", "250", "yes"), pni="50", pni_category="high",
             afp_adverse="True", adverse_count="2", relative_hazard="4.80"),
        hand("hand-9", "spread and PNI: 1 / (0.41 x 0.24) = 10.16",
             patient("30", "1", "10", "yes"), pni="35", pni_category="low",
             afp_adverse="False", adverse_count="2", relative_hazard="10.2"),
        hand("hand-10", "AFP and PNI: 1.97 / 0.24 = 8.208",
             patient("30", "1", "12500", "no"), pni="35", pni_category="low",
             afp_adverse="True", adverse_count="2", relative_hazard="8.21"),
        hand("hand-11", "Child-Pugh 2 + 2 + 2 + 2 + 2 = 10 (bilirubin 2, albumin 35, INR "
                        "1.7, mild, grade 1-2): class C",
             patient("35", "2", "20", "no", bilirubin="2", inr="1.7", ascites="mild",
                     encephalopathy="grade-1-2"), pni="45", pni_category="low",
             afp_adverse="False", adverse_count="1", relative_hazard="4.17",
             child_pugh_score="10", child_pugh_class="C"),
        hand("hand-12", "Child-Pugh 1 + 1 + 1 + 1 + 1 = 5 (bilirubin 1.99, albumin 35.1, INR "
                        "1.69): class A",
             patient("35.1", "2.6", "20", "no", bilirubin="1.99", inr="1.69", ascites="none",
                     encephalopathy="none"), pni="48.1", pni_category="high",
             afp_adverse="False", adverse_count="0", relative_hazard="1.0",
             child_pugh_score="5", child_pugh_class="A"),
        hand("hand-13", "bilirubin 51.3 umol/L = 3 mg/dL (2), albumin 2.8 g/dL = 28 g/L (2), "
                        "INR 2.3 (2), none (1), none (1) = 8: class B",
             patient("2,8", "4", "20", "no", albumin_unit="g/dL", bilirubin="51.3",
                     bilirubin_unit="umol/L", inr="2.3", ascites="none",
                     encephalopathy="none"), pni="48", pni_category="high",
             afp_adverse="False", adverse_count="0", relative_hazard="1.0",
             child_pugh_score="8", child_pugh_class="B"),
        hand("hand-14", "AFP '12,500' could be 12.5 or 12500 ng/mL: refused",
             patient("35", "1.1", "12,500", "yes"), error_fields="afp"),
        hand("hand-15", "'1,100' cells/uL can only be 1100 (1.1 cells/uL is impossible): "
                        "35 + 5 x 1.1 = 40.5",
             patient("35", "1,100", "20", "no", lymphocytes_unit="cells/uL"), pni="40.5",
             pni_category="low", afp_adverse="False", adverse_count="1",
             relative_hazard="4.17"),
        hand("hand-16", "'3_5' and '1e3' refused; 'maybe' is not yes or no",
             patient("3_5", "1.1", "1e3", "maybe"),
             error_fields="albumin afp extrahepatic_spread"),
        hand("hand-17", "Arabic-Indic 35 and full-width 2.5: 35 + 12.5 = 47.5, low",
             patient("٣٥", "２.５", "20", "no"), pni="47.5", pni_category="low",
             afp_adverse="False", adverse_count="1", relative_hazard="4.17"),
        hand("hand-18", "bilirubin alone: Child-Pugh not calculated, result stands",
             patient("45", "2", "20", "no", bilirubin="1,2"), pni="55", pni_category="high",
             afp_adverse="False", adverse_count="0", relative_hazard="1.0"),
        hand("hand-19", "class b given directly: class B, no score",
             patient("45", "2", "20", "no", child_pugh_class="b"), pni="55",
             pni_category="high", afp_adverse="False", adverse_count="0",
             relative_hazard="1.0", child_pugh_class="B"),
        hand("hand-20", "albumin 35 entered as g/dL is 350 g/L: refused; 1100 x10^9/L too",
             patient("35", "1100", "20", "no", albumin_unit="g/dL"),
             error_fields="albumin lymphocytes"),
    ]


def make_rows() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows = [*hand_checked_rows(), *pni_boundary_rows(rng), *afp_boundary_rows(),
            *child_pugh_rows(), *separator_and_refused_rows(), *random_rows(rng, 1000)]
    return [{name: r.get(name, "") for name in COLUMNS} for r in rows]


def pack_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main() -> None:
    PACK.parent.mkdir(exist_ok=True)
    PACK.write_text(pack_text(make_rows()), encoding="utf-8")


if __name__ == "__main__":
    main()
