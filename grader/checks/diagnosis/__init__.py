"""Naming the mistake behind a wrong answer: which misconception of the catalogue the student's values follow.

For a failing part, each misconception of its function is imitated by the grader (its own float64 arithmetic, from
the case alone) on the failing case; those that give the student's values there, where the correct answer does not,
are then imitated on a few more cases the student's code also answered. A misconception is named only when it gives
the student's values on all of them; when several do, the simplest (the catalogue's order) is named and the others
are mentioned; when none does, nothing is said (never a guess).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ...outcomes import FailureKind
from ...report.results import Part
from .catalogue import CATALOGUE, Misconception, misconception, of

__all__ = ["CATALOGUE", "Diagnosis", "Misconception", "diagnosed", "first_match", "misconception", "of"]


@dataclass(frozen=True)
class Diagnosis:
    """A misconception that explains the student's values on ``cases`` cases (the failing one included)."""

    misconception: Misconception
    cases: int
    also: tuple[str, ...] = ()
    detail: str = ""
    """What exactly (e.g. "after hidden layer 2"), when the misconception has a parameter."""
    wording: str = ""
    """The whole sentence, when the evidence is not a value (e.g. code that raises on a batch of several)."""

    @property
    def id(self) -> str:
        return self.misconception.id

    def sentence(self, what: str) -> str:
        """One sentence for the student: ``what`` ("Your gradients") equal what the misconception gives."""
        if self.wording:
            return f"Diagnosis: {self.wording}"
        more = f" and {self.cases - 1} more" if self.cases > 1 else ""
        detail = f" ({self.detail})" if self.detail else ""
        also = f" It is also what {', '.join(self.also)} would give." if self.also else ""
        return (f"Diagnosis: {what} equal what {self.misconception.sentence}{detail} gives, on this case{more}."
                + also)


def first_match(target: str, candidates: dict[str, Callable[[], tuple[bool, str]]],
                cases: int) -> Diagnosis | None:
    """The first misconception of ``target`` (catalogue order) whose check passes; ``candidates`` maps an id to a
    function giving (holds on every case, detail). The others that hold are mentioned."""
    held = []
    for entry in of(target):
        check = candidates.get(entry.id)
        if check is None:
            continue
        holds, detail = check()
        if holds:
            held.append((entry, detail))
    if not held:
        return None
    (first, detail), others = held[0], held[1:]
    return Diagnosis(first, cases, tuple(entry.sentence for entry, _ in others), detail)


def diagnosed(part: Part, diagnosis: Diagnosis | None, what: str) -> Part:
    """``part`` with the diagnosis sentence added to its message and its id in ``details["diagnosis"]``."""
    if diagnosis is None or part.passed or part.kind not in (FailureKind.WRONG, FailureKind.EXCEPTION):
        return part
    return dataclasses.replace(part, message=f"{part.message}\n{diagnosis.sentence(what)}",
                               details={**part.details, "diagnosis": diagnosis.id})


Knobs = TypeVar("Knobs")


def first_setting(settings: Sequence[Knobs], gives_their_values: Callable[[Knobs], bool],
                  detail: Callable[[Knobs], str]) -> Callable[[], tuple[bool, str]]:
    """A check for :func:`first_match`: it holds with the first of a misconception's ``settings`` that gives the
    student's values on every observation, and says that setting's ``detail``."""
    def holds() -> tuple[bool, str]:
        for knobs in settings:
            if gives_their_values(knobs):
                return True, detail(knobs)
        return False, ""
    return holds
