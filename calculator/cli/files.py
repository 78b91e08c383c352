"""Writing what a command made to a file the user named, with the error printer's message
when it cannot be written."""

from __future__ import annotations

import os
import sys

from calculator.cli.errors import report_error


def write_file(command: str, option: str, path: str | os.PathLike[str], text: str,
               what: str = "report") -> int:
    """Write ``text`` (UTF-8) to ``path``; say where on stderr; the exit status.

    A path that cannot be written gives one line naming the option, the path and the
    cause, and status 2, never a traceback.
    """
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as err:
        return report_error(command, f"{option}: cannot write {str(path)!r}: "
                                     f"{err.strerror or err}",
                            "does its folder exist and is it writable?")
    print(f"{what} written to {path}", file=sys.stderr)
    return 0
