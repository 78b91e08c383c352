"""The four ways of using PNI that the simulation study compares, on a stack of cohorts.

Every replicate's cohort is analysed by every method (common random numbers):

``youden``
    The paper's route: the cut-off that maximises Youden's J of PNI against death
    (:func:`simulation.stats.roc.youden_cutoff`), then PNI < cut-off as a factor.
``fixed``
    The published cut-off 47.6, fixed in advance.
``maxstat``
    The maximally selected log-rank cut-off, as R's ``maxstat.test(Surv(time, event) ~
    pni, smethod = "LogRank", pmethod = "Lau92", minprop = 0.1, maxprop = 0.9)``: the split
    whose log-rank scores, summed over the low group and standardised by their permutation
    mean and variance, lie furthest from 0, among the splits that leave 10% to 90% of the
    patients in the low group, with the Lausen & Schumacher (1992) p-value corrected for
    the search (:mod:`simulation.paper.cutoffs`).
``continuous``
    PNI as a continuous covariate (log-HR per one-unit increase of PNI).

And every method gives, per cohort, these estimands:

``cutoff``
    The chosen cut-off (``youden`` and ``maxstat`` only): the midpoint between the highest
    PNI of the low group and the lowest of the high group.
``pni_uv_loghr``
    Univariable Cox log-HR of PNI (PNI < cut-off, coded adverse; per unit for
    ``continuous``).
``pni_mv_loghr``, ``afp_mv_loghr``, ``ehs_mv_loghr``
    Log-HRs of PNI, AFP >= 200 and extrahepatic spread in the multivariable model of the
    four Table 4 factors (AFP, Child-Pugh B, spread, PNI), fitted in every cohort so that
    nothing is conditional on a selection.
``pni_selected``, ``afp_selected``, ``ehs_selected``
    1 if the paper's procedure calls the factor an independent predictor: univariable
    screening of the eight Table 4 factors at p < 0.05, then a multivariable model of those
    that pass, in which the factor has p < 0.05; else 0.

A Cox fit that does not converge or has a separated coefficient (a group without deaths:
the coefficient runs off to infinity) marks all of that model's estimates ``ok = False``
with a flag; they are kept in the file and counted, never averaged. A covariate that is
constant in a cohort (no Child-Pugh B patient, a cut-off below every PNI) is left out of
that cohort's model, which gives the exact estimates of the others; its own estimate is
flagged ``constant``.

References
----------
.. [1] Lausen B, Schumacher M. Maximally selected rank statistics. Biometrics
   1992;48:73-85.
.. [2] Miller R, Siegmund D. Maximally selected chi square statistics. Biometrics
   1982;38:1011-1016.
.. [3] Youden WJ. Index for rating diagnostic tests. Cancer 1950;3:32-35.
.. [4] Altman DG, Lausen B, Sauerbrei W, Schumacher M. Dangers of using "optimal"
   cutpoints in the evaluation of prognostic factors. J Natl Cancer Inst
   1994;86:829-835.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from simulation.cohorts.factors import (
    DEFAULT_PNI_CUTOFF,
    FACTORS,
    code_factors,
    pni_low,
    pni_values,
)
from simulation.paper.cutoffs import CutoffChoice, choose_maxstat, choose_youden
from simulation.paper.screening import enters, independent, usable
from simulation.stats.cox import RiskSets, risk_sets_of
from simulation.stats.engines import DEFAULT_ENGINE, Engine, get_engine
from simulation.stats.stacking import varies

#: Bump when a method's definition changes (part of a study's fingerprint).
METHODS_VERSION = 2

METHODS: tuple[str, ...] = ("youden", "fixed", "maxstat", "continuous")
DICHOTOMISED: tuple[str, ...] = ("youden", "fixed", "maxstat")
DATA_DRIVEN: tuple[str, ...] = ("youden", "maxstat")
ESTIMANDS: tuple[str, ...] = ("cutoff", "pni_uv_loghr", "pni_mv_loghr", "afp_mv_loghr",
                              "ehs_mv_loghr", "pni_selected", "afp_selected", "ehs_selected")
LOGHR_ESTIMANDS: tuple[str, ...] = ("pni_uv_loghr", "pni_mv_loghr", "afp_mv_loghr",
                                    "ehs_mv_loghr")
SELECTED_ESTIMANDS: tuple[str, ...] = ("pni_selected", "afp_selected", "ehs_selected")
#: Estimand prefix -> factor.
ESTIMAND_FACTOR: dict[str, str] = {"pni": "pni_low", "afp": "afp",
                                   "ehs": "extrahepatic_spread"}
#: The multivariable model of Table 4, fitted in every cohort.
MV_FACTORS: tuple[str, ...] = ("afp", "child_pugh_b", "extrahepatic_spread", "pni_low")

#: The published cut-off, used by ``fixed``.
FIXED_CUTOFF = DEFAULT_PNI_CUTOFF


def estimands_of(method: str) -> tuple[str, ...]:
    """The estimands ``method`` gives (``cutoff`` only for data-driven cut-offs)."""
    return ESTIMANDS if method in DATA_DRIVEN else ESTIMANDS[1:]




# ---------------------------------------------------------------------------------------
# Cox fits of many models at once
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Fits:
    """Cox fits of a stack of models, with per-model usability (NaN/False where unfit)."""

    coef: np.ndarray       # (M, p)
    se: np.ndarray
    p: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    active: np.ndarray     # (M, p) covariates fitted
    usable: np.ndarray     # (M,) converged, no coefficient separated
    flag: np.ndarray       # (M,) why not usable ('ok' if usable)
    detail: np.ndarray     # (M,) message for the ledger ('' if usable)


@dataclass(frozen=True)
class _Cohorts:
    """The survival columns of a stack of ``B`` cohorts and their risk sets, sorted once
    for all the models fitted to them."""

    time: np.ndarray        # (B, n)
    event: np.ndarray       # (B, n) 0/1
    risk_sets: RiskSets

    @classmethod
    def of(cls, time: np.ndarray, event: np.ndarray) -> _Cohorts:
        return cls(time, event, risk_sets_of(time, event))


def _fit_models(engine: Engine, cohorts: _Cohorts, designs: Sequence[Sequence[np.ndarray]],
                wanted: np.ndarray, names: Sequence[str]) -> _Fits:
    """Fit one model per design and cohort, with the covariates ``wanted`` that vary in
    their cohort.

    ``designs[k]`` lists the ``p`` covariate columns (B, n) of the ``k``-th design; the
    ``M = K B`` models are stacked design by design (model ``k B + b`` is design ``k`` in
    cohort ``b``), and ``wanted`` is (M, p). All of them share the cohorts' risk sets.
    """
    B = cohorts.time.shape[0]
    X = np.concatenate([np.stack(columns, axis=-1) for columns in designs])
    varying = np.concatenate([np.stack([varies(column) for column in columns], axis=-1)
                              for columns in designs])
    M, _, p = X.shape
    cohort = np.tile(np.arange(B), len(designs))
    active = wanted & varying
    has_events = (cohorts.event.sum(axis=1) > 0)[cohort]
    need = active.any(axis=1) & has_events
    coef = np.full((M, p), np.nan)
    se, pval = coef.copy(), coef.copy()
    lower, upper = coef.copy(), coef.copy()
    converged = np.zeros(M, dtype=bool)
    separated = np.zeros((M, p), dtype=bool)
    widths = active.sum(axis=1)
    for width in np.unique(widths[need]):
        # Models with the same number of fitted covariates are fitted together, each
        # packed to the left: the work grows with p^2, and a selected model rarely uses
        # all eight, so a stack padded to its widest model does twice the work.
        group = need & (widths == width)
        order = np.argsort(~active[group], axis=1, kind="stable")[:, :width]
        packed_active = np.take_along_axis(active[group], order, axis=1)
        packed_X = np.take_along_axis(X[group], order[:, None, :], axis=2)
        of = cohort[group]
        # Two methods often make the same model of a cohort (the same cut-off, so the
        # same PNI groups): each distinct model is fitted once.
        first, copies = _distinct_models(of, packed_X)
        fit = engine.cox_fit(cohorts.time[of[first]], cohorts.event[of[first]],
                             packed_X[first], None, packed_active[first],
                             risk_sets=cohorts.risk_sets.subset(of[first]))
        rows = np.flatnonzero(group)[:, None]
        for target, source in ((coef, fit.coef), (se, fit.se), (pval, fit.p),
                               (lower, fit.ci_lower), (upper, fit.ci_upper)):
            target[rows, order] = source[copies]
        converged[group] = fit.converged[copies]
        separated[rows, order] = fit.separated[copies]
    fit_usable = usable(converged, separated)
    flag = np.full(M, "ok", dtype=object)
    detail = np.full(M, "", dtype=object)
    for m in np.flatnonzero(~fit_usable):
        if not has_events[m]:
            flag[m], detail[m] = "no-events", "no deaths in the cohort"
        elif not need[m]:
            flag[m], detail[m] = "constant", "no covariate varies in the cohort"
        elif separated[m].any():
            which = ", ".join(names[int(k)] for k in np.flatnonzero(separated[m]))
            flag[m], detail[m] = "separated", f"complete separation ({which}): no finite estimate"
        else:
            flag[m], detail[m] = "not-converged", "the Cox fit did not converge"
    return _Fits(coef, se, pval, lower, upper, active, fit_usable, flag, detail)


def _distinct_models(cohort: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct models among ``X`` (M, n, p) fitted to ``cohort`` (M,): the index of
    each one's first copy, and for every model the position of its copy in that list.

    Models are compared through one random projection of their numbers, then checked
    exactly; should two different models ever share a projection, none is merged.
    """
    M = cohort.shape[0]
    rows = np.concatenate([cohort[:, None].astype(float), X.reshape(M, -1)], axis=1)
    projection = np.random.default_rng(20250101).random(rows.shape[1])
    _, first, copies = np.unique(rows @ projection, return_index=True, return_inverse=True)
    if not np.array_equal(rows[first][copies], rows):
        return np.arange(M), np.arange(M)
    return first, copies.ravel()


