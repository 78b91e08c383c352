"""The scoring core stays light: no numpy, pandas, scipy, lifelines or Flask on import."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "scipy", "lifelines", "flask", "matplotlib")


def test_import_calculator_loads_no_heavy_module():
    code = ("import sys, calculator, calculator.cli.score; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""


def test_score_command_loads_no_heavy_module():
    code = ("import sys; from calculator.cli import main; "
            "main(['score', '--albumin', '35', '--lymphocytes', '1.1', '--afp', '1', "
            "'--extrahepatic-spread', 'no']); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip() == ""


def test_ships_py_typed():
    from importlib.resources import files
    assert files("calculator").joinpath("py.typed").is_file()


def test_calculator_is_fully_typed():
    from mypy import api

    report, errors, status = api.run(["--strict", "--no-incremental", *mypy_config(),
                                      str(ROOT / "calculator")])
    assert status == 0, report + errors


def test_simulation_and_webui_type_check():
    """The rest of the project passes mypy too (libraries without types count as Any;
    see ``[tool.mypy]`` in pyproject.toml)."""
    from mypy import api

    report, errors, status = api.run(["--no-incremental", *mypy_config(),
                                      str(ROOT / "simulation"), str(ROOT / "webui")])
    assert status == 0, report + errors


def mypy_config() -> list[str]:
    """The project's mypy settings, wherever pytest is started from."""
    return ["--config-file", str(ROOT / "pyproject.toml")]
