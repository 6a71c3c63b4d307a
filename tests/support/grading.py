"""Helpers the tests share: the real data, rubrics cut down to some checks, grading through one fork server, and
the golden scores."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from grader.checks import run
from grader.checks.rubric import Rubric, load_rubric
from grader.options import GradingSetup
from grader.report.results import Report
from grader.sandbox.zygote import Zygote
from tests.catalogue import REFERENCE, ROOT, TEMPLATE, write_submission

SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10-airplane-bird"
GOLDEN_FILE = Path(__file__).resolve().parents[1] / "golden" / "scores.json"


def shared_data() -> Path:
    """The real CIFAR-10 airplane/bird folder; skips the test (with the reason) when it is absent."""
    if not (SHARED_DATA / "train" / "airplane").is_dir():
        pytest.skip(f"the real data is not at {SHARED_DATA} (CI and the dev machines have it there)")
    return SHARED_DATA


def rubric_for(*names: str, examples: int | None = None, **limits: Any) -> Rubric:
    """The default rubric restricted to the checks ``names`` (all when none), optionally fewer examples."""
    rubric = load_rubric()
    rubric = rubric.only(*names) if names else rubric
    if examples is not None:
        for spec in rubric.checks:
            if hasattr(spec.settings, "examples"):
                rubric = rubric.configure(spec.name, examples=min(spec.settings.examples, examples))
    return dataclasses.replace(rubric, limits=dataclasses.replace(rubric.limits, **limits))


_shared_fork_server: Zygote | None = None


def fork_server() -> Zygote:
    """One fork server for the whole session. It holds nothing of any submission (each grading forks fresh workers,
    as a batch does), and sharing it saves the ~3-9 s that starting one (a new interpreter importing torch) adds to
    every grading or Host."""
    global _shared_fork_server
    if _shared_fork_server is None:
        _shared_fork_server = Zygote()
    return _shared_fork_server


class Borrowed:
    """The session's fork server lent to code that closes what it made: everything but :meth:`close` is passed on."""

    def __init__(self, server: Zygote):
        self._server = server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)

    def close(self) -> None:
        """Left open: the session closes it (:func:`close_fork_server`)."""


def grade(submission: Path, rubric: Rubric, *, options: GradingSetup | None = None) -> Report:
    """grader.checks.run.grade through the session's fork server (:func:`fork_server`)."""
    return run.grade(submission, rubric, options=options or GradingSetup(), zygote=fork_server())


def close_fork_server() -> None:
    """Stop the shared fork server (at the end of the session)."""
    global _shared_fork_server
    if _shared_fork_server is not None:
        _shared_fork_server.close()
        _shared_fork_server = None


def scores_of(report: Report) -> dict[str, list[Any]]:
    """Each check's [score, status] (what the golden file records)."""
    return {r.name: [round(r.score, 6), str(getattr(r.status, "value", r.status))] for r in report.results}


class Golden:
    """Scores recorded from an earlier grader (tests/golden/scores.json): a change of score is a failure
    unless the run says ``--update-golden`` (a deliberate change of grading, reviewed in the diff)."""

    def __init__(self, update: bool):
        self.update = update
        self.recorded = json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.is_file() else {}
        self.changed = False

    def check(self, key: str, report: Report) -> None:
        scores = scores_of(report)
        if self.update:
            self.changed |= self.recorded.get(key) != scores
            self.recorded[key] = scores
            return
        assert key in self.recorded, f"no golden scores for {key!r}: run pytest --update-golden once"
        assert scores == self.recorded[key], f"scores of {key!r} changed from {self.recorded[key]} to {scores}"

    def save(self) -> None:
        if self.update and self.changed:
            GOLDEN_FILE.parent.mkdir(exist_ok=True)
            GOLDEN_FILE.write_text(json.dumps(dict(sorted(self.recorded.items())), indent=1) + "\n")


__all__ = ["REFERENCE", "ROOT", "SHARED_DATA", "TEMPLATE", "Borrowed", "Golden", "close_fork_server", "fork_server",
           "grade", "rubric_for", "scores_of", "shared_data", "write_submission"]
