"""What the result page shows for one risk profile, gathered from the core's output."""

from __future__ import annotations

from typing import Any

from calculator import RiskProfile, published
from webui.chart import ForestChart, Interval, forest_chart
from webui.presentation import SHORT_FACTOR_NAMES, interval, significant


def chart_of(result: dict[str, Any]) -> ForestChart:
    """Forest chart rows: each independent factor's HR, then this patient's combined RH."""
    rows = [Interval(SHORT_FACTOR_NAMES.get(f["name"], f["name"]), f["hr"], f["ci"][0],
                     f["ci"][1], "present" if f["adverse"] else "absent")
            for f in result["factors"] if f["independent"]]
    rh = result["relative_hazard"]
    rows.append(Interval("This patient", rh["value"], rh["ci"][0], rh["ci"][1],
                         "reference" if rh["reference_group"] else "combined"))
    return forest_chart(rows)


def chart_summary(result: dict[str, Any]) -> str:
    """The chart in one sentence, for screen readers."""
    parts = [f"{SHORT_FACTOR_NAMES.get(f['name'], f['name'])}: "
             + (f"present, hazard ratio {significant(f['hr'])} (95% CI {interval(f['ci'])})"
                if f["adverse"] else
                f"absent, not applied (hazard ratio {significant(f['hr'])} if present)")
             for f in result["factors"] if f["independent"]]
    rh = result["relative_hazard"]
    if rh["reference_group"]:
        return "; ".join(parts) + ". This patient is in the reference group (no factor)."
    return ("; ".join(parts) + f". Relative hazard for this patient "
            f"{significant(rh['value'])} (95% CI {interval(rh['ci'])}).")


def table4_rows() -> list[dict[str, Any]]:
    """Table 4 as printed, with the adverse reading the calculator uses where it has one."""
    rows = []
    for row in published.TABLE4:
        adverse = (row.adverse() if row.multivariable is not None
                   and row.adverse_level != published.NOT_INTERPRETED else None)
        rows.append({"row": row, "adverse": adverse})
    return rows


def result_context(profile: RiskProfile) -> dict[str, Any]:
    """Template variables of the result page."""
    result = profile.to_dict()
    return {"result": result, "chart": chart_of(result),
            "by_field": {item["field"]: item for item in result["inputs"]},
            "chart_summary": chart_summary(result), "table4": table4_rows()}
