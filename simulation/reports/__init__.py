"""Self-contained HTML reports: one cohort's analysis, and a simulation study.

- :mod:`simulation.reports.cohort`: ``hcc-prognosis analyze cohort.csv --report out.html``,
  the paper's analysis of one cohort laid out as the paper lays it out (Table 1, the Cox
  table, Figures 1-3).
- :mod:`simulation.reports.study`: ``hcc-prognosis report study.sqlite -o report.html``,
  a simulation study in ADEMP terms with its performance measures and figures.
- :mod:`simulation.reports.html`: the shared building blocks (escaped text, tables whose
  numbers carry their source key, embedded PNG figures, the print stylesheet).
"""
