"""The accuracy stage: real training on CIFAR-10 airplane/bird (CPU here, CUDA when present)."""
from __future__ import annotations

import dataclasses
import time

import pytest
import torch

from grader.checks import accuracy
from grader.checks.base import Context
from grader.pipeline import grade
from grader.rubric import load_rubric

from .conftest import REFERENCE, TEMPLATE, shared_data, write_submission

TRAIN_STEP = "        optimizer.step()\n        optimizer.zero_grad()\n"


def accuracy_rubric(**changes):
    rubric = load_rubric()
    return dataclasses.replace(rubric, accuracy=dataclasses.replace(rubric.accuracy, **changes),
                               checks=tuple(s for s in rubric.checks if s.name == "accuracy"))


def accuracy_result(folder, rubric, data_root, tmp_path, device="cpu"):
    report = grade(folder, rubric, device=device, data_root=data_root, cache_dir=tmp_path / "cache")
    return report.results[0]


def test_reference_gets_full_accuracy_points_on_cpu(tmp_path):
    result = accuracy_result(REFERENCE, accuracy_rubric(), shared_data(), tmp_path)
    assert result.status == "passed" and result.score == result.max_score, result.feedback
    assert result.details["train"]["accuracy"] >= 0.80 and not result.details["flags"]
    assert abs(result.details["train"]["accuracy"] - result.details["manual"]["accuracy"]) <= 0.02


@pytest.mark.parametrize("name, patches, fragment", [
    ("train never steps the optimizer", (("gradient_descent", TRAIN_STEP, "        optimizer.zero_grad()\n"),),
     "[FAIL] train: test accuracy"),
    ("MLP output is constant", (("gradient_descent", "return self.layers(torch.flatten(x, 1))",
                                 "return self.layers(torch.flatten(x, 1)) * 0"),), "[FAIL] train_manual_update"),
])
def test_broken_submissions_lose_accuracy_points(tmp_path, name, patches, fragment):
    folder = write_submission(tmp_path / "s", patches)
    result = accuracy_result(folder, accuracy_rubric(epochs=3), shared_data(), tmp_path)
    assert result.score <= result.max_score / 2 and fragment in result.feedback, result.feedback


def test_template_fails_the_stage_with_a_reason(tmp_path):
    result = accuracy_result(TEMPLATE, accuracy_rubric(epochs=1), shared_data(), tmp_path)
    assert result.score == 0 and "not implemented yet" in result.feedback


def test_without_data_the_stage_is_skipped_with_how_to(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR_ROOT", raising=False)
    result = accuracy_result(REFERENCE, accuracy_rubric(), None, tmp_path)
    assert result.status == "skipped" and result.score == 0
    assert "--data-root" in result.feedback and "cifar-10-batches-py" in result.feedback
    result = accuracy_result(REFERENCE, accuracy_rubric(), tmp_path, tmp_path)
    assert result.status == "skipped" and "neither supported layout" in result.feedback


def _fake_context():
    rubric = accuracy_rubric()
    return Context(host=None, rubric=rubric, spec=rubric.checks[0], deadline=time.monotonic() + 60)


@pytest.mark.parametrize("train_acc, manual_acc, reported, score, flagged", [
    (0.85, 0.85, 0.85, 15, False),
    (0.75, 0.85, 0.75, 0.5 * 0.5 * 15 + 0.3 * 15 + 0.2 * 15, False),
    (0.85, 0.80, 0.85, 0.7 * 15, False),
    (0.85, 0.85, 0.5, 0.8 * 15, False),
    (0.5, 0.5, 0.5, 0.2 * 15, False),
    (0.97, 0.97, 0.97, 15, True),
])
def test_verdict_thresholds_and_leakage_flag(train_acc, manual_acc, reported, score, flagged):
    outcomes = {"train": {"accuracy": train_acc, "student_accuracy": reported, "train_seconds": 1.0},
                "manual": {"accuracy": manual_acc, "student_accuracy": manual_acc, "train_seconds": 1.0}}
    result = accuracy._verdict(_fake_context(), accuracy_rubric().accuracy, "setting", outcomes, 2000)
    assert result.score == pytest.approx(score)
    assert bool(result.details["flags"]) == flagged


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (see benchmarks/gpu_measurements.py)")
def test_reference_on_cuda(tmp_path):
    result = accuracy_result(REFERENCE, accuracy_rubric(), shared_data(), tmp_path, device="cuda")
    assert result.score == result.max_score, result.feedback
