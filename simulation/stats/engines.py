"""Statistics engines: which Cox fit and log-rank tests an analysis uses.

An :class:`Engine` is a named set of functions with one interface:

- ``cox_fit(time, event, X, mask=None, active=None, *, risk_sets=None) -> CoxFit``, where
  ``risk_sets`` (:func:`simulation.stats.cox.risk_sets_of`) lets the models of the same
  cohorts share one sort; an engine that does not need it ignores it;
- ``logrank_test(time, event, group, mask=None) -> LogrankResult``.

:data:`FAST` is the project's batched numpy code and the default everywhere;
:data:`LIFELINES` is the reference it is validated against (one lifelines call per cohort).
Callers pass an engine object (or look one up by its name with :func:`get_engine`, as the
command line and the study file do); nothing outside this module tests an engine's name.
Kaplan-Meier, ROC and the maximally selected statistic (:mod:`simulation.stats.maxstat`,
checked against R's maxstat in the tests) are the project's own code under both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from calculator.errors import InputError
from simulation.stats import reference
from simulation.stats.cox import CoxFit, RiskSets, cox_fit
from simulation.stats.logrank import logrank_test


@dataclass(frozen=True)
class Engine:
    """A named set of Cox and log-rank implementations sharing one interface."""

    name: str
    description: str
    cox_fit: Callable[..., Any]
    logrank_test: Callable[..., Any]


def _cox_fit_lifelines(time: Any, event: Any, X: Any, mask: Any = None, active: Any = None,
                       *, risk_sets: RiskSets | None = None) -> CoxFit:
    """:func:`reference.cox_fit_lifelines`; lifelines sorts each cohort itself, so the
    shared ``risk_sets`` of the fast engine are not used."""
    return reference.cox_fit_lifelines(time, event, X, mask, active)


FAST = Engine("fast", "batched numpy Newton-Raphson Cox and log-rank (default)",
              cox_fit, logrank_test)
LIFELINES = Engine("lifelines", "lifelines CoxPHFitter and logrank_test (the reference)",
                   _cox_fit_lifelines, reference.logrank_test_lifelines)

#: Every engine by name: the one list of names.
ENGINES: dict[str, Engine] = {engine.name: engine for engine in (FAST, LIFELINES)}
#: The engine of ``analyze`` and ``simulate`` unless another is asked for.
DEFAULT_ENGINE = FAST


def get_engine(engine: str | Engine) -> Engine:
    """An engine given itself or its name; an :class:`InputError` naming ``engine``
    for an unknown name.

    >>> get_engine("fast") is FAST, get_engine(LIFELINES) is LIFELINES
    (True, True)
    """
    if isinstance(engine, Engine):
        return engine
    try:
        return ENGINES[engine]
    except (KeyError, TypeError):
        names = ", ".join(ENGINES)
        raise InputError("engine", engine, None, names,
                         f"engine must be one of {names}; got {engine!r}",
                         f"{DEFAULT_ENGINE.name} is the default; lifelines is the "
                         "reference") from None
