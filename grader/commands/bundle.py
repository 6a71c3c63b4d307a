"""``autograde bundle student --out DIR`` and ``autograde bundle gradescope --out autograder.zip``."""
from __future__ import annotations

import sys
from pathlib import Path

from . import EXIT_BAD_INPUT, EXIT_OK


def bundle_main(*, kind: str, out: str, rubric_path: str | None = None, data_root: str | None = None,
                assignment: str | None = None, template: str | None = None, timeout: int | None = None) -> int:
    """Build the student kit (a folder, with ``template``'s files or the declaration's own template) or the
    Gradescope autograder (a zip); return the exit status (2, saying why, when something to build from is
    missing)."""
    from ..assignment.declaration import AssignmentError, load_assignment
    from ..bundle import GRADESCOPE_TIMEOUT, TIMEOUT_MARGIN, BundleError, gradescope_bundle, student_bundle
    from ..checks.rubric import RubricError
    from ..data.cifar import DataError

    try:
        declared = load_assignment(assignment)
        if kind == "student":
            built = student_bundle(Path(out), declared, Path(template) if template else None)
        else:
            timeout = GRADESCOPE_TIMEOUT if timeout is None else timeout
            if timeout <= TIMEOUT_MARGIN:
                raise BundleError(f"--timeout must be more than {TIMEOUT_MARGIN} s (Gradescope's default is "
                                  f"{GRADESCOPE_TIMEOUT}), got {timeout}")
            built = gradescope_bundle(Path(out), Path(rubric_path) if rubric_path else None,
                                      Path(data_root) if data_root else None, declared, timeout)
    except (BundleError, RubricError, DataError, AssignmentError) as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"autograde: wrote {built}", file=sys.stderr)
    return EXIT_OK
