"""The HTML reports: they build, hold the expected tables and images, and their numbers are
those of ``analyze --json`` and ``summarize --json``."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from calculator.cli import main
from calculator.formatting import interval
from tests.report_html_parse import parse_report, resolve

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_self_contained(report) -> None:
    assert report.external == []                     # nothing fetched from elsewhere
    assert not report.tags & {"script", "link", "iframe", "object", "embed"}
    for png in report.images.values():
        assert png.startswith(PNG_SIGNATURE)


def _check_keyed_numbers(report, record) -> int:
    """Every keyed cell holds exactly the record's number at its key (repr precision)."""
    checked = 0
    for cell in report.cells:
        expected = resolve(record, cell.key)
        if cell.value == "":
            assert expected is None or (isinstance(expected, float) and not math.isfinite(expected)), cell
        else:
            assert float(cell.value) == float(expected), cell
        checked += 1
    return checked


# ---------------------------------------------------------------------------------------
# Cohort report
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cohort_run(tmp_path_factory):
    """``cohort`` then ``analyze --json --report`` through the CLI, as a user runs them."""
    folder = tmp_path_factory.mktemp("cohort")
    csv = folder / "cohort.csv"
    out = folder / "report.html"
    assert main(["cohort", "--scenario", "tog2025", "--n", "58", "--seed", "1",
                 "--out", str(csv)]) == 0
    buffer = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(buffer):
        status = main(["analyze", str(csv), "--json", "--report", str(out)])
    assert status == 0
    record = json.loads(buffer.getvalue())
    return csv, record, out.read_text(encoding="utf-8")


def test_cohort_report_is_one_self_contained_file_with_the_papers_tables_and_figures(cohort_run):
    _, record, text = cohort_run
    report = parse_report(text)
    _check_self_contained(report)
    assert "Content-Security-Policy" in text and "@media print" in text
    assert {"overview", "table1", "km-os", "km-pfs", "logrank", "roc", "table4"} <= \
        set(report.tables)
    assert set(report.images) == {"fig-km-afp", "fig-km-pni", "fig-roc"}
    # Table 4 lists the eight factors, with multivariable estimates for those entered.
    table4 = report.tables["table4"]
    assert len(table4) == 1 + 8
    entered = record["cox"]["multivariable"]["entered"]
    assert entered  # the tog2025 cohort of seed 1 enters factors
    for row in table4[1:]:
        assert (row[5] == "not entered") == all(
            not row[0].startswith(label) for label in _labels(entered))


def _labels(factors):
    from simulation.reports.cohort import FACTOR_ROWS

    return [FACTOR_ROWS[f][0] for f in factors]


def test_cohort_report_numbers_equal_analyze_json(cohort_run):
    _, record, text = cohort_run
    report = parse_report(text)
    keyed = report.keyed()
    assert _check_keyed_numbers(report, record) >= 100
    # The paper's numbers are all there: every KM median, log-rank p, Cox HR and p.
    for endpoint in ("os", "pfs"):
        for group in record["km"][endpoint]:
            assert f"km.{endpoint}.{group}.median" in keyed
    for name in record["logrank"]:
        assert f"logrank.{name}.p" in keyed
    for factor, entry in record["cox"]["univariable"].items():
        cell = keyed[f"cox.univariable.{factor}.hr"]
        assert cell.text == (f"{entry['hr']:.2f} "
                             f"({interval(*entry['ci'], fmt='.2f')})")
    for factor in record["cox"]["multivariable"]["entered"]:
        assert f"cox.multivariable.{factor}.p" in keyed
    for key in ("roc.auc", "roc.youden_cutoff", "roc.sensitivity", "roc.specificity",
                "n", "deaths", "median_followup_months", "pni_cutoff_used"):
        assert key in keyed
    assert keyed["roc.auc"].text == f"{record['roc']['auc']:.3f}"
    # Table 1 shows the record's baseline: every count and median is keyed.
    for name, item in record["baseline"].items():
        if "counts" in item:
            for level, count in item["counts"].items():
                cell = keyed[f"baseline.{name}.counts.{level}"]
                assert cell.text == f"{count} ({count / item['n']:.1%})"
        else:
            assert f"baseline.{name}.median" in keyed


