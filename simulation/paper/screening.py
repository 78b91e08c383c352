"""The paper's selection rule, in one place: univariable screen, then multivariable model.

Majidova et al. (2025, Statistical analysis and Table 4) entered into the multivariable
Cox model the factors "significant in univariate analysis" and called independent
predictors those significant in the multivariable model, both at p < 0.05. Both the
analysis of one cohort (:mod:`simulation.paper.analysis`) and the analysis of a stack
(:mod:`simulation.paper.methods`) decide with these functions, so the two can never
disagree on what the paper's procedure selects.

An estimate takes part only when its fit is usable: the Cox fit converged and no
coefficient of the model separated (ran off to infinity). A factor without a usable
univariable p does not enter; a model with a separated coefficient reports none of its
estimates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Significance level of the univariable screen (entry into the multivariable model).
ENTRY_P = 0.05
#: Significance level at which the multivariable model calls a factor independent.
RETAIN_P = 0.05


def usable(converged: Any, separated: Any) -> np.ndarray:
    """A fit's estimates are usable: it converged and no coefficient separated.

    ``converged`` is ``(...,)``, ``separated`` ``(..., p)`` over the model's coefficients.

    >>> usable(np.array([True, True, False]),
    ...        np.array([[False, False], [False, True], [False, False]])).tolist()
    [True, False, False]
    """
    return np.asarray(converged, dtype=bool) & ~np.asarray(separated, dtype=bool).any(axis=-1)


def _below(p: Any, level: float) -> np.ndarray:
    """``p < level``, False where p is missing (NaN or None)."""
    values = np.asarray(p, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(values, nan=1.0) < level


def enters(p_univariable: Any) -> np.ndarray:
    """Which factors enter the multivariable model: univariable p < :data:`ENTRY_P`.

    A factor whose univariable estimate is not usable (p missing, NaN) does not enter.

    >>> enters([0.006, 0.05, float("nan"), 0.049]).tolist()
    [True, False, False, True]
    """
    return _below(p_univariable, ENTRY_P)


def independent(entered: Any, estimable: Any, p_multivariable: Any) -> np.ndarray:
    """Which factors the paper's procedure calls independent predictors: entered, with a
    usable multivariable estimate whose p < :data:`RETAIN_P`.

    >>> independent([True, True, False], [True, False, True], [0.01, 0.01, 0.01]).tolist()
    [True, False, False]
    """
    return (np.asarray(entered, dtype=bool) & np.asarray(estimable, dtype=bool)
            & _below(p_multivariable, RETAIN_P))
