"""Input checks of the Cox engines: arrays of any accepted shape to one stack of cohorts.

Both Cox engines (:func:`simulation.stats.cox.cox_fit` and the lifelines reference in
:mod:`simulation.stats.reference`) take the same arguments and call :func:`as_stack`
first, so a bad argument gives the same :class:`~calculator.errors.InputError`, naming
the argument, whichever engine runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from calculator.errors import InputError

#: Cohorts checked for non-finite values at a time, so that no copy of a large stack is
#: made.
CHECK_BLOCK = 4096


def as_stack(time: Any, event: Any, X: Any, mask: Any = None, active: Any = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check the inputs and bring them to stack shapes.

    Returns ``time (B, n)`` float, ``event (B, n)`` bool, ``X (B, n, p)`` float,
    ``mask (B, n)`` bool and ``active (B, p)`` bool. A single cohort, ``time (n,)`` with
    ``X (n,)`` or ``(n, p)``, becomes a stack of one. Raises :class:`InputError` naming
    the argument for wrong shapes, event codes other than 0/1, or non-finite values in
    rows that enter a fit.

    >>> time, event, X, mask, active = as_stack([3.0, 1.0, 2.0], [1, 0, 1], [0, 1, 1])
    >>> time.shape, event.tolist(), X.shape, mask.tolist(), active.tolist()
    ((1, 3), [[True, False, True]], (1, 3, 1), [[True, True, True]], [[True]])
    >>> as_stack([3.0, 1.0], [1, 2], [0, 1])
    Traceback (most recent call last):
    ...
    calculator.errors.InputError: event must be 0 (censored) or 1 (died); got 2
    """
    time, event, X, mask, active = _stack_shapes(time, event, X, mask, active)
    B, n = time.shape
    p = X.shape[2]
    event_arr = _events(event, (B, n))
    mask_arr = _flags("mask", mask, (B, n))
    active_arr = _flags("active", active, (B, p))
    _check_finite(time, X, mask_arr, active_arr)
    return time, event_arr, X, mask_arr, active_arr


