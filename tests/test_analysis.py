"""The paper's analysis of one cohort (simulation.paper.analysis).

Reference: lifelines 0.30 on the same data (KaplanMeierFitter, logrank_test, CoxPHFitter
with Efron ties fitted with ``fit_options={"precision": 1e-12}``, since lifelines'
default precision can stop about 1e-4 from the maximum on small tied cohorts, see
numerics.md).
"""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times

from simulation.cohorts.factors import FACTORS, code_factors
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.paper.analysis import analyze, normalise_cohort


def tog_cohort(seed: int, n: int = 58, scenario: str = "tog2025") -> dict[str, np.ndarray]:
    return generate_cohort(get_scenario(scenario), n, np.random.default_rng(seed))


def with_missing(cohort: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {k: (v.astype(float) if v.dtype.kind in "iu" else v.copy()) for k, v in cohort.items()}
    out["afp_ng_ml"][[0, 5]] = np.nan
    out["albumin_g_l"][[7]] = np.nan
    out["os_event"][[11]] = np.nan
    out["sex"] = out["sex"].astype(object)
    out["sex"][3] = None
    return out


def assert_km_like_lifelines(entry: dict, time: np.ndarray, event: np.ndarray) -> None:
    """Median and log-log CI as lifelines gives them, with R's two documented
    differences (a flat at exactly 0.5 takes its midpoint; a band that reaches 0.5 only
    where S = 0 leaves the limit open)."""
    kmf = KaplanMeierFitter().fit(time, event)
    theirs = [kmf.median_survival_time_,
              *median_survival_times(kmf.confidence_interval_).to_numpy()[0]]
    curve = kmf.survival_function_.iloc[:, 0]
    ours = [entry["median"], *entry["ci"]]
    for k, (mine, ref) in enumerate(zip(ours, theirs)):
        if mine is not None and math.isfinite(ref) and mine == pytest.approx(ref, abs=1e-12):
            continue
        if mine is None and not math.isfinite(ref):
            continue
        if k == 0:
            assert (np.abs(curve.to_numpy() - 0.5) < 1.5e-8).any()
        else:
            assert mine is None and ref == curve.index[curve.to_numpy() == 0][0]


def lifelines_cox(time, event, X: pd.DataFrame) -> CoxPHFitter:
    frame = X.assign(time_=time, event_=event)
    return CoxPHFitter().fit(frame, "time_", "event_", fit_options={"precision": 1e-12})


@pytest.mark.parametrize("seed", [1, 4])
def test_km_logrank_and_cox_agree_with_lifelines(seed: int) -> None:
    raw = with_missing(tog_cohort(seed))
    record = analyze(raw)
    data = normalise_cohort(raw)
    coded = code_factors(data, 47.6)
    os_ok = np.isfinite(data["os_months"]) & np.isfinite(data["os_event"])
    pfs_ok = np.isfinite(data["pfs_months"]) & np.isfinite(data["pfs_event"])

    groups = {"all": np.ones(58, bool), "afp_high": coded["afp"] == 1,
              "afp_low": coded["afp"] == 0, "pni_high": coded["pni_low"] == 0,
              "pni_low": coded["pni_low"] == 1,
              **{t: data["treatment"] == t for t in ("sorafenib", "regorafenib",
                                                    "cabozantinib", "other")
                 if (data["treatment"] == t).any()}}
    assert list(record["km"]["os"]) == list(groups)
    for name, member in groups.items():
        rows = member & os_ok
        assert record["km"]["os"][name]["n"] == rows.sum()
        assert_km_like_lifelines(record["km"]["os"][name], data["os_months"][rows],
                                 data["os_event"][rows])
        rows = member & pfs_ok
        assert_km_like_lifelines(record["km"]["pfs"][name], data["pfs_months"][rows],
                                 data["pfs_event"][rows])

    for name, factor in (("afp", "afp"), ("pni", "pni_low"),
                         ("extrahepatic_spread", "extrahepatic_spread")):
        rows = os_ok & np.isfinite(coded[factor])
        one, zero = rows & (coded[factor] == 1), rows & (coded[factor] == 0)
        ref = logrank_test(data["os_months"][one], data["os_months"][zero],
                           data["os_event"][one], data["os_event"][zero])
        assert record["logrank"][name]["chi2"] == pytest.approx(ref.test_statistic, rel=1e-9)
        assert record["logrank"][name]["p"] == pytest.approx(ref.p_value, rel=1e-9)
        assert record["logrank"][name]["n_used"] == rows.sum()

    uni = record["cox"]["univariable"]
    for factor in FACTORS:
        rows = os_ok & np.isfinite(coded[factor])
        assert uni[factor]["n_used"] == rows.sum()
        if uni[factor]["coef"] is None:
            assert any(f["analysis"] == f"cox.univariable.{factor}" for f in record["flags"])
            continue
        fit = lifelines_cox(data["os_months"][rows], data["os_event"][rows],
                            pd.DataFrame({factor: coded[factor][rows]}))
        assert uni[factor]["coef"] == pytest.approx(fit.params_[factor], rel=1e-6)
        assert uni[factor]["se"] == pytest.approx(fit.standard_errors_[factor], rel=1e-6)
        # p moves with z: a 1e-7 difference in the coefficient (two runs of lifelines'
        # own iteration) is a few 1e-6 relative in a small p.
        assert uni[factor]["p"] == pytest.approx(fit.summary.loc[factor, "p"], rel=1e-5)
        assert uni[factor]["ci"][1] == pytest.approx(
            fit.summary.loc[factor, "exp(coef) upper 95%"], rel=1e-6)
        assert uni[factor]["hr"] == pytest.approx(math.exp(uni[factor]["coef"]))

    multi = record["cox"]["multivariable"]
    entered = [f for f in FACTORS if uni[f]["p"] is not None and uni[f]["p"] < 0.05]
    assert multi["entered"] == entered and entered
    rows = os_ok.copy()
    for factor in entered:
        rows &= np.isfinite(coded[factor])
    fit = lifelines_cox(data["os_months"][rows], data["os_event"][rows],
                        pd.DataFrame({f: coded[f][rows] for f in entered}))
    assert multi["n_used"] == rows.sum()
    for factor in entered:
        assert multi[factor]["coef"] == pytest.approx(fit.params_[factor], rel=1e-6)
        assert multi[factor]["se"] == pytest.approx(fit.standard_errors_[factor], rel=1e-6)


def max_relative_difference(a, b, path: str = "") -> float:
    """Walk two records: identical structure and non-float values, floats compared."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        return max([max_relative_difference(a[k], b[k], f"{path}.{k}") for k in a] + [0.0])
    if isinstance(a, list):
        assert len(a) == len(b), path
        return max([max_relative_difference(x, y, path) for x, y in zip(a, b)] + [0.0])
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) / max(1.0, abs(a))
    if path != ".engine":
        assert a == b, (path, a, b)
    return 0.0


@pytest.mark.parametrize("seed, scenario, cutoff", [(2, "tog2025", 47.6),
                                                    (3, "tog2025-null", "youden"),
                                                    (9, "tog2025", 47.6)])
def test_fast_engine_gives_the_same_record(seed: int, scenario: str, cutoff) -> None:
    cohort = tog_cohort(seed, scenario=scenario)
    reference = analyze(cohort, cutoff, engine="lifelines")
    fast = analyze(cohort, cutoff, engine="fast")
    assert reference["engine"] == "lifelines" and fast["engine"] == "fast"
    assert max_relative_difference(reference, fast) < 1e-6


def small_troubled_cohort() -> dict[str, np.ndarray]:
    """A 58-patient cohort bent to produce every kind of trouble."""
    c = {k: (v.astype(float) if v.dtype.kind in "iu" else v.copy())
         for k, v in tog_cohort(5).items()}
    c["child_pugh_score"][:] = 5
    c["child_pugh_score"][:3] = 7
    c["os_event"][:3] = 0           # Child-Pugh B: no deaths -> separation
    c["pfs_event"][:3] = 0
    c["treatment"][:] = "sorafenib"
    c["treatment"][3:5] = "other"
    c["os_event"][3:5] = 0          # "other": no deaths -> no median
    c["pfs_event"][3:5] = 0
    c["sex"][:] = "M"               # male does not vary
    return c


def test_small_sample_trouble_becomes_flags_and_missing_estimates() -> None:
    record = analyze(small_troubled_cohort())
    flags = {f["analysis"]: f["reason"] for f in record["flags"]}
    assert "complete separation for Child-Pugh B" in flags["cox.univariable.child_pugh_b"]
    assert ", 0 had it; the hazard ratio runs off to 0" in flags["cox.univariable.child_pugh_b"]
    assert record["cox"]["univariable"]["child_pugh_b"]["hr"] is None
    assert record["cox"]["univariable"]["child_pugh_b"]["ci"] == [None, None]
    assert "does not vary (all of the 58" in flags["cox.univariable.male"]
    assert "child_pugh_b" not in record["cox"]["multivariable"]["entered"]
    assert flags["km.os.other"].startswith("no events among 2 patients")
    assert record["km"]["os"]["other"]["median"] is None
    assert record["km"]["os"]["other"]["n"] == 2
    assert "regorafenib" not in record["km"]["os"]
    json.dumps(record, allow_nan=False)  # strict JSON: no NaN anywhere


def test_univariable_verdicts_come_from_the_risk_sets() -> None:
    """Only deaths while both levels are at risk inform the HR of a 0/1 factor."""
    c = {k: (v.astype(float) if v.dtype.kind in "iu" else v.copy())
         for k, v in tog_cohort(6).items()}
    c["os_months"][:] = np.arange(10.0, 68.0)
    c["os_event"][:] = 1
    c["os_event"][0] = 0                    # the first patient is censored at 10 months
    c["sex"][:] = "M"
    c["sex"][0] = "F"                       # female: only her, gone before any death
    c["extrahepatic_spread"][:] = 0
    c["extrahepatic_spread"][1:3] = 1       # spread: the two earliest deaths
    c["ecog"][:] = 0
    c["ecog"][[1, 57]] = 1                  # ECOG >= 1: the first and the last death
    record = analyze(c)
    flags = {f["analysis"]: f["reason"] for f in record["flags"]}
    assert "complete separation for extrahepatic spread" in \
        flags["cox.univariable.extrahepatic_spread"]
    assert "2 had it; the hazard ratio runs off to infinity" in \
        flags["cox.univariable.extrahepatic_spread"]
    assert flags["cox.univariable.male"].startswith("no information on male sex: no death "
                                                    "occurs while")
    assert "cox.univariable.ecog_1_plus" not in flags  # one death on each level: finite
    assert record["cox"]["univariable"]["ecog_1_plus"]["coef"] is not None


def test_cox_flags_agree_between_engines_on_separation() -> None:
    cohort = small_troubled_cohort()
    reference = analyze(cohort, engine="lifelines")
    assert max_relative_difference(reference, analyze(cohort, engine="fast")) < 1e-6


def test_tiny_cohorts_with_gaps_never_crash_and_engines_agree() -> None:
    """2-14 patients with missing cells: every kind of trouble, no exception, no warning,
    strict JSON, and the same record from both engines."""
    rng = np.random.default_rng(0)
    for k in range(30):
        n = int(rng.integers(2, 15))
        c = {name: (v.astype(float) if v.dtype.kind in "iu" else v.astype(object))
             for name, v in tog_cohort(100 + k, n=n).items()}
        for name in ("afp_ng_ml", "albumin_g_l", "os_event", "extrahepatic_spread", "sex"):
            gaps = rng.random(n) < 0.15
            c[name][gaps] = None if c[name].dtype == object else np.nan
        cutoff = "youden" if k % 2 else 47.6
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            reference = analyze(c, cutoff, engine="lifelines")
            fast = analyze(c, cutoff, engine="fast")
        json.dumps(reference, allow_nan=False)
        assert max_relative_difference(reference, fast) < 1e-6


def test_complete_cases_and_missing_summary() -> None:
    record = analyze(with_missing(tog_cohort(1)))
    assert record["missing"]["by_column"] == {"sex": 1, "afp_ng_ml": 2, "albumin_g_l": 1,
                                              "os_event": 1}
    assert record["missing"]["complete_rows"] == 58 - 5
    assert record["logrank"]["afp"]["n_used"] == 58 - 3      # AFP or OS event missing
    assert record["cox"]["univariable"]["male"]["n_used"] == 58 - 2
    assert record["roc"]["n_used"] == 58 - 2
    assert record["baseline"]["sex"]["missing"] == 1
    assert record["km"]["os"]["all"]["n"] == 57 and record["km"]["pfs"]["all"]["n"] == 58


def test_youden_cutoff_is_used_for_the_pni_groups() -> None:
    cohort = tog_cohort(2)
    record = analyze(cohort, pni_cutoff="youden")
    cutoff = record["pni_cutoff_used"]
    assert cutoff == record["roc"]["youden_cutoff"] and cutoff is not None
    pni = normalise_cohort(cohort)["albumin_g_l"] + 5 * normalise_cohort(cohort)[
        "lymphocytes_10e9_l"]
    assert record["km"]["os"]["pni_low"]["n"] == int((np.round(pni, 9) < cutoff).sum())
    assert record["pni_cutoff_rule"] == f"high if PNI >= {cutoff:g}; PNI below it is adverse"
    default = analyze(cohort)
    assert default["pni_cutoff_used"] == 47.6
    assert default["roc"] == record["roc"]


def test_headline_numbers() -> None:
    cohort = tog_cohort(1)
    record = analyze(cohort)
    assert record["n"] == 58
    assert record["deaths"] == int(cohort["os_event"].sum())
    assert record["progressions"] == int(cohort["pfs_event"].sum())
    reverse = KaplanMeierFitter().fit(cohort["os_months"], 1 - cohort["os_event"])
    assert record["median_followup_months"] == pytest.approx(reverse.median_survival_time_)
    assert set(record) >= {"km", "logrank", "roc", "pni_cutoff_used", "cox", "flags",
                           "baseline", "missing"}
    assert record["baseline"]["treatment"]["n"] == 58


@pytest.mark.parametrize("bad", ["high", -1, 0, float("nan"), True, None, "300"])
def test_bad_cutoff_is_a_clear_error(bad) -> None:
    with pytest.raises(ValueError, match="pni_cutoff must be"):
        analyze(tog_cohort(1), pni_cutoff=bad)


def test_bad_engine_and_missing_columns() -> None:
    with pytest.raises(ValueError, match="engine must be one of fast, lifelines"):
        analyze(tog_cohort(1), engine="R")
    cohort = tog_cohort(1)
    del cohort["inr"]
    with pytest.raises(ValueError, match="lacks the column"):
        analyze(cohort)


def test_lifelines_engine_raises_no_warnings_on_troubled_data() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyze(small_troubled_cohort(), engine="lifelines")

