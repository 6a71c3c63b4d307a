"""Results as small dataclasses with computed totals; every report format is rendered from these.

A check's result is a list of weighted parts; its score and status are computed from them, never stored.
Nothing here imports torch, so a fail-closed report can be written even when torch is broken.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..outcomes import FailureKind, Status

AUTOGRADER_ERROR = ("Autograder error: the grader failed while running this check. This is not your fault; "
                    "your instructor can see the details.")


def points(value: float) -> str:
    """A score as every report prints it: at most 2 decimals, no trailing zeros (``8.33``, ``25``)."""
    return f"{round(value, 2):g}"


@dataclass(frozen=True)
class Part:
    """One scored item inside a check (e.g. 'rejects a corrupted bias'), worth ``weight`` of the check."""

    label: str
    passed: bool
    message: str = ""
    weight: float = 1.0
    kind: FailureKind | None = None
    """Why it failed (None when it passed)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Plain data for instructors and gradebooks (e.g. {"function": "backpropagation", "accuracy": 0.84})."""

    @classmethod
    def ok(cls, label: str, message: str = "", weight: float = 1.0, details: dict[str, Any] | None = None) -> Part:
        return cls(label, True, message, weight, None, details or {})

    @classmethod
    def fail(cls, label: str, message: str, kind: FailureKind = FailureKind.WRONG, weight: float = 1.0,
             details: dict[str, Any] | None = None) -> Part:
        return cls(label, False, message, weight, FailureKind(kind), details or {})

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value if self.kind else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Part:
        return cls(**{**data, "kind": FailureKind(data["kind"]) if data.get("kind") else None})


@dataclass
class CheckResult:
    """The outcome of one check: its parts, or why it was skipped, or the grader's own error."""

    name: str
    title: str
    max_score: float
    parts: tuple[Part, ...] = ()
    skipped: str | None = None
    """Why the check did not run (0 points), e.g. no data was given."""
    error: str | None = None
    """The grader's traceback when the grader itself failed (instructors only)."""
    output: str = ""
    """What the student's code printed during the check (capped)."""
    visibility: str = "visible"
    """When students see this check on Gradescope (the rubric's visibility)."""
    timing: dict[str, float] = field(default_factory=dict)
    """Where its time went: ``wall`` and ``cpu`` seconds (``grader_cpu`` + ``worker_cpu``), ``calls`` to the
    student's code, sandbox ``round_trips`` (empty for a check that did not run)."""
    not_graded: bool = False
    """Skipped for want of what grading it needs (the data), not for anything the submission did: its points are
    still open, and the report's score is not final."""

    @property
    def status(self) -> Status:
        if self.error is not None:
            return Status.ERROR
        if self.skipped is not None:
            return Status.SKIPPED
        nothing_checked = self.max_score > 0 and not any(p.weight for p in self.parts)
        return Status.PASSED if self.parts and all(p.passed for p in self.parts) and not nothing_checked \
            else Status.FAILED

    @property
    def score(self) -> float:
        """``max_score`` times the weighted fraction of passed parts (0 when skipped or in error)."""
        total = sum(p.weight for p in self.parts)
        if self.status in (Status.ERROR, Status.SKIPPED) or total <= 0:
            return 0.0
        return self.max_score * sum(p.weight for p in self.parts if p.passed) / total

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def failed_parts(self) -> list[Part]:
        return [p for p in self.parts if not p.passed]

    @property
    def not_implemented(self) -> list[str]:
        """The student functions still stubbed, when that is why this check fails (else []): every failed part
        is not implemented, or was not run because of that."""
        failed = self.failed_parts
        stubbed = [p for p in failed if p.kind is FailureKind.NOT_IMPLEMENTED]
        if self.status is not Status.FAILED or not stubbed or \
                any(p.kind not in (FailureKind.NOT_IMPLEMENTED, FailureKind.NOT_RUN) for p in failed):
            return []
        return sorted({p.details.get("function", "?") for p in stubbed})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "max_score": self.max_score, "score": self.score,
                "status": self.status.value, "parts": [p.to_dict() for p in self.parts], "skipped": self.skipped,
                "error": self.error, "output": self.output, "visibility": self.visibility, "timing": self.timing,
                "not_graded": self.not_graded}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(data["name"], data["title"], data["max_score"], tuple(Part.from_dict(p) for p in data["parts"]),
                   data.get("skipped"), data.get("error"), data.get("output", ""), data.get("visibility", "visible"),
                   data.get("timing", {}), bool(data.get("not_graded", False)))


@dataclass
class Report:
    """All check results of one submission, with what the grader knows about how it ran."""

    submission: str
    results: list[CheckResult]
    execution_time: float = 0.0
    protections: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    grader_error: str | None = None
    notes: list[str] = field(default_factory=list)
    """Student-visible notes about the submission as a whole (e.g. which folder or notebook cells were used)."""
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    """Gradescope's leaderboard entries ({"name", "value", "order"}) when the rubric asks for them."""

    @property
    def score(self) -> float:
        return 0.0 if self.grader_error else sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    @property
    def not_graded(self) -> list[CheckResult]:
        """The checks whose points are still open (e.g. the accuracy stage without data)."""
        return [r for r in self.results if r.not_graded and r.status is Status.SKIPPED and r.max_score > 0]

    @property
    def final(self) -> bool:
        """Whether the score is the submission's grade: the grader did not fail and every check was graded."""
        return not self.grader_error and not self.not_graded

    def not_final_reason(self) -> str:
        """Why the score is not final, in one sentence for students and instructors ("" when it is)."""
        if self.grader_error:
            return "The autograder itself failed; the score is not final."
        open_points = sum(r.max_score for r in self.not_graded)
        if not open_points:
            return ""
        why = (self.not_graded[0].skipped or "skipped").splitlines()[0].rstrip(".")
        if len(self.not_graded) == sum(r.max_score > 0 for r in self.results):
            return f"Score not final: nothing was graded ({why.removeprefix('not graded: ')})."
        names = ", ".join(r.name for r in self.not_graded)
        return (f"Score not final: {points(open_points)} of {points(self.max_score)} points not graded ({names}: "
                f"{why}).")

    @property
    def flags(self) -> list[str]:
        """Notes for the instructor (e.g. implausibly high accuracy), gathered from every part of every check."""
        return [flag for r in self.results for p in r.parts for flag in p.details.get("flags", [])]

    def to_dict(self) -> dict[str, Any]:
        return {"submission": self.submission, "score": self.score, "max_score": self.max_score,
                "execution_time": self.execution_time, "protections": self.protections, "metadata": self.metadata,
                "grader_error": self.grader_error, "final": self.final, "notes": self.notes, "flags": self.flags,
                "leaderboard": self.leaderboard, "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(data["submission"], [CheckResult.from_dict(r) for r in data["results"]],
                   data.get("execution_time", 0.0), data.get("protections", {}), data.get("metadata", {}),
                   data.get("grader_error"), data.get("notes", []), data.get("leaderboard", []))


def ids_in(parts: Iterable[Part]) -> list[str]:
    """The diagnosis ids of these parts, each once, in order."""
    return list(dict.fromkeys(p.details["diagnosis"] for p in parts if p.details.get("diagnosis")))
