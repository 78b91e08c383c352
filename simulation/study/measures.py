"""Performance measures of a simulation study, each with its Monte Carlo standard error.

For an estimand with true value :math:`\\theta` and :math:`n` usable replicates giving
estimates :math:`t_i` and model SEs :math:`s_i` (Morris, White & Crowther 2019, Table 6):

- bias :math:`\\bar t - \\theta`, MCSE :math:`\\sqrt{\\sum (t_i - \\bar t)^2 / (n(n-1))}`;
- empSE :math:`\\sqrt{\\sum (t_i - \\bar t)^2 / (n-1)}`, MCSE
  :math:`\\mathrm{empSE} / \\sqrt{2(n-1)}`;
- MSE :math:`\\overline{(t - \\theta)^2}`, MCSE
  :math:`\\sqrt{\\sum ((t_i - \\theta)^2 - \\mathrm{MSE})^2 / (n(n-1))}`;
- modSE :math:`\\sqrt{\\overline{s^2}}`, MCSE
  :math:`\\sqrt{\\mathrm{Var}(s^2) / (4 n\\, \\mathrm{modSE}^2)}`;
- relative error in modSE :math:`100(\\mathrm{modSE}/\\mathrm{empSE} - 1)`, MCSE
  :math:`100 \\frac{\\mathrm{modSE}}{\\mathrm{empSE}} \\sqrt{\\frac{\\mathrm{Var}(s^2)}
  {4 n\\, \\mathrm{modSE}^4} + \\frac{1}{2(n-1)}}`;
- coverage (share of the Wald 95% intervals holding :math:`\\theta`) and rejection (share
  with p < 0.05), MCSE :math:`\\sqrt{p(1-p)/n}`.

A quantile :math:`q` of the cut-off's distribution gets the distribution-free Monte Carlo
SE :math:`(x_{(u)} - x_{(l)}) / (2 \\cdot 1.96)`, with :math:`l, u = nq \\mp 1.96\\sqrt{nq(1-q)}`
the ranks of its binomial 95% interval (Conover 1999, section 3.2).

The true value each estimand is compared with comes from :mod:`simulation.study.truth`.

References
----------
.. [1] Morris TP, White IR, Crowther MJ. Using simulation studies to evaluate statistical
   methods. Stat Med 2019;38:2074-2102 (Table 6).
.. [2] Conover WJ. Practical Nonparametric Statistics, 3rd ed. Wiley 1999, section 3.2
   (confidence interval for a quantile).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calculator.published import Z95
from simulation.cohorts.scenarios import Scenario, scenario_from_dict
from simulation.paper.cutoffs import MAXSTAT_MAX_SHARE, MAXSTAT_MIN_SHARE
from simulation.paper.methods import (
    LOGHR_ESTIMANDS,
    METHODS,
    estimands_of,
)
from simulation.stats.jsonsafe import finite_or_none
from simulation.study.stopping import StoppingRule, evaluate
from simulation.study.store import ResultColumns
from simulation.study.truth import truth_for

#: Nominal level of the tests whose rejection rate (power, type I error) is measured.
TEST_LEVEL = 0.05
#: Quantiles of the cut-off's distribution that ``summarize`` reports.
CUTOFF_QUANTILES = {"q025": 0.025, "median": 0.5, "q975": 0.975}
#: A data-driven cut-off "finds" the true step if within this many PNI units of it
#: (inclusive): ``share_within_2``.
CUTOFF_TOLERANCE = 2.0


# ---------------------------------------------------------------------------------------
# The measures
# ---------------------------------------------------------------------------------------

def proportion(hits: np.ndarray) -> tuple[float | None, float | None]:
    """A share and its Monte Carlo SE :math:`\\sqrt{p(1-p)/n}`."""
    n = hits.size
    if n == 0:
        return None, None
    p = float(np.mean(hits))
    return p, math.sqrt(p * (1.0 - p) / n)


#: The measures of :func:`performance`, in the order ``summarize`` lists them.
PERFORMANCE_FIELDS: tuple[str, ...] = (
    "mean", "mean_mcse", "bias", "bias_mcse", "empse", "empse_mcse", "mse", "mse_mcse",
    "modse", "modse_mcse", "relerr_modse", "relerr_modse_mcse", "coverage", "coverage_mcse",
    "rejection", "rejection_mcse")


def performance(estimate: np.ndarray, se: np.ndarray, ci_lower: np.ndarray,
                ci_upper: np.ndarray, p: np.ndarray, theta: float | None,
                alpha: float = TEST_LEVEL) -> dict[str, float | None]:
    """Morris, White & Crowther (2019) Table 6 measures of usable replicates.

    Returns ``mean``, ``bias``, ``empse``, ``mse``, ``modse``, ``relerr_modse``,
    ``coverage`` and ``rejection``, each with ``<name>_mcse``; None where undefined
    (no truth, or fewer than two replicates).

    >>> m = performance(np.array([0.9, 1.1, 1.0, 1.2]), np.full(4, 0.1),
    ...                 np.array([0.7, 0.9, 0.8, 1.0]), np.array([1.1, 1.3, 1.2, 1.4]),
    ...                 np.array([0.01, 0.2, 0.03, 0.04]), 1.0)
    >>> round(m["bias"], 4), round(m["bias_mcse"], 4), m["coverage"], m["rejection"]
    (0.05, 0.0645, 1.0, 0.75)
    """
    t = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    n = t.size
    out: dict[str, float | None] = dict.fromkeys(PERFORMANCE_FIELDS)
    if n == 0:
        return out
    mean = float(t.mean())
    out["mean"] = mean
    if n >= 2:
        ss = float(((t - mean) ** 2).sum())
        out["mean_mcse"] = math.sqrt(ss / (n * (n - 1)))
        sd = math.sqrt(ss / (n - 1))
        out["empse"], out["empse_mcse"] = sd, sd / math.sqrt(2 * (n - 1))
    if theta is not None:
        out["bias"] = mean - theta
        out["bias_mcse"] = out["mean_mcse"]
        sq = (t - theta) ** 2
        mse = float(sq.mean())
        out["mse"] = mse
        if n >= 2:
            out["mse_mcse"] = math.sqrt(float(((sq - mse) ** 2).sum()) / (n * (n - 1)))
        with np.errstate(invalid="ignore"):
            out["coverage"], out["coverage_mcse"] = proportion(
                (ci_lower <= theta) & (theta <= ci_upper))
    if np.isfinite(s).all() and n >= 2:
        s2 = s ** 2
        modse = math.sqrt(float(s2.mean()))
        var_s2 = float(s2.var(ddof=1))
        out["modse"] = modse
        if modse > 0:
            out["modse_mcse"] = math.sqrt(var_s2 / (4 * n * modse ** 2))
        empirical = out["empse"]
        if empirical is not None and empirical > 0 and modse > 0:
            ratio = modse / empirical
            out["relerr_modse"] = 100.0 * (ratio - 1.0)
            out["relerr_modse_mcse"] = 100.0 * ratio * math.sqrt(
                var_s2 / (4 * n * modse ** 4) + 1.0 / (2 * (n - 1)))
    with np.errstate(invalid="ignore"):
        out["rejection"], out["rejection_mcse"] = proportion(np.asarray(p) < alpha)
    return {k: finite_or_none(v) for k, v in out.items()}


def quantile_with_mcse(values: np.ndarray, q: float) -> tuple[float | None, float | None]:
    """Sample quantile (numpy's default, linear) and its distribution-free MCSE.

    >>> quantile_with_mcse(np.arange(1.0, 101.0), 0.5)
    (50.5, 5.102...)
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    if n == 0:
        return None, None
    value = float(np.quantile(x, q))
    half = Z95 * math.sqrt(n * q * (1.0 - q))
    lower = min(max(int(math.floor(n * q - half)), 0), n - 1)
    upper = min(max(int(math.ceil(n * q + half)), 0), n - 1)
    return value, float(x[upper] - x[lower]) / (2.0 * Z95)


def cutoff_distribution(cutoff: np.ndarray, at_boundary: np.ndarray, low_share: np.ndarray,
                        truth: float | None = None) -> dict[str, float | None]:
    """Mean, SD, 2.5/50/97.5 percentiles, share at the search boundary, share of
    cut-offs that leave fewer than 10% of patients in a group and, given the true step,
    the share within :data:`CUTOFF_TOLERANCE` PNI units of it (``share_within_2``),
    each with its MCSE.

    >>> out = cutoff_distribution(np.array([45.6, 47.6, 49.7, 52.0]), np.zeros(4, bool),
    ...                           np.full(4, 0.5), truth=47.6)
    >>> out["share_within_2"], round(out["share_within_2_mcse"], 4)
    (0.5, 0.25)
    """
    out: dict[str, float | None] = {}
    for name, q in CUTOFF_QUANTILES.items():
        out[name], out[f"{name}_mcse"] = quantile_with_mcse(cutoff, q)
    out["share_at_boundary"], out["share_at_boundary_mcse"] = proportion(
        np.asarray(at_boundary, dtype=bool))
    with np.errstate(invalid="ignore"):
        extreme = (low_share < MAXSTAT_MIN_SHARE - 1e-12) | (low_share > MAXSTAT_MAX_SHARE + 1e-12)
    out["share_small_group"], out["share_small_group_mcse"] = proportion(extreme)
    out["low_share_mean"] = finite_or_none(np.mean(low_share)) if low_share.size else None
    out["share_within_2"] = out["share_within_2_mcse"] = None
    if truth is not None:
        # A cut-off is a midpoint of two PNI values (multiples of 0.05): compare to
        # within rounding, so that 45.6 is within 2 of 47.6 whatever the float sum says.
        distance = np.abs(np.asarray(cutoff, dtype=float) - truth)
        out["share_within_2"], out["share_within_2_mcse"] = proportion(
            distance <= CUTOFF_TOLERANCE + 1e-9)
    return out


# ---------------------------------------------------------------------------------------
# A study's summary
# ---------------------------------------------------------------------------------------

def summary_rows(store: Any, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One dict per (scenario, method, estimand) with every measure and its MCSE.

    ``store`` is an open :class:`simulation.study.store.Store`; ``names`` limits the
    rows to some scenarios. Fields: ``scenario``, ``base_scenario`` (the scenario a
    design grid point was made from, else the scenario itself), ``n`` (patients per
    cohort), one field per grid key with the point's value (``grid_keys`` lists them,
    :mod:`simulation.study.grids`), ``method, estimand, n_rep`` (replicates in the file),
    ``n_failed`` (of them, without a usable estimate: failed replicates plus flagged
    estimates), ``n_used``, ``failures`` (count per flag), ``truth, truth_kind,
    truth_se, truth_label``, then the measures of :func:`performance` (log-HRs),
    :func:`cutoff_distribution` (cut-offs) or the share selected in ``rejection``
    (``*_selected``). ``rejection_naive`` is the rejection rate of the plain Wald p (it
    differs from ``rejection`` for maxstat's univariable PNI, whose own p is the
    Lausen-Schumacher one). If a run used a stopping rule
    (:mod:`simulation.study.stopping`), ``stopped_by`` says whether the scenario met it
    (``"target"``), reached the cap (``"cap"``) or neither yet (None).
    """
    out: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for entry in store.scenario_entries():
        if names is not None and entry.name not in names:
            continue
        scenario = scenario_from_dict(entry.definition)
        tally = store.replicate_counts(entry.name)
        n_rep = counts[entry.name] = tally["ok"] + tally["failed"]
        reference = store.reference(entry.name)
        grouped = store.result_columns(entry.name)
        design = {"base_scenario": entry.base, "n": entry.n,
                  "grid_keys": [key for key, _ in entry.grid],
                  **{key: value for key, value in entry.grid if key != "n"}}
        for method in METHODS:
            for estimand in estimands_of(method):
                columns = grouped.pop((method, estimand), None) or ResultColumns.empty()
                if not len(columns) and n_rep == 0:
                    continue
                row = _summary_row(scenario, method, estimand, columns, n_rep,
                                   tally["failed"], entry.requested, reference)
                out.append({"scenario": row.pop("scenario"), **design, **row})
    setting = store.setting("stopping")
    if setting is not None:
        status = evaluate(StoppingRule.from_dict(setting), out, counts)
        for row in out:
            row["stopped_by"] = status[row["scenario"]].stopped_by
    return out


def _summary_row(scenario: Scenario, method: str, estimand: str, columns: ResultColumns,
                 n_rep: int, failed_replicates: int, requested: int,
                 reference: Mapping[tuple[str, str], tuple[Any, Any, int, str]]
                 ) -> dict[str, Any]:
    """The measures of one (scenario, method, estimand) from its result columns."""
    flags = dict(columns.flags)
    if failed_replicates:
        flags["replicate-failed"] = failed_replicates
    used = columns.ok
    n_used = int(used.sum())
    theta = truth_for(scenario, method, estimand, reference)
    record: dict[str, Any] = {
        "scenario": scenario.name, "method": method, "estimand": estimand,
        "n_rep": n_rep, "n_requested": requested, "n_failed": n_rep - n_used,
        "n_used": n_used, "failures": flags, "truth": theta.value,
        "truth_kind": theta.kind, "truth_se": theta.se, "truth_label": theta.label,
    }
    estimate = columns.estimate[used]
    record.update(dict.fromkeys(PERFORMANCE_FIELDS))
    if estimand in LOGHR_ESTIMANDS or estimand == "cutoff":
        measures = performance(estimate, columns.se[used], columns.ci_lower[used],
                               columns.ci_upper[used], columns.p[used], theta.value)
        naive, naive_mcse = (proportion(columns.p_naive[used] < TEST_LEVEL) if n_used
                             else (None, None))
        if estimand == "cutoff":
            for key in ("modse", "modse_mcse", "relerr_modse", "relerr_modse_mcse",
                        "coverage", "coverage_mcse"):
                measures[key] = None
            measures["sd"], measures["sd_mcse"] = measures["empse"], measures["empse_mcse"]
            measures.update(cutoff_distribution(estimate, columns.at_boundary[used],
                                                columns.low_share[used], theta.value))
            if method != "maxstat":
                measures["rejection"] = measures["rejection_mcse"] = None
        else:
            measures["rejection_naive"], measures["rejection_naive_mcse"] = naive, naive_mcse
        record.update(measures)
    else:
        share, share_mcse = proportion(estimate > 0.5) if n_used else (None, None)
        record.update({"mean": share, "mean_mcse": share_mcse,
                       "rejection": share, "rejection_mcse": share_mcse})
    return record

