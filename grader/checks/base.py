"""What every check shares: its context, calling the worker, phrasing failures, and hypothesis runs."""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

from ..report.results import CheckResult
from ..rubric import CheckSpec, Rubric
from ..sandbox.host import Failure, Host, Reply


class CheckTimeUp(Exception):
    """The check's wall-time budget ran out."""


@dataclass
class Context:
    """What a check may use: the worker host, the rubric, run options, and its own deadline."""

    host: Host
    rubric: Rubric
    spec: CheckSpec
    deadline: float
    device: str = "cpu"
    data_root: Path | None = None
    cache_dir: Path | None = None
    outputs: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int:
        return self.rubric.seed

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def call(self, name: str, payload: dict) -> Reply:
        """Call handler ``name`` in the worker within what is left of this check's time."""
        return self.finish(self.begin(name, payload))

    def begin(self, name: str, payload: dict):
        """Send a call now and finish it later with :meth:`finish` (the grader works meanwhile)."""
        if self.remaining() <= 0:
            raise CheckTimeUp()
        return self.host.begin(name, payload)

    def finish(self, pending) -> Reply:
        """The Reply of a call started with :meth:`begin`, within what is left of this check's time."""
        reply = pending.finish(timeout=max(self.remaining(), 0.01))
        if reply.output:
            self.outputs.append(reply.output)
        return reply

    def result(self, title: str, **kwargs) -> CheckResult:
        return CheckResult(self.spec.name, title, self.spec.points, output=self.student_output(), **kwargs)

    def from_parts(self, title: str, parts, **kwargs) -> CheckResult:
        return CheckResult.from_parts(self.spec.name, title, self.spec.points, parts,
                                      output=self.student_output(), **kwargs)

    def student_output(self) -> str:
        cap = self.rubric.limits.output_kb * 1024
        text = "".join(self.outputs)
        return text if len(text) <= cap else text[:cap] + f"\n[... output cut at {cap // 1024} KiB]"


def failure_text(call: str, failure: Failure) -> str:
    """What happened when the student's ``call`` produced no value, phrased for the student."""
    if failure.kind == "exception" and failure.message.startswith("SubmissionImportError: "):
        text = f"{call} could not run: {failure.message.removeprefix('SubmissionImportError: ')}"
    elif failure.kind == "exception":
        text = f"{call} raised {failure.message}"
    elif failure.kind == "import":
        text = failure.message
    elif failure.kind == "timeout":
        text = f"{call} {failure.message} (an endless loop, or far too slow?)"
    else:
        text = f"{call} stopped the grader's worker: {failure.message}"
    if failure.traceback:
        text += f"\nWhere, in your files:\n{failure.traceback.rstrip()}"
    if "NotImplementedError" in failure.message:
        text += "\n(not implemented yet)"
    if failure.message.startswith(("ModuleNotFoundError", "PermissionError")):
        text += ("\n(The grader's sandbox can only use modules it loaded before running your code. If this module "
                 "works on your machine, tell your instructor its name.)")
    return text


class _Stop(Exception):
    """Raised inside a hypothesis run once further examples are pointless (crash, timeout, grader error)."""


class GraderCheckError(Exception):
    """The grader's own code failed while judging a case: an autograder error, never a pass."""


def find_failure(strategy, examples: int, run_seed: int, check_one: Callable[[object], str | None],
                 is_fatal: Callable[[], bool] = lambda: False) -> tuple[int, str | None]:
    """Run ``check_one`` on up to ``examples`` drawn cases; return (cases run, message of the smallest failure).

    Deterministic for a given ``run_seed``. After a failure hypothesis shrinks the case and replays the
    smallest one last, so the message kept is the shrunk counterexample's. When ``is_fatal()`` turns true
    (the worker crashed or time ran out) no further student code runs and the first such message is kept.
    Raises GraderCheckError when ``check_one`` itself raises (a grader bug) or hypothesis fails on its own.
    """
    state = {"runs": 0, "message": None, "fatal_message": None, "grader_error": None}

    @seed(run_seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False, verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink))
    @given(strategy)
    def run(case):
        if state["fatal_message"] is not None or state["grader_error"] is not None:
            raise _Stop()
        state["runs"] += 1
        try:
            message = check_one(case)
        except Exception:
            state["grader_error"] = traceback.format_exc()
            raise _Stop() from None
        if message is not None:
            if is_fatal():
                state["fatal_message"] = message
                raise _Stop()
            state["message"] = message
            raise AssertionError(message)

    try:
        run()
    except Exception:  # a failure is in state; hypothesis' own wrapping of it is not needed
        if state["message"] is None and state["fatal_message"] is None and state["grader_error"] is None:
            raise GraderCheckError(f"hypothesis failed without a failing case:\n{traceback.format_exc()}") from None
    if state["grader_error"] is not None:
        raise GraderCheckError(f"the grader failed while judging a generated case:\n{state['grader_error']}")
    return state["runs"], state["fatal_message"] or state["message"]
