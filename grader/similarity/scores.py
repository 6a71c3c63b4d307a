"""Two measures of how much code two submissions share, function by function.

- **tokens**: copydetect's winnowed fingerprints (k-grams of tokens with every name replaced), the shared share of
  each unit's fingerprints, averaged over the two: survives renamed variables, reformatting, comments; its report
  (:mod:`.report`) highlights the shared code with copydetect's own comparison;
- **structure**: shingles of ``SHINGLE`` consecutive statements, each reduced to its syntax-tree shape (names and
  constants anonymised, nested bodies emptied, statements taken in order through the nesting): survives the same,
  and a token-level rewrite of one expression.

A unit's score is the mean of the two; a pair's is the mean of its shared units' scores weighted by their size, so a
copied solution with one function rewritten still scores high. Sets of hashes make a pair's comparison a few set
intersections: a class of 300 against 1,000 earlier submissions is 345,000 pairs.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass, field
from typing import Any

import torch

from .extract import Submission

TOKEN_K = 25
"""copydetect's noise threshold: matches shorter than this many tokens are ignored."""
TOKEN_WINDOW = 6
"""copydetect's winnowing window (its guarantee threshold 30 = TOKEN_K + TOKEN_WINDOW - 1)."""
SHINGLE = 3
THRESHOLD = 0.7
"""A pair at or above this score is flagged (the rubric or --threshold may set another)."""


@dataclass(frozen=True)
class Fingerprint:
    """A unit's hashes under both measures, and its size in tokens."""

    tokens: frozenset[int]
    structure: frozenset[str]
    size: int


@dataclass(frozen=True)
class UnitScore:
    key: str
    tokens: float
    structure: float

    @property
    def score(self) -> float:
        return (self.tokens + self.structure) / 2


@dataclass
class PairScore:
    """How much two submissions share: per unit, and overall (size-weighted)."""

    first: str
    second: str
    units: list[UnitScore] = field(default_factory=list)
    score: float = 0.0


def filtered(code: str) -> str:
    """``code`` as copydetect compares it: every name but a keyword as V, every string as S, layout and comments
    dropped (Python's own tokenizer: several times faster than copydetect's pygments lexer, the same idea)."""
    out = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.NAME:
                out.append(token.string if keyword.iskeyword(token.string) else "V")
            elif token.type == tokenize.STRING:
                out.append("S")
            elif token.type in (tokenize.OP, tokenize.NUMBER):
                out.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return ""
    return "".join(out)


def token_hashes(code: str, boilerplate: frozenset[int] = frozenset()) -> tuple[frozenset[int], int]:
    """copydetect's winnowed fingerprints of ``code``'s filtered tokens, less ``boilerplate``; the filtered
    length."""
    from copydetect.utils import get_document_fingerprints

    text = filtered(code)
    if len(text) < TOKEN_K:
        return frozenset(), len(text)
    hashes, _ = get_document_fingerprints(text, TOKEN_K, TOKEN_WINDOW, sorted(boilerplate) or None)
    return frozenset(int(h) for h in hashes), len(text)


class _Anonymise(ast.NodeTransformer):
    def visit_Name(self, name: ast.Name) -> ast.AST:
        return ast.Name("_", name.ctx)

    def visit_arg(self, arg: ast.arg) -> ast.AST:
        return ast.arg("_", None)

    def visit_Constant(self, constant: ast.Constant) -> ast.AST:
        return ast.Constant(0)


NESTED = ("body", "orelse", "finalbody", "handlers")


