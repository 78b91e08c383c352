"""The evidence build end to end on a small budget: the staged run through the study
runner (Youden only, no large-sample references, resumable), the data file, the report's
evidence section and the command's errors (simulation.evidence.run, .build, .datafile,
simulation.reports.evidence, simulation.commands.evidence)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from calculator.evidence import parse
from simulation.evidence import design
from simulation.evidence.build import build
from simulation.evidence.design import MAIN_FAMILY, REPLICATES, GridPoint, grid_centi, points
from simulation.evidence.run import Budget, run_stages, top_up_plan
from simulation.reports.study import read_study, study_report_html
from simulation.study.measures import summary_rows
from simulation.study.store import Store

pytestmark = pytest.mark.slow

#: Small enough to run in seconds, large enough for belts (>= 40 estimates) at most points.
BUDGET = Budget(replicates=100, anchor_replicates=200, reported_target=30, max_replicates=300,
                chunk_size=100)


#: A coarser grid than the design's (steps of 0.25), so the test calibrates 44 scenarios.
STEP_CENTI = 25


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    folder = tmp_path_factory.mktemp("evidence")
    out = folder / "evidence.json"
    patch = pytest.MonkeyPatch()
    patch.setattr(design, "GRID_STEP_CENTI", STEP_CENTI)
    design._points_by_name.cache_clear()
    try:
        result = build(out, seed=5, families=(MAIN_FAMILY,), budget=BUDGET, workers=1,
                       progress=False, command=["hcc-prognosis", "evidence", "--test"])
        assert result.document is not None
        yield folder, result.document
    finally:
        patch.undo()
        design._points_by_name.cache_clear()


def test_the_study_file_is_an_ordinary_study_of_the_youden_method(built) -> None:
    folder, _ = built
    with Store(folder / "evidence.sqlite", create=False) as store:
        fingerprint = store.fingerprint()
        assert fingerprint["methods"] == ["youden"] and fingerprint["references"] is False
        assert store.table("reference") == []
        names = {name for name, _, _ in store.scenarios()}
        assert {p.name for p in points((MAIN_FAMILY,))} <= names
        assert {"tog2025", "tog2025-null-pni"} <= names
        rows = summary_rows(store)
    row = next(r for r in rows if r["scenario"] == GridPoint(MAIN_FAMILY, "pni", 150).name
               and r["estimand"] == "pni_mv_loghr")
    assert row["method"] == "youden" and row["truth"] == 1.5  # a grid point's truth: theta
    assert row["truth_kind"] == "generating"


def test_points_with_few_reports_get_more_replicates(built) -> None:
    _, document = built
    more = document["provenance"]["replicates_otherwise"]
    grid_more = {name: n for name, n in more.items() if name.startswith("ev-")}
    assert grid_more and set(grid_more.values()) <= {200, 300}  # whole blocks, at most 300
    assert more.get("tog2025") == BUDGET.anchor_replicates
    assert document["provenance"]["replicates_per_scenario"] == BUDGET.replicates


def test_a_second_run_resumes_and_runs_nothing(built) -> None:
    folder, _ = built
    stages = run_stages(folder / "evidence.sqlite", 5, points((MAIN_FAMILY,)), budget=BUDGET,
                        workers=1, progress=False)
    assert stages.written == 0 and stages.interrupted is None


def test_the_document_is_what_the_calculator_reads(built) -> None:
    folder, document = built
    text = (folder / "evidence.json").read_text(encoding="utf-8")
    assert json.loads(text) == document  # strict JSON (no NaN) round-trips
    shipped = parse(document)
    assert set(shipped.reestimates) == {"afp", "extrahepatic_spread", "pni"}
    provenance = document["provenance"]
    assert provenance["seed"] == 5 and provenance["command"] == "hcc-prognosis evidence --test"
    assert provenance["study_fingerprint"]["methods"] == ["youden"]
    for factor, curves in document["curves"].items():
        for belt in ("as_published", "always_fitted"):
            assert len(curves[belt]["theta"]) == len(grid_centi(factor))
            result = document["families"][MAIN_FAMILY]["factors"][factor][belt]
            assert result["grid_range_log_hr"][0] == -1.0
        fitted = document["families"][MAIN_FAMILY]["factors"][factor]["always_fitted"]
        assert fitted["calibration"]["held_out"] > 0  # 50 per fold: every point has a belt


def test_the_report_has_the_evidence_section_and_no_grid_tables(built) -> None:
    folder, _ = built
    data = read_study(folder / "evidence.sqlite")
    assert data.evidence is not None
    page = study_report_html(data, source="evidence.sqlite",
                             pngs={"cutoff": None, "bias": None, "coverage": None,
                                   "rejection": None})
    for section in ("evidence", "evidence-belts", "evidence-cutoff", "evidence-calibration",
                    "evidence-reestimates", "evidence-combined", "evidence-anchors"):
        assert f'id="{section}"' in page
    assert 'id="performance-tog2025"' in page
    assert "performance-ev-published" not in page
    assert f"an evidence grid of {len(points((MAIN_FAMILY,)))} points" in page


def test_top_up_plan_rounds_to_blocks_and_caps() -> None:
    a, b, c = (GridPoint("published", "afp", k) for k in (0, 5, 10))
    plan = top_up_plan({a: (0, 2000), b: (100, 2000), c: (5000, 2000)}, target=300,
                       most=6000, block=2000)
    assert plan == {6000: [b]}  # a: none reported, none would be
    assert top_up_plan({b: (100, 2000)}, target=150, most=6000, block=2000) == {4000: [b]}


@pytest.mark.parametrize("args, message", [
    (["--out", "/no/such/folder/e.json"], "the folder /no/such/folder of --out does not exist"),
    (["--out", "e.json", "--seed", "-1"], "seed must be a whole number"),
    (["--out", "e.json", "--dask", "nowhere"], "--dask must be local:N"),
])
def test_command_refuses_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "calculator.cli", "evidence", *args,
                           "--no-progress"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("hcc-prognosis evidence: error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "e.sqlite").exists()


def test_default_replicates_meet_the_brief() -> None:
    assert REPLICATES >= 2000
