"""The eight Table 4 factors, coded from cohort columns: the project's one coding.

Every factor is coded so that 1 is the adverse level (HR > 1 means worse survival), as
the paper's Discussion reads Table 4:

=====================  ==============================================================
``age_65_plus``        age >= 65 years (Table 4 row 'Age <65 vs >=65')
``male``               sex ``M``
``ecog_1_plus``        ECOG performance status >= 1
``viral_hepatitis``    etiology ``hbv`` or ``hcv``
``afp``                AFP >= 200 ng/mL (:data:`calculator.published.AFP_CUTOFF`)
``child_pugh_b``       Child-Pugh score >= 7 (class B or worse; the study had no C)
``extrahepatic_spread`` spread present (1)
``pni_low``            PNI < cut-off (47.6 by default, :data:`~calculator.published.PNI_CUTOFF`)
=====================  ==============================================================

The coding works on arrays of any leading shape ``(..., n)`` (one cohort or a stack of
them) and is NaN-aware: a missing input gives a missing (NaN) factor, never a default.
The values are floats 0.0/1.0/NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calculator.child_pugh import CLASS_B_MIN_SCORE
from calculator.pni import prognostic_nutritional_index
from calculator.published import AFP_CUTOFF, AGE_CUTOFF_YEARS, PNI_CUTOFF
from simulation.cohorts.schema import ETIOLOGIES, VIRAL_ETIOLOGIES

#: The eight factors of Table 4, in the table's order.
FACTORS: tuple[str, ...] = (
    "age_65_plus", "male", "ecog_1_plus", "viral_hepatitis", "afp", "child_pugh_b",
    "extrahepatic_spread", "pni_low",
)
#: The published PNI cut-off as a float (the default of :func:`code_factors`).
DEFAULT_PNI_CUTOFF = float(PNI_CUTOFF.value)
#: The published AFP cut-off in ng/mL as a float.
AFP_CUTOFF_NG_ML = float(AFP_CUTOFF.value)
#: PNI is rounded to this many decimals before it is compared with a cut-off.
PNI_DECIMALS = 9



def pni_values(albumin_g_l: Any, lymphocytes_10e9_l: Any) -> np.ndarray:
    """PNI of each patient, with the project's formula, rounded to :data:`PNI_DECIMALS`.

    .. math:: \\mathrm{PNI} = \\mathrm{albumin\\ (g/L)} + 5 \\times
              \\mathrm{lymphocytes\\ (10^9/L)}

    Laboratory values carry a few decimals, so the exact PNI has at most a few decimals
    too; the binary float sum can miss it by one unit in the last place (47.3 + 5 x 0.06
    gives 47.599999999999994). Rounding the sum to 9 decimals restores the exact decimal
    value, so a PNI of exactly 47.6 counts as high, as the calculator decides it.

    >>> 47.3 + 5 * 0.06 < 47.6, float(pni_values(47.3, 0.06)) == 47.6
    (True, True)
    """
    raw = prognostic_nutritional_index(np.asarray(albumin_g_l, dtype=float),
                                       np.asarray(lymphocytes_10e9_l, dtype=float))
    return np.round(raw, PNI_DECIMALS)


def _threshold(values: Any, at_least: float) -> np.ndarray:
    """1.0 where ``values >= at_least``, 0.0 below, NaN where missing."""
    x = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(x), np.nan, (x >= at_least).astype(float))


def _levels(values: Any, adverse: Sequence[str], known: Sequence[str]) -> np.ndarray:
    """1.0 for an adverse level, 0.0 for another known level, NaN otherwise (missing)."""
    x = np.asarray(values)
    if x.dtype.kind not in "USO":  # numbers are no level of a text column: missing
        return np.full(x.shape, np.nan)

    def among(levels: Sequence[str]) -> np.ndarray:
        hit = np.zeros(x.shape, dtype=bool)
        for level in levels:
            hit |= x == level
        return hit

    return np.where(among(adverse), 1.0, np.where(among(known), 0.0, np.nan))


def _binary(values: Any) -> np.ndarray:
    """A 0/1 column as 0.0/1.0, anything else (missing) NaN."""
    x = np.asarray(values, dtype=float)
    return np.where((x == 0) | (x == 1), x, np.nan)


def pni_low(pni: Any, cutoff: Any = DEFAULT_PNI_CUTOFF) -> np.ndarray:
    """1.0 where PNI < ``cutoff`` (low, adverse), 0.0 where PNI >= cutoff, NaN if missing.

    ``cutoff`` is a number, or an array of the leading shape of ``pni`` (one cut-off per
    cohort of a stack, e.g. each replicate's Youden cut-off); a NaN cut-off gives NaN.
    """
    x = np.asarray(pni, dtype=float)
    c = np.asarray(cutoff, dtype=float)
    if c.ndim > 0:
        c = c[..., None]
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(x) | np.isnan(c), np.nan, (x < c).astype(float))


def code_factors(cohort: Mapping[str, Any], pni_cutoff: Any = DEFAULT_PNI_CUTOFF
                 ) -> dict[str, np.ndarray]:
    """The eight Table 4 factors of a cohort (or a stack of cohorts), 1 = adverse.

    Parameters
    ----------
    cohort : mapping of column name to array, shape (..., n)
        The columns of the cohort CSV (``age``, ``sex``, ``ecog``, ``etiology``,
        ``afp_ng_ml``, ``child_pugh_score``, ``extrahepatic_spread``, ``albumin_g_l``,
        ``lymphocytes_10e9_l``); numbers with NaN for missing, categories as text
        (``sex`` ``M``/``F``, ``etiology`` ``hbv``/``hcv``/``nash``/``alcohol``/``other``)
        with anything else (``""``, None) missing.
    pni_cutoff : float or array
        PNI < cut-off is ``pni_low``; see :func:`pni_low`.

    Returns
    -------
    dict of str to ndarray
        :data:`FACTORS` in order, each a float array 0.0/1.0/NaN of the cohort's shape.

    Examples
    --------
    >>> coded = code_factors({"age": [64, 65], "sex": ["F", "M"], "ecog": [0, 2],
    ...     "etiology": ["nash", "hbv"], "afp_ng_ml": [199.9, 200],
    ...     "child_pugh_score": [6, 7], "extrahepatic_spread": [0, 1],
    ...     "albumin_g_l": [37.1, 30], "lymphocytes_10e9_l": [2.1, float("nan")]})
    >>> {k: v.tolist() for k, v in coded.items()}["pni_low"]
    [0.0, nan]
    >>> all(coded[k].tolist() == [0.0, 1.0] for k in FACTORS[:-1])
    True
    """
    return {
        "age_65_plus": _threshold(cohort["age"], AGE_CUTOFF_YEARS),
        "male": _levels(cohort["sex"], ("M",), ("M", "F")),
        "ecog_1_plus": _threshold(cohort["ecog"], 1),
        "viral_hepatitis": _levels(cohort["etiology"], VIRAL_ETIOLOGIES, ETIOLOGIES),
        "afp": _threshold(cohort["afp_ng_ml"], AFP_CUTOFF_NG_ML),
        "child_pugh_b": _threshold(cohort["child_pugh_score"], CLASS_B_MIN_SCORE),
        "extrahepatic_spread": _binary(cohort["extrahepatic_spread"]),
        "pni_low": pni_low(pni_values(cohort["albumin_g_l"], cohort["lymphocytes_10e9_l"]),
                           pni_cutoff),
    }


def factor_matrix(coded: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Stack coded factors into a design matrix of shape ``(..., n, len(names))``."""
    return np.stack([np.asarray(coded[name], dtype=float) for name in names], axis=-1)
