"""Cox (Efron), Kaplan-Meier medians and the log-rank test against R's survival package,
on the same cohorts in the same run (one Rscript call for the module).

R: ``coxph(..., ties = "efron", control = coxph.control(eps = 1e-11, iter.max = 100,
timefix = FALSE))``; ``quantile(survfit(..., conf.type = "log-log", timefix = FALSE),
0.5)``; ``survdiff(...)``. ``timefix = FALSE`` because R's survival otherwise merges
times closer than about 1e-8 (relative); the times here are rounded (whole or tenth
months, or the generator's 4 decimals), so it would not matter either way (survdiff's own
``timefix`` argument fails in survival 3.5-3, so it keeps the default).

Tolerances: Cox coefficients and standard errors 1e-7 (absolute; measured up to 7e-10 on
193 cohorts, the two Newton iterations stop at slightly different points),
log-likelihood 1e-8 (measured 1e-13); Kaplan-Meier medians and limits 1e-12 (measured:
identical on 251 cohorts, 118 limits undefined in both; R's midpoint rule when the curve
sits at 0.5, numerics.md); log-rank chi-square, observed, expected and variance 1e-10
(measured 7e-15 on 200 cohorts).
"""

import numpy as np
import pytest

from simulation.cohorts.factors import code_factors, pni_values
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import BUILTINS, get_scenario
from simulation.stats.cox import cox_fit
from simulation.stats.km import km_median
from simulation.stats.logrank import logrank_test
from tests.r_oracle import long_format, run_r

SURVIVAL_R = r"""
control <- coxph.control(eps = 1e-11, iter.max = 100, timefix = FALSE)
cox <- read_table("cox")
out <- list()
for (k in unique(cox$cohort)) {
  x <- cox[cox$cohort == k, ]
  fit <- tryCatch(suppressWarnings(coxph(Surv(time, event) ~ x1 + x2 + x3 + x4, data = x,
                                         ties = "efron", control = control)),
                  error = function(e) NULL)
  if (is.null(fit)) next
  out[[k]] <- data.frame(cohort = k, term = 1:4, coef = unname(coef(fit)),
                         se = sqrt(diag(fit$var)), loglik = fit$loglik[2])
}
write_table(do.call(rbind, out), "cox")

km <- read_table("km")
out <- list()
for (k in unique(km$cohort)) {
  x <- km[km$cohort == k, ]
  q <- quantile(survfit(Surv(time, event) ~ 1, data = x, conf.type = "log-log",
                        timefix = FALSE), 0.5)
  out[[k]] <- data.frame(cohort = k, median = unname(q$quantile),
                         lower = unname(q$lower), upper = unname(q$upper))
}
write_table(do.call(rbind, out), "km")

lr <- read_table("logrank")
out <- list()
for (k in unique(lr$cohort)) {
  x <- lr[lr$cohort == k, ]
  test <- survdiff(Surv(time, event) ~ group, data = x)
  out[[k]] <- data.frame(cohort = k, chisq = test$chisq, observed = test$obs[2],
                         expected = test$exp[2], variance = test$var[2, 2])
}
write_table(do.call(rbind, out), "logrank")
"""


def cox_cohorts() -> list[dict[str, np.ndarray]]:
    """100 generated cohorts (the Table 4 factors AFP, Child-Pugh B, spread and PNI as a
    number) and 100 with heavy ties in time (whole months) and rounded covariates."""
    rng = np.random.default_rng(31)
    out = []
    names = sorted(BUILTINS)
    for k in range(100):
        cohort = generate_cohort(get_scenario(names[k % 4]), 58, rng)
        coded = code_factors(cohort)
        out.append({"time": cohort["os_months"], "event": cohort["os_event"],
                    "x1": coded["afp"], "x2": coded["child_pugh_b"],
                    "x3": coded["extrahepatic_spread"],
                    "x4": pni_values(cohort["albumin_g_l"], cohort["lymphocytes_10e9_l"])})
    for _ in range(100):
        n = int(rng.integers(25, 81))
        x = np.round(rng.normal(size=(n, 4)), 1)
        x[:, 1] = (x[:, 1] > 0.5).astype(float)                    # one binary covariate
        time = np.ceil(rng.exponential(8 * np.exp(-0.4 * x[:, 0])))
        event = (rng.random(n) < 0.75).astype(float)
        out.append({"time": time, "event": event,
                    **{f"x{j + 1}": x[:, j] for j in range(4)}})
    return out


