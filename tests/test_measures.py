"""Performance measures with Monte Carlo SEs (Morris, White & Crowther 2019, Table 6),
the cut-off distribution, and which truth each estimand is compared with."""

import math
import statistics

import numpy as np
import pytest

from calculator.published import Z95
from simulation.cohorts.scenarios import get_scenario, truth
from simulation.paper.methods import METHODS, estimands_of
from simulation.study.measures import (
    cutoff_distribution,
    performance,
    quantile_with_mcse,
    summary_rows,
)
from simulation.study.store import LedgerEntry, ReplicateRecord, ResultRow, Store
from simulation.study.truth import (
    REFERENCE_N,
    needs_reference,
    reference_rows,
    truth_for,
    truth_kind,
)


def test_performance_matches_table6_written_out():
    rng = np.random.default_rng(2)
    t = rng.normal(0.3, 0.5, 40)
    s = rng.uniform(0.4, 0.6, 40)
    lower, upper = t - 1.96 * s, t + 1.96 * s
    p = rng.uniform(0, 0.2, 40)
    theta = 0.25
    m = performance(t, s, lower, upper, p, theta)
    n = len(t)
    mean = statistics.fmean(t)
    sd = statistics.stdev(t)
    assert m["bias"] == pytest.approx(mean - theta, rel=1e-12)
    assert m["bias_mcse"] == pytest.approx(sd / math.sqrt(n), rel=1e-12)
    assert m["empse"] == pytest.approx(sd, rel=1e-12)
    assert m["empse_mcse"] == pytest.approx(sd / math.sqrt(2 * (n - 1)), rel=1e-12)
    sq = [(x - theta) ** 2 for x in t]
    mse = statistics.fmean(sq)
    assert m["mse"] == pytest.approx(mse, rel=1e-12)
    assert m["mse_mcse"] == pytest.approx(
        math.sqrt(sum((q - mse) ** 2 for q in sq) / (n * (n - 1))), rel=1e-12)
    modse = math.sqrt(statistics.fmean(x * x for x in s))
    var_s2 = statistics.variance([x * x for x in s])
    assert m["modse"] == pytest.approx(modse, rel=1e-12)
    assert m["modse_mcse"] == pytest.approx(math.sqrt(var_s2 / (4 * n * modse ** 2)), rel=1e-12)
    assert m["relerr_modse"] == pytest.approx(100 * (modse / sd - 1), rel=1e-12)
    assert m["relerr_modse_mcse"] == pytest.approx(
        100 * modse / sd * math.sqrt(var_s2 / (4 * n * modse ** 4) + 1 / (2 * (n - 1))),
        rel=1e-12)
    cover = statistics.fmean(float(lo <= theta <= hi) for lo, hi in zip(lower, upper))
    assert m["coverage"] == pytest.approx(cover)
    assert m["coverage_mcse"] == pytest.approx(math.sqrt(cover * (1 - cover) / n))
    reject = statistics.fmean(float(x < 0.05) for x in p)
    assert m["rejection"] == pytest.approx(reject)
    assert m["rejection_mcse"] == pytest.approx(math.sqrt(reject * (1 - reject) / n))


def test_no_truth_means_no_bias_or_coverage():
    m = performance(np.array([1.0, 2.0, 4.0]), np.full(3, 1.0), np.zeros(3), np.full(3, 5.0),
                    np.full(3, 0.5), None)
    assert m["bias"] is None and m["coverage"] is None and m["mse"] is None
    assert m["mean"] == pytest.approx(7 / 3) and m["empse"] is not None
    one = performance(np.array([1.0]), np.array([0.5]), np.zeros(1), np.ones(1) * 2,
                      np.array([0.01]), 1.0)
    assert one["bias"] == 0.0 and one["bias_mcse"] is None and one["empse"] is None


def test_quantile_mcse_is_the_binomial_interval_halved():
    x = np.arange(1.0, 101.0)
    value, mcse = quantile_with_mcse(x, 0.5)
    # n q = 50, 1.96 sqrt(25) = 9.8: ranks floor(40.2) = 40 and ceil(59.8) = 60 (0-based),
    # values 41 and 61, so (61 - 41) / 3.92.
    assert value == 50.5
    assert mcse == pytest.approx(20 / (2 * Z95))


def test_cutoff_distribution_shares():
    cut = np.array([40.0, 45, 47.6, 50, 52])
    d = cutoff_distribution(cut, np.array([True, False, False, False, True]),
                            np.array([0.05, 0.3, 0.5, 0.7, 0.95]))
    assert d["median"] == 47.6
    assert d["share_at_boundary"] == pytest.approx(0.4)
    assert d["share_at_boundary_mcse"] == pytest.approx(math.sqrt(0.4 * 0.6 / 5))
    assert d["share_small_group"] == pytest.approx(0.4)


