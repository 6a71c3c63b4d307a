"""Versions of the assignment declared in one file (grader/assignment/packaged/): the course's 2023 template graded as
its
students wrote to it (renamed, reordered and extra parameters, a missing parameter, globals, misnamed files), and a
made-up third version declared in a test."""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from grader.assignment.declaration import AssignmentError, load_assignment
from grader.commands import EXIT_BAD_INPUT
from grader.commands.batch import batch_main
from grader.commands.grade import grade_main
from grader.options import GradingOptions, GradingSetup
from grader.report.feedback import feedback as feedback_of
from tests.catalogue.inf265_2023 import ASSIGNMENT, BY_NAME, CLASS, CPU_CHECKS, REFERENCE_2023
from tests.support.grading import REFERENCE, grade, shared_data

pytestmark = pytest.mark.usefixtures("shared_fork_server")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    """The 2023-style class graded once, as an instructor would: autograde batch --assignment inf265-2023."""
    root = tmp_path_factory.mktemp("class-2023")
    for submission in CLASS:
        submission.write(root / "uploads" / submission.name.replace(" ", "_"))
    rubric = root / "rubric.toml"
    text = load_assignment(ASSIGNMENT).rubric_path.read_text()
    rubric.write_text(text.replace("examples = 120", "examples = 40"))
    assert batch_main(submissions=str(root / "uploads"), out=str(root / "out"), workers=2,
                      options=GradingOptions(assignment=ASSIGNMENT, rubric=str(rubric), checks=CPU_CHECKS)) == 0
    return root / "out"


@pytest.mark.slow
@pytest.mark.parametrize("name", BY_NAME)
def test_each_2023_submission_gets_what_its_code_deserves(graded_class, name):
    submission = BY_NAME[name]
    state = json.loads((graded_class / name.replace(" ", "_") / "state.json").read_text())
    assert state["status"] == "ok", state["status"]
    report = state["report"]
    results = {r["name"]: r for r in report["results"]}
    for check, wanted in submission.verdicts.items():
        result = results[check]
        feedback = [p["message"] for p in result["parts"] if not p["passed"]]
        if isinstance(wanted, float):
            assert result["score"] == pytest.approx(wanted), (check, feedback)
        else:
            assert result["status"] == wanted, (check, feedback)
            if wanted == "passed":
                assert result["score"] == result["max_score"]
    for fragment in submission.notes:
        assert any(fragment in note for note in report["notes"]), (fragment, report["notes"])
    assert report["metadata"]["assignment"] == ASSIGNMENT


@pytest.mark.slow
def test_binding_failures_are_charged_once_and_say_why(graded_class):
    report = json.loads((graded_class / "no_momentum_parameter" / "state.json").read_text())["report"]
    manual = next(r for r in report["results"] if r["name"] == "train_manual_update")
    failed = [p for p in manual["parts"] if not p["passed"]]
    assert [p["kind"] for p in failed] == ["binding", "binding"]
    assert "has no parameter for the template's 'momentum_coeff'" in failed[0]["message"]
    assert "momentum_coeff=0 only" in next(p["message"] for p in manual["parts"] if "generated" in p["label"])
    rules = next(r for r in report["results"] if r["name"] == "rules")
    assert rules["score"] == rules["max_score"], "a missing parameter costs nothing in another check"


@pytest.mark.slow
def test_a_required_parameter_without_a_role_is_named_and_rules_are_not_charged(graded_class):
    report = json.loads((graded_class / "a_required_extra_parameter" / "state.json").read_text())["report"]
    train = next(r for r in report["results"] if r["name"] == "train")
    assert all("required parameter(s) scheduler" in p["message"] for p in train["parts"])


@pytest.mark.slow
def test_notebook_globals_are_kept_and_what_loads_data_is_left_out_with_a_notice(graded_class):
    report = json.loads((graded_class / "a_default_that_needs_the_data" / "state.json").read_text())["report"]
    notes = "\n".join(report["notes"])
    assert "gradient_descent.ipynb, code cell 2: `data_train, data_val, data_test = load_cifar()` was not run" in notes
    assert "it calls load_cifar" in notes and "it needs data_val, which was not run either" in notes


