"""Command line: ``autograde grade SUBMISSION`` for instructors and CI, ``autograde check [DIR]`` for students.

The parser only parses; the ``main`` functions in :mod:`grader.commands` hold the one set of defaults.
Exit status: 0 when the command completed (whatever the score), 2 for bad arguments or input, 1 when the
grader itself failed (a fail-closed results file is still written where one was asked for).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .assignment.declaration import packaged_names
from .options import DEVICES, SANDBOXES, GradingOptions
from .report.formats import FORMATS

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

EPILOG = """Examples:
  autograde check                      # students: check the current folder
  autograde grade sub/ --json results.json --data-root DATA_DIR
  autograde batch uploads/ --out gradebook/ --download
Exit status: 0 done (any score), 1 grader failure (fail-closed report written), 2 bad input."""


def _environment(parser: argparse.ArgumentParser, *, only_checks: bool = True) -> None:
    parser.add_argument("--device", choices=DEVICES, default=GradingOptions.device,
                        help="where the accuracy stage trains (default: auto, CUDA when available)")
    parser.add_argument("--data-root", metavar="DIR",
                        help="CIFAR-10 data: an ImageFolder tree (train/airplane, train/bird, test/...), a folder "
                             "with cifar-10-batches-py, or the decoded cifar2.npz (default: $CIFAR_ROOT, then the "
                             "cache --download filled; without data the accuracy stage is not graded)")
    parser.add_argument("--skip-accuracy", action="store_true",
                        help="do not train on the real data (those checks show as skipped)")
    parser.add_argument("--sandbox", choices=SANDBOXES, default=GradingOptions.sandbox,
                        help="where student code runs: the Linux sandbox, or the portable one (Windows, macOS; "
                             "default: auto, Linux where it can run)")
    parser.add_argument("--assignment", metavar="NAME|FILE",
                        help=f"which version of the assignment: a packaged name ({', '.join(packaged_names())}) or "
                             "the path of an assignment.toml or its folder (default: default)")
    if only_checks:
        parser.add_argument("--only", dest="checks", nargs="+", default=(), metavar="CHECK",
                            help="run only these checks")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="seconds the whole grading may take (a Gradescope container's timeout less a margin): the "
                             "accuracy stage is not graded, saying why, when it cannot fit in what is left")
    parser.add_argument("--verbose", action="store_true", help="show progress on stderr; full feedback for every check")
    parser.add_argument("--timings", action="store_true",
                        help="after the report, where the time went: each check's wall and CPU seconds and calls")


def _grading(parser: argparse.ArgumentParser, *, only_checks: bool = True) -> None:
    _environment(parser, only_checks=only_checks)
    parser.add_argument("--skip", nargs="+", default=(), metavar="CHECK", help="leave these checks out (0 points)")
    parser.add_argument("--seed", type=int, help="override the rubric's seed")
    parser.add_argument("--rubric", metavar="FILE", help="rubric TOML (default: the assignment's own rubric.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograde", description="Grade the MLP backpropagation / SGD assignment. Student code runs in an "
        "isolated worker process; every verdict is computed by the grader.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_grade, _add_check, _add_batch, _add_merge, _add_bundle, _add_similarity, _add_assignment):
        add(commands)
    return parser


def _download(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--download", action="store_true",
                        help="fetch CIFAR-10 once into your cache folder and use it (later runs find it by themselves)")


def _add_grade(commands: Subcommands) -> None:
    grade = commands.add_parser("grade", help="grade a submission folder (instructors, CI)",
                                description="Grade SUBMISSION_DIR and print the report; write the requested files.")
    grade.add_argument("submission", metavar="SUBMISSION_DIR")
    _grading(grade)
    _download(grade)
    for fmt in FORMATS:
        grade.add_argument(f"--{fmt.name}", metavar="PATH", help=f"write {fmt.help}")


def _add_check(commands: Subcommands) -> None:
    check = commands.add_parser("check", help="check your work in progress (students)",
                                description="Run every check on DIR and say what to do next.")
    check.add_argument("directory", nargs="?", default=".", metavar="DIR")
    _environment(check)
    _download(check)


def _add_batch(commands: Subcommands) -> None:
    batch = commands.add_parser(
        "batch", help="grade a whole class: gradebook, summary, resumable (instructors)",
        description="Grade every entry of SUBMISSIONS_DIR (a folder or .zip per student, named by the entry) into "
                    "OUT: OUT/NAME/ per student, OUT/grades.csv, OUT/summary.md and summary.png. A rerun grades only "
                    "what changed. Here --only names students; choose checks with --checks.")
    batch.add_argument("submissions", metavar="SUBMISSIONS_DIR")
    batch.add_argument("--out", required=True, metavar="OUT", help="the batch's output folder")
    batch.add_argument("--workers", type=int, metavar="N", help="submissions graded at once (default: one per core)")
    batch.add_argument("--only", dest="students", nargs="+", default=(), metavar="NAME",
                       help="grade (again) only these students")
    batch.add_argument("--checks", nargs="+", default=(), metavar="CHECK", help="run only these checks")
    batch.add_argument("--force", action="store_true", help="grade every submission again, changed or not")
    batch.add_argument("--shard", metavar="I/N", help="grade only the I-th of N deterministic parts of the class")
    _grading(batch, only_checks=False)
    _download(batch)


def _add_merge(commands: Subcommands) -> None:
    merge = commands.add_parser("merge", help="combine batch outputs of several shards into one gradebook",
                                description="Combine the OUT folders of sharded batch runs into one.")
    merge.add_argument("outputs", nargs="+", metavar="OUT")
    merge.add_argument("--out", required=True, metavar="MERGED")
    merge.add_argument("--rubric", metavar="FILE", help="the rubric the shards used (for the gradebook's columns)")
    merge.add_argument("--assignment", metavar="NAME|FILE", help="the assignment the shards graded (its rubric's "
                                                                 "columns when --rubric is not given)")


def _add_bundle(commands: Subcommands) -> None:
    bundle = commands.add_parser("bundle", help="build the student kit or the Gradescope autograder (instructors)",
                                 description="student: the template, a grader wheel (no reference solution), the "
                                             "given code, a README and the GitHub Classroom workflow, in a folder. "
                                             "gradescope: setup.sh and run_autograder at the root of a zip.")
    bundle.add_argument("kind", choices=("student", "gradescope"))
    bundle.add_argument("--out", required=True, metavar="PATH", help="the folder (student) or the .zip (gradescope)")
    bundle.add_argument("--rubric", metavar="FILE", help="gradescope: the rubric to grade with (default: packaged)")
    bundle.add_argument("--data-root", metavar="DIR", help="gradescope: bundle these images, decoded and checksummed")
    bundle.add_argument("--assignment", metavar="NAME|FILE", help="the version of the assignment the bundle grades "
                                                                 "(carried in the bundle; default: default)")
    bundle.add_argument("--template", metavar="DIR", help="student: the files your students start from (default: "
                                                         "the declaration's template folder)")
    bundle.add_argument("--timeout", type=int, metavar="SECONDS",
                        help="gradescope: the autograder timeout set on Gradescope (default 600, Gradescope's own); "
                             "the grading keeps within it, less 30 s")


def _add_similarity(commands: Subcommands) -> None:
    similarity = commands.add_parser(
        "similarity", help="which submissions share their code, in the class and with earlier years (instructors)",
        description="Compare the graded functions of every pair of submissions in CLASS, and of each with every "
                    "submission in the --against folders; write similarity.csv and similarity.html into --out (and "
                    "each student's closest match into a batch gradebook there). Nothing is run.")
    similarity.add_argument("submissions", metavar="CLASS", help="a folder of submission folders or .zip files")
    similarity.add_argument("--out", required=True, metavar="OUT")
    similarity.add_argument("--against", nargs="+", default=(), metavar="DIR",
                            help="folders of earlier submissions (folders or .zip files, any year)")
    similarity.add_argument("--assignment", metavar="NAME|FILE",
                            help="the version of the assignment (default: default)")
    similarity.add_argument("--template", metavar="DIR", help="the template the students started from: its code is "
                                                              "left out (default: this grader's own, for default)")
    similarity.add_argument("--threshold", type=float, default=0.7, help="flag pairs at or above this (default 0.7)")


def _add_assignment(commands: Subcommands) -> None:
    assignment = commands.add_parser(
        "assignment", help="declare a new year's assignment from its solution, and prove the grader on it "
        "(instructors)")
    steps = assignment.add_subparsers(dest="step", required=True, metavar="STEP")
    new = steps.add_parser("new", help="write assignment.toml and rubric.toml from the solution (and template)")
    new.add_argument("name", metavar="NAME", help="the assignment's name, e.g. inf265-2027")
    new.add_argument("--solution", required=True, metavar="DIR", help="the instructor's solution (notebooks or .py)")
    new.add_argument("--template", metavar="DIR", help="the template the students receive")
    new.add_argument("--out", metavar="DIR", help="where to write the two files (default: ./NAME)")
    new.add_argument("--force", action="store_true", help="overwrite files already there (default: show the diff)")
    new.add_argument("--sandbox", choices=("auto", "linux", "portable"), default="auto")
    verify = steps.add_parser("verify", help="prove the declaration: the solution full marks, the template 0, "
                              "every mutant caught, the accuracy thresholds calibrated (with data)")
    verify.add_argument("assignment", metavar="NAME|FILE", help="a packaged name, or the declaration's folder/file")
    verify.add_argument("--solution", required=True, metavar="DIR")
    verify.add_argument("--template", metavar="DIR")
    verify.add_argument("--rubric", metavar="FILE", help="default: the declaration's own rubric")
    verify.add_argument("--seeds", type=int, nargs="+", default=(), metavar="N",
                        help="seeds the solution is graded at (default: the rubric's and the next two)")
    verify.add_argument("--min-points", type=float, default=1.0, metavar="P",
                        help="the fewest CPU-stage points the solution must be graded on (default 1): a "
                             "declaration that grades less fails")
    verify.add_argument("--data-root", metavar="DIR", help="the CIFAR-10 data: calibrate the accuracy thresholds")
    verify.add_argument("--device", default="cpu", help="where the calibration trains (cpu, cuda)")
    verify.add_argument("--runs", type=int, default=20, help="trainings of the solution for the calibration")
    verify.add_argument("--sandbox", choices=("auto", "linux", "portable"), default="auto")
    verify.add_argument("--json", dest="out", metavar="FILE", help="also write the summary as JSON")


def _outputs(args: argparse.Namespace) -> dict[str, str | None]:
    return {fmt.name: getattr(args, fmt.name) for fmt in FORMATS}


def _run_grade(args: argparse.Namespace) -> int:
    from .commands.grade import grade_main

    return grade_main(submission=args.submission, options=GradingOptions.from_args(args), outputs=_outputs(args))


def _run_check(args: argparse.Namespace) -> int:
    from .commands.grade import check_main

    return check_main(directory=args.directory, options=GradingOptions.from_args(args))


def _run_batch(args: argparse.Namespace) -> int:
    from .commands.batch import batch_main

    return batch_main(submissions=args.submissions, out=args.out, options=GradingOptions.from_args(args),
                      workers=args.workers, students=tuple(args.students), force=args.force, shard=args.shard)


def _run_merge(args: argparse.Namespace) -> int:
    from .commands.batch import merge_main

    return merge_main(outputs=args.outputs, out=args.out, rubric_path=args.rubric, assignment=args.assignment)


def _run_bundle(args: argparse.Namespace) -> int:
    from .commands.bundle import bundle_main

    return bundle_main(kind=args.kind, out=args.out, rubric_path=args.rubric, data_root=args.data_root,
                       assignment=args.assignment, template=args.template, timeout=args.timeout)


def _run_similarity(args: argparse.Namespace) -> int:
    from .commands.similarity import similarity_main

    return similarity_main(submissions=args.submissions, out=args.out, against=tuple(args.against),
                           assignment=args.assignment, template=args.template, threshold=args.threshold)


def _run_assignment(args: argparse.Namespace) -> int:
    from .commands.assignment import new_main, verify_main

    if args.step == "verify":
        return verify_main(assignment=args.assignment, solution=args.solution, template=args.template,
                           rubric=args.rubric, seeds=tuple(args.seeds), data_root=args.data_root, device=args.device,
                           runs=args.runs, sandbox=args.sandbox, out=args.out,
                           min_points=args.min_points)
    return new_main(name=args.name, solution=args.solution, template=args.template, out=args.out,
                    force=args.force, sandbox=args.sandbox)


def _tolerant_streams() -> None:
    """A console that cannot show a character (Windows' cp1252, say) gets an escape, not a crash, when a report
    repeats what the student's code printed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]  # TextIO lacks it; the real streams have it
        except (AttributeError, ValueError):
            pass


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "grade": _run_grade, "check": _run_check, "batch": _run_batch, "merge": _run_merge,
    "bundle": _run_bundle, "similarity": _run_similarity,
    "assignment": _run_assignment}


