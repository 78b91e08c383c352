"""The shipped evidence file against the code: its provenance is what the code would use
today, and one grid point simulated again agrees with it (exactly with its own seed, within
Monte Carlo error with another)."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from calculator.published import MODEL_VERSION
from simulation.cohorts.scenarios import GENERATOR_VERSION
from simulation.evidence import datafile
from simulation.evidence.belts import BELTS, raw_quantiles, samples_of
from simulation.evidence.design import (
    CHUNK_SIZE,
    FAMILIES,
    MAIN_FAMILY,
    METHODS,
    REPLICATES,
    GridPoint,
    design_dict,
    grid,
    scenario,
)
from simulation.evidence.run import Budget, study_config
from simulation.paper.methods import METHODS_VERSION
from simulation.study.runner import ChunkTask, run_chunk
from simulation.study.store import RESULT_COLUMNS, ResultColumns, canonical_json

#: The grid point simulated again: PNI near its published log-HR (1.43).
POINT = GridPoint(MAIN_FAMILY, "pni", 145)
#: Monte Carlo SEs apart that two independent runs may lie (each of 6 quantiles).
TOLERANCE_SE = 4.0


@pytest.fixture(scope="module")
def shipped() -> dict:
    text = files("calculator").joinpath("data/evidence.json").read_text(encoding="utf-8")
    return json.loads(text)


def test_provenance_matches_the_code(shipped: dict) -> None:
    p = shipped["provenance"]
    assert shipped["format"] == datafile.FORMAT
    assert p["command"].startswith("hcc-prognosis evidence ")
    assert p["methods_version"] == METHODS_VERSION
    assert p["generator_version"] == GENERATOR_VERSION
    assert p["published_model_version"] == MODEL_VERSION
    # The whole study fingerprint the code gives such a run today (a file built by older
    # code, with another file layout or block size, fails here).
    config = study_config([scenario(POINT)], REPLICATES, p["seed"])
    assert p["study_fingerprint"] == config.fingerprint()
    assert p["study_fingerprint"]["chunk_size"] == CHUNK_SIZE
    for key, value in {**design_dict(), **Budget().to_dict()}.items():
        assert shipped["design"][key] == value, key
    assert p["replicates_per_scenario"] >= REPLICATES
    assert {shipped["label"], shipped["assumptions"], shipped["combination"]} == {
        datafile.LABEL, datafile.ASSUMPTIONS, datafile.COMBINATION}
    for fam in FAMILIES:
        assert set(shipped["families"][fam.name]["factors"]) == set(fam.factors), fam.name
    for factor, curves in shipped["curves"].items():
        for belt in BELTS:
            assert curves[belt]["theta"] == [round(t, 2) for t in grid(factor)], factor


def test_mcses_are_shipped_with_every_number(shipped: dict) -> None:
    for fam in shipped["families"].values():
        for entry in fam["factors"].values():
            for belt in BELTS:
                result = entry[belt]
                est, ci = result["estimate"], result["interval"]
                if est["open"] is None:
                    assert est["mcse_log_hr"] is not None and est["mcse_log_hr"] < 0.1
                for limit, is_open, mcse in zip(ci["log_hr"], ci["open"], ci["mcse_log_hr"]):
                    assert limit is not None
                    assert is_open or mcse is not None
                assert result["calibration"]["coverage_mcse"] < 0.01
        if "cutoff" in fam:
            assert fam["cutoff"]["q025_mcse"] is not None and fam["cutoff"]["q975_mcse"]
        if "false_findings" in fam:
            assert fam["false_findings"]["mcse"] is not None


def _quantiles_again(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Simulate POINT anew: the raw belt quantiles and their MCSEs."""
    task = ChunkTask(canonical_json(scenario(POINT).to_dict()), seed, 58, "fast", 0,
                     REPLICATES, tuple(range(REPLICATES)), METHODS)
    result = run_chunk(task)
    columns = {}
    fields = ("replicate", "estimate", "se", "p", "p_naive", "ci_lower", "ci_upper", "ok")
    at = [RESULT_COLUMNS.index(name) for name in fields]
    for estimand in ("pni_mv_loghr", "pni_selected"):
        table = [[np.nan if row[i] is None else row[i] for i in at] + [np.nan, np.nan]
                 for row in result.block.results if row[RESULT_COLUMNS.index("estimand")]
                 == estimand]
        columns[(METHODS[0], estimand)] = ResultColumns.of(np.array(table, dtype=float), {})
    samples = samples_of(POINT, columns, REPLICATES)
    return {belt: raw_quantiles(samples.values[belt]) for belt in BELTS}


def _shipped_point(shipped: dict, belt: str) -> tuple[np.ndarray, np.ndarray]:
    curves = shipped["curves"][POINT.factor][belt]
    i = curves["theta"].index(POINT.theta)
    return np.array(curves["raw"][i], dtype=float), np.array(curves["raw_mcse"][i], dtype=float)


def test_one_grid_point_regenerated_with_its_seed_is_the_same(shipped: dict) -> None:
    assert shipped["provenance"]["replicates_otherwise"].get(POINT.name) is None  # 2,000 runs
    again = _quantiles_again(shipped["provenance"]["seed"])
    for belt in BELTS:
        values, _ = _shipped_point(shipped, belt)
        assert again[belt][0] == pytest.approx(values, abs=1e-4), belt


def test_one_grid_point_regenerated_with_another_seed_agrees_within_mc_error(
        shipped: dict) -> None:
    again = _quantiles_again(shipped["provenance"]["seed"] + 1000)
    for belt in BELTS:
        values, mcse = _shipped_point(shipped, belt)
        new, new_mcse = again[belt]
        allowed = TOLERANCE_SE * np.sqrt(mcse ** 2 + new_mcse ** 2)
        assert np.all(np.abs(new - values) <= allowed), (belt, new, values, allowed)
