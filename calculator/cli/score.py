"""``hcc-prognosis score``: one patient from flags, or a CSV of patients."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from calculator.cli.errors import report_error, report_input_error
from calculator.errors import InputError
from calculator.formatting import interval
from calculator.profile import ACCEPTED_KEYS, RiskProfile, score
from calculator.units import QUANTITIES

HELP = "score one patient (or a CSV of patients)"

RESULT_COLUMNS = ("pni", "pni_category", "afp_adverse", "extrahepatic_spread_adverse",
                  "pni_adverse", "adverse_count", "relative_hazard",
                  "relative_hazard_ci_lower", "relative_hazard_ci_upper",
                  "child_pugh_score", "child_pugh_class", "warnings", "errors")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    patient = parser.add_argument_group(
        "one patient", "numbers may use a decimal comma (3,5); units default to the "
                       "first one listed")
    for name in ("albumin", "lymphocytes", "afp"):
        quantity = QUANTITIES[name]
        patient.add_argument(f"--{name}", metavar="X",
                             help=f"{quantity.label} ({quantity.canonical_unit})")
        patient.add_argument(f"--{name}-unit", metavar="UNIT",
                             help="one of " + ", ".join(quantity.units))
    patient.add_argument("--extrahepatic-spread", metavar="yes|no",
                         help="extrahepatic metastasis present")
    cp = parser.add_argument_group(
        "Child-Pugh (optional)", "give all four items (albumin is reused), or the class")
    cp.add_argument("--bilirubin", metavar="X", help="total bilirubin (mg/dL)")
    cp.add_argument("--bilirubin-unit", metavar="UNIT",
                    help="one of " + ", ".join(QUANTITIES["bilirubin"].units))
    cp.add_argument("--inr", metavar="X", help="INR (unitless)")
    cp.add_argument("--ascites", metavar="LEVEL", help="none, mild or moderate-severe")
    cp.add_argument("--encephalopathy", metavar="GRADE", help="none, grade-1-2 or grade-3-4")
    cp.add_argument("--child-pugh-class", metavar="A|B|C",
                    help="the class, instead of the four items")
    parser.add_argument("--json", action="store_true", help="print the result JSON")
    parser.add_argument("--csv", metavar="FILE",
                        help="score every row of a CSV (one column per input name)")
    parser.add_argument("--out", metavar="FILE", help="with --csv: write here, not stdout")


def _flags_to_inputs(args: argparse.Namespace) -> dict[str, object]:
    keys = sorted(k for k in ACCEPTED_KEYS)
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def format_text(profile: RiskProfile) -> str:
    """The result as a clinician reads it in a terminal."""
    data = profile.to_dict()
    pni = data["pni"]
    lines = [f"PNI {profile.pni_display} ({pni['category']}; {pni['rule']})", "",
             "Factors (hazard ratio as adverse, 95% CI, Table 4 multivariable):"]
    for f in data["factors"]:
        status = "ADVERSE" if f["adverse"] else "favourable"
        note = "" if f["independent"] else "  [not independent; not in the combined hazard]"
        lines.append(f"  {f['name']:<20} {status:<10} HR {f['hr']:#.3g} "
                     f"({interval(f['ci'][0], f['ci'][1], '#.3g', plain=True)}), p = {f['p']}{note}")
    rh = data["relative_hazard"]
    lines += ["", f"Adverse independent factors: {data['adverse_count']} of 3",
              f"Relative hazard vs a patient with none: {rh['value']:#.3g} "
              f"(95% CI {interval(rh['ci'][0], rh['ci'][1], '#.3g', plain=True)})", f"  {rh['caveat']}"]
    if data["child_pugh"]:
        cp = data["child_pugh"]
        score_text = f"score {cp['score']}, " if cp["score"] is not None else ""
        lines.append(f"Child-Pugh: {score_text}class {cp['class']}")
    lines += ["", "Published Kaplan-Meier medians that apply (months):"]
    for m in data["published_medians"]:
        lines.append(f"  {m['endpoint'].upper()} {m['group']}: {m['median_months']} "
                     f"({interval(m['ci'][0], m['ci'][1], 'g', plain=True)}) [{m['source']}]")
    lines += ["", "Inputs (as entered -> as used):"]
    for i in data["inputs"]:
        unit = f" {i['unit']}" if i["unit"] else ""
        used = f" {i['canonical_unit']}" if i["canonical_unit"] else ""
        lines.append(f"  {i['field']:<20} {i['entered']}{unit} -> {i['value']}{used} "
                     f"[{i['quality']}]")
    if data["warnings"]:
        lines += ["", "Warnings:"] + [f"  {w['field']}: {w['message']}" for w in data["warnings"]]
    lines += ["", f"Applies to: {data['applicability']}.",
              "A relative risk profile from one retrospective study of 58 patients; not an "
              "absolute survival prediction and not a substitute for clinical judgement.",
              f"Model: {data['model']['source']}, doi:{data['model']['doi']} "
              f"(hcc-prognosis {data['model']['version']}, "
              f"{data['model']['published_model_version']})"]
    return "\n".join(lines)


def _csv_row_result(row: Mapping[str, str]) -> dict[str, Any]:
    inputs = {k: v for k, v in row.items() if k in ACCEPTED_KEYS and v not in (None, "")}
    try:
        data = score(inputs).to_dict()
    except InputError as err:
        return {"errors": " | ".join(p.message for p in err.errors)}
    adverse = {f["name"]: f["adverse"] for f in data["factors"]}
    cp = data["child_pugh"] or {}
    return {"pni": data["pni"]["value"], "pni_category": data["pni"]["category"],
            "afp_adverse": adverse["afp"],
            "extrahepatic_spread_adverse": adverse["extrahepatic_spread"],
            "pni_adverse": adverse["pni"], "adverse_count": data["adverse_count"],
            "relative_hazard": data["relative_hazard"]["value"],
            "relative_hazard_ci_lower": data["relative_hazard"]["ci"][0],
            "relative_hazard_ci_upper": data["relative_hazard"]["ci"][1],
            "child_pugh_score": cp.get("score"), "child_pugh_class": cp.get("class"),
            "warnings": " | ".join(w["message"] for w in data["warnings"]), "errors": ""}


def score_csv(rows: Iterable[Mapping[str, str]], fieldnames: list[str], out: TextIO) -> int:
    """Score each row; a bad row gets its errors in its own output row. Returns the count."""
    carried = [name for name in fieldnames if name not in RESULT_COLUMNS]
    writer = csv.DictWriter(out, fieldnames=carried + list(RESULT_COLUMNS),
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({**{k: row.get(k, "") for k in carried}, **_csv_row_result(row)})
        count += 1
    return count


def _run_csv(args: argparse.Namespace) -> int:
    try:
        with open(args.csv, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                return report_error("score", f"{args.csv} has no header row; the first row "
                                    "must name the columns (albumin, lymphocytes, afp, "
                                    "extrahepatic_spread, ...)")
            fieldnames = list(reader.fieldnames)
            if args.out:
                with open(args.out, "w", newline="", encoding="utf-8") as out:
                    score_csv(reader, fieldnames, out)
            else:
                score_csv(reader, fieldnames, sys.stdout)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        return report_error("score", f"cannot read {args.csv}: {err}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.csv:
        if _flags_to_inputs(args):
            return report_error("score", "give either --csv or the patient's values, "
                                "not both")
        return _run_csv(args)
    if args.out:
        return report_error("score", "--out goes with --csv")
    try:
        profile = score(_flags_to_inputs(args))
    except InputError as err:
        return report_input_error("score", err, args.json)
    print(json.dumps(profile.to_dict(), indent=2) if args.json else format_text(profile))
    return 0
