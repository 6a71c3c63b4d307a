"""The output formats: one table drives both the command-line flags and the writing of report files."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import classroom, gradescope, html, junit, markdown, terminal
from .results import Report
from .write import write_atomic


@dataclass(frozen=True)
class Format:
    name: str
    """Its command-line flag is ``--NAME PATH``."""
    help: str
    render: Callable[[Report], str]


FORMATS = (
    Format("json", "Gradescope results.json (on Gradescope: /autograder/results/results.json)", gradescope.dumps),
    Format("junit", "JUnit XML, one testcase per part (GitHub Actions test reporters, GitLab)", junit.dumps),
    Format("markdown", "Markdown summary (e.g. $GITHUB_STEP_SUMMARY)", markdown.dumps),
    Format("classroom", "GitHub Classroom result for autograding-grading-reporter", classroom.dumps),
    Format("text", "the terminal report, as a file", terminal.dumps),
    Format("html", "a self-contained HTML page of the report (opens in any browser)", html.dumps),
)
BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def write_reports(report: Report, destinations: Mapping[str, str | Path | None]) -> None:
    """Write ``report`` in each format named in ``destinations`` (format name -> path; None: not wanted)."""
    for name, path in destinations.items():
        if path:
            write_atomic(path, BY_NAME[name].render(report))
