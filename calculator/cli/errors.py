"""How every subcommand reports a refused input: one printer, one style, exit status 2.

``hcc-prognosis <command>: error: <message> (<hint>)``, one line per problem on standard
error, or the error JSON of interfaces.md with ``--json``. Free of heavy imports, so a
command can report before it loads numpy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from calculator.errors import InputError

#: Exit status of a command refused for bad input or a file it cannot use.
USAGE_EXIT_STATUS = 2


def error_line(command: str, message: str, hint: str | None = None) -> str:
    """One problem as printed; the hint is added unless the message already ends with it.

    >>> error_line("cohort", "--n must be >= 1; got 0", "try --n 58")
    'hcc-prognosis cohort: error: --n must be >= 1; got 0 (try --n 58)'
    """
    shown_hint = f" ({hint})" if hint and f"({hint})" not in message else ""
    return f"hcc-prognosis {command}: error: {message}{shown_hint}"


def report_input_error(command: str, error: InputError, as_json: bool = False) -> int:
    """Print every problem of ``error`` for ``hcc-prognosis <command>``; returns 2.

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = report_input_error("cohort", InputError("n", 0, None, "1 or more",
    ...                                 "--n must be >= 1; got 0", "try --n 58"))
    >>> status, err.getvalue()
    (2, 'hcc-prognosis cohort: error: --n must be >= 1; got 0 (try --n 58)\\n')
    """
    if as_json:
        print(json.dumps(error.to_json(), indent=2), file=sys.stderr)
        return USAGE_EXIT_STATUS
    for problem in error.errors:
        print(error_line(command, problem.message, problem.hint), file=sys.stderr)
    return USAGE_EXIT_STATUS


def report_error(command: str, message: str, hint: str | None = None) -> int:
    """Print one problem that is not tied to an input field; returns 2."""
    print(error_line(command, message, hint), file=sys.stderr)
    return USAGE_EXIT_STATUS


#: Longest list of problems printed before "... and N more".
MAX_PROBLEMS_SHOWN = 50


def report_problems(command: str, what: str, problems: Sequence[Any],
                    as_json: bool = False, payload: dict[str, Any] | None = None) -> int:
    """Print the problems found in a file (``what``, e.g. "the cohort file"); returns 2.

    With ``as_json`` the ``payload`` (the error JSON) is printed instead.
    """
    if as_json:
        print(json.dumps(payload if payload is not None else
                         {"errors": [str(p) for p in problems]}, indent=2), file=sys.stderr)
        return USAGE_EXIT_STATUS
    count = len(problems)
    print(f"hcc-prognosis {command}: error: {what} has {count} "
          f"problem{'s' if count != 1 else ''}:", file=sys.stderr)
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  {problem}", file=sys.stderr)
    if count > MAX_PROBLEMS_SHOWN:
        print(f"  ... and {count - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
    return USAGE_EXIT_STATUS
