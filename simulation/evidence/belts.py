"""Confidence belts: the simulated distribution of a factor's estimate at each true log-HR.

At grid point :math:`\\theta` of factor k, two estimators are collected from the study
file (one value per replicate):

``as_published`` (belt B)
    :math:`T_k`, factor k's log-HR in the paper's final model, among the replicates in
    which the procedure *reports it as the paper did*: univariable screen passed,
    multivariable p < .05, and adverse (:math:`T_k > 0`). The paper published adverse
    effects; a significant protective estimate would have been another publication, and
    conditioning on the sign as well keeps the belt a family of truncated distributions,
    whose quantiles rise with :math:`\\theta` (two-sided selection instead makes the
    conditional distribution bimodal near :math:`\\theta = 0`, and its median jumps).
    The study file keeps the selected model's Wald interval of the factor, so
    :math:`T_k` is its midpoint (a Wald interval is symmetric on the log scale).
``always_fitted`` (belt A)
    :math:`A_k`, factor k's log-HR in the model of the four Table 4 factors fitted in
    every replicate (PNI dichotomised at that replicate's Youden cut-off).

A fit that fails (a separated coefficient, no convergence) gives no estimate and is
left out; its count is kept. For each belt and grid point the 2.5%, 50% and 97.5%
quantiles (:data:`QUANTILE_METHOD`) are taken with their distribution-free Monte Carlo
SEs (:func:`simulation.study.measures.quantile_with_mcse`); a point with fewer than
:data:`MIN_SAMPLE` estimates has none.

Each quantile curve is then smoothed across :math:`\\theta` by a cubic smoothing spline
(:func:`scipy.interpolate.make_smoothing_spline`) weighted by the inverse squared MCSEs,
its smoothing parameter chosen by the unbiased risk estimate with those known Monte
Carlo variances (:func:`ubre_lambda`).
Nothing forces the curves to be monotone: where the smoothed curve falls, and a
bootstrap over replicates confirms the fall, :func:`decreasing_runs` says so.

References
----------
.. [1] Neyman J. Outline of a theory of statistical estimation based on the classical
   theory of probability. Phil Trans R Soc A 1937;236:333-380.
.. [2] Wahba G. Spline Models for Observational Data. SIAM 1990.
.. [3] Hyndman RJ, Fan Y. Sample quantiles in statistical packages. Am Stat
   1996;50:361-365.
.. [4] Craven P, Wahba G. Smoothing noisy data with spline functions. Numer Math
   1979;31:377-403.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from scipy.interpolate import make_smoothing_spline

from simulation.evidence.design import PREFIX, GridPoint
from simulation.study.measures import quantile_with_mcse
from simulation.study.seeds import check_seed, scenario_key

#: The two belts, headline first.
BELTS: Final = ("as_published", "always_fitted")
BELT_TITLES: Final = {
    "as_published": "as published (among studies that report the factor)",
    "always_fitted": "always fitted (four-factor model in every study)",
}
#: Quantile levels of a belt: its lower edge, median and upper edge.
LEVELS: Final = (0.025, 0.5, 0.975)
#: The sample quantile: the order statistic at position p(n + 1) (Hyndman & Fan 1996,
#: type 6), whose distribution function is p on average, so a belt edge leaves out p of
#: new replicates on average. numpy's default (type 7, position 1 + p(n - 1)) sits
#: inside it: at n = 250 its 2.5% and 97.5% quantiles cover 94.2% on average.
QUANTILE_METHOD: Final = "weibull"
#: Fewest estimates at a grid point for its quantiles.
MIN_SAMPLE: Final = 40
#: Step of the fine grid on which smoothed belts are evaluated and inverted.
FINE_STEP: Final = 0.005
#: Bootstrap resamples of the replicates (Monte Carlo SEs of everything derived).
BOOTSTRAP: Final = 200
#: Stream number of the bootstrap's random numbers in a scenario's seed key (replicates
#: use 0, the large-sample reference 1; :mod:`simulation.study.seeds`).
BOOTSTRAP_STREAM: Final = 2
#: Share of bootstrap curves that must also fall for a fall to count as real.
CONFIRM_SHARE: Final = 0.95


@dataclass(frozen=True)
class Samples:
    """One grid point's estimates for each belt, with their replicate numbers.

    ``replicates`` counts the replicates in the file, ``failed`` per belt the fits
    without a usable estimate (for ``as_published``: the paper's final model), and
    ``reported`` the replicates in which the procedure reported the factor.
    """

    point: GridPoint
    replicates: int
    values: Mapping[str, np.ndarray]
    replicate_ids: Mapping[str, np.ndarray]
    failed: Mapping[str, int]
    reported: int


def reported_adverse(ok: np.ndarray, selected: np.ndarray, log_hr: np.ndarray) -> np.ndarray:
    """The replicates whose procedure reports the factor as the paper did: called an
    independent predictor (``selected`` 1) with an adverse estimate (log-HR > 0)."""
    with np.errstate(invalid="ignore"):
        return ok & (selected == 1.0) & (log_hr > 0.0)


def samples_of(point: GridPoint, columns: Mapping[tuple[str, str], Any],
               replicates: int, method: str = "youden") -> Samples:
    """The belts' estimates at ``point`` from its study-file columns
    (:meth:`simulation.study.store.Store.result_columns`)."""
    prefix = PREFIX[point.factor]
    always = columns[(method, f"{prefix}_mv_loghr")]
    selected = columns[(method, f"{prefix}_selected")]
    midpoint = (selected.ci_lower + selected.ci_upper) / 2.0
    reported = reported_adverse(selected.ok, selected.estimate, midpoint)
    return Samples(
        point=point, replicates=int(replicates),
        values={"as_published": midpoint[reported], "always_fitted": always.estimate[always.ok]},
        replicate_ids={"as_published": selected.replicate[reported].astype(np.int64),
                       "always_fitted": always.replicate[always.ok].astype(np.int64)},
        failed={"as_published": int((~selected.ok).sum()),
                "always_fitted": int((~always.ok).sum())},
        reported=int(reported.sum()))


def raw_quantiles(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The :data:`LEVELS` quantiles of ``values`` and their MCSEs (NaN if too few)."""
    if values.size < MIN_SAMPLE:
        return np.full(3, np.nan), np.full(3, np.nan)
    quantiles = np.quantile(values, LEVELS, method=QUANTILE_METHOD)
    mcse = [quantile_with_mcse(values, q)[1] for q in LEVELS]
    return np.asarray(quantiles, dtype=float), np.array(mcse, dtype=float)


def bootstrap_quantiles(values: np.ndarray, rng: np.random.Generator,
                        draws: int = BOOTSTRAP) -> np.ndarray:
    """``(draws, 3)`` quantiles of resamples (with replacement) of ``values``."""
    if values.size < MIN_SAMPLE:
        return np.full((draws, 3), np.nan)
    index = rng.integers(0, values.size, size=(draws, values.size))
    return np.quantile(values[index], LEVELS, axis=1, method=QUANTILE_METHOD).T


def bootstrap_rng(seed: int, point: GridPoint, belt: str) -> np.random.Generator:
    """The bootstrap's generator for one belt at one grid point (its own stream)."""
    sequence = np.random.SeedSequence(
        check_seed(seed),
        spawn_key=(scenario_key(point.name), BOOTSTRAP_STREAM, BELTS.index(belt)))
    return np.random.Generator(np.random.PCG64(sequence))


# ---------------------------------------------------------------------------------------
# Smoothing
# ---------------------------------------------------------------------------------------

#: The smoothing parameters tried: log10 from -8 to 12 in steps of 1/2.
LOG_LAMBDAS: Final = np.arange(-8.0, 12.01, 0.5)


def ubre_lambda(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    r"""The smoothing parameter that minimises the unbiased risk estimate (UBRE).

    With weights :math:`w_i = 1/\mathrm{MCSE}_i^2` the noise variance is 1, so

    .. math:: \mathrm{UBRE}(\lambda) = \frac{1}{n}\sum_i w_i\,
              \bigl(y_i - \hat f_\lambda(x_i)\bigr)^2 + \frac{2}{n}\,
              \mathrm{tr}\,H_\lambda - 1

    estimates the mean squared error of the smooth against the true curve (Mallows'
    :math:`C_p`; Craven & Wahba 1979; Wahba 1990, section 4.7). The trace of the hat
    matrix :math:`H_\lambda` comes from smoothing the unit vectors in the same call.
    The smallest UBRE over :data:`LOG_LAMBDAS` is taken.
    """
    n = x.size
    batch = np.column_stack([y, np.eye(n)])
    best_score, best = np.inf, 0.0
    for log_lam in LOG_LAMBDAS:
        fitted = make_smoothing_spline(x, batch, w, lam=10.0 ** log_lam)(x)
        score = (float(np.mean(w * (y - fitted[:, 0]) ** 2))
                 + 2.0 * float(np.trace(fitted[:, 1:])) / n - 1.0)
        if score < best_score:
            best_score, best = score, float(log_lam)
    return 10.0 ** best


@dataclass(frozen=True)
class Belt:
    """One belt of one factor under one family, raw and smoothed.

    ``theta``, ``n``, ``raw`` and ``raw_mcse`` are per grid point (``raw`` is
    ``(G, 3)``, NaN where too few estimates); ``fine`` the fine grid over the points
    that have quantiles, ``smooth`` the smoothed curves on it ``(F, 3)``, ``lam`` their
    smoothing parameters and ``boot`` the same curves refitted to bootstrap quantiles
    ``(B, F, 3)``.
    """

    family: str
    factor: str
    belt: str
    theta: np.ndarray
    n: np.ndarray
    raw: np.ndarray
    raw_mcse: np.ndarray
    fine: np.ndarray
    smooth: np.ndarray
    lam: np.ndarray
    boot: np.ndarray


def fine_grid(start: float, stop: float) -> np.ndarray:
    """Points :data:`FINE_STEP` apart from ``start`` to ``stop`` (both included)."""
    count = int(round((stop - start) / FINE_STEP)) + 1
    return np.linspace(start, stop, count)


def smooth_curves(theta: np.ndarray, raw: np.ndarray, mcse: np.ndarray,
                  fine: np.ndarray, lam: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each column of ``raw (G, 3)`` smoothed and evaluated on ``fine``; the parameters.

    Only grid points with a quantile take part; ``lam`` (one per level) is chosen by
    :func:`ubre_lambda` unless given.
    """
    have = ~np.isnan(raw).any(axis=1)
    if have.sum() < 5:
        return np.full((fine.size, 3), np.nan), np.full(3, np.nan)
    x = theta[have]
    out = np.empty((fine.size, 3))
    lams = np.empty(3)
    for j in range(3):
        y = raw[have, j]
        w = 1.0 / np.maximum(mcse[have, j], 1e-6) ** 2
        lams[j] = ubre_lambda(x, y, w) if lam is None else lam[j]
        out[:, j] = make_smoothing_spline(x, y, w, lam=float(lams[j]))(fine)
    return out, lams


def smooth_batch(theta: np.ndarray, raw: np.ndarray, mcse: np.ndarray, fine: np.ndarray,
                 lam: np.ndarray) -> np.ndarray:
    """Bootstrap quantiles ``raw (B, G, 3)`` smoothed with fixed parameters -> (B, F, 3)."""
    have = ~np.isnan(raw).any(axis=(0, 2))
    out = np.full((raw.shape[0], fine.size, 3), np.nan)
    if have.sum() < 5 or np.isnan(lam).any():
        return out
    x = theta[have]
    for j in range(3):
        w = 1.0 / np.maximum(mcse[have, j], 1e-6) ** 2
        y = raw[:, have, j].T  # (G', B): batched along the second axis
        out[:, :, j] = make_smoothing_spline(x, y, w, lam=float(lam[j]))(fine).T
    return out


def build_belt(samples: Sequence[Samples], belt: str, seed: int,
               draws: int = BOOTSTRAP) -> Belt:
    """The belt ``belt`` from the samples of one factor's grid points (in grid order)."""
    theta = np.array([s.point.theta for s in samples])
    n = np.array([s.values[belt].size for s in samples])
    pairs = [raw_quantiles(s.values[belt]) for s in samples]
    raw = np.array([p[0] for p in pairs])
    mcse = np.array([p[1] for p in pairs])
    have = ~np.isnan(raw).any(axis=1)
    fine = fine_grid(theta[have].min(), theta[have].max()) if have.any() else np.empty(0)
    smooth, lam = smooth_curves(theta, raw, mcse, fine)
    boot_raw = np.stack([bootstrap_quantiles(s.values[belt], bootstrap_rng(seed, s.point, belt),
                                             draws) for s in samples], axis=1)
    boot = smooth_batch(theta, boot_raw, mcse, fine, lam)
    first = samples[0].point
    return Belt(first.family, first.factor, belt, theta, n, raw, mcse, fine, smooth, lam, boot)


def decreasing_runs(fine: np.ndarray, curve: np.ndarray, boot: np.ndarray,
                    confirm: float = CONFIRM_SHARE) -> list[tuple[float, float, float]]:
    """Stretches where a smoothed curve falls, confirmed by the bootstrap.

    A run of consecutive fine-grid steps where ``curve`` decreases counts when at least
    ``confirm`` of the bootstrap curves ``boot (B, F)`` are also lower at its end than
    at its start. Returns ``(theta_start, theta_end, fall)`` of each confirmed run.

    >>> x = np.linspace(0, 1, 11)
    >>> decreasing_runs(x, 1 - (x - 0.3) ** 2, np.tile(1 - (x - 0.3) ** 2, (5, 1)))
    [(0.3, 1.0, 0.49)]
    """
    falls = np.diff(curve) < 0
    runs = []
    i = 0
    while i < falls.size:
        if not falls[i]:
            i += 1
            continue
        j = i
        while j + 1 < falls.size and falls[j + 1]:
            j += 1
        start, end = i, j + 1
        confirmed = np.mean(boot[:, end] < boot[:, start]) >= confirm
        if confirmed:
            runs.append((round(float(fine[start]), 6), round(float(fine[end]), 6),
                         round(float(curve[start] - curve[end]), 6)))
        i = j + 1
    return runs
