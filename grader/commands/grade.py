"""``autograde grade`` (instructors, CI) and ``autograde check`` (students): one submission.

Exit status: 0 when grading completed (whatever the score), 2 for bad arguments or input, 1 when the grader
itself failed. A requested results file is always written: the report, a report that says why the submission
could not be graded, or a fail-closed report (score 0, a visible autograder error).
"""
from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import TextIO

# Nothing imported here imports torch: the fork server is launched first and imports it in parallel.
from ..assignment.declaration import Assignment, AssignmentError, load_assignment
from ..checks.rubric import Rubric, RubricError, outline
from ..options import GradingOptions
from ..report.failure import failed_report, not_graded_report
from ..report.formats import write_reports
from ..report.results import CheckResult, Part, Report
from ..report.terminal import render, timing_table
from ..sandbox.host import choose_sandbox
from ..sandbox.zygote import Zygote
from ..selection import InputError, prepare
from ..submission.folder import Located, SubmissionError, locate
from . import EXIT_BAD_INPUT, EXIT_GRADER_FAILED, EXIT_OK

PORTABLE_NOTICE = ("autograde: portable sandbox: this is a self-check (your code runs in its own process, with time, "
                   "memory and output limits); official grading runs with full isolation.")


def grade_main(*, submission: str, options: GradingOptions | None = None,
               outputs: dict[str, str | None] | None = None, student: bool = False,
               stream: TextIO | None = None) -> int:
    """Grade one submission as ``options`` say, print the report, write the requested ``outputs`` (format name:
    path); return the exit status. ``student``: the report says what to do next rather than listing points."""
    options = options or GradingOptions()
    outputs = outputs or {}
    sandbox = choose_sandbox(options.sandbox)
    if sandbox == "portable":
        print(PORTABLE_NOTICE, file=sys.stderr)
    try:
        declared = load_assignment(options.assignment)
    except AssignmentError as error:
        print(f"autograde: error: --assignment: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        located = locate(submission, declared)
    except SubmissionError as error:
        return _unusable_submission(submission, str(error), outputs)
    zygote = Zygote() if sandbox == "linux" else None  # imports torch while this process loads the rubric and checks
    try:
        return _grade(located, zygote, outputs, options.but(sandbox=sandbox), declared, student=student,
                      stream=stream or sys.stdout)
    finally:
        if zygote is not None:
            zygote.close()


def check_main(*, directory: str = ".", options: GradingOptions | None = None, stream: TextIO | None = None) -> int:
    """What a student runs on work in progress: the same checks, and what to do next."""
    return grade_main(submission=directory, options=options, student=True, stream=stream)


def _grade(located: Located, zygote: Zygote | None, outputs: dict[str, str | None], options: GradingOptions,
           assignment: Assignment, *, student: bool, stream: TextIO) -> int:
    rubric: Rubric | None = None
    rubric_path = options.rubric or assignment.rubric_path
    try:
        rubric, setup = prepare(options, assignment, hidden=[p for p in outputs.values() if p])
        from ..pipeline import grade  # imports torch: after the fork server was launched

        report = grade(located.folder, rubric, options=setup, zygote=zygote, progress=progress_printer(options.verbose),
                       notes=located.notes, checkpoint=(lambda partial: write_reports(partial, outputs))
                       if any(outputs.values()) else None)
    except (InputError, RubricError) as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        write_reports(not_graded_report(str(located.folder), outline(rubric_path), str(error)), outputs)
        return EXIT_BAD_INPUT
    except Exception:
        details = traceback.format_exc()
        print(f"autograde: the grader failed:\n{details}", file=sys.stderr)
        checks = [(s.name, s.title_for(assignment.display_names()), s.points) for s in rubric.checks] if rubric else \
            outline(rubric_path)
        write_reports(failed_report(str(located.folder), checks, details), outputs)
        return EXIT_GRADER_FAILED
    write_reports(report, outputs)
    print(render(report, student=student, verbose=options.verbose), file=stream)
    if options.timings:
        print(timing_table(report), file=stream)
    return EXIT_OK


def _unusable_submission(submission: str, reason: str, outputs: dict[str, str | None]) -> int:
    """Say why on stderr and, where a results file was asked for, in a report that scores 0 (for the student)."""
    print(f"autograde: error: {reason}", file=sys.stderr)
    part = Part.fail("the submission holds the assignment's modules", reason)
    write_reports(Report(submission, [CheckResult("submission", "Submission", 0.0, (part,))]), outputs)
    return EXIT_BAD_INPUT


def progress_printer(verbose: bool) -> Callable[[str], None]:
    """Where the pipeline says what it is doing: stderr with --verbose (or $AUTOGRADE_VERBOSE), else nowhere."""
    if verbose or os.environ.get("AUTOGRADE_VERBOSE"):
        return lambda text: print(f"  ... {text}", file=sys.stderr)
    return lambda text: None
