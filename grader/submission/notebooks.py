"""Notebook submissions: a module handed in as ``NAME.ipynb`` is graded like ``NAME.py``.

From the code cells, in order, only these top-level statements are kept: imports, function and class
definitions, assignments to names in CAPITALS (constants), and the top-level assignments the kept definitions
need: names they read in their bodies, default arguments (``loss_fn=loss_fn``), decorators and base classes, and,
transitively, what those assignments read (``device = torch.device(...)``, ``normalizer = transforms.Normalize(...)``).
Everything else (training loops, plots, downloads, prints) never runs. A needed assignment that would load data or
train (it calls one of the graded functions, a dataset, ``torch.load``, ``open``, ...) is left out with a notice
naming it and its cell; so is one that fails or runs longer than GLOBAL_SECONDS when the module is imported. Magics
and shell lines are dropped. A cell that does not parse (scratch arithmetic, a ``#TODO`` stub left without a body) is
left out with a notice naming the cell, the line and the error, as Jupyter would run the cells around it; the rest of
the notebook is graded.

Grader side, :func:`convert` writes a module that runs the kept statements of each cell under the cell's own
name as a student finds it (``backpropagation.ipynb, code cell 3``: the third code cell, markdown cells not
counted; a kernel's inputs by their execution count, ``In [3]``), with the cell's line numbers, so tracebacks point at
the notebook.
Worker side, :func:`run_cell` executes them; an import that fails there is bound to a placeholder that raises,
saying which import was missing, only when graded code uses it (course notebooks import helpers such as
``tests_backpropagation`` that are not part of a submission). Imports nothing heavy: the worker preloads it.
"""
from __future__ import annotations

import ast
import linecache
import os
import re
import signal
import symtable
import threading
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.assignment.declaration import Assignment

MAGIC = re.compile(r"^\s*(%|!|\w+\s*=\s*[!%])")
"""A line magic, a shell line, or an assignment from one (``files = !ls``)."""
CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
NOTES = "__autograde_notes__"
GLOBAL_SECONDS = 10.0
"""How long one kept top-level assignment may run when the module is imported."""
LOADS_OR_TRAINS = frozenset({
    "load", "loadtxt", "read_csv", "open", "urlopen", "urlretrieve", "download", "download_url", "fit", "backward",
    "step", "CIFAR10", "CIFAR100", "MNIST", "FashionMNIST", "ImageFolder", "DatasetFolder", "load_state_dict",
    "sleep", "system", "run", "Popen", "input", "show", "savefig", "imshow", "plot"})
"""Calls that make a top-level assignment load data, train, wait or show something: never run when grading."""


@dataclass
class Conversion:
    """The generated module's source, and notes for the student about what was left out."""

    source: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Cell:
    number: int
    label: str
    """How the student finds it: ``code cell 3``, ``In [3]``."""
    lines: list[str]
    tree: ast.Module
    magics: int
    cell_magic: bool = False
    """A ``%%`` cell: left out whole."""


Where = tuple[int, int]
"""(cell number, statement index) of a top-level statement."""
Candidate = tuple[_Cell, int, ast.stmt]
"""A top-level assignment: its cell, index and node."""


# ---------------------------------------------------------------- grader side

