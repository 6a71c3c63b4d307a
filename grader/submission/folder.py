"""Finding the submission in what was handed in, and preparing it for the sandbox. Imports no torch.

- :func:`locate`: the folder itself, or the one folder one or two levels down that holds the modules (as
  Gradescope and GitHub Classroom uploads often nest them), modules under their own names or close ones
  (:mod:`grader.submission.naming`);
- :func:`prepared`: a module handed in as a notebook gets its generated ``.py`` (see
:mod:`grader.submission.notebooks`), and a
  module handed in under another name is graded under its own;
- :func:`copy_submission`: a bounded copy (the original is never written to).
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..assignment.declaration import Assignment, load_assignment
from .naming import MODULE_SUFFIXES, Matches, ambiguity_message, match_modules

COPY_LIMIT_BYTES = 50 * 2**20
"""Beyond this much in files, only code (.py, .ipynb) is copied."""
SKIPPED_IN_COPY = frozenset({"__pycache__", ".git", ".hypothesis", ".ipynb_checkpoints"})


class SubmissionError(Exception):
    """What was handed in cannot be graded as it is; the message says what to do."""


@dataclass(frozen=True)
class Located:
    """The folder that holds the submission's modules, and notes for the student about how it was found."""

    folder: Path
    notes: list[str] = field(default_factory=list)


def module_files(folder: Path, assignment: Assignment | None = None) -> Matches:
    """Which file of ``folder`` each of the assignment's modules is (its own name, or the single close one)."""
    return match_modules(folder, (assignment or load_assignment(None)).modules)


def locate(path: str | Path, assignment: Assignment | None = None) -> Located:
    """The folder to grade in ``path`` (a module's file stands for the folder that holds it); SubmissionError when
    there is none or several."""
    assignment = assignment or load_assignment(None)
    folder = Path(path).expanduser().resolve()
    if folder.is_file():
        return _located_from_file(path, folder, assignment)
    if not folder.is_dir():
        raise SubmissionError(f"submission folder {str(path)!r} does not exist. Pass the folder that holds "
                              f"{_expected(assignment)}.")
    if module_files(folder, assignment):
        return Located(folder)
    below = {path.parent for pattern in ("*/*", "*/*/*") for path in folder.glob(pattern)}
    nested = sorted(parent for parent in below if module_files(parent, assignment))
    if len(nested) == 1:
        return Located(nested[0], [f"Graded {nested[0].relative_to(folder)}/ (the folder in your upload that holds "
                                   "the modules)."])
    found = f" Several folders inside hold them: {', '.join(map(str, nested))}." if nested else ""
    raise SubmissionError(f"{str(path)!r} holds none of {_expected(assignment)}.{found} Pass the folder that holds "
                          "your files (e.g. autograde check student_template/).")


def _located_from_file(path: str | Path, file: Path, assignment: Assignment) -> Located:
    """A module's ``.py`` or ``.ipynb`` given instead of its folder: the folder, graded whole (said in a note)."""
    if file.suffix not in MODULE_SUFFIXES:
        unpack = " (unpack it first)" if file.suffix == ".zip" else ""
        raise SubmissionError(f"{str(path)!r} is a file, not a folder{unpack}. Pass the folder that holds "
                              f"{_expected(assignment)}.")
    located = locate(file.parent, assignment)
    return Located(located.folder, [f"{file.name} is a file: graded the folder that holds it, "
                                    f"{located.folder.name}/ (all of {', '.join(assignment.modules)}).",
                                    *located.notes])


def _expected(assignment: Assignment) -> str:
    return " / ".join(f"{module}.py (or .ipynb)" for module in assignment.modules)


class Prepared(NamedTuple):
    """A submission ready for the sandbox: the folder to grade, notes for the student, and the file each module
    was handed in as (``{"gradient_descent": "gradientDescent.ipynb"}``), which messages name."""

    folder: Path
    notes: list[str]
    files: dict[str, str]


@contextlib.contextmanager
def prepared(folder: Path, assignment: Assignment | None = None) -> Iterator[Prepared]:
    """Yield the :class:`Prepared` submission: ``folder`` itself, or a temporary copy in which every module handed
    in as a notebook has its generated ``.py`` and every module handed in under another name is there under its
    own. A ``.py`` wins over a notebook of the same name; an ambiguous module fails to import, saying which files it
    could be."""
    assignment = assignment or load_assignment(None)
    matches = module_files(folder, assignment)
    notes = [f"{m}.ipynb was not used: {m}.py is graded." for m, match in matches.found.items()
             if match.how is None and match.path.suffix == ".py" and (folder / f"{m}.ipynb").is_file()]
    files = {module: match.path.name for module, match in matches.found.items()}
    if all(match.how is None and match.path.suffix == ".py" for match in matches.found.values()) \
            and not matches.ambiguous:
        yield Prepared(folder, notes, files)
        return
    with tempfile.TemporaryDirectory(prefix="autograde-prepared-") as workdir:
        copy = Path(workdir) / folder.name
        copy_submission(folder, copy)
        notes += _write_modules(copy, matches, assignment)
        yield Prepared(copy, notes, files)


def _write_modules(copy: Path, matches: Matches, assignment: Assignment) -> list[str]:
    """Write each module's graded ``.py`` into the copy; the notes for the student."""
    from .notebooks import convert

    notes = []
    for module, match in matches.found.items():
        note = match.note(module)
        notes += [note] if note else []
        source = copy / match.path.name
        if match.path.suffix == ".ipynb":
            conversion = convert(source, assignment)
            (copy / f"{module}.py").write_text(conversion.source, encoding="utf-8")
            notes += conversion.notes
        elif match.how is not None:
            shutil.copyfile(source, copy / f"{module}.py")
    for module, candidates in matches.ambiguous.items():
        message = ambiguity_message(module, candidates)
        (copy / f"{module}.py").write_text(f"raise ImportError({message!r})\n", encoding="utf-8")
        notes.append(message)
    return notes


def copy_submission(source: Path, target: Path) -> None:
    """Copy the submission (no caches, no VCS, bounded size) so nothing is ever written into the original."""
    total = 0

    def ignore(folder: str, names: list[str]) -> set[str]:
        nonlocal total
        skipped = {n for n in names if n in SKIPPED_IN_COPY}
        for n in set(names) - skipped:
            path = Path(folder) / n
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        if total > COPY_LIMIT_BYTES:
            skipped |= {n for n in names if (Path(folder) / n).is_file() and not n.endswith(MODULE_SUFFIXES)}
        return skipped

    # Links stay links: copying their targets as root would hand root-readable files to the worker.
    shutil.copytree(source, target, ignore=ignore, symlinks=True)
