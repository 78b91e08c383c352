"""Statistics engines: which Cox fit and log-rank test an analysis uses.

``lifelines`` is the reference (one lifelines fit per cohort); ``fast`` is the project's
own batched numpy code, validated against it. Kaplan-Meier and ROC are the project's own
code in both (:mod:`simulation.stats.km`, :mod:`simulation.stats.roc`).

Both engines' functions take and return the same things:

- ``cox_fit(time, event, X, mask=None, active=None) -> simulation.stats.cox.CoxFit``
- ``logrank_test(time, event, group, mask=None) -> simulation.stats.logrank.LogrankResult``

The functions are looked up when first used, so choosing the fast engine never imports
lifelines.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Engine:
    """A named pair of Cox and log-rank implementations (``"module:function"`` paths)."""

    name: str
    description: str
    cox_path: str
    logrank_path: str

    @staticmethod
    def _resolve(path: str) -> Callable[..., Any]:
        module, _, attribute = path.partition(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]

    @property
    def cox_fit(self) -> Callable[..., Any]:
        """``cox_fit(time, event, X, mask=None, active=None) -> CoxFit``."""
        return self._resolve(self.cox_path)

    @property
    def logrank_test(self) -> Callable[..., Any]:
        """``logrank_test(time, event, group, mask=None) -> LogrankResult``."""
        return self._resolve(self.logrank_path)


ENGINES: dict[str, Engine] = {
    "lifelines": Engine("lifelines", "lifelines CoxPHFitter and logrank_test (reference)",
                        "simulation.stats.cox:cox_fit_lifelines",
                        "simulation.stats.logrank:logrank_test_lifelines"),
    "fast": Engine("fast", "batched numpy Newton-Raphson Cox and log-rank",
                   "simulation.stats.cox:cox_fit", "simulation.stats.logrank:logrank_test"),
}
DEFAULT_ENGINE = "lifelines"


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (``"lifelines"`` or ``"fast"``).

    >>> get_engine("fast").name
    'fast'
    """
    try:
        return ENGINES[name]
    except (KeyError, TypeError):
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {name!r}") from None
