"""Shared test set-up: hypothesis profiles (``dev`` quick, ``ci`` thorough), the web
app fixtures (flaskr style: ``app`` from ``create_app(test_config)``, ``client`` from it)
and a cohort file with two bad cells, which every command that reads cohorts refuses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from simulation.cohorts.cohort_io import write_cohort
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from webui import create_app

settings.register_profile("dev", max_examples=100, deadline=None)
# CI is reproducible (derandomized); local runs keep exploring new examples.
settings.register_profile("ci", max_examples=400, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def app() -> Flask:
    """The web calculator as tests use it (``TESTING``: errors propagate to the test)."""
    return create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def bad_cohort_csv(tmp_path: Path) -> Path:
    """Five patients; in row 2 (line 3) sex is "X" and albumin 3.5 (g/dL in a g/L column)."""
    cohort = generate_cohort(get_scenario("tog2025"), 5, np.random.default_rng(2))
    path = tmp_path / "bad.csv"
    write_cohort(cohort, path)
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    cells[2], cells[9] = "X", "3.5"
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path
