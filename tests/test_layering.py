"""The rooms of the package and what each may import.

docs/architecture.md#rooms-and-what-each-may-import lists them.

Every import statement of every module counts: at the top, inside a function (a lazy
import) and under ``if TYPE_CHECKING:`` alike, since each of them ties one room to
another. The rules:

- ``config/`` imports nothing of ``client/``, ``cli/``, ``emulator/`` or ``render/``;
- ``model``, ``plan`` and ``diff`` (the pure core) import only each other, ``errors``
  and ``words``: no room that does I/O;
- the emulator imports nothing of the package outside ``emulator/`` but ``errors``;
- nothing outside ``cli/`` and ``render/`` imports click;
- no module imports itself through others (no import cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"
PURE = ("reconciler.model", "reconciler.plan", "reconciler.diff")
PURE_MAY_IMPORT = frozenset({*PURE, "reconciler.errors", "reconciler.words"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules one import statement names: a package's submodule when a name is
    one (``from reconciler.emulator import routes``), else the module itself."""
    known = modules()
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        package = module if known[module].name == "__init__.py" else module.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    submodules = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
    yield from submodules
    if len(submodules) < len(node.names):
        yield source


def _owner(name: str) -> str:
    """The package module that ``name`` (maybe ``module.attribute``) is, or its top-level
    distribution for anything outside the package (``click``, ``httpx``)."""
    known = modules()
    if not name.startswith("reconciler"):
        return name.partition(".")[0]
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


@cache
def imports() -> Mapping[str, frozenset[str]]:
    """module -> everything it imports anywhere in its body (itself excluded)."""
    found: dict[str, frozenset[str]] = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = {
            _owner(name)
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for name in _imported(module, node)
        }
        found[module] = frozenset(names - {module, "__future__"})
    return found


def _in(room: str, module: str) -> bool:
    return module == room or module.startswith(room + ".")


def offences(rule: str) -> list[str]:
    """``importer -> imported`` for every import that breaks ``rule``."""
    checks = {
        "config": lambda m, i: (
            _in("reconciler.config", m)
            and any(
                _in(f"reconciler.{room}", i) for room in ("client", "cli", "emulator", "render")
            )
        ),
        "pure": lambda m, i: m in PURE and i.startswith("reconciler") and i not in PURE_MAY_IMPORT,
        "emulator": lambda m, i: (
            _in("reconciler.emulator", m)
            and i.startswith("reconciler")
            and not _in("reconciler.emulator", i)
            and i != "reconciler.errors"
        ),
        "click": lambda m, i: (
            i == "click" and not (_in("reconciler.cli", m) or _in("reconciler.render", m))
        ),
    }
    check = checks[rule]
    return sorted(f"{m} -> {i}" for m, names in imports().items() for i in names if check(m, i))


def cycles(graph: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Every group of modules that import each other, round and round (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in graph:
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


@pytest.mark.parametrize("rule", ["config", "pure", "emulator", "click"])
def test_each_room_imports_only_what_it_may(rule: str) -> None:
    """No import breaks the room's rule (see the module docstring)."""
    assert offences(rule) == []


def test_there_is_no_import_cycle() -> None:
    """No module imports itself through others, lazily or for types only."""
    assert cycles(imports()) == []


def test_lazy_and_type_checking_imports_are_seen() -> None:
    """The walk finds an import inside a function and one under TYPE_CHECKING too."""
    graph = imports()
    assert "reconciler.emulator" in graph["reconciler.cli.emulator_cmd"]  # in a function
    assert "reconciler.emulator.instance" in graph["reconciler.emulator.admin"]  # for types
    assert "reconciler.client" in graph["reconciler.apply"]  # for types


def test_a_submodule_named_in_from_import_is_its_own_edge() -> None:
    """``from reconciler.emulator import admin`` ties app to admin, not to the package."""
    graph = imports()
    assert "reconciler.emulator.admin" in graph["reconciler.emulator.app"]
    assert "reconciler.emulator" not in graph["reconciler.emulator.app"]


def test_a_cycle_is_found() -> None:
    """The cycle finder names every module of a cycle, and only those."""
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a", "d"}),
        "d": frozenset(),
    }
    assert cycles(graph) == [["a", "b", "c"]]
