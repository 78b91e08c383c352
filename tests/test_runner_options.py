"""The study runner's ``methods`` and ``references`` options (StudyConfig): part of the
fingerprint, checked, and obeyed by the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from calculator.errors import InputError
from simulation.cohorts.scenarios import get_scenario
from simulation.study.runner import StudyConfig, run_study
from simulation.study.store import Store, StudyFileError

SCENARIO = get_scenario("tog2025")


def config(**changes: object) -> StudyConfig:
    settings: dict[str, object] = {"scenarios": (SCENARIO,), "replicates": 20, "seed": 3,
                                   "chunk_size": 20}
    settings.update(changes)
    return StudyConfig(**settings)  # type: ignore[arg-type]


def test_methods_are_kept_in_canonical_order_and_fingerprinted() -> None:
    chosen = config(methods=("maxstat", "youden"))
    assert chosen.methods == ("youden", "maxstat")
    assert chosen.fingerprint()["methods"] == ["youden", "maxstat"]
    assert config().fingerprint()["methods"] == ["youden", "fixed", "maxstat", "continuous"]


def test_references_off_is_fingerprinted_and_default_studies_are_unchanged() -> None:
    assert "references" not in config().fingerprint()  # earlier study files still resume
    assert config(references=False).fingerprint()["references"] is False


@pytest.mark.parametrize("changes, field", [
    ({"methods": ("youden", "nonsense")}, "methods"),
    ({"methods": ()}, "methods"),
    ({"methods": ("youden", "youden")}, "methods"),
    ({"methods": "youden"}, "methods"),
    ({"references": "no"}, "references"),
])
def test_bad_options_are_refused_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InputError) as caught:
        config(**changes)
    assert caught.value.errors[0].field == field


def test_a_run_analyses_only_its_methods_and_skips_references(tmp_path: Path) -> None:
    said: list[str] = []
    out = tmp_path / "study.sqlite"
    outcome = run_study(config(methods=("youden",), references=False), out, workers=1,
                        progress=False, say=said.append)
    assert outcome.written == 20
    with Store(out, create=False) as store:
        methods = {row[1] for row in store.results(SCENARIO.name)}
        assert methods == {"youden"}
        assert store.table("reference") == []
    assert not any("large-sample reference" in line for line in said)
    with pytest.raises(StudyFileError, match="methods"):
        run_study(config(methods=("fixed",), references=False), out, workers=1,
                  progress=False)
