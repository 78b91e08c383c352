"""Does the re-estimation procedure keep its promise? A check on held-out replicates.

Two-fold cross-fitting: the replicates of every grid point are split by the parity of
their number. The belt is built (quantiles, smoothing) from the even replicates alone and
every odd replicate's estimate is inverted against it, as if it were the published one;
then the other way round. So each replicate is judged by a belt that never saw it, at a
known truth :math:`\\theta`. Two measures per grid point, pooled over the grid, each with
its Monte Carlo SE :math:`\\sqrt{p(1-p)/n}` (Morris, White & Crowther 2019):

- **coverage**: the share of 95% intervals (open sides unbounded) that contain
  :math:`\\theta`; it should be close to 0.95;
- **median-unbiasedness**: the share of median-unbiased estimates below
  :math:`\\theta`; it should be close to 0.5.

Each fold's belt rests on half the replicates, so it is noisier than the belt that is
shipped: the check, if anything, understates how well the full belt does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from simulation.evidence.belts import Samples, fine_grid, raw_quantiles, smooth_curves
from simulation.evidence.inversion import invert

#: Nominal coverage and the median's share, the targets of the check.
NOMINAL: Final = 0.95
HALF: Final = 0.5
FOLDS: Final = 2


@dataclass(frozen=True)
class CalibrationCheck:
    """Per grid point counts of held-out replicates, of intervals covering the truth,
    of estimates below it and of empty confidence sets."""

    family: str
    factor: str
    belt: str
    theta: np.ndarray
    held_out: np.ndarray
    covered: np.ndarray
    below: np.ndarray
    empty: np.ndarray

    def _share(self, hits: np.ndarray) -> tuple[float | None, float | None]:
        n = int(self.held_out.sum())
        if n == 0:
            return None, None
        p = float(hits.sum()) / n
        return p, float(np.sqrt(p * (1.0 - p) / n))

    def pooled_coverage(self) -> tuple[float | None, float | None]:
        """Coverage over every held-out replicate of the grid, and its MCSE."""
        return self._share(self.covered)

    def pooled_below(self) -> tuple[float | None, float | None]:
        """Share of estimates below the truth over the grid, and its MCSE."""
        return self._share(self.below)

    def per_point(self) -> dict[str, np.ndarray]:
        """Coverage and share below per grid point, with MCSEs (NaN without replicates)."""
        n = self.held_out.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = self.covered / n
            below = self.below / n
            return {"coverage": cov, "coverage_mcse": np.sqrt(cov * (1 - cov) / n),
                    "below": below, "below_mcse": np.sqrt(below * (1 - below) / n)}

    def outside(self, target: float, kind: str = "coverage") -> int:
        """Grid points whose share differs from ``target`` by more than 1.96 of the
        target's own binomial SE (about 5% of points by chance alone)."""
        n = self.held_out.astype(float)
        hits = self.covered if kind == "coverage" else self.below
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (hits / n - target) / np.sqrt(target * (1 - target) / n)
        return int(np.sum(np.abs(z[n > 0]) > 1.959963984540054))

    def summary(self) -> dict[str, Any]:
        """The check in numbers (what the data file and the report show)."""
        coverage, coverage_mcse = self.pooled_coverage()
        below, below_mcse = self.pooled_below()
        per = self.per_point()
        have = self.held_out > 0
        return {
            "held_out": int(self.held_out.sum()), "grid_points": int(have.sum()),
            "coverage": coverage, "coverage_mcse": coverage_mcse,
            "coverage_min": float(np.min(per["coverage"][have])) if have.any() else None,
            "coverage_max": float(np.max(per["coverage"][have])) if have.any() else None,
            "coverage_points_outside": self.outside(NOMINAL, "coverage"),
            "below": below, "below_mcse": below_mcse,
            "below_points_outside": self.outside(HALF, "below"),
            "empty_sets": int(self.empty.sum()),
        }


def check(samples: Sequence[Samples], belt: str) -> CalibrationCheck:
    """Cross-fitted coverage and median-unbiasedness of one belt (samples in grid order)."""
    theta = np.array([s.point.theta for s in samples])
    counts = {name: np.zeros(theta.size, dtype=np.int64)
              for name in ("held_out", "covered", "below", "empty")}
    for fold in range(FOLDS):
        train = [s.values[belt][s.replicate_ids[belt] % FOLDS == fold] for s in samples]
        pairs = [raw_quantiles(v) for v in train]
        raw = np.array([p[0] for p in pairs])
        mcse = np.array([p[1] for p in pairs])
        have = ~np.isnan(raw).any(axis=1)
        if have.sum() < 5:
            continue
        fine = fine_grid(theta[have].min(), theta[have].max())
        curves, _ = smooth_curves(theta, raw, mcse, fine)
        for i, s in enumerate(samples):
            held = s.values[belt][s.replicate_ids[belt] % FOLDS != fold]
            if held.size == 0:
                continue
            out = invert(fine, curves, held)
            counts["held_out"][i] += held.size
            counts["covered"][i] += int(out.covers(theta[i]).sum())
            counts["below"][i] += int(out.below(theta[i]).sum())
            counts["empty"][i] += int(out.empty.sum())
    first = samples[0].point
    return CalibrationCheck(first.family, first.factor, belt, theta, **counts)
