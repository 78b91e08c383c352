"""The simulation study harness, in wings whose imports run one way.

``stats`` (paper-agnostic batched statistics) <- ``cohorts`` (schema, scenarios,
generation, cohort files) <- ``paper`` (the paper's procedure and its cut-off methods)
<- ``study`` (seeds, store, runner, truth, measures) <- ``reports``; ``commands`` on top.
``tests/test_house.py`` holds the arrows.
"""
