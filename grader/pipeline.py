"""Grading one submission: an ordered list of small steps, each with one job.

    start the worker -> run each check of the rubric in order -> collect results -> Report
A check never raises for anything the submission does; a bug in the grader becomes an "autograder error"
result for that check (0 points, traceback kept for the instructor only) and grading goes on.
"""
from __future__ import annotations

import platform
import time
import traceback
from pathlib import Path

import hypothesis
import torch

from . import __version__
from .checks import CHECKS
from .checks.base import Context
from .report.results import CheckResult, Report
from .rubric import CheckSpec, Rubric
from .sandbox.host import Host, start_host

AUTOGRADER_ERROR = ("Autograder error: the grader failed while running this check. This is not your fault; "
                    "your instructor can see the details.")


def grade(submission: Path, rubric: Rubric, *, device: str = "cpu", data_root: Path | None = None,
          skip_accuracy: bool = False, cache_dir: Path | None = None, contain: bool = True,
          progress=lambda text: None, host: Host | None = None) -> Report:
    """Grade ``submission`` (a folder with backpropagation.py and gradient_descent.py) and return its Report.

    Deterministic for a given submission, rubric and device. Student code runs only in the sandbox worker.
    ``host``: a worker host already started (see :func:`start_host`); it is closed when grading ends.
    """
    started = time.monotonic()
    results: list[CheckResult] = []
    with host or start_host(submission, rubric, device=device, contain=contain) as host:
        _warm_up_torch_optim()  # while the worker starts
        host.call("ping", {}, timeout=rubric.limits.import_seconds)  # waits for the worker, imports the submission
        for spec in rubric.checks:
            progress(f"running {spec.name} ...")
            context = Context(host, rubric, spec, _deadline(spec, rubric, started), host.device, data_root,
                              cache_dir)
            results.append(_run_step(spec, context, skip_accuracy, started, rubric))
            host.end_check()  # nothing the submission started outlives the check
            progress(f"{spec.name}: {results[-1].score:g}/{results[-1].max_score:g} {results[-1].status}")
        protections = dict(host.protections)
        restarts = host.restarts
        device = host.device
    metadata = {"seed": rubric.seed, "device": device, "worker_restarts": restarts, **versions()}
    return Report(str(submission), results, time.monotonic() - started, protections, metadata)


def _warm_up_torch_optim() -> None:
    """torch.optim imports torch._dynamo (about a second) on first use; pay that while the worker starts."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    torch.optim.SGD([parameter], lr=0.1)


def _deadline(spec: CheckSpec, rubric: Rubric, started: float) -> float:
    now = time.monotonic()
    if spec.name == "accuracy":
        return now + rubric.accuracy.seconds
    return now + min(rubric.limits.check_seconds, rubric.limits.total_seconds - (now - started))


def _run_step(spec: CheckSpec, context: Context, skip_accuracy: bool, started: float, rubric: Rubric) -> CheckResult:
    title, run = CHECKS[spec.name]
    if spec.name == "accuracy" and skip_accuracy:
        return CheckResult(spec.name, title, spec.points, status="skipped",
                           feedback="Skipped: --skip-accuracy was given (0 points for this stage).")
    if spec.name != "accuracy" and time.monotonic() - started >= rubric.limits.total_seconds:
        return CheckResult(spec.name, title, spec.points, status="failed",
                           feedback=f"Not run: the submission used up its total time of "
                                    f"{rubric.limits.total_seconds:g} s.")
    try:
        return run(context)
    except Exception:
        return CheckResult(spec.name, title, spec.points, status="error", feedback=AUTOGRADER_ERROR,
                           details={"grader_traceback": traceback.format_exc()})


def versions() -> dict[str, str]:
    """Versions that a grade depends on (recorded in every report)."""
    return {"grader": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "hypothesis": hypothesis.__version__}


def failed_report(submission: str, rubric: Rubric | None, error: str) -> Report:
    """The fail-closed report: every check at 0 and a visible autograder error."""
    results = [CheckResult(spec.name, CHECKS[spec.name][0], spec.points, status="error", feedback=AUTOGRADER_ERROR)
               for spec in (rubric.checks if rubric else ())]
    results.append(CheckResult("autograder_error", "Autograder error", 0.0, status="error",
                               feedback=AUTOGRADER_ERROR))
    return Report(submission, results, grader_error=error, metadata=versions())
