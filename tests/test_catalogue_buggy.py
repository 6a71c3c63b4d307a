"""A catalogue of realistic buggy submissions (tests/catalogue/buggy.py): each is caught by the right check with a
helpful message, and the checks that should not notice the bug still give full marks."""
from __future__ import annotations

import pytest


from .catalogue.buggy import BUGS
from .conftest import grade, rubric_for


def test_catalogue_is_large_enough():
    assert len(BUGS) >= 25
    assert len({bug.name for bug in BUGS}) == len(BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_bug_is_caught_by_the_right_check(tmp_path, bug, golden):
    folder = bug.write(tmp_path / "submission")
    failing, fragment = bug.fails
    rubric = rubric_for(failing, *bug.passes, examples=40)
    report = grade(folder, rubric)
    results = {r.name: r for r in report.results}
    caught = results[failing]
    assert caught.score < caught.max_score and caught.status == "failed", caught.feedback
    assert fragment in caught.feedback, caught.feedback
    assert "Traceback (most recent call last)" not in caught.feedback
    for name in bug.passes:
        assert results[name].status == "passed", f"{name}: {results[name].feedback}"
    golden.check(f"buggy/{bug.name}", report)
