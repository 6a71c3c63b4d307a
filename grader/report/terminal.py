"""The readable report printed to the terminal."""
from __future__ import annotations

from ..kinds import Status
from .feedback import feedback, short
from .results import Report

LABELS = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.SKIPPED: "SKIP", Status.ERROR: "ERROR"}
PRINTED_LINES = 20


def render(report: Report, *, student: bool = False, verbose: bool = False) -> str:
    """Each check with points, status and feedback.

    Feedback is shown for checks that did not pass (for every check with ``verbose``). ``student``
    (``autograde check``): one line for a check not implemented yet (unless ``verbose``), and what to do next.
    """
    assignment = report.metadata.get("assignment")
    header = f"Grading {report.submission}" + (f" as assignment {assignment!r}" if assignment else "")
    lines = [header, *[f"  {note}" for note in report.notes], ""]
    for result in report.results:
        lines.append(f"[{LABELS[result.status]:>5}] {result.score:5.1f} / {result.max_score:<5g} {result.title}")
        if result.status is not Status.PASSED or verbose:
            text = short(result) if student and not verbose else feedback(result)
            lines += ["        " + line for line in text.splitlines()]
        if result.output.strip() and result.status is not Status.PASSED and not result.not_implemented:
            lines += ["        Your code printed:"] + ["          " + line
                                                        for line in result.output.splitlines()[:PRINTED_LINES]]
    lines += ["", f"Total: {report.score:g} / {report.max_score:g}   ({report.execution_time:.1f} s)"]
    inactive = [name for name, on in report.protections.items() if not on]
    if inactive:
        lines.append(f"Protections not active here: {', '.join(inactive)}.")
    if report.protections and not report.protections.get("solution_hidden"):
        lines.append("Secrecy is not enforced here: graded code could read the reference solution if it is on this "
                     "machine (run as root on Linux for full isolation).")
    lines += [f"FLAG: {flag}" for flag in report.flags]
    if report.grader_error:
        lines.append("The autograder itself failed; the score above is not final.")
    if student:
        lines.append(_next_step(report))
    return "\n".join(lines)


def _next_step(report: Report) -> str:
    failing = [r for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    first = next((r for r in failing if r.max_score > 0), None)
    if first is None and failing:
        return (f"\nEverything that earns points passes. (Feedback only: {', '.join(repr(r.name) for r in failing)}.)")
    if first is None:
        return "\nEverything passes. Well done!"
    if first.not_implemented:
        return f"\nNext: implement {', '.join(first.not_implemented)} (check '{first.name}')."
    return f"\nNext: fix '{first.name}' first (see its feedback above)."


def dumps(report: Report) -> str:
    """The instructor's view as a file (``--text``)."""
    return render(report) + "\n"
