"""``hcc-prognosis score``: one patient from flags, or a CSV of patients."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import textwrap
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from calculator.cli.errors import report_error, report_input_error
from calculator.columns import column_key, repeated, sniff_delimiter
from calculator.errors import InputError
from calculator.fhir import CLINICAL_INPUTS, FhirScore, parse_json, score_fhir
from calculator.formatting import interval, text_table
from calculator.labels import ENDPOINT_NAMES, GROUP_NAMES, factor_name, label, with_unit
from calculator.note import format_time
from calculator.profile import ACCEPTED_KEYS, REQUIRED, RiskProfile, score
from calculator.units import QUANTITIES

HELP = "score one patient (or a CSV of patients)"
COMMAND = "score"

RESULT_COLUMNS = ("pni", "pni_category", "afp_adverse", "extrahepatic_spread_adverse",
                  "pni_adverse", "adverse_count", "relative_hazard",
                  "relative_hazard_ci_lower", "relative_hazard_ci_upper",
                  "child_pugh_score", "child_pugh_class", "warnings", "errors",
                  "error_fields")
#: Width of the wrapped paragraphs of the text output.
TEXT_WIDTH = 88


def add_arguments(parser: argparse.ArgumentParser) -> None:
    patient = parser.add_argument_group(
        "one patient", "plain numbers; a decimal comma is read (3,5), a thousands separator "
                       "is not guessed (write 12500, not 12,500); units default to the "
                       "first one listed")
    for name in ("albumin", "lymphocytes", "afp"):
        quantity = QUANTITIES[name]
        patient.add_argument(f"--{name}", metavar="X",
                             help=f"{quantity.label} ({quantity.canonical_unit})")
        patient.add_argument(f"--{name}-unit", metavar="UNIT",
                             help="one of " + ", ".join(quantity.units))
    patient.add_argument("--extrahepatic-spread", metavar="yes|no",
                         help="extrahepatic metastasis present")
    patient.add_argument("--lab-date", metavar="YYYY-MM-DD",
                         help="date the labs were taken (a warning if older than 30 days "
                              "or in the future)")
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
                        help="score every row of a CSV (one column per input name; comma, "
                             "semicolon or tab separated)")
    parser.add_argument("--out", metavar="FILE", help="with --csv: write here, not stdout")
    parser.add_argument("--fhir", metavar="BUNDLE.json",
                        help="read the labs from a FHIR R4 Bundle (or JSON list) of "
                             "Observations; give --extrahepatic-spread (not a lab) and, for "
                             "Child-Pugh, --ascites and --encephalopathy with it")


def _flags_to_inputs(args: argparse.Namespace) -> dict[str, object]:
    return {k: getattr(args, k) for k in sorted(ACCEPTED_KEYS)
            if getattr(args, k, None) is not None}


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, TEXT_WIDTH, initial_indent=indent,
                         subsequent_indent=indent + "  ", break_on_hyphens=False)


def _number(value: float) -> str:
    return f"{value:g}"


def _hazard_ratio(f: Mapping[str, Any]) -> str:
    return f"{f['hr']:#.3g} ({interval(f['ci'][0], f['ci'][1], '#.3g')})"


def format_text(profile: RiskProfile) -> str:
    """The result as a clinician reads it in a terminal: the headline first."""
    data = profile.to_dict()
    rh, pni, ev = data["relative_hazard"], data["pni"], data["evidence"]
    lines = _wrap(rh["summary"])
    if rh["reestimate"]:
        lines += _wrap(f"Re-estimated by simulation (†): {rh['reestimate']['text']}; the "
                       "published figure above stays the primary one.")
    lines += ["", *_wrap(f"{pni['label']} {pni['display']}: {pni['category']}. Rule: "
                         f"{pni['rule']}.")]
    if pni["near_cutoff"]:
        near = pni["cutoff_range"]
        lines += _wrap(f"Near the cut-off: the category is uncertain. In studies like this "
                       f"one the ROC-chosen cut-off falls anywhere from {near['low']:.1f} to "
                       f"{near['high']:.1f} (95% of simulated studies).")
    rows = [[factor_name(f["name"]) + ("" if f["independent"] else " *"),
             "present" if f["adverse"] else "absent",
             _hazard_ratio(f) if f["adverse"] else f"not applied; {_hazard_ratio(f)} if present",
             str(f["p"]), f["reestimate"]["text"] if f["reestimate"] else "-"]
            for f in data["factors"]]
    lines += ["", "Factors (Table 4, multivariable Cox model for overall survival):",
              *text_table(["Factor", "This patient", "Hazard ratio (95% CI)", "p",
                           "Re-estimated † (95% CI)"], rows, left_columns=3, indent="  ")]
    if not all(f["independent"] for f in data["factors"]):
        lines.append("  * not an independent predictor; left out of the relative hazard")
    lines += _wrap(f"† {ev['label'].capitalize()}. {ev['assumptions']} < or > marks a "
                   "limit the simulation could only bound. "
                   + (f"Combined: {ev['combination'][:1].lower()}{ev['combination'][1:]} "
                      if rh["reestimate"] else "")
                   + f"Detail: the evidence page ({ev['page']}) of 'hcc-prognosis serve'.",
                   "  ")
    lines += _wrap(ev["false_findings"]["line"], "  ")
    if data["child_pugh"]:
        cp = data["child_pugh"]
        score_text = f"score {cp['score']}, " if cp["score"] is not None else ""
        lines.append(f"Child-Pugh: {score_text}class {cp['class']}")
    lines += ["", "Published median survival for this patient's groups (months, 95% CI):"]
    for m in data["published_medians"]:
        n = f"n = {m['n']}" if m["n"] is not None else m["n_note"]
        lines.append(f"  {GROUP_NAMES.get(m['group'], m['group'])} ({n}): "
                     f"{ENDPOINT_NAMES[m['endpoint']].lower()} {_number(m['median_months'])} "
                     f"({interval(m['ci'][0], m['ci'][1], 'g')})")
    lines += ["", "Inputs (as entered → as used):"]
    for i in data["inputs"]:
        used = i["value"] if not isinstance(i["value"], bool) else (
            "present" if i["value"] else "absent")
        used_text = with_unit(_number(used) if isinstance(used, float) else str(used),
                              i["canonical_unit"])
        entered = with_unit(str(i["entered"]), i["unit"])
        dated = f", taken {i['date']}" if i["date"] else ""
        lines.append(f"  {label(i['field'])}: {entered} → {used_text} [{i['quality']}{dated}]")
    if data["warnings"]:
        lines += ["", "Warnings:"]
        for w in data["warnings"]:
            lines += _wrap(f"{label(w['field'])}: {w['message']}", "  ")
    lines += ["", *_wrap(f"The model was {data['applicability']}."),
              *_wrap(data["limit"]), *_wrap(rh["caveat"]),
              f"Model: {data['model']['source']}, doi:{data['model']['doi']} "
              f"(hcc-prognosis {data['model']['version']}, "
              f"{data['model']['published_model_version']})",
              f"Calculated: {format_time(profile.calculated_at)}"]
    return "\n".join(lines)


# --- CSV -----------------------------------------------------------------------------
class CsvProblem(Exception):
    """A file-level problem of ``score --csv``: one message, exit status 2."""


#: Key under which :func:`read_patients` marks a row whose cells do not match the header.
ROW_PROBLEM = "\0row problem"


def _csv_row_result(row: Mapping[str, str], now: datetime) -> dict[str, Any]:
    if ROW_PROBLEM in row:
        return {"errors": row[ROW_PROBLEM], "error_fields": "row"}
    inputs = {k: v for k, v in row.items() if k in ACCEPTED_KEYS and v not in (None, "")}
    try:
        data = score(inputs, now).to_dict()
    except InputError as err:
        return {"errors": " | ".join(p.message for p in err.errors),
                "error_fields": " ".join(dict.fromkeys(p.field for p in err.errors))}
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
            "warnings": " | ".join(w["message"] for w in data["warnings"]), "errors": "",
            "error_fields": ""}


def score_csv(rows: Iterable[Mapping[str, str]], fieldnames: list[str], out: TextIO,
              now: datetime) -> tuple[int, int]:
    """Score each row (keys already matched to input names); a bad row gets its errors in
    its own output row. Returns (rows, rows with errors)."""
    carried = [name for name in fieldnames if name not in RESULT_COLUMNS]
    writer = csv.DictWriter(out, fieldnames=carried + list(RESULT_COLUMNS),
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = failed = 0
    for row in rows:
        result = _csv_row_result(row, now)
        writer.writerow({**{k: row.get(k, "") for k in carried}, **result})
        count += 1
        failed += bool(result["errors"])
    return count, failed


def _read_text(path: str) -> str:
    """The input file's text, or a :class:`CsvProblem` naming the real cause."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CsvProblem(f"cannot find the input file {path}") from None
    except IsADirectoryError:
        raise CsvProblem(f"the input {path} is a folder, not a CSV file") from None
    except PermissionError:
        raise CsvProblem(f"cannot read the input file {path}: permission denied") from None
    except OSError as err:
        raise CsvProblem(f"cannot read the input file {path}: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CsvProblem(f"the input file {path} is not UTF-8 text (byte "
                         f"0x{data[err.start]:02x} at position {err.start}); save it as "
                         "'CSV UTF-8'") from None
    if not text.strip():
        raise CsvProblem(f"the input file {path} is empty; its first row must name the "
                         f"columns ({', '.join(REQUIRED)}, ...)")
    return text


def read_patients(path: str) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of a patients CSV, keyed by input name where a header cell names an input
    (other columns keep their header), and the output's column names in file order."""
    text = _read_text(path)
    header_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = sniff_delimiter(header_line, ACCEPTED_KEYS)
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise CsvProblem(f"the input file {path} is not a readable CSV: {err}") from None
    table = [row for row in table if any(cell.strip() for cell in row)]
    header = table[0]
    keys = [column_key(cell) for cell in header]
    names = [key if key in ACCEPTED_KEYS else cell for key, cell in zip(keys, header)]
    twice = repeated([n for n in names if n in ACCEPTED_KEYS])
    if twice:
        raise CsvProblem(f"the input file {path} names the column(s) {', '.join(twice)} "
                         "more than once; keep one of each")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        found = ", ".join(repr(cell) for cell in header) or "none"
        separated = {",": "commas", ";": "semicolons", "\t": "tabs"}[delimiter]
        raise CsvProblem(
            f"the input file {path} has no column for {', '.join(missing)}; expected the "
            f"columns {', '.join(REQUIRED)} (and optionally bilirubin, inr, ascites, "
            f"encephalopathy or child_pugh_class, lab_date, <name>_unit); found {found} "
            f"(read as separated by {separated})")
    rows = []
    for cells in table[1:]:
        row = dict(zip(names, cells))
        if len(cells) != len(header):
            row[ROW_PROBLEM] = (f"the row has {len(cells)} cells but the header has "
                                f"{len(header)}; check for a missing or extra separator")
        rows.append(row)
    return rows, names


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _write(out_path: str, rows: list[dict[str, str]], names: list[str],
           now: datetime) -> tuple[int, int]:
    """Write the results to ``out_path``; a :class:`CsvProblem` names the output path."""
    target = Path(out_path)
    try:
        with open(target, "w", newline="", encoding="utf-8") as out:
            return score_csv(rows, names, out, now)
    except FileNotFoundError:
        raise CsvProblem(f"cannot write the results to {out_path}: the folder "
                         f"{target.parent} does not exist") from None
    except IsADirectoryError:
        raise CsvProblem(f"cannot write the results to {out_path}: it is a folder; give "
                         "--out a file name") from None
    except PermissionError:
        raise CsvProblem(f"cannot write the results to {out_path}: permission "
                         "denied") from None
    except OSError as err:
        raise CsvProblem(f"cannot write the results to {out_path}: "
                         f"{err.strerror or err}") from None


def _run_csv(args: argparse.Namespace, now: datetime) -> int:
    try:
        if args.out and _same_file(args.csv, args.out):
            raise CsvProblem(f"--out {args.out} is the input file; give another file name "
                             "so the patients are not overwritten")
        rows, names = read_patients(args.csv)
        if args.out:
            count, failed = _write(args.out, rows, names, now)
            print(f"hcc-prognosis {COMMAND}: {count} row{'s' if count != 1 else ''} read, "
                  f"{count - failed} scored, {failed} with errors"
                  + (" (see the errors column)" if failed else "") + f"; written to {args.out}",
                  file=sys.stderr)
        else:
            score_csv(rows, names, sys.stdout, now)
    except CsvProblem as problem:
        return report_error(COMMAND, str(problem))
    return 0


def run(args: argparse.Namespace) -> int:
    now = datetime.now().astimezone()  # the time of calculation; the core reads no clock
    if args.fhir:
        return _run_fhir(args, now)
    if args.csv:
        if _flags_to_inputs(args):
            return report_error(COMMAND, "give either --csv or the patient's values, "
                                "not both")
        return _run_csv(args, now)
    if args.out:
        return report_error(COMMAND, "--out goes with --csv")
    try:
        profile = score(_flags_to_inputs(args), now)
    except InputError as err:
        return report_input_error(COMMAND, err, args.json)
    return _print(json.dumps(profile.to_dict(), indent=2) if args.json
                  else format_text(profile))


def _print(text: str) -> int:
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (e.g. head) stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


# --- FHIR ----------------------------------------------------------------------------
#: Largest FHIR file read (a Bundle of a patient's recent labs is a few kilobytes).
MAX_FHIR_BYTES = 10 * 1024 * 1024


def _run_fhir(args: argparse.Namespace, now: datetime) -> int:
    """``score --fhir bundle.json``: the labs from Observations, the rest from flags."""
    given = _flags_to_inputs(args)
    labs = sorted(k for k in given if k not in CLINICAL_INPUTS)
    if labs or args.csv or args.out:
        flags = ["--" + k.replace("_", "-") for k in labs] + (["--csv"] if args.csv else []) \
            + (["--out"] if args.out else [])
        return report_error(COMMAND, f"--fhir reads the labs from the file; leave out "
                            f"{', '.join(flags)}", "with --fhir give only --extrahepatic-spread, "
                            "--ascites and --encephalopathy")
    try:
        data = parse_json(_read_fhir_file(args.fhir))
        result = score_fhir(data, given, now)
    except CsvProblem as problem:
        return report_error(COMMAND, str(problem))
    except InputError as err:
        return report_input_error(COMMAND, err, args.json)
    return _print(json.dumps(result.to_dict(), indent=2) if args.json
                  else f"{format_text(result.profile)}\n\n{_sources_text(result)}")


def _read_fhir_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FHIR_BYTES + 1)
    except FileNotFoundError:
        raise CsvProblem(f"cannot find the FHIR file {path}") from None
    except IsADirectoryError:
        raise CsvProblem(f"the FHIR input {path} is a folder, not a JSON file") from None
    except OSError as err:
        raise CsvProblem(f"cannot read the FHIR file {path}: {err.strerror or err}") from None
    if len(data) > MAX_FHIR_BYTES:
        raise CsvProblem(f"the FHIR file {path} is larger than {MAX_FHIR_BYTES // 2**20} MiB; "
                         "export the patient's recent lab Observations only")
    return data.removeprefix(b"\xef\xbb\xbf")


def _sources_text(result: FhirScore) -> str:
    """Which Observation each lab was read from, for the text output."""
    lines = ["Labs read from FHIR Observations:"]
    for field, source in result.sources.items():
        unit = f", UCUM {source.ucum_unit}" if source.ucum_unit else ""
        lines.append(f"  {label(field)}: {source.described}, {source.status}{unit}")
    return "\n".join(lines)
