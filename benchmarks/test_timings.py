"""Timings of the grader's hot paths, as a pytest-benchmark suite (whole-class and GPU runs stay scripts).

    python -m pytest benchmarks --benchmark-only                                   # time them
    python -m pytest benchmarks --benchmark-only --benchmark-save=baseline         # record a baseline
    python -m pytest benchmarks --benchmark-only --benchmark-compare --benchmark-compare-fail=median:25%

The guard of the warm grading's speed: ``test_cpu_stage_grading`` (a correct submission) and
``test_cpu_stage_grading_of_a_buggy_submission`` against the saved baseline (0002), failing at 25% slower.

Baselines are stored in benchmarks/baselines/ (pyproject.toml sets the storage); ``--benchmark-compare`` with no
value compares with the latest one saved on this kind of machine. Each benchmark asserts what it timed is right
(a fast wrong answer is not a result).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.checks import run as pipeline
from grader.checks.rubric import load_rubric
from grader.options import GradingSetup
from grader.sandbox.host import Host
from grader.sandbox.zygote import Zygote
from grader.submission.notebooks import convert
from tests.catalogue import REFERENCE
from tests.catalogue.buggy import BY_NAME as BUGGY
from tests.support.notebooks import notebook_twin


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote() as server:
        yield server


@pytest.fixture(scope="module")
def host(zygote: Zygote) -> Iterator[Host]:
    with Host(REFERENCE, zygote=zygote) as started:
        started.start()
        yield started


def test_cpu_stage_grading(benchmark, zygote):
    """The reference graded without the accuracy stage, start of its worker to report (the fork server warm, as a
    batch's grader process is after its first submission)."""
    rubric = load_rubric().without("accuracy")
    report = benchmark.pedantic(pipeline.grade, args=(REFERENCE, rubric),
                                kwargs={"zygote": zygote, "options": GradingSetup()}, rounds=3, warmup_rounds=1)
    assert report.score == 85


def test_cpu_stage_grading_of_a_buggy_submission(benchmark, zygote, tmp_path):
    """A submission with a backpropagation bug (the derivative at a instead of z: every family fails, is shrunk and
    diagnosed) graded as above."""
    folder = BUGGY["derivative taken at a instead of z"].write(tmp_path / "buggy")
    rubric = load_rubric().without("accuracy")
    report = benchmark.pedantic(pipeline.grade, args=(folder, rubric),
                                kwargs={"zygote": zygote, "options": GradingSetup()}, rounds=3, warmup_rounds=1)
    assert report.score == 50


def test_one_backprop_check(benchmark, host):
    """The check backpropagation_one_sample on a worker that has the submission imported."""
    rubric = load_rubric()
    spec = rubric.spec("backpropagation_one_sample")

    def run_check():
        return pipeline.run_check(spec, host, rubric, GradingSetup(), time.monotonic())[0]

    result = benchmark.pedantic(run_check, rounds=5, warmup_rounds=1)
    assert result.passed, result.parts


def test_worker_round_trip(benchmark, host):
    """One call to the worker and its reply (the protocol, the pipes, no student code)."""
    reply = benchmark(host.call, "ping", {}, timeout=10)
    assert reply.ok and reply.value["pid"] > 0


def test_notebook_conversion(benchmark, tmp_path: Path):
    """A two-module submission handed in as notebooks (magics, a training cell) converted to the graded modules."""
    folder = notebook_twin(REFERENCE, tmp_path / "notebooks")
    notebooks = sorted(folder.glob("*.ipynb"))

    def convert_all():
        return [convert(path) for path in notebooks]

    conversions = benchmark(convert_all)
    assert all("def " not in c.source or "_run_cell" in c.source for c in conversions)
    assert all(any("was not run" in note for note in c.notes) for c in conversions)
