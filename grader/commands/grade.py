"""``autograde grade`` (instructors, CI) and ``autograde check`` (students): one submission.

Exit status: 0 when grading completed (whatever the score), 2 for bad arguments or input, 1 when the grader
itself failed. A requested results file is always written: the report, a report that says why the submission
could not be graded, or a fail-closed report (score 0, a visible autograder error).
"""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

# Nothing imported here imports torch: the fork server is launched first and imports it in parallel.
from ..assignment import AssignmentError, load_assignment
from ..report.failure import failed_report
from ..report.formats import write_reports
from ..report.results import CheckResult, Part, Report
from ..report.terminal import render
from ..rubric import RubricError, load_rubric, outline
from ..sandbox.host import choose_sandbox
from ..sandbox.zygote import Zygote
from ..submission import SubmissionError, locate
from . import EXIT_BAD_INPUT, EXIT_GRADER_FAILED, EXIT_OK, InputError

PORTABLE_NOTICE = ("autograde: portable sandbox: this is a self-check (your code runs in its own process, with time, "
                   "memory and output limits); official grading runs with full isolation.")


def grade_main(*, submission: str, outputs: dict[str, str | None] | None = None, device: str = "auto",
               data_root: str | None = None, seed: int | None = None, rubric_path: str | None = None,
               only: tuple[str, ...] = (), skip: tuple[str, ...] = (), skip_accuracy: bool = False,
               student: bool = False, verbose: bool = False, assignment: str | None = None, sandbox: str = "auto",
               download: bool = False, stream=None) -> int:
    """Grade one submission, print the report, write the requested files; return the exit status."""
    outputs = outputs or {}
    sandbox = choose_sandbox(sandbox)
    if sandbox == "portable":
        print(PORTABLE_NOTICE, file=sys.stderr)
    try:
        declared = load_assignment(assignment)
    except AssignmentError as error:
        print(f"autograde: error: --assignment: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        located = locate(submission, declared)
    except SubmissionError as error:
        return _unusable_submission(submission, str(error), outputs)
    zygote = Zygote() if sandbox == "linux" else None  # imports torch while this process loads the rubric and checks
    try:
        return _grade(located, zygote, outputs, device=device, data_root=data_root, seed=seed,
                      rubric_path=rubric_path, only=only, skip=skip, skip_accuracy=skip_accuracy, student=student,
                      verbose=verbose, assignment=declared, sandbox=sandbox, download=download,
                      stream=stream or sys.stdout)
    finally:
        if zygote is not None:
            zygote.close()


def check_main(*, directory: str = ".", device: str = "auto", data_root: str | None = None,
               skip_accuracy: bool = False, only: tuple[str, ...] = (), verbose: bool = False,
               assignment: str | None = None, sandbox: str = "auto", download: bool = False, stream=None) -> int:
    """What a student runs on work in progress: the same checks, and what to do next."""
    return grade_main(submission=directory, device=device, data_root=data_root, skip_accuracy=skip_accuracy,
                      only=only, student=True, verbose=verbose, assignment=assignment, sandbox=sandbox,
                      download=download, stream=stream)


def _grade(located, zygote: Zygote | None, outputs: dict[str, Any], *, device, data_root, seed, rubric_path, only, skip,
           skip_accuracy, student, verbose, assignment, sandbox, download, stream) -> int:
    rubric = None
    try:
        rubric = select_checks(load_rubric(rubric_path or assignment.rubric_path), seed=seed, only=only)
        skipped = skipped_checks(rubric, skip=skip, skip_accuracy=skip_accuracy)
        root = data_folder(data_root, download)
        check_device(device)
        from ..pipeline import Options, grade  # imports torch: after the fork server was launched

        options = Options(device=device, data_root=root, skipped=skipped,
                          hidden=hidden_paths(outputs, rubric_path, root), assignment=assignment, sandbox=sandbox)
        report = grade(located.folder, rubric, options=options, zygote=zygote, progress=progress_printer(verbose),
                       notes=located.notes)
    except (InputError, RubricError) as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        checks = outline(rubric_path or assignment.rubric_path)
        write_reports(failed_report(str(located.folder), checks, f"the grading was misconfigured: {error}"), outputs)
        return EXIT_BAD_INPUT
    except Exception:
        details = traceback.format_exc()
        print(f"autograde: the grader failed:\n{details}", file=sys.stderr)
        checks = [(s.name, s.title_for(assignment.display_names()), s.points) for s in rubric.checks] if rubric else \
            outline(rubric_path or assignment.rubric_path)
        write_reports(failed_report(str(located.folder), checks, details), outputs)
        return EXIT_GRADER_FAILED
    write_reports(report, outputs)
    print(render(report, student=student, verbose=verbose), file=stream)
    return EXIT_OK


def _unusable_submission(submission: str, reason: str, outputs: dict[str, Any]) -> int:
    """Say why on stderr and, where a results file was asked for, in a report that scores 0 (for the student)."""
    print(f"autograde: error: {reason}", file=sys.stderr)
    part = Part.fail("the submission holds the assignment's modules", reason)
    write_reports(Report(submission, [CheckResult("submission", "Submission", 0.0, (part,))]), outputs)
    return EXIT_BAD_INPUT


def select_checks(rubric, *, seed: int | None, only: tuple[str, ...]):
    """The rubric restricted to ``only`` (all checks when empty), with ``seed`` when given."""
    if seed is not None:
        import dataclasses

        rubric = dataclasses.replace(rubric, seed=seed)
    return rubric.only(*only) if only else rubric


def skipped_checks(rubric, *, skip: tuple[str, ...], skip_accuracy: bool) -> dict[str, str]:
    """The checks to show as skipped, each with the reason."""
    if skip:
        rubric.only(*skip)  # validates the names
    reasons = {name: "--skip was given (0 points)." for name in skip}
    if skip_accuracy:
        reasons.update({spec.name: "--skip-accuracy was given (0 points for this stage)." for spec in rubric.checks
                        if spec.check.needs_data})
    return reasons


def data_folder(data_root: str | None, download: bool = False) -> Path | None:
    """The data folder from --data-root or $CIFAR_ROOT, or CIFAR-10 downloaded into the user's cache (now, with
    ``download``, or earlier); None when there is none. InputError when a given folder is missing."""
    from ..data import ENV_DATA_ROOT, resolve_data_root
    from ..data import download as fetch

    if download and not data_root and not os.environ.get(ENV_DATA_ROOT):
        try:
            return fetch()
        except (OSError, RuntimeError) as error:
            raise InputError(f"--download could not fetch CIFAR-10 ({error}); pass --data-root DIR instead.") from None
    root = resolve_data_root(data_root)
    if root is not None and not root.is_dir():
        source = "--data-root" if data_root else f"${ENV_DATA_ROOT}"
        raise InputError(f"{source} points at {str(root)!r}, which does not exist.")
    return root


def check_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was given but no CUDA device is available; use --device cpu or auto.")


def hidden_paths(outputs: dict[str, Any], rubric_path: str | None, data_root: Path | None) -> tuple[str, ...]:
    """What graded code must never read: the results files, the rubric, the data."""
    paths = [str(Path(p).resolve()) for p in outputs.values() if p]
    paths += [str(Path(rubric_path).resolve())] if rubric_path else []
    paths += [str(data_root)] if data_root else []
    return tuple(paths)


def progress_printer(verbose: bool):
    if verbose or os.environ.get("AUTOGRADE_VERBOSE"):
        return lambda text: print(f"  ... {text}", file=sys.stderr)
    return lambda text: None
