"""What a call to student code gives back: a plain-data value or a failure, and the student's captured output; and
the shape of each worker call's value (plain data: JSON with tensors), as the grader reads it.

The worker's handlers build these values; the protocol carries them without pickle; the checks read them through
these types. A student's process may still send anything (a forged reply), so the checks judge values, never trust
them.
"""
from __future__ import annotations

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