# ---------------------------------------------------------------------------------------
# The analysis of a stack
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EstimandResult:
    """One estimand of one method over the stack (arrays of shape (B,)).

    ``p`` is the p-value the method itself uses for the test of no effect (for maxstat's
    univariable PNI the Lausen-Schumacher p), ``p_naive`` the plain Wald p of the Cox fit.
    For the ``*_selected`` estimands ``estimate`` is 1.0/0.0 and ``p`` the factor's
    multivariable p (NaN if it did not enter). ``flag`` is ``ok`` or why ``ok`` is False.
    """

    estimate: np.ndarray
    se: np.ndarray
    p: np.ndarray
    p_naive: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    ok: np.ndarray
    flag: np.ndarray
    detail: np.ndarray
    at_boundary: np.ndarray | None = None
    low_share: np.ndarray | None = None


@dataclass(frozen=True)
class StackAnalysis:
    """Every method's estimands for each cohort of a stack."""

    results: dict[tuple[str, str], EstimandResult]
    n: np.ndarray
    deaths: np.ndarray
    methods: tuple[str, ...] = field(default=METHODS)

    def __len__(self) -> int:
        return int(self.n.shape[0])


def _nan(B: int) -> np.ndarray:
    return np.full(B, np.nan)


def _coefficient(fits: _Fits, k: int, rows: slice, p_override: np.ndarray | None = None
                 ) -> EstimandResult:
    """Coefficient ``k`` of the models ``rows`` as an estimand."""
    usable = fits.usable[rows]
    fitted = fits.active[rows, k]
    ok = usable & fitted
    flag = np.where(usable & ~fitted, "constant", fits.flag[rows]).astype(object)
    detail = np.where(usable & ~fitted, "the covariate does not vary in the cohort",
                      fits.detail[rows]).astype(object)
    def keep(values: np.ndarray) -> np.ndarray:
        return np.where(ok, values[rows, k], np.nan)

    p_naive = keep(fits.p)
    p = p_naive if p_override is None else np.where(ok, p_override, np.nan)
    return EstimandResult(estimate=keep(fits.coef), se=keep(fits.se), p=p, p_naive=p_naive,
                          ci_lower=keep(fits.ci_lower), ci_upper=keep(fits.ci_upper), ok=ok,
                          flag=flag, detail=detail)


