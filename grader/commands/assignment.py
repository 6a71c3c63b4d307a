"""``autograde assignment new|verify``: declare a year's assignment from its solution, and prove the grader on it
(see :mod:`grader.authoring`)."""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from ..assignment.declaration import DECLARATION, Assignment, AssignmentError, load_assignment
from ..authoring.calibration import Calibration
from ..authoring.new import declare_assignment, write_declaration
from ..authoring.sources import SourceError
from ..checks.rubric import Rubric
from . import EXIT_BAD_INPUT, EXIT_GRADER_FAILED, EXIT_OK


def new_main(*, name: str, solution: str, template: str | None = None, out: str | None = None,
             force: bool = False, sandbox: str = "auto") -> int:
    """Write ``assignment.toml`` and ``rubric.toml`` for ``name`` into ``out`` (default ``./NAME``) from the
    solution folder; an existing different file is kept and the differences are shown. Exit 2 for a missing
    folder or a name that is not a folder name, before any work."""
    problem = _bad_folders(solution, template) or (None if _plain(name) else
                                                     f"NAME must be a plain name like inf265-2027, got {name!r}")
    if problem:
        return _bad(problem)
    started = time.monotonic()
    try:
        declaration = declare_assignment(name, Path(solution), Path(template) if template else None,
                                         sandbox=sandbox)
    except (SourceError, AssignmentError) as error:
        return _bad(str(error))
    folder = Path(out) if out else Path(name)
    write_declaration(declaration, folder, force)
    for file, diff in declaration.differences.items():
        print(f"{folder / file} is already there and differs (kept; --force overwrites):\n{diff}")
    written = [f for f in ("assignment.toml", "rubric.toml") if f not in declaration.differences]
    if written:
        print(f"wrote {', '.join(str(folder / f) for f in written)} in {time.monotonic() - started:.1f} s")
    for line in (*(f"TODO {t}" for t in declaration.draft.todos), *declaration.problems):
        print(line)
    print(f"next: autograde assignment verify {folder} --solution {solution}"
          + (f" --template {template}" if template else ""))
    return EXIT_OK if not declaration.problems else EXIT_GRADER_FAILED


def _calibration(declared: Assignment, graded: Rubric, solution: str, data_root: str, device: str, runs: int,
                 sandbox: str, rubric: str | None) -> Calibration:
    """Calibrate the accuracy thresholds and write full_credit into the declaration's rubric (never a packaged
    one: that is printed only)."""
    from ..assignment.declaration import PACKAGED
    from ..authoring.calibration import calibrate, write_full_credit

    found = calibrate(Path(solution), declared, graded, Path(data_root), device=device, runs=runs, sandbox=sandbox,
                      progress=lambda line: print(f"  {line}"))
    target = Path(rubric) if rubric else declared.rubric_path
    if PACKAGED in target.resolve().parents:
        found.failures.append(f"{target} is packaged: not changed (copy it, or set full_credit yourself)")
    elif write_full_credit(target, found):
        found.failures.append(f"full_credit written into {target}")
    return found


def _plain(name: str) -> bool:
    return bool(name) and all(ch.isalnum() or ch in "-_." for ch in name)


def _bad_folders(*folders: str | None) -> str | None:
    missing = [f for f in folders if f is not None and not Path(f).is_dir()]
    return f"no such folder: {', '.join(missing)} (give the folder holding the notebooks or .py files)" \
        if missing else None


def _bad(message: str) -> int:
    print(f"autograde assignment: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def verify_main(*, assignment: str, solution: str, template: str | None = None, rubric: str | None = None,
                seeds: tuple[int, ...] = (), data_root: str | None = None, device: str = "cpu", runs: int = 20,
                sandbox: str = "auto", out: str | None = None, min_points: float = 1.0) -> int:
    """Prove the declaration ``assignment`` (a packaged name, a folder or a file) on the solution: full marks at
    several seeds on at least ``min_points`` graded points, the template at 0, every mutant caught, and with
    ``data_root`` the accuracy thresholds calibrated from ``runs`` trainings of the solution. Exit 1 when any of
    the first three fails; 2 for bad input."""
    from ..authoring import verify
    from ..authoring.calibration import MINIMUM_RUNS
    from ..checks.rubric import RubricError, load_rubric

    problem = _bad_folders(solution, template, data_root) or (
        f"--runs must be at least {MINIMUM_RUNS} (a spread needs several trainings), got {runs}"
        if data_root and runs < MINIMUM_RUNS else None) or (
        f"--min-points must be more than 0 (a proof on nothing proves nothing), got {min_points:g}"
        if min_points <= 0 else None)
    if problem:
        return _bad(problem)
    try:
        declared = load_assignment(assignment)
        graded = load_rubric(rubric or declared.rubric_path)
    except (AssignmentError, RubricError) as error:
        return _bad(str(error))
    run = verify.Grader(declared, Path(rubric) if rubric else declared.rubric_path, sandbox)
    steps: list[verify.Step] = []
    rows: list[verify.MutantRow] = []
    steps.append(verify.todo_step(declared.folder / DECLARATION))
    try:
        seeds = seeds or (graded.seed, graded.seed + 1, graded.seed + 2)
        step, baseline = verify.solution_step(run, Path(solution), seeds, min_points)
        steps.append(step)
        if template:
            steps.append(verify.template_step(run, Path(template)))
        step, rows = verify.mutant_step(run, Path(solution), declared, baseline, seeds[0],
                                        progress=lambda line: print(f"  {line}"))
        steps.append(step)
    finally:
        run.close()
    calibrated = _calibration(declared, graded, solution, data_root, device, runs, sandbox, rubric) \
        if data_root else None
    for step in steps:
        print(f"{'PASS' if step.passed else 'FAIL'}  {step.name} ({step.seconds:.1f} s)")
        for line in step.lines:
            print(f"      {line}")
    if calibrated:
        print(f"CALIBRATED  the accuracy thresholds ({calibrated.seconds:.1f} s)")
        for line in calibrated.lines():
            print(f"      {line}")
    print(verify.mutation_table(rows))
    if out:
        Path(out).write_text(json.dumps({"assignment": declared.name, "steps": [s.to_dict() for s in steps],
                                         "mutants": [dataclasses.asdict(r) for r in rows],
                                         "calibration": dataclasses.asdict(calibrated) if calibrated else None},
                                        indent=2))
    return EXIT_OK if all(s.passed for s in steps) else EXIT_GRADER_FAILED
