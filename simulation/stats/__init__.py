"""Paper-agnostic statistics on stacks of cohorts: Kaplan-Meier, log-rank, ROC, Cox,
maximally selected statistics, stacking helpers and the reference adapters (lifelines).

Knows nothing of the paper or of the rest of the simulation package.
"""
