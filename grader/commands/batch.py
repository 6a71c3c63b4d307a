"""``autograde batch`` (grade a class, resumable, shardable) and ``autograde merge`` (combine shard outputs).

OUT/NAME/ holds each submission's results.json, report.md, report.txt and state.json; OUT/grades.csv is the
gradebook; OUT/summary.md and OUT/summary.png say what the class did. A crash, timeout or malformed upload is
a row of zeros with the reason, and the batch goes on (exit status 0).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..assignment.declaration import Assignment, AssignmentError, load_assignment, resolve
from ..batch import gradebook, summary
from ..batch.class_page import class_html
from ..batch.entries import Entry, content_digest, fingerprint, grader_digest, in_shard, list_entries, parse_shard
from ..batch.runner import GraderPool
from ..checks.diagnosis.catalogue import CATALOGUE
from ..checks.rubric import RubricError, outline, rubric_budget
from ..options import GradingOptions
from ..report.formats import write_reports
from ..report.leaderboard import leaderboard_csv
from ..report.results import CheckResult, Part, Report, points
from ..report.write import write_atomic
from ..selection import InputError, data_folder, prepare, sandbox_for
from . import EXIT_BAD_INPUT, EXIT_OK

ENTRY_FILES = {"json": "results.json", "markdown": "report.md", "text": "report.txt", "html": "report.html"}
RETRIED = ("grader error", "timeout")
"""Statuses graded again by a rerun even when nothing changed (the grader's trouble, not the submission's)."""


def batch_main(*, submissions: str, out: str, options: GradingOptions | None = None, workers: int | None = None,
               students: tuple[str, ...] = (), force: bool = False, shard: str | None = None,
               stream: TextIO | None = None) -> int:
    """Grade, as ``options`` say, every submission in ``submissions`` that is new or changed (``force``: all;
    ``students``: these, changed or not); write the gradebook and the summary; return the exit status."""
    stream, options = stream or sys.stderr, options or GradingOptions()
    try:
        declared = load_assignment(options.assignment)
        options = _resolved(options, declared)
        entries = _selected(Path(submissions), shard, students)
        settings = _settings(options, submissions, out)
    except (InputError, AssignmentError) as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    target = Path(out).resolve()
    started = time.monotonic()
    todo = _to_grade(entries.graded, gradebook.load_states(target), settings, force or bool(students))
    if todo:
        try:
            validate_grading(settings, declared)
        except (InputError, RubricError) as error:
            print(f"autograde: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    target.mkdir(parents=True, exist_ok=True)
    rubric_path = options.rubric or str(declared.rubric_path)
    if todo:
        _grade(todo, settings, target, workers or default_workers(), rubric_budget(rubric_path), stream)
    states = {name: state for name, state in gradebook.load_states(target).items() if name in entries.names}
    _write_class_files(target, states, rubric_path)
    print(f"autograde: {len(todo)} graded, {len(entries.graded) - len(todo)} up to date, "
          f"{len(states)} in {target / 'grades.csv'} ({time.monotonic() - started:.1f} s)", file=stream)
    partial = sum(state.get("status") == gradebook.PARTIAL for state in states.values())
    if partial:
        print(f"autograde: {partial} submission(s) are {gradebook.PARTIAL!r} in grades.csv: some checks were not "
              "graded (the accuracy stage needs the data: pass --data-root DIR or --download). Their totals are not "
              "grades.", file=stream)
    return EXIT_OK


def merge_main(*, outputs: list[str], out: str, rubric_path: str | None = None, assignment: str | None = None) -> int:
    """Combine the outputs of several shards into one batch output (submission folders, gradebook, summary)."""
    try:
        rubric_path = rubric_path or str(load_assignment(assignment).rubric_path)
    except AssignmentError as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    target = Path(out).resolve()
    states: gradebook.States = {}
    for source in map(Path, outputs):
        if not (source / "grades.csv").is_file():
            print(f"autograde: error: {source} is not a batch output (no grades.csv)", file=sys.stderr)
            return EXIT_BAD_INPUT
        for name, state in gradebook.load_states(source).items():
            if name in states and states[name]["fingerprint"] != state["fingerprint"]:
                print(f"autograde: error: {name!r} was graded differently in two shards", file=sys.stderr)
                return EXIT_BAD_INPUT
            states[name] = state
            if source.resolve() != target:
                shutil.copytree(source / name, target / name, dirs_exist_ok=True)
    _write_class_files(target, states, rubric_path)
    print(f"autograde: merged {len(states)} submissions into {target / 'grades.csv'}", file=sys.stderr)
    return EXIT_OK


def validate_grading(settings: dict[str, Any], assignment: Assignment) -> None:
    """What every grader process will do with these settings, done once here, before any of them starts: the
    rubric loads, the checks named by --checks and --skip exist, the device is there (RubricError or InputError,
    as ``grade`` says them). Imports torch (the check registry), so it runs only when something is to be graded."""
    prepare(GradingOptions.from_dict(settings["options"]), assignment)


def default_workers() -> int:
    """Parallel grader processes: one per core, at most 8 (on a GPU runner they share the device)."""
    return max(1, min(os.cpu_count() or 1, 8))


# ---------------------------------------------------------------- steps

@dataclass(frozen=True)
class Selected:
    """The entries of a batch: the names of all (of this shard), and those to grade."""

    names: set[str]
    graded: list[Entry]


def _selected(folder: Path, shard: str | None, students: tuple[str, ...]) -> Selected:
    if not folder.is_dir():
        raise InputError(f"submissions folder {str(folder)!r} does not exist. Pass the folder that holds one "
                         "folder or .zip per student.")
    entries = list_entries(folder)
    if shard:
        try:
            index, count = parse_shard(shard)
        except ValueError as error:
            raise InputError(str(error)) from None
        entries = [entry for entry in entries if in_shard(entry.name, index, count)]
    names = {entry.name for entry in entries}
    unknown = sorted(set(students) - names)
    if unknown:
        raise InputError(f"--only names no submission of {'this shard of ' if shard else ''}{str(folder)!r}: "
                         f"{', '.join(unknown)}")
    return Selected(names, [e for e in entries if not students or e.name in students])


def _resolved(options: GradingOptions, assignment: Assignment) -> GradingOptions:
    """The options every grader process gets: the rubric file and the data folder found (absolute paths; with
    --download fetched here, once), the sandbox chosen, the assignment named by its file. InputError when the rubric
    or the data folder is missing."""
    rubric = Path(options.rubric or assignment.rubric_path)
    if not rubric.is_file():
        raise InputError(f"rubric file {str(rubric)!r} does not exist (omit --rubric for the default)")
    data = data_folder(options)
    return options.but(rubric=str(rubric.resolve()), data_root=str(data) if data else None, download=False,
                       sandbox=sandbox_for(options), assignment=str(resolve(options.assignment)))


def _settings(options: GradingOptions, submissions: str, out: str) -> dict[str, Any]:
    """What the batch's grader processes receive: the options, the paths graded code must not read, and the
    digests a rerun compares (a changed rubric, data set or assignment regrades)."""
    hidden = [str(Path(p).resolve()) for p in (submissions, out)]
    return {"options": options.to_dict(), "hidden": hidden, "rubric_digest": content_digest(Path(str(options.rubric))),
            "data_digest": _data_identity(options.data_root),
            "assignment_digest": content_digest(Path(str(options.assignment)))}


def _data_identity(data: str | None) -> str | None:
    """The data's checksum list when it has one (a changed data set regrades), else its path."""
    sums = Path(data) / "SHA256SUMS" if data else None
    return content_digest(sums) if sums and sums.is_file() else data


