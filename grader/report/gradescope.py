"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
from __future__ import annotations

import json
import math

from .results import Report

GRADESCOPE_STATUS = {"passed": "passed", "failed": "failed", "skipped": "failed", "error": "failed"}


def to_gradescope(report: Report) -> dict:
    """The report as Gradescope's results.json object; student-visible text only, no grader internals."""
    tests = [{"name": r.title, "number": str(i), "score": round(r.score, 4), "max_score": r.max_score,
              "status": GRADESCOPE_STATUS[r.status], "output": _test_output(r), "visibility": "visible",
              "tags": [r.name, r.status]}
             for i, r in enumerate(report.results, start=1)]
    output = (f"Score {report.score:g} / {report.max_score:g}."
              + (" The autograder failed; this score is not final." if report.grader_error else ""))
    extra = {"seed": report.metadata.get("seed"), "versions": {k: v for k, v in report.metadata.items()
                                                               if k in ("grader", "python", "torch", "hypothesis")},
             "device": report.metadata.get("device"), "protections": report.protections, "flags": report.flags,
             "grader_errors": {r.name: r.details["grader_traceback"] for r in report.results
                               if "grader_traceback" in r.details} | (
                 {"grader": report.grader_error} if report.grader_error else {})}
    return {"score": round(report.score, 4), "execution_time": math.ceil(report.execution_time), "output": output,
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "extra_data": extra}


def _test_output(result) -> str:
    text = result.feedback
    if result.output.strip():
        text += "\n\nYour code printed:\n" + result.output
    return text


def dumps(report: Report) -> str:
    return json.dumps(to_gradescope(report), indent=2, allow_nan=False, default=str)
