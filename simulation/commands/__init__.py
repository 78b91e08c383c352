"""The simulation's subcommands of ``hcc-prognosis`` (registered as entry points in
``pyproject.toml``). Each module keeps numpy and the wings out of its top level, so the
command list loads fast; ``run`` imports what it needs."""

#: The built-in scenarios, named in the help of ``cohort`` and ``simulate`` (kept here so
#: the help needs no numpy; a test checks it equals ``simulation.cohorts.scenarios.BUILTINS``).
BUILTIN_SCENARIOS = "tog2025, tog2025-null-pni, tog2025-null, tog2025-continuous"
