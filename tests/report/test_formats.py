"""Every report format rendered from one hand-built report (no grading): what each reader of it needs is there, what
a student must not see is not, and the fail-closed report is as valid as a real one."""
from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest

from grader.outcomes import FailureKind, Status
from grader.report import classroom, gradescope, junit, markdown, terminal
from grader.report.failure import failed_report
from grader.report.feedback import feedback, short
from grader.report.formats import FORMATS, write_reports
from grader.report.results import AUTOGRADER_ERROR, CheckResult, Part, Report

TRACEBACK = "Traceback (most recent call last):\n  File \"grader/checks/mlp.py\", line 3\nKeyError: 'secret'"


def hand_built() -> Report:
    """One check of each status: passed, failed (weighted parts, a diagnosis, printed output), skipped, error."""
    passed = CheckResult("rules", "Rules", 5.0, (Part.ok("uses no autograd"),))
    failed = CheckResult("backprop", "Backpropagation", 30.0, (
        Part.ok("matches autograd on one sample", weight=1.0),
        Part.fail("matches autograd on a mini-batch", "dL_dw[1] differs: 3 of 12 elements\nmax abs diff 0.5 at (0, 2)",
                  weight=2.0, details={"diagnosis": "mean-not-sum", "function": "backpropagation"}),
        Part.fail("leaves the parameters unchanged", "dL_dw[1] differs: 3 of 12 elements\nmax abs diff 0.5 at (0, 2)",
                  weight=1.0),
    ), output="epoch 1 loss 0.69 ```\n")
    skipped = CheckResult("accuracy", "Accuracy on CIFAR-10", 20.0, skipped="no data folder was given")
    error = CheckResult("MyMLP", "MyMLP", 10.0, error=TRACEBACK)
    stubbed = CheckResult("grad_check", "Gradient check", 5.0, (
        Part.fail("accepts correct gradients", "NotImplementedError", FailureKind.NOT_IMPLEMENTED,
                  details={"function": "grad_check"}),))
    return Report("alice", [passed, failed, skipped, error, stubbed], execution_time=12.34,
                  protections={"separate_process": True, "network_namespace": False},
                  metadata={"assignment": "inf265-2023", "seed": 265, "visibility": "after_published",
                            "stdout_visibility": "visible", "grader": "0.1.0", "torch": "2.14.1"},
                  notes=["backprop.ipynb was graded as backpropagation.py"],
                  leaderboard=[{"name": "Test accuracy", "value": 0.84, "order": "desc"}])


REPORT = hand_built()
EXPECTED_SCORE = 5.0 + 30.0 * 1 / 4  # rules, and one of four weights of backprop


def test_the_totals_are_computed_from_the_parts():
    assert [r.status for r in REPORT.results] == [Status.PASSED, Status.FAILED, Status.SKIPPED, Status.ERROR,
                                                  Status.FAILED]
    assert REPORT.score == EXPECTED_SCORE and REPORT.max_score == 70.0
    assert REPORT.results[4].not_implemented == ["grad_check"] and short(REPORT.results[4]) == \
        "not implemented yet: grad_check"


def test_feedback_marks_each_part_and_does_not_repeat_a_shared_reason():
    text = feedback(REPORT.results[1])
    assert text.splitlines()[0] == "[ok] matches autograd on one sample"
    assert text.count("max abs diff 0.5 at (0, 2)") == 1 and "(same reason as above)" in text
    assert feedback(REPORT.results[2]) == "Skipped: no data folder was given"
    assert feedback(REPORT.results[3]) == AUTOGRADER_ERROR


def test_gradescope_results_follow_the_spec_and_keep_tracebacks_for_instructors():
    results = json.loads(gradescope.dumps(REPORT))
    assert results["score"] == EXPECTED_SCORE and results["execution_time"] == 13
    assert results["visibility"] == "after_published" and results["stdout_visibility"] == "visible"
    tests = results["tests"]
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in tests] == [
        ("Rules", 5.0, 5.0, "passed"), ("Backpropagation", 7.5, 30.0, "failed"),
        ("Accuracy on CIFAR-10", 0.0, 20.0, "failed"), ("MyMLP", 0.0, 10.0, "failed"),
        ("Gradient check", 0.0, 5.0, "failed")]
    assert [t["number"] for t in tests] == ["1", "2", "3", "4", "5"]
    assert "Your code printed:\nepoch 1 loss 0.69" in tests[1]["output"]
    assert tests[1]["extra_data"]["diagnoses"] == ["mean-not-sum"]
    assert "assignment 'inf265-2023'" in results["output"] and "backprop.ipynb was graded" in results["output"]
    student_visible = json.dumps([results["output"], [t["output"] for t in tests]])
    assert "KeyError" not in student_visible, "a grader traceback never reaches the student"
    assert results["extra_data"]["grader_errors"] == {"MyMLP": TRACEBACK}
    assert results["leaderboard"] == [{"name": "Test accuracy", "value": 0.84, "order": "desc"}]