@pytest.mark.parametrize("scenario, method, estimand, kind, value", [
    ("tog2025", "fixed", "pni_mv_loghr", "generating", math.log(1 / 0.24)),
    ("tog2025", "youden", "pni_mv_loghr", "generating", math.log(1 / 0.24)),
    ("tog2025", "fixed", "afp_mv_loghr", "generating", math.log(1.97)),
    ("tog2025", "fixed", "pni_uv_loghr", "reference", None),      # other factors act
    ("tog2025", "continuous", "pni_mv_loghr", "reference", None),  # a step fitted as a slope
    ("tog2025", "youden", "cutoff", "generating", 47.6),
    ("tog2025", "maxstat", "pni_selected", "none", None),
    ("tog2025-null", "youden", "pni_uv_loghr", "generating", 0.0),
    ("tog2025-null", "continuous", "pni_mv_loghr", "generating", 0.0),
    ("tog2025-null", "maxstat", "cutoff", "none", None),
    ("tog2025-null-pni", "continuous", "pni_mv_loghr", "generating", 0.0),
    ("tog2025-null-pni", "fixed", "pni_uv_loghr", "reference", None),
    ("tog2025-continuous", "continuous", "pni_mv_loghr", "generating", "slope"),
    ("tog2025-continuous", "fixed", "pni_mv_loghr", "reference", None),
    ("tog2025-continuous", "fixed", "afp_mv_loghr", "reference", None),
    ("tog2025-continuous", "youden", "cutoff", "reference", None),
])
def test_truth_rules(scenario, method, estimand, kind, value):
    s = get_scenario(scenario)
    assert truth_kind(s, method, estimand) == kind
    t = truth_for(s, method, estimand, {})
    assert t.kind == kind
    if value == "slope":
        assert t.value == truth(s)["pni_per_unit"] < 0
    elif value is not None:
        assert t.value == pytest.approx(value, abs=2e-3)   # Table 4 printed to 2 decimals
    if kind == "reference":
        assert t.value is None and "not computed" in t.label


def test_only_the_global_null_needs_no_reference():
    assert not needs_reference(get_scenario("tog2025-null"))
    assert needs_reference(get_scenario("tog2025"))
    assert REFERENCE_N >= 100_000


def test_reference_recovers_the_truth_where_the_model_holds():
    # The fixed method's multivariable model is the generating model under tog2025, so
    # its large-sample value must agree with the truth: a check of generator + analysis.
    s = get_scenario("tog2025")
    rows = {(m, e): (v, se, label) for m, e, v, se, label in reference_rows(s, 1, 30_000)}
    assert set(rows) == {(m, e) for m in METHODS for e in estimands_of(m)
                         if not e.endswith("_selected")}
    for estimand, factor in (("pni_mv_loghr", "pni_low"), ("afp_mv_loghr", "afp"),
                             ("ehs_mv_loghr", "extrahepatic_spread")):
        value, se, label = rows[("fixed", estimand)]
        assert abs(value - truth(s)[factor]) < 4 * se, estimand
        assert "30,000 patients" in label and "fixed" in label
    assert rows[("youden", "cutoff")][1] is None


def _rows(estimate, ok=True, flag="ok", p=0.01):
    out = []
    for method in METHODS:
        for estimand in estimands_of(method):
            out.append(ResultRow(method, estimand, estimate if ok else None, 0.5, p, p,
                                 estimate - 1, estimate + 1, ok,
                                 False if estimand == "cutoff" else None,
                                 0.5 if estimand == "cutoff" else None, flag))
    return tuple(out)


def test_summary_counts_failures_and_uses_only_usable_estimates(tmp_path):
    s = get_scenario("tog2025-null")
    with Store(tmp_path / "s.sqlite") as store:
        store.claim({"seed": 1})
        store.register_scenario(s.name, s.to_dict(), 5, n=58)
        for r, value in enumerate([0.1, -0.3, 0.2]):
            store.write_replicate(ReplicateRecord(s.name, r, "ok", 58, 40, _rows(value)))
        store.write_replicate(ReplicateRecord(s.name, 3, "ok", 58, 40,
                                              _rows(99.0, ok=False, flag="separated")))
        store.write_replicate(ReplicateRecord(s.name, 4, "failed", None, None, (),
                                              (LedgerEntry("", "", "exception", "x"),)))
        rows = summary_rows(store)
    by = {(r["method"], r["estimand"]): r for r in rows}
    assert len(rows) == sum(len(estimands_of(m)) for m in METHODS)
    row = by[("fixed", "pni_mv_loghr")]
    assert (row["n_rep"], row["n_used"], row["n_failed"], row["n_requested"]) == (5, 3, 2, 5)
    assert row["failures"] == {"separated": 1, "replicate-failed": 1}
    assert row["truth"] == 0.0 and row["truth_kind"] == "generating"
    assert row["bias"] == pytest.approx(0.0, abs=1e-15)
    assert row["coverage"] == 1.0 and row["rejection"] == 1.0
    selected = by[("youden", "pni_selected")]
    assert selected["truth"] is None and selected["rejection"] == pytest.approx(0.0)
    cut = by[("maxstat", "cutoff")]
    assert cut["truth_kind"] == "none" and cut["median"] == pytest.approx(0.1)
    assert cut["rejection"] == 1.0 and by[("youden", "cutoff")]["rejection"] is None
