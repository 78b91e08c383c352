"""Synthetic cohorts like the TOG second-line HCC study (Majidova et al. 2025).

A cohort is drawn in three steps, each documented where it is done:

1. **Covariates** (:func:`simulation.cohorts.covariates.draw_covariates`), from a Gaussian
   copula with the Table 1 marginals.
2. **Survival times** (:func:`draw_outcomes`). Overall survival and time to progression by
   inverse transform from a Weibull proportional-hazards model (Bender, Augustin &
   Blettner 2005); PFS is the earlier of progression and death, so PFS <= OS.
3. **Censoring.** Staggered uniform entry over the accrual window, an administrative end of
   study (by default at the close of the paper's window) and exponential drop-out. The
   drop-out rate and the Weibull scales and shapes (or, if the shape is fixed, the end of
   study) are solved by :mod:`simulation.cohorts.calibrate` so that the expected death fraction,
   median follow-up (reverse Kaplan-Meier), median OS and PFS and the share with a PFS
   event hit the scenario's targets.

Values are rounded as a laboratory reports them (age in whole years, albumin to 1 g/L,
lymphocytes, AFP, bilirubin and INR to 0.01), and the factors that carry the hazard are
coded from the rounded values by the project's one coding
(:func:`simulation.cohorts.factors.code_factors`, PNI by :func:`calculator.pni.
prognostic_nutritional_index`), so the generating model is a model of exactly the numbers
written to the CSV and read back by the analysis.

References
----------
.. [1] Bender R, Augustin T, Blettner M. Generating survival times to simulate Cox
   proportional hazards models. Stat Med 2005;24:1713-23.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulation.cohorts.calibrate import Calibration, calibrate
from simulation.cohorts.covariates import LATENTS, covariates_from_normals
from simulation.cohorts.factors import pni_values
from simulation.cohorts.scenarios import Scenario, linear_predictor
from simulation.cohorts.schema import COLUMN_NAMES

if TYPE_CHECKING:  # pragma: no cover
    # Deferred: pandas only for this convenience; generating needs numpy alone.
    import pandas as pd

#: The cohort CSV columns of the project's interface, in order.
COHORT_COLUMNS: tuple[str, ...] = COLUMN_NAMES
#: Columns :func:`generate_cohort` adds with ``extra=True`` (not part of the CSV).
EXTRA_COLUMNS: tuple[str, ...] = ("bclc", "pni", "entry_months", "linear_predictor")

#: Decimals of a month to which OS and PFS times are reported (0.0001 month ~ 3 s).
TIME_DECIMALS = 4


# --- Random draws ---------------------------------------------------------------------
@dataclass(frozen=True)
class CohortDraws:
    """Every random number of a cohort, drawn from its generator in this order.

    ``normals`` feed the covariate copula (:func:`simulation.cohorts.covariates.
    covariates_from_normals`); ``death`` and ``progression`` are standard exponentials
    of the two latent Weibull times, ``entry`` uniforms of the staggered entry and
    ``dropout`` standard exponentials of the drop-out time. Arrays have shape ``(n, ...)``
    for one cohort, or ``(B, n, ...)`` for a stack, each cohort from its own generator.
    """

    normals: np.ndarray
    death: np.ndarray
    progression: np.ndarray
    entry: np.ndarray
    dropout: np.ndarray

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator) -> CohortDraws:
        """One cohort's draws from ``rng`` (the only place the generator is used)."""
        return cls(normals=rng.standard_normal((n, len(LATENTS))),
                   death=rng.standard_exponential(n),
                   progression=rng.standard_exponential(n),
                   entry=rng.random(n),
                   dropout=rng.standard_exponential(n))

    @classmethod
    def stack(cls, n: int, rngs: Sequence[np.random.Generator]) -> CohortDraws:
        """The draws of ``len(rngs)`` cohorts, cohort ``b`` from ``rngs[b]``, as a stack."""
        normals = np.empty((len(rngs), n, len(LATENTS)))
        death, progression, entry, dropout = (np.empty((len(rngs), n)) for _ in range(4))
        for b, rng in enumerate(rngs):
            # The same calls in the same order as draw(): each stream gives what it gives
            # a cohort drawn alone.
            rng.standard_normal(out=normals[b])
            rng.standard_exponential(out=death[b])
            rng.standard_exponential(out=progression[b])
            rng.random(out=entry[b])
            rng.standard_exponential(out=dropout[b])
        return cls(normals, death, progression, entry, dropout)


