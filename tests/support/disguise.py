"""Copies of a submission disguised the ways students disguise them, for the similarity tests: renamed variables,
functions in another order, reformatted, comments changed, one function rewritten, handed in as a notebook."""
from __future__ import annotations

import ast
import builtins
from pathlib import Path

from tests.support.notebooks import cells_of, write_notebook

MODULES = ("backpropagation", "gradient_descent")


class _Renamer(ast.NodeTransformer):
    """Renames every parameter and local variable of every function (not globals, attributes or keywords)."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        local = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        local -= set(dir(builtins))
        names = {name: f"{name[:1]}_{index}" for index, name in enumerate(sorted(local))}
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id in names:
                child.id = names[child.id]
            elif isinstance(child, ast.arg) and child.arg in names:
                child.arg = names[child.arg]
        return node


def renamed(source: str) -> str:
    return ast.unparse(_Renamer().visit(ast.parse(source)))


def reordered(source: str) -> str:
    """Imports first, then the definitions in reverse order, then the rest."""
    tree = ast.parse(source)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    every = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    last = {n.name: n for n in every}  # a later definition replaces an earlier one: keep the one that counts
    definitions = [n for n in every if last[n.name] is n]
    rest = [n for n in tree.body if n not in imports and n not in every]
    tree.body = imports + rest + definitions[::-1]
    return ast.unparse(tree)


def recommented(source: str) -> str:
    """Comments stripped (by re-printing) and others added, blank lines doubled."""
    lines = []
    for line in ast.unparse(ast.parse(source)).splitlines():
        lines.append(line)
        if line.lstrip().startswith(("def ", "for ", "if ")):
            lines.append(" " * (len(line) - len(line.lstrip()) + 4) + "# my own comment here")
        if not line.strip():
            lines.append("")
    return "\n".join(lines) + "\n"


def with_function(source: str, replacement: str) -> str:
    """``source`` with the function that ``replacement`` defines rewritten as ``replacement``."""
    name = next(n.name for n in ast.parse(replacement).body if isinstance(n, ast.FunctionDef))
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == name)]
    return ast.unparse(tree) + "\n\n" + replacement


def disguise(folder: Path, target: Path, how: str, replacement: tuple[str, str] | None = None) -> Path:
    """A disguised copy of the submission in ``folder`` in ``target``: ``how`` is renamed, reordered, recommented,
    rewritten (``replacement``: module, a function's new source) or notebook (all of it, as notebooks)."""
    target.mkdir(parents=True, exist_ok=True)
    for module in MODULES:
        source = (folder / f"{module}.py").read_text()
        if how == "rewritten" and replacement and replacement[0] == module:
            source = with_function(source, replacement[1])
        elif how != "rewritten":
            source = recommented(reordered(renamed(source)))
        if how == "notebook":
            write_notebook(target / f"{module}.ipynb", cells_of(source))
        else:
            (target / f"{module}.py").write_text(source)
    return target
