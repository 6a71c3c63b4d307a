"""Submissions written as patches on the reference solution, shared by the tests and the benchmarks.

- :mod:`.correct`: differently written correct solutions (each must get full marks);
- :mod:`.buggy`: realistic mistakes (each caught by the right check, with the right message);
- :mod:`.hostile`: attacks on the grader (each contained; the rest of the submission still graded).

A patch is ``(module, old, new)`` with ``old`` present exactly once, so a stale entry fails loudly.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference"
TEMPLATE = ROOT / "student_template"
MODULE_FILES = ("backpropagation.py", "gradient_descent.py")


@dataclass(frozen=True)
class Submission:
    """A submission described as changes to the reference: patches, code appended to a module, whole files."""

    name: str
    patches: tuple = ()
    append: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    def write(self, folder: Path) -> Path:
        """Write this submission into ``folder`` (created); returns ``folder``."""
        return write_submission(folder, self.patches, files=self.files, append=self.append)


def write_submission(folder: Path, patches=(), files: dict[str, str] | None = None,
                     append: dict[str, str] | None = None) -> Path:
    """A copy of the reference with ``patches`` applied: (module, old, new), each ``old`` present exactly once.

    ``append`` adds code at the end of a module (a later ``def`` replaces the reference's); ``files`` writes
    whole files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODULE_FILES:
        shutil.copy(REFERENCE / name, folder / name)
    for module, old, new in patches:
        path = folder / f"{module}.py"
        text = path.read_text()
        assert text.count(old) == 1, f"patch target not found exactly once in {module}.py: {old!r}"
        path.write_text(text.replace(old, new))
    for module, text in (append or {}).items():
        with open(folder / f"{module}.py", "a") as handle:
            handle.write("\n\n" + text)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder
