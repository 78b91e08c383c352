"""Table 1 of a cohort report: the analysis record's baseline summary beside the paper's.

The numbers come from the ``baseline`` part of the :func:`simulation.paper.analysis.analyze`
record (each category as ``n (%)`` of the patients with the value recorded, each number
as ``median (range)``, missing values counted apart), so the report shows exactly what
``analyze --json`` holds. The published column is Table 1 of Majidova et al. 2025
(:data:`calculator.published.TABLE1`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calculator.published import COHORT, TABLE1
from simulation.reports.html import Cell, Row, number, text

#: Characteristic -> (label, decimals of its median and range).
NUMBERS: dict[str, tuple[str, int]] = {
    "age": ("Age, years", 0),
    "afp_ng_ml": ("AFP, ng/mL", 1),
    "albumin_g_l": ("Albumin, g/L", 1),
    "lymphocytes_10e9_l": ("Lymphocytes, 10^9/L", 2),
    "pni": ("PNI (albumin g/L + 5 x lymphocytes 10^9/L)", 1),
    "bilirubin_mg_dl": ("Total bilirubin, mg/dL", 2),
    "inr": ("INR", 2),
}
#: Characteristic -> (heading, level -> label), levels in display order.
CATEGORIES: dict[str, tuple[str, dict[str, str]]] = {
    "sex": ("Sex", {"M": "Male", "F": "Female"}),
    "ecog": ("ECOG performance status", {"0": "0", "1": "1", "2": "2"}),
    "child_pugh_score": ("Child-Pugh score", {str(s): str(s) for s in range(5, 16)}),
    "etiology": ("Etiology", {"hbv": "Hepatitis B", "hcv": "Hepatitis C", "nash": "NASH",
                              "alcohol": "Alcohol", "other": "Other / unknown"}),
    "cirrhosis": ("Cirrhosis", {"1": "Yes", "0": "No"}),
    "extrahepatic_spread": ("Extrahepatic spread", {"1": "Yes", "0": "No"}),
    "treatment": ("Second-line treatment", {"sorafenib": "Sorafenib",
                                            "regorafenib": "Regorafenib",
                                            "cabozantinib": "Cabozantinib",
                                            "other": "Other"}),
}
HEADERS = ("Characteristic", "This cohort", "Missing",
           f"Published (Table 1, n = {COHORT['n']})")


def _published_share(name: str, level: str) -> str:
    """The paper's share for a category level, where Table 1 prints one."""
    entry = TABLE1.get(name)
    if name == "sex":
        entry = {"M": TABLE1["male"], "F": 1 - TABLE1["male"]}
    elif name in ("cirrhosis", "extrahepatic_spread"):
        entry = {"1": TABLE1[name], "0": 1 - TABLE1[name]}
    elif name == "ecog":
        entry = {"0": TABLE1["ecog"]["0"]}
    elif name == "child_pugh_score":
        entry = {str(k): v for k, v in TABLE1["child_pugh_score"].items()}
    if not isinstance(entry, Mapping) or level not in entry:
        return ""
    return f"{entry[level]:.1%}"


def _published_spread(name: str) -> str:
    entry = TABLE1.get(name)
    if not isinstance(entry, Mapping) or "median" not in entry:
        return ""
    low, high = entry["range"]
    return f"{entry['median']:g} ({low:g}-{high:g})"


def _missing(item: Mapping[str, Any], key: str) -> Cell:
    return number(item["missing"], "d", key=f"{key}.missing") if item["missing"] else text("")


def _spread_cell(item: Mapping[str, Any], key: str, digits: int) -> Cell:
    if item["median"] is None:
        return Cell("-", None, f"{key}.median", numeric=True)
    fmt = f".{digits}f"
    return Cell(f"{item['median']:{fmt}} ({item['min']:{fmt}}-{item['max']:{fmt}})",
                float(item["median"]), f"{key}.median", numeric=True)


def _count_cell(count: int, recorded: int, key: str | None) -> Cell:
    share = f" ({count / recorded:.1%})" if recorded else ""
    return Cell(f"{count}{share}", float(count), key, numeric=True)


def table1_rows(baseline: Mapping[str, Mapping[str, Any]]) -> list[Row]:
    """Rows of Table 1 from the record's ``baseline``.

    Category levels are those the paper prints and those the cohort has; a level the
    cohort lacks shows 0. A cell's ``data-key`` is its path in the record
    (``baseline.<name>.counts.<level>``, ``baseline.<name>.median``).
    """
    rows: list[Row] = [Row("Continuous characteristics, median (range)", group=True)]
    for name, (label, digits) in NUMBERS.items():
        if name not in baseline:
            continue
        item = baseline[name]
        key = f"baseline.{name}"
        rows.append(Row(label, (_spread_cell(item, key, digits), _missing(item, key),
                                text(_published_spread(name)))))
    for name, (heading, labels) in CATEGORIES.items():
        if name not in baseline:
            continue
        item = baseline[name]
        key = f"baseline.{name}"
        counts: Mapping[str, int] = item["counts"]
        shown = [level for level in labels if level in counts or _published_share(name, level)]
        shown += [level for level in counts if level not in shown]
        pooled = (f"1-2: {TABLE1['ecog']['1-2']:.1%}" if name == "ecog" else "")
        rows.append(Row(f"{heading}, n (%)", (text(""), _missing(item, key), text(pooled)),
                        heading=True))
        for level in shown:
            present = level in counts
            rows.append(Row(labels.get(level, level),
                            (_count_cell(int(counts.get(level, 0)), int(item["n"]),
                                         f"{key}.counts.{level}" if present else None),
                             text(""), text(_published_share(name, level))), indent=True))
    return rows