def analyze_stack(stack: Mapping[str, np.ndarray], engine: str | Engine = DEFAULT_ENGINE,
                  methods: Sequence[str] = METHODS, *, selection: bool = True
                  ) -> StackAnalysis:
    """Analyse each cohort of a stack by each method.

    Parameters
    ----------
    stack : mapping of column -> array (B, n)
        Cohort columns (:func:`stack_cohorts` of generated cohorts), no missing values.
    engine : Engine or its name
        Which Cox fit and log-rank test to use (:mod:`simulation.stats.engines`).
    methods : sequence of str
        Some of :data:`METHODS`.
    selection : bool
        Also run the paper's selection procedure (the ``*_selected`` estimands); the
        large-sample reference leaves it out.

    Returns
    -------
    StackAnalysis
        ``results[(method, estimand)]`` for each method and each of
        :func:`estimands_of` (without ``*_selected`` when ``selection`` is False).

    Examples
    --------
    >>> from simulation.cohorts.generate import generate_cohort
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> cohorts = [generate_cohort(get_scenario("tog2025"), 58, np.random.default_rng(s))
    ...            for s in range(3)]
    >>> from simulation.stats.stacking import stack_cohorts
    >>> out = analyze_stack(stack_cohorts(cohorts), methods=("fixed",))
    >>> out.results[("fixed", "pni_mv_loghr")].estimate.shape
    (3,)
    """
    engine = get_engine(engine)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be among {', '.join(METHODS)}; got {list(methods)!r}")
    methods = tuple(m for m in METHODS if m in methods)
    time = np.asarray(stack["os_months"], dtype=float)
    event = np.asarray(stack["os_event"], dtype=float)
    B, n = time.shape
    pni = pni_values(stack["albumin_g_l"], stack["lymphocytes_10e9_l"])
    coded = code_factors(stack, FIXED_CUTOFF)

    choices: dict[str, CutoffChoice] = {}
    if "youden" in methods:
        choices["youden"] = choose_youden(pni, event)
    if "maxstat" in methods:
        choices["maxstat"] = choose_maxstat(time, event, pni)
    pni_column: dict[str, np.ndarray] = {}
    for m in methods:
        if m == "continuous":
            pni_column[m] = pni
        elif m == "fixed":
            pni_column[m] = coded["pni_low"]
        else:
            pni_column[m] = np.nan_to_num(pni_low(pni, choices[m].cutoff))

    M = len(methods)
    results: dict[tuple[str, str], EstimandResult] = {}
    rows_of = {m: slice(i * B, (i + 1) * B) for i, m in enumerate(methods)}

    # Univariable: PNI by each method, and (for the selection) the seven other factors.
    others = [f for f in FACTORS if f != "pni_low"] if selection else []
    uv_columns = [pni_column[m] for m in methods] + [coded[f] for f in others]
    cohorts = _Cohorts.of(time, event)
    uv = _fit_models(engine, cohorts, [[column] for column in uv_columns],
                     np.ones((len(uv_columns) * B, 1), dtype=bool), ["pni"])
    for m in methods:
        override = choices[m].p if m == "maxstat" else None
        result = _coefficient(uv, 0, rows_of[m], override)
        if m in choices:
            missing = np.isnan(choices[m].cutoff)
            result = _no_cutoff(result, missing)
        results[(m, "pni_uv_loghr")] = result

    # The multivariable model of the four Table 4 factors in every cohort, and (for the
    # selection) the model of the factors that pass the screen: one stack of fits, so
    # that a selected model equal to the Table 4 one is fitted once.
    designs = [[pni_column[m] if f == "pni_low" else coded[f] for f in FACTORS]
               for m in methods]
    wanted = np.tile([f in MV_FACTORS for f in FACTORS], (M * B, 1))
    if selection:
        entered = _screen(methods, uv, others, coded, pni_column, choices, results, B)
        designs, wanted = designs + designs, np.concatenate([wanted, entered])
    fits = _fit_models(engine, cohorts, designs, wanted, list(FACTORS))
    for m in methods:
        for prefix, factor in ESTIMAND_FACTOR.items():
            result = _coefficient(fits, FACTORS.index(factor), rows_of[m])
            if m in choices:
                result = _no_cutoff(result, np.isnan(choices[m].cutoff))
            results[(m, f"{prefix}_mv_loghr")] = result

    for m, choice in choices.items():
        found = ~np.isnan(choice.cutoff)
        results[(m, "cutoff")] = EstimandResult(
            estimate=choice.cutoff, se=_nan(B), p=choice.p, p_naive=_nan(B),
            ci_lower=_nan(B), ci_upper=_nan(B), ok=found,
            flag=np.where(found, "ok", "no-cutoff").astype(object),
            detail=np.where(found, "", _NO_CUTOFF[m]).astype(object),
            at_boundary=choice.at_boundary, low_share=choice.low_share)

    if selection:
        selected_rows = {m: slice(rows.start + M * B, rows.stop + M * B)
                         for m, rows in rows_of.items()}
        _selection(results, methods, selected_rows, fits, wanted, cohorts)
    n_used = np.full(B, n, dtype=np.int64)
    return StackAnalysis(results=results, n=n_used, deaths=event.sum(axis=1).astype(np.int64),
                         methods=methods)


