"""Shared test set-up: hypothesis profiles (``dev`` quick, ``ci`` thorough) and the web
app fixtures (flaskr style: ``app`` from ``create_app(test_config)``, ``client`` from it)."""

from __future__ import annotations

import os

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

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
