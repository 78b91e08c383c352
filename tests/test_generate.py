"""The cohort generator: Table 1 marginals, outcome targets, true effects, reproducibility."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from calculator.published import TABLE1
from simulation.cohorts.calibrate import calibrate
from simulation.cohorts.covariates import (
    MARGINALS,
    SplitNormalMarginal,
    blom_extreme,
    latent_cholesky,
)
from simulation.cohorts.describe import describe_cohort
from simulation.cohorts.factors import code_factors, pni_values
from simulation.cohorts.generate import (
    COHORT_COLUMNS,
    EXTRA_COLUMNS,
    cohort_to_frame,
    generate_cohort,
    report_time,
)
from simulation.cohorts.scenarios import get_scenario, truth

N_LARGE = 100_000


@pytest.fixture(scope="module")
def large():
    """A 100,000-patient tog2025 cohort with the extra columns, and its description."""
    cohort = generate_cohort(get_scenario("tog2025"), N_LARGE, np.random.default_rng(20250301),
                             extra=True)
    return cohort, describe_cohort(cohort)


def _share(mask):
    return float(np.mean(mask))


CATEGORY_SHARES = [
    ("male", lambda c: c["sex"] == "M", TABLE1["male"]),
    ("ecog 0", lambda c: c["ecog"] == 0, TABLE1["ecog"]["0"]),
    ("ecog 1-2", lambda c: c["ecog"] >= 1, TABLE1["ecog"]["1-2"]),
    ("cirrhosis", lambda c: c["cirrhosis"] == 1, TABLE1["cirrhosis"]),
    ("spread", lambda c: c["extrahepatic_spread"] == 1, TABLE1["extrahepatic_spread"]),
    *[(f"child-pugh {s}", lambda c, s=s: c["child_pugh_score"] == s, p)
      for s, p in TABLE1["child_pugh_score"].items()],
    *[(f"etiology {e}", lambda c, e=e: c["etiology"] == e, p)
      for e, p in TABLE1["etiology"].items()],
    *[(f"treatment {t}", lambda c, t=t: c["treatment"] == t, p)
      for t, p in TABLE1["treatment"].items()],
    *[(f"bclc {s}", lambda c, s=s: c["bclc"] == s, p) for s, p in TABLE1["bclc"].items()],
]


@pytest.mark.parametrize("label, select, published", CATEGORY_SHARES,
                         ids=[c[0] for c in CATEGORY_SHARES])
def test_category_shares_within_one_point(large, label, select, published):
    cohort, _ = large
    assert abs(_share(select(cohort)) - published) < 0.01


MEDIANS = [("age", "age"), ("afp_ng_ml", "afp_ng_ml"), ("albumin_g_l", "albumin_g_l"),
           ("lymphocytes_10e9_l", "lymphocytes_10e9_l"),
           ("bilirubin_mg_dl", "bilirubin_mg_dl"), ("inr", "inr")]


@pytest.mark.parametrize("column, entry", MEDIANS, ids=[m[0] for m in MEDIANS])
def test_medians_within_five_percent_and_values_within_the_range(large, column, entry):
    cohort, _ = large
    values = cohort[column]
    median = TABLE1[entry]["median"]
    low, high = TABLE1[entry]["range"]
    assert abs(np.median(values) / median - 1) < 0.05
    assert low <= values.min() and values.max() <= high
    # the range is the extremes of a sample of 58, so a large cohort reaches it
    assert values.min() < low * 1.05 + 0.5 and values.max() > high * 0.95


def test_outcomes_hit_the_targets(large):
    _, description = large
    out = description["outcomes"]
    targets = get_scenario("tog2025").targets
    # SDs at n = 100,000: death fraction 0.0015, PFS events 0.0011, medians below 0.05 month
    assert out["death_fraction"] == pytest.approx(targets.death_fraction, abs=0.01)
    assert out["pfs_event_fraction"] == pytest.approx(targets.pfs_event_fraction, abs=0.01)
    assert out["median_os_months"] == pytest.approx(targets.median_os_months, abs=0.15)
    assert out["median_pfs_months"] == pytest.approx(targets.median_pfs_months, abs=0.15)
    assert out["median_followup_months"] == pytest.approx(targets.median_followup_months,
                                                          abs=0.3)


def test_clinical_dependence(large):
    cohort, _ = large
    score, albumin = cohort["child_pugh_score"], cohort["albumin_g_l"]
    means = [albumin[score == s].mean() for s in (5, 6, 7, 8)]
    assert means == sorted(means, reverse=True)  # albumin falls as Child-Pugh rises
    bilirubin = cohort["bilirubin_mg_dl"]
    assert np.median(bilirubin[score >= 7]) > np.median(bilirubin[score == 5])
    assert cohort["cirrhosis"][score >= 7].mean() > cohort["cirrhosis"][score == 5].mean()
    assert np.all(cohort["bclc"][cohort["extrahepatic_spread"] == 1] == "C")
    ecog = cohort["ecog"]
    assert albumin[ecog >= 1].mean() < albumin[ecog == 0].mean()
    lymph = cohort["lymphocytes_10e9_l"]
    assert np.corrcoef(np.log(lymph), albumin)[0, 1] > 0.1
    etiology = cohort["etiology"]
    cirrhosis = cohort["cirrhosis"]
    assert cirrhosis[np.isin(etiology, ("hcv", "alcohol"))].mean() > \
        cirrhosis[np.isin(etiology, ("nash", "hbv"))].mean()


def test_columns_types_and_consistency(large):
    cohort, _ = large
    assert list(cohort) == list(COHORT_COLUMNS) + list(EXTRA_COLUMNS)
    assert np.array_equal(cohort["id"], np.arange(1, N_LARGE + 1))
    assert set(np.unique(cohort["sex"])) == {"F", "M"}
    assert set(np.unique(cohort["ecog"])) == {0, 1, 2}
    for event in ("os_event", "pfs_event", "cirrhosis", "extrahepatic_spread"):
        assert set(np.unique(cohort[event])) == {0, 1}
    assert np.all(cohort["os_months"] > 0) and np.all(cohort["pfs_months"] > 0)
    assert np.all(cohort["pfs_months"] <= cohort["os_months"])
    assert np.all(cohort["pfs_event"][cohort["os_event"] == 1] == 1)
    assert np.all(np.equal(np.round(cohort["albumin_g_l"]), cohort["albumin_g_l"]))
    assert np.array_equal(cohort["pni"], pni_values(cohort["albumin_g_l"],
                                                    cohort["lymphocytes_10e9_l"]))
    # administrative end: nobody is followed past the close of the window
    scenario = get_scenario("tog2025")
    end = scenario.accrual_months + calibrate(scenario).followup_after_accrual_months
    assert np.all(cohort["entry_months"] + cohort["os_months"] <= end + 1e-4)


def test_linear_predictor_is_the_truth_on_the_coded_factors(large):
    cohort, _ = large
    values = truth(get_scenario("tog2025"))
    coded = code_factors(cohort)
    expected = sum(values[f] * coded[f] for f in values)
    np.testing.assert_allclose(cohort["linear_predictor"], expected, rtol=0, atol=1e-12)


def test_same_seed_same_cohort_and_extra_does_not_change_the_stream():
    scenario = get_scenario("tog2025")
    a = generate_cohort(scenario, 500, np.random.default_rng(5))
    b = generate_cohort(scenario, 500, np.random.default_rng(5), extra=True)
    c = generate_cohort(scenario, 500, np.random.default_rng(6))
    assert list(a) == list(COHORT_COLUMNS)
    for name in COHORT_COLUMNS:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["os_months"], c["os_months"])


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "58"])
def test_bad_n(n):
    with pytest.raises(ValueError, match="n must be a whole number >= 1"):
        generate_cohort(get_scenario("tog2025"), n, np.random.default_rng(1))


def test_cohort_to_frame():
    frame = cohort_to_frame(generate_cohort(get_scenario("tog2025-null"), 7,
                                            np.random.default_rng(2)))
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(COHORT_COLUMNS)
    assert len(frame) == 7


def _cox(frame):
    fitter = CoxPHFitter().fit(frame, "os_months", "os_event")
    return fitter.params_


@pytest.mark.slow
def test_cox_recovers_the_step_effects():
    scenario = get_scenario("tog2025")
    cohort = generate_cohort(scenario, 50_000, np.random.default_rng(424242))
    coded = code_factors(cohort)
    names = ["afp", "extrahepatic_spread", "child_pugh_b", "pni_low"]
    frame = pd.DataFrame({f: coded[f] for f in names}
                         | {"os_months": cohort["os_months"], "os_event": cohort["os_event"]})
    estimates = _cox(frame)
    expected = truth(scenario)
    for name in names:
        assert abs(estimates[name] - expected[name]) < 0.05, name


@pytest.mark.slow
def test_cox_recovers_the_continuous_pni_slope():
    scenario = get_scenario("tog2025-continuous")
    cohort = generate_cohort(scenario, 50_000, np.random.default_rng(434343))
    coded = code_factors(cohort)
    names = ["afp", "extrahepatic_spread", "child_pugh_b"]
    frame = pd.DataFrame({f: coded[f] for f in names}
                         | {"pni_per_unit": pni_values(cohort["albumin_g_l"],
                                                       cohort["lymphocytes_10e9_l"]),
                            "os_months": cohort["os_months"], "os_event": cohort["os_event"]})
    estimates = _cox(frame)
    expected = truth(scenario)
    for name in names + ["pni_per_unit"]:
        assert abs(estimates[name] - expected[name]) < 0.05, name
    # the slope is small per unit: check it relatively as well
    assert estimates["pni_per_unit"] == pytest.approx(expected["pni_per_unit"], rel=0.05)


def test_split_normal_marginal():
    albumin = MARGINALS["albumin"]
    assert albumin.from_normal(np.array([0.0]))[0] == 35.0
    assert albumin.from_normal(np.array([-40.0, 40.0])).tolist() == [16.0, 49.0]
    afp = SplitNormalMarginal(160.0, 0.95, 147314.0, True, 2)
    z = np.linspace(-40, 40, 101)
    values = afp.from_normal(z)
    assert np.all(np.diff(values) >= 0) and values[50] == 160.0
    assert values[0] == 0.95 and values[-1] == 147314.0
    # below the median the log-scale SD is (ln 160 - ln 0.95) / e_58, above it wider
    q = afp.from_normal(np.array([-1.0, 1.0]))
    assert np.log(q[1] / 160) > np.log(160 / q[0]) > 0
    assert blom_extreme(58) == pytest.approx(2.2998, abs=1e-4)  # Phi^-1(57.625 / 58.25)


def test_latent_correlation_is_positive_definite():
    lower = latent_cholesky()
    corr = lower @ lower.T
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert np.linalg.eigvalsh(corr).min() > 0.05


def test_report_time_rounds_up():
    assert report_time(np.array([1e-9, 3.00001, 3.0])).tolist() == [0.0001, 3.0001, 3.0]


# ---------------------------------------------------------------------------------------
# A block of cohorts at once
# ---------------------------------------------------------------------------------------

def _digest(cohort):
    """SHA-256 of every column's bytes (text columns as fixed-width unicode)."""
    import hashlib

    h = hashlib.sha256()
    for name, values in cohort.items():
        h.update(name.encode())
        a = np.asarray(values)
        h.update(a.astype(str).tobytes() if a.dtype.kind in "USO"
                 else np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


#: Digests of cohorts drawn one at a time by the generator before it drew blocks
#: (commit a26cb6e), replicates 0, 5 and 123 of seed 7: the block generator and the
#: refactored single-cohort path must reproduce them bit for bit.
GOLDEN = {
    ("tog2025", 1): ["27e8f8df9366f521", "069b528e3f681800", "386d43fcfbf680a8"],
    ("tog2025", 58): ["7340f614d3090c16", "9be1679a3be6695b", "6d7df9265a0e0ce8"],
    ("tog2025", 1000): ["823b5acd08e1b79f", "de030ebd18b7cb95", "ac14878091d2d669"],
    ("tog2025-null", 58): ["2746f5c0c61d69f4", "2248f0df6b7abe27", "831de855ce79ee7c"],
    ("tog2025-continuous", 58): ["67a3bd8591a540bb", "e724e53a60bc09c1", "02d3126421f83863"],
}


@pytest.mark.parametrize("scenario, n", list(GOLDEN))
def test_cohorts_are_those_of_the_generator_before_blocks(scenario, n):
    from simulation.cohorts.generate import generate_stack
    from simulation.study.seeds import replicate_rng

    alone = [_digest(generate_cohort(get_scenario(scenario), n,
                                     replicate_rng(7, scenario, r), extra=True))
             for r in (0, 5, 123)]
    stack = generate_stack(get_scenario(scenario), n,
                           [replicate_rng(7, scenario, r) for r in (0, 5, 123)], extra=True)
    rows = [_digest({k: v[b] for k, v in stack.items()}) for b in range(3)]
    assert alone == rows == GOLDEN[(scenario, n)]


@pytest.mark.parametrize("scenario", ["tog2025", "tog2025-null-pni", "tog2025-continuous"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 58, 301])
def test_a_stack_equals_its_cohorts_drawn_alone_bit_for_bit(scenario, n):
    from simulation.cohorts.generate import generate_stack
    from simulation.study.seeds import replicate_rng

    rngs = [replicate_rng(11, scenario, r) for r in range(40)]
    stack = generate_stack(get_scenario(scenario), n, rngs, extra=True)
    for b in (0, 1, 17, 39):
        alone = generate_cohort(get_scenario(scenario), n, replicate_rng(11, scenario, b),
                                extra=True)
        assert list(stack) == list(alone)
        for name, column in alone.items():
            assert stack[name].shape == (40, n) and stack[name].dtype == column.dtype
            np.testing.assert_array_equal(stack[name][b], column, err_msg=name)


def test_a_stack_needs_generators_and_a_size():
    from simulation.cohorts.generate import generate_stack

    with pytest.raises(ValueError, match="at least one generator"):
        generate_stack(get_scenario("tog2025"), 58, [])
    with pytest.raises(ValueError, match="n must be a whole number >= 1"):
        generate_stack(get_scenario("tog2025"), 0, [np.random.default_rng(1)])
