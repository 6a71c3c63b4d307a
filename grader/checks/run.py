"""Running a rubric's checks on one prepared submission (the last step of :mod:`grader.pipeline`):

    start the worker (import the submission) -> for each check of the rubric: run it, clean up -> Report

A check never raises for anything the submission does; a bug in the grader becomes an "autograder error"
result for that check (0 points, traceback kept for the instructor only) and grading goes on.
"""
from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import torch

from ..assignment.binding import StudentParameter, binding_note
from ..assignment.declaration import Assignment
from ..data.cifar import DATA_HELP
from ..options import GradingSetup
from ..outcomes import FailureKind
from ..report import leaderboard
from ..report.results import CheckResult, Part, Report, points
from ..sandbox.host import Host, start_host
from ..sandbox.zygote import Zygote
from ..submission.folder import prepared
from ..version import __version__
from .base import Context, Skip
from .rubric import CheckSpec, Rubric


def grade(submission: Path, rubric: Rubric, *, options: GradingSetup, host: Host | None = None,
          zygote: Zygote | None = None, progress: Callable[[str], None] = lambda text: None,
          notes: list[str] | None = None, checkpoint: Callable[[Report], None] | None = None) -> Report:
    """Grade ``submission`` (a folder with backpropagation.py and gradient_descent.py) and return its Report.

    Deterministic for a given submission, rubric and device. Student code runs only in the sandbox worker.
    ``host``: a worker host already made (it is closed when grading ends); ``zygote``: a fork server to reuse;
    ``checkpoint``: given, before each check, the report as it stands (that check and the later ones not graded
    yet), so that a grading killed from outside (out of memory, out of time) leaves the points it had earned.
    """
    started = time.monotonic()
    with prepared(Path(submission), options.assignment) as (folder, preparation_notes, files), \
            host or start_host(folder, rubric.limits, device=options.device, contain=options.contain, zygote=zygote,
                               hidden=options.hidden, assignment=options.assignment,
                               sandbox=options.sandbox, files=files) as host:
        host.start()
        startup = time.monotonic() - started
        results: list[CheckResult] = []
        budgets: dict[str, dict[str, Any] | None] = {}
        for index, spec in enumerate(rubric.checks):
            if checkpoint is not None:
                checkpoint(stopped_report(str(submission), results, rubric.checks[index:], options.assignment))
            progress(f"running {spec.name} ...")
            result, budgets[spec.name] = run_check(spec, host, rubric, options, started)
            results.append(result)
            progress(f"{spec.name}: {points(results[-1].score)}/{points(results[-1].max_score)} {results[-1].status}")
        metadata = {"seed": rubric.seed, "device": host.device, "worker_restarts": host.restarts,
                    "sandbox": options.sandbox, "fork_server": host.fork_server,
                    "assignment": options.assignment.name, "visibility": rubric.visibility,
                    "stdout_visibility": rubric.stdout_visibility,
                    "budget_use": {name: use for name, use in budgets.items() if use},
                    "startup_seconds": round(startup, 4), **versions()}
        retried = [f"Run again on a fresh worker ({name}): {line}" for name, use in budgets.items() if use
                   for line in use.get("retries", ())]
        notes = [*(notes or ()), *preparation_notes, *_import_notes(host), *binding_notes(host, options.assignment),
                 *getattr(host, "notices", []), *retried]
        board = leaderboard.entries(results, rubric.leaderboard, options.assignment.display_names())
        return Report(str(submission), results, time.monotonic() - started, dict(host.protections), metadata,
                      notes=notes, leaderboard=board)


def stopped_report(submission: str, results: list[CheckResult], left: tuple[CheckSpec, ...] | list[CheckSpec],
                   assignment: Assignment) -> Report:
    """The report if grading stopped now: ``results`` so far, the first of ``left`` not graded because the grading
    stopped while running it, the others because it stopped before them."""
    names = assignment.display_names()
    open_checks = [CheckResult(spec.name, spec.title_for(names), spec.points, not_graded=True,
                               skipped=f"not graded: the grading stopped {'while running' if i == 0 else 'before'} "
                                       "this check (killed from outside: the machine or container ran out of memory "
                                       "or of time)") for i, spec in enumerate(left)]
    return Report(submission, [*results, *open_checks],
                  notes=[f"The grading stopped during {left[0].name}: the points above were earned before it."])


def names_in_titles(host: Host, assignment: Assignment) -> dict[str, str]:
    """Each declared callable as the checks' titles name it: the template's name, and the student's in brackets
    where they differ (``MyNet [MyMLP]``): one name per graded object, the one the template's text uses."""
    names = assignment.display_names()
    for key, name in names.items():
        found = host.found(key) or {}
        student = found.get("name")
        if isinstance(student, str) and student != name:
            names[key] = f"{name} [{student}]"
    return names


def _import_notes(host: Host) -> list[str]:
    """What importing the submission reported for the student (e.g. a notebook's import that failed)."""
    description = host.description()
    if not description.ok or not isinstance(description.value, dict):
        return []
    return [note for module in description.value.get("modules", {}).values() for note in module.get("notes", [])]


