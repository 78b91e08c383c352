"""The data-driven PNI cut-offs of the simulation study, on a stack of cohorts.

``youden``
    The paper's route: the split of PNI that maximises Youden's J against death
    (:func:`simulation.stats.roc.youden_cutoff`).
``maxstat``
    The maximally selected log-rank split, as R's ``maxstat.test(Surv(time, event) ~ pni,
    smethod = "LogRank", pmethod = "Lau92", minprop = 0.1, maxprop = 0.9)``
    (:func:`simulation.stats.maxstat.maxstat_test`), with its p-value corrected for the
    search (Lausen & Schumacher 1992; ``"Lau94"`` on request).

Both report the cut-off as the midpoint between the highest PNI of the low group and the
lowest PNI of the high group, as SPSS and pROC print ROC thresholds; PNI >= cut-off is
high, and no observed PNI equals a cut-off.

References
----------
.. [1] Youden WJ. Index for rating diagnostic tests. Cancer 1950;3:32-35.
.. [2] Lausen B, Schumacher M. Maximally selected rank statistics. Biometrics
   1992;48:73-85.
.. [3] Hothorn T, Lausen B. On the exact distribution of maximally selected rank
   statistics. Comput Stat Data Anal 2003;43:121-137.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from simulation.stats.maxstat import maxstat_test
from simulation.stats.roc import youden_cutoff

#: maxstat's window: the low group holds between these shares of the patients (R's
#: ``minprop``, ``maxprop``; at n = 58, 5 to 52 patients).
MAXSTAT_MIN_SHARE = 0.1
MAXSTAT_MAX_SHARE = 0.9
#: maxstat's p-value approximation in the study (R's ``pmethod``).
MAXSTAT_P_METHOD: Final = "Lau92"


@dataclass(frozen=True)
class CutoffChoice:
    """A data-driven cut-off per cohort (NaN where none could be chosen).

    ``cutoff`` is the midpoint between the two groups (high = PNI >= cut-off);
    ``low_share`` the share of patients with PNI < cut-off; ``at_boundary`` says the
    choice is the first or last split the method could choose; ``p`` is the method's own
    p-value for PNI (maxstat: corrected for the search; NaN for Youden); ``statistic``
    the criterion reached (maxstat's M, Youden's J).
    """

    cutoff: np.ndarray
    low_share: np.ndarray
    at_boundary: np.ndarray
    p: np.ndarray
    statistic: np.ndarray


def choose_youden(pni: np.ndarray, died: np.ndarray) -> CutoffChoice:
    """The Youden cut-off of each cohort of ``(B, n)``.

    Its boundary: the low group is empty, or the high group holds only the highest PNI.
    """
    choice = youden_cutoff(pni, died)
    cutoff = np.asarray(choice.cutoff, dtype=float)
    found = ~np.isnan(cutoff)
    with np.errstate(invalid="ignore"):
        low_share = np.where(found, (pni < cutoff[:, None]).mean(axis=1), np.nan)
        boundary = found & (np.isnan(choice.low_max) | (choice.high_min == pni.max(axis=1)))
    return CutoffChoice(cutoff=cutoff, low_share=low_share, at_boundary=boundary,
                        p=np.full(cutoff.shape, np.nan), statistic=np.asarray(choice.j))


def choose_maxstat(time: np.ndarray, event: np.ndarray, pni: np.ndarray,
                   min_share: float = MAXSTAT_MIN_SHARE,
                   max_share: float = MAXSTAT_MAX_SHARE,
                   p_method: Literal["Lau92", "Lau94"] = MAXSTAT_P_METHOD) -> CutoffChoice:
    """The maximally selected log-rank cut-off of each cohort of ``(B, n)``, with its
    corrected p-value.

    ``at_boundary``: the choice is the smallest or the largest split of the window.
    """
    test = maxstat_test(time, event, pni, min_share, max_share, p_method)
    found = ~np.isnan(test.cutoff)
    last = test.candidates.valid.sum(axis=1) - 1
    n = pni.shape[-1]
    return CutoffChoice(cutoff=test.cutoff,
                        low_share=np.where(found, test.low_count / n, np.nan),
                        at_boundary=found & ((test.index == 0) | (test.index == last)),
                        p=test.p, statistic=test.statistic)
