"""Command line: ``autograde grade SUBMISSION`` for instructors and CI, ``autograde check [DIR]`` for students.

The parser only parses; :func:`grade_main` and :func:`check_main` hold the one set of defaults.
Exit status: 0 when grading completed (whatever the score), 2 for bad arguments or input, 1 when the
grader itself failed (a fail-closed results.json is still written where one was asked for).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import traceback
from pathlib import Path

# Nothing imported here imports torch: the worker is launched first and imports it in parallel.
from .report import gradescope, junit, markdown
from .report.terminal import render
from .report.write import write_atomic
from .rubric import RubricError, load_rubric
from .sandbox.host import start_host

EXIT_OK, EXIT_GRADER_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class InputError(Exception):
    """Bad arguments or input; the message says what to do."""


def grade_main(*, submission: str, json_path: str | None = None, junit_path: str | None = None,
               markdown_path: str | None = None, skip_accuracy: bool = False, device: str = "auto",
               data_root: str | None = None, seed: int | None = None, rubric_path: str | None = None,
               friendly: bool = False, verbose: bool = False, stream=None) -> int:
    """Grade one submission folder, print the report, write the requested files; return the exit status."""
    try:
        rubric = load_rubric(rubric_path)
        if seed is not None:
            rubric = dataclasses.replace(rubric, seed=seed)
        folder = _submission_folder(submission)
    except (RubricError, InputError) as error:
        print(f"autograde: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    outputs = {"json": json_path, "junit": junit_path, "markdown": markdown_path}
    host = None
    try:
        host = start_host(folder, rubric, device=device)  # the worker imports torch while this process does
        _check_device(device)
        root = _data_root(data_root)
        from .pipeline import grade  # imports torch: only after the worker was launched

        verbose = verbose or bool(os.environ.get("AUTOGRADE_VERBOSE"))
        progress = (lambda text: print(f"  ... {text}", file=sys.stderr)) if verbose else (lambda text: None)
        report = grade(folder, rubric, data_root=root, skip_accuracy=skip_accuracy, progress=progress, host=host)
    except InputError as error:
        host.close()
        print(f"autograde: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        if host is not None:
            host.close()
        details = traceback.format_exc()
        print(f"autograde: the grader failed:\n{details}", file=sys.stderr)
        from .pipeline import failed_report

        _write_reports(failed_report(str(folder), rubric, details), outputs)
        return EXIT_GRADER_FAILED
    _write_reports(report, outputs)
    print(render(report, friendly=friendly), file=stream or sys.stdout)
    return EXIT_OK


def check_main(*, directory: str = ".", device: str = "auto", data_root: str | None = None,
               skip_accuracy: bool = False, verbose: bool = False, stream=None) -> int:
    """What a student runs on work in progress: the same checks, feedback for every check, what to fix first."""
    return grade_main(submission=directory, device=device, data_root=data_root, skip_accuracy=skip_accuracy,
                      friendly=True, verbose=verbose, stream=stream)


def _write_reports(report, outputs: dict) -> None:
    writers = {"json": gradescope.dumps, "junit": junit.dumps, "markdown": markdown.dumps}
    for kind, path in outputs.items():
        if path:
            write_atomic(path, writers[kind](report))


def _submission_folder(submission: str) -> Path:
    folder = Path(submission).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(f"submission folder {submission!r} does not exist. Pass the folder that holds "
                         "backpropagation.py and gradient_descent.py.")
    if _holds_modules(folder):
        return folder
    nested = sorted({path.parent for name in MODULE_FILES for path in folder.glob(f"*/{name}")} |
                    {path.parent for name in MODULE_FILES for path in folder.glob(f"*/*/{name}")})
    if len(nested) == 1:
        print(f"autograde: grading {nested[0]} (the folder inside {submission!r} that holds the modules)",
              file=sys.stderr)
        return nested[0]
    found = f" Several folders inside hold them: {', '.join(map(str, nested))}." if nested else ""
    raise InputError(f"{submission!r} holds neither backpropagation.py nor gradient_descent.py.{found} "
                     "Pass the folder that holds your two files (e.g. autograde check student_template/).")


MODULE_FILES = ("backpropagation.py", "gradient_descent.py")


def _holds_modules(folder: Path) -> bool:
    return any((folder / name).is_file() for name in MODULE_FILES)


def _check_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was given but no CUDA device is available; use --device cpu or auto.")


def _data_root(data_root: str | None) -> Path | None:
    from .data import ENV_DATA_ROOT, resolve_data_root

    root = resolve_data_root(data_root)
    if root is not None and not root.is_dir():
        source = "--data-root" if data_root else f"${ENV_DATA_ROOT}"
        raise InputError(f"{source} points at {str(root)!r}, which does not exist.")
    return root


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograde", description="Grade the MLP backpropagation / SGD assignment. Student code runs in an "
        "isolated worker process; every verdict is computed by the grader.",
        epilog="Examples:\n  autograde check                      # students: check the current folder\n"
               "  autograde grade sub/ --json results.json --data-root ../shared/data/cifar10-airplane-bird\n"
               "Exit status: 0 graded (any score), 1 grader failure (fail-closed report written), 2 bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub):
        sub.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help="where the accuracy stage trains (default: auto, CUDA when available)")
        sub.add_argument("--data-root", metavar="DIR",
                         help="CIFAR-10 data: ImageFolder tree or folder with cifar-10-batches-py "
                              "(default: $CIFAR_ROOT; without data the accuracy stage is skipped)")
        sub.add_argument("--skip-accuracy", action="store_true", help="do not train (the stage shows as skipped)")
        sub.add_argument("--verbose", action="store_true", help="show progress on stderr while grading")

    grade = commands.add_parser("grade", help="grade a submission folder (instructors, CI)",
                                description="Grade SUBMISSION_DIR and print the report; write the requested files.")
    grade.add_argument("submission", metavar="SUBMISSION_DIR")
    grade.add_argument("--json", metavar="PATH", help="write Gradescope results.json here")
    grade.add_argument("--junit", metavar="PATH", help="write JUnit XML here")
    grade.add_argument("--markdown", metavar="PATH", help="write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
    grade.add_argument("--seed", type=int, help="override the rubric's seed")
    grade.add_argument("--rubric", metavar="FILE", help="rubric TOML (default: the packaged grader/rubric.toml)")
    common(grade)
    check = commands.add_parser("check", help="check your work in progress (students)",
                                description="Run every check on DIR and say what to fix first.")
    check.add_argument("directory", nargs="?", default=".", metavar="DIR")
    common(check)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    if args.command == "check":
        code = check_main(directory=args.directory, device=args.device, data_root=args.data_root,
                          skip_accuracy=args.skip_accuracy, verbose=args.verbose)
    else:
        code = grade_main(submission=args.submission, json_path=args.json, junit_path=args.junit,
                          markdown_path=args.markdown, skip_accuracy=args.skip_accuracy, device=args.device,
                          data_root=args.data_root, seed=args.seed, rubric_path=args.rubric, verbose=args.verbose)
    if args.verbose or os.environ.get("AUTOGRADE_VERBOSE"):
        print(f"autograde: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return code