_NO_CUTOFF = {"youden": "no Youden cut-off: the cohort has no deaths or no survivors",
              "maxstat": "no maxstat cut-off: no split in the 10%-90% window, or no deaths"}


def _no_cutoff(result: EstimandResult, missing: np.ndarray) -> EstimandResult:
    """Mark the estimates of cohorts without a cut-off as such."""
    if not missing.any():
        return result
    return EstimandResult(
        estimate=result.estimate, se=result.se, p=result.p, p_naive=result.p_naive,
        ci_lower=result.ci_lower, ci_upper=result.ci_upper, ok=result.ok & ~missing,
        flag=np.where(missing, "no-cutoff", result.flag).astype(object),
        detail=np.where(missing, "the method chose no cut-off", result.detail).astype(object),
        at_boundary=result.at_boundary, low_share=result.low_share)


def _screen(methods: tuple[str, ...], uv: _Fits, others: list[str],
            coded: Mapping[str, np.ndarray], pni_column: Mapping[str, np.ndarray],
            choices: Mapping[str, CutoffChoice],
            results: Mapping[tuple[str, str], EstimandResult], B: int) -> np.ndarray:
    """The paper's univariable screen (:mod:`simulation.paper.screening`): which of
    :data:`FACTORS` enter the multivariable model, (M B, 8), method by method."""
    offset = len(methods) * B
    screen_other = {}
    for j, f in enumerate(others):
        rows = slice(offset + j * B, offset + (j + 1) * B)
        screen_other[f] = np.where(uv.usable[rows] & uv.active[rows, 0], uv.p[rows, 0], np.nan)
    entered_parts: list[np.ndarray] = []
    for m in methods:
        pni_p = results[(m, "pni_uv_loghr")].p
        if m == "maxstat":  # its own (corrected) test decides, whatever the Cox fit did
            pni_p = np.where(varies(pni_column[m]), choices[m].p, np.nan)
        entered_parts.append(np.stack(
            [enters(pni_p if f == "pni_low" else screen_other[f]) for f in FACTORS], axis=-1))
    return np.concatenate(entered_parts)