GRADING_OPTIONS = ("seed", "checks", "skip", "skip_accuracy", "device")
GRADING_DIGESTS = ("rubric_digest", "data_digest", "assignment_digest")
"""What a grade depends on (paths are not among them: moving a folder regrades nothing)."""


def _to_grade(entries: list[Entry], states: gradebook.States, settings: dict[str, Any],
              force: bool) -> list[tuple[Entry, str]]:
    version = grader_digest()
    relevant = {**{key: settings["options"][key] for key in GRADING_OPTIONS},
                **{key: settings[key] for key in GRADING_DIGESTS}}
    todo = []
    for entry in entries:
        stamp = fingerprint(content_digest(entry.path), relevant, version)
        state = states.get(entry.name)
        up_to_date = state and state.get("fingerprint") == stamp and not state["status"].startswith(RETRIED)
        if force or not up_to_date:
            todo.append((entry, stamp))
    return todo


def _grade(todo: list[tuple[Entry, str]], settings: dict[str, Any], target: Path, workers: int, limit_seconds: float,
           stream: TextIO) -> None:
    stamps = {entry.name: stamp for entry, stamp in todo}
    with Progress(len(todo), stream) as progress, GraderPool(settings, workers, target / "batch.log") as pool:
        def on_answer(entry: Entry, answer: gradebook.Answer) -> None:
            _write_entry(target / entry.name, entry.name, answer, stamps[entry.name])
            progress(entry.name, answer)

        pool.grade([entry for entry, _ in todo], limit_seconds, on_answer)


