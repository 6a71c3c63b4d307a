"""Shared test set-up: hypothesis profiles, paths, and helpers that grade a submission written on the fly."""
from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from grader.rubric import CheckSpec, load_rubric

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else
                      os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference"
TEMPLATE = ROOT / "student_template"
SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10-airplane-bird"


def shared_data() -> Path:
    """The real CIFAR-10 airplane/bird folder; skips the test (with the reason) when it is absent."""
    if not (SHARED_DATA / "train" / "airplane").is_dir():
        pytest.skip(f"the real data is not at {SHARED_DATA} (CI and the dev machines have it there)")
    return SHARED_DATA


def write_submission(folder: Path, patches=(), files: dict[str, str] | None = None,
                     append: dict[str, str] | None = None) -> Path:
    """A copy of the reference with ``patches`` applied: (module, old, new), each ``old`` present exactly once.

    ``append`` adds code at the end of a module (a later ``def`` replaces the reference's); ``files`` writes
    whole files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("backpropagation.py", "gradient_descent.py"):
        shutil.copy(REFERENCE / name, folder / name)
    for module, old, new in patches:
        path = folder / f"{module}.py"
        text = path.read_text()
        assert text.count(old) == 1, f"patch target not found exactly once in {module}.py: {old!r}"
        path.write_text(text.replace(old, new))
    for module, text in (append or {}).items():
        with open(folder / f"{module}.py", "a") as handle:
            handle.write("\n\n" + text)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


def rubric_for(*names: str, examples: int | None = None, **limits):
    """The default rubric restricted to the checks ``names`` (all when none), optionally fewer examples."""
    rubric = load_rubric()
    checks = tuple(spec for spec in rubric.checks if not names or spec.name in names)
    if examples is not None:
        checks = tuple(dataclasses.replace(spec, examples=min(spec.examples, examples)) for spec in checks)
    return dataclasses.replace(rubric, checks=checks, limits=dataclasses.replace(rubric.limits, **limits))


@pytest.fixture(scope="session")
def default_rubric():
    return load_rubric()


def spec_names(rubric) -> list[str]:
    return [spec.name for spec in rubric.checks]


__all__ = ["CheckSpec", "shared_data", "write_submission", "rubric_for"]
