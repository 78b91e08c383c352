"""Where each problem of an :class:`~calculator.InputError` is shown on the form."""

from __future__ import annotations

from dataclasses import dataclass, field

from calculator import InputError
from webui.forms import DISPLAY_ORDER, input_group


@dataclass(frozen=True)
class PlacedErrors:
    """The problems of one submission, sorted by where the form shows them.

    Attributes
    ----------
    by_input
        Messages by input group (``albumin`` also collects ``albumin_unit``'s problems),
        shown next to that input.
    invalid
        The exact keys whose control is marked ``aria-invalid``.
    top
        Messages that belong to no input on the form (unknown fields), shown above it.
    first
        The key of the first invalid control in page order, which gets ``autofocus``;
        None when only ``top`` messages exist.
    """

    by_input: dict[str, list[str]] = field(default_factory=dict)
    invalid: frozenset[str] = frozenset()
    top: list[str] = field(default_factory=list)
    first: str | None = None

    def __bool__(self) -> bool:
        return bool(self.by_input or self.top)

    @property
    def count(self) -> int:
        return sum(map(len, self.by_input.values())) + len(self.top)


def place_errors(error: InputError | None) -> PlacedErrors:
    """Sort every problem of ``error`` to its input, or to the top of the form.

    >>> err = InputError("albumin_unit", "kg", None, "g/L, g/dL", "albumin_unit must be ...")
    >>> placed = place_errors(err)
    >>> placed.by_input, sorted(placed.invalid), placed.first
    ({'albumin': ['albumin_unit must be ...']}, ['albumin_unit'], 'albumin_unit')
    """
    if error is None:
        return PlacedErrors()
    by_input: dict[str, list[str]] = {}
    invalid: set[str] = set()
    top: list[str] = []
    for problem in error.errors:
        if problem.field in DISPLAY_ORDER:
            by_input.setdefault(input_group(problem.field), []).append(problem.message)
            invalid.add(problem.field)
        else:
            top.append(problem.message)
    first = next((key for key in DISPLAY_ORDER if key in invalid), None)
    return PlacedErrors(by_input, frozenset(invalid), top, first)
