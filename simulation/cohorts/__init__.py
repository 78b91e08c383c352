"""Cohorts like the paper's: the column schema (the only copy of column names and
levels), the factor coding, scenarios and their calibration, generation, cohort CSV files
and their description."""
