"""Test set-up: hypothesis profiles, the markers' skips, the golden scores fixture. Helpers the tests import live in
:mod:`tests.support.grading`.

Markers (registered in pyproject.toml, ``--strict-markers``): ``slow`` (left out of the fast lane,
``pytest -m "not slow"``), ``root`` (needs root: skipped otherwise), ``data`` (needs the real CIFAR-10 images:
skipped without them), ``gpu`` (needs CUDA: skipped without it).
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.support.grading import SHARED_DATA, Borrowed, Golden, close_fork_server, fork_server

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else
                      os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _missing(marker: str) -> str | None:
    """Why a test with ``marker`` cannot run here (None when it can)."""
    if marker == "root":
        from grader.sandbox.limits import is_root

        return None if is_root() else "needs root: the worker drops to an unprivileged user only then"
    if marker == "data":
        present = (SHARED_DATA / "train" / "airplane").is_dir()
        return None if present else f"the real data is not at {SHARED_DATA} (CI and the dev machines have it there)"
    if marker == "gpu":
        import torch

        return None if torch.cuda.is_available() else "needs a CUDA device (see benchmarks/gpu_measurements.py)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("root", "data", "gpu"):
        if item.get_closest_marker(marker) is not None and (reason := _missing(marker)):
            pytest.skip(reason)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    close_fork_server()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="record the scores graded in this run as the golden ones (tests/golden/scores.json)")


@pytest.fixture(scope="session")
def golden(request: pytest.FixtureRequest):
    keeper = Golden(request.config.getoption("--update-golden"))
    yield keeper
    keeper.save()


@pytest.fixture(scope="module")
def shared_fork_server():
    """What a module grades through grader.pipeline (grade_main, check_main, verify, new) borrows the session's fork
    server instead of starting one each (a new interpreter importing torch: ~4 s a command). Not for tests of the
    fork server itself (how it is made: tests/sandbox/test_memory.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("grader.pipeline.fork_server", lambda: Borrowed(fork_server()))
        yield