def binding_notes(host: Host, assignment: Assignment) -> list[str]:
    """One line for each graded function or class found under another name, or whose signature differs from the
    template's, saying how it was graded (student-visible)."""
    notes = []
    for spec in assignment.graded():
        found = host.found(spec.key)
        if not found or "name" not in found:
            continue
        if found["how"] == "alias":
            notes.append(f"{found['name']} was graded as the template's {spec.name} (an accepted name for it).")
        elif str(found["how"]).startswith("in class "):
            notes.append(f"{found['name']} was graded as the template's {spec.name}: it is defined {found['how']} "
                         f"(its first parameter stands for {spec.parameters[0].name if spec.parameters else 'it'}); "
                         f"the template has it as a top-level function.")
        elif found["how"] == "discovered":
            notes.append(f"{found['name']} was graded as the template's {spec.name}: the only nn.Module subclass of "
                         f"{spec.module} that builds without arguments.")
        binding = host.binding(spec.key)
        if binding is not None:
            described = [StudentParameter.from_description(p) for p in found["parameters"]]
            note = binding_note(found["name"], spec.parameters, binding, described)
            notes += [note] if note else []
    return notes


def run_check(spec: CheckSpec, host: Host, rubric: Rubric, options: GradingSetup,
              started: float) -> tuple[CheckResult, dict[str, Any] | None]:
    """One step of the pipeline: the check's result (never an exception: a grader bug is an "autograder error"
    result), and how close its slowest call came to its time budget (None: no call had one). ``started``: when the
    submission's grading began (its total time limit counts from there). Kills what the check left running."""
    result = CheckResult(spec.name, spec.title_for(names_in_titles(host, options.assignment)), spec.points,
                         visibility=spec.settings.visibility or rubric.visibility)
    if spec.name in options.skipped:
        return _skipped(result, spec, options.skipped[spec.name]), None
    if spec.check.needs_data and options.data_root is None:
        return _skipped(result, spec, f"no data folder was given.\n{DATA_HELP}"), None
    if not spec.check.own_time_limit and time.monotonic() - started >= rubric.limits.total_seconds:
        result.parts = (Part.fail("run within the submission's total time", "Not run: the submission used up its "
                                  f"total time of {rubric.limits.total_seconds:g} s.", FailureKind.NOT_RUN),)
        return result, None
    context = Context(host, rubric, spec, _deadline(spec, rubric, started), options.assignment, options.data_root,
                      options.cache_dir, budget_end=started + options.time_budget if options.time_budget else None,
                      budget_seconds=options.time_budget)
    clock = _CheckClock(host)
    try:
        result.parts = tuple(spec.check.run(context))
    except Skip as reason:
        _skipped(result, spec, str(reason))
    except Exception:
        result.error = traceback.format_exc()
        host.reset()  # a call may still be in flight: the next check starts with a fresh worker
    finally:
        host.end_check()  # nothing the submission started outlives the check
    result.output = context.student_output()
    result.timing = clock.timing(context.calls)
    return result, budget_use(context.budgets, context.retries)


def _skipped(result: CheckResult, spec: CheckSpec, reason: str) -> CheckResult:
    """``result`` skipped for ``reason``; a check that needs the data is then not graded (its points stay open)."""
    result.skipped = reason
    result.not_graded = spec.check.needs_data
    return result


class _CheckClock:
    """Where one check's time goes: wall seconds, the grader's and the workers' CPU seconds, sandbox round trips."""

    def __init__(self, host: Host):
        self.host = host
        self.wall, self.grader = time.perf_counter(), time.process_time()
        self.worker, self.trips = host.worker_cpu_seconds(), host.round_trips

    def timing(self, calls: int) -> dict[str, float]:
        grader = time.process_time() - self.grader
        worker = max(self.host.worker_cpu_seconds() - self.worker, 0.0)
        return {"wall": round(time.perf_counter() - self.wall, 4), "cpu": round(grader + worker, 4),
                "grader_cpu": round(grader, 4), "worker_cpu": round(worker, 4), "calls": calls,
                "round_trips": self.host.round_trips - self.trips}


def budget_use(budgets: list[tuple[str, float, float]], retries: list[str] | None = None) -> dict[str, Any] | None:
    """The call that came closest to its CPU budget: its share of the budget, CPU seconds, budget; how many calls
    had a budget; and the calls run again on a fresh worker (recorded for instructors and the budget benchmark)."""
    if not budgets and not retries:
        return None
    use: dict[str, Any] = {"retries": list(retries)} if retries else {}
    if budgets:
        call, seconds, budget = max(budgets, key=lambda entry: entry[1] / entry[2])
        use.update(calls=len(budgets), call=call, seconds=round(seconds, 4), budget=round(budget, 3),
                   share=round(seconds / budget, 4))
    return use


def _deadline(spec: CheckSpec, rubric: Rubric, started: float) -> float:
    now = time.monotonic()
    limit = spec.check.time_limit(spec.settings, rubric.limits.check_seconds)
    if spec.check.own_time_limit:
        return now + limit
    return now + min(limit, rubric.limits.total_seconds - (now - started))


def versions() -> dict[str, str]:
    """Versions that a grade depends on (recorded in every report)."""
    return {"grader": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "hypothesis": hypothesis.__version__}
