"""Stacks of cohorts: the shapes every batched statistic shares.

A stack holds B cohorts of n patients as ``(B, n)`` arrays (rows left out by a mask).
These helpers flatten any leading shape to a stack and back, stack cohorts of equal size,
and find runs of tied values, for :mod:`~simulation.stats.km`,
:mod:`~simulation.stats.logrank`, :mod:`~simulation.stats.roc` and
:mod:`~simulation.stats.cox` alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def stack_inputs(*arrays: Any, mask: Any = None) -> tuple[tuple[int, ...], list[np.ndarray],
                                                       np.ndarray]:
    """Flatten ``(..., n)`` inputs to ``(B, n)``; returns the leading shape, the arrays
    (as float) and the bool mask (all True when None), broadcast to one shape.

    A 1-D input is one cohort, leading shape ``()``.
    """
    converted = [np.asarray(a, dtype=float) for a in arrays]
    if mask is not None:
        converted.append(np.asarray(mask, dtype=bool))
    shape = np.broadcast_shapes(*(a.shape for a in converted))
    if len(shape) == 0:
        raise ValueError("expected arrays of shape (n,) or (..., n); got scalars")
    cohorts = math.prod(shape[:-1])
    out = [np.broadcast_to(a, shape).reshape(cohorts, shape[-1]) for a in converted]
    if mask is None:
        mask_out = np.ones(out[0].shape, dtype=bool)
    else:
        mask_out = out.pop().astype(bool)
    if shape[-1] == 0:
        # No rows at all: one row left out gives the same (empty) analysis, and the sorts
        # and first-position searches of the engines need a row to look at.
        out = [np.full((cohorts, 1), np.nan) for _ in out]
        mask_out = np.zeros((cohorts, 1), dtype=bool)
    return shape[:-1], out, mask_out


def unstack(value: np.ndarray, lead: tuple[int, ...]) -> np.ndarray:
    """Undo :func:`stack_inputs` on a per-cohort result of shape ``(B, ...)``."""
    return value.reshape(lead + value.shape[1:])


def take_last(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``take_along_axis`` on the last axis, with ``index (B, n)`` broadcast over any
    axes that ``values (B, ..., n)`` has in between."""
    extra = values.ndim - index.ndim
    idx = index.reshape(index.shape[:1] + (1,) * extra + index.shape[1:])
    return np.take_along_axis(values, np.broadcast_to(idx, values.shape), axis=-1)


def tie_groups(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each row's run of equal values in sorted ``(B, n)``.

    The ties of a sorted stack (equal times, equal marker values) as index arrays of the
    same shape, for the risk sets of :mod:`simulation.stats.km`, the Efron sums of :mod:`simulation.stats.cox` and the
    mid-ranks of :mod:`simulation.stats.roc`.

    >>> first, last = tie_groups(np.array([[1.0, 2.0, 2.0, 2.0, 5.0]]))
    >>> first.tolist(), last.tolist()
    ([[0, 1, 1, 1, 4]], [[0, 3, 3, 3, 4]])
    """
    n = ordered.shape[-1]
    position = np.arange(n)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    return first, last


def stack_cohorts(cohorts: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack cohorts of equal size into ``(B, n)`` columns."""
    if not cohorts:
        raise ValueError("stack_cohorts needs at least one cohort")
    sizes = {len(c["os_months"]) for c in cohorts}
    if len(sizes) != 1:
        raise ValueError(f"cohorts of a stack must have the same size; got sizes {sorted(sizes)}")
    return {name: np.stack([np.asarray(c[name]) for c in cohorts])
            for name in cohorts[0]}


def varies(x: np.ndarray) -> np.ndarray:
    """``(..., n) -> (...)``: the column takes at least two values (NaN-free input)."""
    return np.nanmax(x, axis=-1) > np.nanmin(x, axis=-1)
