"""A catalogue of realistic buggy submissions (tests/catalogue/buggy.py): each is caught by the right check with a
helpful message, the checks that should not notice the bug still give full marks, and the misconception behind it
is named when (and only when) the catalogue of misconceptions explains it."""
from __future__ import annotations

import pytest

from grader.checks.diagnosis import CATALOGUE
from grader.report.feedback import feedback as feedback_of
from grader.report.results import ids_in
from tests.catalogue.buggy import BUGS
from tests.support.grading import grade, rubric_for

pytestmark = pytest.mark.slow

TARGETS = {"backpropagation_one_sample": "backpropagation", "backpropagation_mini_batch": "backpropagation",
           "grad_check": "grad_check", "train": "train", "train_manual_update": "train_manual_update",
           "MyMLP": "mlp", "load_cifar": "load_cifar"}


def test_catalogue_is_large_enough():
    assert len(BUGS) >= 25
    assert len({bug.name for bug in BUGS}) == len(BUGS)


def test_every_misconception_has_a_submission_that_makes_it():
    made = {(TARGETS[bug.fails[0]], bug.diagnosis) for bug in BUGS if bug.diagnosis}
    assert {(m.target, m.id) for m in CATALOGUE} == made


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_bug_is_caught_by_the_right_check_and_diagnosed(tmp_path, bug, golden):
    folder = bug.write(tmp_path / "submission")
    failing, fragment = bug.fails
    rubric = rubric_for(failing, *bug.passes, examples=40)
    report = grade(folder, rubric)
    results = {r.name: r for r in report.results}
    caught = results[failing]
    assert caught.score < caught.max_score and caught.status == "failed", feedback_of(caught)
    assert fragment in feedback_of(caught), feedback_of(caught)
    assert "Traceback (most recent call last)" not in feedback_of(caught)
    for name in bug.passes:
        assert results[name].status == "passed", f"{name}: {feedback_of(results[name])}"
    assert ids_in(caught.parts) == ([bug.diagnosis] if bug.diagnosis else []), feedback_of(caught)
    if bug.diagnosis:
        assert "Diagnosis: " in feedback_of(caught)
    golden.check(f"buggy/{bug.name}", report)
