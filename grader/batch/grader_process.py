"""A batch grader process: grades the submissions the batch sends it, one at a time, reusing one fork server.

    python -m grader.batch.grader_process        (started by the batch, never by hand)

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
from pathlib import Path
from typing import TYPE_CHECKING

from ..assignment.declaration import Assignment, load_assignment
from ..options import GradingOptions
from ..pipeline import GRADED, GRADER_FAILED, UNUSABLE, fork_server, grade_one
from .entries import Entry, EntryError, unpack
from .gradebook import PARTIAL, Answer

if TYPE_CHECKING:
    from ..sandbox.zygote import Zygote


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (ours or a library's) go to the log, never into the answers
    settings = json.loads(sys.stdin.readline())
    options = GradingOptions.from_dict(settings["options"])
    assignment = load_assignment(options.assignment)
    zygote = fork_server() if options.sandbox == "linux" else None
    try:
        for line in sys.stdin:
            task = json.loads(line)
            answers.write(json.dumps(grade_entry(Entry(task["name"], Path(task["path"])), options, assignment,
                                                 settings["hidden"], zygote)) + "\n")
    finally:
        if zygote is not None:
            zygote.close()


def grade_entry(entry: Entry, options: GradingOptions, assignment: Assignment, hidden: list[str],
                zygote: Zygote | None) -> Answer:
    """One entry's answer: status "ok" with its report ("partial" when some of its points were not graded, e.g.
    the accuracy stage without data), or why it could not be graded (and a zero report)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograde-entry-") as workdir:
        try:
            folder = unpack(entry, Path(workdir) / "unpacked")
        except EntryError as error:
            return {"name": entry.name, "status": f"malformed upload: {error}", "report": None,
                    "seconds": time.monotonic() - started}
        graded = grade_one(folder, options, assignment=assignment, zygote=zygote, hidden=hidden)
    graded.report.submission = entry.name
    if graded.outcome == GRADER_FAILED:
        print(f"grading {entry.name} failed:\n{graded.error}", file=sys.stderr)
    status = {GRADED: "ok" if graded.report.final else PARTIAL, UNUSABLE: f"malformed upload: {graded.error}"}.get(
        graded.outcome, "grader error: see the log")
    return {"name": entry.name, "status": status,
            "report": graded.report.to_dict() if graded.outcome != UNUSABLE else None,
            "seconds": time.monotonic() - started}


if __name__ == "__main__":
    main()
