"""The four methods on a stack of cohorts: cut-offs, estimands, flags, engines agree."""

import numpy as np
import pytest

from simulation.cohorts.factors import code_factors, pni_values
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.paper.analysis import analyze
from simulation.paper.methods import (
    METHODS,
    analyze_stack,
    choose_maxstat,
    cutoff_candidates,
    estimands_of,
    lausen_schumacher_p,
)
from simulation.stats.cox import cox_fit
from simulation.stats.engines import get_engine
from simulation.stats.logrank import logrank_test, logrank_z_at_cutoffs
from simulation.stats.roc import youden_cutoff
from simulation.stats.stacking import stack_cohorts
from simulation.study.seeds import replicate_rng


def cohorts(scenario="tog2025", count=12, n=58, seed=11):
    s = get_scenario(scenario)
    return [generate_cohort(s, n, replicate_rng(seed, s.name, r)) for r in range(count)]


@pytest.fixture(scope="module")
def stack():
    return stack_cohorts(cohorts())


@pytest.fixture(scope="module")
def analysed(stack):
    return analyze_stack(stack, "fast")


def test_lausen_schumacher_worked_value():
    # numerics.md ("about 0.49") / Lausen & Schumacher 1992, e1 = 0.1, e2 = 0.9, b = 1.96:
    # phi(1.96) = 0.0584409; 4 phi(b)/b = 0.1192671; phi(b) (b - 1/b) ln 81
    # = 0.0584409 * 1.4497959 * 4.3944492 = 0.3723306; total 0.4915977.
    assert lausen_schumacher_p(1.96) == pytest.approx(0.4915977, abs=1e-6)
    p = lausen_schumacher_p(np.array([0.5, 2.0, 3.0, 4.0, np.nan]))
    assert p[0] == 1.0                                  # clipped: small statistics
    # b = 2: phi(2) = 0.0539910; 4 phi/b = 0.1079819; phi (b - 1/b) ln 81
    # = 0.0539910 * 1.5 * 4.3944492 = 0.3558909; total 0.4638728.
    assert p[1] == pytest.approx(0.4638728, abs=1e-6)
    assert p[1] > p[2] > p[3] > 0                        # decreasing in b
    assert np.isnan(p[4])


def test_maxstat_candidates_and_their_statistics_equal_logrank_test():
    rng = np.random.default_rng(5)
    B, n = 20, 58
    time = np.round(rng.exponential(6, (B, n)), 1)       # heavy ties
    event = (rng.random((B, n)) < 0.7).astype(float)
    pni = np.round(rng.normal(45, 6, (B, n)) * 20) / 20
    cut, share, valid = cutoff_candidates(pni)
    z = logrank_z_at_cutoffs(time, event, pni, cut, max_cells=500)  # many blocks
    group = pni[:, None, :] < cut[:, :, None]
    shape = group.shape
    direct = logrank_test(np.broadcast_to(time[:, None], shape),
                          np.broadcast_to(event[:, None], shape), group)
    assert np.allclose(z[valid], direct.z[valid], rtol=0, atol=1e-12)
    assert np.isnan(z[~valid]).all()
    for b in range(B):
        for k in np.flatnonzero(valid[b]):
            assert share[b, k] == pytest.approx(np.mean(pni[b] < cut[b, k]), abs=1e-15)
    assert (share[valid] >= 0.1 - 1e-12).all() and (share[valid] <= 0.9 + 1e-12).all()


def test_maxstat_same_with_lifelines_logrank(stack):
    time = stack["os_months"][:3]
    event = stack["os_event"][:3].astype(float)
    pni = pni_values(stack["albumin_g_l"][:3], stack["lymphocytes_10e9_l"][:3])
    fast = choose_maxstat(time, event, pni, get_engine("fast"))
    reference = choose_maxstat(time, event, pni, get_engine("lifelines"))
    assert np.array_equal(fast.cutoff, reference.cutoff)
    assert np.allclose(fast.statistic, reference.statistic, rtol=1e-9)
    assert np.allclose(fast.p, lausen_schumacher_p(fast.statistic))


def test_every_method_gives_its_estimands(analysed):
    assert set(analysed.results) == {(m, e) for m in METHODS for e in estimands_of(m)}
    assert "cutoff" not in estimands_of("fixed") and "cutoff" in estimands_of("maxstat")
    for (method, estimand), result in analysed.results.items():
        assert result.estimate.shape == (12,)
        assert np.isfinite(result.estimate[result.ok]).all(), (method, estimand)
        assert set(result.flag[~result.ok]) <= {"separated", "not-converged", "constant",
                                                "no-cutoff", "no-events"}