def test_cohort_figures_draw_the_analysed_groups(cohort_run):
    from simulation.cohorts.cohort_io import read_cohort
    from simulation.reports.cohort import coded_cohort, survival_groups

    csv, record, _ = cohort_run
    coded = coded_cohort(read_cohort(csv), record)
    for factor, name, (zero, one) in (("afp", "afp", ("afp_low", "afp_high")),
                                      ("pni_low", "pni", ("pni_high", "pni_low"))):
        groups = survival_groups(coded, factor, ("reference", "adverse"))
        sizes = [g.observed()[0].size for g in groups]
        deaths = [int(g.observed()[1].sum()) for g in groups]
        assert sizes == [record["km"]["os"][zero]["n"], record["km"]["os"][one]["n"]]
        assert deaths == [record["km"]["os"][zero]["events"], record["km"]["os"][one]["events"]]
        assert record["logrank"][name]["n_used"] == sum(sizes)


def test_cohort_report_of_a_degenerate_cohort_explains_what_is_missing(tmp_path):
    """No survivors: no ROC, no Youden cut-off, no PNI groups; the report still builds."""
    from simulation.cohorts.generate import generate_cohort
    from simulation.cohorts.scenarios import get_scenario
    from simulation.paper.analysis import analyze
    from simulation.reports.cohort import cohort_report_html

    cohort = generate_cohort(get_scenario("tog2025"), 20, np.random.default_rng(3))
    cohort["os_event"] = np.ones(20)
    cohort["albumin_g_l"] = cohort["albumin_g_l"].astype(float)
    cohort["albumin_g_l"][:3] = np.nan                          # missing values too
    record = analyze(cohort, pni_cutoff="youden")
    assert record["roc"]["auc"] is None and record["pni_cutoff_used"] is None
    text = cohort_report_html(cohort, record, source="<b>odd & name</b>.csv")
    report = parse_report(text)
    _check_self_contained(report)
    assert set(report.images) == {"fig-km-afp"}
    assert "No ROC curve" in report.text and "No PNI groups" in report.text
    assert "&lt;b&gt;odd &amp; name&lt;/b&gt;.csv" in text and "<b>odd" not in text
    assert "albumin_g_l 3" in report.text                       # missing values reported
    _check_keyed_numbers(report, json.loads(json.dumps(record)))
    assert report.keyed()["roc.auc"].text == "-"


def test_report_path_that_cannot_be_written_is_a_clear_error(cohort_run, tmp_path, capsys):
    csv, _, _ = cohort_run
    target = tmp_path / "no-such-folder" / "r.html"
    assert main(["analyze", str(csv), "--json", "--report", str(target)]) == 2
    err = capsys.readouterr().err
    assert "--report: cannot write" in err and "no-such-folder" in err


# ---------------------------------------------------------------------------------------
# Study report
# ---------------------------------------------------------------------------------------

def _run_cli(args):
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(args)
    return status, buffer.getvalue()


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    """A small study (two scenarios, 30 replicates of 25 patients: small enough that some
    fits separate), its ``summarize --json`` rows and its report, all through the CLI."""
    folder = tmp_path_factory.mktemp("study")
    study = folder / "study.sqlite"
    status, _ = _run_cli(["simulate", "--scenario", "tog2025", "--scenario", "tog2025-null",
                          "--replicates", "30", "--seed", "3", "--n", "25", "--workers", "1",
                          "--chunk-size", "30", "--reference-n", "2000", "--no-progress",
                          "--out", str(study)])
    assert status == 0
    status, out = _run_cli(["summarize", str(study), "--json"])
    assert status == 0
    rows = json.loads(out)
    report = folder / "report.html"
    status, _ = _run_cli(["report", str(study), "-o", str(report), "--png-dir",
                          str(folder / "png")])
    assert status == 0
    return study, rows, report.read_text(encoding="utf-8"), folder / "png"


def _summary_value(rows, key):
    scenario, method, estimand, field = key.split("|")
    (row,) = [r for r in rows if (r["scenario"], r["method"], r["estimand"]) ==
              (scenario, method, estimand)]
    return row[field]


