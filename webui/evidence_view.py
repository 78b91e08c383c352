"""``GET /evidence``: how far the published numbers can be trusted, by simulation.

Shows the shipped evidence file (:mod:`calculator.evidence`): each factor's belts with the
published estimate and the interval read off them, the re-estimates under the main
assumptions and the sensitivity analyses, the Youden cut-off's distribution with 47.6
marked, the calibration check on held-out studies, and the provenance. Nothing here is
computed anew; the charts only place the file's numbers (:mod:`webui.evidence_charts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template

from calculator import evidence, published, score
from calculator.evidence import hr_text
from calculator.labels import factor_name
from webui.evidence_charts import belt_chart, calibration_chart, cutoff_chart
from webui.presentation import interval, significant
from webui.result_view import table4_rows

bp = Blueprint("evidence", __name__)

BELTS = ("as_published", "always_fitted")
#: A patient with the three adverse factors (AFP >= 200, spread, PNI 35 < 47.6).
ALL_ADVERSE = {"albumin": 30, "lymphocytes": 1.0, "afp": 1000, "extrahepatic_spread": True}


@bp.app_template_filter("belt_text")
def belt_text(result: Mapping[str, Any]) -> str:
    """A belt's re-estimate and interval as the bedside writes it, bounds marked.

    >>> belt_text({"estimate": {"open": None, "hr": 4.05, "bound_hr": None},
    ...            "interval": {"hr": [1.16, 33.1], "open": [True, True]}})
    '4.05 (<1.16 to >33.1)'
    """
    est, ci = result["estimate"], result["interval"]
    side = est["open"]
    point = hr_text(est["bound_hr"] if side else est["hr"], side)
    if ci["hr"][0] is None:
        return f"{point} (no interval)"
    low = hr_text(ci["hr"][0], "below" if ci["open"][0] else None)
    high = hr_text(ci["hr"][1], "above" if ci["open"][1] else None)
    return f"{point} ({low} to {high})"


@bp.app_template_filter("mcse_text")
def mcse_text(result: Mapping[str, Any]) -> str:
    """Monte Carlo SEs of a re-estimate and its limits (log scale); none for an open one.

    >>> mcse_text({"estimate": {"mcse_log_hr": 0.012},
    ...            "interval": {"mcse_log_hr": [None, 0.03]}})
    'estimate 0.012 · lower limit open · upper 0.030'
    """
    def one(name: str, value: float | None) -> str:
        return f"{name} open" if value is None else f"{name} {value:.3f}"

    low, high = result["interval"]["mcse_log_hr"]
    return " · ".join((one("estimate", result["estimate"]["mcse_log_hr"]),
                       one("lower limit", low), one("upper", high)))


@bp.app_template_filter("sentence")
def sentence(text: str) -> str:
    """First letter up, the rest as written (``no PNI threshold`` -> ``No PNI threshold``).

    >>> sentence("no PNI threshold")
    'No PNI threshold'
    """
    return text[:1].upper() + text[1:]


def _published_text(factor: str) -> str:
    hr = published.table4_row(factor).adverse()
    return f"{significant(hr.hr)} ({interval((hr.lower, hr.upper))})"


def evidence_context() -> dict[str, Any]:
    """Template variables of the evidence page."""
    shipped = evidence.load()
    doc = shipped.document
    main_name = doc["main_family"]
    main = doc["families"][main_name]
    factors = []
    for factor in published.INDEPENDENT_FACTORS:
        entry = main["factors"][factor]
        curves = doc["curves"][factor]
        label = factor_name(factor)
        charts = {belt: belt_chart(curves[belt], entry[belt], label, entry[belt]["title"])
                  for belt in BELTS}
        calibration = calibration_chart(
            label, [(entry[belt]["title"], curves[belt]) for belt in BELTS],
            entry[BELTS[0]]["grid_range_log_hr"])
        factors.append({"name": factor, "label": label, "published": _published_text(factor),
                        "entry": entry, "charts": charts, "calibration": calibration})
    cut = main["cutoff"]
    # The patient with all three adverse factors, scored like any other.
    worst = score(ALL_ADVERSE).relative_hazard
    sensitivity = [{"name": name, **doc["families"][name]} for name in doc["family_order"]]
    return {
        "shipped": shipped, "doc": doc, "main": main, "factors": factors, "belts": BELTS,
        "cutoff": cut,
        "cutoff_chart": cutoff_chart(doc["cutoff_histogram"], cut,
                                     float(published.PNI_CUTOFF.value)),
        "all_adverse": worst,
        "sensitivity": sensitivity,
        "provenance": doc["provenance"], "design": doc["design"],
        # The study as published (Table 4, the paper's inconsistencies), open here.
        "table4": table4_rows(), "evidence_open": True,
    }


@bp.get("/evidence")
def page() -> str:
    """The evidence page."""
    return render_template("evidence.html", **evidence_context())
