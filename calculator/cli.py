"""``hcc-prognosis``: one console script, one module per subcommand.

Each subcommand lives in its own module, imported only when that subcommand runs, so
``hcc-prognosis score`` never loads numpy or Flask. A subcommand module provides
``add_arguments(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int`` (the exit status); it keeps heavy imports
inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from calculator import __version__

#: name -> (module, one-line help). The module path is only a string here: the scoring
#: core does not depend on the web or simulation packages.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "score": ("calculator.score_command", "score one patient (or a CSV of patients)"),
    "serve": ("webui.serve_command", "run the web calculator on a production WSGI server"),
    "cohort": ("simulation.cohort_command", "write a synthetic cohort like the paper's"),
    "analyze": ("simulation.analyze_command", "run the paper's analysis on a cohort CSV"),
    "simulate": ("simulation.simulate_command", "run a simulation study (resumable)"),
    "summarize": ("simulation.summarize_command", "performance measures of a study"),
    "replay": ("simulation.replay_command", "write the cohort of one replicate as CSV"),
    "report": ("simulation.report_command", "write the HTML report of a study"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hcc-prognosis",
        description="Second-line HCC prognosis after atezolizumab + bevacizumab: "
                    "bedside risk profile and simulation study harness.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hcc-prognosis`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in SUBCOMMANDS:
        parser = _top_parser()
        if not args:
            parser.print_help()
            return 2
        parser.parse_args(args)  # prints help/version or an error, then exits
        return 2
    name, rest = args[0], args[1:]
    module = importlib.import_module(SUBCOMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"hcc-prognosis {name}",
                                     description=SUBCOMMANDS[name][1])
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
