"""Each submission's definitions as the similarity measures see them: top-level functions and classes, from the
modules the grader would grade (.py or .ipynb, misnamed files matched as when grading), docstrings, comments and
layout normalised away by re-printing the syntax tree. Nothing is imported or run."""
from __future__ import annotations

import ast
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment.declaration import Assignment
from ..submission.naming import match_modules

HELPERS = "other definitions"
"""The unit that holds a submission's definitions the assignment does not name (its helpers), together."""


@dataclass(frozen=True)
class Unit:
    """One function or class of a submission (or its helpers together), normalised: ``code`` is what is compared,
    ``original`` what the report shows."""

    key: str
    code: str
    original: str


@dataclass
class Submission:
    """A submission's units by key (the assignment's callable keys, and HELPERS)."""

    name: str
    units: dict[str, Unit] = field(default_factory=dict)
    source: str = ""
    """Where it came from: the class, or the folder of an earlier year."""


def definitions(source: str) -> dict[str, tuple[str, str]]:
    """{name: (normalised code, original text)} of the top-level functions and classes of ``source`` (the last
    definition of a name wins, as when the module runs); empty when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    lines = source.splitlines()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            original = "\n".join(lines[first - 1:node.end_lineno or node.lineno])
            found[node.name] = (ast.unparse(_canonical_names(_without_docstrings(node))), original)
    return found


def _canonical_names(node: ast.AST) -> ast.AST:
    """Every function's parameters and local variables renamed v0, v1, ... in the order they first appear (``self``
    included): a copy with renamed variables reads the same; globals, attributes and keywords are kept."""
    for function in [n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]:
        arguments = function.args
        local = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                 *(a for a in (arguments.vararg, arguments.kwarg) if a is not None))]
        declared = {name for n in ast.walk(function) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
        local += [n.id for n in _in_order(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        names = {name: f"v{index}" for index, name in enumerate(dict.fromkeys(n for n in local if n not in declared))}
        for child in ast.walk(function):
            if isinstance(child, ast.Name) and child.id in names:
                child.id = names[child.id]
            elif isinstance(child, ast.arg) and child.arg in names:
                child.arg = names[child.arg]
    return node


def _in_order(node: ast.AST) -> list[ast.AST]:
    """``node`` and everything below it, in source order (depth first)."""
    found = [node]
    for child in ast.iter_child_nodes(node):
        found += _in_order(child)
    return found


def _without_docstrings(node: ast.AST) -> ast.AST:
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            child.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]  # every node with a body has one
    return node


def notebook_source(path: Path) -> str:
    """The code cells of a notebook, in order, magics and shell lines dropped; cells that do not parse left out."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8", errors="replace")).get("cells", [])
    except (json.JSONDecodeError, AttributeError):
        return ""
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines())
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        sources.append(text)
    return "\n\n".join(sources)


def module_sources(folder: Path, assignment: Assignment) -> dict[str, str]:
    """{module: source} of the modules the grader would grade in ``folder`` (or a folder below it)."""
    matches = match_modules(folder, assignment.modules)
    if not matches.found:
        below = sorted({p.parent for pattern in ("*/*", "*/*/*") for p in folder.glob(pattern)})
        for candidate in below:
            matches = match_modules(candidate, assignment.modules)
            if matches.found:
                break
    return {module: notebook_source(match.path) if match.path.suffix == ".ipynb" else
            match.path.read_text(encoding="utf-8", errors="replace") for module, match in matches.found.items()}


def submission(name: str, folder: Path, assignment: Assignment, boilerplate: dict[str, str],
               source: str = "class") -> Submission:
    """The units of the submission in ``folder``: each graded callable (by its name or an alias), the helpers
    together; a definition identical to the template's (``boilerplate``: normalised code by name) is left out."""
    names = {name: spec.key for spec in assignment.callables.values() if not spec.given
             for name in (spec.name, *spec.aliases)}
    given = {spec.name for spec in assignment.callables.values() if spec.given}
    result = Submission(name, source=source)
    helpers: list[tuple[str, str]] = []
    for module_source in module_sources(folder, assignment).values():
        for def_name, (code, original) in definitions(module_source).items():
            if def_name in given or boilerplate.get(def_name) == code:
                continue
            key = names.get(def_name)
            if key is None:
                helpers.append((code, original))
            else:
                result.units[key] = Unit(key, code, original)
    if helpers:
        helpers.sort()  # their order in the file says nothing
        result.units[HELPERS] = Unit(HELPERS, "\n\n".join(c for c, _ in helpers), "\n\n".join(o for _, o in helpers))
    return result


def template_code(folder: Path | None, assignment: Assignment) -> dict[str, str]:
    """The template's definitions (normalised code by name): what every submission starts from."""
    if folder is None:
        return {}
    return {name: code for source in module_sources(folder, assignment).values()
            for name, (code, _) in definitions(source).items()}


def entries(folder: Path) -> list[tuple[str, Path]]:
    """(name, path) of each submission in a class folder: its sub-folders and its .zip files."""
    return [(p.stem if p.suffix.lower() == ".zip" else p.name, p) for p in sorted(folder.iterdir())
            if not p.name.startswith((".", "__")) and (p.is_dir() or p.suffix.lower() == ".zip")]


def unpacked(path: Path, scratch: Path) -> Path:
    """A folder with the submission's files: ``path`` itself, or its zip extracted into ``scratch`` (only .py and
    .ipynb members, never outside the target)."""
    if path.is_dir():
        return path
    target = scratch / path.stem
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = Path(member.filename)
            if member.is_dir() or name.is_absolute() or ".." in name.parts or name.suffix not in (".py", ".ipynb"):
                continue
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(member))
    return target
