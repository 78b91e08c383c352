"""The published model: every number the project shows or simulates, with its source.

This module is the project's single source of the study's figures. The calculator, the
web evidence section and the simulation presets all read from here; nothing else types
a hazard ratio, a cut-off or a median.

Source: Majidova N, et al. Efficacy of second-line treatments after atezolizumab and
bevacizumab in advanced hepatocellular carcinoma and related prognostic factors: a
multicenter study by the Turkish Oncology Group (TOG). Turk J Gastroenterol.
2025;36(5):293-301. doi:10.5152/tjg.2025.24784.

Each figure names the table (or section) and row it comes from. Where the paper
contradicts itself the choice made here is recorded in :data:`INCONSISTENCIES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

#: Version of this reading of the paper. Bump it whenever a number below changes.
MODEL_VERSION: Final = "tog2025-1.0"

CITATION: Final = "Majidova et al. 2025, Turk J Gastroenterol 36(5):293-301"
DOI: Final = "10.5152/tjg.2025.24784"

#: z for a two-sided 95% Wald interval; the paper's CIs are Wald intervals on the log
#: scale (their widths reproduce the printed p-values, see :func:`log_hr_se`).
Z95: Final = 1.959963984540054


@dataclass(frozen=True)
class HazardRatio:
    """A hazard ratio with its 95% CI and p-value, exactly as a table prints it."""

    hr: float
    lower: float
    upper: float
    p: float | None


@dataclass(frozen=True)
class CoxRow:
    """One row of Table 4 (Cox model for overall survival).

    ``paper_coding`` is the row label as printed; ``adverse_level`` names the level that
    carries the higher hazard. ``inverted`` is True where the printed HR is the favourable
    level against the adverse one (printed HR < 1), so that the adverse re-expression is
    its reciprocal.
    """

    factor: str
    paper_coding: str
    adverse_level: str
    univariable: HazardRatio
    multivariable: HazardRatio | None
    inverted: bool
    independent: bool
    source: str

    def adverse(self, which: str = "multivariable") -> HazardRatio:
        """The row re-expressed so that HR > 1 means worse survival."""
        printed = self.multivariable if which == "multivariable" else self.univariable
        if printed is None:
            raise LookupError(f"{self.factor} has no {which} estimate in Table 4")
        if not self.inverted:
            return printed
        return HazardRatio(1 / printed.hr, 1 / printed.upper, 1 / printed.lower, printed.p)


def log_hr_se(row: HazardRatio) -> float:
    """Standard error of ln(HR) recovered from a 95% Wald CI.

    .. math:: \\mathrm{se} = (\\ln u - \\ln l) / (2 z_{0.975})

    >>> round(log_hr_se(HazardRatio(1.97, 1.01, 3.86, 0.049)), 4)
    0.342
    """
    return (math.log(row.upper) - math.log(row.lower)) / (2 * Z95)


#: Rows not significant in Table 4 are left as printed, without an adverse reading.
NOT_INTERPRETED: Final = "not interpreted (as printed; not significant)"


# --- Table 4: Cox regression for OS (univariable, then multivariable) ----------------
TABLE4: Final[tuple[CoxRow, ...]] = (
    CoxRow("age", "Age <65 vs ≥65", NOT_INTERPRETED,
           HazardRatio(1.65, 0.86, 3.17, 0.120), None, False, False,
           "Table 4, row 'Age'"),
    CoxRow("male", "Gender male vs female", NOT_INTERPRETED,
           HazardRatio(0.81, 0.34, 1.94, 0.640), None, False, False,
           "Table 4, row 'Gender'"),
    CoxRow("ecog", "ECOG-PS 0 vs ≥1", NOT_INTERPRETED,
           HazardRatio(1.05, 0.55, 1.98, 0.880), None, False, False,
           "Table 4, row 'ECOG-PS'"),
    CoxRow("viral_hepatitis", "Etiology hepatitis vs other", NOT_INTERPRETED,
           HazardRatio(1.02, 0.54, 1.90, 0.950), None, False, False,
           "Table 4, row 'Etiology'"),
    CoxRow("afp", "AFP <200 vs ≥200", "AFP ≥ 200 ng/mL",
           HazardRatio(2.54, 1.30, 4.93, 0.006), HazardRatio(1.97, 1.01, 3.86, 0.049),
           False, True, "Table 4, row 'AFP', multivariable"),
    CoxRow("child_pugh", "Child-Pugh A vs B", "Child-Pugh B",
           HazardRatio(2.91, 1.48, 5.70, 0.002), HazardRatio(1.60, 0.75, 3.41, 0.218),
           False, False, "Table 4, row 'Child-Pugh', multivariable"),
    CoxRow("extrahepatic_spread", "Extrahepatic spread no vs yes", "spread present",
           HazardRatio(0.51, 0.27, 0.97, 0.040), HazardRatio(0.41, 0.20, 0.82, 0.012),
           True, True, "Table 4, row 'Extrahepatic spread', multivariable"),
    CoxRow("pni", "PNI <47.6 vs ≥47.6", "PNI < 47.6",
           HazardRatio(0.27, 0.10, 0.71, 0.008), HazardRatio(0.24, 0.09, 0.65, 0.005),
           True, True, "Table 4, row 'PNI', multivariable"),
)


def table4_row(factor: str) -> CoxRow:
    """The Table 4 row for ``factor`` (``afp``, ``extrahepatic_spread``, ``pni``, ...)."""
    for row in TABLE4:
        if row.factor == factor:
            return row
    raise KeyError(factor)


#: Age split of Table 4 ("Age <65 vs >=65"); the age factor is age >= 65 years.
AGE_CUTOFF_YEARS: Final = 65

#: The three factors the paper calls independent predictors (multivariable p < .05).
INDEPENDENT_FACTORS: Final = ("afp", "extrahepatic_spread", "pni")


# --- Cut-offs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Cutoff:
    value: Decimal
    unit: str
    rule: str
    source: str


#: ROC against death: AUC 0.715 (0.572-0.857), p = .009, sensitivity 65.7%, specificity
#: 76.7% (Results, 'ROC analysis'). ">=" follows Table 4 (see inconsistency 1).
PNI_CUTOFF: Final = Cutoff(Decimal("47.6"), "", "high if PNI ≥ 47.6; PNI < 47.6 is adverse",
                           "Results (ROC analysis) and Table 4, row 'PNI'")
#: ">=" follows Table 4 and the univariable text (see inconsistency 1).
AFP_CUTOFF: Final = Cutoff(Decimal("200"), "ng/mL", "adverse if AFP ≥ 200 ng/mL",
                           "Table 4, row 'AFP'")
PNI_ROC: Final = {"auc": 0.715, "ci": (0.572, 0.857), "p": 0.009,
                  "sensitivity": 0.657, "specificity": 0.767,
                  "source": "Results, ROC analysis (Figure 3)"}


# --- Kaplan-Meier medians (months, 95% CI) -------------------------------------------
@dataclass(frozen=True)
class PublishedMedian:
    group: str
    endpoint: str  # "os" or "pfs"
    n: int | None
    median_months: float
    ci: tuple[float, float]
    source: str
    logrank_p: float | None = None


MEDIANS: Final[tuple[PublishedMedian, ...]] = (
    PublishedMedian("all", "pfs", 58, 4.1, (2.4, 5.7), "Results, survival; whole cohort"),
    PublishedMedian("all", "os", 58, 6.5, (2.7, 10.2), "Results, survival; whole cohort"),
    PublishedMedian("sorafenib", "pfs", 41, 4.1, (2.4, 5.8), "Results, survival by treatment"),
    PublishedMedian("sorafenib", "os", 41, 7.8, (2.9, 12.7), "Results, survival by treatment"),
    PublishedMedian("regorafenib", "pfs", 7, 2.2, (1.1, 3.2), "Results, survival by treatment"),
    PublishedMedian("regorafenib", "os", 7, 2.3, (1.7, 2.9), "Results, survival by treatment"),
    PublishedMedian("cabozantinib", "pfs", 6, 2.8, (1.2, 3.5), "Results, survival by treatment"),
    PublishedMedian("cabozantinib", "os", 6, 3.7, (2.9, 6.0), "Results, survival by treatment"),
    PublishedMedian("afp_low", "os", None, 10.4, (1.5, 19.2),
                    "Results, OS by AFP (Figure 1): AFP < 200 ng/mL", 0.004),
    PublishedMedian("afp_high", "os", None, 5.3, (2.9, 7.8),
                    "Results, OS by AFP (Figure 1): AFP ≥ 200 ng/mL", 0.004),
)
#: Why no median is given for the PNI groups (inconsistency 4).
PNI_MEDIANS_WITHHELD: Final = (
    "The paper prints a median OS of 20.1 months (8.4–31.8) for both PNI groups, longer "
    "than the whole cohort's 6.5 months: a typo, so no PNI-group median is shown.")


# --- Cohort (Table 1 and Results) ----------------------------------------------------
COHORT: Final[dict[str, Any]] = {
    "design": "retrospective, multicentre (20 centres in Türkiye), October 2020 - June 2024",
    "population": ("advanced or metastatic HCC that progressed on first-line atezolizumab + "
                   "bevacizumab, then started second-line therapy"),
    "n": 58,
    "accrual_first_month": (2020, 10),  # (year, month), Methods: October 2020
    "accrual_last_month": (2024, 6),    # June 2024
    "treatment": {"sorafenib": 41, "regorafenib": 7, "cabozantinib": 6, "other": 4},
    "deaths": 40,
    "progressions": 49,
    "followup_median_months": 20.4,
    "followup_ci": (17.0, 23.7),
    "source": "Table 1 and Results",
}

#: Table 1 baseline characteristics, as shares (0-1) or medians with ranges.
TABLE1: Final[dict[str, Any]] = {
    "age": {"median": 62, "range": (18, 78)},
    "male": 0.828,
    "ecog": {"0": 0.414, "1-2": 0.586},
    "child_pugh_score": {5: 0.603, 6: 0.328, 7: 0.052, 8: 0.017},
    "bclc": {"B": 0.483, "C": 0.517},
    "cirrhosis": 0.466,
    "etiology": {"hbv": 0.414, "hcv": 0.086, "nash": 0.086, "alcohol": 0.034, "other": 0.379},
    "extrahepatic_spread": 0.448,
    "afp_ng_ml": {"median": 160, "range": (0.95, 147314)},
    "bilirubin_mg_dl": {"median": 1.27, "range": (0.2, 68)},
    "albumin_g_l": {"median": 35, "range": (16, 49)},
    "lymphocytes_10e9_l": {"median": 1.1, "range": (0.3, 9.8)},
    "inr": {"median": 1.1, "range": (0.89, 5.0)},
    "treatment": {"sorafenib": 41 / 58, "regorafenib": 7 / 58, "cabozantinib": 6 / 58,
                  "other": 4 / 58},
    "source": "Table 1",
}

APPLICABILITY: Final = (
    "derived in adults with advanced HCC after progression on first-line atezolizumab + "
    "bevacizumab, Child-Pugh A/B, starting second-line therapy")

LIMITS: Final = (
    "Retrospective study of 58 patients (41 on sorafenib) with about 40 deaths.",
    "The PNI cut-off of 47.6 was chosen from the same data by ROC analysis and has not "
    "been validated externally.",
    "Factors were screened by univariable p-values before the multivariable model.",
    "No calibration or discrimination of a combined score was reported.",
    "The result is a relative risk profile from this study, not a validated "
    "absolute-survival model; the paper gives no baseline survival.",
)

#: The limits in one line, for the record and the terminal.
ONE_LINE_LIMIT: Final = (
    "A relative risk profile from one retrospective study of 58 patients; not an absolute "
    "survival prediction and not a substitute for clinical judgement.")

#: The endpoint every hazard ratio of Table 4 refers to.
ENDPOINT: Final = "overall survival on second-line therapy after atezolizumab + bevacizumab"

#: Why the AFP-group medians carry no patient count.
N_NOT_REPORTED: Final = "n not reported in the paper"


@dataclass(frozen=True)
class Inconsistency:
    number: int
    where: str
    what: str
    handling: str


INCONSISTENCIES: Final[tuple[Inconsistency, ...]] = (
    Inconsistency(1, "Abstract; Results (ROC text); Table 4, rows 'AFP' and 'PNI'",
                  "AFP is '> 200' in the abstract but '≥ 200' in Table 4; PNI is '> 47.6' "
                  "in the ROC text but '≥ 47.6' in Table 4.",
                  "Table 4 is followed: AFP ≥ 200 ng/mL is adverse, PNI ≥ 47.6 is high."),
    Inconsistency(2, "Table 4, rows 'Extrahepatic spread' and 'PNI'",
                  "HRs are coded 'no vs yes' and '<47.6 vs ≥47.6'; read literally, spread "
                  "and low PNI would be protective, which the Discussion contradicts.",
                  "Both are re-expressed as adverse (reciprocal HR and CI): spread 2.44 "
                  "(1.22-5.00), PNI < 47.6 4.17 (1.54-11.1)."),
    Inconsistency(3, "Table 4, title",
                  "Table 4 is titled 'with sorafenib' (n = 41) while the text presents it "
                  "for the whole group of 58.",
                  "The HRs are used as printed; the cohort they come from is uncertain."),
    Inconsistency(4, "Results, OS by PNI group",
                  "Median OS is printed as 20.1 (8.4-31.8) for both PNI groups, longer than "
                  "the whole cohort's 6.5 months.",
                  "Treated as a typo: no PNI-group median is shown."),
    Inconsistency(5, "Table 4, row 'PNI' vs Results text",
                  "The univariable PNI p is .008 in Table 4 and .0008 in the text (.0088 "
                  "recomputed from the CI).",
                  "Table 4's .008 is used."),
    Inconsistency(6, "Table 3 vs Table 1 and Discussion",
                  "Table 3 has 14 Child-Pugh B patients among 41 on sorafenib; Table 1 and "
                  "the Discussion have only 4 in all 58.",
                  "Table 1 is used for the cohort description and simulation."),
    Inconsistency(7, "Table 3, AFP by disease control",
                  "'76% vs 33%' are the shares with AFP ≥ 200 among patients without and "
                  "with disease control, not disease-control rates; the DCR by AFP group is "
                  "8/21 (38%) vs 16/20 (80%).",
                  "Not used by the calculator; stated here so it is not misread."),
    Inconsistency(8, "Results, ROC analysis",
                  "Sensitivity 65.7% and specificity 76.7% do not fit 40 deaths and 18 "
                  "survivors as whole numbers, so the ROC used another, unstated subset.",
                  "The cut-off 47.6 is used as published; its derivation cannot be checked."),
    Inconsistency(9, "Table 1, row 'Albumin'",
                  "Albumin is labelled g/dl but its values (median 35, 16-49) are g/L.",
                  "Read as g/L, which is what the PNI formula needs."),
    Inconsistency(10, "Table 2 and its text",
                  "7/41 is rounded to 18% (17.1%), 2/7 to 28% (28.6%) and 5/7 to 72% "
                  "(71.4%); the text says the best responses were seen with sorafenib (ORR "
                  "17%) although cabozantinib's ORR was 33% (2/6).",
                  "Not used by the calculator; stated for the record."),
)