def _write_entry(folder: Path, name: str, answer: gradebook.Answer, stamp: str) -> None:
    """The submission's report files and its state (written last: a row is recorded only when complete)."""
    graded = answer["report"]
    report = Report.from_dict(graded) if graded else _zero_report(name, answer["status"])
    write_reports(report, {kind: folder / filename for kind, filename in ENTRY_FILES.items()})
    state: gradebook.EntryState = {"fingerprint": stamp, "status": answer["status"], "seconds": answer.get("seconds"),
                                   "report": report.to_dict()}
    write_atomic(folder / gradebook.STATE, json.dumps(state))


def _zero_report(name: str, reason: str) -> Report:
    part = Part.fail("the submission could be graded", reason)
    return Report(name, [CheckResult("submission", "Submission", 0.0, (part,))])


def _write_class_files(target: Path, states: gradebook.States, rubric_path: str | None) -> None:
    checks = gradebook.columns(states, [(name, points) for name, _, points in outline(rubric_path)])
    write_atomic(target / "grades.csv", gradebook.gradebook_csv(states, checks))
    totals, per_check = summary.summarise(states, checks)
    possible = sum(points for _, points in checks)
    statuses = Counter(state.get("status", "?").split(":")[0] for state in states.values())
    sentences = {m.id: m.sentence for m in CATALOGUE}
    named = summary.misconceptions(states)
    table = summary.misconception_table(named, sentences)
    write_atomic(target / "summary.md", summary.markdown(totals, per_check, possible, statuses, table))
    summary.plot(target / "summary.png", totals, per_check, possible)
    write_atomic(target / "summary.html", class_html(states, totals, per_check, possible, statuses, named, sentences,
                                                     target / "summary.png"))
    board = leaderboard_csv({name: Report.from_dict(state["report"]) for name, state in states.items()
                             if state.get("report")})
    if board:
        write_atomic(target / "leaderboard.csv", board)


class Progress:
    """A progress bar with count, rate and ETA on a terminal (tqdm); plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO):
        self.total, self.stream, self.done = total, stream, 0
        self.bar: Any = None

    def __enter__(self) -> Progress:
        if hasattr(self.stream, "isatty") and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="submission", file=self.stream)
        return self

    def __call__(self, name: str, answer: gradebook.Answer) -> None:
        self.done += 1
        report = answer.get("report")
        score = f"{points(report['score'])}/{points(report['max_score'])}" if report else "0"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name}: {score}")
            self.bar.update(1)
        else:
            print(f"[{self.done}/{self.total}] {name}: {score} {answer['status']} ({answer.get('seconds', 0):.1f} s)",
                  file=self.stream, flush=True)

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
