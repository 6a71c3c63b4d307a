"""What a call to student code gives back: a plain-data value or a failure, and the student's captured output; what
a failed call means (the exception it raised, memory run out, a function not called again); and the shape of each
worker call's value (plain data: JSON with tensors), as the grader reads it.

The worker's handlers build these values; the protocol carries them without pickle; the checks read them through
these types. A student's process may still send anything (a forged reply), so the checks judge values, never trust
them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    import torch

from ..outcomes import FailureKind


@dataclass(frozen=True)
class Failure:
    """Why a call to student code produced no value; ``message`` is written for the student."""

    kind: FailureKind
    message: str
    traceback: str = ""
    """The frames of the submission's own files, when the student's code raised."""
    function: str | None = None
    """The student function the failure is attributed to (e.g. "backpropagation", "MyMLP.__init__")."""
    limit: str = ""
    """For a timeout, which limit ended the call: "cpu" or "wall" (the call's budget) or "check" (the check's)."""


@dataclass
class Reply:
    """The outcome of one call: a plain-data ``value`` or a ``failure``, and the student's captured output."""

    value: Any = None
    """What the handler returned (the TypedDicts of :mod:`grader.sandbox.reply` say which shape, per call)."""
    failure: Failure | None = None
    output: str = ""
    cpu_seconds: float | None = None
    """CPU time the worker (and what it started) used for this call, as the grader measured it from outside."""
    retried: str = ""
    """Why the call was run a second time on a fresh worker (empty when it was not)."""
    startup_seconds: float = 0.0
    """Time spent starting a fresh worker for a retry (not the student's)."""

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class PendingCall:
    """A call sent to the worker and not yet answered; the host's ``finish`` waits for its Reply."""

    call: str
    sequence: int | None
    function: str | None = None
    unsent: memoryview = field(default_factory=lambda: memoryview(b""))
    """Bytes of the request the pipe did not take yet (written while waiting for the reply)."""
    early: Reply | None = None
    """Answered without the worker: the submission did not import, or the function is no longer called."""
    startup_seconds: float = 0.0
    """Time spent starting and loading a worker for this call (not the student's time)."""
    sent_at: float = 0.0
    """time.monotonic() when the request was sent (a call's wall-time ceiling counts from there)."""
    cpu_start: float | None = None
    """The worker's CPU seconds when the request was sent (its CPU budget counts from there)."""
    payload: dict[str, Any] | None = None
    """The request's payload, kept to run the call once more on a fresh worker."""


# ---------------------------------------------------------------- what a failed call means

def attributed(failure: Failure, function: str | None) -> Failure:
    """``failure`` blamed on ``function`` unless it already names one."""
    return dataclasses.replace(failure, function=failure.function or function)


def over_budget(reply: Reply) -> bool:
    """A call that used up its own budget (CPU or wall ceiling), not the check's time."""
    return reply.failure is not None and reply.failure.kind is FailureKind.TIMEOUT and \
        reply.failure.limit in ("cpu", "wall")


OUT_OF_MEMORY = ("MemoryError", "OutOfMemoryError", "can't allocate memory", "CUDA out of memory")
"""How Python and torch's allocators say that memory ran out: every further call would exhaust it again, so such
a call is neither retried nor shrunk, and the function is not called again."""


def _exception_kind(error: dict[str, Any]) -> FailureKind:
    if error.get("type") == "NotImplementedError":
        return FailureKind.NOT_IMPLEMENTED
    text = f"{error.get('type', '')}: {error.get('message', '')}"
    return FailureKind.MEMORY if any(sign in text for sign in OUT_OF_MEMORY) else FailureKind.EXCEPTION


def student_exception(reported: object, function: str | None) -> Failure:
    """The Failure for the exception a worker reported (whatever shape it came in: a forged reply is read safely)."""
    error: dict[str, Any] = reported if isinstance(reported, dict) else {}
    kind = _exception_kind(error)
    message = f"{error.get('type', 'Exception')}: {error.get('message', '')}".rstrip(": ")
    where = error.get("where") if isinstance(error.get("where"), str) else None
    return Failure(kind, message, str(error.get("traceback", "")), where or function)


WHAT_ENDED_IT = {FailureKind.TIMEOUT: "ran out of time", FailureKind.CRASH: "ended the grader's worker",
                 FailureKind.MEMORY: "ran out of memory", FailureKind.PROTOCOL: "broke the grader's protocol",
                 FailureKind.FLOOD: "printed too much"}


def not_run_again(function: str, failure: Failure) -> Failure:
    """Why ``function`` is not called again after ``failure`` ended its worker."""
    return Failure(FailureKind.NOT_RUN, f"an earlier call of {function} {WHAT_ENDED_IT[failure.kind]} "
                   f"({failure.message}), so it is not called again for this submission", function=function)


# ---------------------------------------------------------------- the shape of each call's value

class Gradients(TypedDict):
    dL_dw: dict[str, Any]
    dL_db: dict[str, Any]


class BackpropReply(Gradients, total=False):
    autograd_calls: int
    params_after: dict[str, torch.Tensor]
    x_after: torch.Tensor
    y_after: torch.Tensor
    y_pred_changed: bool


class TrainingReply(TypedDict, total=False):
    history: Any
    params_after: dict[str, torch.Tensor]
    returned_params: dict[str, torch.Tensor]
    """The parameters of a model the function returned, when it is not the model the grader passed."""
    optimizers: int
