"""Outcomes: how a check ended (:class:`Status`) and why a part of it failed (:class:`FailureKind`). Values are plain
strings in JSON."""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """How a check ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    """The grader itself failed: 0 points, a visible autograder error, the traceback for the instructor."""

    def __str__(self) -> str:
        return self.value


class FailureKind(str, Enum):
    """Why a part of a check failed, or why a call to student code produced no value."""

    WRONG = "wrong"
    """The student's code ran and returned something wrong."""
    EXCEPTION = "exception"
    NOT_IMPLEMENTED = "not_implemented"
    TIMEOUT = "timeout"
    CRASH = "crash"
    MEMORY = "memory"
    PROTOCOL = "protocol"
    """The worker wrote something that is not an answer to the grader's request."""
    FLOOD = "flood"
    """The call printed more than the flood limit: stopped there, the worker replaced."""
    IMPORT = "import"
    BINDING = "binding"
    """The student's signature cannot take the call (a required parameter the assignment does not provide, or no
    parameter for a value the call needs): decided by the grader from the signature, never charged twice."""
    NOT_RUN = "not_run"
    """Not called: the function timed out or crashed earlier, or the time for the submission ran out."""

    def __str__(self) -> str:
        return self.value

    @property
    def ends_worker(self) -> bool:
        """The worker was killed or died, or the call exhausted its memory: the function that ran is not called
        again for this submission."""
        return self in (FailureKind.TIMEOUT, FailureKind.CRASH, FailureKind.MEMORY, FailureKind.PROTOCOL,
                        FailureKind.FLOOD)
