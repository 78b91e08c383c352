"""Evidence at the bedside: how far the published hazard ratios can be trusted.

The paper's procedure (Youden cut-off for PNI, univariable screen, multivariable Cox
model) is simulated over a grid of true log-HRs for each of the three independent factors
(:mod:`~simulation.evidence.design`); the simulated distributions of the estimates form
confidence belts (:mod:`~simulation.evidence.belts`), which are inverted at the published
estimates (:mod:`~simulation.evidence.inversion`) and checked on held-out replicates
(:mod:`~simulation.evidence.calibration`). :mod:`~simulation.evidence.build` runs it all
through the study runner and writes the data file the calculator ships.

Imports: statistics, cohorts, the paper's procedure and the study runner; the reports
import this wing.
"""
