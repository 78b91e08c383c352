"""``hcc-prognosis``: one console script; each package brings its own subcommands.

The subcommands are found through the entry-point group ``hcc_prognosis.commands``
(declared in ``pyproject.toml``), so this module knows no other package by name: the
calculator registers ``score``, the web package ``serve``, the simulation package its
study commands. An entry point names a module that provides

- ``HELP: str``, one line for the command list;
- ``add_arguments(parser: argparse.ArgumentParser) -> None``;
- ``run(args: argparse.Namespace) -> int``, the exit status.

Only the module of the command being run is imported, so ``hcc-prognosis score`` never
loads numpy or Flask.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from calculator import __version__

#: The entry-point group in which packages register their subcommands.
COMMAND_GROUP = "hcc_prognosis.commands"


def commands() -> dict[str, EntryPoint]:
    """The registered subcommands by name (not yet imported)."""
    return {ep.name: ep for ep in sorted(entry_points(group=COMMAND_GROUP),
                                         key=lambda ep: ep.name)}


def load(entry: EntryPoint) -> ModuleType:
    """The module of a subcommand, checked for the command protocol."""
    module = entry.load()
    missing = [a for a in ("HELP", "add_arguments", "run") if not hasattr(module, a)]
    if missing:
        raise TypeError(f"command {entry.name!r} ({entry.value}) lacks {', '.join(missing)}")
    return module  # type: ignore[no-any-return]


def _top_parser(available: dict[str, EntryPoint]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hcc-prognosis",
        description="Second-line HCC prognosis after atezolizumab + bevacizumab: "
                    "bedside risk profile and simulation study harness.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, entry in available.items():
        sub.add_parser(name, help=load(entry).HELP, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hcc-prognosis`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    available = commands()
    if not available:
        print("hcc-prognosis: error: no subcommands are registered; install the package "
              "(pip install -e .) so that its entry points exist", file=sys.stderr)
        return 2
    if not args or args[0] not in available:
        parser = _top_parser(available)
        if not args:
            parser.print_help()
            return 2
        parser.parse_args(args)  # prints help/version or an error, then exits
        return 2
    name, rest = args[0], args[1:]
    module = load(available[name])
    parser = argparse.ArgumentParser(prog=f"hcc-prognosis {name}", description=module.HELP)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)))
