"""Naming the misconception behind a wrong answer (grader/checks/diagnosis/): the imitations are exact, two bugs get at
most what truly holds, a made-up wrong answer gets nothing, and every report format carries the ids. (Each
misconception's own submission is in tests/catalogue/test_buggy.py.)"""
from __future__ import annotations

import csv
import io
import json

import pytest
import torch

from grader.checks.cases import SGDConfig, expected_gradients, make_net_case, reference_training, training_problem
from grader.checks.diagnosis import CATALOGUE, Diagnosis
from grader.checks.diagnosis import backprop as backprop_diagnosis
from grader.checks.diagnosis import training as training_diagnosis
from grader.checks.diagnosis.catalogue import misconception
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from grader.report.results import ids_in
from tests.catalogue.buggy import BY_NAME, LAST_DELTA
from tests.support.grading import grade, rubric_for, write_submission

BP = "backpropagation"


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "softplus"])
@pytest.mark.parametrize("batch", [1, 3])
def test_the_backprop_imitation_without_a_misconception_is_autograd(activation, batch):
    case = make_net_case((3, 4, 2), (activation, activation), batch, seed=5)
    weights, biases = expected_gradients(case)
    imitated = backprop_diagnosis.imitate(case)
    for l in (1, 2):
        torch.testing.assert_close(imitated["dL_dw"][str(l)], weights[l], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(imitated["dL_db"][str(l)], biases[l], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.01), (0.9, 0.01)])
def test_the_training_imitation_without_a_misconception_is_torch_optim_sgd(momentum, weight_decay):
    payload = training_problem(SGDConfig(0.05, momentum, weight_decay, 3, 12, 4, 11))
    (params, losses), (expected, expected_losses) = training_diagnosis.imitate(payload), reference_training(payload)
    for name, tensor in expected.items():
        torch.testing.assert_close(params[name], tensor, rtol=1e-12, atol=1e-15)
    assert losses == pytest.approx(expected_losses, rel=1e-12)


def test_ids_and_sentences_are_unique_per_function():
    keys = [(m.target, m.id) for m in CATALOGUE]
    assert len(keys) == len(set(keys)) and all(m.sentence and m.sentence[0].islower() for m in CATALOGUE)


def diagnoses(folder, *checks) -> dict[str, list[str]]:
    report = grade(folder, rubric_for(*checks, examples=40))
    return {result.name: ids_in(result.parts) for result in report.results}


def test_two_bugs_get_at_most_the_diagnoses_that_truly_hold(tmp_path):
    """Without the factor 2 and with the first sample's bias gradient: on one sample only the factor shows (and is
    named); on mini-batches no single misconception explains the values, and none is named."""
    both = write_submission(tmp_path / "s", (
        (BP, "delta = 2 * (y_pred - y_true)", "delta = (y_pred - y_true)"),
        (BP, "model.dL_db[l] = delta.sum(dim=0)", "model.dL_db[l] = delta[0]")))
    assert diagnoses(both, "backpropagation_one_sample", "backpropagation_mini_batch") == {
        "backpropagation_one_sample": ["missing_factor_2"], "backpropagation_mini_batch": []}


def test_a_made_up_wrong_answer_gets_no_diagnosis(tmp_path):
    odd = write_submission(tmp_path / "s", ((BP, LAST_DELTA, LAST_DELTA.replace("2 *", "1.37 *")),
                                            ("gradient_descent", "param.add_(grad, alpha=-lr)",
                                             "param.add_(grad.sign(), alpha=-lr)")))
    assert diagnoses(odd, "backpropagation_one_sample", "train_manual_update") == {
        "backpropagation_one_sample": [], "train_manual_update": []}


def test_the_sentence_names_the_misconception_and_the_cases():
    text = Diagnosis(misconception(BP, "derivative_at_output"), 4).sentence("your model.dL_dw and model.dL_db")
    assert text == ("Diagnosis: your model.dL_dw and model.dL_db equal what f' evaluated at the layer's output a "
                    "instead of its input z gives, on this case and 3 more.")


@pytest.fixture(scope="module")
def diagnosed_class(tmp_path_factory):
    """Three students: two with the same misconception, one correct."""
    root = tmp_path_factory.mktemp("diagnosed")
    BY_NAME["derivative taken at a instead of z"].write(root / "uploads" / "ann")
    BY_NAME["derivative taken at a instead of z"].write(root / "uploads" / "ben")
    write_submission(root / "uploads" / "cat")
    assert batch_main(submissions=str(root / "uploads"), out=str(root / "out"), workers=2,
                      options=GradingOptions(checks=("backpropagation_one_sample", "MyMLP"))) == 0
    return root / "out"


@pytest.mark.slow
def test_reports_carry_the_ids_for_gradescope_the_gradebook_and_the_class_summary(diagnosed_class):
    summary = (diagnosed_class / "summary.md").read_text()
    assert "## Misconceptions in this class" in summary
    assert "| backpropagation_one_sample | `derivative_at_output` | f' evaluated at the layer's output a" in summary
    assert summary.split("`derivative_at_output`")[1].split("\n")[0].endswith("| 2 |")
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO((diagnosed_class / "grades.csv").read_text()))}
    assert rows["ann"]["diagnoses"] == "backpropagation_one_sample:derivative_at_output"
    assert rows["cat"]["diagnoses"] == ""
    results = json.loads((diagnosed_class / "ann" / "results.json").read_text())
    assert [t["extra_data"]["diagnoses"] for t in results["tests"]] == [["derivative_at_output"], []]
