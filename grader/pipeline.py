"""Grading one submission, the one way every command grades: ``autograde grade`` and ``check``, each submission of
``autograde batch``, ``grader.check()`` in a notebook, ``assignment verify`` and ``new``'s fitting all call
:func:`grade_one`. Its steps, in order, each a small function with one job:

    1. the assignment     what the submission is graded as (the declaration)
    2. the submission     located in what was handed in (a folder, nested one or two down, a module's file)
                          then a --rubric file or data folder that is not there: bad input, before any work
    3. the fork server    forked from this process before the rubric or the data are read (one torch)
    4. the setup          the rubric, the checks to skip, the data folder, the sandbox: selection.prepare
    5. the checks         each check of the rubric on the prepared submission: grader.checks.run
    6. the report         what happened, whatever happened: graded, unusable, bad input, or the grader's failure

Nothing here imports torch: step 3 is the first to, so a fork server forked from this process shares it. A
failure at any step is an outcome with a report (never an exception): the command writes it and picks its exit.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .assignment.declaration import Assignment, AssignmentError, load_assignment
from .checks.rubric import RubricError, outline
from .options import GradingOptions
from .report.failure import failed_report, not_graded_report
from .report.results import CheckResult, Part, Report
from .selection import InputError, prepare, refuse_missing_paths, sandbox_for
from .submission.folder import Located, SubmissionError, locate

if TYPE_CHECKING:
    from .sandbox.zygote import Zygote

GRADED, UNUSABLE, BAD_INPUT, GRADER_FAILED = "graded", "unusable", "bad input", "grader failed"


@dataclass
class Graded:
    """What grading one submission came to: the report to write, the outcome, and the error to print (if any)."""

    report: Report
    outcome: str = GRADED
    """GRADED (any score), UNUSABLE (the upload holds no submission), BAD_INPUT (the grading was asked for
    wrongly), GRADER_FAILED (the grader's own bug: a fail-closed report)."""
    error: str = ""
    sandbox: str = ""
    """The sandbox student code ran in (or would have): "linux" or "portable", chosen once, in :func:`grade_one`."""


def grade_one(submission: str | Path, options: GradingOptions, *, assignment: Assignment | None = None,
              zygote: Zygote | None = None, hidden: Iterable[str | Path] = (), notes: Iterable[str] = (),
              progress: Callable[[str], None] = lambda text: None,
              checkpoint: Callable[[Report], None] | None = None) -> Graded:
    """Grade ``submission`` as ``options`` say (``assignment``: the declaration, when the caller has loaded it;
    ``zygote``: a fork server to reuse, else one made and closed here; ``hidden``: more paths graded code must not
    read; ``notes``: for the student; ``checkpoint``: given the report as it stands before each check)."""
    options = options.but(sandbox=sandbox_for(options))
    graded = _steps(submission, options, assignment, zygote, hidden, notes, progress, checkpoint)
    graded.sandbox = options.sandbox
    return graded


def _steps(submission: str | Path, options: GradingOptions, assignment: Assignment | None, zygote: Zygote | None,
           hidden: Iterable[str | Path], notes: Iterable[str], progress: Callable[[str], None],
           checkpoint: Callable[[Report], None] | None) -> Graded:
    """Steps 1 to 6 with the sandbox chosen."""
    try:
        declared = assignment or load_assignment(options.assignment)
    except AssignmentError as error:
        return Graded(not_graded_report(str(submission), [], f"--assignment: {error}"), BAD_INPUT,
                      f"--assignment: {error}")
    located = _located(submission, declared)
    if isinstance(located, Graded):
        return located
    server, owned = (zygote, False) if zygote is not None or options.sandbox != "linux" else (None, True)
    try:
        refuse_missing_paths(options)
        if owned:
            server = fork_server()
        return _graded(located, options, declared, server, [*located.notes, *notes], hidden, progress, checkpoint)
    except InputError as error:  # told from the paths alone, before the fork server
        return _bad_input(located, options, declared, str(error))
    except Exception:
        return _failed(str(located.folder), options, declared, traceback.format_exc())
    finally:
        if owned and server is not None:
            server.close()


def _located(submission: str | Path, assignment: Assignment) -> Located | Graded:
    """Step 2: the folder to grade, or the unusable outcome saying why (a report that scores 0)."""
    try:
        return locate(submission, assignment)
    except SubmissionError as error:
        part = Part.fail("the submission holds the assignment's modules", str(error))
        return Graded(Report(str(submission), [CheckResult("submission", "Submission", 0.0, (part,))]), UNUSABLE,
                      str(error))


def fork_server() -> Zygote:
    """Step 3: the workers' fork server, forked from this process where it can be (see grader.sandbox.zygote). The
    one place grading code makes one: each batch process, verify's gradings and new's probe take theirs here."""
    from .sandbox.zygote import Zygote

    return Zygote()


def _graded(located: Located, options: GradingOptions, assignment: Assignment, server: Zygote | None,
            notes: list[str], hidden: Iterable[str | Path], progress: Callable[[str], None],
            checkpoint: Callable[[Report], None] | None) -> Graded:
    """Steps 4 and 5: the setup (bad input: not graded, saying why), then the checks."""
    try:
        rubric, setup = prepare(options, assignment, hidden=list(hidden))
    except (InputError, RubricError) as error:
        return _bad_input(located, options, assignment, str(error))
    from .checks.run import grade  # imports torch: after the fork server was made

    report = grade(located.folder, rubric, options=setup, zygote=server, progress=progress, notes=notes,
                   checkpoint=checkpoint)
    return Graded(report)


def _bad_input(located: Located, options: GradingOptions, assignment: Assignment, error: str) -> Graded:
    """The grading was asked for wrongly: nothing graded, every check of the rubric listed, and what to do next."""
    rubric_path = options.rubric or assignment.rubric_path
    return Graded(not_graded_report(str(located.folder), outline(rubric_path), error), BAD_INPUT, error)


def _failed(folder: str, options: GradingOptions, assignment: Assignment, details: str) -> Graded:
    """The grader's own failure: every check of the rubric at 0 and a visible autograder error (fail closed)."""
    try:
        checks = outline(options.rubric or assignment.rubric_path)
    except Exception:  # a rubric that cannot even be read: the error entry alone
        checks = []
    return Graded(failed_report(folder, checks, details), GRADER_FAILED, f"the grader failed:\n{details}")
