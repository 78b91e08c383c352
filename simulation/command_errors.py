"""How the simulation's subcommands report bad input: one line per problem on stderr.

``hcc-prognosis <command>: error: <message> (<hint>)``, exit status 2. Kept free of heavy
imports, so a command module can use it before it loads numpy.
"""

from __future__ import annotations

import sys

from calculator.errors import InputError

#: Exit status of a command refused for bad input.
USAGE_EXIT_STATUS = 2


def report_input_error(command: str, error: InputError) -> int:
    """Print every problem of ``error`` for ``hcc-prognosis <command>``; returns 2.

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = report_input_error("cohort", InputError("n", 0, None, "1 or more",
    ...                                 "--n must be >= 1; got 0", "try --n 58"))
    >>> status, err.getvalue()
    (2, 'hcc-prognosis cohort: error: --n must be >= 1; got 0 (try --n 58)\\n')
    """
    for problem in error.errors:
        hint = f" ({problem.hint})" if problem.hint else ""
        print(f"hcc-prognosis {command}: error: {problem.message}{hint}", file=sys.stderr)
    return USAGE_EXIT_STATUS