def as_cohorts(time: Any, event: Any, mask: Any = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the survival columns alone and bring them to stack shapes.

    What :func:`as_stack` does for ``time``, ``event`` and ``mask``, for the risk sets
    that models of the same cohorts share (:func:`simulation.stats.cox.risk_sets_of`):
    returns ``time (B, n)`` float, ``event (B, n)`` bool and ``mask (B, n)`` bool, one
    cohort ``(n,)`` becoming a stack of one.

    >>> time, event, mask = as_cohorts([3.0, 1.0, 2.0], [1, 0, 1])
    >>> time.shape, event.tolist(), mask.tolist()
    ((1, 3), [[True, False, True]], [[True, True, True]])
    """
    time = np.asarray(time, dtype=float)
    if time.ndim == 1:
        time = time[None, :]
        event = np.asarray(event)[None, :] if np.ndim(event) == 1 else event
        mask = np.asarray(mask)[None, :] if mask is not None and np.ndim(mask) == 1 else mask
    if time.ndim != 2:
        raise _problem("time", time.shape, "(n,) or (B, n)",
                       f"time must have shape (n,) or (B, n); got {time.shape}")
    event_arr = _events(event, time.shape)
    mask_arr = _flags("mask", mask, time.shape)
    _check_finite_times(time, mask_arr)
    return time, event_arr, mask_arr


def _problem(field: str, value: Any, allowed: str, message: str,
             hint: str | None = None) -> InputError:
    return InputError(field, value, None, allowed, message, hint)


def _stack_shapes(time: Any, event: Any, X: Any, mask: Any, active: Any
                  ) -> tuple[np.ndarray, Any, np.ndarray, Any, Any]:
    """``time (B, n)`` and ``X (B, n, p)`` as floats; one cohort's arguments lifted to a
    stack of one (``event``, ``mask``, ``active`` are checked later)."""
    time = np.asarray(time, dtype=float)
    if time.ndim == 1:
        time = time[None, :]
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise _problem("X", X.shape, "(n,) or (n, p) for one cohort",
                           f"X must have shape (n,) or (n, p) when time has shape (n,); "
                           f"got {X.shape}")
        X = X[None]
        if event is not None and np.ndim(event) == 1:
            event = np.asarray(event)[None, :]
        if mask is not None and np.ndim(mask) == 1:
            mask = np.asarray(mask)[None, :]
        if active is not None and np.ndim(active) == 1:
            active = np.asarray(active)[None, :]
    elif time.ndim == 2:
        X = np.asarray(X, dtype=float)
        if X.ndim == 2:
            X = X[:, :, None]
    else:
        raise _problem("time", time.shape, "(n,) or (B, n)",
                       f"time must have shape (n,) or (B, n); got {time.shape}")
    B, n = time.shape
    if X.ndim != 3 or X.shape[:2] != (B, n):
        raise _problem("X", X.shape, f"({B}, {n}, p)",
                       f"X must have shape ({B}, {n}, p) to match time {time.shape}; "
                       f"got {X.shape}")
    return time, event, X, mask, active


def _events(event: Any, shape: tuple[int, int]) -> np.ndarray:
    """``event`` as a bool array of ``shape``; 0/1 codes accepted."""
    B, n = shape
    event_arr = np.asarray(event)
    if event_arr.shape != (B, n):
        raise _problem("event", event_arr.shape, f"({B}, {n})",
                       f"event must have the shape of time, ({B}, {n}); got {event_arr.shape}")
    if event_arr.dtype != bool:
        bad = ~np.isin(event_arr, (0, 1))
        if bad.any():
            value = event_arr[bad].flat[0].item()
            raise _problem("event", value, "0/1 or False/True",
                           f"event must be 0 (censored) or 1 (died); got {value!r}")
        event_arr = event_arr.astype(bool)
    return event_arr


def _flags(name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
    """The bool array ``mask`` or ``active`` of ``shape``; all True if ``None``."""
    if value is None:
        return np.ones(shape, dtype=bool)
    flags = np.asarray(value)
    wanted = f"({shape[0]}, {shape[1]})"
    if flags.shape != shape or flags.dtype != bool:
        raise _problem(name, (flags.shape, str(flags.dtype)), f"bool {wanted}",
                       f"{name} must be a bool array of shape {wanted}; got "
                       f"{flags.dtype} {flags.shape}")
    return flags


def _check_finite_times(time: np.ndarray, mask: np.ndarray) -> None:
    """Times must be finite in the rows that enter a fit."""
    for start in range(0, time.shape[0], CHECK_BLOCK):
        block = slice(start, start + CHECK_BLOCK)
        bad = ~np.isfinite(time[block]) & mask[block]
        if bad.any():
            b, i = np.argwhere(bad)[0]
            b += start
            raise _problem("time", float(time[b, i]), "finite numbers",
                           f"time must be finite in the rows that enter a fit; cohort {b} "
                           f"row {i} has {time[b, i]}",
                           "leave incomplete rows out with mask")


def _check_finite(time: np.ndarray, X: np.ndarray, mask: np.ndarray, active: np.ndarray
                  ) -> None:
    """Times and covariates must be finite in the rows and covariates that enter a fit."""
    _check_finite_times(time, mask)
    for start in range(0, time.shape[0], CHECK_BLOCK):
        block = slice(start, start + CHECK_BLOCK)
        bad = ~np.isfinite(X[block])
        bad &= mask[block, :, None]
        bad &= active[block, None, :]
        if bad.any():
            b, i, k = np.argwhere(bad)[0]
            b += start
            raise _problem("X", float(X[b, i, k]), "finite numbers",
                           f"X must be finite in the rows and covariates that enter a fit; "
                           f"cohort {b} row {i} covariate {k} has {X[b, i, k]}",
                           "leave incomplete rows out with mask, or the covariate with "
                           "active")
