"""The simulation's subcommands of ``hcc-prognosis`` (registered as entry points in
``pyproject.toml``). Each module keeps numpy and the wings out of its top level, so the
command list loads fast; ``run`` imports what it needs."""

from __future__ import annotations

import argparse

#: The built-in scenarios, named in the help of ``cohort`` and ``simulate`` (kept here so
#: the help needs no numpy; a test checks it equals ``simulation.cohorts.scenarios.BUILTINS``).
BUILTIN_SCENARIOS = "tog2025, tog2025-null-pni, tog2025-null, tog2025-continuous"


def add_engine_option(parser: argparse.ArgumentParser) -> None:
    """``--engine NAME``, as ``analyze`` and ``simulate`` take it (checked when run, by
    :func:`simulation.stats.engines.get_engine`, so that the help needs no numpy)."""
    parser.add_argument("--engine", metavar="NAME", default=None,
                        help="Cox and log-rank implementation: the batched numpy engine "
                             "'fast' (default) or its reference 'lifelines' (same results "
                             "to 1e-6, about 100x slower)")
