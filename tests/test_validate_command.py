"""``hcc-prognosis validate`` (simulation.commands.validate) and its report
(simulation.reports.validation).

The JSON is the record of :func:`simulation.paper.validation.validate`; the file is read
and refused as ``analyze`` reads and refuses it; the report is one self-contained file
whose keyed numbers equal the JSON, with the two figures.
"""

import json

import numpy as np
import pytest

from calculator.cli import main
from simulation.cohorts.cohort_io import read_cohort, write_cohort
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.commands.validate import DEFAULT_TAU
from simulation.paper.validation import DEFAULT_TAU_MONTHS, validate
from simulation.reports.figures import HazardRatioRow, hazard_ratio_figure
from tests.report_html_parse import parse_report, resolve


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory) -> str:
    cohort = generate_cohort(get_scenario("tog2025"), 120, np.random.default_rng(1))
    cohort["albumin_g_l"] = cohort["albumin_g_l"].astype(float)
    cohort["albumin_g_l"][3] = np.nan
    path = tmp_path_factory.mktemp("validate") / "cohort.csv"
    write_cohort(cohort, path)
    return str(path)


def test_default_tau_in_the_help_is_the_validation_default() -> None:
    assert DEFAULT_TAU == DEFAULT_TAU_MONTHS


def test_json_is_the_validation_record(cohort_csv, capsys) -> None:
    assert main(["validate", cohort_csv, "--json", "--tau", "9"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(validate(read_cohort(cohort_csv), tau=9.0)))
    assert printed["n"] == 119 and printed["rows"] == 120


def test_text_gives_the_measures_the_groups_and_the_warnings(cohort_csv, capsys) -> None:
    assert main(["validate", cohort_csv]) == 0
    out = capsys.readouterr().out
    record = validate(read_cohort(cohort_csv))
    lines = {line.split("  ")[1]: line for line in out.splitlines()
             if line.startswith("  ") and "  " in line[2:]}
    c = record["c_harrell"]
    assert f"{c['value']:.3f} (95% CI {c['ci'][0]:.3f}–{c['ci'][1]:.3f})" in lines[
        "Harrell's C"]
    slope = record["calibration_slope"]
    assert f"{slope['value']:.3f} (95% CI" in lines["Calibration slope"]
    assert f"p {slope['test_slope_1']['p']:.3f}" in lines["Calibration slope"]
    assert "119 patients with OS and the three factors (of 120 rows)" in out
    assert "Uno's C, tau 12 months" in out and "Log-rank test for trend" in out
    assert "reference" in out and "Warnings:" in out
    assert "at least 100 deaths" in out


def test_bad_csv_is_refused_as_analyze_refuses_it(tmp_path, bad_cohort_csv, capsys) -> None:
    path = bad_cohort_csv
    assert main(["validate", str(path)]) == 2
    validate_err = capsys.readouterr().err
    assert main(["analyze", str(path)]) == 2
    analyze_err = capsys.readouterr().err
    assert validate_err.replace("validate", "analyze") == analyze_err
    assert main(["validate", str(path), "--json"]) == 2
    errors = json.loads(capsys.readouterr().err)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "sex"), (2, "albumin_g_l")]
    assert main(["validate", str(tmp_path / "absent.csv")]) == 2
    assert "cannot find the file" in capsys.readouterr().err


@pytest.mark.parametrize("tau", ["0", "-3", "nan", "inf"])
def test_bad_tau_exits_2_with_a_hint(cohort_csv, tau, capsys) -> None:
    assert main(["validate", cohort_csv, "--tau", tau]) == 2
    err = capsys.readouterr().err
    assert "--tau must be a positive number of months" in err and "e.g. --tau 12" in err


@pytest.fixture(scope="module")
def report_run(cohort_csv, tmp_path_factory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("validate_report") / "report.html"
    assert main(["validate", cohort_csv, "--report", str(out)]) == 0
    return out.read_text(encoding="utf-8"), validate(read_cohort(cohort_csv))


def test_report_is_one_self_contained_file_with_the_figures(report_run) -> None:
    text, _ = report_run
    report = parse_report(text)
    assert report.external == [] and "script" not in report.tags
    assert "default-src 'none'" in text
    assert set(report.images) == {"fig-km-groups", "fig-hr"}
    assert all(png.startswith(b"\x89PNG") for png in report.images.values())
    assert {"overview", "measures", "risk-groups"} <= set(report.tables)
    assert "Observed against published hazard ratios" in report.text
    assert "Calibration in the large" in report.text


def test_report_numbers_equal_the_json(report_run) -> None:
    text, record = report_run
    cells = parse_report(text).keyed()
    assert {"c_harrell.value", "c_uno.value", "calibration_slope.value",
            "calibration_slope.test_slope_1.p", "logrank_trend.p",
            "risk_groups.1.hr.value", "risk_groups.3.hr_published.value"} <= set(cells)
    for key, cell in cells.items():
        value = resolve(record, key)
        if value is None:
            assert cell.value == ""
        else:
            assert float(cell.value) == pytest.approx(float(value), rel=1e-12), key


def test_report_path_that_cannot_be_written_is_a_clear_error(cohort_csv, tmp_path,
                                                             capsys) -> None:
    target = tmp_path / "no-such-folder" / "report.html"
    assert main(["validate", cohort_csv, "--report", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "no-such-folder" in err


def test_hazard_ratio_figure_draws_both_estimates_on_a_log_axis() -> None:
    rows = [HazardRatioRow("0", None, None), HazardRatioRow("1", (2.0, 1.0, 4.0), (3.0, 2.0, 4.5)),
            HazardRatioRow("2", None, (8.0, 3.0, 20.0))]
    fig = hazard_ratio_figure(rows, title="t")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    points = sorted((float(line.get_xdata()[0]), float(line.get_ydata()[0]))
                    for line in ax.get_lines() if len(line.get_xdata()) == 1)
    # the reference diamond at 1, observed 2 above group 1, published 3 and 8 below 1, 2
    assert [x for x, _ in points] == [1.0, 2.0, 3.0, 8.0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["observed (this cohort)", "published (Table 4)", "reference group"]
