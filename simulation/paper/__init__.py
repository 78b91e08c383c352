"""The paper's procedure: the analysis of one cohort, the same on a stack of cohorts by
each cut-off method, and the one univariable-screen-then-multivariable rule both use."""