@pytest.mark.slow
@pytest.mark.data
def test_the_2023_reference_passes_the_accuracy_stage_in_float64(tmp_path):
    rubric = load_assignment(ASSIGNMENT)
    from grader.checks.rubric import load_rubric

    folder = shutil.copytree(REFERENCE_2023, tmp_path / "ref")
    report = grade(folder, load_rubric(rubric.rubric_path).only("accuracy"),
                   options=GradingSetup(device="cpu", data_root=shared_data(), cache_dir=tmp_path / "cache",
                                        assignment=rubric))
    result = report.results[0]
    assert result.score == result.max_score, feedback_of(result)
    assert all(p.details["accuracy"] >= 0.765 for p in result.parts if "accuracy" in p.details)


def test_a_bad_assignment_is_refused_before_any_work(tmp_path, capsys):
    assert grade_main(submission=str(REFERENCE), options=GradingOptions(assignment="no-such-year")) == EXIT_BAD_INPUT
    assert "no assignment 'no-such-year'" in capsys.readouterr().err
    broken = tmp_path / "assignment.toml"
    broken.write_text('modules = ["a"]\n[callables.train]\nmodule = "a"\nname = "train"\n'
                      'parameters = [{ role = "learning_speed", name = "lr" }]\n')
    with pytest.raises(AssignmentError, match="'learning_speed' is not a role"):
        load_assignment(broken)
    assert batch_main(submissions=str(tmp_path), out=str(tmp_path / "out"),
                      options=GradingOptions(assignment=str(broken))) == EXIT_BAD_INPUT
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sizes", ["[]", "[3072]", "[3072, 0, 2]"])
def test_an_mlp_without_two_widths_is_refused_with_an_example(tmp_path, sizes):
    """Once a crash of the MLP check (an IndexError reported as the autograder's error): refused at load now."""
    declaration = tmp_path / "assignment.toml"
    declaration.write_text(f'modules = ["a"]\n[mlp]\nsizes = {sizes}\n')
    with pytest.raises(AssignmentError, match=r"\[mlp\] sizes must be the MLP's widths .* e\.g\. \[3072, 512, 2\]"):
        load_assignment(declaration)


MADE_UP = '''
name = "made-up-2025"
title = "A made-up year: a smaller MLP on 16x16 images, training functions renamed"
modules = ["mlp_training"]

[data]
image_shape = [3, 16, 16]

[mlp]
sizes = [768, 128, 32, 2]

[callables.mlp]
module = "mlp_training"
name = "SmallMLP"
kind = "class"
returns = "instance"

[callables.train]
module = "mlp_training"
name = "fit"
returns = "losses"
parameters = [
    { role = "model", name = "net" },
    { role = "train_loader", name = "batches" },
    { role = "optimizer", name = "opt" },
    { role = "loss_fn", name = "criterion" },
    { role = "n_epochs", name = "epochs", default = "10" },
]
'''
MADE_UP_RUBRIC = '''
[checks.interface]
points = 0
[checks.train]
points = 60
[checks.MyMLP]
points = 40
'''
MADE_UP_SOLUTION = '''
import torch
from torch import nn


class SmallMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(768, 128), nn.ReLU(), nn.Linear(128, 32), nn.ReLU(),
                                  nn.Linear(32, 2))

    def forward(self, x):
        return self.body(x)


def fit(net, batches, opt, criterion, epochs=10):
    losses = []
    for _ in range(epochs):
        total = 0.0
        for x, y in batches:
            loss = criterion(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / len(batches))
    return losses
'''


def test_a_third_version_is_two_declared_files_and_its_solution(tmp_path):
    """What adding a year costs: assignment.toml and rubric.toml in a folder of their own (no grader code), and a
    solution to prove it: here a module of another name whose MLP is 768-128-32-2 on 16x16 images."""
    declared = tmp_path / "made-up-2025"
    declared.mkdir()
    (declared / "assignment.toml").write_text(textwrap.dedent(MADE_UP))
    (declared / "rubric.toml").write_text(MADE_UP_RUBRIC)
    solution = tmp_path / "solution"
    solution.mkdir()
    (solution / "mlpTraining.py").write_text(MADE_UP_SOLUTION)  # a misnamed upload, too
    out = tmp_path / "results.json"
    assert grade_main(submission=str(solution), options=GradingOptions(assignment=str(declared)),
                      outputs={"json": str(out)}) == 0
    results = json.loads(out.read_text())
    assert results["score"] == 100, [(t["name"], t["output"][:400]) for t in results["tests"]]
    assert "mlpTraining.py was graded as mlp_training.py" in results["output"]
    assert sorted(p.name for p in declared.iterdir()) == ["assignment.toml", "rubric.toml"]
