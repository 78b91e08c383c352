"""The covariate model: baseline characteristics with the Table 1 marginals.

A Gaussian copula: one vector of correlated standard normals per patient, each turned
into its variable by that variable's own quantile function, so every marginal is exactly
the Table 1 marginal whatever the dependence. The dependence (albumin lower at higher
Child-Pugh scores, and so on) lives only in the latent correlation matrix
:data:`LATENT_CORRELATIONS`. Values are rounded as a laboratory reports them (age in whole
years, albumin to 1 g/L, lymphocytes, AFP, bilirubin and INR to 0.01).

Calibration and the continuous-PNI scenario need the covariate distribution itself; it
is stood for by one fixed reference sample (:func:`reference_covariates`).

References
----------
.. [1] Nelsen RB. An Introduction to Copulas, 2nd ed. Springer 2006 (Gaussian copula).
.. [2] Blom G. Statistical Estimates and Transformed Beta-Variables. Wiley 1958
   (expected normal order statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

from calculator.published import COHORT, TABLE1
from simulation.cohorts.factors import pni_low, pni_values

#: Size of the fixed reference sample that stands for the covariate distribution.
REFERENCE_SIZE = 200_000
#: Seed of the reference sample (fixed, so calibration is deterministic).
REFERENCE_SEED = 20250293

#: Etiology categories in the order of the latent variable that carries their dependence
#: on cirrhosis: from the aetiologies whose HCC most often arises without cirrhosis (NASH,
#: HBV) to those where it almost always arises in cirrhosis (HCV, alcohol).
ETIOLOGY_LATENT_ORDER: tuple[str, ...] = ("nash", "hbv", "other", "hcv", "alcohol")

#: Latent variables of the Gaussian copula (one column each).
LATENTS: tuple[str, ...] = (
    "age", "male", "ecog", "child_pugh", "cirrhosis", "etiology", "extrahepatic_spread",
    "afp", "albumin", "lymphocytes", "bilirubin", "inr", "bclc", "treatment",
)

#: Correlations of the copula's latent normals (pairs not listed are 0). Each latent is
#: oriented so that a higher value means an older, sicker, or more advanced patient
#: (higher ECOG or Child-Pugh score, cirrhosis present, higher AFP, bilirubin, INR),
#: except albumin and lymphocytes, where higher is healthier. The clinical reasoning:
LATENT_CORRELATIONS: dict[tuple[str, str], float] = {
    # Albumin, bilirubin and INR are three of the five Child-Pugh items, so the score
    # rises with bilirubin and INR and falls with albumin.
    ("child_pugh", "albumin"): -0.55,
    ("child_pugh", "bilirubin"): 0.50,
    ("child_pugh", "inr"): 0.40,
    # Cirrhosis is what makes the liver reserve poor.
    ("child_pugh", "cirrhosis"): 0.40,
    ("cirrhosis", "albumin"): -0.20,
    ("cirrhosis", "inr"): 0.20,
    # HCC in HCV or alcoholic liver disease almost always arises in cirrhosis; in HBV and
    # NASH it often does not (see ETIOLOGY_LATENT_ORDER).
    ("cirrhosis", "etiology"): 0.30,
    # Synthetic function moves together: low albumin with high bilirubin and INR.
    ("albumin", "bilirubin"): -0.30,
    ("albumin", "inr"): -0.25,
    ("bilirubin", "inr"): 0.30,
    # Malnutrition and systemic inflammation lower both albumin and lymphocytes (the
    # premise of the PNI); poor performance status goes with both.
    ("albumin", "lymphocytes"): 0.25,
    ("ecog", "albumin"): -0.25,
    ("ecog", "lymphocytes"): -0.10,
    ("ecog", "child_pugh"): 0.20,
    ("ecog", "age"): 0.10,
    # Tumour burden: AFP is higher with extrahepatic spread, and a large tumour burden
    # lowers albumin.
    ("extrahepatic_spread", "afp"): 0.20,
    ("afp", "albumin"): -0.10,
    # BCLC stage: every patient with extrahepatic spread is stage C (done exactly in
    # draw_covariates); among the others, stage C goes with a worse performance status.
    # This latent must stay uncorrelated with the spread latent so the BCLC marginal is
    # exact (see _bclc_c_share_without_spread).
    ("bclc", "ecog"): 0.50,
    # The second-line drug is drawn independently: the paper reports no covariate by
    # drug (other than AFP among sorafenib patients) and the drugs carry no effect in the
    # scenarios, whose truth is the Table 4 model.
}


@lru_cache(maxsize=1)
def latent_cholesky() -> np.ndarray:
    """Lower Cholesky factor of the copula's latent correlation matrix.

    Raises
    ------
    ValueError
        If :data:`LATENT_CORRELATIONS` does not form a positive definite matrix.
    """
    index = {name: i for i, name in enumerate(LATENTS)}
    corr = np.eye(len(LATENTS))
    for (a, b), rho in LATENT_CORRELATIONS.items():
        corr[index[a], index[b]] = corr[index[b], index[a]] = rho
    try:
        return np.linalg.cholesky(corr)
    except np.linalg.LinAlgError as exc:
        raise ValueError("LATENT_CORRELATIONS is not positive definite") from exc


# --- Marginals -----------------------------------------------------------------------
def blom_extreme(n: int) -> float:
    """Blom's approximation to the expected largest order statistic of n standard normals.

    .. math:: e_n = \\Phi^{-1}\\left(\\frac{n - 0.375}{n + 0.25}\\right)

    >>> round(blom_extreme(58), 3)
    2.3
    """
    return float(ndtri((n - 0.375) / (n + 0.25)))


#: The published ranges are the extremes of a sample of this many patients.
SAMPLE_EXTREME_Z: float = blom_extreme(int(COHORT["n"]))


@dataclass(frozen=True)
class SplitNormalMarginal:
    """A continuous Table 1 variable: median and range, on a log or linear scale.

    The variable is a two-piece ("split") normal on the chosen scale, with its median at
    the published median and with a different spread below and above it: each half's SD
    is chosen so that the published minimum and maximum are where Blom's approximation
    puts the expected extremes of a sample of the study's size (58), and the distribution
    is truncated there (the truncation takes the same probability from each tail, so the
    median stays exact). This reproduces the skew that a median with an asymmetric range
    shows (AFP's published range reaches much further above its median than below it,
    even on the log scale) without a parameter that Table 1 does not give.

    With :math:`m` the median and :math:`l, h` the range on the working scale, and
    :math:`e = e_{58}`, the quantile function is

    .. math::
        Q(u) = m + s(u)\\,\\Phi^{-1}\\bigl(\\Phi(-e) + (1 - 2\\Phi(-e))\\,u\\bigr),
        \\quad s(u) = (m - l)/e \\text{ if } u < 1/2, \\text{ else } (h - m)/e .
    """

    median: float
    low: float
    high: float
    log_scale: bool
    decimals: int

    def _scale(self, x: float) -> float:
        return math.log(x) if self.log_scale else x

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """Values (rounded to ``decimals``) from standard normal latents ``z``."""
        e = SAMPLE_EXTREME_Z
        tail = ndtr(-e)
        w = ndtri(tail + (1 - 2 * tail) * ndtr(z))
        m = self._scale(self.median)
        below = (m - self._scale(self.low)) / e
        above = (self._scale(self.high) - m) / e
        x = m + np.where(w < 0, below, above) * w
        if self.log_scale:
            x = np.exp(x)
        x = np.clip(x, self.low, self.high)
        return np.round(x, self.decimals)


def _continuous(name: str, log_scale: bool, decimals: int) -> SplitNormalMarginal:
    spec = TABLE1[name]
    low, high = spec["range"]
    return SplitNormalMarginal(float(spec["median"]), float(low), float(high), log_scale,
                               decimals)


#: Continuous marginals: (Table 1 entry, log scale?, decimals as a laboratory reports).
MARGINALS: dict[str, SplitNormalMarginal] = {
    "age": _continuous("age", False, 0),
    "afp": _continuous("afp_ng_ml", True, 2),
    "albumin": _continuous("albumin_g_l", False, 0),
    "lymphocytes": _continuous("lymphocytes_10e9_l", True, 2),
    "bilirubin": _continuous("bilirubin_mg_dl", True, 2),
    "inr": _continuous("inr", True, 2),
}


def _normalised(shares: dict) -> tuple[list, np.ndarray]:
    keys = list(shares)
    p = np.array([float(shares[k]) for k in keys])
    return keys, p / p.sum()


def _categorical(z: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Category index from a standard normal latent: thresholds at cumulative shares."""
    cuts = np.cumsum(probabilities)[:-1]
    return np.searchsorted(cuts, ndtr(z), side="right")