def test_junit_has_a_testcase_per_part_with_its_points():
    root = ET.fromstring(junit.dumps(REPORT))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("7", "3", "1", "1")
    names = [case.get("name") for case in cases]
    assert names[:4] == ["uses no autograd (5/5)", "matches autograd on one sample (7.5/7.5)",
                         "matches autograd on a mini-batch (0/15)", "leaves the parameters unchanged (0/7.5)"]
    failure = cases[2].find("failure")
    assert failure.get("message") == "dL_dw[1] differs: 3 of 12 elements" and failure.get("type") == "wrong"
    assert cases[1].find("system-out").text.startswith("epoch 1 loss")
    assert cases[5].find("error").text == AUTOGRADER_ERROR, "the traceback is not in the student's XML"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties == {"score": str(EXPECTED_SCORE), "max_score": "70.0", "submission": "alice"}


def test_markdown_summary_has_a_row_per_check_and_details_for_the_others():
    text = markdown.dumps(REPORT)
    assert text.startswith(f"## Autograde: {EXPECTED_SCORE:g} / 70 (assignment inf265-2023)")
    assert "> backprop.ipynb was graded as backpropagation.py" in text
    assert "| ✅ | Rules | 5 / 5 |" in text and "| ⏭️ | Accuracy on CIFAR-10 | 0 / 20 |" in text
    assert text.count("<details>") == 4 and text.count("```text") == 4
    assert "KeyError" not in text


def test_classroom_result_maps_each_check_to_a_test():
    result = json.loads(classroom.dumps(REPORT))
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 70.0
    assert [(t["test_code"], t["status"], t["score"]) for t in result["tests"]] == [
        ("rules", "pass", 5.0), ("backprop", "fail", 7.5), ("accuracy", "fail", 0.0), ("MyMLP", "error", 0.0),
        ("grad_check", "fail", 0.0)]
    assert base64.b64decode(base64.b64encode(classroom.dumps(REPORT).encode())).decode() == classroom.dumps(REPORT)


def test_terminal_report_for_instructors_and_for_students():
    text = terminal.dumps(REPORT)
    assert "[ PASS]     5 / 5     Rules" in text and "[ SKIP]     0 / 20    Accuracy on CIFAR-10" in text
    assert f"Total: {EXPECTED_SCORE:g} / 70   (12.3 s)" in text
    assert "Protections not active here: network_namespace." in text
    student = terminal.render(REPORT, student=True)
    assert "not implemented yet: grad_check" in student and "Next: fix 'backprop' first" in student


def test_the_fail_closed_report_scores_zero_in_every_format():
    report = failed_report("bob", [("rules", "Rules", 5.0), ("backprop", "Backpropagation", 30.0)], TRACEBACK)
    assert report.score == 0 and report.max_score == 35.0
    results = json.loads(gradescope.dumps(report))
    assert results["score"] == 0 and [t["name"] for t in results["tests"]] == ["Rules", "Backpropagation",
                                                                             "Autograder error"]
    assert "KeyError" not in json.dumps(results["tests"]) and "not final" in results["output"]
    assert json.loads(classroom.dumps(report))["status"] == "error"
    assert ET.fromstring(junit.dumps(report)).find("testsuite").get("errors") == "3"
    assert "The autograder itself failed" in terminal.dumps(report)


def test_a_report_survives_the_round_trip_through_plain_data():
    again = Report.from_dict(json.loads(json.dumps(REPORT.to_dict())))
    for fmt in FORMATS:
        assert fmt.render(again) == fmt.render(REPORT), fmt.name


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
def test_every_format_is_written_atomically_where_asked(fmt, tmp_path):
    path = tmp_path / "out" / f"report.{fmt.name}"
    write_reports(REPORT, {fmt.name: path, **{other.name: None for other in FORMATS if other is not fmt}})
    assert path.read_text(encoding="utf-8") == fmt.render(REPORT)
    assert [p.name for p in path.parent.iterdir()] == [path.name], "nothing else (no temporary file) is left"


def test_a_check_not_graded_for_want_of_data_makes_the_score_not_final_in_every_format():
    open_points = CheckResult("accuracy", "Accuracy on CIFAR-10", 15.0, skipped="no data folder was given.\nTo grade",
                              not_graded=True)
    report = Report("alice", [REPORT.results[0], open_points])
    assert not report.final and report.not_graded == [open_points] and report.score == 5.0
    reason = "Score not final: 15 of 20 points not graded (accuracy: no data folder was given)."
    assert report.not_final_reason() == reason
    assert reason in json.loads(gradescope.dumps(report))["output"]
    assert reason in markdown.dumps(report) and reason in terminal.render(report)
    assert Report.from_dict(report.to_dict()).not_graded[0].not_graded and report.to_dict()["final"] is False
    graded = Report("bob", [REPORT.results[0]])
    assert graded.final and graded.not_final_reason() == "" and "not final" not in terminal.render(graded)
