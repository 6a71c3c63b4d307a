"""What a bundle must not share with the reference solution: its functions, its non-trivial lines, or any run of
statements that is the reference's with the names and numbers changed.

A statement is normalised by its syntax tree: every variable, argument and function name becomes ``_`` and every
constant ``0``; attribute names stay (``.grad``, ``.weight``, ``.add_`` carry the meaning). Runs of
``WINDOW`` consecutive statements of one block are compared, nested blocks included, so a renamed copy of the
reference's update loop or backward pass is found however its variables are called.
"""
from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

WINDOW = 3
"""Consecutive statements compared at once."""
MIN_WINDOW_NODES = 24
"""A run of statements smaller than this (in syntax-tree nodes) is an idiom, not a solution (``model.train()``,
``x, y = x.to(device), y.to(device)``)."""
MIN_LINE = 32
"""A shared line shorter than this (without indentation and comments) is an idiom too."""
IDIOM = re.compile(r"^(import |from |def |class |return |@|#|\"\"\"|'''|raise |assert |print\()|\.mkdir\(parents=True|"
                   r"formatter_class=argparse|time\.perf_counter\(\) - started")
"""Lines that say nothing of a solution: imports, signatures, prints, and a few generic Python idioms."""


@dataclass(frozen=True)
class Shared:
    """One thing a file shares with the reference: ``what`` is "line" or "statements", ``text`` shows it."""

    file: str
    what: str
    text: str


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_UNNAMED = ("name", "returns", "decorator_list", "type_comment", "type_params")
"""What a function's fingerprint leaves out: its name, annotations and decorators (its arguments become ``_``)."""


def _normalised(node: ast.AST) -> str:
    """``node``'s syntax tree as text with every variable, argument and function name ``_`` and every constant ``0``
    (attribute names kept), read without copying or changing the tree."""
    if isinstance(node, ast.Name):
        return f"Name(_,{type(node.ctx).__name__})"
    if isinstance(node, ast.arg):
        return "arg(_)"
    if isinstance(node, ast.Constant):
        return "Constant(0)"
    skipped = _UNNAMED if isinstance(node, _FUNCTIONS) else ("type_comment",)
    fields = [_field_text(value) for name, value in ast.iter_fields(node) if name not in skipped]
    return f"{type(node).__name__}({','.join(fields)})"


def _field_text(value: object) -> str:
    if isinstance(value, ast.AST):
        return _normalised(value)
    if isinstance(value, list):
        return "[" + ",".join(_field_text(item) for item in value) + "]"
    return repr(value)


def _blocks(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield [s for s in block if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]


def statement_windows(source: str) -> dict[str, str]:
    """{fingerprint: the first line of the run} for every run of WINDOW statements of ``source`` that is large
    enough to be more than an idiom (empty for a file that does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, str] = {}
    for block in _blocks(tree):
        sizes = [sum(1 for _ in ast.walk(statement)) for statement in block]
        forms: dict[int, str] = {}
        for start in range(len(block) - WINDOW + 1):
            if sum(sizes[start:start + WINDOW]) < MIN_WINDOW_NODES:
                continue
            for index in range(start, start + WINDOW):
                if index not in forms:
                    forms[index] = _normalised(block[index])
            digest = hashlib.sha256("\n".join(forms[i] for i in range(start, start + WINDOW)).encode()).hexdigest()
            if digest not in found:
                found[digest] = ast.unparse(block[start]).splitlines()[0][:100]
    return found


def lines(source: str) -> set[str]:
    """The non-trivial code lines of ``source``: stripped, comments removed, at least MIN_LINE long, not an import,
    a signature, a docstring (the assignment's own words, which the template shares) or a print. A file that is not
    Python is compared line by line."""
    skipped = _signatures_and_docstrings(source)
    kept = set()
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.split("  #")[0].strip()
        if number not in skipped and len(text) >= MIN_LINE and not IDIOM.search(text):
            kept.add(text)
    return kept


def _signatures_and_docstrings(source: str) -> set[int]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            skipped.update(range(node.lineno, node.body[0].lineno))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            skipped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return skipped


def shared_with(solution: dict[str, str], files: dict[str, str]) -> list[Shared]:
    """What each of ``files`` (name -> Python source) shares with the ``solution`` files (name -> source)."""
    solution_lines = set().union(*(lines(s) for s in solution.values())) if solution else set()
    solution_windows: dict[str, str] = {}
    for source in solution.values():
        solution_windows.update(statement_windows(source))
    shared = []
    for name, source in sorted(files.items()):
        shared += [Shared(name, "line", line) for line in sorted(lines(source) & solution_lines)]
        shared += [Shared(name, "statements", first) for digest, first in statement_windows(source).items()
                   if digest in solution_windows]
    return shared
