"""The command line and the reports it writes; grading the reference and the template end to end."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from grader.checks import run as check_run
from grader.cli import run
from grader.commands import EXIT_BAD_INPUT, EXIT_GRADER_FAILED
from grader.commands.grade import check_main, grade_main
from grader.options import GradingOptions, GradingSetup
from grader.report.feedback import feedback as feedback_of
from grader.report.formats import FORMATS
from grader.submission.folder import SubmissionError, locate
from tests.support.grading import REFERENCE, ROOT, TEMPLATE, grade, rubric_for, write_submission

pytestmark = pytest.mark.usefixtures("shared_fork_server")

SKIP_ACCURACY = GradingOptions(skip_accuracy=True)

GRADESCOPE_TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility", "tags"}


def outputs_in(folder) -> dict[str, str]:
    return {fmt.name: str(folder / f"report.{fmt.name}") for fmt in FORMATS}


@pytest.fixture(scope="module")
def reference_reports(tmp_path_factory, shared_fork_server):
    out = tmp_path_factory.mktemp("reports")
    return grade_main(submission=str(REFERENCE), outputs=outputs_in(out), options=SKIP_ACCURACY), out


def test_reference_gets_full_marks_and_all_formats(reference_reports):
    code, out = reference_reports
    assert code == 0
    results = json.loads((out / "report.json").read_text())
    assert {"score", "execution_time", "output", "tests", "extra_data"} <= set(results)
    graded = [t for t in results["tests"] if "skipped" not in t["tags"]]
    assert all(t["score"] == t["max_score"] and t["status"] == "passed" for t in graded)
    assert results["score"] == 85 and all(GRADESCOPE_TEST_KEYS <= set(t) for t in results["tests"])
    assert results["extra_data"]["seed"] == 265 and "torch" in results["extra_data"]["versions"]
    suite = ET.parse(out / "report.junit").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) > 10, "one testcase per part"
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"
    assert {c.get("classname") for c in cases} == {f"autograde.{t['tags'][0]}" for t in results["tests"]}
    assert (out / "report.markdown").read_text().startswith("## Autograde: 85 / 100")
    classroom = json.loads((out / "report.classroom").read_text())
    assert classroom["version"] == 1 and classroom["max_score"] == 100 and classroom["status"] == "fail"
    assert sum(t["score"] for t in classroom["tests"]) == 85 and len(classroom["tests"]) == len(results["tests"])
    assert "Total: 85 / 100" in (out / "report.text").read_text()


def test_template_gets_zero_with_not_implemented_feedback(tmp_path):
    code = grade_main(submission=str(TEMPLATE), outputs={"json": str(tmp_path / "r.json")}, options=SKIP_ACCURACY)
    results = json.loads((tmp_path / "r.json").read_text())
    assert code == 0 and results["score"] == 0
    graded = [t for t in results["tests"] if t["max_score"] > 0 and "skipped" not in t["tags"]]
    assert all("not implemented yet" in t["output"] for t in graded), [t["name"] for t in graded]
    assert "Traceback (most recent call last)" not in json.dumps(results)


def test_the_student_view_of_the_template_is_short_and_says_what_to_do(capsys):
    assert check_main(directory=str(TEMPLATE), options=SKIP_ACCURACY) == 0
    out = capsys.readouterr().out
    assert "not implemented yet: backpropagation" in out and "not implemented yet: MyMLP" in out
    assert "Next: implement backpropagation" in out and len(out.splitlines()) <= 30
    assert check_main(directory=str(TEMPLATE), options=SKIP_ACCURACY.but(verbose=True)) == 0
    assert "TODO backpropagation" in capsys.readouterr().out, "--verbose shows the full feedback"


def test_check_points_to_the_first_thing_to_fix(tmp_path, capsys):
    folder = write_submission(tmp_path / "s", (("gradient_descent", "return self.layers(torch.flatten(x, 1))",
                                                "return torch.softmax(self.layers(torch.flatten(x, 1)), dim=1)"),))
    assert check_main(directory=str(folder), options=SKIP_ACCURACY) == 0
    out = capsys.readouterr().out
    assert "Next: fix 'MyMLP' first" in out and "no softmax on the output" in out


def test_only_and_skip_select_checks(tmp_path):
    path = tmp_path / "r.json"
    assert grade_main(submission=str(REFERENCE), outputs={"json": str(path)},
                      options=GradingOptions(checks=("MyMLP", "rules"), skip=("rules",))) == 0
    tests = {t["tags"][0]: t for t in json.loads(path.read_text())["tests"]}
    assert list(tests) == ["rules", "MyMLP"] and tests["MyMLP"]["score"] == 5
    assert "skipped" in tests["rules"]["tags"] and "--skip was given" in tests["rules"]["output"]


@pytest.mark.slow
def test_grading_is_deterministic(tmp_path):
    folder = write_submission(tmp_path / "s", (("backpropagation", "delta = 2 * (y_pred - y_true)",
                                                "delta = 2 * (y_pred - y_true) / y_pred.shape[1]"),))
    rubric = rubric_for("backpropagation_one_sample", "backpropagation_mini_batch", "train_manual_update")
    first, second = check_run.grade(folder, rubric, options=GradingSetup()), grade(folder, rubric)  # fresh, used
    assert [(r.score, feedback_of(r)) for r in first.results] == [(r.score, feedback_of(r)) for r in second.results]
    assert not (folder / "__pycache__").exists(), "nothing is written into the submission folder"


def test_grader_failure_writes_a_fail_closed_report(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(check_run, "grade", broken)
    path = tmp_path / "results.json"
    assert grade_main(submission=str(REFERENCE), outputs={"json": str(path)},
                      options=SKIP_ACCURACY) == EXIT_GRADER_FAILED
    results = json.loads(path.read_text())
    assert results["score"] == 0 and any(t["name"] == "Autograder error" for t in results["tests"])
    visible = json.dumps([results["output"], [(t["name"], t["output"]) for t in results["tests"]]])
    assert "grader bug" not in visible, "grader internals stay out of student-facing text"
    assert "grader bug" in results["extra_data"]["grader_errors"]["grader"], "the instructor gets the traceback"


def test_a_broken_torch_still_gives_a_fail_closed_results_file(tmp_path):
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('this torch install is broken')\n")
    path = tmp_path / "results.json"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{fake.parent}:{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(REFERENCE), "--json", str(path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == EXIT_GRADER_FAILED, done.stderr
    results = json.loads(path.read_text())
    assert results["score"] == 0 and results["tests"][-1]["name"] == "Autograder error"
    assert [t["tags"][0] for t in results["tests"][:2]] == ["interface", "backpropagation_one_sample"]
    assert "this torch install is broken" in results["extra_data"]["grader_errors"]["grader"]


def test_a_grader_bug_inside_one_check_costs_only_that_check():
    def broken(ctx):
        raise ZeroDivisionError("bug in a check")

    rubric = rubric_for("MyMLP", "train")
    spec = rubric.spec("MyMLP")
    rubric = dataclasses.replace(rubric, checks=(dataclasses.replace(spec, check=dataclasses.replace(
        spec.check, run=broken)), rubric.spec("train")))
    results = {r.name: r for r in grade(REFERENCE, rubric).results}
    assert results["MyMLP"].status == "error" and "Autograder error" in feedback_of(results["MyMLP"])
    assert "ZeroDivisionError" in results["MyMLP"].error
    assert results["train"].passed


TOY_CHECK = '''
from grader.checks import Check
from grader.report.results import Part


def run(ctx):
    reply = ctx.call("mlp", {"x": __import__("torch").zeros(2, 3, 32, 32)})
    shape = tuple(reply.value["out_images"].shape) if reply.ok else None
    return [Part.ok("two logits per image") if shape == (2, 2) else Part.fail("two logits per image", f"got {shape}")]


CHECKS = (Check("toy", "Toy: MyMLP gives two logits per image", run),)
'''


def test_a_new_check_is_one_module_and_one_rubric_entry_and_appears_in_every_format(tmp_path, monkeypatch):
    (tmp_path / "toy_check.py").write_text(TOY_CHECK)
    monkeypatch.syspath_prepend(str(tmp_path))
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[checks.MyMLP]\npoints = 5\n[checks.toy]\nmodule = "toy_check"\npoints = 2\n')
    outputs = outputs_in(tmp_path)
    assert grade_main(submission=str(REFERENCE), outputs=outputs, options=GradingOptions(rubric=str(rubric))) == 0
    for name, path in outputs.items():
        assert "toy" in open(path).read().lower(), f"the toy check is missing from the {name} report"
    assert json.loads(open(outputs["json"]).read())["score"] == 7


@pytest.mark.parametrize("argv, fragment", [
    (["grade", "/no/such/folder"], "does not exist"),
    (["grade", "."], "holds none of backpropagation.py (or .ipynb) / gradient_descent.py (or .ipynb)"),
    (["grade", str(REFERENCE), "--rubric", "/no/rubric.toml"], "rubric file"),
    (["grade", str(REFERENCE), "--data-root", "/no/data"], "--data-root points at"),
    (["grade", str(REFERENCE), "--only", "nonsense"], "no check named 'nonsense' in the rubric"),
])
def test_bad_input_exits_2_with_what_to_do(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(argv) == EXIT_BAD_INPUT
    assert fragment in capsys.readouterr().err


def test_an_unusable_upload_still_gets_a_results_file_that_says_why(tmp_path):
    path = tmp_path / "results.json"
    assert grade_main(submission=str(tmp_path), outputs={"json": str(path)}) == EXIT_BAD_INPUT
    results = json.loads(path.read_text())
    assert results["score"] == 0 and "holds none of" in results["tests"][0]["output"]


def test_bad_flag_and_help(capsys):
    with pytest.raises(SystemExit) as error:
        run(["grade", str(REFERENCE), "--device", "tpu"])
    assert error.value.code == 2
    with pytest.raises(SystemExit) as error:
        run(["--help"])
    assert error.value.code == 0 and "autograde check" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run(["grade", "--help"])
    grade_help = capsys.readouterr().out
    missing = [fmt.name for fmt in FORMATS if f"--{fmt.name} PATH" not in grade_help]
    assert missing == [], "every report format is a flag of grade"


def test_a_submission_nested_one_or_two_folders_down_is_found(tmp_path):
    nested = write_submission(tmp_path / "upload" / "my_solution")
    located = locate(tmp_path / "upload")
    assert located.folder == nested and "my_solution" in located.notes[0]
    write_submission(tmp_path / "upload" / "old_copy")
    with pytest.raises(SubmissionError, match="Several folders inside hold them"):
        locate(tmp_path / "upload")


@pytest.mark.parametrize("folder", [REFERENCE, TEMPLATE], ids=["reference", "template"])
def test_reference_and_template_scores_are_golden(folder, golden):
    golden.check(folder.name, grade(folder, rubric_for()))


def test_a_download_that_fails_exits_2_and_its_results_say_nothing_was_graded(tmp_path, monkeypatch, capsys):
    """Offline, `--download` cannot fetch the data: exit 2 before any check runs, and the results file says that
    nothing was graded and why, not that the grader failed."""
    from grader import selection

    def offline(target=None):
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(selection, "download", offline)
    monkeypatch.delenv("CIFAR_ROOT", raising=False)
    path = tmp_path / "results.json"
    assert run(["grade", str(REFERENCE), "--download", "--json", str(path)]) == EXIT_BAD_INPUT
    assert "--download could not fetch CIFAR-10" in capsys.readouterr().err
    results = json.loads(path.read_text())
    assert results["score"] == 0 and "Score not final: nothing was graded (--download could not" in results["output"]
    assert "grader failed" not in json.dumps(results) and "not your fault" not in json.dumps(results)


def test_a_module_file_given_for_its_folder_grades_the_folder_and_other_files_say_so(tmp_path, capsys):
    located = locate(REFERENCE / "backpropagation.py")
    assert located.folder == REFERENCE and "backpropagation.py is a file: graded the folder" in located.notes[0]
    (tmp_path / "upload.zip").write_bytes(b"PK")
    assert run(["grade", str(tmp_path / "upload.zip")]) == EXIT_BAD_INPUT
    assert "is a file, not a folder (unpack it first)" in capsys.readouterr().err
