"""The reports written when nothing could be graded: the fail-closed one, when the grader itself failed (every check
at 0, a visible autograder error, the traceback for the instructor), and the not-graded one, when the grading was
asked for wrongly. Need nothing but the standard library (written even when torch is broken)."""
from __future__ import annotations

from typing import Any

from .results import CheckResult, Report

GRADER_ERROR_CHECK = ("autograder_error", "Autograder error")


def not_graded_report(submission: str, checks: list[tuple[str, str, float]], reason: str) -> Report:
    """Score 0, not final: nothing was graded because the grading was asked for wrongly (bad input, exit 2); each
    of ``checks`` (name, title, points) says so and why, with no word of a grader failure."""
    results = [CheckResult(name, title, points, skipped=f"not graded: {reason}", not_graded=True)
               for name, title, points in checks]
    return Report(submission, results, notes=[f"Nothing was graded: {reason}"])


def failed_report(submission: str, checks: list[tuple[str, str, float]], error: str,
                  metadata: dict[str, Any] | None = None) -> Report:
    """Score 0: each of ``checks`` (name, title, points) in error, and one more visible "Autograder error" entry."""
    results = [CheckResult(name, title, points, error="see the grader's error") for name, title, points in checks]
    results.append(CheckResult(*GRADER_ERROR_CHECK, 0.0, error=error))
    return Report(submission, results, grader_error=error, metadata=metadata or {})
