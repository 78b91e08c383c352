"""The command line: the ``hcc-prognosis`` console script, the ``score`` command and what
every command shares (the error printer).

Kept apart from the scoring core: the core does no I/O, the command line prints and reads
files.
"""

from calculator.cli.main import main

__all__ = ["main"]
