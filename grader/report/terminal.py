"""The readable report printed to the terminal."""
from __future__ import annotations

from .results import Report

LABELS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "error": "ERROR"}


def render(report: Report, *, friendly: bool = False, show_output: bool = True) -> str:
    """Each check with points, status and feedback; ``friendly`` adds what to fix first."""
    lines = [f"Grading {report.submission}", ""]
    for result in report.results:
        lines.append(f"[{LABELS[result.status]:>5}] {result.score:5.1f} / {result.max_score:<5g} {result.title}")
        if result.status != "passed" or friendly:
            lines += ["        " + line for line in result.feedback.splitlines()]
        if show_output and result.output.strip() and result.status != "passed":
            lines += ["        Your code printed:"] + ["          " + l for l in result.output.splitlines()[:20]]
    lines += ["", f"Total: {report.score:g} / {report.max_score:g}   ({report.execution_time:.1f} s)"]
    inactive = [name for name, on in report.protections.items() if not on]
    if inactive:
        lines.append(f"Protections not active here: {', '.join(inactive)} (run as root for full isolation).")
    lines += [f"FLAG: {flag}" for flag in report.flags]
    if report.grader_error:
        lines.append("The autograder itself failed; the score above is not final.")
    if friendly:
        first = next((r for r in report.results if r.status in ("failed", "error")), None)
        lines.append(f"\nNext: fix '{first.name}' first (see its feedback above)." if first else
                     "\nEverything passes. Well done!")
    return "\n".join(lines)
