"""Shared test set-up: hypothesis profiles, paths, golden scores, and helpers that grade a submission written on
the fly."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from grader import pipeline
from grader.options import GradingSetup
from grader.rubric import load_rubric
from grader.sandbox.zygote import Zygote

from .catalogue import REFERENCE, ROOT, TEMPLATE, write_submission

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else
                      os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10-airplane-bird"
GOLDEN_FILE = Path(__file__).parent / "golden" / "scores.json"


def shared_data() -> Path:
    """The real CIFAR-10 airplane/bird folder; skips the test (with the reason) when it is absent."""
    if not (SHARED_DATA / "train" / "airplane").is_dir():
        pytest.skip(f"the real data is not at {SHARED_DATA} (CI and the dev machines have it there)")
    return SHARED_DATA


def rubric_for(*names: str, examples: int | None = None, **limits):
    """The default rubric restricted to the checks ``names`` (all when none), optionally fewer examples."""
    rubric = load_rubric()
    rubric = rubric.only(*names) if names else rubric
    if examples is not None:
        for spec in rubric.checks:
            if hasattr(spec.settings, "examples"):
                rubric = rubric.configure(spec.name, examples=min(spec.settings.examples, examples))
    return dataclasses.replace(rubric, limits=dataclasses.replace(rubric.limits, **limits))


_shared_fork_server: Zygote | None = None


def grade(submission, rubric, *, options: GradingSetup | None = None):
    """pipeline.grade through one fork server for the whole session. The fork server holds nothing of any
    submission (each grading forks fresh workers, as a batch does), and sharing it saves the ~9 s that starting
    one (a new interpreter importing torch) adds to every grading."""
    global _shared_fork_server
    if _shared_fork_server is None:
        _shared_fork_server = Zygote()
    return pipeline.grade(submission, rubric, options=options, zygote=_shared_fork_server)


def pytest_sessionfinish(session, exitstatus):
    if _shared_fork_server is not None:
        _shared_fork_server.close()


def scores_of(report) -> dict[str, list]:
    """Each check's [score, status] (what the golden file records)."""
    return {r.name: [round(r.score, 6), str(getattr(r.status, "value", r.status))] for r in report.results}


class Golden:
    """Scores recorded from an earlier grader (tests/golden/scores.json): a change of score is a failure
    unless the run says ``--update-golden`` (a deliberate change of grading, reviewed in the diff)."""

    def __init__(self, update: bool):
        self.update = update
        self.recorded = json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.is_file() else {}
        self.changed = False

    def check(self, key: str, report) -> None:
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


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="record the scores graded in this run as the golden ones (tests/golden/scores.json)")


@pytest.fixture(scope="session")
def golden(request):
    keeper = Golden(request.config.getoption("--update-golden"))
    yield keeper
    keeper.save()


@pytest.fixture(scope="session")
def default_rubric():
    return load_rubric()


__all__ = ["REFERENCE", "ROOT", "TEMPLATE", "shared_data", "write_submission", "rubric_for", "scores_of", "grade"]