# --- Outcomes ------------------------------------------------------------------------
def weibull_times(eta: np.ndarray, scale_months: float, shape: float,
                  exponentials: np.ndarray) -> np.ndarray:
    """Event times by inverse transform (Bender, Augustin & Blettner 2005).

    With cumulative baseline hazard :math:`H_0(t) = (t/\\lambda)^k` and
    :math:`E = -\\ln U` a standard exponential (``exponentials``, shaped like ``eta``),

    .. math:: T = \\lambda\\,\\bigl(E\\,e^{-\\eta}\\bigr)^{1/k}

    has hazard :math:`h_0(t)\\,e^{\\eta}`.
    """
    return scale_months * (exponentials * np.exp(-eta)) ** (1.0 / shape)


def censoring_from_draws(calibration: Calibration, accrual_months: float,
                         entry_uniform: np.ndarray, dropout_exponential: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Entry times and potential censoring times from their uniform and exponential draws.

    Entry is uniform over the accrual window :math:`[0, A]`; the study ends at
    :math:`A + a` (``a``, the follow-up after accrual, is calibrated), so the
    administrative follow-up is :math:`A + a - \\mathrm{entry}`; drop-out is exponential
    with the calibrated rate :math:`\\mu` (none if :math:`\\mu = 0`, the draw still
    taken so that the stream stays aligned). Returns ``(entry, C)`` with C the earlier
    of the two.
    """
    entry = accrual_months * entry_uniform
    administrative = accrual_months + calibration.followup_after_accrual_months - entry
    if calibration.dropout_rate_per_month > 0:
        dropout = dropout_exponential / calibration.dropout_rate_per_month
    else:
        dropout = np.full(np.shape(entry), np.inf)
    return entry, np.minimum(administrative, dropout)


def censoring_times(n: int, calibration: Calibration, accrual_months: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Entry times and potential censoring times of ``n`` patients drawn from ``rng``
    (see :func:`censoring_from_draws`)."""
    entry = rng.random(n)
    return censoring_from_draws(calibration, accrual_months, entry,
                                rng.standard_exponential(n))


def report_time(months: np.ndarray) -> np.ndarray:
    """Times rounded *up* to :data:`TIME_DECIMALS` decimals of a month.

    Rounding up keeps every time positive (a death in the first seconds is not day 0)
    and, being monotone, keeps PFS <= OS. Ties stay rare.

    >>> report_time(np.array([0.00001, 2.50001])).tolist()
    [0.0001, 2.5001]
    """
    scale = 10.0 ** TIME_DECIMALS
    return np.ceil(np.asarray(months) * scale) / scale


def outcomes_from_draws(eta: np.ndarray, scenario: Scenario, calibration: Calibration,
                        draws: CohortDraws) -> dict[str, np.ndarray]:
    """OS and PFS (months, event indicators) for patients with log relative hazards ``eta``.

    Death and progression are two latent Weibull times with the same covariate effects
    (each with its own calibrated scale and shape), independent given the covariates.
    PFS is the time to progression or death, whichever comes first (the paper's
    definition), so PFS <= OS and a death without progression is a PFS event. Both are
    censored at the same time. Times are reported by :func:`report_time`. ``eta`` and
    the draws have the shape ``(n,)`` or ``(B, n)``.
    """
    death = weibull_times(eta, calibration.os_scale_months, calibration.weibull_shape,
                          draws.death)
    progression = weibull_times(eta, calibration.pfs_scale_months,
                                calibration.pfs_weibull_shape, draws.progression)
    entry, censor = censoring_from_draws(calibration, scenario.accrual_months, draws.entry,
                                         draws.dropout)
    pfs_true = np.minimum(progression, death)
    return {
        "os_months": report_time(np.minimum(death, censor)),
        "os_event": (death <= censor).astype(np.int64),
        "pfs_months": report_time(np.minimum(pfs_true, censor)),
        "pfs_event": (pfs_true <= censor).astype(np.int64),
        "entry_months": entry,
    }


def _check_size(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number >= 1; got {n!r}")
    return int(n)


def cohorts_from_draws(scenario: Scenario, draws: CohortDraws, *, extra: bool = False
                       ) -> dict[str, np.ndarray]:
    """The cohort (or stack of cohorts) that ``draws`` make under ``scenario``.

    Everything after the draws is elementwise, or a matrix product per cohort, so the
    cohorts of a stack equal, bit for bit, the same cohorts made one at a time.
    """
    covariates = covariates_from_normals(draws.normals, scenario.ecog2_share)
    eta = linear_predictor(covariates, scenario)
    outcomes = outcomes_from_draws(eta, scenario, calibrate(scenario), draws)
    shape = eta.shape
    cohort: dict[str, np.ndarray] = {
        "id": np.broadcast_to(np.arange(1, shape[-1] + 1, dtype=np.int64), shape).copy()}
    for name in COHORT_COLUMNS[1:]:
        cohort[name] = covariates[name] if name in covariates else outcomes[name]
    if extra:
        cohort["bclc"] = covariates["bclc"]
        cohort["pni"] = pni_values(covariates["albumin_g_l"], covariates["lymphocytes_10e9_l"])
        cohort["entry_months"] = outcomes["entry_months"]
        cohort["linear_predictor"] = eta
    return cohort


def generate_cohort(scenario: Scenario, n: int, rng: np.random.Generator, *,
                    extra: bool = False) -> dict[str, np.ndarray]:
    """A synthetic cohort of ``n`` patients under ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The generating model (see :func:`simulation.cohorts.scenarios.get_scenario`).
    n : int
        Number of patients (>= 1).
    rng : numpy.random.Generator
        The only source of randomness; the same generator state gives the same cohort.
    extra : bool
        Also return :data:`EXTRA_COLUMNS` (BCLC stage, exact PNI, entry time, the linear
        predictor). The random stream is the same either way.

    Returns
    -------
    dict of str to numpy.ndarray
        The columns :data:`COHORT_COLUMNS`, in that order (then the extras).

    Examples
    --------
    >>> import numpy as np
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> cohort = generate_cohort(get_scenario("tog2025"), 58, np.random.default_rng(1))
    >>> list(cohort)[:3], len(cohort["os_months"])
    (['id', 'age', 'sex'], 58)
    """
    return cohorts_from_draws(scenario, CohortDraws.draw(_check_size(n), rng), extra=extra)


def generate_stack(scenario: Scenario, n: int, rngs: Sequence[np.random.Generator], *,
                   extra: bool = False) -> dict[str, np.ndarray]:
    """``len(rngs)`` cohorts of ``n`` patients at once, as a stack of ``(B, n)`` columns.

    Cohort ``b`` draws from ``rngs[b]`` exactly what :func:`generate_cohort` would draw
    from it, and the rest is computed for the whole stack at once, with the same
    numbers: row ``b`` of every column equals ``generate_cohort(scenario, n, rngs[b])``
    bit for bit (``tests/test_generate.py`` checks it). Only drawing stays a loop, a few
    microseconds per cohort; for cohorts of 58 this is about four times as fast as
    generating them one at a time and stacking them.

    Examples
    --------
    >>> import numpy as np
    >>> from simulation.cohorts.scenarios import get_scenario
    >>> scenario = get_scenario("tog2025")
    >>> stack = generate_stack(scenario, 58, [np.random.default_rng(s) for s in (1, 2)])
    >>> stack["os_months"].shape
    (2, 58)
    >>> alone = generate_cohort(scenario, 58, np.random.default_rng(2))
    >>> bool((stack["os_months"][1] == alone["os_months"]).all())
    True
    """
    if not rngs:
        raise ValueError("generate_stack needs at least one generator")
    return cohorts_from_draws(scenario, CohortDraws.stack(_check_size(n), rngs), extra=extra)


def cohort_to_frame(cohort: dict[str, np.ndarray]) -> pd.DataFrame:
    """The cohort as a :class:`pandas.DataFrame`, columns in the CSV order."""
    # Deferred: pandas only for this convenience; generating needs numpy alone.
    import pandas as pd

    return pd.DataFrame({name: cohort[name] for name in cohort})
