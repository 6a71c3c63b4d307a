"""Results as small dataclasses with computed totals; every report format is built from these."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

STATUSES = ("passed", "failed", "skipped", "error")


@dataclass(frozen=True)
class Part:
    """One scored item inside a check (e.g. 'rejects a corrupted bias')."""

    label: str
    passed: bool
    message: str = ""


@dataclass
class CheckResult:
    """The outcome of one check. ``feedback`` is for the student; ``details`` is plain data for instructors."""

    name: str
    title: str
    max_score: float
    score: float = 0.0
    status: str = "failed"
    feedback: str = ""
    output: str = ""
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        self.score = max(0.0, min(float(self.score), float(self.max_score)))

    @classmethod
    def from_parts(cls, name: str, title: str, max_score: float, parts: list[Part], **extra) -> "CheckResult":
        """Score ``max_score`` times the fraction of passed parts; feedback lists each part."""
        passed = sum(p.passed for p in parts)
        lines, shown = [], set()
        for part in parts:
            lines.append(f"[{'ok' if part.passed else 'FAIL'}] {part.label}")
            if not part.passed and part.message:
                lines.append(_indent("(same reason as above)" if part.message in shown else part.message))
                shown.add(part.message)
        return cls(name, title, max_score, max_score * passed / len(parts) if parts else 0.0,
                   "passed" if parts and passed == len(parts) else "failed", "\n".join(lines), **extra)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    """All check results of one submission, with what the grader knows about how it ran."""

    submission: str
    results: list[CheckResult]
    execution_time: float = 0.0
    protections: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    grader_error: str | None = None

    @property
    def score(self) -> float:
        return 0.0 if self.grader_error else sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    @property
    def flags(self) -> list[str]:
        """Notes for the instructor (e.g. implausibly high accuracy), gathered from every check."""
        return [flag for r in self.results for flag in r.details.get("flags", [])]

    def to_dict(self) -> dict:
        return {"submission": self.submission, "score": self.score, "max_score": self.max_score,
                "execution_time": self.execution_time, "protections": self.protections, "metadata": self.metadata,
                "grader_error": self.grader_error, "flags": self.flags,
                "results": [r.to_dict() for r in self.results]}


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
