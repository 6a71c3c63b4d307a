"""An instructor's folder read for authoring: each notebook or .py file as one module's source and syntax tree.

Notebooks are read as Jupyter runs them, in cell order: magics and shell lines dropped, a cell that does not parse
left out; a later definition of a name replaces an earlier one. File names lose the suffixes instructors give their
copies (``backpropagation_solutions.ipynb`` is the module ``backpropagation``); helper modules the notebooks import
(``tests_backpropagation.py``) are not part of the assignment."""
from __future__ import annotations

import ast
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SUFFIXES = re.compile(r"(_|-)(solutions?|template|starter|student|reference|ref|sol|handout)$", re.IGNORECASE)
HELPER = re.compile(r"^(tests?(_.*)?|.*_tests?|conftest|setup|__init__)$", re.IGNORECASE)
MAGIC = re.compile(r"^\s*(%|!)")
Definition = ast.FunctionDef | ast.ClassDef


class SourceError(ValueError):
    """The folder holds no module to read; the message says what to give."""


@dataclass(frozen=True)
class Module:
    """One module of the instructor's folder: its name, the file, the code (notebook cells joined) and its tree."""

    name: str
    path: Path
    text: str
    tree: ast.Module

    @cached_property
    def definitions(self) -> dict[str, Definition]:
        """Its top-level functions and classes by name (the last definition of a name wins, as in Jupyter)."""
        return {node.name: node for node in self.tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}

    def imported(self, name: str) -> tuple[Module, ast.stmt] | None:
        """Where ``name``, imported with ``from M import name``, is defined (a def, a class or ``name = ...``), read
        from M's source (a file beside this one, or an installed pure-Python module) without running anything."""
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        source = _module_source(node.module, self.path.parent)
                        found = source.defined(alias.name) if source else None
                        if source and found:
                            return source, found
        return None

    def defined(self, name: str) -> ast.stmt | None:
        """The top-level statement that defines ``name`` here (the last one), if any."""
        found: ast.stmt | None = None
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                found = node
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                found = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                found = node
        return found

    def constant(self, name: str) -> str | None:
        """The source of a module-level constant ``name`` (here or imported), when it is a literal."""
        found = self.defined(name)
        where: Module = self
        if found is None:
            imported = self.imported(name)
            if imported is None:
                return None
            where, found = imported
        value = getattr(found, "value", None)
        if value is None:
            return None
        try:
            ast.literal_eval(value)
        except ValueError:
            return None
        return ast.unparse(value)


def _module_source(dotted: str, beside: Path) -> Module | None:
    """The module ``dotted`` as source: ``beside/dotted.py`` or an installed module's .py file (never imported)."""
    local = beside / f"{dotted.replace('.', '/')}.py"
    path: Path | None = local if local.is_file() else None
    if path is None:
        try:
            spec = importlib.util.find_spec(dotted)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None)
        path = Path(origin) if origin and origin.endswith(".py") else None
    if path is None:
        return None
    text = path.read_text(encoding="utf-8")
    return Module(dotted.rsplit(".", 1)[-1], path, text, ast.parse(text))


def read_folder(folder: Path) -> dict[str, Module]:
    """Every module of ``folder`` (notebooks and .py files, helpers left out), by module name; a notebook and a .py
    file of the same module: the notebook, unless the notebook imports that .py (then the .py). SourceError when
    there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"no such folder: {folder}")
    modules: dict[str, Module] = {}
    for path in sorted(folder.iterdir(), key=lambda p: (p.suffix == ".ipynb", p.name)):
        if path.suffix not in (".py", ".ipynb") or HELPER.match(path.stem):
            continue
        text = notebook_code(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(text)
        except SyntaxError as error:
            raise SourceError(f"{path} does not parse: {error}") from None
        name = module_name(path)
        if name in modules and _imports(tree, modules[name].path.stem):
            continue  # a notebook that runs the .py of its name: the .py is the module
        modules[name] = Module(name, path, text, tree)
    if not modules:
        raise SourceError(f"{folder} holds no notebook or .py module of the assignment")
    return modules


def _imports(tree: ast.Module, module: str) -> bool:
    """The code imports ``module`` (``import module``, ``from module import ...``), at any depth."""
    return any(isinstance(node, ast.Import) and any(a.name.split(".")[0] == module for a in node.names)
               or isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == module
               for node in ast.walk(tree))


def module_name(path: Path) -> str:
    """The module a file is: its stem without an instructor's suffix, as a Python name."""
    stem = SUFFIXES.sub("", Path(path).stem)
    name = re.sub(r"\W", "_", stem)
    return f"m_{name}" if name[:1].isdigit() else name


def notebook_code(path: Path) -> str:
    """The code cells of a notebook that parse, in order, magics and shell lines dropped."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    kept = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if source.lstrip().startswith("%%"):
            continue
        code = "\n".join("" if MAGIC.match(line) else line for line in source.splitlines())
        try:
            ast.parse(code)
        except SyntaxError:
            continue
        kept.append(code)
    return "\n\n".join(kept) + "\n"
