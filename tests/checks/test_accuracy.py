"""The accuracy stage: real training on CIFAR-10 airplane/bird (CPU here, CUDA when present), and its verdict.

The reference's full 30-epoch training to full marks is asserted end to end, once, through the Gradescope
bundle (tests/test_bundles.py::test_gradescope_gives_the_reference_full_marks)."""
from __future__ import annotations

import pytest

from grader.checks.accuracy import AccuracySettings, verdict
from grader.checks.rubric import load_rubric
from grader.options import GradingSetup
from grader.outcomes import FailureKind
from grader.report.feedback import feedback as feedback_of
from grader.report.results import CheckResult
from grader.sandbox.reply import Failure
from tests.support.grading import REFERENCE, TEMPLATE, grade, shared_data, write_submission

TRAIN_STEP = "        optimizer.step()\n        optimizer.zero_grad()\n"
SETTINGS = load_rubric().spec("accuracy").settings


def accuracy_rubric(**changes):
    return load_rubric().only("accuracy").configure("accuracy", **changes)


def accuracy_result(folder, rubric, data_root, tmp_path, device="cpu"):
    setup = GradingSetup(device=device, data_root=data_root, cache_dir=tmp_path / "cache")
    return grade(folder, rubric, options=setup).results[0]


def judged(train, manual, reported=None, settings: AccuracySettings = SETTINGS) -> CheckResult:
    """The stage's result for these outcomes (an accuracy, or a Failure, per function)."""
    def outcome(value):
        if isinstance(value, Failure):
            return value
        return {"accuracy": value, "student_accuracy": value if reported is None else reported, "train_seconds": 1.0}

    names = {"train": "train", "train_manual_update": "train_manual_update"}
    parts = verdict(settings, "setting", {"train": outcome(train), "train_manual_update": outcome(manual)}, 2000,
                    names, "compute_accuracy")
    return CheckResult("accuracy", "accuracy", settings.points, tuple(parts))


@pytest.mark.parametrize("name, patches, failing", [
    ("train never steps the optimizer", (("gradient_descent", TRAIN_STEP, "        optimizer.zero_grad()\n"),),
     {"train"}),
    ("MLP output is constant", (("gradient_descent", "return self.layers(torch.flatten(x, 1))",
                                 "return self.layers(torch.flatten(x, 1)) * 0"),), {"train", "train_manual_update"}),
])
@pytest.mark.slow
@pytest.mark.data
def test_broken_submissions_lose_accuracy_points(tmp_path, name, patches, failing):
    folder = write_submission(tmp_path / "s", patches)
    result = accuracy_result(folder, accuracy_rubric(epochs=3), shared_data(), tmp_path)
    lost = {p.details["function"] for p in result.failed_parts if "accuracy" in p.details}
    assert lost == failing and result.score <= result.max_score * 0.7, feedback_of(result)


@pytest.mark.data
def test_template_fails_the_stage_with_a_reason(tmp_path):
    result = accuracy_result(TEMPLATE, accuracy_rubric(epochs=1), shared_data(), tmp_path)
    assert result.score == 0 and "not implemented yet" in feedback_of(result)
    assert result.not_implemented == ["MyMLP.__init__"]


def test_without_data_the_stage_is_skipped_with_how_to(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR_ROOT", raising=False)
    result = accuracy_result(REFERENCE, accuracy_rubric(), None, tmp_path)
    assert result.status == "skipped" and result.score == 0
    assert "--data-root" in feedback_of(result) and "cifar-10-batches-py" in feedback_of(result)
    result = accuracy_result(REFERENCE, accuracy_rubric(), tmp_path, tmp_path)
    assert result.status == "skipped" and "neither supported layout" in feedback_of(result)


BAND = [SETTINGS.full_credit, SETTINGS.full_credit + 0.01, 0.84, 0.88, SETTINGS.leakage - 0.001]


@pytest.mark.parametrize("manual", BAND)
@pytest.mark.parametrize("train", [0.5, SETTINGS.partial_credit, SETTINGS.full_credit, 0.86, 0.93])
def test_a_manual_run_inside_the_calibrated_band_gets_its_full_weight_whatever_train_reached(train, manual):
    manual_parts = [p for p in judged(train, manual).parts if p.details.get("function") == "train_manual_update"]
    assert len(manual_parts) == 2 and all(p.passed for p in manual_parts)


@pytest.mark.parametrize("train, manual, reported, share", [
    (0.85, 0.85, None, 1.0),
    (0.75, 0.85, None, 0.5 * 0.5 + 0.3 + 0.2),
    (0.85, 0.60, None, 0.5 + 0.2),
    (0.85, 0.85, 0.5, 0.8),
    (0.5, 0.5, None, 0.2),
])
def test_scores_follow_the_rubric_weights(train, manual, reported, share):
    assert judged(train, manual, reported).score == pytest.approx(share * SETTINGS.points)


def test_a_failed_run_loses_its_weight_and_compute_accuracy_is_judged_on_the_other_run():
    crashed = Failure(FailureKind.CRASH, "the process was killed by SIGKILL", function="train")
    result = judged(crashed, 0.84)
    assert result.score == pytest.approx((0.3 + 0.2) * SETTINGS.points)
    assert "after train_manual_update, compute_accuracy returned" in feedback_of(result)


def test_implausibly_high_accuracy_is_flagged_once_per_function():
    flags = [f for p in judged(0.97, 0.97).parts for f in p.details.get("flags", [])]
    assert len(flags) == 2 and all("leakage" in flag for flag in flags)


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.gpu
def test_reference_on_cuda(tmp_path):
    result = accuracy_result(REFERENCE, accuracy_rubric(), shared_data(), tmp_path, device="cuda")
    assert result.score == result.max_score, feedback_of(result)


def test_a_call_the_signature_cannot_take_is_not_charged_again_here():
    """(The function's own check charges a binding failure, once: here its tiers are "not checked".)"""
    unbound = Failure(FailureKind.BINDING, "train_manual_update has no parameter for the template's 'momentum'",
                      function="train_manual_update")
    result = judged(0.84, unbound)
    assert result.score == pytest.approx(SETTINGS.points)
    assert [p.weight for p in result.parts if p.details.get("not_checked")] == [0.0, 0.0]
