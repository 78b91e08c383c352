"""The simulation's subcommands of ``hcc-prognosis`` (registered as entry points in
``pyproject.toml``). Each module keeps numpy and the wings out of its top level, so the
command list loads fast; ``run`` imports what it needs."""
