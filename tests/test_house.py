"""The house rules: which package may import which, read from every import of the project.

Every import counts: at module top, inside functions, under ``TYPE_CHECKING``, through
``importlib.import_module("...")`` / ``__import__("...")`` strings and through the
console script's entry points. The allowed arrows (README, "Architecture"):

- ``webui -> calculator`` and ``simulation -> calculator``; the calculator imports
  neither, the web package never the simulation, the simulation never the web package;
- inside ``simulation`` the wings run one way, ``stats <- cohorts <- paper <- study <-
  evidence <- reports <- commands``; ``stats`` knows nothing else of the simulation; no circle;
- the scoring core (``calculator`` outside ``calculator.cli``) has no numpy, Flask or
  I/O; an import inside a function says why it is deferred.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("calculator", "webui", "simulation")
#: The simulation's wings, lowest first: a wing may import only the wings before it.
WINGS = ("stats", "cohorts", "paper", "study", "evidence", "reports", "commands")
#: Packages no package may import (arrows the house forbids).
FORBIDDEN = {"calculator": ("webui", "simulation"), "webui": ("simulation",),
             "simulation": ("webui",)}
#: Libraries the scoring core must not load.
HEAVY = ("numpy", "scipy", "pandas", "lifelines", "flask", "matplotlib")
#: Calls that are I/O, not allowed in the scoring core.
IO_CALLS = ("print", "open", "input")


@dataclass(frozen=True)
class Import:
    """One import of one project module: where it is and how it is made."""

    importer: str
    imported: str
    line: int
    kind: str  # "top", "function", "typing" or "string"
    commented: bool  # a comment on the line above says why (function imports)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_in(source: str, importer: str, is_package: bool = False) -> Iterator[Import]:
    """Every import in ``source`` (a module called ``importer``)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    in_function: set[int] = set()
    in_typing: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(sub) for sub in ast.walk(node))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            in_typing.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kind = ("typing" if id(node) in in_typing
                    else "function" if id(node) in in_function else "top")
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            block_start = node.lineno - 2
            while block_start >= 0 and lines[block_start].strip().startswith(("from ", "import ")):
                block_start -= 1
            commented = above.startswith("#") or (
                block_start >= 0 and lines[block_start].strip().startswith("#"))
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = _absolute(node, importer, is_package)
                # "from pkg import module" imports the module when it is one
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                yield Import(importer, name, node.lineno, kind, commented)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ast.unparse(node.func) in ("importlib.import_module", "import_module",
                                             "__import__")):
            yield Import(importer, node.args[0].value, node.lineno, "string", True)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # "package.module:attribute" strings, the way engines were once looked up
            text = node.value
            head = text.split(":")[0]
            if ":" in text and head.split(".")[0] in PACKAGES and " " not in text:
                yield Import(importer, head, node.lineno, "string", True)


def project_imports() -> list[Import]:
    found: list[Import] = []
    for path in source_files():
        found.extend(imports_in(path.read_text(encoding="utf-8"), module_name(path),
                                path.name == "__init__.py"))
    return found