def convert(notebook: Path, assignment: Assignment | None = None) -> Conversion:
    """The module graded in place of ``notebook`` (read with nbformat). ``assignment`` names the graded functions
    (a top-level assignment that calls one would train or load data: never run)."""
    import nbformat

    name = notebook.name
    if notebook.stat().st_size == 0:
        return _failing(name, f"{name} is empty (0 bytes): it was saved while empty or not saved at all; open it "
                              "in Jupyter, save it (Ctrl+S) and hand it in again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a student's notebook without cell ids is still graded, silently
            raw_cells = nbformat.read(str(notebook), as_version=4).cells
    except Exception as error:  # nbformat raises several kinds for a file that is not a notebook
        return _failing(name, f"{name} is not a readable notebook ({type(error).__name__}: {error}); open it in "
                              "Jupyter to check, save it and hand it in again")
    code = [cell.source for cell in raw_cells if cell.cell_type == "code"]
    if not any(source.strip() for source in code):
        return _failing(name, f"{name} has no code cells" + (" with code in them" if code else "") +
                              f" ({len(raw_cells)} cell(s) in all): is it the notebook you meant to hand in?")
    return convert_sources(name, list(enumerate(code, start=1)), assignment, CODE_CELL)


CODE_CELL = "code cell {}"
"""A saved notebook's cells, numbered as the student counts them: code cells only, from the top."""
KERNEL_INPUT = "In [{}]"
"""A kernel's inputs, by the execution count Jupyter shows beside them."""


def convert_sources(name: str, sources: list[tuple[int, str]], assignment: Assignment | None = None,
                    label: str = KERNEL_INPUT) -> Conversion:
    """The module graded in place of code cells given as (number, source), in the order they ran (a notebook's
    code cells top to bottom, or the inputs a kernel executed): the same conversion as :func:`convert`. ``label``
    names a cell from its number (:data:`CODE_CELL`, :data:`KERNEL_INPUT`)."""
    cells, unparsed = [], []
    for number, source in sources:
        if not source.strip():
            continue
        try:
            cells.append(_parse_cell(number, label.format(number), source))
        except SyntaxError as error:
            unparsed.append(f"{name}, {label.format(number)} was left out: it is not valid Python (line "
                            f"{error.lineno}: {error.msg}); the other cells are graded.")
    graded = {c.name for c in assignment.callables.values()} if assignment is not None else set()
    kept, refused = _kept_statements(cells, name, graded)
    conversion = _module(name, cells, kept, refused)
    conversion.notes[:0] = unparsed
    return conversion


def _parse_cell(number: int, label: str, source: str) -> _Cell:
    """The cell's lines (magics blanked) and syntax tree; SyntaxError when it does not parse."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return _Cell(number, label, [""] * len(lines), ast.parse(""), 1, cell_magic=True)
    magic = [index for index, line in enumerate(lines) if MAGIC.match(line)]
    for index in magic:
        lines[index] = ""
    return _Cell(number, label, lines, ast.parse("\n".join(lines)), len(magic))


def _kept_statements(cells: list[_Cell], notebook: str,
                     graded: set[str]) -> tuple[dict[Where, str], dict[tuple[str, ...], str]]:
    """{(cell, statement index): "definition" | "global"} of the statements to run, and {names: note} of the
    assignments left out although the definitions need them."""
    kept: dict[Where, str] = {}
    needed: set[str] = set()
    candidates: list[Candidate] = []
    for cell in cells:
        for index, node in enumerate(cell.tree.body):
            if isinstance(node, KEPT):
                kept[(cell.number, index)] = "definition"
                needed |= _reads(node)
            elif _assigned_names(node) is not None:
                candidates.append((cell, index, node))
                if _is_constant(node):
                    kept[(cell.number, index)] = "global"
                    needed |= _reads(node)
    return _close_over_globals(candidates, needed, kept, notebook, graded)


def _close_over_globals(candidates: list[Candidate], needed: set[str], kept: dict[Where, str], notebook: str,
                        graded: set[str]) -> tuple[dict[Where, str], dict[tuple[str, ...], str]]:
    """Keep every assignment to a needed name (and, transitively, to what it reads), unless it loads data or trains
    or reads a name that only such an assignment gives."""
    refused: dict[Where, str] = {}
    changed = True
    while changed:
        changed = False
        for cell, index, node in candidates:
            where = (cell.number, index)
            if where in kept or where in refused or not (_names(node) & needed):
                continue
            refused_names = {n for c, i, m in candidates if (c.number, i) in refused for n in _names(m)}
            reason = _refusal(node, graded, refused_names=refused_names - _given_names(kept, candidates))
            if reason:
                refused[where] = reason
            else:
                kept[where] = "global"
                needed |= _reads(node)
            changed = True
    _refuse_dependents(candidates, kept, refused)
    left_out: dict[tuple[str, ...], str] = {}
    for cell, index, node in candidates:
        if (cell.number, index) in refused:
            names = tuple(sorted(_names(node) & needed)) or tuple(sorted(_names(node)))
            left_out[names] = (f"{notebook}, {cell.label}: `{_shown(node)}` was not run although your "
                               f"definitions use {', '.join(names)} ({refused[(cell.number, index)]}); code that uses "
                               "it fails.")
    return kept, left_out


def _refuse_dependents(candidates: list[Candidate], kept: dict[Where, str], refused: dict[Where, str]) -> None:
    """Leave out, too, every kept assignment that reads a name only a left-out assignment gives."""
    changed = True
    while changed:
        changed = False
        missing = {n for c, i, node in candidates if (c.number, i) in refused
                   for n in _names(node)} - _given_names(kept, candidates)
        for cell, index, node in candidates:
            where = (cell.number, index)
            unavailable = sorted(_reads(node) & missing)
            if kept.get(where) == "global" and unavailable:
                del kept[where]
                refused[where] = f"it needs {', '.join(unavailable)}, which was not run either"
                changed = True


def _given_names(kept: dict[Where, str], candidates: list[Candidate]) -> set[str]:
    return {n for c, i, node in candidates if (c.number, i) in kept for n in _names(node)}


def _refusal(node: ast.stmt, graded: set[str], refused_names: set[str]) -> str | None:
    """Why a needed top-level assignment must not run when grading (None when it may)."""
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        called = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if called in graded:
            return f"it calls {called}, which the grader grades on its own inputs"
        if called in LOADS_OR_TRAINS or called.startswith(("load_", "train", "download")):
            return f"it calls {called}: loading data, training or waiting never runs when grading"
    unavailable = sorted(_reads(node) & refused_names)
    if unavailable:
        return f"it needs {', '.join(unavailable)}, which was not run either"
    return None


def _assigned_names(node: ast.stmt) -> set[str] | None:
    """The names a plain top-level assignment binds (None for any other statement)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
        targets = [node.target]
    else:
        return None
    names: set[str] = set()
    for target in targets:
        elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        plain = [e for e in elements if isinstance(e, ast.Name)]
        if len(plain) != len(elements):
            return None
        names |= {e.id for e in plain}
    return names


def _names(node: ast.stmt) -> set[str]:
    """The names an assignment binds (empty for any other statement)."""
    return _assigned_names(node) or set()


def _is_constant(node: ast.stmt) -> bool:
    return all(CONSTANT.match(name) for name in _assigned_names(node) or {"x"})


def _reads(node: ast.stmt) -> set[str]:
    """The module-level names a top-level statement reads when it runs or when its definitions run (exact, from
    the symbol table: locals and parameters are not counted)."""
    try:
        table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set()
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    pending = list(table.get_children())
    while pending:
        child = pending.pop()
        names |= {s.get_name() for s in child.get_symbols() if s.is_referenced() and s.is_global()}
        pending += child.get_children()
    return names


def _shown(node: ast.stmt) -> str:
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= 80 else text[:77] + "..."


def _module(name: str, cells: list[_Cell], kept: dict[Where, str], left_out: dict[tuple[str, ...], str]) -> Conversion:
    """The generated module: placeholders for the needed names that were left out (so a definition whose default
    argument reads one still defines), then each cell's kept statements."""
    calls = [f"_leave_out(globals(), {list(names)!r}, {note!r})" for names, note in left_out.items()]
    skipped: list[str] = []
    magics = 0
    for cell in cells:
        magics += cell.magics
        keep = [False] * len(cell.lines)
        guarded: list[int] = []
        anything_left_out = cell.cell_magic
        for index, node in enumerate(cell.tree.body):
            kind = kept.get((cell.number, index))
            if kind is None:
                anything_left_out = anything_left_out or not (_is_docstring(node) or _is_grader_call(node))
                continue
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for line in range(first - 1, node.end_lineno or node.lineno):
                keep[line] = True
            if kind == "global":
                guarded.append(node.lineno)
        if anything_left_out:
            skipped.append(cell.label)
        lines = [line if keep[i] else "" for i, line in enumerate(cell.lines)]
        for index, node in enumerate(cell.tree.body):
            if (cell.number, index) not in kept and any(keep[n - 1] for n in range(node.lineno,
                                                                                     (node.end_lineno or 0) + 1)):
                _blank(lines, node)
        source = "\n".join(lines)
        if source.strip():
            calls.append(f"_run_cell(globals(), {f'{name}, {cell.label}'!r}, {source!r}, {guarded!r})")
    header = (f"# Generated by autograde from {name}: the imports, definitions, constants and the top-level\n"
              "# assignments they need of its code cells, each run under its cell's name. Other code was left out.\n"
              "from grader.submission.notebooks import leave_out as _leave_out, run_cell as _run_cell\n")
    return Conversion(header + "\n".join(calls) + "\n", _notes(name, skipped, magics) + list(left_out.values()))


def _blank(lines: list[str], node: ast.stmt) -> None:
    """Replace a left-out statement that shares a line with a kept one (``import grader; grader.check()``) by
    ``pass`` (``0`` when shorter) and spaces, so the kept one keeps its line and columns (offsets: UTF-8 bytes)."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    start, end = node.col_offset, node.end_col_offset if node.end_col_offset is not None else None
    for number in range(first, last + 1):
        encoded = lines[number].encode()
        left = start if number == first else 0
        right = len(encoded) if end is None or number != last else end
        width = right - left
        filler = (b"pass" if width >= 4 else b"0").ljust(width) if number == first else b" " * width
        lines[number] = (encoded[:left] + filler + encoded[right:]).decode(errors="replace")


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_grader_call(node: ast.stmt) -> bool:
    """``grader.check(...)`` (or ``result = grader.check(...)``): the self-check's own line, not the submission's
    code, so not worth a notice."""
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
        isinstance(call.func.value, ast.Name) and call.func.value.id == "grader"


def _failing(name: str, message: str) -> Conversion:
    """A module that fails to import saying ``message`` (no traceback: there is no code of the student's to show)."""
    return Conversion(f"from grader.submission.notebooks import UnusableFile\nraise UnusableFile({message!r})\n",
                      [message])


def _notes(name: str, skipped: list[str], magics: int) -> list[str]:
    notes = []
    if skipped:
        notes.append(f"{name}: top-level code in {', '.join(skipped)} was not run (only imports, definitions, "
                     "constants and the assignments they need are graded).")
    if magics:
        notes.append(f"{name}: {magics} magic or shell line(s) (%..., !...) were left out.")
    return notes


# ---------------------------------------------------------------- worker side

class UnusableFile(ImportError):
    """A handed-in file that holds no code to grade (an empty or unreadable notebook): its module fails to import
    with this message alone."""


class _Placeholder:
    """Stands for a name the graded module could not get; any use of it raises, saying why."""

    def _raise(self) -> None:
        raise NotImplementedError

    def __use(self, *args: object, **kwargs: object) -> None:
        self._raise()

    __call__ = __getitem__ = __iter__ = __len__ = __enter__ = __use

    def __getattr__(self, attribute: str) -> None:
        self._raise()


class MissingImport(_Placeholder):
    """Stands for a name whose import failed in the grader; using it raises ImportError saying so."""

    def __init__(self, name: str, statement: str, error: BaseException):
        self.__dict__.update(_name=name, _statement=statement, _error=f"{type(error).__name__}: {error}")

    def _raise(self) -> None:
        raise ImportError(f"{self._name} is not available: `{self._statement}` could not be imported in the "
                          f"grader ({self._error}). Graded code cannot depend on it.")


class HelperStandIn(types.ModuleType):
    """Stands for a course helper module (``helpers`` in the declaration: the course's own tests, such as
    ``tests_backpropagation``): every name imported from it is an :class:`Inert` stand-in, so a ``.py`` upload that
    imports it, and even calls ``main_test(...)`` at its top level as the notebook's last cell did, still imports;
    the names asked for are remembered for the student's note."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_used"] = []

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self.__dict__["_used"].append(attribute)
        return Inert(f"{self.__name__}.{attribute}")

    def note(self) -> str | None:
        """What the student should know, if graded code imported anything from it."""
        used = sorted(set(self.__dict__["_used"]))
        if not used:
            return None
        return (f"{self.__name__} (the course's helper) is not run when grading: {', '.join(used)} imported from it "
                "is a stand-in that does nothing.")


class Inert:
    """A course helper's function or class when grading: calling it does nothing and gives None; its attributes
    are stand-ins too. (Graded code does not depend on the course's tests.)"""

    def __init__(self, name: str):
        self._name = name

    def __call__(self, *args: object, **kwargs: object) -> None:
        return None

    def __getattr__(self, attribute: str) -> Inert:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return Inert(f"{self._name}.{attribute}")

    def __repr__(self) -> str:
        return f"<stand-in for {self._name}: not run when grading>"


class LeftOut(_Placeholder):
    """Stands for a top-level name whose assignment was not run when grading; using it raises NameError saying why."""

    def __init__(self, name: str, note: str):
        self.__dict__.update(_name=name, _note=note)

    def _raise(self) -> None:
        raise NameError(f"{self._name} is not available when grading: {self._note}")


def leave_out(namespace: dict[str, Any], names: list[str], note: str) -> None:
    """Bind a placeholder for each needed name whose assignment was left out (a later definition replaces it)."""
    for name in names:
        namespace.setdefault(name, LeftOut(name, note))


def run_cell(namespace: dict[str, Any], where: str, source: str, guarded: tuple[int, ...] | list[int] = ()) -> None:
    """Run one cell's kept statements in the module ``namespace`` under the cell's name (``where``:
    ``backpropagation.ipynb, code cell 3``), failed imports bound to placeholders. A top-level assignment (its line
    in ``guarded``) that fails or runs longer than GLOBAL_SECONDS is left out with a note, and the rest of the module
    still imports."""
    filename = os.path.join(os.path.dirname(namespace["__file__"]), where)
    linecache.cache[filename] = (len(source), None, [line + "\n" for line in source.splitlines()], filename)
    for node in ast.parse(source, filename).body:
        code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            try:
                exec(code, namespace)
            except ImportError as error:
                _stand_in(namespace, node, where, ast.unparse(node), error)
        elif node.lineno in guarded:
            _run_guarded(code, namespace, where, node)
        else:
            exec(code, namespace)


class _TooSlow(BaseException):
    """A top-level assignment ran out of its time (a BaseException: student code catching Exception keeps it)."""


def _run_guarded(code: CodeType, namespace: dict[str, Any], where: str, node: ast.stmt) -> None:
    try:
        _exec_within(code, namespace, GLOBAL_SECONDS)
    except _TooSlow:
        reason = f"it ran longer than {GLOBAL_SECONDS:g} s"
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error)[:200]}"
    else:
        return
    statement = ast.unparse(node).splitlines()[0][:80]
    namespace.setdefault(NOTES, []).append(f"{where}: `{statement}` could not be run ({reason}); code that uses "
                                           "what it assigns fails.")


def _exec_within(code: CodeType, namespace: dict[str, Any], seconds: float) -> None:
    """exec with a wall-time limit where the platform allows one (a POSIX main thread)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        exec(code, namespace)
        return

    def too_slow(_signum: int, frame: FrameType | None) -> None:
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(code, namespace)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _stand_in(namespace: dict[str, Any], node: ast.Import | ast.ImportFrom, where: str, statement: str,
              error: ImportError) -> None:
    names = [alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*"]
    for name in names:
        namespace[name] = MissingImport(name, statement, error)
    uses = f"only code that uses {', '.join(names)} fails" if names else "names it would have given are missing"
    namespace.setdefault(NOTES, []).append(f"{where}: `{statement}` could not be imported ({error}); {uses}.")