def _head(statement: ast.stmt) -> str:
    """A statement's shape (its tree already anonymised), its nested statements left out (they come next)."""
    shallow = copy.copy(statement)
    for name in NESTED:
        if isinstance(getattr(shallow, name, None), list):
            setattr(shallow, name, [])
    if isinstance(shallow, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        shallow.name = "_"
    return ast.dump(shallow, annotate_fields=False)


def structure_hashes(code: str) -> frozenset[str]:
    """Hashes of every run of SHINGLE consecutive statement shapes of ``code``, in source order."""
    try:
        tree = _Anonymise().visit(ast.parse(code))
    except SyntaxError:
        return frozenset()
    statements = sorted((n for n in ast.walk(tree) if isinstance(n, ast.stmt)), key=lambda n: (n.lineno, n.col_offset))
    shapes = [_head(node) for node in statements]
    return frozenset(hashlib.blake2b("\n".join(shapes[i:i + SHINGLE]).encode(), digest_size=8).hexdigest()
                     for i in range(max(len(shapes) - SHINGLE + 1, 1 if shapes else 0)))


def fingerprint(code: str, boilerplate: frozenset[int] = frozenset()) -> Fingerprint:
    tokens, size = token_hashes(code, boilerplate)
    return Fingerprint(tokens, structure_hashes(code), size)


def _overlap(a: frozenset[object], b: frozenset[object]) -> float:
    """The share of each set found in the other, averaged: 1 for the same code, less for code added to a copy."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return (shared / len(a) + shared / len(b)) / 2


def pair_score(a: dict[str, Fingerprint], b: dict[str, Fingerprint]) -> float:
    """:func:`compare`'s overall score alone (no per-unit detail kept: the inner loop of a class against years)."""
    weight = total = 0.0
    for key, mine in a.items():
        theirs = b.get(key)
        if theirs is None:
            continue
        size = min(mine.size, theirs.size)
        weight += size
        total += size * (_overlap(mine.tokens, theirs.tokens) + _overlap(mine.structure, theirs.structure)) / 2
    return total / weight if weight else 0.0


def compare(first: str, second: str, a: dict[str, Fingerprint], b: dict[str, Fingerprint]) -> PairScore:
    """The scores of two submissions' fingerprinted units (by key); units only one of them has are not compared."""
    pair = PairScore(first, second)
    weight = total = 0.0
    for key in sorted(set(a) & set(b)):
        unit = UnitScore(key, _overlap(a[key].tokens, b[key].tokens),
                         _overlap(a[key].structure, b[key].structure))
        pair.units.append(unit)
        size = min(a[key].size, b[key].size)
        weight += size
        total += size * unit.score
    pair.score = total / weight if weight else 0.0
    return pair


def fingerprints(submission: Submission, boilerplate: frozenset[int] = frozenset()) -> dict[str, Fingerprint]:
    return {key: fingerprint(unit.code, boilerplate) for key, unit in submission.units.items()}


def score_matrix(first: list[dict[str, Fingerprint]], second: list[dict[str, Fingerprint]]) -> torch.Tensor:
    """:func:`pair_score` of every submission of ``first`` with every one of ``second`` at once (a float64 matrix):
    per unit and measure, the shared hashes of all pairs are one product of 0/1 matrices (torch), so a class of 300
    against 1,300 takes a few seconds where a loop over its 390,000 pairs takes minutes."""
    keys = sorted({key for prints in (*first, *second) for key in prints})
    total = torch.zeros(len(first), len(second), dtype=torch.float64)
    weight = torch.zeros_like(total)
    for key in keys:
        sizes = [torch.tensor([p[key].size if key in p else 0 for p in side], dtype=torch.float64)
                 for side in (first, second)]
        present = (sizes[0] > 0)[:, None] & (sizes[1] > 0)[None, :]
        both = torch.minimum(sizes[0][:, None], sizes[1][None, :]) * present
        score = _overlaps([[p[key].tokens if key in p else frozenset() for p in side] for side in (first, second)]) \
            + _overlaps([[p[key].structure if key in p else frozenset() for p in side] for side in (first, second)])
        total += both * score / 2
        weight += both
    return torch.where(weight > 0, total / weight.clamp_min(1e-12), torch.zeros_like(total))


def _overlaps(sides: list[list[Any]]) -> torch.Tensor:
    """:func:`_overlap` of every set of the first list with every set of the second."""
    first, second = sides
    vocabulary = {value: index for index, value in enumerate({v for s in (*first, *second) for v in s})}
    matrices = []
    for sets in (first, second):
        matrix = torch.zeros(len(sets), max(len(vocabulary), 1), dtype=torch.float32)
        for row, values in enumerate(sets):
            if values:
                matrix[row, [vocabulary[v] for v in values]] = 1.0
        matrices.append(matrix)
    shared = (matrices[0] @ matrices[1].T).to(torch.float64)
    counts = [m.sum(dim=1).to(torch.float64) for m in matrices]
    ratio = shared / counts[0].clamp_min(1)[:, None] + shared / counts[1].clamp_min(1)[None, :]
    nonempty = (counts[0] > 0)[:, None] & (counts[1] > 0)[None, :]
    return torch.where(nonempty, ratio / 2, torch.zeros_like(ratio))
