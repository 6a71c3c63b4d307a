"""Gradescope's results.json beyond scores: visibility from the rubric, the opt-in leaderboard, and the class's
leaderboard.csv (spec: https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
from __future__ import annotations

import json

import pytest

from grader.checks.rubric import DEFAULT_RUBRIC, LeaderboardEntry, RubricError, load_rubric
from grader.commands.grade import grade_main
from grader.options import GradingOptions
from grader.report.gradescope import to_gradescope
from grader.report.leaderboard import entries, leaderboard_csv
from grader.report.results import CheckResult, Part, Report
from tests.support.grading import REFERENCE

pytestmark = pytest.mark.usefixtures("shared_fork_server")

SPEC_TOP_LEVEL = {"score", "execution_time", "output", "output_format", "visibility", "stdout_visibility", "tests",
                  "extra_data", "leaderboard"}
SPEC_VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}
SPEC_LEADERBOARD_KEYS = {"name", "value", "order"}


def accuracy_result(train: float | None, manual: float) -> CheckResult:
    parts = [Part.ok("manual", details={"function": "train_manual_update", "accuracy": manual, "train_seconds": 9.5})]
    if train is not None:
        parts.append(Part.ok("train", details={"function": "train", "accuracy": train, "train_seconds": 8.0}))
    return CheckResult("accuracy", "accuracy", 15, tuple(parts))


BOARD = (LeaderboardEntry("Test accuracy (train)", "accuracy:train"),
         LeaderboardEntry("Training seconds (manual)", "seconds:train_manual_update", "asc"),
         LeaderboardEntry("Score", "score"))
NAMES = {"train": "train", "train_manual_update": "train_manual_update"}


def test_leaderboard_values_come_from_the_accuracy_stage_and_the_score():
    assert entries([accuracy_result(0.84, 0.83)], BOARD, NAMES) == [
        {"name": "Test accuracy (train)", "value": 0.84, "order": "desc"},
        {"name": "Training seconds (manual)", "value": 9.5, "order": "asc"},
        {"name": "Score", "value": 15.0, "order": "desc"}]
    untrained = entries([accuracy_result(None, 0.83)], BOARD[:1], NAMES)
    assert untrained == [{"name": "Test accuracy (train)", "value": 0.0, "order": "desc"}], "no accuracy ranks last"


def test_results_json_carries_visibility_and_the_leaderboard_in_the_spec_s_fields():
    hidden = CheckResult("grad_check", "grad_check", 10, (Part.ok("x"),), visibility="hidden")
    report = Report("s", [hidden, accuracy_result(0.84, 0.83)], metadata={"visibility": "after_due_date",
                                                                          "stdout_visibility": "visible"},
                    leaderboard=entries([accuracy_result(0.84, 0.83)], BOARD, NAMES))
    results = to_gradescope(report)
    assert set(results) == SPEC_TOP_LEVEL
    assert results["visibility"] == "after_due_date" and results["stdout_visibility"] == "visible"
    assert [t["visibility"] for t in results["tests"]] == ["hidden", "visible"]
    assert all(set(e) == SPEC_LEADERBOARD_KEYS for e in results["leaderboard"])
    assert "leaderboard" not in to_gradescope(Report("s", [hidden])), "opt-in: absent unless the rubric asks"


RUBRIC_ADDITIONS = '''
visibility = "after_published"
stdout_visibility = "visible"

[[leaderboard]]
name = "Score"
value = "score"
'''


def test_the_rubric_sets_visibility_per_check_and_at_the_top_and_opts_in_to_a_leaderboard(tmp_path):
    text = DEFAULT_RUBRIC.read_text().replace("[checks.grad_check]\npoints = 10",
                                              "[checks.grad_check]\npoints = 10\nvisibility = \"hidden\"")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(RUBRIC_ADDITIONS + text.replace('seed = 265', ''))
    out = tmp_path / "results.json"
    assert grade_main(submission=str(REFERENCE), outputs={"json": str(out)},
                      options=GradingOptions(rubric=str(rubric), checks=("grad_check", "MyMLP"))) == 0
    results = json.loads(out.read_text())
    visibility = {t["tags"][0]: t["visibility"] for t in results["tests"]}
    assert visibility == {"grad_check": "hidden", "MyMLP": "after_published"}
    assert results["visibility"] == "after_published" and results["stdout_visibility"] == "visible"
    assert results["leaderboard"] == [{"name": "Score", "value": 15.0, "order": "desc"}]
    assert {t["visibility"] for t in results["tests"]} <= SPEC_VISIBILITIES


@pytest.mark.parametrize("addition, fragment", [
    ('visibility = "students"\n', "visibility must be one of visible, hidden, after_due_date, after_published"),
    ('[[leaderboard]]\nname = "x"\nvalue = "loss"\n', "value must be one of accuracy:train"),
    ('[[leaderboard]]\nvalue = "score"\n', "needs a name"),
])
def test_bad_visibility_or_leaderboard_is_refused(tmp_path, addition, fragment):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(addition + DEFAULT_RUBRIC.read_text().replace('seed = 265', ''))
    with pytest.raises(RubricError, match=fragment):
        load_rubric(rubric)


def test_the_class_leaderboard_ranks_by_its_first_column():
    board = [{"name": "Accuracy", "value": 0.0, "order": "desc"}]
    reports = {name: Report(name, [], leaderboard=[{**board[0], "value": value}])
               for name, value in (("ann", 0.81), ("ben", 0.86), ("cat", 0.5))}
    lines = leaderboard_csv(reports).splitlines()
    assert lines == ["rank,student,Accuracy", "1,ben,0.86", "2,ann,0.81", "3,cat,0.5"]
