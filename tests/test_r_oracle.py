"""The R oracle itself (tests/r_oracle.py): exact round trips, and a clear failure when R
or an R package is missing."""

import shutil

import numpy as np
import pytest

from tests import r_oracle
from tests.r_oracle import INSTALL_HINT, run_r


def test_numbers_cross_to_r_and_back_bit_for_bit(tmp_path) -> None:
    # Doubles that decimal printing could move: 47.3 + 5 x 0.06 (one ulp below 47.6), 0.1,
    # a subnormal, huge and tiny values, NaN and infinities.
    values = np.array([47.3 + 5 * 0.06, 47.6, 0.1, 5e-324, 1.7976931348623157e308,
                       -2.5e-17, np.nan, np.inf, -np.inf, 1 / 3])
    out = run_r('d <- read_table("x"); d$half <- d$value / 2; write_table(d, "y")',
                {"x": {"value": values}}, tmp_path, packages=())
    np.testing.assert_array_equal(out["y"]["value"], values)
    np.testing.assert_array_equal(out["y"]["half"], values / 2)
    assert out["y"]["value"][0] != out["y"]["value"][1]      # the ulp survived


def test_missing_rscript_fails_with_the_install_hint(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="install-deps.sh"):
        r_oracle.rscript()


def test_missing_r_package_fails_with_the_install_hint(tmp_path) -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        run_r("1", {}, tmp_path, packages=("noSuchPackageHcc",))
    assert "there is no package called" in str(failure.value)
    assert INSTALL_HINT in str(failure.value)