def entry_points() -> dict[str, str]:
    """The console script's subcommands: name -> module."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data["project"]["entry-points"]["hcc_prognosis.commands"])


def top_package(name: str) -> str:
    return name.split(".")[0]


def wing(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "simulation" and len(parts) > 1 and parts[1] in WINGS \
        else None


def violations(found: list[Import]) -> list[str]:
    """Every import the house forbids, as readable lines."""
    problems = []
    for imp in found:
        source, target = top_package(imp.importer), top_package(imp.imported)
        where = f"{imp.importer}:{imp.line} imports {imp.imported} ({imp.kind})"
        if target in FORBIDDEN.get(source, ()):
            problems.append(f"{where}: {source} must not import {target}")
        src_wing, dst_wing = wing(imp.importer), wing(imp.imported)
        if src_wing and dst_wing and WINGS.index(dst_wing) > WINGS.index(src_wing):
            problems.append(f"{where}: the {src_wing} wing must not import the {dst_wing} "
                            f"wing (arrows run {' <- '.join(WINGS)})")
        if source == "simulation" and target == "simulation" and src_wing is None \
                and imp.importer != "simulation" and dst_wing is not None:
            problems.append(f"{where}: every simulation module belongs to a wing")
    return problems


def cycles(found: list[Import], prefix: str,
           modules: set[str] | None = None) -> list[list[str]]:
    """Circles among the modules under ``prefix`` (any kind of import counts)."""
    modules = modules if modules is not None else {module_name(p) for p in source_files()}
    graph: dict[str, set[str]] = {}
    for imp in found:
        if imp.importer.startswith(prefix) and imp.imported in modules \
                and imp.imported.startswith(prefix) and imp.imported != imp.importer \
                and not imp.importer.startswith(imp.imported + "."):  # a package's own init
            graph.setdefault(imp.importer, set()).add(imp.imported)
    found_cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found_cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found_cycles


FOUND = project_imports()


def test_the_reader_sees_every_kind_of_import() -> None:
    """The checker itself: a forbidden arrow of each kind is caught."""
    source = (
        "from __future__ import annotations\n"
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "import webui\n"
        "if TYPE_CHECKING:\n"
        "    from simulation.study import store\n"
        "def f():\n"
        "    from webui import forms\n"
        "    importlib.import_module('simulation.cohorts')\n"
        "    return 'simulation.stats.cox:cox_fit'\n")
    found = list(imports_in(source, "calculator.profile"))
    kinds = {imp.kind for imp in found}
    assert kinds == {"top", "typing", "function", "string"}
    assert len([v for v in violations(found) if "must not import" in v]) >= 5
    backwards = list(imports_in("from simulation.paper.methods import METHODS\n",
                                "simulation.stats.km"))
    assert any("stats wing must not import the paper wing" in v for v in violations(backwards))
    circle = [Import("simulation.stats.a", "simulation.stats.b", 1, "top", False),
              Import("simulation.stats.b", "simulation.stats.a", 1, "function", False)]
    assert cycles(circle, "simulation.", {"simulation.stats.a", "simulation.stats.b"}) == [
        ["simulation.stats.a", "simulation.stats.b", "simulation.stats.a"]]


def test_no_forbidden_arrow() -> None:
    assert violations(FOUND) == []


def test_no_circle_inside_simulation() -> None:
    assert cycles(FOUND, "simulation.") == []


def test_no_circle_anywhere_in_a_package() -> None:
    for package in PACKAGES:
        assert cycles(FOUND, package + ".") == [], package


def test_entry_points_register_each_package_s_own_commands() -> None:
    """Each package registers its commands; the calculator names no other package."""
    commands = entry_points()
    assert {"score", "serve", "cohort", "analyze", "simulate", "summarize", "replay",
            "report", "evidence"} <= set(commands)
    assert commands["score"].startswith("calculator.")
    assert commands["serve"].startswith("webui.")
    for name in ("cohort", "analyze", "simulate", "summarize", "replay", "report", "evidence"):
        assert commands[name].startswith("simulation.commands."), name
    for module in commands.values():
        assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), module
    calculator_text = "\n".join(p.read_text(encoding="utf-8")
                                for p in (ROOT / "calculator").rglob("*.py"))
    for module in commands.values():
        if not module.startswith("calculator."):
            assert module not in calculator_text


def test_the_scoring_core_has_no_heavy_library_and_no_io() -> None:
    core = [imp for imp in FOUND if top_package(imp.importer) == "calculator"
            and not imp.importer.startswith("calculator.cli")]
    assert [f"{i.importer}:{i.line} {i.imported}" for i in core
            if top_package(i.imported) in HEAVY] == []
    io_calls = []
    for path in (ROOT / "calculator").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "calculator").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in IO_CALLS:
                io_calls.append(f"{path.name}:{node.lineno} {node.func.id}()")
    assert io_calls == []


@pytest.mark.parametrize("package", PACKAGES)
def test_deferred_imports_say_why(package: str) -> None:
    """An import inside a function has a comment above it (or its block) giving the
    reason: a heavy optional library, or the command list kept fast."""
    silent = [f"{i.importer}:{i.line} {i.imported}" for i in FOUND
              if top_package(i.importer) == package and i.kind == "function"
              and not i.commented]
    assert silent == []
