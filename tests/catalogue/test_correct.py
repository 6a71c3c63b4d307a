"""Correct solutions written differently from the reference (tests/catalogue/correct.py): every one gets full marks
(the accuracy stage is graded in tests/checks/test_accuracy.py)."""
from __future__ import annotations

import pytest

from grader.report.feedback import feedback
from tests.catalogue.correct import CORRECT
from tests.support.grading import grade, rubric_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("submission", CORRECT, ids=[s.name for s in CORRECT])
def test_correct_variant_gets_full_marks(tmp_path, submission, golden):
    folder = submission.write(tmp_path / "submission")
    rubric = rubric_for(*[n for n in ("interface", "backpropagation_one_sample", "backpropagation_mini_batch", "rules",
                                      "grad_check", "train", "train_manual_update", "MyMLP", "load_cifar")],
                        examples=60)
    report = grade(folder, rubric)
    failed = {r.name: feedback(r) for r in report.results if r.status != "passed"}
    assert not failed, failed
    assert report.score == report.max_score
    golden.check(f"correct/{submission.name}", report)
    if submission.name == "lots of printing":
        printed = next(r.output for r in report.results if r.name == "backpropagation_one_sample")
        assert "backpropagation called with" in printed and len(printed) <= 64 * 1024 + 200
