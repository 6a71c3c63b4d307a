"""The package shows its parts: few modules at the top, no import cycle (type-only imports included), the layers
and the kit's boundary kept (import-linter), the README a page, the docs built strictly, every documented
``autograde`` command one the command line accepts."""
from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import build_parser

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


def test_the_readme_is_a_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_the_docs_build_with_no_broken_link(tmp_path):
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    done = subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def documented_commands() -> list[tuple[str, str]]:
    """(file, command) for every ``autograde`` command in a fenced block of the README and the docs: line
    continuations joined, comments dropped, a synopsis' optional ``[...]`` parts and ``...`` left out."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```(?:bash|sh|console|shell)?\n(.*?)```", page.read_text(), re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.strip().removeprefix("$ ")
                if not line.startswith("autograde "):
                    continue
                line = re.sub(r"\s+#.*$", "", line)
                while re.search(r"\[[^\[\]]*\]", line):
                    line = re.sub(r"\s*\[[^\[\]]*\]", "", line)
                found.append((page.name, line.replace(" ...", "")))
    return found


@pytest.mark.parametrize("page, command", documented_commands())
def test_every_documented_command_parses(page, command):
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as stopped:
        assert stopped.code == 0, f"{page}: {command}"


def test_documented_commands_are_found():
    pages = {page for page, _ in documented_commands()}
    assert "README.md" in pages and len(documented_commands()) >= 20


def test_ci_runs_the_readmes_install_and_test_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set up, test, run\n\n```bash\n(.*?)```", readme, re.S)
    assert block is not None
    install, test = (re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).strip().splitlines())
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert f"python -m {install}" in ci and test in ci
