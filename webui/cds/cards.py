"""CDS Hooks cards (2.0, "CDS Service Response") for a risk profile read from the record.

One card per call. With the labs read, it gives the PNI, the factors, and the relative
hazard with its 95% CI twice, without and with extrahepatic spread, because spread is not
a lab and the record does not say it; its ``summary`` stays under 140 characters. Without
them it says what is missing. The links go to the app's evidence page and form: fixed
URLs that carry no patient value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from calculator import InputError, published
from calculator.fhir import FhirScore, Labs
from calculator.lab_dates import lab_date_warnings
from calculator.labels import factor_name, label, pretty_unit
from webui.presentation import interval, number, significant

#: CDS Hooks 2.0: "One-sentence, <140-character summary message".
MAX_SUMMARY_CHARS: Final = 139
SOURCE_LABEL: Final = "hcc-prognosis (Majidova et al. 2025, Turk J Gastroenterol)"


def _source(base_url: str) -> dict[str, Any]:
    return {"label": SOURCE_LABEL, "url": f"{base_url}/evidence"}


def _links(base_url: str) -> list[dict[str, str]]:
    return [{"label": "The evidence behind this profile", "url": f"{base_url}/evidence",
             "type": "absolute"},
            {"label": "Open the calculator (enter values by hand)", "url": f"{base_url}/",
             "type": "absolute"}]


def _hazard(rh: Mapping[str, Any]) -> str:
    if rh["reference_group"]:
        return "1.00 (reference)"
    return f"{significant(rh['value'])} (95% CI {interval(rh['ci'])})"


def summary(without: Mapping[str, Any], with_spread: Mapping[str, Any]) -> str:
    """``PNI 40.5 (low), AFP ≥ 200 ng/mL: relative hazard 8.21 without, 20.0 with
    extrahepatic spread``; cut to the CDS Hooks limit if ever longer."""
    afp = next(f for f in without["factors"] if f["name"] == "afp")
    pni = without["pni"]
    rh0, rh1 = without["relative_hazard"], with_spread["relative_hazard"]
    first = "1.00 (reference)" if rh0["reference_group"] else significant(rh0["value"])
    text = (f"PNI {pni['display']} ({pni['category']}), "
            f"{factor_name('afp') if afp['adverse'] else factor_name('afp').replace('≥', '<')}"
            f": relative hazard {first} without, {significant(rh1['value'])} with "
            "extrahepatic spread")
    return text if len(text) <= MAX_SUMMARY_CHARS else text[:MAX_SUMMARY_CHARS - 1] + "…"


def _factor_rows(data: Mapping[str, Any]) -> list[str]:
    rows = ["| Factor | This patient | Hazard ratio (95% CI), p |", "|---|---|---|"]
    for f in data["factors"]:
        if f["name"] == "extrahepatic_spread":
            state = "not a lab, not in the record: both results below"
        else:
            state = "present" if f["adverse"] else "absent"
        star = "" if f["independent"] else " (not independent)"
        rows.append(f"| {factor_name(f['name'])}{star} | {state} | "
                    f"{significant(f['hr'])} ({interval(f['ci'])}), p = {f['p']} |")
    return rows


def _labs(data: Mapping[str, Any]) -> list[str]:
    lines = []
    for item in data["inputs"]:
        source = item.get("source")
        if source is None:
            continue
        used = f"{number(item['value'])} {pretty_unit(item['canonical_unit'] or '')}".strip()
        entered = f"{number(item['entered'])} {pretty_unit(item['unit'] or '')}".strip()
        shown = entered if entered == used else f"{entered} = {used}"
        lines.append(f"- {label(item['field'])}: {shown}, taken {item['date']} "
                     f"(Observation {source['id'] or 'without id'}, LOINC {source['code']}, "
                     f"{source['status']})")
    return lines


def profile_card(without: FhirScore, with_spread: FhirScore, labs: Labs, now: datetime,
                 base_url: str) -> dict[str, Any]:
    """The card of a profile computed without and with extrahepatic spread."""
    data0, data1 = without.to_dict(), with_spread.to_dict()
    pni, rh0, rh1 = data0["pni"], data0["relative_hazard"], data1["relative_hazard"]
    detail = [
        f"**{pni['label']}: {pni['display']}, {pni['category']}** ({pni['rule']}).",
        "", *_factor_rows(data1), "",
        f"**Relative hazard** for {published.ENDPOINT}, against a "
        f"{rh0['reference']} ({rh0['meaning']}):", "",
        f"- without extrahepatic spread: **{_hazard(rh0)}**",
        f"- with extrahepatic spread: **{_hazard(rh1)}**", "",
        "**Labs read from the record**", "", *_labs(data0)]
    if data0["warnings"]:
        detail += ["", "**Warnings**", "",
                   *(f"- {label(w['field'])}: {w['message']}" for w in data0["warnings"])]
    detail += ["", f"The model was {data0['applicability']}. {data0['limit']} "
                   f"Model: {published.CITATION}, doi:{published.DOI}."]
    dated = lab_date_warnings(labs.dates, now.date())
    return {"uuid": str(uuid.uuid4()), "summary": summary(data0, data1),
            "indicator": "warning" if dated else "info", "detail": "\n".join(detail),
            "source": _source(base_url), "links": _links(base_url)}


def not_calculated_card(error: InputError, base_url: str) -> dict[str, Any]:
    """The card when the record's labs cannot give a profile: what is missing or wrong."""
    problems = error.errors
    fields = list(dict.fromkeys(label(p.field.removesuffix("_unit")) for p in problems))
    text = (f"Prognostic profile (PNI, AFP) not calculated: check "
            f"{', '.join(fields[:2])}{' and more' if len(fields) > 2 else ''} in the record")
    if len(text) > MAX_SUMMARY_CHARS:
        text = "Prognostic profile (PNI, AFP) not calculated: labs missing or unreadable"
    detail = ["The profile needs the latest final serum albumin, absolute lymphocyte count "
              "and AFP; it is never computed from a guess.", "",
              *(f"- {p.message}" for p in problems), "",
              "The values can be entered by hand in the calculator."]
    return {"uuid": str(uuid.uuid4()), "summary": text, "indicator": "info",
            "detail": "\n".join(detail), "source": _source(base_url),
            "links": _links(base_url)}
