"""The class gradebook: one CSV row per submission, in the shape of otter-grader's final_grades.csv (the first
row holds the points possible), built from the structured results the batch keeps per submission."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, TypedDict

STATE = "state.json"
POSSIBLE = "points possible"
PARTIAL = "partial"
"""The status of a submission graded without some of its checks (the accuracy stage without data): its total is
not its grade."""


class _Answered(TypedDict):
    name: str
    status: str
    """"ok", "partial" (some points not graded: see PARTIAL), or why there is no report: "malformed upload: ...",
    "grader error: ...", "timeout: ..."."""
    report: dict[str, Any] | None
    """:meth:`grader.report.results.Report.to_dict`, or None."""


class Answer(_Answered, total=False):
    """A batch grader process's answer for one entry (one JSON line; see :mod:`grader.batch.grader_process`);
    ``seconds`` is added by the pool when the process did not say."""

    seconds: float


class EntryState(TypedDict):
    """OUT/NAME/state.json: how a submission was last graded (a rerun compares the fingerprint)."""

    fingerprint: str
    status: str
    seconds: float | None
    report: dict[str, Any]


States = dict[str, EntryState]
"""Each graded submission's state, by name."""


def load_states(out: Path) -> States:
    """Every graded submission's state in a batch output folder, by name."""
    states: States = {}
    for path in sorted(out.glob(f"*/{STATE}")):
        try:
            states[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a row that is not there is graded again
    return states


def columns(states: States, fallback: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """(check, points possible) in rubric order, from any graded report (else ``fallback``)."""
    for state in states.values():
        report = state.get("report")
        if report and report["results"] and state.get("status") in ("ok", PARTIAL):
            return [(r["name"], r["max_score"]) for r in report["results"]]
    return fallback


def gradebook_csv(states: States, checks: list[tuple[str, float]]) -> str:
    """``name, <check>..., total, percent, status``; the first row holds the points possible."""
    possible = sum(points for _, points in checks)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", *[name for name, _ in checks], "total", "percent", "status", "diagnoses"])
    writer.writerow([POSSIBLE, *[_number(points) for _, points in checks], _number(possible), 100, "", ""])
    for name, state in sorted(states.items()):
        scores = _scores(state)
        total = sum(scores.get(check, 0.0) for check, _ in checks)
        writer.writerow([name, *[_number(scores.get(check, 0.0)) for check, _ in checks], _number(total),
                         _number(100 * total / possible if possible else 0.0), state.get("status", ""),
                         " ".join(_diagnoses(state))])
    return buffer.getvalue()


def _diagnoses(state: EntryState) -> list[str]:
    """``check:id`` of every misconception named in the report, each once."""
    report = state.get("report") or {}
    return list(dict.fromkeys(f"{result['name']}:{part['details']['diagnosis']}" for result in report.get("results", [])
                              for part in result["parts"] if part.get("details", {}).get("diagnosis")))


def _scores(state: EntryState) -> dict[str, float]:
    report = state.get("report")
    if not report or report.get("grader_error"):
        return {}
    return {r["name"]: r["score"] for r in report["results"]}


def _number(value: float) -> str:
    return f"{round(value, 4):g}"
