"""What the class did: score histogram, each check's mean and pass rate, and each check's most frequent
failures (which mistakes the class makes), from the structured results. Written as Markdown and PNG."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..outcomes import FailureKind, Status
from .gradebook import States

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
TOP_FAILURES = 5


@dataclass
class CheckSummary:
    name: str
    possible: float
    scores: list[float] = field(default_factory=list)
    passed: int = 0
    failures: Counter[Any] = field(default_factory=Counter)

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.scores) if self.scores else 0.0


KIND_SUMMARIES = {FailureKind.NOT_IMPLEMENTED: "not implemented yet", FailureKind.TIMEOUT: "did not finish in time",
                  FailureKind.CRASH: "crashed the worker", FailureKind.MEMORY: "used too much memory",
                  FailureKind.NOT_RUN: "not run", FailureKind.PROTOCOL: "interfered with the grader's worker"}


def failure_key(part: dict[str, Any]) -> str:
    """A failed part as a mistake shared across students: its label and what went wrong, without the numbers
    and the generated case (which differ from student to student)."""
    summary = KIND_SUMMARIES.get(FailureKind(part["kind"])) if part.get("kind") else None
    return f"{part['label']}: {summary or _first_finding(part.get('message') or '')}"


def _first_finding(message: str) -> str:
    """The first sentence of the first line that is not a case description (those end with a colon)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    finding = next((line for line in lines if not line.endswith(":")), lines[0] if lines else "")
    sentence = re.split(r"(?<=[.;])\s", finding, maxsplit=1)[0]
    return NUMBER.sub("#", sentence)[:160]


def summarise(states: States,
              checks: list[tuple[str, float]]) -> tuple[list[float], list[CheckSummary]]:
    """(each submission's total, a summary per check) over the submissions that were graded."""
    summaries = {name: CheckSummary(name, points) for name, points in checks}
    totals = []
    for state in states.values():
        report = state.get("report")
        if not report:
            totals.append(0.0)
            continue
        totals.append(0.0 if report.get("grader_error") else report["score"])
        for result in report["results"]:
            summary = summaries.get(result["name"])
            if summary is None or result["status"] == Status.SKIPPED:
                continue
            summary.scores.append(result["score"])
            summary.passed += result["status"] == Status.PASSED
            summary.failures.update({failure_key(p) for p in result["parts"] if not p["passed"]})
    return totals, list(summaries.values())


def misconceptions(states: States) -> Counter[Any]:
    """How many students each diagnosed misconception was named for ((check, id) -> students)."""
    named: Counter[Any] = Counter()
    for state in states.values():
        report = state.get("report") or {}
        named.update({(result["name"], part["details"]["diagnosis"]) for result in report.get("results", [])
                      for part in result["parts"] if part.get("details", {}).get("diagnosis")})
    return named


def misconception_table(named: Counter[Any], sentences: dict[str, str]) -> list[str]:
    """The summary's table "misconceptions in this class" (empty when none was named)."""
    if not named:
        return []
    lines = ["", "## Misconceptions in this class", "", "| check | misconception | what it does | students |",
             "|---|---|---|---:|"]
    return lines + [f"| {check} | `{id_}` | {_cell(sentences.get(id_, ''))} | {count} |"
                    for (check, id_), count in named.most_common()]


def markdown(totals: list[float], checks: list[CheckSummary], possible: float, statuses: Counter[Any],
             misconceptions_lines: Sequence[str] = ()) -> str:
    lines = [f"# Class summary: {len(totals)} submissions", ""]
    if totals:
        lines += [f"Mean {sum(totals) / len(totals):.1f} / {possible:g}, median {sorted(totals)[len(totals) // 2]:g}, "
                  f"min {min(totals):g}, max {max(totals):g}.", ""]
    lines += [f"Grading status: {', '.join(f'{status} {count}' for status, count in statuses.most_common())}.", ""]
    if statuses.get("partial"):
        lines += [f"**Scores not final: {statuses['partial']} submission(s) partial** (some checks not graded, e.g. "
                  "the accuracy stage without data: grade again with --data-root DIR or --download).", ""]
    lines += [
              "![score histogram and pass rates](summary.png)", "", "| check | mean | possible | pass rate |",
              "|---|---:|---:|---:|"]
    lines += [f"| {c.name} | {c.mean:.2f} | {c.possible:g} | {100 * c.pass_rate:.0f}% |" if c.scores else
              f"| {c.name} | skipped | {c.possible:g} | skipped |" for c in checks]
    lines += list(misconceptions_lines)
    for check in checks:
        if check.failures:
            lines += ["", f"## {check.name}: most frequent failures", "", "| students | failure |", "|---:|---|"]
            lines += [f"| {count} | {_cell(key)} |" for key, count in check.failures.most_common(TOP_FAILURES)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plot(path: Path, totals: list[float], checks: list[CheckSummary], possible: float) -> None:
    """Score histogram (left) and each check's pass rate (right) as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (histogram, rates) = plt.subplots(1, 2, figsize=(12, 4.5))
    histogram.hist(totals, bins=min(20, max(5, len(totals))), range=(0, possible or 1), color="tab:blue")
    histogram.set_xlabel("total score")
    histogram.set_ylabel("submissions")
    histogram.set_title(f"{len(totals)} submissions")
    names = [c.name for c in checks]
    rates.barh(names, [100 * c.pass_rate for c in checks], color="tab:green")
    rates.invert_yaxis()
    rates.set_xlim(0, 100)
    rates.set_xlabel("pass rate (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
