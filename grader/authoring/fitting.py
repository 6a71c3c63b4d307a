"""``assignment new`` declares only what the solution passes: the solution is graded (CPU stage, one seed) with the
declaration drafted from its code, and each case family it fails is taken out of the declaration, saying why.

- mini-batches failed while single samples pass: the backward pass is written for one sample (``delta.view(-1, 1) *
  a``): ``max_batch = 1``, and no mini-batch check;
- an activation failed while others pass: the given network does not compute it (or the backward pass does not
  handle it): it is left out of ``activations``;
- any other check the solution still fails is left out of the rubric, with the reason, so that ``verify`` on what
  ``new`` wrote never fails the solution it was written from.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment.declaration import DEFAULT_NAME, PACKAGED, parse
from ..checks.rubric import load_rubric
from ..report.results import Report
from .declare import Draft
from .verify import Grader
from .write import applicable_checks

MINI_BATCH, ONE_SAMPLE = "backpropagation_mini_batch", "backpropagation_one_sample"
DEFAULT_RUBRIC = PACKAGED / DEFAULT_NAME / "rubric.toml"
"""The rubric ``new`` writes from: the checks the solution is graded with here."""


@dataclass
class Fitting:
    """What grading the solution changed in the draft: notes for the declaration, checks left out with why."""

    notes: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)


def fit_to_solution(draft: Draft, solution: Path, *, sandbox: str = "auto") -> Fitting:
    """Grade ``solution`` with ``draft`` and narrow ``draft`` (in place) to the case families the solution passes."""
    fitting = Fitting()
    report = _grade(draft, solution, sandbox)
    if _failed(report, MINI_BATCH) and not _failed(report, ONE_SAMPLE):
        draft.network["max_batch"] = 1
        fitting.notes.append("the solution's backpropagation passes on one sample but not on mini-batches "
                             f"({_first_failure(report, MINI_BATCH)}): max_batch = 1, and no mini-batch check")
        report = _grade(draft, solution, sandbox)
    if _failed(report, ONE_SAMPLE):
        _narrow_activations(draft, solution, sandbox, fitting)
        report = _grade(draft, solution, sandbox)
    for result in report.results:
        if result.max_score > 0 and not result.passed and result.status != "skipped":
            fitting.left_out[result.name] = _first_failure(report, result.name)
    return fitting


def _narrow_activations(draft: Draft, solution: Path, sandbox: str, fitting: Fitting) -> None:
    """Keep the activations on which the solution's backpropagation passes (all of them when it passes on none)."""
    listed = draft.network.get("activations", ())
    declared = [str(a) for a in listed] if isinstance(listed, (list, tuple)) else []
    passing = [a for a in declared
               if not _failed(_grade(_with(draft, activations=[a]), solution, sandbox, (ONE_SAMPLE,)), ONE_SAMPLE)]
    if passing and len(passing) < len(declared):
        draft.network["activations"] = passing
        failing = ", ".join(a for a in declared if a not in passing)
        fitting.notes.append(f"the solution's backpropagation fails with {failing}: activations = {passing}")


def _with(draft: Draft, **network: object) -> Draft:
    return dataclasses.replace(draft, network={**draft.network, **network})


def _grade(draft: Draft, solution: Path, sandbox: str, only: tuple[str, ...] = ()) -> Report:
    assignment = parse(draft.raw(provisional=True), Path(solution))  # a TODO's guess, as the probe runs it
    grader = Grader(assignment, DEFAULT_RUBRIC, sandbox, _checks(draft, only))
    try:
        return grader(Path(solution))
    finally:
        grader.close()


def _checks(draft: Draft, only: tuple[str, ...]) -> tuple[str, ...]:
    rubric = load_rubric(DEFAULT_RUBRIC)
    names = [n for n in applicable_checks(draft) if not only or n in only]
    return tuple(n for n in names if not rubric.spec(n).check.needs_data)


def _failed(report: Report, check: str) -> bool:
    return any(r.name == check and r.status == "failed" for r in report.results)


def _first_failure(report: Report, check: str) -> str:
    """The check's first failing part: its label and its first finding (not the line that introduces the case)."""
    result = next(r for r in report.results if r.name == check)
    part = next((p for p in result.parts if not p.passed), None)
    if part is None:
        return (result.skipped or result.error or "failed")[:300]
    lines = [line.strip() for line in part.message.splitlines() if line.strip()]
    finding = next((line for line in lines if not line.endswith(":")), lines[0] if lines else "")
    return f"{part.label}: {finding}"[:300]