def test_study_report_holds_ademp_tables_and_figures(study_run):
    _, rows, text, png_dir = study_run
    report = parse_report(text)
    _check_self_contained(report)
    for heading in ("Aims", "Data-generating mechanisms", "Estimands", "Methods",
                    "Performance measures", "Rejection under the null", "Failures"):
        assert f">{heading}</h2>" in text
    assert {"scenarios", "performance-tog2025", "performance-tog2025-null", "cutoffs",
            "null-rejection", "failures", "ledger"} <= set(report.tables)
    assert set(report.images) == {"fig-cutoff", "fig-bias", "fig-coverage", "fig-rejection"}
    assert sorted(p.name for p in png_dir.iterdir()) == ["bias.png", "coverage.png",
                                                          "cutoff.png", "rejection.png"]
    assert (png_dir / "cutoff.png").read_bytes() == report.images["fig-cutoff"]
    # The data-generating table shows the true HRs: tog2025's published PNI step.
    scenarios = {row[0]: row for row in report.tables["scenarios"][1:]}
    assert scenarios["tog2025"][2] == "25"                     # patients per cohort (--n)
    assert scenarios["tog2025"][6] == "HR 4.17 below 47.6 (step)"
    assert scenarios["tog2025-null"][6] == "no effect"
    assert scenarios["tog2025"][-1] == "30 / 30"
    # Only the null scenario has type I errors (tog2025: every estimand's factor acts).
    groups = [row[0] for row in report.tables["null-rejection"][1:]
              if row[0].startswith("Scenario")]
    assert groups == ["Scenario tog2025-null"]


def test_study_report_numbers_equal_summarize_json(study_run):
    from simulation.paper.methods import LOGHR_ESTIMANDS, SELECTED_ESTIMANDS

    _, rows, text, _ = study_run
    report = parse_report(text)
    checked = 0
    for cell in report.cells:
        if "|" not in cell.key:
            continue
        expected = _summary_value(rows, cell.key)
        if cell.value == "":
            assert expected is None, cell
        else:
            assert float(cell.value) == float(expected), cell
        checked += 1
    mcse = [c for c in report.cells if c.key and "|" in c.key]
    assert checked >= 400
    # Every measure of every row is shown, with its MCSE.
    keys = {c.key for c in report.cells}
    fields = {"loghr": ("bias", "empse", "modse", "relerr_modse", "mse", "coverage",
                        "rejection", "truth", "n_used"),
              "cutoff": ("mean", "sd", "q025", "median", "q975", "share_at_boundary",
                         "share_small_group"),
              "selected": ("rejection",)}
    for r in rows:
        kind = ("loghr" if r["estimand"] in LOGHR_ESTIMANDS else
                "selected" if r["estimand"] in SELECTED_ESTIMANDS else "cutoff")
        for field in fields[kind]:
            assert f"{r['scenario']}|{r['method']}|{r['estimand']}|{field}" in keys
    # A cell's text is its value and MCSE, as printed: bias to 3 decimals, shares in %.
    by_key = {c.key: c for c in mcse}
    row = next(r for r in rows if r["estimand"] == "pni_mv_loghr" and r["method"] == "fixed"
               and r["scenario"] == "tog2025")
    bias = by_key["tog2025|fixed|pni_mv_loghr|bias"]
    assert bias.text == f"{row['bias']:.3f} ({row['bias_mcse']:.3f})"
    coverage = by_key["tog2025|fixed|pni_mv_loghr|coverage"]
    assert coverage.text == f"{100 * row['coverage']:.1f} ({100 * row['coverage_mcse']:.1f})"
    failed = [r for r in rows if r["n_failed"]]
    assert failed  # 25-patient cohorts separate now and then
    for r in failed:
        cell = by_key[f"{r['scenario']}|{r['method']}|{r['estimand']}|n_failed"]
        assert cell.text == f"{r['n_failed']} ({100 * r['n_failed'] / r['n_rep']:.1f}%)"


def test_study_report_mcse_attributes_equal_summarize_json(study_run):
    from tests.report_html_parse import parse_mcse

    _, rows, text, _ = study_run
    pairs = parse_mcse(text)
    assert len(pairs) >= 300
    for key, value in pairs:
        expected = _summary_value(rows, key)
        assert (value == "" and expected is None) or float(value) == float(expected), key


def test_cutoff_histogram_draws_each_replicates_cutoff(study_run):
    from simulation.reports.study import read_study

    study, rows, _, _ = study_run
    data = read_study(study)
    for r in (r for r in rows if r["estimand"] == "cutoff"):
        values = data.cutoffs[r["scenario"]][r["method"]]
        assert values.size == r["n_rep"]
        finite = values[np.isfinite(values)]
        assert finite.size == r["n_used"]
        assert float(np.median(finite)) == pytest.approx(r["median"], rel=1e-12)


def test_report_of_a_file_that_is_not_a_study_is_a_clear_error(tmp_path, capsys):
    not_study = tmp_path / "notes.txt"
    not_study.write_text("hello\n")
    assert main(["report", str(not_study), "-o", str(tmp_path / "r.html")]) == 2
    assert main(["report", str(tmp_path / "missing.sqlite"), "-o",
                 str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "is not a readable study file" in err and "there is no file" in err
    assert not (tmp_path / "r.html").exists()
