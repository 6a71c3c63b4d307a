"""``autograde grade`` (instructors, CI) and ``autograde check`` (students): one submission, graded by
:func:`grader.pipeline.grade_one`.

Exit status: 0 when grading completed (whatever the score), 2 for bad arguments or input, 1 when the grader
itself failed. A requested results file is always written: the report, a report that says why the submission
could not be graded, or a fail-closed report (score 0, a visible autograder error).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

# Nothing imported here imports torch: the pipeline forks the fork server before it does.
from ..options import GradingOptions
from ..pipeline import BAD_INPUT, GRADED, UNUSABLE, Graded, grade_one
from ..report.formats import write_reports
from ..report.results import Report
from ..report.terminal import render, timing_table
from . import EXIT_BAD_INPUT, EXIT_GRADER_FAILED, EXIT_OK

PORTABLE_NOTICE = ("autograde: portable sandbox: this is a self-check (your code runs in its own process, with time, "
                   "memory and output limits); official grading runs with full isolation.")
EXITS = {GRADED: EXIT_OK, UNUSABLE: EXIT_BAD_INPUT, BAD_INPUT: EXIT_BAD_INPUT}


def grade_main(*, submission: str, options: GradingOptions | None = None,
               outputs: Mapping[str, str | None] | None = None, student: bool = False,
               stream: TextIO | None = None) -> int:
    """Grade one submission as ``options`` say, print the report, write the requested ``outputs`` (format name:
    path); return the exit status. ``student``: the report says what to do next rather than listing points."""
    options = options or GradingOptions()
    outputs = dict(outputs or {})
    graded = grade_one(submission, options, hidden=[path for path in outputs.values() if path],
                       progress=progress_printer(options.verbose), checkpoint=_writer(outputs))
    _writer(outputs)(graded.report)
    if graded.sandbox == "portable":
        print(PORTABLE_NOTICE, file=sys.stderr)
    return _reported(graded, options, student, stream or sys.stdout)


def check_main(*, directory: str = ".", options: GradingOptions | None = None, stream: TextIO | None = None) -> int:
    """What a student runs on work in progress: the same checks, and what to do next."""
    return grade_main(submission=directory, options=options, student=True, stream=stream)


def _writer(outputs: Mapping[str, str | None]) -> Callable[[Report], None]:
    """Where the report goes: every requested file (the one place a grading's report files are written, before each
    check as it stands and once at the end)."""
    return lambda report: write_reports(report, outputs)


def _reported(graded: Graded, options: GradingOptions, student: bool, stream: TextIO) -> int:
    """Print what the grading came to; its exit status."""
    if graded.outcome != GRADED:
        print(f"autograde: {'' if graded.error.startswith('the grader failed') else 'error: '}{graded.error}",
              file=sys.stderr)
        return EXITS.get(graded.outcome, EXIT_GRADER_FAILED)
    print(render(graded.report, student=student, verbose=options.verbose), file=stream)
    if options.timings:
        print(timing_table(graded.report), file=stream)
    return EXIT_OK


def progress_printer(verbose: bool) -> Callable[[str], None]:
    """Where the pipeline says what it is doing: stderr with --verbose (or $AUTOGRADE_VERBOSE), else nowhere."""
    if verbose or os.environ.get("AUTOGRADE_VERBOSE"):
        return lambda text: print(f"  ... {text}", file=sys.stderr)
    return lambda text: None
