"""Finding the submission in what was handed in, and preparing it for the sandbox. Imports no torch.

- :func:`locate`: the folder itself, or the one folder one or two levels down that holds the modules (as
  Gradescope and GitHub Classroom uploads often nest them);
- :func:`prepared`: a module handed in as a notebook gets its generated ``.py`` (see :mod:`grader.notebooks`);
- :func:`copy_submission`: a bounded copy (the original is never written to).
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .contract import MODULES

MODULE_SUFFIXES = (".py", ".ipynb")
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


def module_files(folder: Path) -> list[Path]:
    """The submission modules present in ``folder`` (``NAME.py`` or ``NAME.ipynb`` for each module NAME)."""
    return [folder / f"{module}{suffix}" for module in MODULES for suffix in MODULE_SUFFIXES
            if (folder / f"{module}{suffix}").is_file()]


def locate(path: str | Path) -> Located:
    """The folder to grade in ``path``; SubmissionError when there is none or several."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise SubmissionError(f"submission folder {str(path)!r} does not exist. Pass the folder that holds "
                              f"{_expected()}.")
    if module_files(folder):
        return Located(folder)
    below = {path.parent for pattern in ("*/*", "*/*/*") for path in folder.glob(pattern)}
    nested = sorted(parent for parent in below if module_files(parent))
    if len(nested) == 1:
        return Located(nested[0], [f"Graded {nested[0].relative_to(folder)}/ (the folder in your upload that holds "
                                   "the modules)."])
    found = f" Several folders inside hold them: {', '.join(map(str, nested))}." if nested else ""
    raise SubmissionError(f"{str(path)!r} holds none of {_expected()}.{found} Pass the folder that holds your files "
                          "(e.g. autograde check student_template/).")


def _expected() -> str:
    return " / ".join(f"{module}.py (or .ipynb)" for module in MODULES)


@contextlib.contextmanager
def prepared(folder: Path):
    """Yield (folder to grade, notes for the student): ``folder`` itself, or a temporary copy in which every
    module handed in only as a notebook has its generated ``.py``. A ``.py`` wins over a notebook of the same name."""
    from .notebooks import convert

    notebooks = [folder / f"{m}.ipynb" for m in MODULES if (folder / f"{m}.ipynb").is_file()]
    notes = [f"{nb.name} was not used: {nb.stem}.py is graded." for nb in notebooks if nb.with_suffix(".py").is_file()]
    notebooks = [nb for nb in notebooks if not nb.with_suffix(".py").is_file()]
    if not notebooks:
        yield folder, notes
        return
    with tempfile.TemporaryDirectory(prefix="autograde-prepared-") as workdir:
        copy = Path(workdir) / folder.name
        copy_submission(folder, copy)
        for notebook in notebooks:
            conversion = convert(notebook)
            (copy / f"{notebook.stem}.py").write_text(conversion.source)
            notes += conversion.notes
        yield copy, notes


def copy_submission(source: Path, target: Path) -> None:
    """Copy the submission (no caches, no VCS, bounded size) so nothing is ever written into the original."""
    total = 0

    def ignore(folder, names):
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
