"""A Markdown summary, fit for $GITHUB_STEP_SUMMARY."""
from __future__ import annotations

from .results import Report

ICONS = {"passed": "✅", "failed": "❌", "skipped": "⏭️", "error": "⚠️"}


def dumps(report: Report) -> str:
    lines = [f"## Autograde: {report.score:g} / {report.max_score:g}", "",
             "| | Check | Score |", "|---|---|---:|"]
    lines += [f"| {ICONS[r.status]} | {r.title} | {r.score:g} / {r.max_score:g} |" for r in report.results]
    for result in report.results:
        if result.status != "passed":
            lines += ["", f"<details><summary>{ICONS[result.status]} {result.title}</summary>", "", "```text",
                      result.feedback.replace("```", "'''"), "```", "</details>"]
    if report.flags:
        lines += ["", "**Flags for the instructor:**"] + [f"- {flag}" for flag in report.flags]
    return "\n".join(lines) + "\n"
