"""The note for the record: the result as plain text to paste into a patient's notes.

It carries what a later reader needs to trust or question the number: when it was
calculated, every input as entered and as used, the categories, the relative hazard with
its CI and endpoint, the model version and the one-line limit. Pure: the time is the
one the caller passed to :func:`calculator.score`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calculator.formatting import interval, plain, written
from calculator.labels import factor_name, label, with_unit
from calculator.profile import RiskProfile

TITLE = "HCC second-line prognosis (Majidova et al. 2025): note for the record"


def format_time(moment: datetime | None) -> str:
    """A calculation time as the note and the printed page show it.

    >>> from datetime import timezone, timedelta
    >>> format_time(datetime(2025, 3, 1, 14, 5, 9, tzinfo=timezone(timedelta(hours=2))))
    '2025-03-01 14:05 (UTC+02:00)'
    >>> format_time(None)
    'time not given'
    """
    if moment is None:
        return "time not given"
    offset = moment.strftime("%z")
    zone = f" (UTC{offset[:3]}:{offset[3:]})" if offset else ""
    return f"{moment:%Y-%m-%d %H:%M}{zone}"


def _used(item: dict[str, Any]) -> str:
    value = item["value"]
    if isinstance(value, bool):
        return "present" if value else "absent"
    if isinstance(value, str):
        return value
    return with_unit(written(value), item["canonical_unit"])


def record_note(profile: RiskProfile) -> str:
    """The plain-text note for the record.

    >>> from calculator import score
    >>> note = record_note(score({"albumin": 45, "lymphocytes": 2, "afp": 20,
    ...                           "extrahepatic_spread": "no"}))
    >>> print(note.splitlines()[1])
    Calculated: time not given
    """
    data = profile.to_dict()
    rh = data["relative_hazard"]
    lines = [TITLE, f"Calculated: {format_time(profile.calculated_at)}"]
    if data["lab_date"]:
        lines.append(f"Labs dated: {data['lab_date']}")
    lines.append("Inputs (as entered → as used):")
    for item in data["inputs"]:
        entered = with_unit(written(item["entered"]), item["unit"])
        lines.append(f"  {label(item['field'])}: {entered} → {_used(item)}")
    pni = data["pni"]
    lines.append(f"{pni['label']}: {pni['display']}, {pni['category']} "
                 f"(high if ≥ {plain(pni['cutoff'])})"
                 + (f"; near the cut-off, category uncertain (data-driven cut-off 95% range "
                    f"{pni['cutoff_range']['low']:.1f}–{pni['cutoff_range']['high']:.1f})"
                    if pni["near_cutoff"] else ""))
    present = [factor_name(f["name"]) for f in data["factors"] if f["independent"] and f["adverse"]]
    absent = [factor_name(f["name"]) for f in data["factors"]
              if f["independent"] and not f["adverse"]]
    lines.append(f"Adverse factors present ({data['adverse_count']} of 3): "
                 f"{', '.join(present) or 'none'}" + (f"; absent: {', '.join(absent)}"
                                                       if absent else ""))
    cp = data["child_pugh"]
    if cp:
        score_text = f"score {cp['score']}, " if cp["score"] is not None else ""
        lines.append(f"Child-Pugh: {score_text}class {cp['class']} (not in the hazard)")
    if rh["reference_group"]:
        lines.append(f"Relative hazard: reference group (none of the three factors); "
                     f"{rh['endpoint']}")
    else:
        lines.append(f"Relative hazard {rh['value']:#.3g} (95% CI "
                     f"{interval(rh['ci'][0], rh['ci'][1], '#.3g')}) vs a {rh['reference']}; "
                     f"{rh['endpoint']}; {rh['meaning']}")
        lines.append(f"  Re-estimated by simulation: {rh['reestimate']['text']} "
                     "(factors' intervals combined as independent; < or > a bound)")
    ev = data["evidence"]
    reestimated = [f"{factor_name(f['name'])} {f['reestimate']['text']}"
                   for f in data["factors"] if f["reestimate"]]
    lines.append(f"HRs {ev['label']} (published HRs are the primary figures): "
                 + "; ".join(reestimated))
    lines.append(f"  {ev['false_findings']['line']}")
    for warning in data["warnings"]:
        lines.append(f"Warning ({label(warning['field'])}): {warning['message']}")
    model = data["model"]
    lines += [f"Model: {model['source']}, doi:{model['doi']}, "
              f"{model['published_model_version']}; hcc-prognosis {model['version']}",
              f"Limit: {data['limit']}"]
    return "\n".join(lines)
