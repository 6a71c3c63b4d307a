"""The readable report printed to the terminal."""
from __future__ import annotations

from ..outcomes import Status
from .feedback import feedback, short
from .printed import excerpt
from .results import Report, points

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
        lines.append(f"[{LABELS[result.status]:>5}] {points(result.score):>5} / {points(result.max_score):<5} "
                     f"{result.title}")
        if result.status is not Status.PASSED or verbose:
            text = short(result) if student and not verbose else feedback(result)
            lines += ["        " + line for line in text.splitlines()]
        if result.output.strip() and result.status is not Status.PASSED and not result.not_implemented:
            lines += ["        Your code printed:"] + ["          " + line
                                                        for line in excerpt(result.output, PRINTED_LINES)]
    lines += ["", f"Total: {points(report.score)} / {points(report.max_score)}   ({report.execution_time:.1f} s)"]
    inactive = [name for name, on in report.protections.items() if not on]
    if inactive:
        lines.append(f"Protections not active here: {', '.join(inactive)}.")
    if report.protections and not report.protections.get("solution_hidden"):
        lines.append("Secrecy is not enforced here: graded code could read the reference solution if it is on this "
                     "machine (run as root on Linux for full isolation).")
    lines += [f"FLAG: {flag}" for flag in report.flags]
    if not report.final:
        lines.append(report.not_final_reason())
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


def timing_table(report: Report) -> str:
    """Where the grading's time went: a row for starting the worker and importing the submission, one per check
    (wall seconds, CPU seconds of the grader and of the workers, calls to student code, sandbox round trips), and
    the total of the rows beside the grading's own time."""
    rows: list[tuple[str, float, float | None, float | None, float | None, float | None]] = [
        ("start: worker, imports", report.metadata.get("startup_seconds", 0.0), None, None, None, None)]
    rows += [(r.name, r.timing.get("wall", 0.0), r.timing.get("grader_cpu"), r.timing.get("worker_cpu"),
              r.timing.get("calls"), r.timing.get("round_trips")) for r in report.results]
    lines = ["", f"{'step':<28} {'wall s':>8} {'grader cpu':>11} {'worker cpu':>11} {'calls':>6} {'trips':>6}"]
    for name, wall, grader, worker, calls, trips in rows:
        lines.append(f"{name:<28} {wall:8.3f} {_cell(grader, '11.3f')} {_cell(worker, '11.3f')} {_cell(calls, '6d')} "
                     f"{_cell(trips, '6d')}")
    total = sum(row[1] for row in rows)
    lines.append(f"{'sum of the rows':<28} {total:8.3f}   (the grading took {report.execution_time:.3f} s)")
    return "\n".join(lines)


def _cell(value: float | None, spec: str) -> str:
    width = int(spec.split(".")[0].rstrip("df"))
    return " " * width if value is None else format(int(value) if spec.endswith("d") else value, spec)


def dumps(report: Report) -> str:
    """The instructor's view as a file (``--text``)."""
    return render(report) + "\n"
