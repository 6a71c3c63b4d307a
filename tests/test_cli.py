"""The command line and the reports it writes; grading the reference and the template end to end."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from grader import cli, pipeline
from grader.cli import grade_main, run

from .conftest import REFERENCE, TEMPLATE, rubric_for, write_submission

GRADESCOPE_TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility", "tags"}


@pytest.fixture(scope="module")
def reference_reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    code = grade_main(submission=str(REFERENCE), json_path=str(out / "results.json"), junit_path=str(out / "j.xml"),
                      markdown_path=str(out / "summary.md"), skip_accuracy=True)
    return code, out


def test_reference_gets_full_marks_and_all_formats(reference_reports):
    code, out = reference_reports
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert {"score", "execution_time", "output", "tests", "extra_data"} <= set(results)
    graded = [t for t in results["tests"] if "skipped" not in t["tags"]]
    assert all(t["score"] == t["max_score"] and t["status"] == "passed" for t in graded)
    assert results["score"] == 85 and all(GRADESCOPE_TEST_KEYS <= set(t) for t in results["tests"])
    assert results["extra_data"]["seed"] == 265 and "torch" in results["extra_data"]["versions"]
    suite = ET.parse(out / "j.xml").getroot().find("testsuite")
    assert suite.get("tests") == "10" and suite.get("failures") == "0" and suite.get("skipped") == "1"
    summary = (out / "summary.md").read_text()
    assert summary.startswith("## Autograde: 85 / 100") and "| ✅ |" in summary


def test_template_gets_zero_with_not_implemented_feedback(tmp_path, capsys):
    code = grade_main(submission=str(TEMPLATE), json_path=str(tmp_path / "r.json"), skip_accuracy=True)
    results = json.loads((tmp_path / "r.json").read_text())
    assert code == 0 and results["score"] == 0
    graded = [t for t in results["tests"] if t["max_score"] > 0 and "skipped" not in t["tags"]]
    assert all("not implemented yet" in t["output"] for t in graded), [t["name"] for t in graded]
    assert "Traceback (most recent call last)" not in json.dumps(results)


def test_check_points_to_the_first_thing_to_fix(tmp_path, capsys):
    folder = write_submission(tmp_path / "s", (("gradient_descent", "return self.layers(torch.flatten(x, 1))",
                                                "return torch.softmax(self.layers(torch.flatten(x, 1)), dim=1)"),))
    assert cli.check_main(directory=str(folder), skip_accuracy=True) == 0
    out = capsys.readouterr().out
    assert "Next: fix 'MyMLP' first" in out and "no softmax on the output" in out


def test_grading_is_deterministic(tmp_path):
    folder = write_submission(tmp_path / "s", (("backpropagation", "delta = 2 * (y_pred - y_true)",
                                                "delta = 2 * (y_pred - y_true) / y_pred.shape[1]"),))
    rubric = rubric_for("backpropagation_one_sample", "backpropagation_mini_batch", "train_manual_update")
    first, second = (pipeline.grade(folder, rubric) for _ in range(2))
    assert [(r.score, r.feedback) for r in first.results] == [(r.score, r.feedback) for r in second.results]
    assert not (folder / "__pycache__").exists(), "nothing is written into the submission folder"


def test_grader_failure_writes_a_fail_closed_report(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(pipeline, "grade", broken)
    path = tmp_path / "results.json"
    assert grade_main(submission=str(REFERENCE), json_path=str(path), skip_accuracy=True) == cli.EXIT_GRADER_FAILED
    results = json.loads(path.read_text())
    assert results["score"] == 0 and any(t["name"] == "Autograder error" for t in results["tests"])
    visible = json.dumps([results["output"], [(t["name"], t["output"]) for t in results["tests"]]])
    assert "grader bug" not in visible, "grader internals stay out of student-facing text"
    assert "grader bug" in results["extra_data"]["grader_errors"]["grader"], "the instructor gets the traceback"


def test_a_grader_bug_inside_one_check_costs_only_that_check(tmp_path, monkeypatch):
    from grader import checks

    def broken(ctx):
        raise ZeroDivisionError("bug in a check")

    monkeypatch.setitem(checks.CHECKS, "MyMLP", ("MyMLP", broken))
    report = pipeline.grade(REFERENCE, rubric_for("MyMLP", "train"))
    results = {r.name: r for r in report.results}
    assert results["MyMLP"].status == "error" and "Autograder error" in results["MyMLP"].feedback
    assert "ZeroDivisionError" in results["MyMLP"].details["grader_traceback"]
    assert results["train"].passed


@pytest.mark.parametrize("argv, fragment", [
    (["grade", "/no/such/folder"], "does not exist"),
    (["grade", "."], "holds neither backpropagation.py nor gradient_descent.py"),
    (["grade", str(REFERENCE), "--rubric", "/no/rubric.toml"], "rubric file"),
    (["grade", str(REFERENCE), "--data-root", "/no/data"], "--data-root points at"),
])
def test_bad_input_exits_2_with_what_to_do(argv, fragment, capsys):
    assert run(argv) == cli.EXIT_BAD_INPUT
    assert fragment in capsys.readouterr().err


def test_bad_flag_and_help(capsys):
    with pytest.raises(SystemExit) as error:
        run(["grade", str(REFERENCE), "--device", "tpu"])
    assert error.value.code == 2
    with pytest.raises(SystemExit) as error:
        run(["--help"])
    assert error.value.code == 0 and "autograde check" in capsys.readouterr().out


def test_a_submission_nested_one_or_two_folders_down_is_found(tmp_path, capsys):
    nested = write_submission(tmp_path / "upload" / "my_solution")
    assert cli._submission_folder(str(tmp_path / "upload")) == nested
    write_submission(tmp_path / "upload" / "old_copy")
    with pytest.raises(cli.InputError, match="Several folders inside hold them"):
        cli._submission_folder(str(tmp_path / "upload"))


@pytest.mark.parametrize("folder", [REFERENCE, TEMPLATE], ids=["reference", "template"])
def test_reference_and_template_scores_are_golden(folder, golden):
    golden.check(folder.name, pipeline.grade(folder, rubric_for()))
