"""GitHub Classroom: the result object that classroom-resources/autograding-grading-reporter reads
(base64-encoded in a step output, ``<RUNNER>_RESULTS`` in the reporter's environment). One test per check."""
from __future__ import annotations

import json
from typing import Any

from ..outcomes import Status
from .feedback import feedback
from .results import Report

STATUS = {Status.PASSED: "pass", Status.FAILED: "fail", Status.SKIPPED: "fail", Status.ERROR: "error"}


def to_classroom(report: Report) -> dict[str, Any]:
    """``{"version": 1, "status", "max_score", "tests": [{"name", "status", "score", "max_score", "message"}]}``."""
    tests = [{"name": r.title, "status": STATUS[r.status], "score": round(r.score, 4), "max_score": r.max_score,
              "message": feedback(r), "line_no": 0, "execution_time": "", "test_code": r.name}
             for r in report.results]
    if report.grader_error:
        status = "error"
    else:
        status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 1, "status": status, "max_score": report.max_score, "tests": tests}


def dumps(report: Report) -> str:
    return json.dumps(to_classroom(report), indent=2, allow_nan=False, default=str)