def test_youden_cutoff_and_fixed_model_match_direct_computations(stack, analysed):
    pni = pni_values(stack["albumin_g_l"], stack["lymphocytes_10e9_l"])
    youden = analysed.results[("youden", "cutoff")]
    assert np.array_equal(youden.estimate, youden_cutoff(pni, stack["os_event"]).cutoff)
    assert np.allclose(youden.low_share, (pni < youden.estimate[:, None]).mean(axis=1))
    coded = code_factors(stack)
    X = np.stack([coded[f] for f in ("afp", "child_pugh_b", "extrahepatic_spread",
                                     "pni_low")], axis=-1)
    direct = cox_fit(stack["os_months"], stack["os_event"], X)
    mv = analysed.results[("fixed", "pni_mv_loghr")]
    ok = mv.ok
    assert ok.sum() >= 10
    assert np.allclose(mv.estimate[ok], direct.coef[ok, 3], rtol=1e-12)
    assert np.allclose(mv.se[ok], direct.se[ok, 3], rtol=1e-12)
    afp = analysed.results[("fixed", "afp_mv_loghr")]
    assert np.allclose(afp.ci_lower[ok], direct.ci_lower[ok, 0], rtol=1e-12)


def test_selection_agrees_with_the_single_cohort_analysis(analysed):
    # The paper's procedure as analysis.analyze runs it on one cohort (Youden cut-off).
    for r, cohort in enumerate(cohorts()[:6]):
        record = analyze(cohort, "youden", engine="fast")
        mv = record["cox"]["multivariable"]
        for prefix, factor in (("pni", "pni_low"), ("afp", "afp"),
                               ("ehs", "extrahepatic_spread")):
            ours = analysed.results[("youden", f"{prefix}_selected")]
            entry = mv.get(factor)
            expected = (factor in mv["entered"] and entry["p"] is not None
                        and entry["p"] < 0.05)
            assert ours.ok[r]
            assert bool(ours.estimate[r]) == expected, (r, factor)
            if factor in mv["entered"] and entry["p"] is not None:
                assert ours.p[r] == pytest.approx(entry["p"], rel=1e-9)
        uv = record["cox"]["univariable"]["pni_low"]
        assert analysed.results[("youden", "pni_uv_loghr")].estimate[r] == pytest.approx(
            uv["coef"], rel=1e-9)


def test_stack_position_does_not_change_results(stack, analysed):
    alone = analyze_stack({k: v[4:5] for k, v in stack.items()}, "fast")
    for key, result in alone.results.items():
        full = analysed.results[key]
        assert np.allclose(result.estimate, full.estimate[4:5], rtol=1e-12, equal_nan=True)
        assert result.flag[0] == full.flag[4]


def test_separation_is_flagged_not_estimated():
    (cohort,) = cohorts(count=1, seed=3)
    cohort = {k: v.copy() for k, v in cohort.items()}
    cohort["child_pugh_score"][:] = 5
    cohort["child_pugh_score"][:4] = 8
    cohort["os_event"][:4] = 0                   # Child-Pugh B: four patients, no deaths
    out = analyze_stack(stack_cohorts([cohort]), "fast")
    for method in METHODS:
        for estimand in ("pni_mv_loghr", "afp_mv_loghr", "ehs_mv_loghr"):
            result = out.results[(method, estimand)]
            assert not result.ok[0] and result.flag[0] == "separated"
            assert np.isnan(result.estimate[0])
            assert "child_pugh_b" in result.detail[0]
        assert out.results[(method, "pni_uv_loghr")].ok[0]


def test_constant_factor_is_left_out_of_the_model():
    (cohort,) = cohorts(count=1, seed=4)
    cohort = dict(cohort, child_pugh_score=np.full(58, 5))   # nobody has Child-Pugh B
    out = analyze_stack(stack_cohorts([cohort]), "fast", ("fixed",))
    coded = code_factors(cohort)
    X = np.stack([coded[f] for f in ("afp", "extrahepatic_spread", "pni_low")], axis=-1)
    direct = cox_fit(cohort["os_months"], cohort["os_event"], X)
    for k, estimand in enumerate(("afp_mv_loghr", "ehs_mv_loghr", "pni_mv_loghr")):
        result = out.results[("fixed", estimand)]
        assert result.ok[0]
        assert result.estimate[0] == pytest.approx(direct.coef[0, k], rel=1e-10)


def test_cohort_without_deaths_fails_cleanly():
    (cohort,) = cohorts(count=1, seed=6)
    cohort = dict(cohort, os_event=np.zeros(58, dtype=np.int64))
    out = analyze_stack(stack_cohorts([cohort]), "fast")
    for (method, estimand), result in out.results.items():
        assert not result.ok[0], (method, estimand)
        assert result.flag[0] in ("no-events", "no-cutoff")


def test_bad_arguments_are_named(stack):
    with pytest.raises(ValueError, match="methods must be among"):
        analyze_stack(stack, "fast", ("median",))
    with pytest.raises(ValueError, match="engine must be one of"):
        analyze_stack(stack, "slow")
    with pytest.raises(ValueError, match="same size"):
        stack_cohorts([cohorts(count=1, n=30)[0], cohorts(count=1, n=31)[0]])
