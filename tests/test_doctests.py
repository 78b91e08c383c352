"""Every docstring example of the project runs and gives what it shows: one sweep over
all modules of the three packages, so a new module's examples are checked without being
listed anywhere."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import calculator
import simulation
import webui

#: Every module but the ``__main__`` ones (importing those runs the command line).
MODULES = sorted(info.name for package in (calculator, simulation, webui)
                 for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                 if not info.name.endswith(".__main__"))


def test_the_sweep_finds_the_modules() -> None:
    assert {"calculator.formatting", "simulation.stats.cox", "webui.chart"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