def _selection(results: dict[tuple[str, str], EstimandResult], methods: tuple[str, ...],
               rows_of: dict[str, slice], fits: _Fits, entered_all: np.ndarray,
               cohorts: _Cohorts) -> None:
    """The paper's procedure: the ``*_selected`` estimands from the multivariable models
    (``fits``, rows ``rows_of``) of the factors that passed the screen (``entered_all``,
    the same rows)."""
    no_events = cohorts.event.sum(axis=1) == 0
    for m in methods:
        rows = rows_of[m]
        for prefix, factor in ESTIMAND_FACTOR.items():
            k = FACTORS.index(factor)
            entered = entered_all[rows, k]
            in_model = _coefficient(fits, k, rows)
            # A factor that did not enter is "not selected", a valid outcome; one that
            # entered a model that could not be fitted, or a cohort without deaths, is not.
            ok = (~entered | in_model.ok) & ~no_events
            chosen = independent(entered, in_model.ok, in_model.p)
            flag = np.where(ok, "ok", np.where(no_events, "no-events", in_model.flag))
            detail = np.where(ok, "", np.where(no_events, "no deaths in the cohort",
                                               in_model.detail))
            results[(m, f"{prefix}_selected")] = EstimandResult(
                estimate=np.where(ok, chosen.astype(float), np.nan), se=in_model.se,
                p=in_model.p, p_naive=in_model.p_naive, ci_lower=in_model.ci_lower,
                ci_upper=in_model.ci_upper, ok=ok, flag=flag.astype(object),
                detail=detail.astype(object))
