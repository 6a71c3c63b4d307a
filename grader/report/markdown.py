"""A Markdown summary, fit for $GITHUB_STEP_SUMMARY."""
from __future__ import annotations

from ..outcomes import Status
from .feedback import feedback
from .results import Report, points

ICONS = {Status.PASSED: "✅", Status.FAILED: "❌", Status.SKIPPED: "⏭️", Status.ERROR: "⚠️"}


def dumps(report: Report) -> str:
    assignment = report.metadata.get("assignment")
    lines = [f"## Autograde: {points(report.score)} / {points(report.max_score)}"
             + (f" (assignment {assignment})" if assignment and assignment != "default" else ""), "",
             *([f"**{report.not_final_reason()}**", ""] if not report.final else []),
             *[f"> {note}" for note in report.notes],
             "| | Check | Score |", "|---|---|---:|"]
    lines += [f"| {ICONS[r.status]} | {r.title} | {points(r.score)} / {points(r.max_score)} |" for r in report.results]
    for result in report.results:
        if result.status is not Status.PASSED:
            lines += ["", f"<details><summary>{ICONS[result.status]} {result.title}</summary>", "", "```text",
                      feedback(result).replace("```", "'''"), "```", "</details>"]
    if report.flags:
        lines += ["", "**Flags for the instructor:**"] + [f"- {flag}" for flag in report.flags]
    return "\n".join(lines) + "\n"
