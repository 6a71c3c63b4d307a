"""A batch grader process: grades the submissions the batch sends it, one at a time, reusing one fork server.

    python -m grader.batch.worker        (started by the batch, never by hand)

Protocol, JSON lines: the first line on stdin holds the settings (see :mod:`grader.batch.runner`), each
further line a task ``{"name", "path"}``; each answer is one line ``{"name", "status", "report", "seconds"}``
on the result descriptor (the original stdout; the process's own stdout goes to stderr, so nothing else can
corrupt the answers). This process is trusted grader code: student code runs only in the forked workers.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from ..options import GradingOptions, GradingSetup
from ..report.failure import failed_report
from ..sandbox.zygote import Zygote
from ..submission.folder import SubmissionError, locate
from .entries import Entry, EntryError, unpack
from .gradebook import PARTIAL, Answer

if TYPE_CHECKING:
    from ..checks.rubric import Rubric


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (ours or a library's) go to the log, never into the answers
    settings = json.loads(sys.stdin.readline())
    options = GradingOptions.from_dict(settings["options"])
    zygote = Zygote() if options.sandbox == "linux" else None
    try:
        rubric, setup = _prepare(options, settings["hidden"])
        for line in sys.stdin:
            task = json.loads(line)
            answers.write(json.dumps(grade_entry(Entry(task["name"], Path(task["path"])), rubric, setup,
                                                 zygote)) + "\n")
    finally:
        if zygote is not None:
            zygote.close()


def _prepare(options: GradingOptions, hidden: list[str]) -> tuple[Rubric, GradingSetup]:
    """The rubric and setup every submission of this process is graded with (the batch validated them first)."""
    from ..assignment.declaration import load_assignment
    from ..selection import prepare

    return prepare(options, load_assignment(options.assignment), hidden=hidden)


def grade_entry(entry: Entry, rubric: Rubric, options: GradingSetup, zygote: Zygote | None) -> Answer:
    """One entry's answer: status "ok" with its report ("partial" when some of its points were not graded, e.g.
    the accuracy stage without data), or why it could not be graded (and a zero report)."""
    from ..pipeline import grade

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograde-entry-") as workdir:
        try:
            located = locate(unpack(entry, Path(workdir) / "unpacked"), options.assignment)
            report = grade(located.folder, rubric, options=options, zygote=zygote, notes=located.notes)
            report.submission = entry.name
            status = "ok" if report.final else PARTIAL
        except (EntryError, SubmissionError) as error:
            report, status = None, f"malformed upload: {error}"
        except Exception:
            details = traceback.format_exc()
            print(f"grading {entry.name} failed:\n{details}", file=sys.stderr)
            checks = [(s.name, s.title_for(options.assignment.display_names()), s.points) for s in rubric.checks]
            report, status = failed_report(entry.name, checks, details), "grader error: see the log"
    return {"name": entry.name, "status": status, "report": report.to_dict() if report else None,
            "seconds": time.monotonic() - started}


if __name__ == "__main__":
    main()
