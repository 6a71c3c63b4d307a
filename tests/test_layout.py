"""The package shows its parts: few modules at the top, no import cycle (type-only imports included), the layers
and the kit's boundary kept (import-linter). (What the README and the docs print: tests/test_docs.py.)"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "grader"
FACE = "grader"
"""The package's face (``grader/__init__.py``: ``__version__`` and ``grader.check()``): importing it is no edge."""


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Every module of ``package`` -> the modules of it that it imports anywhere (under TYPE_CHECKING and inside
    functions included); an import of a name resolves to the module of that name when there is one."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                origin = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module or ""
                targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t not in (name, package.name)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_at_most_ten_modules_at_the_top_of_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 10, top


def test_no_import_cycle_in_the_package_type_only_imports_included():
    assert cycles(import_graph(PACKAGE)) == []


def test_the_cycle_finder_finds_a_cycle_hidden_behind_type_checking(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "rubric.py").write_text("from .sub.registry import Check\n")
    (package / "sub" / "registry.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                                 "    from .base import Context\n")
    (package / "sub" / "base.py").write_text("def f():\n    from ..rubric import Rubric\n")
    assert cycles(import_graph(package)) == [["pkg.rubric", "pkg.sub.base", "pkg.sub.registry"]]


def test_the_declared_layers_and_the_kits_boundary_hold():
    if shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    contracts = re.findall(r"^\[\[tool\.importlinter\.contracts\]\]", (ROOT / "pyproject.toml").read_text(), re.M)
    assert len(contracts) >= 2
    done = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"Contracts: {len(contracts)} kept, 0 broken" in done.stdout
