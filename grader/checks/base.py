"""What every check shares: what it may ask of the worker host, its context, and phrasing failed calls (the
hypothesis case search is in :mod:`grader.checks.search`)."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..assignment.binding import Binding
from ..assignment.declaration import Assignment
from ..outcomes import FailureKind
from ..report.printed import shortened
from ..report.results import Part
from ..sandbox.channel import TAIL_BYTES
from ..sandbox.cpu import CallBudget
from ..sandbox.reply import Failure, PendingCall, Reply
from .registry import Settings
from .rubric import CheckSpec, Rubric

_S = TypeVar("_S", bound=Settings)
_R = TypeVar("_R")


class WorkerHost(Protocol):
    """What a check needs from the process that runs student code (see :class:`grader.sandbox.host.Host`)."""

    device: str

    def begin(self, call: str, payload: dict[str, Any]) -> PendingCall:
        """Send a call to the worker now; the grader may work until :meth:`finish`."""

    def finish(self, pending: PendingCall, *, timeout: float, budget: CallBudget | None = None) -> Reply:
        """The reply to a call sent with :meth:`begin`, waiting at most ``timeout`` seconds, within ``budget``
        (retried once on a fresh worker with a larger budget when over it)."""

    def description(self) -> Reply:
        """What importing the submission found: per module, whether it imported; per declared callable, where it
        was found and its parameters, or why it is missing."""

    def found(self, key: str) -> dict[str, Any] | None:
        """How the declared callable ``key`` was found (see :meth:`grader.sandbox.host.Host.found`)."""

    def binding(self, key: str) -> Binding | None:
        """How the declared roles of ``key`` bind to the student's signature (None when unknown)."""

    def scratch_dir(self) -> Path:
        """A folder the grader writes into and the worker may read (e.g. datasets for load_cifar)."""


class CheckTimeUp(Exception):
    """The check's wall-time budget ran out."""


class Skip(Exception):
    """The check cannot run here (e.g. no data was given); the message says why and what to do."""


@dataclass
class Context:
    """What a check may use: the worker host, the rubric, its own settings and deadline, and run options."""

    host: WorkerHost
    rubric: Rubric
    spec: CheckSpec
    deadline: float
    assignment: Assignment
    data_root: Path | None = None
    cache_dir: Path | None = None
    outputs: list[str] = field(default_factory=list)
    budgets: list[tuple[str, float, float]] = field(default_factory=list)
    """(call, CPU seconds it used, its CPU budget) of every call made with a budget."""
    calls: int = 0
    """Calls of the student's code this check made."""
    retries: list[str] = field(default_factory=list)
    """For each call that went over its budget and was run once more on a fresh worker: what happened."""
    budget_end: float | None = None
    """When the grading's time budget (``--time-budget``) runs out (monotonic clock); None: no budget."""
    budget_seconds: float | None = None
    """That budget, in seconds."""

    def budget_left(self) -> float | None:
        """Seconds left of the grading's time budget (None: no budget)."""
        return None if self.budget_end is None else self.budget_end - time.monotonic()

    @property
    def settings(self) -> Settings:
        return self.spec.settings

    def settings_as(self, kind: type[_S]) -> _S:
        """This check's settings as the dataclass its declaration names (e.g. GeneratedCases for ``examples``)."""
        settings = self.spec.settings
        if not isinstance(settings, kind):
            raise TypeError(f"check {self.spec.name} has {type(settings).__name__} settings, not {kind.__name__}")
        return settings

    @property
    def seed(self) -> int:
        return self.rubric.seed

    @property
    def device(self) -> str:
        return self.host.device

    def has_role(self, key: str, role: str) -> bool:
        """Whether the student's version of ``key`` takes ``role`` (True when that cannot be told: the call then
        says what went wrong)."""
        binding = self.host.binding(key)
        return binding is None or binding.has(role)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def call(self, name: str, payload: dict[str, Any], reference_seconds: float | None = None) -> Reply:
        """Call handler ``name`` in the worker within what is left of this check's time (and the call's budget,
        see :meth:`finish`)."""
        return self.finish(self.begin(name, payload), reference_seconds)

    def begin(self, name: str, payload: dict[str, Any]) -> PendingCall:
        """Send a call now and finish it later with :meth:`finish`; time spent (re)starting a worker is not
        charged to the check."""
        if self.remaining() <= 0:
            raise CheckTimeUp()
        pending = self.host.begin(name, payload)
        self.deadline += pending.startup_seconds
        self.calls += 1
        return pending

    def budget(self, reference_seconds: float) -> CallBudget:
        """What a call may use when the grader's own computation of the same case takes ``reference_seconds`` of
        CPU: a generous multiple of it plus a floor, in the worker's CPU time, and a wall-time ceiling a multiple
        of that (the rubric's limits)."""
        limits = self.rubric.limits
        cpu = limits.call_floor_seconds + limits.call_multiple * reference_seconds
        return CallBudget(cpu, cpu * limits.call_wall_multiple)

    def finish(self, pending: PendingCall, reference_seconds: float | None = None) -> Reply:
        """The Reply of a call started with :meth:`begin`, within what is left of this check's time and, when
        ``reference_seconds`` (the CPU time the grader's own computation of the same case took) is given, within
        the call's budget (see :meth:`budget`; a call over it is run once more on a fresh worker)."""
        budget = self.budget(reference_seconds) if reference_seconds is not None and pending.sent_at else None
        reply = self.host.finish(pending, timeout=max(self.remaining(), 0.01), budget=budget)
        self.deadline += reply.startup_seconds
        if budget is not None and reply.ok and reply.cpu_seconds is not None:
            self.budgets.append((pending.call, reply.cpu_seconds, budget.cpu_seconds))
        if reply.retried:
            outcome = "then finished" if reply.ok else "and again"
            self.retries.append(f"{pending.function or pending.call}: {reply.retried}; run once more on a fresh worker "
                                f"with twice the limit, it {outcome}"
                                + (f" ({_duration(reply.cpu_seconds)} of CPU)." if reply.cpu_seconds is not None
                                   else "."))
        if reply.output:
            self.outputs.append(reply.output)
        if reply.failure is not None and reply.failure.kind is FailureKind.TIMEOUT and pending.early is None:
            reply.failure = dataclasses.replace(reply.failure, message=self._time_up(budget, reply.failure,
                                                                                     reference_seconds))
        return reply

    def _time_up(self, budget: CallBudget | None, failure: Failure, reference_seconds: float | None) -> str:
        if budget is None or failure.limit not in ("cpu", "wall"):
            return f"did not finish within this check's time limit of {self.time_limit():g} s"
        limits = self.rubric.limits
        retried = budget.larger()
        if failure.limit == "cpu":
            return (f"used more than {retried.cpu_seconds:.1f} s of CPU time, twice the limit for this case, on a "
                    f"fresh worker after a first try over {budget.cpu_seconds:.1f} s: the grader's own computation "
                    f"of it takes {_duration(reference_seconds or 0.0)} of CPU (the limit is {limits.call_multiple:g} "
                    f"times that plus {limits.call_floor_seconds:g} s)")
        return (f"was still running after {retried.wall_seconds:.0f} s, on a fresh worker after a first try of "
                f"{budget.wall_seconds:.0f} s, without using its CPU budget: is it waiting for something (a sleep, "
                "input(), a lock)?")

    def time_limit(self) -> float:
        return self.spec.check.time_limit(self.settings, self.rubric.limits.check_seconds)

    def student_output(self) -> str:
        """What the student's code printed during this check: within the rubric's output cap, its head and its
        tail (see :func:`grader.report.printed.shortened`)."""
        return shortened("".join(self.outputs), self.rubric.limits.output_kb * 1024, TAIL_BYTES)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def timed(function: Callable[..., _R], *arguments: Any) -> tuple[_R, float]:
    """(function(*arguments), the CPU seconds it took): the grader's own cost of a case, for the call's budget
    (CPU time: a busy machine slows the grader and the student alike, but takes CPU time from neither)."""
    started = time.process_time()
    result = function(*arguments)
    return result, time.process_time() - started