def _binary(z: np.ndarray, share: float) -> np.ndarray:
    """1 with probability ``share``; a higher latent makes 1 more likely."""
    return (ndtr(z) > 1.0 - share).astype(np.int64)


def ecog_shares(ecog2_share: float) -> np.ndarray:
    """P(ECOG = 0, 1, 2): ECOG 0 from Table 1, the pooled 1-2 split with ``ecog2_share``."""
    ecog0 = float(TABLE1["ecog"]["0"])
    return np.array([ecog0, 1.0 - ecog0 - ecog2_share, ecog2_share])


def _bclc_c_share_without_spread() -> float:
    """P(BCLC C | no extrahepatic spread) that keeps the BCLC C marginal of Table 1.

    Every patient with spread is stage C, so
    P(C) = P(spread) + (1 - P(spread)) P(C | no spread).
    """
    spread = float(TABLE1["extrahepatic_spread"])
    return (float(TABLE1["bclc"]["C"]) - spread) / (1.0 - spread)


def draw_covariates(n: int, rng: np.random.Generator, ecog2_share: float) -> dict[str, np.ndarray]:
    """Baseline covariates of ``n`` patients with the Table 1 marginals.

    Returns the covariate columns of the cohort CSV plus ``bclc`` ("B"/"C"). One
    ``rng.standard_normal((n, 14))`` draw feeds the Gaussian copula.

    Notes
    -----
    Table 1 cannot be matched by a Child-Pugh score that is consistent with its own
    items: most patients have score 5, which needs albumin > 35 g/L, yet the median
    albumin is 35 g/L. The marginals are matched and the Child-Pugh score is only
    correlated with albumin, bilirubin and INR, not computed from them. Likewise BCLC C
    includes every patient with performance status 1-2 by definition, but Table 1 has
    fewer stage C than ECOG 1-2 patients; so stage C is certain with extrahepatic spread
    and otherwise only leans towards a worse ECOG.
    """
    return covariates_from_normals(rng.standard_normal((n, len(LATENTS))), ecog2_share)