GRADING_COMMANDS = ("grade", "check", "batch", "assignment")
"""The commands that fork a sandbox's fork server (and want str hashing fixed for it: see _fixed_hashing)."""


def _fixed_hashing(argv: list[str] | None) -> None:
    """Run the command line again with PYTHONHASHSEED=0 where a grading command would fork the fork server from this
    process (Linux): the workers then hash strings as a launched server's would, the same on every run. Only as the
    program itself (``argv`` None), never inside a test's or a notebook's process."""
    if argv is not None or not sys.platform.startswith("linux") or os.environ.get("PYTHONHASHSEED") == "0" or \
            len(sys.argv) < 2 or sys.argv[1] not in GRADING_COMMANDS:
        return
    program = ["-m", "grader"] if sys.argv[0].endswith("__main__.py") else [sys.argv[0]]  # as it was started
    os.execve(sys.executable, [sys.executable, *program, *sys.argv[1:]], {**os.environ, "PYTHONHASHSEED": "0"})


def run(argv: list[str] | None = None) -> int:
    _fixed_hashing(argv)
    _tolerant_streams()
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    code = COMMANDS[args.command](args)
    if getattr(args, "verbose", False) or os.environ.get("AUTOGRADE_VERBOSE"):
        print(f"autograde: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return code
