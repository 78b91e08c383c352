"""The four methods on a stack of cohorts: cut-offs, estimands, flags, engines agree."""

import numpy as np
import pytest

from simulation.cohorts.factors import code_factors, pni_values
from simulation.cohorts.generate import generate_cohort
from simulation.cohorts.scenarios import get_scenario
from simulation.paper.analysis import analyze
from simulation.paper.cutoffs import choose_maxstat
from simulation.paper.methods import METHODS, analyze_stack, estimands_of
from simulation.stats.cox import cox_fit
from simulation.stats.engines import get_engine
from simulation.stats.maxstat import maxstat_test
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


def test_maxstat_cutoff_and_its_test_come_from_maxstat_test(stack, analysed):
    pni = pni_values(stack["albumin_g_l"], stack["lymphocytes_10e9_l"])
    direct = maxstat_test(stack["os_months"], stack["os_event"], pni)
    cutoff = analysed.results[("maxstat", "cutoff")]
    assert np.array_equal(cutoff.estimate, direct.cutoff)
    assert np.array_equal(cutoff.p, direct.p)
    assert np.array_equal(cutoff.low_share, direct.low_count / 58)
    # The cut-off is a midpoint: the same groups as "PNI >= the high group's lowest".
    assert (direct.low_max < cutoff.estimate).all() and (cutoff.estimate < direct.high_min).all()
    assert np.array_equal(pni < cutoff.estimate[:, None], pni < direct.high_min[:, None])
    # The univariable test of PNI is maxstat's own corrected test wherever Cox fitted.
    uv = analysed.results[("maxstat", "pni_uv_loghr")]
    assert np.array_equal(uv.p[uv.ok], direct.p[uv.ok])
    last = direct.candidates.valid.sum(axis=1) - 1
    assert np.array_equal(cutoff.at_boundary, (direct.index == 0) | (direct.index == last))


def test_maxstat_does_not_depend_on_the_engine(stack):
    small = {k: v[:3] for k, v in stack.items()}
    fast = analyze_stack(small, get_engine("fast"), ("maxstat",))
    reference = analyze_stack(small, get_engine("lifelines"), ("maxstat",))
    key = ("maxstat", "cutoff")
    assert np.array_equal(fast.results[key].estimate, reference.results[key].estimate)
    assert np.array_equal(fast.results[key].p, reference.results[key].p)


def test_lau94_is_an_option_of_the_maxstat_cutoff(stack):
    pni = pni_values(stack["albumin_g_l"], stack["lymphocytes_10e9_l"])
    lau92 = choose_maxstat(stack["os_months"], stack["os_event"], pni)
    lau94 = choose_maxstat(stack["os_months"], stack["os_event"], pni, p_method="Lau94")
    assert np.array_equal(lau92.cutoff, lau94.cutoff)
    direct = maxstat_test(stack["os_months"], stack["os_event"], pni, p_method="Lau94")
    assert np.array_equal(lau94.p, direct.p) and not np.array_equal(lau92.p, lau94.p)


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
    direct = youden_cutoff(pni, stack["os_event"])
    assert np.array_equal(youden.estimate, direct.cutoff)
    assert np.allclose(youden.low_share, (pni < youden.estimate[:, None]).mean(axis=1))
    # A midpoint, and the same groups as "PNI >= the high group's lowest".
    assert (direct.low_max < youden.estimate).all() and (youden.estimate < direct.high_min).all()
    assert np.array_equal(pni < youden.estimate[:, None], pni < direct.high_min[:, None])
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


def test_models_two_methods_share_are_fitted_once_with_the_same_results(monkeypatch):
    """A model that several methods make alike (the same PNI groups) is fitted once; every
    number equals what fitting each copy gives."""
    from simulation.paper import methods

    stack = stack_cohorts(cohorts(count=40, seed=5))
    calls = []
    real_distinct = methods._distinct_models

    def counted(cohort, X):
        first, copies = real_distinct(cohort, X)
        calls.append((cohort.size, first.size))
        np.testing.assert_array_equal(X[first][copies], X)   # every copy is its model
        return first, copies

    monkeypatch.setattr(methods, "_distinct_models", counted)
    shared = analyze_stack(stack)
    assert sum(distinct for _, distinct in calls) < sum(models for models, _ in calls)
    monkeypatch.setattr(methods, "_distinct_models",
                        lambda cohort, X: (np.arange(cohort.size), np.arange(cohort.size)))
    every = analyze_stack(stack)
    assert shared.results.keys() == every.results.keys()
    for key, result in every.results.items():
        for name in ("estimate", "se", "p", "p_naive", "ci_lower", "ci_upper", "ok", "flag"):
            np.testing.assert_array_equal(getattr(shared.results[key], name),
                                          getattr(result, name), err_msg=f"{key} {name}")