def covariates_from_normals(normals: np.ndarray, ecog2_share: float) -> dict[str, np.ndarray]:
    """The covariates of :func:`draw_covariates` from its independent standard normals.

    ``normals`` has shape ``(n, 14)`` for one cohort or ``(B, n, 14)`` for a stack of
    cohorts (each slice drawn from its cohort's own generator); the columns returned
    have shape ``(n,)`` or ``(B, n)``. Every step after the draw is elementwise or a
    matrix product per cohort, so a cohort of a stack equals, bit for bit, the same
    cohort drawn alone.
    """
    z = np.matmul(normals, latent_cholesky().T)
    col = {name: z[..., i] for i, name in enumerate(LATENTS)}

    age = MARGINALS["age"].from_normal(col["age"]).astype(np.int64)
    male = _binary(col["male"], float(TABLE1["male"]))
    ecog = _categorical(col["ecog"], ecog_shares(ecog2_share)).astype(np.int64)
    scores, score_p = _normalised(TABLE1["child_pugh_score"])
    child_pugh = np.asarray(scores, dtype=np.int64)[_categorical(col["child_pugh"], score_p)]
    cirrhosis = _binary(col["cirrhosis"], float(TABLE1["cirrhosis"]))
    etiology_p = np.array([float(TABLE1["etiology"][k]) for k in ETIOLOGY_LATENT_ORDER])
    etiology_p = etiology_p / etiology_p.sum()
    etiology = np.asarray(ETIOLOGY_LATENT_ORDER)[_categorical(col["etiology"], etiology_p)]
    spread = _binary(col["extrahepatic_spread"], float(TABLE1["extrahepatic_spread"]))
    bclc_c = (spread == 1) | (_binary(col["bclc"], _bclc_c_share_without_spread()) == 1)
    treatments, treatment_p = _normalised(TABLE1["treatment"])
    treatment = np.asarray(treatments)[_categorical(col["treatment"], treatment_p)]
    return {
        "age": age,
        "sex": np.where(male == 1, "M", "F"),
        "ecog": ecog,
        "child_pugh_score": child_pugh,
        "etiology": etiology,
        "cirrhosis": cirrhosis,
        "extrahepatic_spread": spread,
        "afp_ng_ml": MARGINALS["afp"].from_normal(col["afp"]),
        "albumin_g_l": MARGINALS["albumin"].from_normal(col["albumin"]),
        "lymphocytes_10e9_l": MARGINALS["lymphocytes"].from_normal(col["lymphocytes"]),
        "bilirubin_mg_dl": MARGINALS["bilirubin"].from_normal(col["bilirubin"]),
        "inr": MARGINALS["inr"].from_normal(col["inr"]),
        "treatment": treatment,
        "bclc": np.where(bclc_c, "C", "B"),
    }


# --- The covariate distribution -------------------------------------------------------
@lru_cache(maxsize=4)
def reference_covariates(ecog2_share: float) -> dict[str, np.ndarray]:
    """The fixed reference sample of covariates (seed :data:`REFERENCE_SEED`)."""
    return draw_covariates(REFERENCE_SIZE, np.random.default_rng(REFERENCE_SEED), ecog2_share)


def matched_pni_slope(step_log_hr: float, cutoff: float, ecog2_share: float) -> float:
    """A log-linear PNI slope matched to a step effect at ``cutoff``.

    The slope :math:`\\gamma` (log-HR per PNI unit increase) is chosen so that the mean
    linear predictor of the low-PNI group exceeds that of the high-PNI group by the step's
    log-HR, in the reference covariate sample:

    .. math::
        \\gamma = -\\beta_{\\mathrm{step}} \\big/ \\bigl(\\mathrm{E}[\\mathrm{PNI} \\mid
        \\mathrm{PNI} \\ge c] - \\mathrm{E}[\\mathrm{PNI} \\mid \\mathrm{PNI} < c]\\bigr)

    So a continuous truth separates the two groups defined by the published cut-off by
    as much, on average, as the published step does; a Cox model with the dichotomised
    PNI then estimates an HR of comparable size (not equal: the dichotomised model is
    misspecified, and its large-sample value is a reference to be computed from data).
    """
    ref = reference_covariates(ecog2_share)
    pni = pni_values(ref["albumin_g_l"], ref["lymphocytes_10e9_l"])
    low = pni_low(pni, cutoff) == 1.0
    contrast = pni[~low].mean() - pni[low].mean()
    return float(-step_log_hr / contrast)
