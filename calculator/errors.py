"""The one exception type of the scoring core."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

#: Longest text of an entered value quoted in a message or echoed in the error JSON.
MAX_SHOWN_CHARS: Final = 40


def shown(raw: object) -> str:
    """An entered value as a message quotes it: ``repr`` for text, cut short when long.

    >>> shown("3,5"), shown(35), shown(None)
    ("'3,5'", '35', 'None')
    >>> shown("9" * 60)
    "'999999999999999999999999999999999999999… (62 characters)"
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            text = str(raw)
        except ValueError:  # beyond Python's limit for converting an int to text
            return f"an integer of about {int(raw.bit_length() * 0.30103)} digits"
    else:
        text = str(raw) if isinstance(raw, (float, Decimal)) else repr(raw)
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return f"{text[:MAX_SHOWN_CHARS]}… ({len(text)} characters)"


class InputError(ValueError):
    """An input that cannot be scored, or several of them.

    Each problem names the ``field``, the ``value`` as entered, its ``unit``, the
    ``allowed`` range or choices and a ``hint``, so that a form can put the message
    next to its field and the API can return it as JSON. A combined error (see
    :meth:`collect`) lists every problem in :attr:`errors`; a single one lists itself.

    >>> err = InputError("albumin", 350, "g/L", "between 10 and 60 g/L",
    ...                  "albumin must be between 10 and 60 g/L; got 350 g/L")
    >>> err.to_dict()["field"]
    'albumin'
    """

    def __init__(self, field: str, value: Any, unit: str | None, allowed: str,
                 message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.unit = unit
        self.allowed = allowed
        self.message = message
        self.hint = hint
        self.errors: tuple[InputError, ...] = (self,)

    @classmethod
    def collect(cls, problems: Iterable[InputError]) -> InputError:
        """One error carrying every problem; the first one names the field."""
        problems = tuple(problems)
        if not problems:
            raise ValueError("collect() needs at least one problem")
        first = problems[0]
        combined = cls(first.field, first.value, first.unit, first.allowed,
                       "; ".join(p.message for p in problems), first.hint)
        combined.errors = problems
        return combined

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON object of interfaces.md (one problem)."""
        value = self.value
        if not isinstance(value, (str, int, float, bool)) or value != value:
            value = None if value is None else shown(value)
        elif isinstance(value, float) and value in (float("inf"), float("-inf")):
            value = repr(value)
        elif isinstance(value, (str, int)) and not isinstance(value, bool) \
                and len(text := shown(value)) > MAX_SHOWN_CHARS:
            value = text  # a value too long to echo is echoed cut short
        return {"field": self.field, "value": value, "unit": self.unit,
                "allowed": self.allowed, "hint": self.hint, "message": self.message}

    def to_json(self) -> dict[str, Any]:
        """``{"errors": [...]}`` with every problem."""
        return {"errors": [p.to_dict() for p in self.errors]}