def failure_text(call: str, failure: Failure) -> str:
    """What happened when the student's ``call`` produced no value, phrased for the student."""
    kind = failure.kind
    if kind in (FailureKind.IMPORT, FailureKind.WRONG, FailureKind.BINDING):
        text = failure.message
    elif kind is FailureKind.NOT_RUN:
        text = f"{call} was not run: {failure.message}"
    elif kind in (FailureKind.EXCEPTION, FailureKind.NOT_IMPLEMENTED):
        text = f"{call} raised {failure.message}"
    elif kind is FailureKind.TIMEOUT:
        text = f"{call} {failure.message} (an endless loop, or far too slow?)"
    elif kind is FailureKind.MEMORY:
        text = f"{call} ran out of memory: {failure.message}"
    elif kind is FailureKind.FLOOD:
        text = f"{call} {failure.message}"
    else:
        text = f"{call} stopped the grader's worker: {failure.message}"
    if failure.traceback:
        text += f"\nWhere, in your files:\n{failure.traceback.rstrip()}"
    if kind is FailureKind.NOT_IMPLEMENTED:
        text += "\n(not implemented yet)"
    if failure.message.startswith(("ModuleNotFoundError", "PermissionError")):
        text += ("\n(The grader's sandbox can only use modules it loaded before running your code. If this module "
                 "works on your machine, tell your instructor its name.)")
    return text


def failed_call(label: str, call: str, failure: Failure | None, *, context: str = "", weight: float = 1.0) -> Part:
    """A failed part for a call that produced no value (``failure``: the Reply's, which a failed call always
    has); ``context`` (e.g. the case) comes first."""
    if failure is None:
        raise ValueError("failed_call needs the failure of a call that failed")
    message = f"{context}:\n{failure_text(call, failure)}" if context else failure_text(call, failure)
    return Part.fail(label, message, failure.kind, weight, {"function": failure.function} if failure.function else {})


def out_of_time(label: str, weight: float = 1.0) -> Part:
    return Part.fail(label, "the check ran out of time", FailureKind.TIMEOUT, weight)


def not_checked(label: str, failure: Failure) -> Part:
    """A part that could not be checked because the call could not be bound to the student's signature: worth
    nothing either way (the function's own check charges for it, once)."""
    return Part(label, True, f"not checked: {failure.message}", 0.0, None,
                {"not_checked": True, **({"function": failure.function} if failure.function else {})})
