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
from typing import Any

from ..report.failure import failed_report
from ..sandbox.zygote import Zygote
from ..submission import SubmissionError, locate
from .entries import Entry, EntryError, unpack


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (ours or a library's) go to the log, never into the answers
    settings = json.loads(sys.stdin.readline())
    zygote = Zygote() if settings.get("sandbox", "linux") == "linux" else None
    try:
        rubric, options = _prepare(settings)
        for line in sys.stdin:
            task = json.loads(line)
            answers.write(json.dumps(grade_entry(Entry(task["name"], Path(task["path"])), rubric, options,
                                                 zygote)) + "\n")
    finally:
        if zygote is not None:
            zygote.close()


def _prepare(settings: dict[str, Any]):
    from ..assignment import load_assignment
    from ..commands.grade import select_checks, skipped_checks
    from ..pipeline import Options
    from ..rubric import load_rubric

    assignment = load_assignment(settings.get("assignment"))
    rubric = select_checks(load_rubric(settings["rubric"] or assignment.rubric_path), seed=settings["seed"],
                           only=tuple(settings["checks"]))
    skipped = skipped_checks(rubric, skip=tuple(settings["skip"]), skip_accuracy=settings["skip_accuracy"])
    data_root = Path(settings["data_root"]) if settings["data_root"] else None
    return rubric, Options(device=settings["device"], data_root=data_root, skipped=skipped,
                           hidden=tuple(settings["hidden"]), cache_dir=None, assignment=assignment,
                           sandbox=settings.get("sandbox", "linux"))


def grade_entry(entry: Entry, rubric, options, zygote: Zygote | None) -> dict[str, Any]:
    """One entry's answer: status "ok" with its report, or why it could not be graded (and a zero report)."""
    from ..pipeline import grade

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autograde-entry-") as workdir:
        try:
            located = locate(unpack(entry, Path(workdir) / "unpacked"), options.assignment)
            report = grade(located.folder, rubric, options=options, zygote=zygote, notes=located.notes)
            report.submission = entry.name
            status = "ok"
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
