"""The layering of docs/architecture.md, checked on the import graph drawn from the code.

Every ``.py`` file under ``mechanisms/``, ``simulator/``, ``agents/`` and ``api/`` is
read with ``ast``; every ``import`` counts, including those inside functions
(a late import is still a dependency, it only hides a cycle from the
interpreter). Imports under ``if TYPE_CHECKING:`` are left out: they never run.
An import names the most specific first-party module it reaches
(``from simulator import worlds`` is an edge to ``simulator.worlds``;
``from simulator.run import stored_run`` one to ``simulator.run``).

The rules:
- no import cycle (``networkx.simple_cycles`` on that graph);
- no module imports a name starting with ``_`` from another module, nor reads
  one off an imported module (``store._version``);
- ``mechanisms/`` is pure: it imports nothing from ``simulator``, ``agents`` or ``api``;
- the faces are on top: nothing imports ``api`` except the ``agora serve``
  command (inside the command), and nothing outside ``simulator/cli/`` imports
  the CLI.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mechanisms", "simulator", "agents", "api")


@dataclass(frozen=True)
class Import:
    source: str        # the importing module
    target: str        # the first-party module imported
    names: tuple[str, ...]  # names taken from it by ``from target import ...``
    line: int
    top_level: bool    # at module level (runs on import), not inside a function

    def where(self) -> str:
        return f"{self.source.replace('.', '/')}.py:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


MODULES = first_party_modules()


def resolve(dotted: str) -> str | None:
    """The most specific first-party module that ``dotted`` names or lies in."""
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in MODULES:
            return name
        parts.pop()
    return None


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class ImportCollector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.imports: list[Import] = []
        self.module_aliases: dict[str, str] = {}  # local name -> first-party module it is bound to
        self.private_reads: list[tuple[str, str, int]] = []  # (module, attribute, line)
        self.depth = 0  # > 0 inside a function

    def visit_If(self, node: ast.If) -> None:
        if is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def add(self, target: str, names: tuple[str, ...], line: int) -> None:
        self.imports.append(Import(self.module, target, names, line, self.depth == 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = resolve(alias.name)
            if target is None:
                continue
            self.add(target, (), node.lineno)
            if alias.asname:
                self.module_aliases[alias.asname] = target

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: from the importing module's package
            package = self.module.split(".")
            if not self.is_package:
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        taken: list[str] = []
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in MODULES:  # from simulator import worlds: the submodule itself
                self.add(submodule, (), node.lineno)
                self.module_aliases[alias.asname or alias.name] = submodule
            else:
                taken.append(alias.name)
        target = resolve(base)
        if taken and target is not None:
            self.add(target, tuple(taken), node.lineno)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self.module_aliases and is_private(node.attr):
            self.private_reads.append((self.module_aliases[node.value.id], node.attr, node.lineno))
        self.generic_visit(node)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def collect() -> tuple[list[Import], list[str]]:
    imports, private_reads = [], []
    for module, path in MODULES.items():
        collector = ImportCollector(module, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        imports += collector.imports
        private_reads += [f"{path.relative_to(ROOT)}:{line}: reads {target}.{attr}"
                          for target, attr, line in collector.private_reads if target != module]
    return imports, private_reads


IMPORTS, PRIVATE_READS = collect()


def graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(MODULES)
    for imp in IMPORTS:
        if imp.target != imp.source:
            g.add_edge(imp.source, imp.target, where=imp.where())
    return g


def test_the_graph_sees_the_known_edges():
    """The collector must find top-level, late and relative imports, or every rule below would pass vacuously."""
    edges = {(imp.source, imp.target) for imp in IMPORTS}
    assert len(MODULES) > 50 and len(edges) > 150
    assert ("simulator.run", "simulator.engine") in edges  # top level
    assert ("simulator.cli.serve", "api.app") in edges  # inside the serve command
    assert not any(imp.top_level for imp in IMPORTS if (imp.source, imp.target) == ("simulator.cli.serve", "api.app"))


def test_no_import_cycles():
    g = graph()
    cycles = sorted(nx.simple_cycles(g), key=len)
    described = [" -> ".join(f"{a} ({g.edges[a, b]['where']})" for a, b in zip(c, c[1:] + c[:1])) for c in cycles[:10]]
    assert not cycles, f"{len(cycles)} import cycles, e.g.:\n" + "\n".join(described)


def test_no_private_names_across_modules():
    found = [f"{imp.where()}: from {imp.target} import {name}"
             for imp in IMPORTS if imp.target != imp.source for name in imp.names if is_private(name)]
    found += PRIVATE_READS
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_mechanisms_are_pure():
    found = [f"{imp.where()}: imports {imp.target}" for imp in IMPORTS
             if imp.source.split(".")[0] == "mechanisms" and imp.target.split(".")[0] != "mechanisms"]
    assert not found, "mechanisms/ must import only numpy/scipy and itself:\n" + "\n".join(found)


@pytest.mark.parametrize("face", ["api", "simulator.cli"])
def test_faces_are_on_top(face):
    """Nothing below a face imports it; ``agora serve`` may start the API, but only inside the command."""
    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    found = []
    for imp in IMPORTS:
        if not inside(imp.target, face) or inside(imp.source, face):
            continue
        if face == "api" and imp.source == "simulator.cli.serve" and not imp.top_level:
            continue
        found.append(f"{imp.where()}: {imp.source} imports {imp.target}")
    assert not found, f"only the faces may import {face}:\n" + "\n".join(found)