def km_cohorts() -> list[dict[str, np.ndarray]]:
    """250 small cohorts with heavy ties (times in whole or tenth months), many whose
    curve sits exactly at 0.5 or ends at 0, and the numerics.md example."""
    rng = np.random.default_rng(20250101)
    out = []
    for _ in range(250):
        n = int(rng.integers(2, 70))
        time = np.maximum(np.round(rng.exponential(8.0, n), int(rng.integers(0, 2))), 0.1)
        event = (rng.random(n) < rng.uniform(0.2, 1.0)).astype(float)
        out.append({"time": time, "event": event})
    out.append({"time": np.concatenate([np.linspace(1.0, 2.0, 29), [2.1], np.full(28, 9.0)]),
                "event": np.concatenate([np.ones(30), np.zeros(28)])})
    return out


def logrank_cohorts() -> list[dict[str, np.ndarray]]:
    """200 cohorts with tied times and groups from 1 patient to half the cohort."""
    rng = np.random.default_rng(77)
    out = []
    for _ in range(200):
        n = int(rng.integers(8, 80))
        time = np.round(rng.exponential(6.0, n), int(rng.integers(0, 2))) + 0.1
        event = (rng.random(n) < rng.uniform(0.3, 1.0)).astype(float)
        event[0] = 1.0
        group = np.zeros(n)
        group[rng.choice(n, int(rng.integers(1, n // 2 + 1)), replace=False)] = 1.0
        out.append({"time": time, "event": event, "group": group})
    return out


@pytest.fixture(scope="module")
def cohorts() -> dict[str, list[dict[str, np.ndarray]]]:
    return {"cox": cox_cohorts(), "km": km_cohorts(), "logrank": logrank_cohorts()}


@pytest.fixture(scope="module")
def r_answers(cohorts, tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    tables = {name: long_format(group) for name, group in cohorts.items()}
    return run_r(SURVIVAL_R, tables, tmp_path_factory.mktemp("r_survival"),
                 packages=("survival",))


def test_cox_efron_equals_r_coxph(cohorts, r_answers) -> None:
    r = r_answers["cox"]
    compared = 0
    for k, c in enumerate(cohorts["cox"], start=1):
        X = np.stack([c[f"x{j}"] for j in range(1, 5)], axis=-1)
        fit = cox_fit(c["time"], c["event"], X)
        at = r["cohort"] == k
        if not (fit.converged[0] and not fit.separated[0].any()) or not at.any():
            continue
        compared += 1
        np.testing.assert_allclose(fit.coef[0], r["coef"][at], rtol=0, atol=1e-7)
        np.testing.assert_allclose(fit.se[0], r["se"][at], rtol=0, atol=1e-7)
        assert fit.loglik[0] == pytest.approx(r["loglik"][at][0], abs=1e-8)
    assert compared >= 190         # of 200: the rest have a separated Child-Pugh B


def test_km_median_and_log_log_ci_equal_r_quantile(cohorts, r_answers) -> None:
    r = r_answers["km"]
    midpoints = 0
    for k, c in enumerate(cohorts["km"], start=1):
        ours = km_median(c["time"], c["event"])
        mine = np.array([float(ours.median), *ours.ci.tolist()])
        at = int(np.flatnonzero(r["cohort"] == k)[0])
        theirs = np.array([r["median"][at], r["lower"][at], r["upper"][at]])
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-12, equal_nan=True,
                                   err_msg=f"cohort {k}")
        midpoints += float(ours.median) not in set(c["time"].tolist())
    assert midpoints > 5           # the midpoint rule was exercised
    assert r["median"][-1] == pytest.approx(2.05)   # numerics.md: R 2.05, lifelines 2.1


def test_logrank_equals_r_survdiff(cohorts, r_answers) -> None:
    r = r_answers["logrank"]
    for k, c in enumerate(cohorts["logrank"], start=1):
        ours = logrank_test(c["time"], c["event"], c["group"])
        at = int(np.flatnonzero(r["cohort"] == k)[0])
        for name, theirs in (("chi2", "chisq"), ("observed", "observed"),
                             ("expected", "expected"), ("variance", "variance")):
            assert float(getattr(ours, name)) == pytest.approx(r[theirs][at], abs=1e-10), (
                k, name)
