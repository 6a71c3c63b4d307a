"""Which file in an upload is which module, when students did not keep the expected file name.

Uploads are called ``gradientDescent.ipynb``, ``gradient_decent_complete.ipynb``, ``gradient_descent_2.ipynb``,
``Copy of backpropagation.ipynb`` (Colab) or ``backpropagation (1).ipynb`` (a browser's second download). When a
module's own file is missing, the single close match in the same folder is graded in its place, and the report says
so; when several files are equally close, none is guessed and the student is told which ones. Imports nothing heavy.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MODULE_SUFFIXES = (".py", ".ipynb")
NOISE = re.compile(r"^(v?\d+|complete[d]?|final|done|finished|solutions?|submission|submitted|new|copy|updated|fixed|"
                   r"answers?|handin|ver|version|last|latest|working|mine|my|project\d*|assignment\d*|p\d+)$")
"""Words students add to a file name that say nothing about which module it is."""
RANKS = ("the expected name, written differently:", "the expected name with a suffix:",
         "a name that starts with the expected", "a near spelling or an abbreviation of")


@dataclass(frozen=True)
class Match:
    """The file graded as a module, and how its name relates to the expected one (None: the expected name)."""

    path: Path
    how: str | None = None

    def note(self, module: str) -> str | None:
        if self.how is None:
            return None
        return (f"{self.path.name} was graded as {module}{self.path.suffix} ({self.how}; rename it to "
                f"{module}{self.path.suffix} to silence this note).")


@dataclass(frozen=True)
class Matches:
    """For each module: its file, or the equally close candidates (ambiguous), or nothing."""

    found: dict[str, Match] = field(default_factory=dict)
    ambiguous: dict[str, list[Path]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.found or self.ambiguous)


def tokens(stem: str) -> list[str]:
    """The words of a file stem: ``Copy of gradientDescent (1)`` -> ["gradient", "descent"]."""
    stem = re.sub(r"^(copy of\s+)+", "", stem.strip(), flags=re.IGNORECASE)
    stem = re.sub(r"\s*\(\d+\)$", "", stem)
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem)
    return [word for word in re.split(r"[^A-Za-z0-9]+", stem.lower()) if word]


def rank(stem: str, module: str) -> int | None:
    """How close a file stem is to ``module`` (an index into RANKS, lower is closer), or None when it is not."""
    words, wanted = tokens(stem), tokens(module)
    if not words:
        return None
    joined, target = "".join(words), "".join(wanted)
    if joined == target:
        return 0
    cut = len(words)
    while cut > 0 and NOISE.match(words[cut - 1]):
        cut -= 1
    if "".join(words[:cut]) == target:
        return 1
    if words[:len(wanted)] == wanted or joined.startswith(target):
        return 2
    core = "".join(words[:cut]) or joined
    if len(target) >= 8 and _distance(core, target) <= (1 if len(target) < 12 else 2):
        return 3
    if len(core) >= 6 and target.startswith(core):
        return 3
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def match_modules(folder: Path, modules: tuple[str, ...] | list[str]) -> Matches:
    """Which file of ``folder`` each module is: its own ``NAME.py``/``NAME.ipynb``, else the single closest file."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in MODULE_SUFFIXES) \
        if folder.is_dir() else []
    found, ambiguous = {}, {}
    exact = {module: [p for p in files if p.stem == module] for module in modules}
    taken = {p for paths in exact.values() for p in paths}
    for module in modules:
        if exact[module]:
            found[module] = Match(_preferred(exact[module]))
            continue
        best = _closest(module, [p for p in files if p not in taken], modules)
        if len(best) == 1:
            found[module] = Match(best[0], f"{RANKS[rank(best[0].stem, module) or 0]} {module}")
            taken.add(best[0])
        elif best:
            ambiguous[module] = best
    return Matches(found, ambiguous)


def _preferred(paths: list[Path]) -> Path:
    """A .py wins over a notebook of the same name."""
    return sorted(paths, key=lambda p: MODULE_SUFFIXES.index(p.suffix))[0]


def _closest(module: str, files: list[Path], modules: Sequence[str]) -> list[Path]:
    """The files of the best rank for ``module`` (one per stem, .py first), leaving out files closer to another
    module."""
    ranked: dict[int, dict[str, list[Path]]] = {}
    for path in files:
        mine = rank(path.stem, module)
        others = [r for m in modules if m != module for r in [rank(path.stem, m)] if r is not None]
        if mine is not None and not any(r < mine for r in others):
            ranked.setdefault(mine, {}).setdefault(path.stem, []).append(path)
    if not ranked:
        return []
    return [_preferred(paths) for paths in ranked[min(ranked)].values()]


def ambiguity_message(module: str, candidates: list[Path]) -> str:
    names = ", ".join(p.name for p in candidates)
    return (f"Several files could be {module}.py / {module}.ipynb: {names}. None was graded as {module}; rename the "
            f"one to grade to {module}.ipynb (or {module}.py).")
