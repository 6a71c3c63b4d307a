"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
from __future__ import annotations

import json
import math
from typing import Any

from ..outcomes import Status
from .feedback import feedback
from .printed import excerpt
from .results import CheckResult, Report, ids_in, points

PRINTED_LINES = 60
"""Lines of what the student's code printed shown under a test (its first and last half)."""
GRADESCOPE_STATUS = {Status.PASSED: "passed", Status.FAILED: "failed", Status.SKIPPED: "failed",
                     Status.ERROR: "failed"}


def to_gradescope(report: Report) -> dict[str, Any]:
    """The report as Gradescope's results.json object; student-visible text only, no grader internals."""
    tests = [{"name": r.title, "number": str(i), "score": round(r.score, 4), "max_score": r.max_score,
              "status": GRADESCOPE_STATUS[r.status], "output": _test_output(r), "visibility": r.visibility,
              "tags": [r.name, r.status.value], "extra_data": {"diagnoses": ids_in(r.parts)}}
             for i, r in enumerate(report.results, start=1)]
    assignment = report.metadata.get("assignment")
    output = "\n".join([f"Score {points(report.score)} / {points(report.max_score)}"
                        + (f" (assignment {assignment!r})." if assignment else ".")
                        + (f" {report.not_final_reason()}" if not report.final else ""),
                        *report.notes])
    results = {"score": round(report.score, 4), "execution_time": math.ceil(report.execution_time), "output": output,
               "output_format": "text", "visibility": report.metadata.get("visibility", "visible"),
               "stdout_visibility": report.metadata.get("stdout_visibility", "hidden"), "tests": tests,
               "extra_data": instructor_data(report)}
    if report.leaderboard:
        results["leaderboard"] = [{"name": e["name"], "value": e["value"], "order": e["order"]}
                                  for e in report.leaderboard]
    return results


def instructor_data(report: Report) -> dict[str, Any]:
    """What only instructors see: seed, versions, device, protections, flags and grader tracebacks."""
    versions = {k: v for k, v in report.metadata.items() if k in ("grader", "python", "torch", "hypothesis")}
    errors = {r.name: r.error for r in report.results if r.error}
    if report.grader_error:
        errors["grader"] = report.grader_error
    return {"seed": report.metadata.get("seed"), "assignment": report.metadata.get("assignment"),
            "versions": versions, "device": report.metadata.get("device"),
            "protections": report.protections, "flags": report.flags, "grader_errors": errors,
            "budget_use": report.metadata.get("budget_use", {}), "fork_server": report.metadata.get("fork_server")}


def _test_output(result: CheckResult) -> str:
    text = feedback(result)
    if result.output.strip():
        text += "\n\nYour code printed:\n" + "\n".join(excerpt(result.output, PRINTED_LINES))
    return text


def dumps(report: Report) -> str:
    return json.dumps(to_gradescope(report), indent=2, allow_nan=False, default=str)
