"""ROC AUC with DeLong's CI and the Youden cut-off against R's pROC, on the same cohorts in
the same run (one Rscript call).

R: ``roc(response = died, predictor = pni, levels = c(0, 1), direction = ">")`` (a death
has the lower PNI, as the project's AUC of -PNI), ``auc``, ``var(method = "delong")``,
``ci.auc(method = "delong")``, ``coords(r, "best", best.method = "youden")`` (every
threshold of maximal J, each the midpoint between neighbouring PNI values) and
``coords(r, "all")``.

Tolerances: AUC, its standard error and CI 1e-12 (measured 2e-16 on 200 cohorts). The cut-off: 1e-12. pROC compares J in
floating point, so of two splits with exactly the same J (1/12 as 3/18 + 11/12 - 1 and as
9/18 + 7/12 - 1) it may list only the one whose rounding came out larger; the project
compares J exactly and takes the lowest cut-off. So the cut-off must be the lowest of
pROC's thresholds whose J is within 1e-12 of pROC's best, and it is pROC's own "best"
wherever that choice is not a rounding tie. Sensitivity and specificity exact.
"""

import numpy as np
import pytest

from simulation.cohorts.factors import pni_values
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import BUILTINS, get_scenario
from simulation.paper.analysis import analyze
from simulation.stats.roc import roc_auc, youden_cutoff
from tests.r_oracle import long_format, run_r

PROC_R = r"""
d <- read_table("cohorts")
aucs <- list(); best <- list(); every <- list()
for (k in unique(d$cohort)) {
  x <- d[d$cohort == k, ]
  r <- roc(response = x$died, predictor = x$pni, levels = c(0, 1), direction = ">",
           quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  aucs[[k]] <- data.frame(cohort = k, auc = as.numeric(auc(r)),
                          se = sqrt(var(r, method = "delong")), lower = ci[1],
                          upper = ci[3])
  b <- coords(r, "best", best.method = "youden",
              ret = c("threshold", "sensitivity", "specificity"), transpose = FALSE)
  best[[k]] <- data.frame(cohort = k, threshold = b$threshold,
                          sensitivity = b$sensitivity, specificity = b$specificity)
  a <- coords(r, "all", ret = c("threshold", "sensitivity", "specificity"),
              transpose = FALSE)
  every[[k]] <- data.frame(cohort = k, threshold = a$threshold,
                           sensitivity = a$sensitivity, specificity = a$specificity)
}
write_table(do.call(rbind, aucs), "auc")
write_table(do.call(rbind, best), "best")
write_table(do.call(rbind, every), "all")
"""


def generated_cohorts() -> list[dict[str, np.ndarray]]:
    """120 cohorts from the project's generator, n 20 to 80 (ties in PNI)."""
    rng = np.random.default_rng(404)
    names = sorted(BUILTINS)
    return [generate_cohort(get_scenario(names[k % 4]), int(rng.choice([20, 30, 58, 80])), rng)
            for k in range(120)]


def roc_cohorts() -> list[dict[str, np.ndarray]]:
    """The generated cohorts' PNI and deaths, and 80 hand-made cohorts with heavy PNI
    ties, few deaths or few survivors."""
    out = [{"pni": pni_values(c["albumin_g_l"], c["lymphocytes_10e9_l"]),
            "died": c["os_event"].astype(float)} for c in generated_cohorts()]
    rng = np.random.default_rng(405)
    for _ in range(80):
        n = int(rng.integers(6, 60))
        died = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(float)
        died[:2] = [0.0, 1.0]
        pni = np.round(rng.normal(45 - 3 * died, rng.uniform(1, 6)))
        out.append({"pni": pni, "died": died})
    return out


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    cohorts = roc_cohorts()
    answers = run_r(PROC_R, {"cohorts": long_format(cohorts)},
                    tmp_path_factory.mktemp("r_roc"), packages=("pROC",))
    return cohorts, answers


def test_auc_and_delong_ci_equal_proc(cases) -> None:
    cohorts, r = cases
    for k, c in enumerate(cohorts, start=1):
        ours = roc_auc(-c["pni"], c["died"])
        at = int(np.flatnonzero(r["auc"]["cohort"] == k)[0])
        mine = [float(ours.auc), float(ours.se), *ours.ci.tolist()]
        theirs = [r["auc"][name][at] for name in ("auc", "se", "lower", "upper")]
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-12, err_msg=f"cohort {k}")


def test_youden_cutoff_is_procs_best_threshold(cases) -> None:
    cohorts, r = cases
    best, every = r["best"], r["all"]
    degenerate = rounding_ties = 0
    for k, c in enumerate(cohorts, start=1):
        ours = youden_cutoff(c["pni"], c["died"])
        listed = best["threshold"][best["cohort"] == k]
        if float(ours.j) == 0.0:   # no split beats "all high": pROC lists -Inf and Inf
            degenerate += 1
            assert np.isinf(listed).any()
            continue
        at = every["cohort"] == k
        j = every["sensitivity"][at] + every["specificity"][at] - 1.0
        tied = every["threshold"][at][j >= j.max() - 1e-12]
        lowest = int(np.argmin(np.where(j >= j.max() - 1e-12, every["threshold"][at], np.inf)))
        assert float(ours.cutoff) == pytest.approx(tied.min(), abs=1e-12), k
        assert float(ours.sensitivity) == every["sensitivity"][at][lowest]
        assert float(ours.specificity) == every["specificity"][at][lowest]
        assert float(ours.j) == pytest.approx(j.max(), abs=1e-12)
        if tied.min() == listed.min():
            continue
        rounding_ties += 1                                   # pROC's float tie-break
        assert tied.size > listed.size
    assert degenerate < 5 and rounding_ties < 20


def test_analyze_reports_the_youden_cutoff_as_procs_threshold(cases) -> None:
    """``analyze --pni-cutoff youden``: the record's cut-off is pROC's best threshold
    (the lowest, within rounding ties), and its groups are those of the PNI values."""
    _, r = cases
    every = r["all"]
    for k, cohort in enumerate(generated_cohorts(), start=1):
        record = analyze(cohort, "youden")
        if record["roc"]["j"] == 0.0:   # no split beats "all high" (pROC: -Inf); see above
            continue
        at = every["cohort"] == k
        j = every["sensitivity"][at] + every["specificity"][at] - 1.0
        best = every["threshold"][at][j >= j.max() - 1e-12].min()
        assert record["roc"]["youden_cutoff"] == pytest.approx(best, abs=1e-12), k
        assert record["pni_cutoff_used"] == record["roc"]["youden_cutoff"]
        pni = pni_values(cohort["albumin_g_l"], cohort["lymphocytes_10e9_l"])
        assert not np.any(pni == record["pni_cutoff_used"])   # a midpoint, never a value
        low = record["km"]["os"]["pni_low"]["n"]
        assert low == int((pni < record["pni_cutoff_used"]).sum())
